//! Chain verification: a sound chain verifies, and every kind of tampering names the right row.

use bearing_audit::{
    entry_hash, verify_chain, verify_chain_reaching, BreakKind, ChainBreak, ChainHead, Checkpoint, EntryBody,
    SigningKey, StoredEntry, GENESIS,
};
use time::macros::datetime;
use time::Duration;

const ROWS: i64 = 1_000;

fn body(seq: i64) -> EntryBody {
    let mut body = EntryBody::new(
        seq,
        datetime!(2024-05-01 12:00:00.000000321 UTC) + Duration::seconds(seq),
        format!("user{}", seq % 7),
        "user",
        "entity.update",
    );
    body.target = Some(format!("component:default/svc-{seq}"));
    body.after = Some(serde_json::json!({ "n": seq, "tags": ["a", "b"] }));
    body.request_id = Some(format!("req-{seq}"));
    body
}

/// Links bodies into a chain, as the server does when appending.
fn seal_all(bodies: impl IntoIterator<Item = EntryBody>, mut prev: [u8; 32]) -> Vec<StoredEntry> {
    bodies
        .into_iter()
        .map(|b| {
            let entry = StoredEntry::seal(prev, b);
            prev = entry.hash;
            entry
        })
        .collect()
}

/// A chain of `ROWS` rows with a checkpoint every 100 rows.
fn chain(key: &SigningKey) -> (Vec<StoredEntry>, Vec<Checkpoint>) {
    let rows = seal_all((1..=ROWS).map(body), GENESIS);
    let checkpoints = rows
        .iter()
        .filter(|r| r.body.seq % 100 == 0)
        .map(|r| key.sign_checkpoint(r.body.seq, r.hash, r.body.at + Duration::milliseconds(1)))
        .collect();
    (rows, checkpoints)
}

fn broken(rows: Vec<StoredEntry>, checkpoints: &[Checkpoint], key: &SigningKey) -> ChainBreak {
    let result = verify_chain(rows, checkpoints, &key.verifying_key());
    let err = result.expect_err("tampering must be detected");
    println!("{err}");
    err
}

fn assert_break(err: &ChainBreak, seq: i64, kind: BreakKind) {
    assert_eq!((err.seq, err.kind), (seq, kind), "{err}");
    assert!(err.to_string().starts_with(&format!("row {seq}: ")), "{err}");
}

#[test]
fn valid_chain_verifies() {
    let key = SigningKey::generate();
    let (rows, mut checkpoints) = chain(&key);
    let head = rows.last().unwrap().hash;
    // Checkpoint order does not matter.
    checkpoints.reverse();
    let report = verify_chain(rows, &checkpoints, &key.verifying_key()).unwrap();
    assert_eq!(report.entries, ROWS as u64);
    assert_eq!(report.head_seq, ROWS);
    assert_eq!(report.head_hash, head);
    assert_eq!(report.checkpoints_verified, 10);
    assert_eq!(report.last_checkpoint_seq, Some(ROWS));
}

#[test]
fn verification_streams_rows() {
    // Rows are produced lazily, one at a time, as a database cursor would.
    let key = SigningKey::generate();
    let mut prev = GENESIS;
    let rows = (1..=ROWS).map(move |seq| {
        let entry = StoredEntry::seal(prev, body(seq));
        prev = entry.hash;
        entry
    });
    let report = verify_chain(rows, &[], &key.verifying_key()).unwrap();
    assert_eq!(
        (report.entries, report.head_seq, report.last_checkpoint_seq),
        (1_000, 1_000, None)
    );
}

#[test]
fn empty_log_verifies() {
    let key = SigningKey::generate();
    let report = verify_chain(Vec::new(), &[], &key.verifying_key()).unwrap();
    assert_eq!((report.entries, report.head_seq, report.head_hash), (0, 0, GENESIS));
}

#[test]
fn edited_row_is_detected() {
    let key = SigningKey::generate();
    let (mut rows, checkpoints) = chain(&key);
    rows[499].body.actor = "mallory".into();
    assert_break(&broken(rows, &checkpoints, &key), 500, BreakKind::Edited);

    let (mut rows, checkpoints) = chain(&key);
    rows[499].body.after = Some(serde_json::json!({ "n": 500, "tags": ["b", "a"] }));
    assert_break(&broken(rows, &checkpoints, &key), 500, BreakKind::Edited);
}

#[test]
fn edited_row_with_recomputed_hash_is_detected() {
    // Between checkpoints, the next row no longer links to the rewritten one.
    let key = SigningKey::generate();
    let (mut rows, checkpoints) = chain(&key);
    rows[549].body.actor = "mallory".into();
    rows[549].hash = entry_hash(&rows[549].prev_hash, &rows[549].body);
    let err = broken(rows, &checkpoints, &key);
    assert_break(&err, 551, BreakKind::BrokenLink);
    assert!(err.message.contains("row 550"), "{err}");

    // At a checkpointed row, the checkpoint names it.
    let (mut rows, checkpoints) = chain(&key);
    rows[499].body.actor = "mallory".into();
    rows[499].hash = entry_hash(&rows[499].prev_hash, &rows[499].body);
    assert_break(&broken(rows, &checkpoints, &key), 500, BreakKind::CheckpointMismatch);
}

#[test]
fn deleted_row_is_detected() {
    let key = SigningKey::generate();
    let (mut rows, checkpoints) = chain(&key);
    rows.remove(499);
    let err = broken(rows, &checkpoints, &key);
    assert_break(&err, 500, BreakKind::Missing);
    assert_eq!(err.to_string(), "row 500: missing: row 501 follows row 499 (deleted)");
}

#[test]
fn deleted_first_row_is_detected() {
    let key = SigningKey::generate();
    let (mut rows, checkpoints) = chain(&key);
    rows.remove(0);
    assert_break(&broken(rows, &checkpoints, &key), 1, BreakKind::Missing);
}

#[test]
fn deleted_and_renumbered_rows_are_detected() {
    // Delete row 500 and renumber every later row to close the gap, without recomputing hashes.
    let key = SigningKey::generate();
    let (mut rows, checkpoints) = chain(&key);
    rows.remove(499);
    for row in &mut rows[499..] {
        row.body.seq -= 1;
    }
    assert_break(&broken(rows, &checkpoints, &key), 500, BreakKind::BrokenLink);
}

#[test]
fn swapped_rows_are_detected() {
    // Swap the contents of two rows but keep the seq positions (what `ORDER BY seq` returns).
    let key = SigningKey::generate();
    let (mut rows, checkpoints) = chain(&key);
    let (a, b) = (rows[499].clone(), rows[500].clone());
    rows[499] = StoredEntry {
        body: EntryBody { seq: 500, ..b.body },
        ..b
    };
    rows[500] = StoredEntry {
        body: EntryBody { seq: 501, ..a.body },
        ..a
    };
    assert_break(&broken(rows, &checkpoints, &key), 500, BreakKind::BrokenLink);

    // Rows handed over out of seq order.
    let (mut rows, checkpoints) = chain(&key);
    rows.swap(499, 500);
    let err = broken(rows, &checkpoints, &key);
    assert_break(&err, 500, BreakKind::OutOfOrder);
    assert!(err.message.contains("row 501 appears where row 500 belongs"), "{err}");
}

#[test]
fn seq_going_backwards_is_detected() {
    let key = SigningKey::generate();
    let (mut rows, checkpoints) = chain(&key);
    // Move row 300 to after row 500 (no look-ahead can explain this as a simple swap).
    let moved = rows.remove(299);
    rows.insert(499, moved);
    // At position 300 row 301 appears, and the next row (302) is larger: reported as missing 300.
    assert_break(&broken(rows, &checkpoints, &key), 300, BreakKind::Missing);
}

#[test]
fn inserted_row_with_duplicate_seq_is_detected() {
    // A forged row 500 linked correctly after 499 with a correctly recomputed hash, inserted before
    // the genuine row 500: the forgery itself is consistent, the genuine row then collides with it.
    let key = SigningKey::generate();
    let (mut rows, checkpoints) = chain(&key);
    let mut forged = body(500);
    forged.actor = "mallory".into();
    let forged = StoredEntry::seal(rows[498].hash, forged);
    rows.insert(499, forged);
    let err = broken(rows, &checkpoints, &key);
    assert_break(&err, 500, BreakKind::Duplicate);
    assert_eq!(err.to_string(), "row 500: duplicate seq (inserted row)");
}

#[test]
fn inserted_row_with_renumbering_is_detected() {
    // A forged row with a recomputed hash, and every later row renumbered up by one: the forgery
    // links to the row before it, but the displaced genuine row no longer links to the forgery.
    let key = SigningKey::generate();
    let (mut rows, checkpoints) = chain(&key);
    for row in &mut rows[549..] {
        row.body.seq += 1;
    }
    let forged = StoredEntry::seal(rows[548].hash, body(550));
    rows.insert(549, forged);
    assert_break(&broken(rows, &checkpoints, &key), 551, BreakKind::BrokenLink);

    // The same at a checkpointed seq: the checkpoint names the forgery itself.
    let (mut rows, checkpoints) = chain(&key);
    for row in &mut rows[499..] {
        row.body.seq += 1;
    }
    let mut forged = body(500);
    forged.actor = "mallory".into();
    let forged = StoredEntry::seal(rows[498].hash, forged);
    rows.insert(499, forged);
    assert_break(&broken(rows, &checkpoints, &key), 500, BreakKind::CheckpointMismatch);
}

#[test]
fn rewritten_chain_is_caught_by_the_next_checkpoint() {
    // An attacker with database access edits row 501 and recomputes every later hash: the chain is
    // self-consistent, only the signed checkpoint at 600 can tell.
    let key = SigningKey::generate();
    let (mut rows, checkpoints) = chain(&key);
    let mut tail: Vec<EntryBody> = rows.drain(500..).map(|r| r.body).collect();
    tail[0].actor = "mallory".into();
    let prev = rows[499].hash;
    rows.extend(seal_all(tail, prev));
    assert_break(&broken(rows, &checkpoints, &key), 600, BreakKind::CheckpointMismatch);
}

#[test]
fn rows_deleted_from_the_end_are_detected() {
    let key = SigningKey::generate();
    let (mut rows, checkpoints) = chain(&key);
    rows.truncate(950);
    let err = broken(rows, &checkpoints, &key);
    assert_break(&err, 951, BreakKind::Truncated);
    assert!(err.message.contains("covers row 1000"), "{err}");

    // Everything deleted.
    let (_, checkpoints) = chain(&key);
    assert_break(&broken(Vec::new(), &checkpoints, &key), 1, BreakKind::Truncated);
}

#[test]
fn forged_checkpoint_signature_is_detected() {
    let key = SigningKey::generate();
    let (rows, mut checkpoints) = chain(&key);
    checkpoints[4].signature[10] ^= 0x01;
    assert_break(
        &broken(rows, &checkpoints, &key),
        500,
        BreakKind::CheckpointBadSignature,
    );

    // A checkpoint whose head hash was changed to fit a rewritten chain no longer verifies.
    let (rows, mut checkpoints) = chain(&key);
    checkpoints[4].head_hash[0] ^= 0x01;
    assert_break(
        &broken(rows, &checkpoints, &key),
        500,
        BreakKind::CheckpointBadSignature,
    );

    // A forged checkpoint beyond the end does not pass for proof of truncation.
    let (rows, mut checkpoints) = chain(&key);
    let mut fake = checkpoints[9].clone();
    fake.seq = 1_100;
    checkpoints.push(fake);
    assert_break(
        &broken(rows, &checkpoints, &key),
        1_100,
        BreakKind::CheckpointBadSignature,
    );
}

#[test]
fn checkpoint_signed_by_another_key_is_detected() {
    let key = SigningKey::generate();
    let other = SigningKey::generate();
    let (rows, mut checkpoints) = chain(&key);
    let row = &rows[699];
    checkpoints[6] = other.sign_checkpoint(row.body.seq, row.hash, row.body.at);
    let err = broken(rows.clone(), &checkpoints, &key);
    assert_break(&err, 700, BreakKind::CheckpointWrongKey);
    assert!(err.message.contains(&other.key_id()), "{err}");

    // Same, but claiming our key id: the signature gives it away.
    checkpoints[6].key_id = key.key_id();
    assert_break(
        &broken(rows, &checkpoints, &key),
        700,
        BreakKind::CheckpointBadSignature,
    );
}

#[test]
fn first_row_must_link_to_genesis() {
    let key = SigningKey::generate();
    let rows = seal_all((1..=10).map(body), [7; 32]);
    assert_break(&broken(rows, &[], &key), 1, BreakKind::BadGenesis);

    let rows = seal_all((0..=10).map(body), GENESIS);
    assert_break(&broken(rows, &[], &key), 0, BreakKind::BadGenesis);
}

/// Deleting the newest rows together with the checkpoints that cover them (both live in the
/// database) passes plain verification; a head recorded outside the database catches it.
#[test]
fn a_recorded_head_catches_a_tail_deleted_with_its_checkpoints() {
    let key = SigningKey::generate();
    let (mut rows, checkpoints) = chain(&key);
    let recorded = ChainHead {
        seq: 991,
        hash: rows[990].hash,
    };
    let report = verify_chain_reaching(rows.clone(), &checkpoints, &key.verifying_key(), &[recorded]).unwrap();
    assert_eq!(report.heads_reached, 1);

    // Rows 901.. and the checkpoint at 1000 are gone.
    rows.truncate(900);
    let kept: Vec<Checkpoint> = checkpoints.into_iter().filter(|c| c.seq <= 900).collect();
    verify_chain(rows.clone(), &kept, &key.verifying_key()).expect("undetectable without a recorded head");
    let err = verify_chain_reaching(rows, &kept, &key.verifying_key(), &[recorded]).unwrap_err();
    assert_break(&err, 901, BreakKind::Truncated);
    assert!(err.message.contains(&recorded.to_string()), "{err}");
}

#[test]
fn a_recorded_head_catches_a_rewritten_chain() {
    let key = SigningKey::generate();
    let (mut rows, _) = chain(&key);
    let recorded = ChainHead {
        seq: 50,
        hash: rows[49].hash,
    };
    // Row 20 edited, every hash after it recomputed, no checkpoints kept.
    let mut tail: Vec<EntryBody> = rows.drain(19..).map(|r| r.body).collect();
    tail[0].actor = "mallory".into();
    let prev = rows[18].hash;
    rows.extend(seal_all(tail, prev));
    verify_chain(rows.clone(), &[], &key.verifying_key()).expect("a consistent rewrite");
    let err = verify_chain_reaching(rows, &[], &key.verifying_key(), &[recorded]).unwrap_err();
    assert_break(&err, 50, BreakKind::HeadMismatch);
}

#[test]
fn chain_heads_parse_and_print_as_seq_colon_hash() {
    let head: ChainHead = format!("42:{}", "ab".repeat(32)).parse().unwrap();
    assert_eq!(
        head,
        ChainHead {
            seq: 42,
            hash: [0xab; 32]
        }
    );
    assert_eq!(head.to_string(), format!("42:{}", "ab".repeat(32)));
    for bad in [
        "42",
        "x:00",
        "0:00",
        "-1:00",
        "42:abc",
        &format!("42:{}", "zz".repeat(32)),
    ] {
        let err = bad.parse::<ChainHead>().unwrap_err().to_string();
        assert!(err.starts_with("invalid chain head"), "{bad}: {err}");
    }
}
