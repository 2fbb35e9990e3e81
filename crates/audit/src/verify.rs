use std::fmt;
use std::str::FromStr;

use crate::body::{entry_hash, StoredEntry, GENESIS};
use crate::keys::{Checkpoint, VerifyingKey};
use crate::AuditError;

/// What kind of tampering (or damage) a [`ChainBreak`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BreakKind {
    /// The row's content no longer matches its stored hash.
    Edited,
    /// One or more seqs are missing: rows were deleted. `seq` is the first missing one.
    Missing,
    /// Two rows share a seq: a row was inserted.
    Duplicate,
    /// Rows arrive out of seq order: rows were reordered. `seq` is the position where the wrong row
    /// appears.
    OutOfOrder,
    /// The row's `prev_hash` is not the previous row's hash: a row before it was deleted,
    /// replaced, inserted or rewritten.
    BrokenLink,
    /// The first row is not seq 1 linked to [`GENESIS`].
    BadGenesis,
    /// A valid checkpoint covers rows past the end of the log: rows were deleted from the end.
    /// `seq` is the first missing row.
    Truncated,
    /// A validly signed checkpoint's head hash differs from the row's hash: the chain up to that
    /// row was rewritten (hashes recomputed).
    CheckpointMismatch,
    /// A checkpoint's signature does not verify: the checkpoint was forged or altered.
    CheckpointBadSignature,
    /// A checkpoint was signed by a key other than the verifying key.
    CheckpointWrongKey,
    /// The row at a head recorded earlier ([`ChainHead`]) now has another hash: the chain up to
    /// that row was rewritten.
    HeadMismatch,
}

/// A chain head written down earlier, `SEQ:HASH` (the row's seq and its hash in 64 hex digits),
/// as `bearing audit verify` prints it and signed checkpoints carry it.
///
/// Kept outside the database (a ticket, a log shipper, an auditor's notes), it catches what
/// checkpoints stored in the database cannot: someone with write access deleting the newest rows
/// together with the checkpoints that cover them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: [u8; 32],
}

impl fmt::Display for ChainHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, hex::encode(self.hash))
    }
}

impl FromStr for ChainHead {
    type Err = AuditError;

    fn from_str(input: &str) -> Result<Self, AuditError> {
        let invalid = |reason: &str| AuditError::InvalidHead {
            input: input.chars().take(100).collect(),
            reason: reason.to_owned(),
        };
        let (seq, hash) = input
            .trim()
            .split_once(':')
            .ok_or_else(|| invalid("expected SEQ:HASH, e.g. 42:5a5a…(64 hex digits)"))?;
        let seq: i64 = seq
            .parse()
            .map_err(|_| invalid("SEQ must be a row number (a positive integer)"))?;
        if seq < 1 {
            return Err(invalid("SEQ must be 1 or more"));
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hash, &mut bytes).map_err(|_| invalid("HASH must be 64 hex digits"))?;
        Ok(ChainHead { seq, hash: bytes })
    }
}

/// The first problem found in a chain. `Display` reads like `row 42: content does not match its
/// hash (edited)`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("row {seq}: {message}")]
pub struct ChainBreak {
    pub seq: i64,
    pub kind: BreakKind,
    pub message: String,
}

impl ChainBreak {
    fn new(seq: i64, kind: BreakKind, message: impl Into<String>) -> Self {
        Self {
            seq,
            kind,
            message: message.into(),
        }
    }
}

/// Summary of a chain that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainReport {
    /// Rows checked.
    pub entries: u64,
    /// Seq of the last row (0 for an empty log).
    pub head_seq: i64,
    /// Hash of the last row ([`GENESIS`] for an empty log): the value the next row links to.
    pub head_hash: [u8; 32],
    /// Checkpoints whose signature and head hash both checked out.
    pub checkpoints_verified: u64,
    /// The highest verified checkpoint. Rows after it are protected by the hash chain only: a
    /// writer could still delete them from the end or recompute them undetected.
    pub last_checkpoint_seq: Option<i64>,
    /// Recorded heads ([`ChainHead`]) the chain still reaches, row and hash alike.
    pub heads_reached: u64,
}

/// Checks a whole log: rows in seq order as read from the database, plus its checkpoints (in any
/// order), against the checkpoint signing key.
///
/// The rows are consumed one at a time (with one row of look-ahead), so memory does not grow with
/// the log: pass a streaming iterator over millions of rows. Checkpoints are few and are sorted
/// here.
///
/// Returns the first problem in seq order; rows before it are sound. For each row it checks, in
/// order: its seq follows the previous one (gaps, duplicates, reordering, a chain not starting at
/// 1); its `prev_hash` is the previous row's hash (or [`GENESIS`]); its content hashes to its
/// stored hash; then every checkpoint at that seq is signed by `key` and names that row's hash.
/// After the last row, a checkpoint beyond it means rows were cut off the end.
///
/// What it cannot see: rows appended after the last checkpoint and then deleted or rewritten, and
/// a forged row that was linked in with every later hash recomputed, up to the next checkpoint.
/// Sign checkpoints often.
pub fn verify_chain<I: IntoIterator<Item = StoredEntry>>(
    entries: I,
    checkpoints: &[Checkpoint],
    key: &VerifyingKey,
) -> Result<ChainReport, ChainBreak> {
    verify_chain_reaching(entries, checkpoints, key, &[])
}

/// [`verify_chain`], and also checks that the chain still reaches every head in `heads`,
/// recorded earlier outside the database: the row at each head's seq must exist and have that
/// hash. A log whose newest rows were deleted together with their checkpoints passes
/// [`verify_chain`] but not this ([`BreakKind::Truncated`]); one rewritten up to a recorded head
/// gives [`BreakKind::HeadMismatch`].
pub fn verify_chain_reaching<I: IntoIterator<Item = StoredEntry>>(
    entries: I,
    checkpoints: &[Checkpoint],
    key: &VerifyingKey,
    heads: &[ChainHead],
) -> Result<ChainReport, ChainBreak> {
    let mut pending: Vec<&Checkpoint> = checkpoints.iter().collect();
    pending.sort_by_key(|c| c.seq);
    let mut pending = pending.into_iter().peekable();
    let mut recorded: Vec<&ChainHead> = heads.iter().collect();
    recorded.sort_by_key(|h| h.seq);
    let mut recorded = recorded.into_iter().peekable();

    let mut rows = entries.into_iter().peekable();
    // (seq, hash) of the last row that checked out.
    let mut prev: Option<(i64, [u8; 32])> = None;
    let mut report = ChainReport {
        entries: 0,
        head_seq: 0,
        head_hash: GENESIS,
        checkpoints_verified: 0,
        last_checkpoint_seq: None,
        heads_reached: 0,
    };

    while let Some(row) = rows.next() {
        let seq = row.body.seq;
        let expected = prev.map_or(1, |(p, _)| p.saturating_add(1));

        if seq > expected {
            // A later row where `expected` belongs: the missing row either comes next (reordered)
            // or not at all (deleted). One row of look-ahead tells them apart.
            if rows.peek().is_some_and(|next| next.body.seq < seq) {
                return Err(ChainBreak::new(
                    expected,
                    BreakKind::OutOfOrder,
                    format!("out of order: row {seq} appears where row {expected} belongs (reordered)"),
                ));
            }
            let message = match prev {
                None => format!("missing: the log starts at row {seq} (first rows deleted)"),
                Some((p, _)) if seq == expected + 1 => format!("missing: row {seq} follows row {p} (deleted)"),
                Some((p, _)) => format!(
                    "missing: rows {expected} to {} are gone, row {seq} follows row {p} (deleted)",
                    seq - 1
                ),
            };
            return Err(ChainBreak::new(expected, BreakKind::Missing, message));
        }
        if seq < expected {
            return Err(match prev {
                None => ChainBreak::new(
                    seq,
                    BreakKind::BadGenesis,
                    "the log starts at this seq, but the first row must be 1",
                ),
                Some((p, _)) if seq == p => ChainBreak::new(seq, BreakKind::Duplicate, "duplicate seq (inserted row)"),
                Some((p, _)) => ChainBreak::new(
                    seq,
                    BreakKind::OutOfOrder,
                    format!("out of order: appears after row {p} (reordered)"),
                ),
            });
        }

        match prev {
            None if row.prev_hash != GENESIS => {
                return Err(ChainBreak::new(
                    seq,
                    BreakKind::BadGenesis,
                    "first row does not link to the genesis hash (rows before it deleted or forged)",
                ))
            }
            Some((p, prev_hash)) if row.prev_hash != prev_hash => {
                return Err(ChainBreak::new(
                    seq,
                    BreakKind::BrokenLink,
                    format!(
                        "prev_hash does not match the hash of row {p} (a row was deleted, inserted, reordered or rewritten)"
                    ),
                ))
            }
            _ => {}
        }

        if entry_hash(&row.prev_hash, &row.body) != row.hash {
            return Err(ChainBreak::new(
                seq,
                BreakKind::Edited,
                "content does not match its hash (edited)",
            ));
        }

        // A second row with this seq is an insertion. Said before the checkpoints are checked, as
        // a checkpoint at this seq would otherwise report the first of the two as a rewrite.
        if rows.peek().is_some_and(|next| next.body.seq == seq) {
            return Err(ChainBreak::new(
                seq,
                BreakKind::Duplicate,
                "duplicate seq (inserted row)",
            ));
        }

        while let Some(checkpoint) = pending.next_if(|c| c.seq <= seq) {
            if checkpoint.seq < seq {
                // Rows are contiguous from 1, so only a checkpoint for seq < 1 can be skipped over.
                return Err(ChainBreak::new(
                    checkpoint.seq,
                    BreakKind::CheckpointMismatch,
                    "a checkpoint names this seq, which no row can have",
                ));
            }
            check_signature(key, checkpoint)?;
            if checkpoint.head_hash != row.hash {
                return Err(ChainBreak::new(
                    seq,
                    BreakKind::CheckpointMismatch,
                    format!(
                        "hash does not match the checkpoint signed at {} (the chain up to here was rewritten)",
                        crate::format_timestamp(checkpoint.at)
                    ),
                ));
            }
            report.checkpoints_verified += 1;
            report.last_checkpoint_seq = Some(seq);
        }

        // Heads are parsed with seq >= 1 and rows are contiguous from 1, so none is skipped.
        while let Some(head) = recorded.next_if(|h| h.seq <= seq) {
            if head.seq < seq || head.hash != row.hash {
                return Err(ChainBreak::new(
                    head.seq,
                    BreakKind::HeadMismatch,
                    format!(
                        "hash is {}, but the recorded head {head} says otherwise (the chain up to here was rewritten)",
                        hex::encode(row.hash)
                    ),
                ));
            }
            report.heads_reached += 1;
        }

        prev = Some((seq, row.hash));
        report.entries += 1;
        report.head_seq = seq;
        report.head_hash = row.hash;
    }

    if let Some(checkpoint) = pending.next() {
        // Only a genuine checkpoint proves the rows existed; a forged one is reported as such.
        check_signature(key, checkpoint)?;
        let first_missing = report.head_seq.saturating_add(1);
        let end = match prev {
            None => "the log is empty".to_owned(),
            Some((p, _)) => format!("the log ends at row {p}"),
        };
        return Err(ChainBreak::new(
            first_missing,
            BreakKind::Truncated,
            format!(
                "missing: {end}, but a signed checkpoint covers row {} (rows deleted from the end)",
                checkpoint.seq
            ),
        ));
    }
    if let Some(head) = recorded.next() {
        let end = match prev {
            None => "the log is empty".to_owned(),
            Some((p, _)) => format!("the log ends at row {p}"),
        };
        return Err(ChainBreak::new(
            report.head_seq.saturating_add(1),
            BreakKind::Truncated,
            format!("missing: {end}, but it reached the recorded head {head} (rows deleted from the end)"),
        ));
    }

    Ok(report)
}

fn check_signature(key: &VerifyingKey, checkpoint: &Checkpoint) -> Result<(), ChainBreak> {
    key.verify_checkpoint(checkpoint).map_err(|e| match e {
        AuditError::WrongKey { checkpoint_key_id, .. } => ChainBreak::new(
            checkpoint.seq,
            BreakKind::CheckpointWrongKey,
            format!(
                "checkpoint is signed by key {checkpoint_key_id}, not by the verifying key {}",
                key.key_id()
            ),
        ),
        _ => ChainBreak::new(
            checkpoint.seq,
            BreakKind::CheckpointBadSignature,
            "checkpoint signature does not verify (forged checkpoint)",
        ),
    })
}
