//! Administrative commands: `bearing token create` and `bearing audit verify`.

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

/// Verifies the audit chain and checkpoints; prints the result; exit code 1 when broken.
pub async fn verify_audit(pool: &PgPool, args: &AuditVerifyArgs) -> anyhow::Result<ExitCode> {
    let key = match &args.public_key {
        Some(path) => bearing_audit::VerifyingKey::from_pem_file(path)
            .with_context(|| format!("cannot read the public key {}", path.display()))?,
        None => args.audit.load(&args.db.data_dir)?.key.verifying_key(),
    };
    let status = app::audit::service::verify(pool, &key)
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the audit log: {e}"))?;
    if status.ok {
        println!(
            "audit log intact: {} entries (head #{}), {} signed checkpoints verified (key {})",
            status.entries, status.head_seq, status.checkpoints_verified, status.key_id
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "audit log BROKEN: {}",
            status.problem.unwrap_or_else(|| "unknown problem".into())
        );
        Ok(ExitCode::from(1))
    }
}
