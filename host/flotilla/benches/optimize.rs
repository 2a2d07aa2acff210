//! `flotilla optimize` throughput: a 200-combination grid of the SMA-crossover bot
//! (`fast` 5..50 step 5 × `slow` 60..250 step 10) over 100,000 one-minute bars, as
//! combinations × bars per second per core, against one plain backtest of the same bot
//! over the same bars; with 1 job and with 2.
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

fn main() -> anyhow::Result<()> {
    let arg = |name: &str| std::env::args().skip_while(|a| a != name).nth(1);
    let bars: usize = arg("--bars").map(|d| d.parse()).transpose()?.unwrap_or(100_000);
    let slow_step: u32 = arg("--slow-step").map(|d| d.parse()).transpose()?.unwrap_or(10);
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

    // One plain backtest, as `flotilla backtest` runs it (component from the cache).
    let cache_dir = Some(cache.path().to_path_buf());
    run(&registry, events.clone(), RunParams::default(), cache_dir.clone(), None)?;
    let started = Instant::now();
    let out = run(&registry, events.clone(), RunParams::default(), cache_dir.clone(), None)?;
    let plain_wall = started.elapsed().as_secs_f64();
    let plain = bars / plain_wall;
    println!(
        "one plain backtest: {bars} bars, {} trades, {plain_wall:.2} s wall (loading included), \
         {plain:.0} bars/s; replay alone {:.0} bars/s",
        out.report.trades.len(),
        out.bars as f64 / out.elapsed.as_secs_f64()
    );

    let space = Space::new(vec![
        "fast=5..50:5".parse::<ParamSpec>()?,
        format!("slow=60..250:{slow_step}").parse::<ParamSpec>()?,
    ])?;
    let shared = Arc::new(SharedReplay::new(&registry, &events, cache_dir)?);
    for jobs in [1, 2] {
        let plan = Plan {
            registry: registry.clone(),
            bot: "sma".into(),
            indices: space.indices(None, 42)?,
            space: space.clone(),
            objective: Objective::Sharpe,
            min_trades: 1,
            run: RunParams::default(),
            jobs,
        };
        let combos = plan.indices.len() as f64;
        let started = Instant::now();
        let rows = plan.run_all(&shared, &Progress::new(0, false));
        let wall = started.elapsed().as_secs_f64();
        let failed = rows.iter().filter(|r| r.error.is_some()).count();
        anyhow::ensure!(failed == 0, "{failed} combinations failed");
        let rate = combos * bars / wall;
        println!(
            "grid of {combos} on {jobs} job(s): {wall:.2} s, {rate:.0} combination-bars/s, \
             {:.0} per core ({:.0}% of one plain backtest's bars/s)",
            rate / jobs as f64,
            100.0 * rate / jobs as f64 / plain
        );
    }
    Ok(())
}
