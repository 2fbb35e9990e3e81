//! A bundle tampered with in every way the auditor's stock tools are meant to catch: each check
//! fails and names the file or the audit row.

#[expect(dead_code, reason = "each test binary uses part of the helpers")]
mod support;

use std::fs;

use bearing_audit::{SigningKey, StoredEntry};
use bearing_evidence::{SHA256SUMS, SHA256SUMS_SIG};
use support::*;

#[test]
fn one_changed_byte_fails_sha256sum_naming_the_file() {
    let bundle = build_standard();
    let path = bundle.root.join("populations/entities.csv");
    let mut bytes = fs::read(&path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    fs::write(&path, bytes).unwrap();

    let out = sha256sum_check(&bundle.root);
    assert!(!out.status.success());
    let report = stdout(&out);
    assert!(report.contains("populations/entities.csv: FAILED"), "{report}");
    assert!(report.contains("controls.csv: OK"), "{report}");
    // The signature still covers SHA256SUMS, which was not touched: the list is genuine, the file
    // is not.
    assert!(openssl_verify(&bundle.root).status.success());
}

#[test]
fn a_bad_signature_or_an_edited_list_fails_openssl() {
    let bundle = build_standard();
    let sig = bundle.root.join(SHA256SUMS_SIG);
    let good = fs::read(&sig).unwrap();
    assert_eq!(good.len(), 64);
    let mut bad = good.clone();
    bad[10] ^= 0x80;
    fs::write(&sig, bad).unwrap();
    let out = openssl_verify(&bundle.root);
    assert!(!out.status.success());
    assert!(!stdout(&out).contains("Signature Verified Successfully"));

    // Someone who edits a file and "fixes" SHA256SUMS to match is caught by the signature.
    fs::write(&sig, good).unwrap();
    let sums = bundle.root.join(SHA256SUMS);
    let text = fs::read_to_string(&sums).unwrap();
    let line = text.lines().find(|l| l.ends_with("  controls.csv")).unwrap();
    let forged = text.replace(line, &format!("{}  controls.csv", "0".repeat(64)));
    fs::write(&sums, forged).unwrap();
    assert!(!openssl_verify(&bundle.root).status.success());

    // And a signature by another key does not pass for this one.
    let other = SigningKey::generate();
    fs::write(sums, &text).unwrap();
    fs::write(sig, other.sign_document(text.as_bytes()).unwrap()).unwrap();
    assert!(!openssl_verify(&bundle.root).status.success());
}

fn assert_chain_fails(bundle: &Bundle, expected: &str) {
    let out = verify_chain(&bundle.root);
    assert_eq!(out.status.code(), Some(1));
    let report = stdout(&out);
    assert!(
        report.contains(&format!("FAILED: {expected}")),
        "expected {expected:?} in:\n{report}"
    );
}

/// Line `i` of audit_log.jsonl is row `i + 5`.
fn audit_log(bundle: &Bundle) -> std::path::PathBuf {
    bundle.root.join("audit/audit_log.jsonl")
}

#[test]
fn an_edited_body_fails_naming_the_row() {
    let bundle = build_standard();
    edit_line(&audit_log(&bundle), 2, |line| {
        line.replacen(r#""action":"entity.update""#, r#""action":"entity.read""#, 1)
    });
    assert_chain_fails(&bundle, "row 7: body does not match its canonical text");
}

#[test]
fn an_edited_hash_fails_naming_the_row() {
    let bundle = build_standard();
    edit_line(&audit_log(&bundle), 4, |line| {
        let mut row: serde_json::Value = serde_json::from_str(line).unwrap();
        row["hash"] = "ab".repeat(32).into();
        row.to_string()
    });
    assert_chain_fails(&bundle, "row 9: stored hash abab");
}

#[test]
fn an_edit_with_a_recomputed_hash_fails_at_the_next_row() {
    let bundle = build_standard();
    // Body, canonical text and hash of row 6 all agree again, but row 7 links to the old hash.
    edit_line(&audit_log(&bundle), 1, |line| {
        let mut row: bearing_evidence::AuditLogLine = serde_json::from_str(line).unwrap();
        row.body.actor = "mallory".into();
        let entry = StoredEntry::seal(row.prev_hash, row.body);
        serde_json::to_string(&bearing_evidence::AuditLogLine::from_entry(&entry)).unwrap()
    });
    assert_chain_fails(&bundle, "row 7: prev_hash");
}

#[test]
fn a_deleted_row_fails_naming_the_gap() {
    let bundle = build_standard();
    let path = audit_log(&bundle);
    let text = fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 3)
        .map(|(_, l)| l)
        .collect();
    fs::write(&path, kept.join("\n") + "\n").unwrap();
    assert_chain_fails(&bundle, "row 9: follows row 7, expected row 8");
}

/// Whoever can write the database can re-seal every row after an edit; the signed checkpoint at
/// row 8 still names the old hash.
#[test]
fn a_rewritten_chain_fails_at_the_checkpoint() {
    let key = SigningKey::generate();
    let original = chain();
    let (_, checkpoints) = period(&original, &key);
    let mut prev = original[4].hash;
    let mut rewritten = original[..5].to_vec();
    for row in &original[5..] {
        let mut body = row.body.clone();
        if body.seq == 6 {
            body.actor = "mallory".into();
        }
        let entry = StoredEntry::seal(prev, body);
        prev = entry.hash;
        rewritten.push(entry);
    }
    let bundle = build(key, rewritten[4..].to_vec(), &checkpoints);
    assert!(sha256sum_check(&bundle.root).status.success());
    assert_chain_fails(&bundle, "row 8: hash");
    let report = stdout(&verify_chain(&bundle.root));
    assert!(report.contains("signed by the checkpoint"), "{report}");
}

#[test]
fn a_forged_checkpoint_fails() {
    let bundle = build_standard();
    edit_line(&bundle.root.join("audit/checkpoints.jsonl"), 0, |line| {
        let mut checkpoint: serde_json::Value = serde_json::from_str(line).unwrap();
        let signature = checkpoint["signature"].as_str().unwrap().to_owned();
        let flipped = if signature.starts_with('0') { "1" } else { "0" };
        checkpoint["signature"] = format!("{flipped}{}", &signature[1..]).into();
        checkpoint.to_string()
    });
    assert_chain_fails(&bundle, "row 8: the checkpoint signed at");
}

#[test]
fn a_checkpoint_past_the_last_row_fails() {
    let key = SigningKey::generate();
    let (mut rows, checkpoints) = period(&chain(), &key);
    rows.truncate(rows.len() - 2); // rows 11 and 12 "deleted" before export
    let bundle = build(key, rows, &checkpoints);
    assert_chain_fails(
        &bundle,
        "row 12: a checkpoint covers it, but the bundle's rows end at row 10",
    );
}

/// Checkpoints signed by one key in a bundle signed by another: the checker says which keys.
#[test]
fn checkpoints_by_another_key_fail() {
    let checkpoint_key = SigningKey::generate();
    let (rows, checkpoints) = period(&chain(), &checkpoint_key);
    let bundle = build(SigningKey::generate(), rows, &checkpoints);
    assert_chain_fails(
        &bundle,
        &format!("checkpoint at row 8: signed by key {}", checkpoint_key.key_id()),
    );
}
