//! `flotilla backtest`: the same bots, risk chain, exits and allocator as live, replayed
//! over recorded bars on a simulated clock, deterministically.
//!
//! The clock jumps from event to event: the next bar close or the next bot run, whichever
//! comes first. Bots see only closed bars; with next-open fills their orders fill at the
//! open of the symbol's next bar, so nothing a bot decides can use the bar it has not seen.

use crate::fleet::{Fleet, FleetOptions};
use crate::replay::{Due, Replay, lock};
use anyhow::{Context, Result, bail};
use flotilla_backtest::{
    BarEvent, DataFile, FillMode, LoadOptions, LoadedSeries, ReportInput, RunParams, TimeRange,
    TradeTracker, load_csv, merge,
};
use flotilla_broker::PaperConfig;
use flotilla_config::Registry;
use flotilla_domain::{Decimal, Symbol, Timeframe, Timestamp};
use flotilla_market::{BarStore, SimConfig, Simulator, SymbolConfig};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a backtest produced, with its own speed.
pub struct BacktestOutcome {
    /// The report.
    pub report: flotilla_backtest::BacktestReport,
    /// Bars replayed.
    pub bars: u64,
    /// Bot ticks run.
    pub ticks: u64,
    /// Calls into bots for those ticks (fewer than ticks when bots ran quiet ticks in runs).
    pub calls: u64,
    /// Bot calls that failed (trap, deadline, memory, bot error).
    pub failures: u64,
    /// Wall time of the replay (loading and reporting excluded).
    pub elapsed: Duration,
}

/// Loads CSV files, keeps `range`, and merges them in order of close time.
pub fn load_data(
    paths: &[PathBuf],
    range: &TimeRange,
    skip_bad_rows: bool,
) -> Result<(Vec<LoadedSeries>, Vec<BarEvent>)> {
    let opts = LoadOptions {
        skip_bad_rows,
        ..Default::default()
    };
    let mut series = Vec::new();
    for p in paths {
        let mut s = load_csv(p, None, &opts)?;
        for problem in &s.skipped {
            tracing::warn!("skipped {problem}");
        }
        range.apply(&mut s);
        series.push(s);
    }
    let events: Vec<BarEvent> = merge(&series)?.collect();
    if events.is_empty() {
        bail!("no bars to replay in the given files and range");
    }
    Ok((series, events))
}

/// `days` of 1-minute bars from the embedded simulator, as replayable events.
pub fn simulated_events(registry: &Registry, days: u32, seed: u64) -> Result<Vec<BarEvent>> {
    let fleet = registry.fleet_spec().map_err(|e| anyhow::anyhow!("{e}"))?;
    let symbols = SymbolConfig::default_set()
        .into_iter()
        .filter(|s| {
            fleet
                .market
                .symbols
                .iter()
                .any(|m| m.as_str() == s.symbol.as_str())
        })
        .collect();
    let config = SimConfig {
        seed,
        start: fleet.market.start,
        symbols,
        warm_up_minutes: 0,
        ..SimConfig::default()
    };
    let mut sim = Simulator::new(config)?;
    let mut store = BarStore::new();
    let mut events = Vec::new();
    for m in 1..=i64::from(days) * 1_440 {
        let t = fleet.market.start.plus_millis(m * 60_000);
        sim.advance_to(t, &mut store)?;
        for s in &fleet.market.symbols {
            if let Some(bar) = store.bars(s, Timeframe::M1, 1)?.pop() {
                events.push(BarEvent {
                    close_time: t,
                    symbol: s.clone(),
                    timeframe: Timeframe::M1,
                    bar,
                });
            }
        }
    }
    Ok(events)
}

/// How a replay runs, beyond what its report records.
#[derive(Clone, Debug, Default)]
pub struct ReplayOptions {
    /// Compiled-component cache directory.
    pub cache_dir: Option<PathBuf>,
    /// Also write every decision to this SQLite ledger (slower); without, the replay keeps
    /// what the report needs in memory.
    pub ledger: Option<PathBuf>,
    /// Call `on-tick` once per tick instead of letting a bot run its quiet ticks in one
    /// `on-ticks` call. Slower; the results are the same.
    pub tick_by_tick: bool,
    /// The engine, components and scheduled bars, shared with other replays of the same
    /// events (parameter optimization); `None` loads and schedules them for this run.
    pub shared: Option<Arc<crate::shared::SharedReplay>>,
    /// No progress line (runs of an optimization show their own).
    pub quiet: bool,
}

/// Runs `registry`'s bots over `events`; `params` carry costs, fill mode and seed.
/// With `ledger`, every decision is also written to that SQLite file (slower); without,
/// the replay keeps what the report needs in memory.
pub fn run(
    registry: &Registry,
    events: Vec<BarEvent>,
    params: RunParams,
    cache_dir: Option<PathBuf>,
    ledger: Option<PathBuf>,
) -> Result<BacktestOutcome> {
    let opts = ReplayOptions {
        cache_dir,
        ledger,
        tick_by_tick: false,
        shared: None,
        quiet: false,
    };
    run_with(registry, events, params, opts)
}

/// [`run`] with every option.
pub fn run_with(
    registry: &Registry,
    events: Vec<BarEvent>,
    params: RunParams,
    opts: ReplayOptions,
) -> Result<BacktestOutcome> {
    let ReplayOptions {
        cache_dir,
        ledger,
        tick_by_tick,
        shared,
        quiet,
    } = opts;
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        bail!("no bars to replay")
    };
    let (start, end) = (Timestamp(first.bar.time.0), last.close_time);
    let total = events.len() as u64;
    let events_len = events.len();
    let mut registry = registry.clone();
    registry.fleet.market.seed = params.seed;
    registry.fleet.allocator.seed = params.seed;
    registry.fleet.market.start =
        flotilla_config::TimeText(flotilla_backtest::time::fmt_time(start));
    // The data's symbols are the market: add any the registry does not list.
    let mut symbols: Vec<String> = events.iter().map(|e| e.symbol.to_string()).collect();
    symbols.extend(registry.fleet.market.symbols.iter().cloned());
    symbols.sort();
    symbols.dedup();
    registry.fleet.market.symbols = symbols;
    let options = FleetOptions {
        live: None,
        journal_in_memory: ledger.is_none(),
        db: ledger.unwrap_or_else(|| PathBuf::from(":memory:")),
        cache_dir,
        replay: Some(events),
        broker: Some(PaperConfig {
            slippage_bps: params.slippage_bps,
            fee_bps: params.fees_bps,
            min_fee: Decimal::ZERO,
        }),
        fill: params.fill,
        record_quiet_ticks: false,
        shared,
    };
    let fleet = Arc::new(Fleet::build(&registry, &options)?);
    let handles = fleet.handles();
    if handles.is_empty() {
        let why = fleet.core().event_messages("load_failed");
        bail!(
            "no bot could be loaded{}; `flotilla check` lists the problems",
            why.iter().map(|w| format!(": {w}")).collect::<String>()
        );
    }
    let progress = Arc::new(Progress::new(total, !quiet));
    let shown = progress.clone();
    let replay = Arc::new(Mutex::new(Replay::new(
        fleet.clone(),
        start,
        end,
        events_len,
        Box::new(move |bars| shown.show(bars)),
    )));
    let started = Instant::now();
    let mut calls = 0;
    loop {
        let due = lock(&replay).next_due(None)?;
        let Some(Due {
            bot,
            scheduled,
            now,
        }) = due
        else {
            break;
        };
        // One call runs this bot's ticks for as long as nothing else needs the replay.
        let source = (!tick_by_tick).then(|| Replay::source(&replay, bot));
        let summary = fleet.run_ticks(&handles[bot], scheduled, now, source)?;
        calls += 1;
        let mut r = lock(&replay);
        r.ran(&summary);
        if let Some(e) = r.take_error() {
            return Err(e);
        }
    }
    let elapsed = started.elapsed();
    progress.done();
    let failures = handles.iter().map(|h| h.slot().stats.failures).sum();
    // Each run's source went with its call: the replay is the loop's alone again.
    let replay = Arc::into_inner(replay)
        .context("a bot's run still holds the replay")?
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    let core = fleet.core();
    let (fills, refusals) = core.recorded()?;
    let mut tracker = TradeTracker::new();
    for f in &fills {
        tracker.record_fill(f);
    }
    let marks: BTreeMap<Symbol, Decimal> = registry_symbols(&fleet)
        .into_iter()
        .filter_map(|s| fleet.mark(&s).map(|m| (s, m)))
        .collect();
    tracker.close_all(end, &marks, "end_of_data");
    let input = ReportInput {
        params,
        fleet_equity: replay.fleet_equity,
        bot_equity: replay.bot_equity,
        trades: tracker.into_trades(),
        refusals,
    };
    Ok(BacktestOutcome {
        report: input.build(),
        bars: replay.bars,
        ticks: replay.ticks,
        calls,
        failures,
        elapsed,
    })
}

fn registry_symbols(fleet: &Fleet) -> Vec<Symbol> {
    let mut s: Vec<Symbol> = fleet
        .handles()
        .iter()
        .flat_map(|h| h.spec().symbols)
        .collect();
    s.sort();
    s.dedup();
    s
}

/// A progress line on stderr, only when stderr is a terminal.
struct Progress {
    total: u64,
    on: bool,
    last: std::sync::atomic::AtomicU64,
}

impl Progress {
    fn new(total: u64, on: bool) -> Self {
        use std::io::IsTerminal;
        Self {
            total: total.max(1),
            on: on && std::io::stderr().is_terminal(),
            last: std::sync::atomic::AtomicU64::new(0),
        }
    }
    fn show(&self, done: u64) {
        let pct = done * 100 / self.total;
        use std::sync::atomic::Ordering::Relaxed;
        if self.on && pct != self.last.load(Relaxed) {
            self.last.store(pct, Relaxed);
            let filled = (pct / 4) as usize;
            eprint!(
                "\r[{}{}] {pct:>3}% {done}/{} bars",
                "#".repeat(filled),
                " ".repeat(25 - filled),
                self.total
            );
        }
    }
    fn done(&self) {
        if self.on {
            eprintln!();
        }
    }
}

/// Options of `flotilla backtest`.
#[derive(clap::Args, Debug, Clone)]
pub struct BacktestArgs {
    /// Registry file (default: ./config/fleet.toml, else the bundled one).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// CSV files, one per symbol (the symbol is the file name up to the first `_` or `.`).
    #[arg(long, num_args = 1.., required_unless_present = "sim_days")]
    pub data: Vec<PathBuf>,
    /// Replay the embedded simulator for this many days instead of files.
    #[arg(long, conflicts_with = "data")]
    pub sim_days: Option<u32>,
    /// First time to replay (ISO date or date-time, UTC).
    #[arg(long)]
    pub from: Option<String>,
    /// Last time to replay (a plain date includes that day).
    #[arg(long)]
    pub to: Option<String>,
    /// Fees in basis points of notional (default: the registry's `[fleet.broker]`
    /// `fee_bps`, as the paper venue charges).
    #[arg(long)]
    pub fees_bps: Option<Decimal>,
    /// Slippage in basis points against the order (default: the registry's
    /// `[fleet.broker]` `slippage_bps`).
    #[arg(long)]
    pub slippage_bps: Option<Decimal>,
    /// `next-open` (default) fills at the next bar's open; `close` at the signal bar's close.
    #[arg(long, default_value = "next-open")]
    pub fill: FillMode,
    /// Seed of the bots' randomness, the allocator and the Monte Carlo.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Periods per year for annualised statistics.
    #[arg(long, default_value_t = 252.0)]
    pub periods_per_year: f64,
    /// Split the run into K folds and report each.
    #[arg(long)]
    pub walk_forward: Option<usize>,
    /// Bootstrap the trade sequence N times and report percentiles.
    #[arg(long)]
    pub monte_carlo: Option<usize>,
    /// Skip malformed rows (listed as warnings) instead of refusing the data.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// Write the full report as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write a self-contained HTML report.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Compiled-component cache directory.
    #[arg(long, default_value = ".flotilla/cache")]
    pub cache_dir: PathBuf,
    /// Also record every tick, order and fill in this SQLite ledger (inspect it with
    /// `flotilla status --db`); slower. The file must not hold an earlier run.
    #[arg(long)]
    pub ledger: Option<PathBuf>,
    /// Call each bot once per tick (`on-tick`) instead of letting it run its quiet ticks
    /// in one `on-ticks` call; slower, same results (to check a bot's `on-ticks`).
    #[arg(long)]
    pub tick_by_tick: bool,
}

/// `flotilla backtest`.
pub fn command(args: BacktestArgs) -> Result<()> {
    let path = args
        .config
        .clone()
        .unwrap_or_else(crate::fleet::default_registry_path);
    let registry = Registry::load(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let range = TimeRange::parse(args.from.as_deref(), args.to.as_deref())?;
    let (series, events) = match args.sim_days {
        Some(days) => (Vec::new(), simulated_events(&registry, days, args.seed)?),
        None => load_data(&args.data, &range, args.skip_bad_rows)?,
    };
    let broker = registry
        .fleet_spec()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .broker;
    let params = RunParams {
        config: Some(path.display().to_string()),
        data: series.iter().map(DataFile::from).collect(),
        from: range.from,
        to: range.to,
        // The same costs as the paper venue of the same registry, unless overridden.
        fees_bps: args.fees_bps.unwrap_or(broker.fee_bps),
        slippage_bps: args.slippage_bps.unwrap_or(broker.slippage_bps),
        fill: args.fill,
        seed: args.seed,
        periods_per_year: args.periods_per_year,
        walk_forward: args.walk_forward,
        monte_carlo: args.monte_carlo,
        ..RunParams::default()
    };
    if let Some(p) = args.ledger.as_ref().filter(|p| p.exists()) {
        bail!(
            "{} already exists: a backtest ledger must start empty",
            p.display()
        );
    }
    let opts = ReplayOptions {
        cache_dir: Some(args.cache_dir.clone()),
        ledger: args.ledger.clone(),
        tick_by_tick: args.tick_by_tick,
        shared: None,
        quiet: false,
    };
    let out = run_with(&registry, events, params, opts)?;
    print!("{}", flotilla_backtest::to_terminal(&out.report));
    eprintln!(
        "replayed {} bars and {} bot ticks in {:.2} s ({:.0} bars/s)",
        out.bars,
        out.ticks,
        out.elapsed.as_secs_f64(),
        out.bars as f64 / out.elapsed.as_secs_f64().max(1e-9)
    );
    if let Some(p) = &args.json {
        std::fs::write(p, flotilla_backtest::to_json(&out.report))
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(p) = &args.html {
        std::fs::write(p, flotilla_backtest::to_html(&out.report))
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}
