//! `flotilla`: run a fleet of sandboxed WebAssembly trading bots.

use anyhow::Result;
use clap::{Parser, Subcommand};
use flotilla::commands;
use std::path::PathBuf;

/// Flotilla: a host for fleets of sandboxed WebAssembly trading bots.
#[derive(Parser, Debug)]
#[command(name = "flotilla", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the fleet (bundled registry, bundled bots, simulator and paper broker by default).
    Run(commands::RunArgs),
    /// Validate a registry and load every bot in it; lists every problem.
    Check {
        /// Registry file (default: ./config/fleet.toml, else the bundled one).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Ask a running fleet to reload its registry and changed bots (also: SIGHUP).
    Reload {
        /// Ledger file of the running fleet.
        #[arg(long, default_value = "flotilla.db")]
        db: PathBuf,
    },
    /// Per-bot PnL, positions, trades and recent refusals, read from a ledger.
    Status {
        /// Ledger file.
        #[arg(long, default_value = "flotilla.db")]
        db: PathBuf,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FLOTILLA_LOG")
                .unwrap_or_else(|_| "warn,flotilla=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Run(args) => commands::run(args),
        Command::Check { config } => commands::check(config),
        Command::Status { db, json } => commands::status(&db, json),
        Command::Reload { db } => commands::reload(&db),
    }
}
