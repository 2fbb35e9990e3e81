//! Locating `../shared/kuma` (Kuma's spec, golden responses and status rules) from the tests.

#![allow(dead_code)]

use std::path::PathBuf;

/// `<workspace root>/../shared/kuma`, i.e. `CARGO_MANIFEST_DIR/../../../shared/kuma`, or
/// `$BEARING_KUMA_SHARED` when set. Panics with instructions when it is missing: these tests are
/// the contract with Kuma's real shapes and must not pass vacuously.
pub fn shared_dir() -> PathBuf {
    let dir = match std::env::var_os("BEARING_KUMA_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/kuma"),
    };
    assert!(
        dir.join("fixtures").is_dir(),
        "Kuma fixtures not found at {}: these tests need ../shared/kuma next to the workspace root \
         (or BEARING_KUMA_SHARED pointing at it)",
        dir.display()
    );
    dir
}

/// The text of `fixtures/<name>`.
pub fn fixture(name: &str) -> String {
    let path = shared_dir().join("fixtures").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}

/// A UTC time from RFC 3339.
pub fn at(rfc3339: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).expect("test time")
}
