//! `bearing migrate`: apply the database migrations and exit.

use std::process::ExitCode;

use clap::Args;

use crate::config::DatabaseArgs;
use crate::db::Database;

/// Flags of `bearing migrate`.
#[derive(Clone, Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
}

/// Runs `bearing migrate`.
pub async fn run(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    Database::migrate(&args.db).await?;
    println!("migrations applied");
    Ok(ExitCode::SUCCESS)
}
