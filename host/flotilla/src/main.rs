//! `flotilla`: run a fleet of sandboxed WebAssembly trading bots.

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

mod clock;

/// Flotilla: a host for fleets of sandboxed WebAssembly trading bots.
#[derive(Parser, Debug)]
#[command(name = "flotilla", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the fleet: bundled registry, simulator and paper broker unless told otherwise.
    Run(RunArgs),
    /// Validate a registry and load every bot in it.
    Check {
        /// Registry file (default: config/fleet.toml, else the bundled one).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Show per-bot results from a ledger.
    Status {
        /// Ledger file.
        #[arg(long, default_value = "flotilla.db")]
        db: PathBuf,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
}

/// Options of `flotilla run`.
#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Registry file (default: config/fleet.toml, else the bundled one).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 2880.0)]
    speed: f64,
    /// How much simulated time to run, e.g. `1d`, `6h30m`.
    #[arg(long, default_value = "1d")]
    duration: String,
    /// Ledger file.
    #[arg(long, default_value = "flotilla.db")]
    db: PathBuf,
}

fn main() -> Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
