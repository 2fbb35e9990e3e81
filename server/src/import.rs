//! `bearing import`: read files, check them, apply them, print what changed.

use std::path::PathBuf;
use std::process::ExitCode;

use app::audit::service::AuditSettings;
use app::auth::guard::Caller;
use app::catalog::import::{apply, known_ids, ImportError};
use app::catalog::ImportReport;
use bearing_catalog::import::Limits;
use sqlx::PgPool;

/// The caller for commands run from the command line: `system:cli:<os user>` in the audit log.
pub fn cli_caller() -> Caller {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    Caller::system(&format!("cli:{user}"))
}

/// Imports paths and prints the report, or every problem. Exit code 1 on problems.
pub async fn run_cli(
    pool: &PgPool,
    paths: &[PathBuf],
    dry_run: bool,
    audit: &AuditSettings,
    limits: &Limits,
) -> anyhow::Result<ExitCode> {
    match import_paths(pool, paths, dry_run, audit, &cli_caller(), limits).await {
        Ok(report) => {
            print_report(&report);
            Ok(ExitCode::SUCCESS)
        }
        Err(ImportError::Problems(problems)) => {
            for p in &problems {
                eprintln!("{p}");
            }
            eprintln!("import rejected: {} problem(s); nothing was changed", problems.len());
            Ok(ExitCode::from(1))
        }
        Err(ImportError::Database(err)) => {
            Err(anyhow::Error::new(err).context("the import failed; nothing was changed"))
        }
    }
}

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

fn print_report(r: &ImportReport) {
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
    for c in &r.override_conflicts {
        eprintln!("conflict: {c}");
    }
    for c in &r.overrides_cleared {
        println!("  agreed {c} (the file now says what was edited in Bearing)");
    }
    for (label, items) in [("added", &r.added), ("updated", &r.updated), ("orphaned", &r.orphaned)] {
        for item in items.iter() {
            println!("{label:>9} {item}");
        }
    }
    println!(
        "{}{} added, {} updated, {} unchanged, {} orphaned{}",
        if r.dry_run { "dry run: " } else { "" },
        r.added.len(),
        r.updated.len(),
        r.unchanged.len(),
        r.orphaned.len(),
        if r.dry_run { " (nothing was written)" } else { "" }
    );
}
