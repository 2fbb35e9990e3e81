//! `bearing import`: read catalog files, check them, apply them (all or nothing), print what
//! changed.

use std::path::PathBuf;
use std::process::ExitCode;

use app::catalog::import::ImportError;
use app::catalog::ImportReport;
use clap::Args;

use crate::config::DatabaseArgs;
use crate::db::Database;
use crate::import::import_paths;

/// Flags of `bearing import`.
#[derive(Clone, Debug, Args)]
pub struct ImportArgs {
    /// Files or directories (searched recursively for *.yaml and *.yml).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,

    /// Check and report what would change, without writing anything.
    #[arg(long, env = "BEARING_IMPORT_DRY_RUN")]
    pub dry_run: bool,

    #[command(flatten)]
    pub limits: crate::config::ImportLimitArgs,

    #[command(flatten)]
    pub db: DatabaseArgs,

    #[command(flatten)]
    pub audit: crate::config::AuditArgs,
}

/// Runs `bearing import`: prints the report, or every problem (exit code 1).
pub async fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let audit = args.audit.load(&args.db.data_dir)?;
    let db = Database::open(&args.db, true).await?;
    let limits = args.limits.limits();
    let result = match import_paths(
        &db.pool,
        &args.paths,
        args.dry_run,
        &audit,
        &super::cli_caller(),
        &limits,
    )
    .await
    {
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
        Err(err @ ImportError::Internal) => Err(err.into()),
    };
    let signed = super::sign_checkpoint(&db.pool, &audit).await;
    db.close().await?;
    signed?;
    result
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
        let (shown, left) = capped(items);
        for item in shown {
            println!("{label:>9} {item}");
        }
        if left > 0 {
            let where_listed = if r.dry_run {
                ""
            } else {
                " (the import's audit log entry lists every one)"
            };
            println!("{label:>9} … and {left} more{where_listed}");
        }
    }
    let (shown, left) = capped(&r.consumers_changed);
    for c in shown {
        println!("consumers changed for {c}: its traffic policy is looked at again (--kuma-policy-mode)");
    }
    if left > 0 {
        println!("consumers changed for {left} more components: their traffic policies are looked at again too");
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

/// Most entities the report names per kind of change: a first import of 100,000 components
/// would otherwise print 200,000 lines. The counts below them are always complete.
const SHOWN_PER_LIST: usize = 50;

/// The first [`SHOWN_PER_LIST`] of `items`, and how many are left out.
fn capped(items: &[String]) -> (&[String], usize) {
    let shown = &items[..items.len().min(SHOWN_PER_LIST)];
    (shown, items.len() - shown.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_list_is_cut_and_says_how_many_it_left_out() {
        let items: Vec<String> = (0..120).map(|i| format!("component:default/c{i}")).collect();
        let (shown, left) = capped(&items);
        assert_eq!(shown.len(), SHOWN_PER_LIST);
        assert_eq!(shown[0], "component:default/c0");
        assert_eq!(left, 120 - SHOWN_PER_LIST);
        let (shown, left) = capped(&items[..3]);
        assert_eq!((shown.len(), left), (3, 0));
    }
}
