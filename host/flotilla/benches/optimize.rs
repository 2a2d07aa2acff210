//! `flotilla optimize` throughput: a 200-combination grid of the SMA-crossover bot
//! (`fast` 5..50 step 5 × `slow` 60..250 step 10) over 100,000 one-minute bars, as
//! combinations × bars per second per core, against plain backtests of the same bot over
//! the same bars (every 21st set of the grid, each loading and resampling on its own as
//! `flotilla backtest` does); with 1 job and with 2. Each figure is given per wall second
//! and per CPU second (the machine may be shared).
//!
//! Run: `./scripts/build-bots.sh && cargo bench -p flotilla --bench optimize`
//! (`-- --bars N` sets the bars, `-- --slow-step N` thins the grid for a quick look).

use flotilla::backtest::{run, simulated_events};
use flotilla::optimize::{Objective, ParamSpec, Plan, Progress, Space};
use flotilla::shared::SharedReplay;
use flotilla_backtest::RunParams;
use flotilla_config::Registry;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// CPU seconds this process used (user and system): on a shared machine, wall time
/// measures the neighbours as much as the code.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime and stime are the
    // 12th and 13th, in clock ticks (100 a second on Linux).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

fn main() -> anyhow::Result<()> {
    let arg = |name: &str| std::env::args().skip_while(|a| a != name).nth(1);
    let bars: usize = arg("--bars")
        .map(|d| d.parse())
        .transpose()?
        .unwrap_or(100_000);
    let slow_step: u32 = arg("--slow-step")
        .map(|d| d.parse())
        .transpose()?
        .unwrap_or(10);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let components = root.join("bots/target/wasm32-wasip2/release");
    anyhow::ensure!(
        components.join("sma_crossover.wasm").exists(),
        "no compiled bots in {}: run ./scripts/build-bots.sh first",
        components.display()
    );
    let cache = tempfile::tempdir()?;
    let registry = Registry::parse(
        &format!(
            "[fleet]\nname = \"bench\"\ncomponents_dir = \"{}\"\nstarting_cash = \"1000000\"\n\
             [fleet.market]\nseed = 7\nsymbols = [\"AAPL\"]\nstart = \"2026-01-05T14:30:00Z\"\n\
             [[bot]]\nid = \"sma\"\ncomponent = \"sma_crossover.wasm\"\nevery = \"1m\"\n\
             symbols = [\"AAPL\"]\n[bot.params]\nfast = 10\nslow = 30\n",
            components.display()
        ),
        PathBuf::from("bench.toml"),
    )?;
    let days = (bars as u32).div_ceil(1_440);
    let mut events = simulated_events(&registry, days, 7)?;
    events.truncate(bars);
    let bars = events.len() as f64;

    let space = Space::new(vec![
        "fast=5..50:5".parse::<ParamSpec>()?,
        format!("slow=60..250:{slow_step}").parse::<ParamSpec>()?,
    ])?;
    let plan = |jobs| -> anyhow::Result<Plan> {
        Ok(Plan {
            registry: registry.clone(),
            bot: "sma".into(),
            indices: space.indices(None, 42)?,
            space: space.clone(),
            objective: Objective::Sharpe,
            min_trades: 1,
            run: RunParams::default(),
            jobs,
        })
    };
    let cache_dir = Some(cache.path().to_path_buf());
    // Plain backtests, as `flotilla backtest` runs them (engine, component from the cache,
    // resampling, all per run), of every 21st set of the grid (both params vary): their
    // speed is what a shell loop around `flotilla backtest` gets per core.
    let base = plan(1)?;
    run(
        &registry,
        events.clone(),
        RunParams::default(),
        cache_dir.clone(),
        None,
    )?;
    let (wall0, cpu0) = (Instant::now(), cpu_seconds());
    let mut sampled = 0usize;
    for &i in base.indices.iter().step_by(21) {
        let params = space.combination(i);
        let out = run(
            &base.registry_with(&params),
            events.clone(),
            RunParams::default(),
            cache_dir.clone(),
            None,
        )?;
        anyhow::ensure!(out.bars as f64 == bars);
        sampled += 1;
    }
    let (wall, cpu) = (wall0.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
    let plain = sampled as f64 * bars / cpu;
    println!(
        "{sampled} plain backtests of grid sets, {bars} bars each: {wall:.2} s wall, {cpu:.2} s CPU, \
         {plain:.0} bars per CPU-second ({:.0} bars/s wall)",
        sampled as f64 * bars / wall
    );

    let shared = Arc::new(SharedReplay::new(&registry, &events, cache_dir)?);
    for jobs in [1, 2] {
        let plan = plan(jobs)?;
        let combos = plan.indices.len() as f64;
        let (wall0, cpu0) = (Instant::now(), cpu_seconds());
        let rows = plan.run_all(&shared, &Progress::new(0, false));
        let (wall, cpu) = (wall0.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
        let failed = rows.iter().filter(|r| r.error.is_some()).count();
        anyhow::ensure!(failed == 0, "{failed} combinations failed");
        let trades: usize = rows.iter().map(|r| r.figures.trades).sum();
        let per_cpu = combos * bars / cpu;
        println!(
            "grid of {combos} on {jobs} job(s): {wall:.2} s wall, {cpu:.2} s CPU, \
             {:.0} combination-bars/s wall, {:.0} per core (wall / jobs), \
             {per_cpu:.0} per CPU-second = {:.0}% of the plain backtests' ({trades} trades)",
            combos * bars / wall,
            combos * bars / wall / jobs as f64,
            100.0 * per_cpu / plain
        );
    }
    Ok(())
}
