//! `bearing audit verify` and `bearing audit checkpoints`: checking the tamper-evident log, and
//! shipping its signed checkpoints somewhere the database's operators cannot change them.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use sqlx::PgPool;

use crate::config::DatabaseArgs;
use crate::db::Database;

/// `bearing audit ...`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the whole hash chain and every signed checkpoint; name the first row that does not
    /// verify. Exit code 0 when the log is intact, 1 when it is not.
    Verify(VerifyArgs),
    /// Print the signed checkpoints after a row, one JSON object per line, to keep them
    /// somewhere the database's operators cannot change.
    Checkpoints(CheckpointsArgs),
}

/// Flags of `bearing audit verify`.
#[derive(Clone, Debug, Args)]
pub struct VerifyArgs {
    /// Verify checkpoints with this public key (SPKI PEM, a copy of the `.pub` file beside the
    /// signing key, kept where the database's operators cannot change it). This is how an
    /// auditor verifies; without it the tool trusts the local signing key.
    #[arg(long, env = "BEARING_AUDIT_PUBLIC_KEY")]
    pub public_key: Option<PathBuf>,
    /// A chain head recorded earlier, `SEQ:HASH` (as printed by `audit verify`, or a shipped
    /// checkpoint's `seq` and `head_hash`): fail unless the chain still reaches it. Catches the
    /// newest rows deleted together with their checkpoints. May be given several times.
    #[arg(long, env = "BEARING_AUDIT_EXPECT_HEAD", value_delimiter = ',')]
    pub expect_head: Vec<bearing_audit::ChainHead>,
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(flatten)]
    pub audit: crate::config::AuditArgs,
}

/// Flags of `bearing audit checkpoints`.
#[derive(Clone, Debug, Args)]
pub struct CheckpointsArgs {
    /// Print checkpoints of rows after this one (0: all). Pass the last `seq` shipped to get
    /// only newer ones.
    #[arg(long, env = "BEARING_AUDIT_SINCE", default_value_t = 0)]
    pub since: i64,
    #[command(flatten)]
    pub db: DatabaseArgs,
}

/// Runs `bearing audit ...`.
pub async fn run(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify(args) => {
            let db = Database::open(&args.db, true).await?;
            let result = verify(&db.pool, &args).await;
            db.close().await?;
            result
        }
        AuditCommand::Checkpoints(args) => {
            let db = Database::open(&args.db, true).await?;
            let result = print_checkpoints(&db.pool, args.since).await;
            db.close().await?;
            result
        }
    }
}

/// Verifies the audit chain and checkpoints (and that the chain reaches every `--expect-head`);
/// prints the result, the head to record and the key's fingerprint; exit code 1 when broken.
///
/// With `--public-key` the key comes from the auditor; without it, from the server's own key
/// file, and the output says that this only shows the log agrees with whatever key is there.
async fn verify(pool: &PgPool, args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let (key, source) = match &args.public_key {
        Some(path) => (
            bearing_audit::VerifyingKey::from_pem_file(path)
                .with_context(|| format!("cannot read the public key {}", path.display()))?,
            format!("the public key {}", path.display()),
        ),
        None => {
            let (key, source) = args.audit.load_existing(&args.db.data_dir)?;
            eprintln!(
                "note: trusting the local signing key {source}. Anyone who can replace it, or \
                 rewrite the database and re-sign, passes this check. An auditor verifies with a \
                 copy of the public key kept elsewhere: --public-key FILE"
            );
            (key.verifying_key(), format!("the local signing key {source}"))
        }
    };
    let status = app::audit::service::verify_reaching(pool, &key, &args.expect_head)
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the audit log: {e}"))?;
    println!("key: {source}, SHA-256 fingerprint {}", status.key_fingerprint);
    if !status.ok {
        println!(
            "audit log BROKEN: {}",
            status.problem.unwrap_or_else(|| "unknown problem".into())
        );
        return Ok(ExitCode::from(1));
    }
    println!(
        "audit log intact: {} entries (head #{}), {} signed checkpoints verified (key {})",
        status.entries, status.head_seq, status.checkpoints_verified, status.key_id
    );
    if status.head_seq > 0 {
        println!(
            "head {}:{} (record it; check later with --expect-head)",
            status.head_seq, status.head_hash
        );
    }
    for head in &args.expect_head {
        println!("reaches the recorded head {head}");
    }
    let covered = status.last_checkpoint_seq.unwrap_or(0);
    if covered < status.head_seq {
        println!(
            "rows {} to {} are after the last signed checkpoint: only the hash chain protects them",
            covered + 1,
            status.head_seq
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the checkpoints of rows after `since`, one JSON object per line (the format of
/// [`bearing_audit::Checkpoint`]).
async fn print_checkpoints(pool: &PgPool, since: i64) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    let checkpoints = app::audit::repo::checkpoints_after(pool, since)
        .await
        .context("cannot read the audit checkpoints")?;
    let mut out = std::io::stdout().lock();
    for checkpoint in &checkpoints {
        let line = serde_json::to_string(checkpoint).context("cannot write a checkpoint as JSON")?;
        writeln!(out, "{line}").context("cannot write to standard output")?;
    }
    Ok(ExitCode::SUCCESS)
}
