//! `flotilla`: run a fleet of sandboxed WebAssembly trading bots.

use anyhow::Result;
use clap::{Parser, Subcommand};
use flotilla::commands;
use std::path::PathBuf;

/// Flotilla: a host for fleets of sandboxed WebAssembly trading bots.
#[derive(Parser, Debug)]
#[command(name = "flotilla", version, about)]
struct Cli {
    /// Log format on stderr: `text` (no colours unless stderr is a terminal) or `json`
    /// (one object per line, with the bot and tick spans).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// How logs are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// JSON lines.
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the fleet (bundled registry, bundled bots, simulator and paper broker by default).
    Run(commands::RunArgs),
    /// Replay the fleet over recorded bars (or the simulator) and report.
    Backtest(flotilla::backtest::BacktestArgs),
    /// Tune one bot's params over a grid or a random sample, optionally walk-forward.
    Optimize(flotilla::optimize::OptimizeArgs),
    /// Build, check and backtest a bot project, again on every save.
    Dev(flotilla::dev::DevArgs),
    /// Create a buildable bot project (Rust, Python or JavaScript) from a template.
    New(flotilla::new::NewArgs),
    /// Run a loopback fake venue (fake-alpaca | fake-binance) for a rehearsal or tests.
    Venue(flotilla::fake::VenueArgs),
    /// Validate a registry and load every bot in it; lists every problem.
    Check {
        /// Registry file (default: ./config/fleet.toml, else the bundled one).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Compiled-component cache directory, shared with `run`: Python and JavaScript
        /// components take seconds to compile, milliseconds to load from here.
        #[arg(long, default_value = ".flotilla/cache")]
        cache_dir: PathBuf,
    },
    /// Ask a running fleet to reload its registry and changed bots (also: SIGHUP).
    Reload {
        /// Ledger file of the running fleet.
        #[arg(long, default_value = "flotilla.db")]
        db: PathBuf,
    },
    /// Halt the running fleet: no bot orders, only host-managed exits.
    Halt(StateArgs),
    /// Let the running fleet only shrink positions.
    Reduce(StateArgs),
    /// Return the running fleet to normal trading.
    Resume(StateArgs),
    /// The latest capital allocation per bot and why, from the ledger.
    Allocations {
        /// Ledger file.
        #[arg(long, default_value = "flotilla.db")]
        db: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Orders with their state history, newest first, read from a ledger.
    Orders {
        /// Ledger file.
        #[arg(long, default_value = "flotilla.db")]
        db: PathBuf,
        /// Only working orders (not filled, canceled, rejected or expired).
        #[arg(long)]
        open: bool,
        /// Only this bot's orders.
        #[arg(long)]
        bot: Option<String>,
        /// At most this many (0: all).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
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

/// Options of `halt`, `reduce` and `resume`.
#[derive(clap::Args, Debug)]
struct StateArgs {
    /// Ledger file of the running fleet.
    #[arg(long, default_value = "flotilla.db")]
    db: PathBuf,
    /// Why (kept in the audit trail).
    #[arg(long, default_value = "from the CLI")]
    reason: String,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("FLOTILLA_LOG")
        .unwrap_or_else(|_| "warn,flotilla=info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
        LogFormat::Text => {
            use std::io::IsTerminal;
            builder.with_ansi(std::io::stderr().is_terminal()).init()
        }
    }
    match cli.command {
        Command::Run(args) => commands::run(args),
        Command::New(args) => flotilla::new::command(args),
        Command::Venue(args) => flotilla::fake::command(args),
        Command::Check { config, cache_dir } => commands::check(config, cache_dir),
        Command::Backtest(args) => flotilla::backtest::command(args),
        Command::Optimize(args) => flotilla::optimize::command(args),
        Command::Dev(args) => flotilla::dev::command(args),
        Command::Status { db, json } => commands::status(&db, json),
        Command::Reload { db } => commands::reload(&db),
        Command::Halt(a) => commands::set_state(&a.db, "halt", &a.reason),
        Command::Reduce(a) => commands::set_state(&a.db, "reduce", &a.reason),
        Command::Resume(a) => commands::set_state(&a.db, "resume", &a.reason),
        Command::Allocations { db, json } => commands::allocations(&db, json),
        Command::Orders {
            db,
            open,
            bot,
            limit,
            json,
        } => commands::orders(&db, open, bot, limit, json),
    }
}
