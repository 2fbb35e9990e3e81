//! Bearing's tamper-evident audit log, as pure logic.
//!
//! The database stores the rows; this crate decides what a row's hash is, how rows link into a
//! chain, what a signed checkpoint says, and how a chain is checked. The server (when it appends)
//! and `bearing audit verify` (when it checks) both use this code, so the two can never disagree
//! about the format. There is no database code here.
//!
//! The format, in short (see the crate's README.md for the auditor's view):
//!
//! * Each row's [`EntryBody`] is serialized canonically ([`canonical_bytes`]: RFC 8785 JSON
//!   Canonicalization Scheme, timestamps as RFC 3339 UTC with exactly six fractional digits).
//! * A row's hash is `SHA-256(prev_hash || canonical_bytes(body))` ([`entry_hash`]); the first row's
//!   `prev_hash` is [`GENESIS`]. Editing, deleting, inserting or reordering rows breaks the links.
//! * Anyone with database write access could recompute the whole chain, so the server
//!   periodically signs the head of the chain with an Ed25519 key ([`Checkpoint`]). A rewritten or
//!   truncated chain no longer matches the signed checkpoints.
//! * [`verify_chain`] walks the rows as a stream and names the first offending row.

mod body;
mod error;
mod hex_serde;
mod keys;
#[cfg(unix)]
mod private_file;
mod verify;

pub use body::{canonical_bytes, entry_hash, format_timestamp, truncate_to_micros, EntryBody, StoredEntry, GENESIS};
pub use error::AuditError;
pub use keys::{
    checkpoint_message, public_key_path, Checkpoint, SigningKey, VerifyingKey, CHECKPOINT_DOMAIN, RESERVED_PREFIX,
};
#[cfg(unix)]
pub use private_file::check_private_key_file;
pub use verify::{verify_chain, verify_chain_reaching, BreakKind, ChainBreak, ChainHead, ChainReport};
