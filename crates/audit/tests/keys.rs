//! Key files and checkpoint signatures, including an outside check with the `openssl` binary.

use std::fs;
use std::path::Path;
use std::process::Command;

use bearing_audit::{public_key_path, AuditError, SigningKey, VerifyingKey};
use time::macros::datetime;

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn key_file_is_generated_private_and_reloads_to_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys").join("audit.pem");

    let key = SigningKey::load_or_generate(&path).unwrap();
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    let pem = fs::read_to_string(&path).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");

    let pub_path = public_key_path(&path);
    assert_eq!(pub_path, dir.path().join("keys").join("audit.pem.pub"));
    let pub_pem = fs::read_to_string(&pub_path).unwrap();
    assert_eq!(pub_pem, key.public_key_pem());
    assert!(pub_pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pub_pem}");

    // No temporary files left behind.
    let names: Vec<_> = fs::read_dir(dir.path().join("keys"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    let again = SigningKey::load_or_generate(&path).unwrap();
    assert_eq!(again.key_id(), key.key_id());
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        pem,
        "an existing key is never rewritten"
    );
    assert_eq!(SigningKey::from_pem_file(&path).unwrap().key_id(), key.key_id());

    let verifying = VerifyingKey::from_pem_file(&pub_path).unwrap();
    assert_eq!(verifying.key_id(), key.key_id());
    assert_eq!(key.key_id().len(), 16);
    let checkpoint = again.sign_checkpoint(3, [9; 32], datetime!(2024-05-01 12:00:00.5 UTC));
    verifying.verify_checkpoint(&checkpoint).unwrap();

    // A missing `.pub` is written again on the next load.
    fs::remove_file(&pub_path).unwrap();
    SigningKey::load_or_generate(&path).unwrap();
    assert_eq!(fs::read_to_string(&pub_path).unwrap(), pub_pem);
}

#[test]
fn invalid_key_file_is_an_error_naming_the_file_and_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.pem");
    fs::write(&path, "not a key").unwrap();
    let err = SigningKey::load_or_generate(&path).unwrap_err();
    assert!(
        matches!(&err, AuditError::KeyFileInvalid { path: p, .. } if p == &path),
        "{err:?}"
    );
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    assert_eq!(fs::read_to_string(&path).unwrap(), "not a key");

    let missing = dir.path().join("nope.pem");
    let err = SigningKey::from_pem_file(&missing).unwrap_err();
    assert!(
        matches!(&err, AuditError::KeyFileUnreadable { path: p, .. } if p == &missing),
        "{err:?}"
    );
}

#[test]
fn debug_never_shows_the_secret() {
    let key = SigningKey::generate();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.pem");
    let key_from_file = SigningKey::load_or_generate(&path).unwrap();
    let pem = fs::read_to_string(&path).unwrap();
    let secret_b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();

    let shown = format!("{key_from_file:?} {key_from_file:#?}");
    assert!(
        shown.contains("<redacted>") && shown.contains(&key_from_file.key_id()),
        "{shown}"
    );
    assert!(!shown.contains(&secret_b64[..20]), "{shown}");
    assert!(!format!("{key:?}").contains("bytes"));
}

#[test]
fn checkpoint_signature_covers_every_field() {
    let key = SigningKey::generate();
    let verifying = key.verifying_key();
    let good = key.sign_checkpoint(10, [1; 32], datetime!(2024-05-01 12:00:00.123456789 UTC));
    // Truncated to microseconds at signing, so the stored value verifies after a database round trip.
    assert_eq!(good.at, datetime!(2024-05-01 12:00:00.123456 UTC));
    verifying.verify_checkpoint(&good).unwrap();

    let mut c = good.clone();
    c.seq = 11;
    assert!(matches!(
        verifying.verify_checkpoint(&c),
        Err(AuditError::BadSignature { seq: 11 })
    ));
    let mut c = good.clone();
    c.head_hash[31] ^= 1;
    assert!(matches!(
        verifying.verify_checkpoint(&c),
        Err(AuditError::BadSignature { .. })
    ));
    let mut c = good.clone();
    c.at += time::Duration::microseconds(1);
    assert!(matches!(
        verifying.verify_checkpoint(&c),
        Err(AuditError::BadSignature { .. })
    ));
    let other = SigningKey::generate().verifying_key();
    assert!(matches!(
        other.verify_checkpoint(&good),
        Err(AuditError::WrongKey { .. })
    ));
}

#[test]
fn checkpoint_message_is_the_documented_text() {
    let key = SigningKey::generate();
    let checkpoint = key.sign_checkpoint(42, [0xab; 32], datetime!(2024-05-01 14:00:00.000001999 +02:00));
    let expected = format!(
        "bearing-audit-checkpoint-v1\n42\n{}\n2024-05-01T12:00:00.000001Z",
        "ab".repeat(32)
    );
    assert_eq!(String::from_utf8(checkpoint.message()).unwrap(), expected);
}

fn openssl_available() -> bool {
    match Command::new("openssl").arg("version").output() {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            println!(
                "skipping: `openssl version` failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            false
        }
        Err(e) => {
            println!("skipping: no usable `openssl` binary on PATH ({e})");
            false
        }
    }
}

/// Runs the auditor's command from the README; true when openssl says the signature verifies.
fn openssl_verifies(pub_path: &Path, message: &[u8], signature: &[u8; 64], dir: &Path) -> bool {
    let msg_path = dir.join("checkpoint.msg");
    let sig_path = dir.join("checkpoint.sig");
    fs::write(&msg_path, message).unwrap();
    fs::write(&sig_path, signature).unwrap();
    let out = Command::new("openssl")
        .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
        .arg(pub_path)
        .arg("-rawin")
        .arg("-in")
        .arg(&msg_path)
        .arg("-sigfile")
        .arg(&sig_path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!(
        "openssl: {} {stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.status.success() && stdout.contains("Signature Verified Successfully")
}

#[test]
fn openssl_verifies_checkpoint_with_pub_file() {
    if !openssl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.pem");
    let key = SigningKey::load_or_generate(&path).unwrap();
    let checkpoint = key.sign_checkpoint(1_000, [0x5a; 32], datetime!(2024-05-01 12:00:00.25 UTC));
    let pub_path = public_key_path(&path);

    assert!(openssl_verifies(
        &pub_path,
        &checkpoint.message(),
        &checkpoint.signature,
        dir.path()
    ));

    // And openssl rejects a checkpoint message that was altered.
    let mut altered = checkpoint.clone();
    altered.seq = 999;
    assert!(!openssl_verifies(
        &pub_path,
        &altered.message(),
        &checkpoint.signature,
        dir.path()
    ));
}

#[test]
fn openssl_generated_key_is_accepted() {
    if !openssl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ops.pem");
    let status = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    // load_or_generate keeps the operator's key and derives `.pub` from it.
    let key = SigningKey::load_or_generate(&path).unwrap();
    let out = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let openssl_pub = VerifyingKey::from_pem(&String::from_utf8(out.stdout).unwrap()).unwrap();
    assert_eq!(openssl_pub.key_id(), key.key_id());

    let checkpoint = key.sign_checkpoint(5, [3; 32], datetime!(2024-05-01 12:00:00 UTC));
    assert!(openssl_verifies(
        &public_key_path(&path),
        &checkpoint.message(),
        &checkpoint.signature,
        dir.path()
    ));
}

/// The fingerprint is SHA-256 of the raw public key, which an auditor recomputes from the `.pub`
/// file (the raw key is the last 32 bytes of its DER form); the key id is its prefix.
#[test]
fn fingerprint_is_sha256_of_the_raw_public_key() {
    use sha2::{Digest, Sha256};
    let key = SigningKey::generate();
    let pem = key.public_key_pem();
    let der = base64_decode(&pem.lines().filter(|l| !l.starts_with("-----")).collect::<String>());
    let raw = &der[der.len() - 32..];
    let expected = hex::encode(Sha256::digest(raw));
    assert_eq!(key.fingerprint(), expected);
    assert_eq!(key.verifying_key().fingerprint(), expected);
    assert!(expected.starts_with(&key.key_id()));
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base64") as u32;
        bits = (bits << 6) | v;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    out
}

/// A checkpoint as one JSON line (what `bearing audit checkpoints` ships) reads back to the same
/// checkpoint, which still verifies; a line altered anywhere does not.
#[test]
fn checkpoint_json_round_trips_and_still_verifies() {
    let key = SigningKey::generate();
    let checkpoint = key.sign_checkpoint(1_000, [0x5a; 32], datetime!(2024-05-01 12:00:00.25 UTC));
    let line = serde_json::to_string(&checkpoint).unwrap();
    assert!(!line.contains('\n'));
    assert!(line.contains(r#""at":"2024-05-01T12:00:00.250000Z""#), "{line}");
    assert!(line.contains(&"5a".repeat(32)), "{line}");
    let back: bearing_audit::Checkpoint = serde_json::from_str(&line).unwrap();
    assert_eq!(back, checkpoint);
    key.verifying_key().verify_checkpoint(&back).unwrap();

    let altered = line.replace("1000", "1001");
    let back: bearing_audit::Checkpoint = serde_json::from_str(&altered).unwrap();
    assert!(key.verifying_key().verify_checkpoint(&back).is_err());
    let short = line.replace(&"5a".repeat(32), "5a5a");
    let err = serde_json::from_str::<bearing_audit::Checkpoint>(&short).unwrap_err();
    assert!(err.to_string().contains("64 hex digits"), "{err}");
}

#[cfg(unix)]
mod private_file {
    use std::fs;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    use bearing_audit::{check_private_key_file, AuditError, SigningKey};

    fn me(path: &std::path::Path) -> u32 {
        fs::metadata(path).unwrap().uid()
    }

    #[test]
    fn a_generated_key_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("audit.pem");
        SigningKey::load_or_generate(&path).unwrap();
        fs::set_permissions(path.parent().unwrap(), fs::Permissions::from_mode(0o700)).unwrap();
        check_private_key_file(&path, &[me(&path)]).unwrap();
    }

    #[test]
    fn a_key_others_can_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.pem");
        SigningKey::load_or_generate(&path).unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        for mode in [0o644, 0o640, 0o604, 0o620] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            let err = check_private_key_file(&path, &[me(&path)]).unwrap_err();
            assert!(matches!(err, AuditError::KeyFileExposed { .. }), "{err}");
            let text = err.to_string();
            assert!(
                text.contains(&format!("mode {mode:04o}")) && text.contains("chmod 600"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_key_owned_by_another_user_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.pem");
        SigningKey::load_or_generate(&path).unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        let owner = me(&path);
        // Trusting only some other uid stands for "the file belongs to the database's user".
        let err = check_private_key_file(&path, &[owner.wrapping_add(1)]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&format!("owned by uid {owner}")), "{text}");
    }

    #[test]
    fn a_key_in_a_directory_others_can_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.pem");
        SigningKey::load_or_generate(&path).unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let err = check_private_key_file(&path, &[me(&path)]).unwrap_err();
        assert!(err.to_string().contains("writable by group or others"), "{err}");
    }

    #[test]
    fn a_missing_key_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.pem");
        let err = check_private_key_file(&path, &[0]).unwrap_err();
        assert!(err.to_string().contains("absent.pem"), "{err}");
    }
}

/// A document signature (e.g. an evidence bundle's `SHA256SUMS`) is plain Ed25519 over the bytes,
/// which `openssl pkeyutl -verify -rawin` checks with the same public key as checkpoints.
#[test]
fn openssl_verifies_a_signed_document() {
    if !openssl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.pem");
    let key = SigningKey::load_or_generate(&path).unwrap();
    let document = format!("{}  populations/entities.csv\n", "ab".repeat(32));
    let signature = key.sign_document(document.as_bytes()).unwrap();
    let pub_path = public_key_path(&path);
    assert!(openssl_verifies(&pub_path, document.as_bytes(), &signature, dir.path()));
    let altered = document.replace("ab", "ac");
    assert!(!openssl_verifies(&pub_path, altered.as_bytes(), &signature, dir.path()));
}

/// Nothing that starts like a checkpoint message is signed as a document: otherwise a caller
/// choosing the document's bytes would get a valid signature over a chain head of their choosing.
#[test]
fn documents_that_look_like_checkpoints_are_refused() {
    let key = SigningKey::generate();
    let checkpoint = key.sign_checkpoint(42, [7; 32], datetime!(2024-05-01 12:00:00 UTC));
    let err = key.sign_document(&checkpoint.message()).unwrap_err();
    assert!(matches!(err, AuditError::ReservedDocument), "{err}");
    assert!(key.sign_document(b"bearing-audit-checkpoint-v2\n1").is_err());
    assert!(key.sign_document(b"SHA256SUMS of anything else").is_ok());
}
