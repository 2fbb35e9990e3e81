//! The YAML files of a configuration directory (policy templates, scorecards), listed and read
//! within bounds; each caller turns the errors into its own messages.

use std::io::Read;
use std::path::{Path, PathBuf};

/// Why a directory could not be listed.
#[derive(Debug)]
pub enum DirError {
    /// Listing failed.
    Io(std::io::Error),
    /// More than the allowed number of YAML files.
    TooMany,
}

/// The `.yaml`/`.yml` files of `dir` (not dot-files, not directories), sorted; at most `max`.
pub fn yaml_files(dir: &Path, max: usize) -> Result<Vec<PathBuf>, DirError> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(DirError::Io)? {
        let path = entry.map_err(DirError::Io)?.path();
        let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let yaml = file_name.ends_with(".yaml") || file_name.ends_with(".yml");
        if yaml && !file_name.starts_with('.') && path.is_file() {
            paths.push(path);
            if paths.len() > max {
                return Err(DirError::TooMany);
            }
        }
    }
    paths.sort();
    Ok(paths)
}

/// Why a file could not be read as text.
#[derive(Debug)]
pub enum ReadError {
    /// Opening or reading failed.
    Io(std::io::Error),
    /// Larger than the allowed size (only that much plus one byte was read).
    TooLarge,
    /// Not UTF-8 text.
    NotUtf8,
}

/// The UTF-8 text of `path`, reading at most `max_bytes` (plus one, to tell it is larger).
pub fn read_text(path: &Path, max_bytes: u64) -> Result<String, ReadError> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(ReadError::Io)?
        .take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > max_bytes {
        return Err(ReadError::TooLarge);
    }
    String::from_utf8(bytes).map_err(|_| ReadError::NotUtf8)
}
