//! `bearing evidence export`: the evidence bundle for a period, written to a file from the
//! command line (the same bundle as `GET /api/v1/evidence`, recorded in the audit log as the
//! command-line user).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use app::evidence::{service, EvidenceQuery};
use app::ssr::{AuthSettings, ServerCtx};
use clap::{Args, Subcommand};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::config::DatabaseArgs;
use crate::db::Database;

/// `bearing evidence ...`.
#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Write the SOC 2 evidence bundle (a signed zip) for a period to a file.
    Export(ExportArgs),
}

/// Flags of `bearing evidence export`.
#[derive(Clone, Debug, Args)]
pub struct ExportArgs {
    /// Start of the period (included): a date such as 2026-10-01 (midnight UTC) or an RFC 3339 time.
    #[arg(long)]
    pub from: String,
    /// End of the period (excluded), as `--from`.
    #[arg(long)]
    pub to: String,
    /// The zip to write. Written beside it with the extension `.partial` first and renamed when complete, so
    /// a failed export never leaves a file that looks whole.
    #[arg(long)]
    pub out: PathBuf,
    /// The seed samples are drawn with, chosen by the auditor (default: the period itself).
    #[arg(long)]
    pub sample_seed: Option<String>,
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(flatten)]
    pub audit: crate::config::AuditArgs,
}

/// Runs `bearing evidence ...`.
pub async fn run(command: EvidenceCommand) -> anyhow::Result<ExitCode> {
    match command {
        EvidenceCommand::Export(args) => {
            let audit = args.audit.load(&args.db.data_dir)?;
            let db = Database::open(&args.db, true).await?;
            let ctx = ServerCtx::new(db.pool.clone(), AuthSettings::default(), audit.clone());
            let result = export(&ctx, &args).await;
            let signed = super::sign_checkpoint(&db.pool, &audit).await;
            db.close().await?;
            signed?;
            result
        }
    }
}

async fn export(ctx: &ServerCtx, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let q = EvidenceQuery {
        from: Some(args.from.clone()),
        to: Some(args.to.clone()),
        sample_seed: args.sample_seed.clone(),
    };
    let started = match service::start(ctx, &super::cli_caller(), &q).await {
        Ok(started) => started,
        Err(err) => {
            eprintln!("error: {err}");
            return Ok(ExitCode::from(2));
        }
    };
    let partial = args.out.with_extension("partial");
    let mut file = tokio::fs::File::create(&partial)
        .await
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let mut stream = std::pin::pin!(service::into_stream(started));
    let mut written = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(err) => {
                drop(file);
                let _ = tokio::fs::remove_file(&partial).await;
                anyhow::bail!("the export failed, nothing was written: {err}");
            }
        };
        file.write_all(&chunk)
            .await
            .with_context(|| format!("cannot write {}", partial.display()))?;
        written += chunk.len() as u64;
    }
    file.sync_all().await?;
    drop(file);
    tokio::fs::rename(&partial, &args.out)
        .await
        .with_context(|| format!("cannot rename {} to {}", partial.display(), args.out.display()))?;
    eprintln!(
        "wrote {} ({written} bytes); check it with the commands in its VERIFY.md",
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
