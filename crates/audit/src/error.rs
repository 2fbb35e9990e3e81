use std::io;
use std::path::PathBuf;

/// Everything that can go wrong with keys and checkpoint signatures.
///
/// Chain problems are not errors of this type: they are findings, reported as
/// [`ChainBreak`](crate::ChainBreak) so the caller can tell "the log was tampered with" apart from
/// "the verifier could not run".
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The key file exists (or should) but cannot be read. The path is kept because the operator
    /// has to fix permissions or configuration on that exact file.
    #[error("cannot read audit key file {}: {source}", path.display())]
    KeyFileUnreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The key file was read but does not hold a usable Ed25519 key in PEM.
    #[error("audit key file {} is not a valid Ed25519 PEM key: {reason}", path.display())]
    KeyFileInvalid { path: PathBuf, reason: String },
    /// The key file could be read, or replaced, by someone other than the server's user (see
    /// [`check_private_key_file`](crate::check_private_key_file)). `problem` says what and how
    /// to fix it.
    #[error("audit key file {} is not private: {problem}", path.display())]
    KeyFileExposed { path: PathBuf, problem: String },
    /// A PEM string given directly (not from a file) is not a usable Ed25519 key.
    #[error("invalid Ed25519 PEM key: {0}")]
    InvalidKey(String),
    /// A freshly generated key (or its `.pub` companion) could not be written.
    #[error("cannot write audit key file {}: {source}", path.display())]
    KeyFileWrite {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The checkpoint's signature does not verify under the key: the checkpoint was forged or
    /// altered.
    #[error("checkpoint at row {seq}: signature does not verify")]
    BadSignature { seq: i64 },
    /// The checkpoint names a different signing key than the one the verifier was given.
    #[error("checkpoint at row {seq}: signed by key {checkpoint_key_id}, but the verifying key is {key_id}")]
    WrongKey {
        seq: i64,
        checkpoint_key_id: String,
        key_id: String,
    },
    /// [`SigningKey::sign_document`](crate::SigningKey::sign_document) was asked to sign a
    /// document that starts like a checkpoint message.
    #[error("refusing to sign a document that starts with `bearing-audit-`: that prefix is reserved for checkpoints")]
    ReservedDocument,
    /// A recorded chain head (`SEQ:HASH`) could not be parsed.
    #[error("invalid chain head `{input}`: {reason}")]
    InvalidHead { input: String, reason: String },
    #[error(transparent)]
    Io(#[from] io::Error),
}
