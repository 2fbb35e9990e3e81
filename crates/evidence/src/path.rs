//! Which file names a bundle may contain.
//!
//! The names end up in three places that each have their own hazards: the zip (where `../x` or
//! `/etc/x` would escape the extraction directory, "zip slip"), `SHA256SUMS` (where `sha256sum`
//! escapes names with backslashes or newlines, so the line would no longer be the plain form) and
//! shell commands in `VERIFY.md`. Allowing only a small, boring alphabet makes all three safe and
//! keeps names identical on Windows and macOS.

use std::collections::HashMap;

use crate::EvidenceError;

/// Longest name accepted: well inside Windows' 260-character path limit once extracted.
const MAX_LEN: usize = 160;

/// Checks that `path` is a relative name of `/`-separated segments made of ASCII letters, digits,
/// `.`, `_` and `-`, with no empty, `.` or `..` segment.
pub fn check_path(path: &str) -> Result<(), EvidenceError> {
    let unsafe_path = |reason| {
        Err(EvidenceError::UnsafePath {
            path: path.chars().take(MAX_LEN).collect(),
            reason,
        })
    };
    if path.is_empty() {
        return unsafe_path("is empty");
    }
    if path.len() > MAX_LEN {
        return unsafe_path("is longer than 160 characters");
    }
    if path.starts_with('/') {
        return unsafe_path("is absolute: bundle paths are relative, like `populations/entities.csv`");
    }
    if path.contains('\\') {
        return unsafe_path("contains a backslash: use `/` between folders");
    }
    for segment in path.split('/') {
        match segment {
            "" => return unsafe_path("has an empty segment (a leading, trailing or doubled `/`)"),
            "." | ".." => return unsafe_path("has a `.` or `..` segment"),
            _ => {}
        }
    }
    if !path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'))
    {
        return unsafe_path("has a character other than ASCII letters, digits, `.`, `_`, `-` and `/`");
    }
    Ok(())
}

/// The names written so far, compared without letter case, as the files and the folders they
/// create: `a.csv` and `A.csv`, or a file `x` and a file `x/y`, cannot both be extracted.
#[derive(Default)]
pub(crate) struct PathSet {
    /// Lowercased name of every file and folder, mapped to the path that claimed it.
    claimed: HashMap<String, Claim>,
}

struct Claim {
    path: String,
    is_dir: bool,
}

impl PathSet {
    /// Checks `path` and records it, with its folders.
    pub(crate) fn claim(&mut self, path: &str) -> Result<(), EvidenceError> {
        check_path(path)?;
        let lower = path.to_ascii_lowercase();
        if let Some(existing) = self.claimed.get(&lower) {
            return Err(clash(path, &existing.path));
        }
        let folders: Vec<&str> = lower.match_indices('/').map(|(i, _)| &lower[..i]).collect();
        for folder in &folders {
            if let Some(existing) = self.claimed.get(*folder).filter(|c| !c.is_dir) {
                return Err(clash(path, &existing.path));
            }
        }
        for folder in folders {
            self.claimed.entry(folder.to_owned()).or_insert_with(|| Claim {
                path: path.to_owned(),
                is_dir: true,
            });
        }
        self.claimed.insert(
            lower,
            Claim {
                path: path.to_owned(),
                is_dir: false,
            },
        );
        Ok(())
    }
}

fn clash(path: &str, existing: &str) -> EvidenceError {
    EvidenceError::PathClash {
        path: path.to_owned(),
        existing: existing.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(path: &str) -> String {
        match check_path(path) {
            Err(EvidenceError::UnsafePath { reason, .. }) => reason.to_owned(),
            other => panic!("{path:?} should be refused, got {other:?}"),
        }
    }

    #[test]
    fn ordinary_names_pass() {
        for path in [
            "controls.csv",
            "populations/entities.csv",
            "_meta/populations.json",
            "samples/api-tokens.csv",
            "audit/verify_chain.py",
            "a/b/c/d.e.f",
        ] {
            check_path(path).unwrap();
        }
    }

    #[test]
    fn escaping_and_mangled_names_are_refused() {
        assert!(reason("").contains("empty"));
        assert!(reason("/etc/passwd").contains("absolute"));
        assert!(reason("../x.csv").contains(".."));
        assert!(reason("a/../../x.csv").contains(".."));
        assert!(reason("a/./x.csv").contains("`.`"));
        assert!(reason("a\\x.csv").contains("backslash"));
        assert!(reason("..\\x.csv").contains("backslash"));
        assert!(reason("a//x.csv").contains("empty segment"));
        assert!(reason("a/").contains("empty segment"));
        assert!(reason("C:/x.csv").contains("character"));
        assert!(reason("a b.csv").contains("character"));
        assert!(reason("x\n.csv").contains("character"));
        assert!(reason("café.csv").contains("character"));
        assert!(reason(&"a".repeat(161)).contains("longer"));
    }

    #[test]
    fn duplicates_case_variants_and_file_folder_clashes_are_refused() {
        let mut set = PathSet::default();
        set.claim("populations/entities.csv").unwrap();
        set.claim("populations/users.csv").unwrap();
        for path in ["populations/entities.csv", "Populations/Entities.CSV", "populations"] {
            assert!(
                matches!(set.claim(path), Err(EvidenceError::PathClash { .. })),
                "{path}"
            );
        }
        set.claim("report").unwrap();
        assert!(matches!(
            set.claim("report/x.html"),
            Err(EvidenceError::PathClash { .. })
        ));
        // A refused claim leaves nothing behind.
        set.claim("report2/x.html").unwrap();
    }
}
