//! Administrative commands: `bearing token create`, `bearing audit verify` and
//! `bearing audit checkpoints`.

use std::process::ExitCode;

use anyhow::Context;
use app::audit::service::AuditSettings;
use app::auth::TokenRequest;
use app::ssr::{AuthSettings, ServerCtx};
use sqlx::PgPool;

use crate::cli::{AuditVerifyArgs, TokenCreateArgs};

/// Creates a token as the command-line user (an admin by virtue of running the binary against
/// the database) and prints it once.
pub async fn create_token(pool: &PgPool, audit: AuditSettings, args: &TokenCreateArgs) -> anyhow::Result<ExitCode> {
    let ctx = ServerCtx::new(pool.clone(), AuthSettings::default(), audit);
    let request = TokenRequest {
        name: args.name.clone(),
        role: args.role.clone(),
        team: args.team.clone(),
        expires_days: args.expires_days,
    };
    match app::auth::service::create_token(&ctx, &crate::import::cli_caller(), request).await {
        Ok(created) => {
            eprintln!(
                "created token {:?} ({}{}), id {}; it is shown only now:",
                created.info.name,
                created.info.role.as_str(),
                created
                    .info
                    .team
                    .as_deref()
                    .map(|t| format!(" of {t}"))
                    .unwrap_or_default(),
                created.info.id
            );
            println!("{}", created.token);
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            eprintln!("error: {err}");
            Ok(ExitCode::from(2))
        }
    }
}

/// Signs a checkpoint of whatever a command appended, before it exits: no server may run to
/// sign it later, and rows after the last checkpoint could be deleted undetected.
pub async fn sign_checkpoint(pool: &PgPool, audit: &AuditSettings) -> anyhow::Result<()> {
    app::audit::service::checkpoint_if_due(pool, audit)
        .await
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("cannot sign an audit checkpoint: {e}"))
}

/// Verifies the audit chain and checkpoints (and that the chain reaches every `--expect-head`);
/// prints the result, the head to record and the key's fingerprint; exit code 1 when broken.
///
/// With `--public-key` the key comes from the auditor; without it, from the server's own key
/// file, and the output says that this only shows the log agrees with whatever key is there.
pub async fn verify_audit(pool: &PgPool, args: &AuditVerifyArgs) -> anyhow::Result<ExitCode> {
    let (key, source) = match &args.public_key {
        Some(path) => (
            bearing_audit::VerifyingKey::from_pem_file(path)
                .with_context(|| format!("cannot read the public key {}", path.display()))?,
            format!("the public key {}", path.display()),
        ),
        None => {
            let (key, path) = args.audit.load_existing(&args.db.data_dir)?;
            eprintln!(
                "note: trusting the local signing key {}. Anyone who can replace that file, or \
                 rewrite the database and re-sign, passes this check. An auditor verifies with a \
                 copy of the public key kept elsewhere: --public-key FILE",
                path.display()
            );
            (key.verifying_key(), format!("the local signing key {}", path.display()))
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
pub async fn print_checkpoints(pool: &PgPool, since: i64) -> anyhow::Result<ExitCode> {
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
