//! Shared helpers: where the compiled bots are, and throwaway registries.

use flotilla::clock::{ScaledClock, SchedClock};
use flotilla::{Fleet, FleetOptions, scheduler};
use flotilla_config::Registry;
use flotilla_domain::Timestamp;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The directory of the compiled bots; fails with the fix if they are not built.
pub fn bots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bots/target/wasm32-wasip2/release");
    let probe = dir.join("fixed_order.wasm");
    assert!(
        probe.exists(),
        "{} is missing: run scripts/build-bots.sh first (the README test command does)",
        probe.display()
    );
    dir.canonicalize().unwrap()
}

/// A path to a compiled bot.
pub fn bot(name: &str) -> PathBuf {
    bots_dir().join(format!("{name}.wasm"))
}

/// The `[fleet]` part of a test registry: simulator, paper broker, the compiled bots.
pub fn fleet_header() -> String {
    format!(
        r#"
[fleet]
name = "test"
components_dir = "{}"
starting_cash = "100000"
[fleet.market]
seed = 7
start = "2026-01-05T14:30:00Z"
"#,
        bots_dir().display()
    )
}

/// Writes `body` after the fleet header into `dir/fleet.toml` and loads it.
pub fn registry(dir: &Path, body: &str) -> Registry {
    let path = dir.join("fleet.toml");
    std::fs::write(&path, format!("{}\n{body}", fleet_header())).unwrap();
    Registry::load(&path).unwrap_or_else(|e| panic!("test registry invalid: {e}"))
}

/// Builds a fleet on `registry` with its ledger in `dir`.
pub fn fleet(dir: &Path, registry: &Registry) -> Arc<Fleet> {
    let options = FleetOptions::new(dir.join("ledger.db"), Some(dir.join("cache")));
    Arc::new(Fleet::build(registry, &options).expect("fleet builds"))
}

/// A compiled-component cache shared by the tests that load the bundled registry, so its
/// multi-megabyte Python and JavaScript guests compile once per build rather than once per
/// test (seconds each). Entries are content-addressed and written atomically, so sharing
/// is safe; tests that assert a cold load use a directory of their own.
///
/// The first call fills it with every bundled bot (the others wait), so a test that gives
/// a child process a deadline to start does not spend it compiling.
pub fn shared_cache() -> PathBuf {
    static WARM: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    WARM.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("component-cache");
        let reg = Registry::load(Path::new(flotilla_config::SOURCE_CONFIG_DIR).join("fleet.toml"))
            .expect("bundled registry");
        let mut components: Vec<PathBuf> = reg
            .bots()
            .unwrap()
            .into_iter()
            .map(|b| b.component)
            .collect();
        components.sort();
        components.dedup();
        let rt = flotilla_runtime::Runtime::new(flotilla_runtime::RuntimeConfig {
            cache_dir: Some(dir.clone()),
            ..Default::default()
        })
        .unwrap();
        // One thread per component: the two big guests compile side by side.
        std::thread::scope(|s| {
            for c in &components {
                let rt = &rt;
                s.spawn(move || {
                    rt.load_file(c)
                        .unwrap_or_else(|e| panic!("{}: {e}", c.display()))
                });
            }
        });
        dir
    })
    .clone()
}

/// Runs the scheduler on a scaled clock for `span_ms` of simulated time.
pub fn run_for(fleet: &Arc<Fleet>, speed: f64, span_ms: i64) -> scheduler::RunStats {
    let (_tx, rx) = tokio::sync::watch::channel(false);
    run_until(fleet, speed, span_ms, rx)
}

/// Runs the fleet's scheduler for at most `span_ms` of fleet time, or until `stop` turns true.
pub fn run_until(
    fleet: &Arc<Fleet>,
    speed: f64,
    span_ms: i64,
    stop: tokio::sync::watch::Receiver<bool>,
) -> scheduler::RunStats {
    let start = fleet.start();
    let clock: Arc<dyn SchedClock> = Arc::new(ScaledClock::new(start, speed));
    let until = Timestamp(start.0 + span_ms);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(scheduler::run(fleet.clone(), clock, until, stop))
        .expect("scheduler runs")
}

/// Held by tests that measure real time (schedules, deadlines, reload latency), so they do
/// not run at once on a two-core machine and blame each other's load on the code.
pub fn timing() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// The book's cash is the starting cash less every recorded fill's notional and fee, to
/// the cent and beyond (market and limit fills alike).
pub fn assert_cash_matches_fills(core: &flotilla::fleet::Core) {
    let spent: rust_decimal::Decimal = core
        .ledger
        .all_fills()
        .unwrap()
        .iter()
        .map(|f| f.side.sign() * f.quantity * f.price + f.fee)
        .sum();
    assert_eq!(
        core.portfolio.cash(),
        core.portfolio.starting_cash() - spent
    );
}
