use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::body::{format_timestamp, truncate_to_micros};
use crate::AuditError;

/// First line of every signed checkpoint message. The domain and version make a checkpoint
/// signature useless for anything else the key might ever sign, and let the format change later
/// without old signatures being reinterpreted.
pub const CHECKPOINT_DOMAIN: &[u8] = b"bearing-audit-checkpoint-v1\n";

/// What no document signed with [`SigningKey::sign_document`] may start with. It covers
/// [`CHECKPOINT_DOMAIN`] and any later version of it, so a document signature can never double as
/// a checkpoint signature.
pub const RESERVED_PREFIX: &[u8] = b"bearing-audit-";

/// A signed statement "the row at `seq` has hash `head_hash`", made at `at` by the key `key_id`.
///
/// The hash chain alone only shows that rows agree with each other: anyone who can write the
/// table can recompute every hash. A checkpoint pins the chain's head with a key the database does
/// not hold, so a rewritten chain, or one with rows cut off its end, no longer matches.
///
/// Its JSON form (what `bearing audit checkpoints` prints, one per line, for shipping to a store
/// the database's operators cannot change) has the fields below, hashes and the signature in
/// lowercase hex and `at` in the signed text form:
/// `{"seq":1000,"head_hash":"5a…","at":"2024-05-01T12:00:00.250000Z","key_id":"…","signature":"…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    #[serde(with = "crate::hex_serde")]
    pub head_hash: [u8; 32],
    /// Truncated to microseconds, like entry timestamps, so it survives a `timestamptz` column.
    #[serde(with = "crate::body::timestamp")]
    pub at: OffsetDateTime,
    /// Which key signed it ([`VerifyingKey::key_id`]), so a verifier holding the wrong key says so
    /// instead of reporting a forgery.
    pub key_id: String,
    #[serde(with = "crate::hex_serde")]
    pub signature: [u8; 64],
}

impl Checkpoint {
    /// The exact bytes that were signed (see [`checkpoint_message`]).
    pub fn message(&self) -> Vec<u8> {
        checkpoint_message(self.seq, &self.head_hash, self.at)
    }
}

/// The signed message of a checkpoint, a fixed text so an auditor can rebuild it with `printf`:
///
/// ```text
/// bearing-audit-checkpoint-v1\n
/// <seq in decimal>\n
/// <head_hash as 64 lowercase hex digits>\n
/// <at as RFC 3339 UTC, six fractional digits, Z>
/// ```
///
/// (no newline after the timestamp).
pub fn checkpoint_message(seq: i64, head_hash: &[u8; 32], at: OffsetDateTime) -> Vec<u8> {
    let mut message = CHECKPOINT_DOMAIN.to_vec();
    message.extend_from_slice(format!("{seq}\n{}\n{}", hex::encode(head_hash), format_timestamp(at)).as_bytes());
    message
}

/// Where the public key of the key file at `path` is written: `<path>.pub`.
pub fn public_key_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// Hex SHA-256 of the raw 32-byte public key. An auditor computes the same value from the
/// `.pub` file with `openssl pkey -pubin -in KEY.pub -outform DER | tail -c 32 | sha256sum`.
fn fingerprint_of(key: &ed25519_dalek::VerifyingKey) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The key id is the fingerprint's first 16 hex digits.
fn key_id_of(key: &ed25519_dalek::VerifyingKey) -> String {
    let mut fingerprint = fingerprint_of(key);
    fingerprint.truncate(16);
    fingerprint
}

/// The server's checkpoint signing key (Ed25519).
///
/// Stored as a PKCS#8 PEM file, the format `openssl genpkey -algorithm ed25519` writes, so
/// operators can create, inspect and back it up with standard tools. The secret is zeroed on drop
/// and never printed by `Debug`.
pub struct SigningKey {
    inner: ed25519_dalek::SigningKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("key_id", &self.key_id())
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl SigningKey {
    /// A new random key from the operating system's generator.
    pub fn generate() -> Self {
        Self {
            inner: ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng),
        }
    }

    /// Parses a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pem(pem: &str) -> Result<Self, AuditError> {
        ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
            .map(|inner| Self { inner })
            .map_err(|e| AuditError::InvalidKey(e.to_string()))
    }

    /// Reads a PKCS#8 PEM private key file. Errors name the file.
    pub fn from_pem_file(path: &Path) -> Result<Self, AuditError> {
        let pem = read_key_file(path)?;
        Self::from_pem(&pem).map_err(|e| invalid_file(path, e))
    }

    /// Loads the key at `path`, or creates it if the file does not exist yet, so a fresh install
    /// starts signing without a manual step.
    ///
    /// A new key is written with mode 0600 to a temporary file in the same directory, synced, and
    /// then hard-linked into place, which (unlike a plain rename) never replaces a key another
    /// process created in the meantime: if one appears, that key is loaded instead, so two servers
    /// starting together end up with the same key. Where hard links are not supported it falls
    /// back to a rename.
    ///
    /// `<path>.pub` gets the SPKI PEM public key (written if missing or not matching the key) so
    /// auditors can verify checkpoints with `openssl pkeyutl -verify -rawin`. An existing but
    /// unreadable or invalid key file is an error, never silently replaced: that would orphan every
    /// checkpoint signed so far.
    pub fn load_or_generate(path: &Path) -> Result<Self, AuditError> {
        let key = match fs::metadata(path) {
            Ok(_) => Self::from_pem_file(path)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Self::create_new(path)?,
            Err(source) => {
                return Err(AuditError::KeyFileUnreadable {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        key.ensure_public_file(path)?;
        Ok(key)
    }

    fn create_new(path: &Path) -> Result<Self, AuditError> {
        let write_err = |source| AuditError::KeyFileWrite {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(write_err)?;
        }
        let key = Self::generate();
        let pem = key
            .inner
            .to_pkcs8_pem(LineEnding::LF)
            .expect("an Ed25519 key always encodes as PKCS#8");
        let tmp = write_temp(path, pem.as_bytes(), 0o600).map_err(write_err)?;
        let placed = match fs::hard_link(&tmp, path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(_) => fs::rename(&tmp, path).map(|()| true),
        };
        // Gone already after a successful rename; otherwise the temporary name must not linger.
        let _ = fs::remove_file(&tmp);
        if !placed.map_err(write_err)? {
            // Another process created the key first: use that one.
            return Self::from_pem_file(path);
        }
        sync_parent(path).map_err(write_err)?;
        Ok(key)
    }

    fn ensure_public_file(&self, path: &Path) -> Result<(), AuditError> {
        let pub_path = public_key_path(path);
        let pem = self.public_key_pem();
        if fs::read_to_string(&pub_path).is_ok_and(|existing| existing == pem) {
            return Ok(());
        }
        let write_err = |source| AuditError::KeyFileWrite {
            path: pub_path.clone(),
            source,
        };
        let tmp = write_temp(&pub_path, pem.as_bytes(), 0o644).map_err(write_err)?;
        if let Err(source) = fs::rename(&tmp, &pub_path) {
            let _ = fs::remove_file(&tmp);
            return Err(write_err(source));
        }
        sync_parent(&pub_path).map_err(write_err)
    }

    /// The public half, for verification.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey {
            inner: self.inner.verifying_key(),
        }
    }

    /// The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`), the form `openssl` reads.
    pub fn public_key_pem(&self) -> String {
        self.verifying_key().public_key_pem()
    }

    /// First 16 hex digits of SHA-256 of the raw 32-byte public key; see [`VerifyingKey::key_id`].
    pub fn key_id(&self) -> String {
        self.verifying_key().key_id()
    }

    /// SHA-256 of the raw public key, 64 hex digits; see [`VerifyingKey::fingerprint`].
    pub fn fingerprint(&self) -> String {
        self.verifying_key().fingerprint()
    }

    /// Signs "row `seq` has hash `head_hash`" at time `at` (truncated to microseconds so the stored
    /// checkpoint still verifies after a round trip through the database).
    pub fn sign_checkpoint(&self, seq: i64, head_hash: [u8; 32], at: OffsetDateTime) -> Checkpoint {
        let at = truncate_to_micros(at);
        let signature = self.inner.sign(&checkpoint_message(seq, &head_hash, at)).to_bytes();
        Checkpoint {
            seq,
            head_hash,
            at,
            key_id: self.key_id(),
            signature,
        }
    }

    /// Signs an arbitrary document with the checkpoint key, e.g. the `SHA256SUMS` list of an
    /// evidence bundle, so that an auditor checks it with the same public key as the checkpoints:
    /// `openssl pkeyutl -verify -pubin -inkey KEY.pub -rawin -in DOC -sigfile DOC.sig` (plain
    /// Ed25519 over the document's bytes, the 64-byte signature as is).
    ///
    /// A document that starts with [`RESERVED_PREFIX`] is refused: checkpoint messages start that
    /// way, and whoever chooses a document's bytes must never obtain a valid checkpoint signature
    /// for a chain head of their choosing.
    pub fn sign_document(&self, document: &[u8]) -> Result<[u8; 64], AuditError> {
        if document.starts_with(RESERVED_PREFIX) {
            return Err(AuditError::ReservedDocument);
        }
        Ok(self.inner.sign(document).to_bytes())
    }
}

/// The public key checkpoints are verified with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VerifyingKey {
    inner: ed25519_dalek::VerifyingKey,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey").field("key_id", &self.key_id()).finish()
    }
}

impl VerifyingKey {
    /// Parses an SPKI PEM public key (`-----BEGIN PUBLIC KEY-----`), as in `<key>.pub` or the
    /// output of `openssl pkey -pubout`.
    pub fn from_pem(pem: &str) -> Result<Self, AuditError> {
        ed25519_dalek::VerifyingKey::from_public_key_pem(pem)
            .map(|inner| Self { inner })
            .map_err(|e| AuditError::InvalidKey(e.to_string()))
    }

    /// Reads an SPKI PEM public key file. Errors name the file.
    pub fn from_pem_file(path: &Path) -> Result<Self, AuditError> {
        let pem = read_key_file(path)?;
        Self::from_pem(&pem).map_err(|e| invalid_file(path, e))
    }

    /// The public key as SPKI PEM.
    pub fn public_key_pem(&self) -> String {
        self.inner
            .to_public_key_pem(LineEnding::LF)
            .expect("an Ed25519 public key always encodes as SPKI")
    }

    /// First 16 hex digits of SHA-256 of the raw 32-byte public key: short enough to print and
    /// store on every checkpoint, long enough that two keys of one installation never collide.
    pub fn key_id(&self) -> String {
        key_id_of(&self.inner)
    }

    /// SHA-256 of the raw 32-byte public key as 64 lowercase hex digits; [`key_id`](Self::key_id)
    /// is its first 16. Shown by the server and `bearing audit verify` so that an auditor can
    /// compare it with the fingerprint of the public key they were given:
    /// `openssl pkey -pubin -in KEY.pub -outform DER | tail -c 32 | sha256sum`.
    pub fn fingerprint(&self) -> String {
        fingerprint_of(&self.inner)
    }

    /// Checks that `checkpoint` was signed by this key over its own `seq`, `head_hash` and `at`.
    ///
    /// A checkpoint naming another key gives [`AuditError::WrongKey`] (the verifier may just have
    /// been given the wrong key); a signature that does not verify gives
    /// [`AuditError::BadSignature`]. Strict verification rejects malleable signatures.
    pub fn verify_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), AuditError> {
        let key_id = self.key_id();
        if checkpoint.key_id != key_id {
            return Err(AuditError::WrongKey {
                seq: checkpoint.seq,
                checkpoint_key_id: checkpoint.key_id.clone(),
                key_id,
            });
        }
        let signature = Signature::from_bytes(&checkpoint.signature);
        self.inner
            .verify_strict(&checkpoint.message(), &signature)
            .map_err(|_| AuditError::BadSignature { seq: checkpoint.seq })
    }
}

fn read_key_file(path: &Path) -> Result<Zeroizing<String>, AuditError> {
    fs::read_to_string(path)
        .map(Zeroizing::new)
        .map_err(|source| AuditError::KeyFileUnreadable {
            path: path.to_owned(),
            source,
        })
}

fn invalid_file(path: &Path, error: AuditError) -> AuditError {
    let reason = match error {
        AuditError::InvalidKey(reason) => reason,
        other => other.to_string(),
    };
    AuditError::KeyFileInvalid {
        path: path.to_owned(),
        reason,
    }
}

/// Writes `contents` to a new, uniquely named file next to `target`, created with `mode` (so a
/// secret is never readable by others, not even briefly) and synced to disk.
fn write_temp(target: &Path, contents: &[u8], mode: u32) -> io::Result<PathBuf> {
    let mut name = target.as_os_str().to_owned();
    let nonce: u64 = rand_core::RngCore::next_u64(&mut rand_core::OsRng);
    name.push(format!(".tmp-{}-{nonce:016x}", std::process::id()));
    let tmp = PathBuf::from(name);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let result = options.open(&tmp).and_then(|mut file| {
        file.write_all(contents)?;
        file.sync_all()
    });
    match result {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Makes the new directory entry durable, so a crash right after creating the key cannot lose
/// the key while checkpoints signed with it survive in the database.
fn sync_parent(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}
