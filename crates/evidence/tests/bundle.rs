//! A whole bundle, checked with the auditor's stock tools (`sha256sum`, `openssl`, `python3`),
//! then tampered with in every way the tools are meant to catch.

mod support;

use std::fs;

use bearing_audit::{SigningKey, StoredEntry};
use bearing_evidence::{neutralise_cell, SHA256SUMS, SHA256SUMS_SIG};
use support::*;

#[test]
fn a_fresh_bundle_passes_all_three_checks() {
    let bundle = build_standard();
    let root = &bundle.root;

    let out = sha256sum_check(root);
    assert!(out.status.success());
    let listed = files(root)
        .into_iter()
        .filter(|f| f != SHA256SUMS && f != SHA256SUMS_SIG)
        .collect::<Vec<_>>();
    let report = stdout(&out);
    for file in &listed {
        assert!(report.contains(&format!("{file}: OK")), "{file} not checked");
    }
    assert_eq!(report.lines().count(), listed.len());
    assert_eq!(
        listed,
        [
            "VERIFY.md",
            "_meta/populations.json",
            "audit/audit_log.jsonl",
            "audit/checkpoints.jsonl",
            "audit/verify_chain.py",
            "controls.csv",
            "populations/entities.csv",
            "samples/entities.csv",
            "signing-key.pub.pem",
        ]
    );

    let out = openssl_verify(root);
    assert!(out.status.success());
    assert!(stdout(&out).contains("Signature Verified Successfully"));

    let out = verify_chain(root);
    assert!(out.status.success());
    let report = stdout(&out);
    assert!(report.contains("8 rows, row 5 to row 12"), "{report}");
    assert!(report.contains("anchor: row 5 links to prev_hash"), "{report}");
    let rows = chain();
    assert!(
        report.contains(&hex::encode(rows[3].hash)),
        "the anchor is row 4's hash"
    );
    assert!(
        report.contains(&format!("head:   12:{}", hex::encode(rows[11].hash))),
        "{report}"
    );
    assert!(report.contains("2 checkpoints verified"), "{report}");
    assert!(report.contains(&bundle.key.fingerprint()), "{report}");
    assert!(
        report.ends_with("OK: the audit log in this bundle is intact\n"),
        "{report}"
    );

    // unzip (Info-ZIP) reads the streamed ZIP64 entries too, where it is installed.
    if std::process::Command::new("unzip").arg("-v").output().is_ok() {
        let out = run(bundle.dir.path(), "unzip", &["-tq", bundle.zip.to_str().unwrap()]);
        assert!(out.status.success());
    }
}

#[test]
fn csv_is_rfc_4180_with_formulas_neutralised() {
    let bundle = build_standard();
    let path = bundle.root.join("populations/entities.csv");
    let bytes = fs::read(&path).unwrap();
    assert!(
        bytes.starts_with(b"ref,name,owner,description\r\n"),
        "header, CRLF, no BOM"
    );
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("\"quote \"\" comma , newline \n end\""), "{text}");
    assert!(text.contains(",'=cmd|'/c calc'!A1,'@team,"), "{text}");
    assert!(text.ends_with("\r\n"));

    let mut reader = csv::Reader::from_path(&path).unwrap();
    let read: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    let expected: Vec<Vec<String>> = entity_rows()
        .iter()
        .map(|row| row.iter().map(|c| neutralise_cell(c).into_owned()).collect())
        .collect();
    assert_eq!(read, expected);
    assert_eq!(read[1][1], "'=cmd|'/c calc'!A1");
    assert_eq!(read[3][1], "名前");

    let controls = fs::read_to_string(bundle.root.join("controls.csv")).unwrap();
    assert!(controls.starts_with("control,criteria,evidence,auditor_test,exceptions\r\n"));
    assert!(
        controls.contains("entities,CC6.1,populations/entities.csv,"),
        "{controls}"
    );
    assert!(controls
        .lines()
        .any(|l| l.starts_with("entities,") && l.ends_with(",2")));
    assert!(controls
        .lines()
        .any(|l| l.starts_with("audit_log,") && l.ends_with(",0")));
    assert!(
        controls.lines().any(|l| l.starts_with("mesh,") && l.ends_with(",")),
        "not assessed"
    );
}

#[test]
fn verify_md_states_the_key_and_the_exact_commands() {
    let bundle = build_standard();
    let text = fs::read_to_string(bundle.root.join("VERIFY.md")).unwrap();
    for expected in [
        "sha256sum -c SHA256SUMS\n",
        "openssl pkeyutl -verify -pubin -inkey signing-key.pub.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig\n",
        "python3 audit/verify_chain.py\n",
        "openssl pkey -pubin -in signing-key.pub.pem -outform DER | tail -c 32 | sha256sum\n",
        "**Does not prove**",
        "OWASP",
    ] {
        assert!(text.contains(expected), "VERIFY.md lacks {expected:?}");
    }
    assert!(text.contains(&format!("    {}\n", bundle.key.fingerprint())));
    assert!(text.contains(&format!("`{}`", bundle.key.key_id())));
    // The requester's name cannot start a heading of its own.
    assert!(!text.contains("\n# Skip step 2"), "{text}");

    // The key's fingerprint, computed from the PEM file the way VERIFY.md says.
    let out = run(
        &bundle.root,
        "sh",
        &[
            "-c",
            "openssl pkey -pubin -in signing-key.pub.pem -outform DER | tail -c 32 | sha256sum",
        ],
    );
    assert!(stdout(&out).starts_with(&bundle.key.fingerprint()));
}

/// The redraw commands in VERIFY.md, run as written through `sh`, print the sample Bearing drew,
/// although the seed holds a quote, backticks and `$(…)`, and some keys were neutralised.
#[test]
fn samples_redraw_from_verify_md() {
    let bundle = build_standard();
    let text = fs::read_to_string(bundle.root.join("VERIFY.md")).unwrap();
    let commands: Vec<&str> = text.lines().filter(|l| l.starts_with("python3 -c ")).collect();
    assert_eq!(commands.len(), 1, "{text}");
    let out = run(&bundle.root, "sh", &["-c", commands[0]]);
    assert!(out.status.success());
    let redrawn: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(redrawn, bundle.sampled);
    assert_eq!(redrawn.len(), SAMPLE_SIZE);

    // And the sample file lists the same keys, in the same order.
    let mut reader = csv::Reader::from_path(bundle.root.join("samples/entities.csv")).unwrap();
    let keys: Vec<String> = reader
        .records()
        .map(|r| {
            let cell = r.unwrap()[1].to_owned();
            cell.strip_prefix('\'').map(str::to_owned).unwrap_or(cell)
        })
        .collect();
    assert_eq!(keys, bundle.sampled);
}

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

/// The zip goes out while it is written: most of a large CSV has reached the sink before the
/// bundle is finished.
#[test]
fn entries_stream_to_the_sink() {
    use std::cell::Cell;
    use std::io::{self, Write};
    use std::rc::Rc;

    use bearing_evidence::BundleWriter;
    use sha2::{Digest, Sha256};

    /// Counts what reaches it and keeps nothing, like a socket.
    struct Sink(Rc<Cell<usize>>);
    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.set(self.0.get() + buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    let received = Rc::new(Cell::new(0));
    let mut bundle = BundleWriter::new(Sink(received.clone()));
    let mut csv = bundle.csv("populations/big.csv", ["n", "digest"]).unwrap();
    for n in 0..20_000u32 {
        csv.row([n.to_string(), hex::encode(Sha256::digest(n.to_be_bytes()))])
            .unwrap();
    }
    csv.finish().unwrap();
    // Rows are about 70 bytes and hex compresses to about half: 20,000 rows are ~700 KB of zip.
    let before_finish = received.get();
    assert!(before_finish > 500_000, "only {before_finish} bytes reached the sink");
    bundle.finish(&SigningKey::generate(), &info()).unwrap();
    assert!(received.get() > before_finish);
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
