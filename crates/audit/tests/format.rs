//! The hashed format: canonical bytes, timestamps, golden values.

use bearing_audit::{canonical_bytes, entry_hash, format_timestamp, truncate_to_micros, EntryBody, GENESIS};
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;
use time::OffsetDateTime;

fn sample(after_json: &str) -> EntryBody {
    let mut body = EntryBody::new(
        7,
        datetime!(2024-05-01 14:00:00.123456789 +02:00),
        "alice",
        "user",
        "entity.update",
    );
    body.target = Some("component:default/api".into());
    body.after = Some(serde_json::from_str(after_json).unwrap());
    body.reason = Some("café\n".into());
    body
}

/// Pins the exact bytes and hash: a change here breaks every existing log, so it must be
/// deliberate. The expected hash was computed outside Rust:
/// `(head -c 32 /dev/zero; printf '%s' "$CANONICAL") | sha256sum`.
#[test]
fn canonical_form_is_stable() {
    let body = sample(r#"{"b":1,"a":[true,null,"x"]}"#);
    let expected = "{\"action\":\"entity.update\",\"actor\":\"alice\",\"actor_kind\":\"user\",\
                    \"after\":{\"a\":[true,null,\"x\"],\"b\":1},\"at\":\"2024-05-01T12:00:00.123456Z\",\
                    \"reason\":\"café\\n\",\"seq\":7,\"target\":\"component:default/api\"}";
    assert_eq!(String::from_utf8(canonical_bytes(&body)).unwrap(), expected);
    assert_eq!(
        hex::encode(entry_hash(&GENESIS, &body)),
        "419e7614529a44c2522e8d831619ce1bcaab609e9c6b7b5b105a8bfc5e8d2787"
    );
}

#[test]
fn canonical_form_ignores_key_order() {
    let a = sample(r#"{"b":1,"a":{"y":2.5,"x":[{"q":1,"p":2}]},"é":0,"z":"1"}"#);
    let b = sample(r#"{"z":"1","é":0,"a":{"x":[{"p":2,"q":1}],"y":2.5},"b":1}"#);
    assert_eq!(canonical_bytes(&a), canonical_bytes(&b));
    assert_eq!(entry_hash(&GENESIS, &a), entry_hash(&GENESIS, &b));
    // ...but a different value is a different hash.
    let c = sample(r#"{"z":"1","é":0,"a":{"x":[{"p":2,"q":1}],"y":2.5},"b":2}"#);
    assert_ne!(entry_hash(&GENESIS, &a), entry_hash(&GENESIS, &c));
}

#[test]
fn prev_hash_is_part_of_the_hash() {
    let body = sample("{}");
    assert_ne!(entry_hash(&GENESIS, &body), entry_hash(&[1; 32], &body));
}

/// What the database does: it keeps microseconds and hands back a value in some offset.
#[test]
fn timestamps_hash_identically_after_a_round_trip() {
    let written_at = datetime!(2024-12-31 23:59:59.999999999 -05:00);
    assert_eq!(
        truncate_to_micros(written_at),
        datetime!(2025-01-01 04:59:59.999999 UTC)
    );

    let mut written = EntryBody::new(1, written_at, "svc", "system", "job.run");
    // Even a body built without the constructor hashes at microsecond precision.
    written.at = written_at;
    let hash = entry_hash(&GENESIS, &written);

    // Stored as RFC 3339 text and read back.
    let text = format_timestamp(written_at);
    assert_eq!(text, "2025-01-01T04:59:59.999999Z");
    let read_at = OffsetDateTime::parse(&text, &Rfc3339).unwrap();
    let mut read = written.clone();
    read.at = read_at;
    assert_eq!(entry_hash(&GENESIS, &read), hash);

    // Read back in another offset with the same instant.
    read.at = read_at.to_offset(time::macros::offset!(+09:30));
    assert_eq!(entry_hash(&GENESIS, &read), hash);

    // Through the body's own JSON form too.
    let json = serde_json::to_string(&written).unwrap();
    let parsed: EntryBody = serde_json::from_str(&json).unwrap();
    assert_eq!(entry_hash(&GENESIS, &parsed), hash);
    assert_eq!(parsed, EntryBody::new(1, written_at, "svc", "system", "job.run"));

    // A microsecond later is a different hash: truncation does not hide real changes.
    read.at = read_at + time::Duration::microseconds(1);
    assert_ne!(entry_hash(&GENESIS, &read), hash);
}
