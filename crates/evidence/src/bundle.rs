//! The zip itself: entries streamed through a SHA-256 hasher, then the signed list of digests.

use std::collections::BTreeMap;
use std::io::{self, Write};

use bearing_audit::SigningKey;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use zip::write::{SimpleFileOptions, StreamWriter};
use zip::{CompressionMethod, ZipWriter};

use crate::info::BundleInfo;
use crate::path::PathSet;
use crate::table::CsvWriter;
use crate::{verify_md, EvidenceError};

/// `sha256sum -c SHA256SUMS` checks every other file against this list.
pub const SHA256SUMS: &str = "SHA256SUMS";
/// The raw 64-byte Ed25519 signature over [`SHA256SUMS`].
pub const SHA256SUMS_SIG: &str = "SHA256SUMS.sig";
/// The public key (SPKI PEM) the signature and the audit checkpoints verify with.
pub const PUBLIC_KEY: &str = "signing-key.pub.pem";
/// The auditor's instructions.
pub const VERIFY_MD: &str = "VERIFY.md";

/// Names that only [`BundleWriter::finish`] writes.
const RESERVED: [&str; 4] = [SHA256SUMS, SHA256SUMS_SIG, PUBLIC_KEY, VERIFY_MD];

/// Writes an evidence bundle as a zip to any [`Write`] sink, such as an HTTP response body.
///
/// The zip is written in streaming mode (sizes and CRCs in data descriptors after each entry), so
/// the sink need not seek and nothing is held back: each entry's bytes go out as they are
/// written, through deflate. What stays in memory is one SHA-256 state and, per finished entry,
/// its name and digest; the bundle, or a whole CSV, never is.
///
/// Entries are written one at a time: the value [`csv`](Self::csv) or [`writer`](Self::writer)
/// returns borrows the bundle, and the entry ends when the next one starts or at
/// [`finish`](Self::finish), which adds `signing-key.pub.pem`, `VERIFY.md`, `SHA256SUMS` (every
/// entry's digest) and `SHA256SUMS.sig`.
///
/// After an error from the sink the archive is unusable: abort the export.
pub struct BundleWriter<W: Write> {
    zip: ZipWriter<StreamWriter<W>>,
    modified: zip::DateTime,
    paths: PathSet,
    digests: BTreeMap<String, [u8; 32]>,
    open: Option<OpenEntry>,
}

/// The entry being written and the hash of what it has received so far.
struct OpenEntry {
    path: String,
    hasher: Sha256,
}

impl<W: Write> BundleWriter<W> {
    /// A bundle whose entries are dated now.
    pub fn new(inner: W) -> Self {
        Self::dated(inner, OffsetDateTime::now_utc())
    }

    /// A bundle whose entries carry `modified` (as UTC, to the second; zip dates before 1980 or
    /// after 2107 become 1980-01-01) as their modification time.
    pub fn dated(inner: W, modified: OffsetDateTime) -> Self {
        Self {
            zip: ZipWriter::new_stream(inner),
            modified: zip_time(modified),
            paths: PathSet::default(),
            digests: BTreeMap::new(),
            open: None,
        }
    }

    /// Starts the entry `path` and returns a writer for its bytes, e.g. for a JSON Lines file.
    ///
    /// `path` must pass [`check_path`](crate::check_path), must not be used already (ignoring
    /// letter case) and must not be one of the names `finish` writes.
    pub fn writer(&mut self, path: &str) -> Result<EntryWriter<'_, W>, EvidenceError> {
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(path)) {
            return Err(EvidenceError::ReservedPath(path.to_owned()));
        }
        // Size unknown up front: ZIP64 fields, so an entry may grow past 4 GiB.
        self.start(path, true)?;
        Ok(EntryWriter { bundle: self })
    }

    /// Writes a whole small entry.
    pub fn file(&mut self, path: &str, bytes: &[u8]) -> Result<(), EvidenceError> {
        self.writer(path)?.write_all(bytes)?;
        Ok(())
    }

    /// Starts the CSV entry `path` with its header row; see [`CsvWriter`] for the format and the
    /// formula neutralisation applied to every cell.
    pub fn csv<I, S>(&mut self, path: &str, header: I) -> Result<CsvWriter<'_, W>, EvidenceError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let entry = self.writer(path)?;
        CsvWriter::new(path, entry, header)
    }

    /// Ends the bundle: writes `signing-key.pub.pem` and `VERIFY.md`, then `SHA256SUMS` (the digest
    /// of every entry, these two included, sorted by path, in the form `sha256sum -c` reads) and
    /// `SHA256SUMS.sig` (`key`'s Ed25519 signature over it), and closes the zip. Returns the sink.
    pub fn finish(mut self, key: &SigningKey, info: &BundleInfo) -> Result<W, EvidenceError> {
        self.close_open();
        let verify_md = verify_md::render(info, &key.verifying_key());
        self.reserved_file(PUBLIC_KEY, key.public_key_pem().as_bytes())?;
        self.reserved_file(VERIFY_MD, verify_md.as_bytes())?;
        self.close_open();
        let sums = sha256sums(&self.digests);
        let signature = key.sign_document(sums.as_bytes()).map_err(EvidenceError::Sign)?;
        self.reserved_file(SHA256SUMS, sums.as_bytes())?;
        self.reserved_file(SHA256SUMS_SIG, &signature)?;
        Ok(self.zip.finish()?.into_inner())
    }

    fn reserved_file(&mut self, path: &str, bytes: &[u8]) -> Result<(), EvidenceError> {
        self.start(path, false)?;
        EntryWriter { bundle: self }.write_all(bytes)?;
        Ok(())
    }

    fn start(&mut self, path: &str, large: bool) -> Result<(), EvidenceError> {
        self.close_open();
        self.paths.claim(path)?;
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .last_modified_time(self.modified)
            .unix_permissions(0o644)
            .large_file(large);
        self.zip.start_file(path, options)?;
        self.open = Some(OpenEntry {
            path: path.to_owned(),
            hasher: Sha256::new(),
        });
        Ok(())
    }

    /// Records the digest of the entry being written, if any. The zip entry itself is closed by
    /// the zip writer when the next one starts.
    fn close_open(&mut self) {
        if let Some(open) = self.open.take() {
            self.digests.insert(open.path, open.hasher.finalize().into());
        }
    }
}

/// The bytes of one entry. Everything written goes into the zip and into the entry's SHA-256.
pub struct EntryWriter<'a, W: Write> {
    bundle: &'a mut BundleWriter<W>,
}

impl<W: Write> EntryWriter<'_, W> {
    /// Writes `value` as one line of JSON (JSON Lines): compact, UTF-8, ending in `\n`.
    pub fn json_line<T: serde::Serialize>(&mut self, value: &T) -> Result<(), EvidenceError> {
        let mut line = serde_json::to_vec(value)?;
        line.push(b'\n');
        self.write_all(&line)?;
        Ok(())
    }
}

impl<W: Write> Write for EntryWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.bundle.zip.write(buf)?;
        if let Some(open) = &mut self.bundle.open {
            open.hasher.update(&buf[..written]);
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.bundle.zip.flush()
    }
}

/// `<64 hex>  <path>\n` per entry, in path order: GNU `sha256sum`'s own output form (two spaces:
/// text mode), which `sha256sum -c` and `shasum -a 256 -c` read. Paths need no escaping because
/// [`check_path`](crate::check_path) allows no backslash or newline.
fn sha256sums(digests: &BTreeMap<String, [u8; 32]>) -> String {
    digests
        .iter()
        .map(|(path, digest)| format!("{}  {path}\n", hex::encode(digest)))
        .collect()
}

fn zip_time(at: OffsetDateTime) -> zip::DateTime {
    let at = at.to_offset(time::UtcOffset::UTC);
    u16::try_from(at.year())
        .ok()
        .and_then(|year| {
            zip::DateTime::from_date_and_time(
                year,
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute(),
                at.second(),
            )
            .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_are_sorted_sha256sum_lines() {
        let mut digests = BTreeMap::new();
        digests.insert("b.csv".to_owned(), [0xbb; 32]);
        digests.insert("a/z.csv".to_owned(), [0xaa; 32]);
        assert_eq!(
            sha256sums(&digests),
            format!("{}  a/z.csv\n{}  b.csv\n", "aa".repeat(32), "bb".repeat(32))
        );
    }

    #[test]
    fn reserved_names_are_refused_to_callers() {
        let mut bundle = BundleWriter::new(Vec::new());
        for name in RESERVED.iter().copied().chain(["sha256sums", "verify.md"]) {
            assert!(
                matches!(bundle.writer(name), Err(EvidenceError::ReservedPath(_))),
                "{name}"
            );
        }
        bundle.file("x.txt", b"x").unwrap();
        assert!(matches!(
            bundle.file("X.TXT", b"y"),
            Err(EvidenceError::PathClash { .. })
        ));
        assert!(matches!(
            bundle.file("../x.txt", b"y"),
            Err(EvidenceError::UnsafePath { .. })
        ));
    }
}
