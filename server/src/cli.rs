//! The command line: `bearing serve` (the default), `migrate`, `import`, `token`, `audit`, `evidence`. Each
//! command's flags and work are in its module under [`crate::commands`].

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands::{audit, evidence, import, migrate, serve, token};

/// Bearing: a service catalog wired to your service mesh.
#[derive(Debug, Parser)]
#[command(name = "bearing", version, about)]
pub struct Cli {
    /// How log lines on standard error are written: `text` for people, `json` (one object per
    /// line, with the request's id, route and status) for log shippers.
    #[arg(long, global = true, env = "BEARING_LOG_FORMAT", value_enum, default_value_t)]
    pub log_format: crate::telemetry::LogFormat,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do. Without a command, `serve`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the portal (pages and HTTP API). Applies migrations first.
    Serve(Box<serve::ServeArgs>),
    /// Apply database migrations and exit.
    Migrate(migrate::MigrateArgs),
    /// Import catalog-as-code files (Backstage catalog-info.yaml, Compass compass.yml).
    /// All or nothing: any problem rejects the whole import and changes nothing.
    Import(import::ImportArgs),
    /// API tokens for machines.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// The tamper-evident audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Evidence for auditors.
    #[command(subcommand)]
    Evidence(evidence::EvidenceCommand),
}

/// `serve` with every flag taken from the environment, for when no command is given
/// (cargo-leptos starts the binary without arguments).
#[derive(Debug, Parser)]
struct DefaultServe {
    #[command(flatten)]
    args: serve::ServeArgs,
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let command = cli
        .command
        .unwrap_or_else(|| Command::Serve(Box::new(DefaultServe::parse_from(["bearing"]).args)));
    match command {
        Command::Serve(args) => serve::run(*args).await.map(|()| ExitCode::SUCCESS),
        Command::Migrate(args) => migrate::run(args).await,
        Command::Import(args) => import::run(args).await,
        Command::Token(command) => token::run(command).await,
        Command::Audit(command) => audit::run(command).await,
        Command::Evidence(command) => evidence::run(command).await,
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
