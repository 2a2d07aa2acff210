//! Backtest throughput in bars per second: one symbol of 1-minute bars replayed through
//! the SMA-crossover strategy, natively in the host (the floor: strategy arithmetic only),
//! then as a real WebAssembly bot through the whole host (scheduler, risk, exits, broker,
//! ledger, equity curve) with 1 and with 20 bots, and 1 bot ticking daily (the host's own
//! per-bar work).
//!
//! Run: `./scripts/build-bots.sh && cargo bench -p flotilla --bench backtest`
//! (`-- --days N` sets the replayed span, 30 by default). A bench binary rather than
//! criterion: each sample is a whole replay of tens of thousands of bars, and the figure
//! wanted is throughput, printed per case as the best of a few runs.

use flotilla::backtest::{run, simulated_events};
use flotilla_backtest::{BarEvent, RunParams};
use flotilla_config::Registry;
use std::path::{Path, PathBuf};
use std::time::Instant;

const RUNS: usize = 3;

fn main() -> anyhow::Result<()> {
    let arg = |name: &str| std::env::args().skip_while(|a| a != name).nth(1);
    let days = arg("--days")
        .map(|d| d.parse())
        .transpose()?
        .unwrap_or(30u32);
    // `--only 1m` runs only the cases whose label contains "1m" (for profiling).
    let only = arg("--only").unwrap_or_default();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let components = root.join("bots/target/wasm32-wasip2/release");
    anyhow::ensure!(
        components.join("sma_crossover.wasm").exists(),
        "no compiled bots in {}: run ./scripts/build-bots.sh first",
        components.display()
    );
    let cache = tempfile::tempdir()?;
    let one = registry(&components, 1, "1m")?;
    let events = simulated_events(&one, days, 7)?;
    println!(
        "backtest throughput: {} one-minute bars of AAPL ({days} days), best of {RUNS} runs",
        events.len()
    );
    let label = "native SMA crossover in the host (floor)";
    if label.contains(&only) {
        let floor = best(|| native_sma(&events, 10, 30));
        println!("{label:<44}{floor:>12.0} bars/s");
    }
    for (bots, every) in [(1, "1m"), (20, "1m"), (1, "1h"), (20, "1h"), (1, "1d")] {
        let label = format!("{bots} wasm SMA bot(s), ticking every {every}");
        if !label.contains(&only) {
            continue;
        }
        let reg = registry(&components, bots, every)?;
        // What the replay did, so a figure can be read against the work behind it.
        let (mut ticks, mut trades) = (0, 0);
        let rate = best(|| {
            let out = run(
                &reg,
                events.clone(),
                RunParams::default(),
                Some(cache.path().to_path_buf()),
                None,
            )
            .expect("backtest runs");
            (ticks, trades) = (out.ticks, out.report.trades.len());
            out.bars as f64 / out.elapsed.as_secs_f64()
        });
        println!("{label:<44}{rate:>12.0} bars/s  ({ticks} ticks, {trades} trades)");
    }
    Ok(())
}

/// The best of [`RUNS`] throughput figures (the least disturbed by the machine).
fn best(mut f: impl FnMut() -> f64) -> f64 {
    (0..RUNS).map(|_| f()).fold(0.0, f64::max)
}

/// A registry of `bots` SMA-crossover bots on AAPL, each with its own periods.
fn registry(components: &Path, bots: usize, every: &str) -> anyhow::Result<Registry> {
    let mut text = format!(
        "[fleet]\nname = \"bench\"\ncomponents_dir = \"{}\"\nstarting_cash = \"1000000\"\n\
         [fleet.risk]\nmax_open_positions = 100\n\
         [fleet.market]\nseed = 7\nsymbols = [\"AAPL\"]\nstart = \"2026-01-05T14:30:00Z\"\n",
        components.display()
    );
    for i in 0..bots {
        text.push_str(&format!(
            "[[bot]]\nid = \"sma-{i}\"\ncomponent = \"sma_crossover.wasm\"\nevery = \"{every}\"\n\
             symbols = [\"AAPL\"]\n[bot.params]\nfast = {}\nslow = {}\n",
            5 + i % 10,
            30 + i
        ));
    }
    Ok(Registry::parse(&text, PathBuf::from("bench.toml"))?)
}

/// The strategy alone: rolling sums over closes, a position flip on each cross.
fn native_sma(events: &[BarEvent], fast: usize, slow: usize) -> f64 {
    let started = Instant::now();
    let mut closes = std::collections::VecDeque::with_capacity(slow + 1);
    let (mut sum_fast, mut sum_slow) = (0.0, 0.0);
    let (mut long, mut flips) = (false, 0u64);
    for e in events {
        let c = e.bar.close;
        closes.push_back(c);
        sum_fast += c;
        sum_slow += c;
        if closes.len() > fast {
            sum_fast -= closes[closes.len() - 1 - fast];
        }
        if closes.len() > slow {
            sum_slow -= closes.pop_front().unwrap_or_default();
        }
        if closes.len() == slow {
            let want = sum_fast / fast as f64 > sum_slow / slow as f64;
            if want != long {
                long = want;
                flips += 1;
            }
        }
    }
    std::hint::black_box(flips);
    events.len() as f64 / started.elapsed().as_secs_f64()
}
