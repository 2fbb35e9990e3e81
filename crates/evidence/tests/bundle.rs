//! A whole bundle, checked with the auditor's stock tools (`sha256sum`, `openssl`, `python3`):
//! what they accept, and what the files look like to an auditor.

#[expect(dead_code, reason = "each test binary uses part of the helpers")]
mod support;

use std::fs;

use bearing_audit::SigningKey;
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
