//! A live fleet on the real scheduler and clock: the order path's latency, and the
//! lateness and CPU of many bots ticking every second.
//!
//! - `orders`: 100 bots each sending an order every tick (one simulated minute per real
//!   second) through the execution service and the paper venue: approved intent → order
//!   handed to the venue (p50/p99), and venue fill → ledger → the bot's `on-fill` (p99; the
//!   bot hears of a fill at its next tick, so this is bounded by its schedule).
//! - `load`: 1,000 SMA bots ticking every 1 s at `--speed 1` for `--secs` (default 30)
//!   real seconds, with fills in process (`inline`, as before the execution service) and
//!   through the execution service (`service`): p99 lateness from the ledger's ticks and
//!   the process's CPU (user + system time over wall time).
//!
//! Run: `./scripts/build-bots.sh && cargo bench -p flotilla --bench live [-- --only orders|load] [--secs N]`.

use flotilla::clock::{ScaledClock, SchedClock};
use flotilla::execution::percentile;
use flotilla::{Fleet, FleetOptions, scheduler};
use flotilla_config::Registry;
use flotilla_domain::Timestamp;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() -> anyhow::Result<()> {
    let arg = |name: &str| std::env::args().skip_while(|a| a != name).nth(1);
    let only = arg("--only").unwrap_or_default();
    let secs: u64 = arg("--secs").map(|s| s.parse()).transpose()?.unwrap_or(30);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let components = root.join("bots/target/wasm32-wasip2/release");
    anyhow::ensure!(
        components.join("fixed_order.wasm").exists(),
        "no compiled bots in {}: run ./scripts/build-bots.sh first",
        components.display()
    );
    let cache = tempfile::tempdir()?;
    if "orders".contains(&only) {
        orders(&components, cache.path(), secs.min(20))?;
    }
    if "load".contains(&only) {
        for service in [false, true] {
            load(&components, cache.path(), secs, service)?;
        }
    }
    Ok(())
}

fn header(components: &Path, seed: u64) -> String {
    format!(
        "[fleet]\nname = \"bench\"\ncomponents_dir = \"{}\"\nstarting_cash = \"10000000\"\n\
         [fleet.risk]\nmax_open_positions = 5000\nmax_open_positions_per_bot = 10\n\
         [fleet.market]\nseed = {seed}\nsymbols = [\"AAPL\", \"MSFT\", \"SPY\", \"QQQ\"]\n\
         start = \"2026-01-05T14:30:00Z\"\n",
        components.display()
    )
}

fn run(fleet: &Arc<Fleet>, speed: f64, real: Duration) -> scheduler::RunStats {
    let start = fleet.start();
    let clock: Arc<dyn SchedClock> = Arc::new(ScaledClock::new(start, speed));
    let until = Timestamp(start.0 + (real.as_secs_f64() * speed * 1000.0) as i64);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (_tx, rx) = tokio::sync::watch::channel(false);
    rt.block_on(scheduler::run(fleet.clone(), clock, until, rx))
        .expect("scheduler runs")
}

fn orders(components: &Path, cache: &Path, secs: u64) -> anyhow::Result<()> {
    let mut text = header(components, 3);
    for i in 0..100 {
        let (sym, side) = (
            ["AAPL", "MSFT", "SPY", "QQQ"][i % 4],
            ["buy", "sell"][i / 4 % 2],
        );
        text.push_str(&format!(
            "[[bot]]\nid = \"o{i}\"\ncomponent = \"fixed_order.wasm\"\nevery = \"1m\"\n\
             symbols = [\"{sym}\"]\n[bot.params]\nside = \"{side}\"\nqty = 0.01\n"
        ));
    }
    let registry = Registry::parse(&text, PathBuf::from("bench.toml"))?;
    let dir = tempfile::tempdir()?;
    let options = FleetOptions::new(dir.path().join("ledger.db"), Some(cache.to_path_buf()));
    let fleet = Arc::new(Fleet::build(&registry, &options)?);
    fleet.start_execution(&dir.path().join("venue.db"))?;
    run(&fleet, 60.0, Duration::from_secs(secs));
    fleet.stop_execution();
    let l = fleet.execution().unwrap().latency.lock().unwrap().clone();
    let us = |v: &[u64], p| {
        percentile(v, p).map_or("-".into(), |x| format!("{:.2} ms", x as f64 / 1000.0))
    };
    println!(
        "orders: 100 bots, one order each per tick for {secs} s: {} orders, {} fills booked",
        l.to_venue_us.len(),
        l.fill_to_bot_us.len()
    );
    println!(
        "  approved intent -> venue        p50 {:>10}  p99 {:>10}",
        us(&l.to_venue_us, 50.0),
        us(&l.to_venue_us, 99.0)
    );
    println!(
        "  venue fill -> ledger -> on-fill p50 {:>10}  p99 {:>10}  (the next tick; ticks every 1 s)",
        us(&l.fill_to_bot_us, 50.0),
        us(&l.fill_to_bot_us, 99.0)
    );
    Ok(())
}

/// User + system CPU time of this process so far.
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command's closing parenthesis: utime and stime are the 12th and
    // 13th of them, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    Duration::from_millis(f.iter().sum::<u64>() * 10)
}

fn load(components: &Path, cache: &Path, secs: u64, service: bool) -> anyhow::Result<()> {
    let mut text = header(components, 5);
    for i in 0..1000 {
        let sym = ["AAPL", "MSFT", "SPY", "QQQ"][i % 4];
        text.push_str(&format!(
            "[[bot]]\nid = \"s{i}\"\ncomponent = \"sma_crossover.wasm\"\nevery = \"1s\"\n\
             symbols = [\"{sym}\"]\n[bot.params]\nfast = 3\nslow = 8\n"
        ));
    }
    let registry = Registry::parse(&text, PathBuf::from("bench.toml"))?;
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("ledger.db");
    let options = FleetOptions::new(&db, Some(cache.to_path_buf()));
    let fleet = Arc::new(Fleet::build(&registry, &options)?);
    if service {
        fleet.start_execution(&dir.path().join("venue.db"))?;
    }
    let (cpu0, wall0) = (cpu(), Instant::now());
    run(&fleet, 1.0, Duration::from_secs(secs));
    let (cpu1, wall) = (cpu(), wall0.elapsed());
    fleet.stop_execution();
    let ledger = flotilla_ledger::Ledger::open(&db)?;
    let late = ledger.lateness_ms()?;
    let fills = ledger.all_fills()?.len();
    let p = |q| percentile(&late, q).unwrap_or(0);
    println!(
        "load ({}): 1000 bots every 1 s for {secs} s: {} ticks, {fills} fills, lateness p50 {} ms p99 {} ms max {} ms, CPU {:.2} cores",
        if service { "service" } else { "inline" },
        late.len(),
        p(50.0),
        p(99.0),
        late.iter().max().copied().unwrap_or(0),
        (cpu1 - cpu0).as_secs_f64() / wall.as_secs_f64()
    );
    Ok(())
}
