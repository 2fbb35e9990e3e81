//! Importing catalog files from disk: read within the limits (off the async workers), check,
//! apply all or nothing. Used by `bearing import` and by `bearing serve --seed-catalog`.

use std::path::PathBuf;

use app::auth::guard::Caller;
use app::catalog::import::{apply, known_ids, ImportError};
use app::catalog::ImportReport;
use app::ssr::AuditSettings;
use bearing_catalog::import::Limits;
use sqlx::PgPool;

/// Parses and applies files and directories, reading within `limits`.
pub async fn import_paths(
    pool: &PgPool,
    paths: &[PathBuf],
    dry_run: bool,
    audit: &AuditSettings,
    caller: &Caller,
    limits: &Limits,
) -> Result<ImportReport, ImportError> {
    let known = known_ids(pool).await?;
    // Directories given are read completely: a file that vanished from one orphans its entities.
    let scanned: Vec<String> = paths
        .iter()
        .filter(|p| p.is_dir())
        .filter_map(|p| p.canonicalize().ok())
        .filter_map(|p| p.to_str().map(str::to_owned))
        .collect();
    let (paths, limits) = (paths.to_vec(), limits.clone());
    // Reading and parsing is blocking file I/O and CPU work, bounded by `limits`.
    let started = std::time::Instant::now();
    let set = tokio::task::spawn_blocking(move || bearing_catalog::import::import_paths(&paths, &known, &limits))
        .await
        .map_err(|e| ImportError::Problems(vec![format!("the importer crashed: {e}")]))??;
    let parsed = started.elapsed();
    let (files, entities) = (set.sources.len(), set.entities.len());
    let report = apply(pool, set, &scanned, dry_run, audit, caller).await?;
    tracing::info!(
        import.files = files,
        import.entities = entities,
        import.parse_ms = parsed.as_millis() as u64,
        import.write_ms = (started.elapsed() - parsed).as_millis() as u64,
        "import checked and written"
    );
    Ok(report)
}
