//! The Python checker's RFC 8785 serializer against Rust's (`bearing_audit::canonical_bytes`),
//! value by value, on what the two are most likely to disagree on: number forms and key order.

use std::io::Write;
use std::process::{Command, Stdio};

use bearing_audit::{EntryBody, StoredEntry, GENESIS};
use bearing_evidence::{AuditLogLine, VERIFY_CHAIN_PY};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::macros::datetime;

/// Doubles from all over the range (random bit patterns), plus the edges of ECMAScript's
/// formatting rules.
fn numbers() -> Vec<Value> {
    let mut values: Vec<Value> = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.1,
        0.5,
        1e-6,
        1e-7,
        1.5e-7,
        1e20,
        1e21,
        1.5e21,
        123456789012345680000.0,
        5e-324,
        f64::MAX,
        f64::MIN_POSITIVE,
        9007199254740992.0,
        9007199254740994.0,
        4.35,
        0.3,
    ]
    .iter()
    .map(|&f| json!(f))
    .collect();
    values.extend([
        json!(u64::MAX),
        json!(i64::MIN),
        json!(9_007_199_254_740_993_u64),
        json!(-7),
    ]);
    for i in 0u32..3_000 {
        let bits = u64::from_be_bytes(Sha256::digest(i.to_be_bytes())[..8].try_into().unwrap());
        let f = f64::from_bits(bits);
        if f.is_finite() {
            values.push(json!(f));
        }
        // Integers of every size too: all numbers are doubles in JCS.
        values.push(json!(bits >> (i % 64)));
    }
    values
}

fn keys_and_strings() -> Vec<Value> {
    vec![
        json!({"😀": 1, "\u{fb01}": 2, "\u{ffff}": 3, "\u{10000}": 4, "": 5, "A": 6, "a": 7, "é": 8, "e\u{301}": 9}),
        json!({"名前": {"ñ": [{"z": 1, "y": {"x": null}}]}, "\u{7f}": "\u{7f}", "\u{1f}": "\u{1f}"}),
        json!(["\u{0}\u{8}\u{9}\u{a}\u{c}\u{d}\u{1f}\"\\/\u{2028}\u{2029}\u{feff}😀"]),
        json!({"nested": [[[[[[[[[[{"deep": true}]]]]]]]]]]}),
    ]
}

/// Every value, as the `after` of one audit row, through the checker's `jcs()`.
#[test]
fn python_jcs_matches_rust_canonical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("verify_chain.py");
    std::fs::write(&script, VERIFY_CHAIN_PY).unwrap();

    let values: Vec<Value> = numbers().into_iter().chain(keys_and_strings()).collect();
    let mut input = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let mut body = EntryBody::new(i as i64 + 1, datetime!(2026-10-01 09:00:00 UTC), "zoë", "user", "x");
        body.after = Some(json!({ "v": value }));
        let line = AuditLogLine::from_entry(&StoredEntry::seal(GENESIS, body));
        serde_json::to_writer(&mut input, &line).unwrap();
        input.push(b'\n');
    }

    // Loads the shipped checker as a module and compares its jcs() with `canonical`, line by line.
    let program = r#"
import importlib.util, sys
spec = importlib.util.spec_from_file_location("verify_chain", sys.argv[1])
checker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(checker)
bad = 0
for n, raw in enumerate(sys.stdin.buffer, 1):
    line = checker.parse_json(raw)
    got = checker.jcs(line["body"])
    if got != line["canonical"]:
        bad += 1
        print("line %d: python %s\n        rust   %s" % (n, got, line["canonical"]))
print("%d lines, %d differ" % (n, bad))
sys.exit(1 if bad else 0)
"#;
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(program)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is needed for this test");
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    println!("{report}");
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains(&format!("{} lines, 0 differ", values.len())),
        "{report}"
    );
}
