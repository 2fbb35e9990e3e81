//! How much a catalog import reads (`bearing serve` for `POST /api/v1/import`, and `bearing import`).

use bearing_catalog::import::Limits;
use bytesize::ByteSize;
use clap::Args;

/// The deployment's import limits; the structural ones (a million nodes, 64 levels, aliases)
/// are fixed in `bearing-catalog`.
#[derive(Clone, Debug, Args)]
pub struct ImportLimitArgs {
    /// Largest catalog file (or `POST /api/v1/import` body) an import reads, such as `16MiB`,
    /// `500KB` or `1048576` (bytes). What bounds an import's memory and time is its node budget
    /// (a million YAML nodes per file, aliases expanded); this spares reading what cannot fit.
    #[arg(long, env = "BEARING_IMPORT_MAX_FILE_SIZE", default_value = "16MiB", value_parser = parse_size)]
    pub import_max_file_size: u64,
}

impl ImportLimitArgs {
    /// The limits an import runs with.
    pub fn limits(&self) -> Limits {
        Limits {
            max_file_bytes: self.import_max_file_size,
            ..Limits::default()
        }
    }
}

impl Default for ImportLimitArgs {
    fn default() -> Self {
        ImportLimitArgs {
            import_max_file_size: Limits::default().max_file_bytes,
        }
    }
}

/// A size such as `16MiB`, `16 MiB`, `500KB` (decimal) or `1048576` (bytes); at least 1 KiB.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let size = text
        .trim()
        .parse::<ByteSize>()
        .map_err(|e| format!("`{text}` is not a size ({e}); write it like 16MiB, 500KB or 1048576"))?;
    if size.as_u64() < 1024 {
        return Err(format!("`{text}` is less than 1 KiB; no catalog file is that small"));
    }
    Ok(size.as_u64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes_with_units() {
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("16 MiB"), Ok(16 << 20));
        assert_eq!(parse_size("1.5 MiB"), Ok(3 << 19));
        assert_eq!(parse_size("500KB"), Ok(500_000));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert!(parse_size("sixteen").unwrap_err().contains("not a size"));
        assert!(parse_size("12").unwrap_err().contains("less than 1 KiB"));
        assert_eq!(ImportLimitArgs::default().limits(), Limits::default());
    }
}
