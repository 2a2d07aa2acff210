//! `flotilla optimize`: one bot's params over a grid (or a seeded random sample of it),
//! each combination a plain backtest, ranked by an objective; optionally walk-forward.
//!
//! Every combination runs [`crate::backtest::run_with`], the path of `flotilla backtest`:
//! the same risk chain, fees, fills and seed, so a row's figures are the ones a plain
//! backtest of the registry with only that bot and those params gives. Only the chosen bot
//! runs (the registry's other bots are left out: they would share its capital).
//!
//! Cheap per combination: the engine, the compiled component and the bars resampled to
//! every timeframe are loaded once ([`SharedReplay`]) and shared read-only; each run
//! builds its own fleet (instance, risk state, broker, seed). Runs are spread over
//! `--jobs` threads and collected by grid index, so the report does not depend on the
//! number of jobs or on which finished first.

mod params;
mod rank;
mod render;
mod walk;

pub use params::{MAX_COMBINATIONS, ParamError, ParamSpec, ParamValue, Space};
pub use rank::{Figures, Objective, Row, UnknownObjective, rank};
pub use render::{best_params_block, to_html, to_json, to_terminal};
pub use walk::{WalkFold, WalkForward};

use crate::backtest::{ReplayOptions, load_data, run_with};
use crate::shared::SharedReplay;
use anyhow::{Context, Result, bail};
use flotilla_backtest::{DataFile, FillMode, RunParams, TimeRange};
use flotilla_config::Registry;
use flotilla_domain::Decimal;
use serde::{Serialize, Serializer};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The version of the optimization report's JSON layout.
pub const OPTIMIZE_REPORT_VERSION: u32 = 1;

/// Options of `flotilla optimize`.
#[derive(clap::Args, Debug, Clone)]
pub struct OptimizeArgs {
    /// Registry file (default: ./config/fleet.toml, else the bundled one).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The bot whose params are tuned (the registry's other bots do not run).
    #[arg(long)]
    pub bot: String,
    /// CSV files, one per symbol, as `flotilla backtest --data`.
    #[arg(long, num_args = 1.., required = true)]
    pub data: Vec<PathBuf>,
    /// A param and its values: `NAME=START..END[:STEP]` (inclusive) or `NAME=V1,V2,...`;
    /// repeat for more params. Params not given keep the registry's values.
    #[arg(long = "param", required = true)]
    pub params: Vec<ParamSpec>,
    /// Run this many combinations drawn at random (with `--seed`) instead of the grid.
    #[arg(long)]
    pub random: Option<usize>,
    /// What to maximise: sharpe, sortino, calmar, return or profit_factor.
    #[arg(long, default_value = "sharpe")]
    pub objective: Objective,
    /// A set with fewer round trips cannot be the best.
    #[arg(long, default_value_t = 1)]
    pub min_trades: usize,
    /// Walk-forward: cut the data into K+1 windows; K times, pick the best set on an
    /// in-sample window and report it on the next (out-of-sample) one.
    #[arg(long)]
    pub walk_forward: Option<usize>,
    /// With `--walk-forward`: each in-sample window starts at the data's start.
    #[arg(long, requires = "walk_forward")]
    pub anchored: bool,
    /// Combinations run at once (default: every core).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Seed of every run (bots' randomness, allocator) and of `--random`.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// First time to use (ISO date or date-time, UTC).
    #[arg(long)]
    pub from: Option<String>,
    /// Last time to use (a plain date includes that day).
    #[arg(long)]
    pub to: Option<String>,
    /// Fees in basis points (default: the registry's `[fleet.broker]` `fee_bps`).
    #[arg(long)]
    pub fees_bps: Option<Decimal>,
    /// Slippage in basis points (default: the registry's `[fleet.broker]` `slippage_bps`).
    #[arg(long)]
    pub slippage_bps: Option<Decimal>,
    /// `next-open` (default) or `close`, as `flotilla backtest --fill`.
    #[arg(long, default_value = "next-open")]
    pub fill: FillMode,
    /// Periods per year for annualised statistics.
    #[arg(long, default_value_t = 252.0)]
    pub periods_per_year: f64,
    /// Skip malformed rows (listed as warnings) instead of refusing the data.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// Rows of the ranked table on the terminal (0: all).
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Write the report as JSON (`-`: to stdout, instead of the table).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write a self-contained HTML report (heatmap for two params, out-of-sample equity).
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Compiled-component cache directory.
    #[arg(long, default_value = ".flotilla/cache")]
    pub cache_dir: PathBuf,
}

/// Everything an optimization reports; its JSON is a function of the inputs and seed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OptimizeReport {
    /// [`OPTIMIZE_REPORT_VERSION`].
    pub version: u32,
    /// The bot tuned.
    pub bot: String,
    /// The objective.
    pub objective: Objective,
    /// The fewest trades a best set needs.
    pub min_trades: usize,
    /// The params and their values.
    pub space: Vec<ParamSpec>,
    /// Combinations in the grid.
    pub grid_size: u64,
    /// `--random`, if given.
    pub random: Option<usize>,
    /// The runs' parameters (costs, fills, seed, data) as a backtest report lists them.
    pub run: RunParams,
    /// Every combination run over the whole data, best first.
    pub rows: Vec<Row>,
    /// The bot's `[bot.params]` with the best set applied (`None` if no set qualified).
    pub best: Option<toml::Table>,
    /// Walk-forward, when asked for.
    pub walk_forward: Option<WalkForward>,
}

/// How to run the combinations.
#[derive(Clone)]
pub struct Plan {
    /// The registry holding only the tuned bot.
    pub registry: Registry,
    /// The bot.
    pub bot: String,
    /// The space.
    pub space: Space,
    /// The grid indices to run.
    pub indices: Vec<u128>,
    /// Objective and qualification.
    pub objective: Objective,
    /// The fewest trades a best set needs.
    pub min_trades: usize,
    /// Costs, fill, seed (the data and window are filled in per run).
    pub run: RunParams,
    /// Threads.
    pub jobs: usize,
}

impl Plan {
    /// The registry with only `bot`, its params as the registry has them (checked: the bot
    /// exists).
    pub fn single_bot(registry: &Registry, bot: &str) -> Result<Registry> {
        let mut r = registry.clone();
        let ids: Vec<String> = r.bot.iter().map(|b| b.id.clone()).collect();
        r.bot.retain(|b| b.id == bot);
        let Some(b) = r.bot.first_mut() else {
            bail!(
                "no bot `{bot}` in the registry (it has: {})",
                ids.join(", ")
            );
        };
        b.enabled = true;
        Ok(r)
    }

    /// Runs every combination of the plan over `shared`'s bars, in parallel, each row in
    /// grid order; `progress` counts finished runs.
    pub fn run_all(&self, shared: &Arc<SharedReplay>, progress: &Progress) -> Vec<Row> {
        let next = AtomicUsize::new(0);
        let rows: Mutex<Vec<Option<Row>>> = Mutex::new(vec![None; self.indices.len()]);
        std::thread::scope(|s| {
            for _ in 0..self.jobs.clamp(1, self.indices.len().max(1)) {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&index) = self.indices.get(i) else {
                            break;
                        };
                        let row = self.run_one(shared, index);
                        rows.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(row);
                        progress.step();
                    }
                });
            }
        });
        let rows = rows.into_inner().unwrap_or_else(|e| e.into_inner());
        rows.into_iter().flatten().collect()
    }

    /// One combination over `shared`'s bars.
    pub fn run_one(&self, shared: &Arc<SharedReplay>, index: u128) -> Row {
        let params = self.space.combination(index);
        let (figures, failures, error) = match self.backtest(shared, &params) {
            Ok((f, failures)) => (f, failures, None),
            Err(e) => (Figures::default(), 0, Some(format!("{e:#}"))),
        };
        Row {
            rank: None,
            index: index as u64,
            objective: self.objective.of(&figures),
            params,
            figures,
            failures,
            error,
        }
    }

    /// The registry with `params` applied to the bot.
    pub fn registry_with(&self, params: &[(String, ParamValue)]) -> Registry {
        let mut r = self.registry.clone();
        for (k, v) in params {
            r.bot[0].params.insert(k.clone(), v.to_toml());
        }
        r
    }

    /// A plain backtest of the bot with `params` over `shared`'s bars: its figures and
    /// failed calls.
    fn backtest(
        &self,
        shared: &Arc<SharedReplay>,
        params: &[(String, ParamValue)],
    ) -> Result<(Figures, u64)> {
        let out = self.report(shared, params)?;
        Ok((figures_of(&out.report, &self.bot), out.failures))
    }

    /// The whole backtest of the bot with `params` over `shared`'s bars.
    pub fn report(
        &self,
        shared: &Arc<SharedReplay>,
        params: &[(String, ParamValue)],
    ) -> Result<crate::backtest::BacktestOutcome> {
        let opts = ReplayOptions {
            shared: Some(shared.clone()),
            quiet: true,
            ..ReplayOptions::default()
        };
        let events = shared.events().to_vec();
        // Hundreds of runs would each log the same load and exits: a run's failure is in
        // its row instead.
        let quiet = tracing::subscriber::NoSubscriber::default();
        tracing::subscriber::with_default(quiet, || {
            run_with(&self.registry_with(params), events, self.run.clone(), opts)
        })
    }
}

/// The bot's figures in a backtest report (empty when it never traded nor held capital).
pub fn figures_of(report: &flotilla_backtest::BacktestReport, bot: &str) -> Figures {
    (report.bots.iter())
        .find(|b| b.bot.as_str() == bot)
        .map(|b| Figures::from(&b.metrics))
        .unwrap_or_default()
}

/// Finished runs on stderr: a redrawn bar on a terminal, else a plain line per tenth.
pub struct Progress {
    total: u64,
    done: AtomicU64,
    tty: bool,
    started: Instant,
}

impl Progress {
    /// A bar for `total` runs; `on` false shows nothing.
    pub fn new(total: u64, on: bool) -> Self {
        Self {
            total: if on { total.max(1) } else { 0 },
            done: AtomicU64::new(0),
            tty: std::io::stderr().is_terminal(),
            started: Instant::now(),
        }
    }

    /// One more run finished.
    pub fn step(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if self.total == 0 {
            return;
        }
        let pct = done * 100 / self.total;
        let secs = self.started.elapsed().as_secs_f64();
        if self.tty {
            let filled = (pct / 4) as usize;
            eprint!(
                "\r[{}{}] {pct:>3}% {done}/{} runs {secs:.1} s",
                "#".repeat(filled),
                " ".repeat(25 - filled.min(25)),
                self.total
            );
            if done == self.total {
                eprintln!();
            }
        } else if done * 10 / self.total != (done - 1) * 10 / self.total {
            eprintln!("optimize: {done}/{} runs ({pct}%) {secs:.1} s", self.total);
        }
    }

    /// Runs finished so far.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }
}

/// Serialises params as a map in `--param` order.
pub(crate) fn ser_params<S: Serializer>(
    params: &[(String, ParamValue)],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(params.iter().map(|(k, v)| (k, v)))
}

/// Runs the optimization `args` describe and returns its report (and writes nothing).
pub fn optimize(args: &OptimizeArgs, show_progress: bool) -> Result<(OptimizeReport, Stats)> {
    let path = args
        .config
        .clone()
        .unwrap_or_else(crate::fleet::default_registry_path);
    let registry = Registry::load(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let registry = Plan::single_bot(&registry, &args.bot)?;
    let space = Space::new(args.params.clone())?;
    let indices = space.indices(args.random, args.seed)?;
    let range = TimeRange::parse(args.from.as_deref(), args.to.as_deref())?;
    let (series, events) = load_data(&args.data, &range, args.skip_bad_rows)?;
    let broker = registry
        .fleet_spec()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .broker;
    let run = RunParams {
        config: Some(path.display().to_string()),
        data: series.iter().map(DataFile::from).collect(),
        from: range.from,
        to: range.to,
        fees_bps: args.fees_bps.unwrap_or(broker.fee_bps),
        slippage_bps: args.slippage_bps.unwrap_or(broker.slippage_bps),
        fill: args.fill,
        seed: args.seed,
        periods_per_year: args.periods_per_year,
        ..RunParams::default()
    };
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    if jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    let plan = Plan {
        registry,
        bot: args.bot.clone(),
        space,
        indices,
        objective: args.objective,
        min_trades: args.min_trades,
        run,
        jobs,
    };
    let started = Instant::now();
    let shared = Arc::new(
        SharedReplay::new(&plan.registry, &events, Some(args.cache_dir.clone()))
            .context("loading the bot and the data")?,
    );
    drop(events);
    let folds = args.walk_forward.unwrap_or(0);
    let runs = (plan.indices.len() * (1 + folds) + folds) as u64;
    let progress = Progress::new(runs, show_progress);
    let mut rows = plan.run_all(&shared, &progress);
    rank(&mut rows, plan.min_trades);
    let walk_forward = match args.walk_forward {
        Some(k) => Some(walk::run(&plan, &shared, k, args.anchored, &progress)?),
        None => None,
    };
    let best = rows
        .first()
        .filter(|r| r.rank.is_some())
        .map(|r| plan.registry_with(&r.params).bot[0].params.clone());
    let bars = shared.events().len() as u64;
    let report = OptimizeReport {
        version: OPTIMIZE_REPORT_VERSION,
        bot: plan.bot.clone(),
        objective: plan.objective,
        min_trades: plan.min_trades,
        space: plan.space.params.clone(),
        grid_size: plan.space.size() as u64,
        random: args.random,
        run: plan.run.clone(),
        rows,
        best,
        walk_forward,
    };
    let stats = Stats {
        runs: progress.done(),
        bars,
        jobs,
        elapsed: started.elapsed(),
    };
    Ok((report, stats))
}

/// How much work an optimization did, and how fast (not in the report: it varies).
#[derive(Clone, Copy, Debug)]
pub struct Stats {
    /// Backtests run.
    pub runs: u64,
    /// Bars in the whole data.
    pub bars: u64,
    /// Threads.
    pub jobs: usize,
    /// Wall time, loading included.
    pub elapsed: std::time::Duration,
}

/// `flotilla optimize`.
pub fn command(args: OptimizeArgs) -> Result<()> {
    let (report, stats) = optimize(&args, true)?;
    let to_stdout = args.json.as_deref().is_some_and(|p| p.as_os_str() == "-");
    if to_stdout {
        print!("{}", to_json(&report));
    } else {
        print!("{}", to_terminal(&report, args.top));
    }
    eprintln!(
        "ran {} backtests over {} bars on {} jobs in {:.2} s",
        stats.runs,
        stats.bars,
        stats.jobs,
        stats.elapsed.as_secs_f64()
    );
    if let Some(p) = args.json.as_ref().filter(|_| !to_stdout) {
        std::fs::write(p, to_json(&report)).with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(p) = &args.html {
        std::fs::write(p, to_html(&report)).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}
