//! Bots in any WASM language: Rust, Python (componentize-py) and JavaScript
//! (componentize-js) components in one fleet, through the same risk chain, broker and
//! ledger, loaded from the compiled-component cache.

use crate::support::{bot, registry, run_for};
use flotilla::{Fleet, FleetOptions};
use flotilla_runtime::{Runtime, RuntimeConfig};
use std::path::Path;
use std::sync::Arc;

/// The bots of the mixed fleet: (registry id, component, language).
const BOTS: [(&str, &str, &str); 4] = [
    ("rust-sma", "sma_crossover", "Rust"),
    ("rust-rsi", "rsi_rust", "Rust"),
    ("python-rsi", "rsi_python", "Python"),
    ("js-macd", "macd_js", "JavaScript"),
];

/// Each bot on its own symbols, so no risk gate couples them; the RSI thresholds are
/// loosened so the mean-reversion bots trade within a few simulated hours.
const REGISTRY: &str = r#"
[[bot]]
id = "rust-sma"
component = "sma_crossover.wasm"
every = "1m"
symbols = ["AAPL"]

[[bot]]
id = "rust-rsi"
component = "rsi_rust.wasm"
every = "1m"
symbols = ["MSFT"]
[bot.params]
oversold = 40
overbought = 60

[[bot]]
id = "python-rsi"
component = "rsi_python.wasm"
every = "1m"
symbols = ["SPY", "QQQ"]
[bot.params]
oversold = 40
overbought = 60

[[bot]]
id = "js-macd"
component = "macd_js.wasm"
every = "1m"
symbols = ["BTC-USD", "ETH-USD"]
[bot.limits]
memory_mb = 128
"#;

/// Compiles each bot into `cache` (cold), then loads it again through a new runtime
/// (deserialised from `cache`), printing sizes and both times.
fn measure_loads(cache: &Path) {
    let config = RuntimeConfig {
        cache_dir: Some(cache.to_path_buf()),
        ..Default::default()
    };
    let cold_rt = Runtime::new(config.clone()).unwrap();
    let warm_rt = Runtime::new(config).unwrap();
    println!("component          language     size      cold (compile)  cached (deserialise)");
    for (_, name, language) in BOTS {
        let path = bot(name);
        let size = std::fs::metadata(&path).unwrap().len();
        let cold = cold_rt.load_file(&path).unwrap();
        let cached = warm_rt.load_file(&path).unwrap();
        println!(
            "{name:<18} {language:<10} {:>7.2} MB  {:>12.1?}  {:>12.1?}",
            size as f64 / 1e6,
            cold.load_time,
            cached.load_time
        );
        assert!(!cold.from_cache, "{name}: the first load compiles");
        assert!(
            cached.from_cache,
            "{name}: the second load comes from the cache"
        );
        assert_eq!(cold.hash, cached.hash);
        // Deserialising must beat compiling clearly for the multi-megabyte guests, or
        // the cache is not doing its job (measured: ~100x; 3x leaves room for a busy box).
        if language != "Rust" {
            assert!(
                cached.load_time * 3 < cold.load_time,
                "{name}: cached {:?} vs cold {:?}",
                cached.load_time,
                cold.load_time
            );
        }
    }
}

fn build_fleet(dir: &Path) -> Arc<Fleet> {
    let reg = registry(dir, REGISTRY);
    let options = FleetOptions::new(dir.join("ledger.db"), Some(dir.join("cache")));
    Arc::new(Fleet::build(&reg, &options).expect("fleet builds"))
}

#[test]
fn rust_python_and_javascript_bots_trade_side_by_side_in_one_fleet() {
    let _serial = crate::support::timing();
    let dir = tempfile::tempdir().unwrap();
    measure_loads(&dir.path().join("cache"));

    let fleet = build_fleet(dir.path());
    for (id, name, _) in BOTS {
        let handle = fleet
            .handle(id)
            .unwrap_or_else(|| panic!("{id} ({name}) loads"));
        let slot = handle.slot();
        assert_eq!(slot.description().name, name);
        assert!(
            slot.component().from_cache,
            "{id}: the fleet loads the compiled component from the cache"
        );
    }
    // Six simulated hours at 20,000x: about a second of wall time for the scheduler.
    let stats = run_for(&fleet, 20_000.0, 6 * 3_600_000);
    assert!(
        stats.values().all(|s| s.ticks > 0),
        "every bot ticked: {stats:?}"
    );
    fleet.save_states().unwrap();

    let core = fleet.core();
    let summaries = core.ledger.bot_summaries().unwrap();
    let fills = core.ledger.recent_fills(100_000).unwrap();
    for (id, name, language) in BOTS {
        let s = summaries
            .iter()
            .find(|s| s.bot.as_str() == id)
            .unwrap_or_else(|| panic!("{id} in the ledger: {summaries:#?}"));
        let filled = fills.iter().filter(|f| f.bot.as_str() == id).count() as u64;
        println!(
            "{id:<11} {language:<10} ticks {:>4}  intents {:>3}  approved {:>3}  resized {:>2}  refused {:>2}  fills {:>3}",
            s.ticks, s.intents, s.approved, s.resized, s.refused, filled
        );
        assert_eq!(s.errors, 0, "{id} ({name}) never failed: {s:#?}");
        assert!(
            s.approved + s.resized > 0,
            "{id} ({name}) had intents approved: {s:#?}"
        );
        assert!(
            filled > 0 && filled == s.trades,
            "{id} ({name}) has fills in the ledger: {s:#?}"
        );
    }
    crate::support::assert_cash_matches_fills(&core);
    drop(core);
    drop(fleet);

    // A restart: the guests' snapshots come back through `restore`, and the big components
    // load from the cache again.
    let before = guest_ticks(dir.path(), "python-rsi");
    assert!(before > 0, "the Python bot's snapshot counts its ticks");
    let js_before = guest_ticks(dir.path(), "js-macd");
    let fleet = build_fleet(dir.path());
    let t = fleet.now();
    for id in ["python-rsi", "js-macd"] {
        let handle = fleet.handle(id).unwrap();
        assert!(handle.slot().component().from_cache);
        fleet.run_tick(&handle, t, t).unwrap();
    }
    fleet.save_states().unwrap();
    assert_eq!(guest_ticks(dir.path(), "python-rsi"), before + 1);
    assert_eq!(guest_ticks(dir.path(), "js-macd"), js_before + 1);
}

/// The tick counter in a Python or JS bot's saved snapshot (JSON).
fn guest_ticks(dir: &Path, id: &str) -> u64 {
    let ledger = flotilla_ledger::Ledger::open(dir.join("ledger.db")).unwrap();
    let state = ledger
        .load_state(&id.into())
        .unwrap()
        .unwrap_or_else(|| panic!("{id} saved a snapshot"));
    let text = String::from_utf8(state).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["ticks"]
        .as_u64()
        .unwrap_or_else(|| panic!("{id} snapshot has ticks: {text}"))
}
