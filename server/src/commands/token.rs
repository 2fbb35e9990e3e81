//! `bearing token create`: API tokens for machines, made from the command line.

use std::process::ExitCode;

use app::auth::TokenRequest;
use app::ssr::{AuditSettings, AuthSettings, ServerCtx};
use clap::{Args, Subcommand};
use sqlx::PgPool;

use crate::config::DatabaseArgs;
use crate::db::Database;

/// `bearing token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; it is printed once and stored only as a hash.
    Create(CreateArgs),
}

/// Flags of `bearing token create`.
#[derive(Clone, Debug, Args)]
pub struct CreateArgs {
    /// A name that says what uses the token (shown to admins and in the audit log).
    #[arg(long, env = "BEARING_TOKEN_NAME")]
    pub name: String,
    /// viewer, producer, lead, auditor or admin.
    #[arg(long, env = "BEARING_TOKEN_ROLE")]
    pub role: String,
    /// For lead tokens: the team (catalog Group) it leads.
    #[arg(long, env = "BEARING_TOKEN_TEAM")]
    pub team: Option<String>,
    /// For producer tokens: a team (`team-payments`) or component (`component:default/checkout`)
    /// it may report on; repeat for more.
    #[arg(long = "scope", env = "BEARING_TOKEN_SCOPES", value_delimiter = ',')]
    pub scopes: Vec<String>,
    /// Days until the token expires (1 to 3650; default 90).
    #[arg(long, env = "BEARING_TOKEN_EXPIRES_DAYS")]
    pub expires_days: Option<u32>,
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(flatten)]
    pub audit: crate::config::AuditArgs,
}

/// Runs `bearing token ...`.
pub async fn run(command: TokenCommand) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::Create(args) => {
            let audit = args.audit.load(&args.db.data_dir)?;
            let db = Database::open(&args.db, true).await?;
            let result = create(&db.pool, audit.clone(), &args).await;
            let signed = super::sign_checkpoint(&db.pool, &audit).await;
            db.close().await?;
            signed?;
            result
        }
    }
}

/// Creates a token as the command-line user (an admin by virtue of running the binary against
/// the database) and prints it once.
async fn create(pool: &PgPool, audit: AuditSettings, args: &CreateArgs) -> anyhow::Result<ExitCode> {
    let ctx = ServerCtx::new(pool.clone(), AuthSettings::default(), audit);
    let request = TokenRequest {
        name: args.name.clone(),
        role: args.role.clone(),
        team: args.team.clone(),
        expires_days: args.expires_days,
        scopes: args.scopes.clone(),
    };
    match app::auth::service::create_token(&ctx, &super::cli_caller(), request).await {
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
