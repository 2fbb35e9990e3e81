//! Canonical JSON and the spec hash.
//!
//! The `bearing.dev/spec-hash` label lets the server tell, from Kuma's copy alone, whether an
//! applied policy is still exactly what Bearing would generate. That only works if the same spec
//! always hashes the same, whatever order its keys were built or read in. `serde_json::Value`
//! sorts object keys only while serde_json's `preserve_order` feature is off (it is today: the
//! lock file's serde_json has no `indexmap`), and any crate added to the build can switch it on
//! through feature unification, so the canonical form sorts keys itself instead of relying on it.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// Hex digits of SHA-256 kept in the label: 64 bits, plenty to notice a change, and well under
/// Kubernetes' 63-character limit for label values.
const HASH_HEX_LEN: usize = 16;

/// The canonical JSON text of `value`: no whitespace, object keys sorted by their UTF-8 bytes,
/// strings escaped and numbers printed as serde_json prints them.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_string(key, out);
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::String(s) => push_json_string(s, out),
        // Null, booleans and numbers have one spelling in serde_json.
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// A JSON string literal (serde_json's escaping, which is also a valid YAML double-quoted scalar).
pub(crate) fn push_json_string(s: &str, out: &mut String) {
    // Serialising a &str cannot fail; fall back to an empty literal rather than panic.
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string()));
}

/// A short hex SHA-256 of the canonical JSON of `spec` ([`canonical_json`]): the value of the
/// `bearing.dev/spec-hash` label. 16 lower-case hex digits, a valid Kubernetes label value.
pub fn spec_hash(spec: &Value) -> String {
    short_hash(canonical_json(spec).as_bytes(), HASH_HEX_LEN)
}

/// The first `len` hex digits of SHA-256 of `bytes`.
pub(crate) fn short_hash(bytes: &[u8], len: usize) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    hex.truncate(len);
    hex
}
