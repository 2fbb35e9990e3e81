use std::io;

use bearing_audit::AuditError;

/// Everything that can stop a bundle from being written.
///
/// Path and sampling errors are the caller's mistakes and name the offending input; the others
/// mean the sink (usually the HTTP response) failed, and the bundle is unusable: the caller
/// should abort the export rather than try to continue.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// A file name that could escape the extraction directory, or that some tool would mangle.
    #[error("bundle path `{path}` {reason}")]
    UnsafePath { path: String, reason: &'static str },
    /// The path (or one differing only in letter case, which collides on macOS and Windows) was
    /// already written, or clashes with a directory of the same name.
    #[error("bundle path `{path}` clashes with `{existing}`, already in the bundle")]
    PathClash { path: String, existing: String },
    /// The name of a file that `BundleWriter::finish` writes itself.
    #[error("bundle path `{0}` is reserved: `finish` writes it")]
    ReservedPath(String),
    /// A sampling input that would make the sampling rule ambiguous.
    #[error("cannot draw a sample: {0}")]
    InvalidSample(String),
    /// An exception count for a control `controls.csv` does not list.
    #[error("exception count for unknown control `{0}` (known: {known})", known = crate::controls::known_ids())]
    UnknownControl(String),
    /// Signing `SHA256SUMS` failed.
    #[error("cannot sign SHA256SUMS: {0}")]
    Sign(#[source] AuditError),
    /// A CSV row could not be written: a row with another number of cells than the header, or
    /// the sink failed.
    #[error("writing CSV `{path}`: {source}")]
    Csv {
        path: String,
        #[source]
        source: csv::Error,
    },
    /// The zip writer failed, usually because the sink did.
    #[error("writing the zip archive: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// A value could not be encoded as a JSON line.
    #[error("encoding a JSON line: {0}")]
    Json(#[from] serde_json::Error),
    /// The sink failed.
    #[error("writing the bundle: {0}")]
    Io(#[from] io::Error),
}
