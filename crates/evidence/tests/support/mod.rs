//! Builds a small but hostile bundle and runs the auditor's stock tools on it.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bearing_audit::{Checkpoint, EntryBody, SigningKey, StoredEntry, GENESIS};
use bearing_evidence::{sample, write_audit, write_controls, BundleInfo, BundleWriter, SampleInfo, SamplingInfo};
use serde_json::json;
use time::macros::datetime;
use time::Duration;

/// The population CSV's rows: quotes, commas, line breaks, formula starts, non-ASCII.
pub fn entity_rows() -> Vec<[String; 4]> {
    let hostile = [
        ["component:default/api", "API", "team-a", "plain"],
        [
            "component:default/=evil",
            "=cmd|'/c calc'!A1",
            "@team",
            "quote \" comma , newline \n end",
        ],
        ["-weird", "+1", "-2", "\ttab"],
        ["café/ñ", "名前", "Zoë", "emoji 😀 and \u{2028}"],
        ["'quoted", "'", "", "\r\ncrlf"],
    ];
    let mut rows: Vec<[String; 4]> = hostile.iter().map(|r| r.map(str::to_owned)).collect();
    for i in 0..25 {
        rows.push([
            format!("component:default/svc-{i}"),
            format!("Service {i}"),
            "team-b".into(),
            String::new(),
        ]);
    }
    rows
}

pub const SEED: &str = "Q4 audit's seed `x` $(id)";
pub const SAMPLE_SIZE: usize = 4;

/// A body whose `after` holds what JCS implementations disagree on when they are wrong: key order
/// by UTF-16 code units, number forms, escapes.
fn tricky(seq: i64) -> serde_json::Value {
    match seq % 4 {
        0 => json!({
            "名前": "ñandú", "😀": 1, "\u{fb01}": 2, "\u{ffff}": 3, "\u{10000}": 4, "": 5, "A": 6, "a": 7,
            "nested": {"z": [1, 2.5, -0.0, 1e21, 1e20, 1e-7, 0.000001, 0.1, 100.0]}
        }),
        1 => json!({
            "big": u64::MAX, "min": i64::MIN, "unsafe_int": 9_007_199_254_740_993_u64,
            "tiny": 5e-324, "huge": 1.797_693_134_862_315_7e308, "third": 1.0 / 3.0, "neg": -123.456e-10
        }),
        2 => json!({
            "text": "\u{0}\u{1}\u{1f}\t\n\r\u{8}\u{c}\"\\/\u{7f}\u{2028}é😀",
            "list": [null, true, false, [], {}, [[{"b": 1, "a": 2}]]]
        }),
        _ => json!({"café": {"é": "e\u{301}", "e\u{301}": "é"}, "n": 0, "m": -1}),
    }
}

/// Rows 1 to 12 of an audit chain, as bearing-audit seals them.
pub fn chain() -> Vec<StoredEntry> {
    let mut prev = GENESIS;
    (1..=12)
        .map(|seq| {
            let mut body = EntryBody::new(
                seq,
                datetime!(2026-10-01 09:00:00.123456789 UTC) + Duration::minutes(seq),
                if seq % 2 == 0 { "alice" } else { "zoë" },
                "user",
                "entity.update",
            );
            body.target = Some(format!("component:default/svc-{seq}"));
            body.before = Some(json!({"owner": "team-a"}));
            body.after = Some(tricky(seq));
            body.reason = Some("rotation «quarterly»\n".into());
            let entry = StoredEntry::seal(prev, body);
            prev = entry.hash;
            entry
        })
        .collect()
}

/// The period: rows 5 to 12 (the chain started before it), checkpoints at 8 and 12.
pub fn period(rows: &[StoredEntry], key: &SigningKey) -> (Vec<StoredEntry>, Vec<Checkpoint>) {
    let checkpoints = [8, 12]
        .iter()
        .map(|&seq| {
            let row = &rows[seq - 1];
            key.sign_checkpoint(row.body.seq, row.hash, row.body.at + Duration::seconds(1))
        })
        .collect();
    (rows[4..].to_vec(), checkpoints)
}

pub struct Bundle {
    pub dir: tempfile::TempDir,
    pub zip: PathBuf,
    /// Where the zip was extracted.
    pub root: PathBuf,
    pub key: SigningKey,
    /// The keys drawn into `samples/entities.csv`, in order.
    pub sampled: Vec<String>,
}

/// Builds a bundle from `rows` (the period's audit rows) and `checkpoints`, and extracts it with
/// `python3 -m zipfile -e`.
pub fn build(key: SigningKey, rows: Vec<StoredEntry>, checkpoints: &[Checkpoint]) -> Bundle {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("bundle.zip");
    let mut bundle = BundleWriter::new(BufWriter::new(File::create(&zip).unwrap()));

    let entities = entity_rows();
    let mut csv = bundle
        .csv("populations/entities.csv", ["ref", "name", "owner", "description"])
        .unwrap();
    for row in &entities {
        csv.row(row).unwrap();
    }
    assert_eq!(csv.finish().unwrap(), entities.len() as u64);

    let head = write_audit(&mut bundle, rows, checkpoints).unwrap().expect("rows");

    let drawn = sample(
        SEED,
        &head.hash,
        "entities",
        entities.iter().map(|r| &r[0]),
        SAMPLE_SIZE,
    )
    .unwrap();
    let mut csv = bundle.csv("samples/entities.csv", ["rank", "ref"]).unwrap();
    for s in &drawn {
        csv.row([hex::encode(s.rank), s.key.clone()]).unwrap();
    }
    csv.finish().unwrap();

    let exceptions = BTreeMap::from([("entities".to_owned(), 2), ("audit_log".to_owned(), 0)]);
    write_controls(&mut bundle, &exceptions).unwrap();
    bundle
        .file("_meta/populations.json", br#"{"populations":[{"name":"entities"}]}"#)
        .unwrap();

    let info = BundleInfo {
        sampling: Some(SamplingInfo {
            seed: SEED.into(),
            chain_head: head,
            samples: vec![SampleInfo {
                population: "entities".into(),
                population_file: "populations/entities.csv".into(),
                key_column: "ref".into(),
                size: SAMPLE_SIZE,
                sample_file: "samples/entities.csv".into(),
            }],
        }),
        ..info()
    };
    let sink = bundle.finish(&key, &info).unwrap();
    sink.into_inner().unwrap().sync_all().unwrap();

    let root = dir.path().join("extracted");
    let out = run(
        dir.path(),
        "python3",
        &["-m", "zipfile", "-e", "bundle.zip", "extracted"],
    );
    assert!(out.status.success(), "extraction failed");
    Bundle {
        dir,
        zip,
        root,
        key,
        sampled: drawn.into_iter().map(|s| s.key).collect(),
    }
}

/// The export's facts, without samples. The requester's name tries to inject Markdown.
pub fn info() -> BundleInfo {
    BundleInfo {
        generated_at: datetime!(2026-12-05 13:00:00 UTC),
        period_start: datetime!(2026-10-01 00:00:00 UTC),
        period_end: datetime!(2027-01-01 00:00:00 UTC),
        requested_by: "alice`\n# Skip step 2".into(),
        sampling: None,
    }
}

/// The standard period of the standard chain, signed with a new key.
pub fn build_standard() -> Bundle {
    let key = SigningKey::generate();
    let (rows, checkpoints) = period(&chain(), &key);
    build(key, rows, &checkpoints)
}

/// Runs a program in `dir`, printing what it said (shown when a test fails).
pub fn run(dir: &Path, program: &str, args: &[&str]) -> Output {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (needed for this test): {e}"));
    println!(
        "$ {program} {}\nexit: {}\n{}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The auditor's three commands, exactly as VERIFY.md gives them.
pub fn sha256sum_check(root: &Path) -> Output {
    run(root, "sha256sum", &["-c", "SHA256SUMS"])
}

pub fn openssl_verify(root: &Path) -> Output {
    run(
        root,
        "openssl",
        &[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "signing-key.pub.pem",
            "-rawin",
            "-in",
            "SHA256SUMS",
            "-sigfile",
            "SHA256SUMS.sig",
        ],
    )
}

pub fn verify_chain(root: &Path) -> Output {
    run(root, "python3", &["audit/verify_chain.py"])
}

/// Every file under `root`, as `/`-separated relative paths, sorted.
pub fn files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).unwrap();
                out.push(rel.to_str().unwrap().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

/// Rewrites one line of an extracted JSON Lines file.
pub fn edit_line(path: &Path, index: usize, edit: impl FnOnce(&str) -> String) {
    let text = fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let edited = edit(&lines[index]);
    assert_ne!(edited, lines[index], "the edit must change the line");
    lines[index] = edited;
    fs::write(path, lines.join("\n") + "\n").unwrap();
}
