//! The command line: `bearing serve` (the default), `bearing migrate`, `bearing import`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::DatabaseArgs;
use crate::db::Database;

/// Bearing: a service catalog wired to your service mesh.
#[derive(Debug, Parser)]
#[command(name = "bearing", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do. Without a command, `serve`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the portal (pages and HTTP API). Applies migrations first.
    Serve(Box<ServeArgs>),
    /// Apply database migrations and exit.
    Migrate(MigrateArgs),
    /// Import catalog-as-code files (Backstage catalog-info.yaml, Compass compass.yml).
    /// All or nothing: any problem rejects the whole import and changes nothing.
    Import(ImportArgs),
    /// API tokens for machines.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
}

/// `bearing token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; it is printed once and stored only as a hash.
    Create(TokenCreateArgs),
}

/// Flags of `bearing token create`.
#[derive(Clone, Debug, Args)]
pub struct TokenCreateArgs {
    /// A name that says what uses the token (shown to admins and in the audit log).
    #[arg(long, env = "BEARING_TOKEN_NAME")]
    pub name: String,
    /// viewer, lead, auditor or admin.
    #[arg(long, env = "BEARING_TOKEN_ROLE")]
    pub role: String,
    /// For lead tokens: the team (catalog Group) it leads.
    #[arg(long, env = "BEARING_TOKEN_TEAM")]
    pub team: Option<String>,
    /// Days until the token expires (1 to 3650; default 90).
    #[arg(long, env = "BEARING_TOKEN_EXPIRES_DAYS")]
    pub expires_days: Option<u32>,
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(flatten)]
    pub audit: crate::config::AuditArgs,
}

/// `bearing audit ...`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the whole hash chain and every signed checkpoint; name the first row that does not
    /// verify. Exit code 0 when the log is intact, 1 when it is not.
    Verify(AuditVerifyArgs),
    /// Print the signed checkpoints after a row, one JSON object per line, to keep them
    /// somewhere the database's operators cannot change.
    Checkpoints(AuditCheckpointsArgs),
}

/// Flags of `bearing audit verify`.
#[derive(Clone, Debug, Args)]
pub struct AuditVerifyArgs {
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
pub struct AuditCheckpointsArgs {
    /// Print checkpoints of rows after this one (0: all). Pass the last `seq` shipped to get
    /// only newer ones.
    #[arg(long, env = "BEARING_AUDIT_SINCE", default_value_t = 0)]
    pub since: i64,
    #[command(flatten)]
    pub db: DatabaseArgs,
}

/// Flags of `bearing serve`.
#[derive(Clone, Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "BEARING_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// Catalog files imported at start when the catalog is empty (e.g. the demo in examples/).
    #[arg(long, env = "BEARING_SEED_CATALOG")]
    pub seed_catalog: Option<PathBuf>,

    /// Directory with the built site (pkg/ with wasm, JS and CSS). Defaults to cargo-leptos'
    /// `target/site`.
    #[arg(long, env = "BEARING_SITE_ROOT")]
    pub site_root: Option<PathBuf>,

    #[command(flatten)]
    pub db: DatabaseArgs,

    #[command(flatten)]
    pub auth: crate::config::AuthArgs,

    #[command(flatten)]
    pub audit: crate::config::AuditArgs,

    #[command(flatten)]
    pub kuma: crate::config::KumaArgs,

    #[command(flatten)]
    pub pages: crate::config::PageCacheArgs,

    #[command(flatten)]
    pub metrics: crate::config::MetricsArgs,

    #[command(flatten)]
    pub import: crate::config::ImportLimitArgs,
}

/// Flags of `bearing migrate`.
#[derive(Clone, Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
}

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

/// `serve` with every flag taken from the environment, for when no command is given
/// (cargo-leptos starts the binary without arguments).
#[derive(Debug, Parser)]
struct DefaultServe {
    #[command(flatten)]
    args: ServeArgs,
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let command = cli
        .command
        .unwrap_or_else(|| Command::Serve(Box::new(DefaultServe::parse_from(["bearing"]).args)));
    match command {
        Command::Serve(args) => crate::startup::serve(*args).await.map(|()| ExitCode::SUCCESS),
        Command::Migrate(args) => {
            Database::migrate(&args.db).await?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(TokenCommand::Create(args)) => {
            let audit = args.audit.load(&args.db.data_dir)?;
            let db = Database::open(&args.db, true).await?;
            let result = crate::admin::create_token(&db.pool, audit.clone(), &args).await;
            let signed = crate::admin::sign_checkpoint(&db.pool, &audit).await;
            db.close().await?;
            signed?;
            result
        }
        Command::Audit(AuditCommand::Verify(args)) => {
            let db = Database::open(&args.db, true).await?;
            let result = crate::admin::verify_audit(&db.pool, &args).await;
            db.close().await?;
            result
        }
        Command::Audit(AuditCommand::Checkpoints(args)) => {
            let db = Database::open(&args.db, true).await?;
            let result = crate::admin::print_checkpoints(&db.pool, args.since).await;
            db.close().await?;
            result
        }
        Command::Import(args) => {
            let audit = args.audit.load(&args.db.data_dir)?;
            let db = Database::open(&args.db, true).await?;
            let limits = args.limits.limits();
            let result = crate::import::run_cli(&db.pool, &args.paths, args.dry_run, &audit, &limits).await;
            let signed = crate::admin::sign_checkpoint(&db.pool, &audit).await;
            db.close().await?;
            signed?;
            result
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_flag_reads_an_environment_variable() {
        for sub in Cli::command().get_subcommands() {
            for arg in sub.get_arguments() {
                if arg.is_positional() || ["help", "version"].contains(&arg.get_id().as_str()) {
                    continue;
                }
                let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
                assert!(
                    env.as_deref().is_some_and(|e| e.starts_with("BEARING_")),
                    "`bearing {} --{}` has no BEARING_ environment variable",
                    sub.get_name(),
                    arg.get_id()
                );
            }
        }
    }
}
