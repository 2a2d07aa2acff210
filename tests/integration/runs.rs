//! A replay lets a bot run its quiet ticks in one `on-ticks` call while no other bot is
//! due. These tests prove that changes nothing: the same report as one `on-tick` call per
//! tick, with bots in Rust, Python and JavaScript, host-managed exits and reallocations
//! changing positions and capital in the middle of runs, several bots due at the same
//! minutes, and a run far longer than one call's deadline.

use flotilla::backtest::{self, ReplayOptions, simulated_events};
use flotilla_backtest::{RunParams, to_json};
use flotilla_config::Registry;
use std::path::PathBuf;

fn registry(bots: &str) -> Registry {
    let text = format!(
        r#"
[fleet]
name = "runs"
components_dir = "{}"
starting_cash = "100000"
rebalance_every = "30m"
[fleet.risk]
max_open_positions = 20
[fleet.market]
seed = 11
symbols = ["AAPL", "MSFT", "SPY"]
start = "2026-01-05T14:30:00Z"
{}"#,
        crate::support::bots_dir().display(),
        bots
    );
    Registry::parse(&text, PathBuf::from("runs.toml")).unwrap()
}

/// Replays `registry` over `days` of simulated minutes in runs, then tick by tick; checks
/// the reports are the same and returns the outcome of the replay in runs.
fn same_both_ways(registry: &Registry, days: u32) -> backtest::BacktestOutcome {
    let events = simulated_events(registry, days, 11).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let replay = |tick_by_tick| {
        let opts = ReplayOptions {
            cache_dir: Some(cache.path().to_path_buf()),
            ledger: None,
            tick_by_tick,
            ..ReplayOptions::default()
        };
        backtest::run_with(registry, events.clone(), RunParams::default(), opts).unwrap()
    };
    let (runs, single) = (replay(false), replay(true));
    assert_eq!(runs.ticks, single.ticks, "the same ticks ran");
    assert_eq!((runs.failures, single.failures), (0, 0), "no call failed");
    assert_eq!(single.calls, single.ticks, "one call per tick");
    assert!(
        to_json(&runs.report) == to_json(&single.report),
        "a replay in runs differs from one call per tick"
    );
    runs
}

const MIXED: &str = r#"
# Tight stops: the host closes positions inside runs.
[[bot]]
id = "sma-fast"
component = "sma_crossover.wasm"
every = "1m"
symbols = ["AAPL", "MSFT"]
[bot.params]
fast = 5
slow = 20
stop_pct = 0.002
take_pct = 0.004

[[bot]]
id = "momentum"
component = "momentum.wasm"
every = "5m"
symbols = ["AAPL", "SPY"]
[bot.params]
allow_short = true

[[bot]]
id = "rsi-python"
component = "rsi_python.wasm"
every = "15m"
symbols = ["MSFT"]
[bot.limits]
memory_mb = 128
deadline_ms = 1000

[[bot]]
id = "macd-js"
component = "macd_js.wasm"
every = "10m"
symbols = ["SPY"]
[bot.limits]
memory_mb = 128
deadline_ms = 1000
"#;

#[test]
fn runs_of_ticks_give_the_same_report_as_one_call_per_tick() {
    let runs = same_both_ways(&registry(MIXED), 4);
    // The 1-minute bot runs the minutes between the others' ticks in one call.
    assert!(
        runs.calls * 10 < runs.ticks * 7,
        "quiet ticks ran in runs: {} calls for {} ticks",
        runs.calls,
        runs.ticks
    );
    for b in &runs.report.bots {
        assert!(b.metrics.trades > 0, "{} traded", b.bot);
    }
    assert_eq!(runs.report.bots.len(), 4);
    let exits = runs
        .report
        .trades
        .iter()
        .filter(|t| t.exit_reason.starts_with("exit:"))
        .count();
    assert!(exits > 0, "host exits fired during runs");
}

#[test]
fn a_lone_bot_s_batches_give_the_same_report_with_exits_firing_inside_them() {
    // Alone, the bot's quiet ticks come in batches (several per host call); tight stops
    // and targets make the host close positions between batches, and reallocations every
    // 30 minutes end them.
    let bots = r#"
[[bot]]
id = "sma-tight"
component = "sma_crossover.wasm"
every = "1m"
symbols = ["MSFT"]
[bot.params]
fast = 4
slow = 16
stop_pct = 0.001
take_pct = 0.0015
"#;
    let runs = same_both_ways(&registry(bots), 3);
    let exits = (runs.report.trades.iter())
        .filter(|t| t.exit_reason.starts_with("exit:"))
        .count();
    assert!(exits > 10, "host exits fired between batches: {exits}");
}

#[test]
fn trailing_stops_and_scale_outs_inside_batches_give_the_same_report() {
    // A trail moves with every new best price and scale-outs take part of the position
    // at set R levels: a batch may only run through bars that touch neither.
    let bots = r#"
[[bot]]
id = "sma-trail"
component = "sma_crossover.wasm"
every = "1m"
symbols = ["AAPL"]
[bot.params]
fast = 4
slow = 16
allow_short = true
stop_pct = 0.002
trail_pct = 0.002
trail_from_r = 0.8
scale_outs = "0.4:0.3,0.8:0.3"
"#;
    let runs = same_both_ways(&registry(bots), 3);
    // Each exit of a round trip is a leg of it (a scale-out is never the last one).
    let reasons: std::collections::BTreeSet<&str> = (runs.report.trades.iter())
        .flat_map(|t| t.exits.iter().map(|l| l.reason.as_str()))
        .collect();
    for want in ["exit:trailing_stop", "exit:scale_out"] {
        assert!(
            reasons.iter().any(|r| r.starts_with(want)),
            "{want} fired: {reasons:?}"
        );
    }
}

#[test]
fn the_deadline_holds_per_tick_not_per_run() {
    // 6,000 quiet ticks of warm-up run in one call, several times the 20 ms deadline long
    // (a 3,000-tick run took ~37 ms here): the deadline must hold per tick.
    let bots = r#"
[[bot]]
id = "sma-slow"
component = "sma_crossover.wasm"
every = "1m"
symbols = ["SPY"]
[bot.limits]
deadline_ms = 20
[bot.params]
fast = 1500
slow = 6000
"#;
    let runs = same_both_ways(&registry(bots), 6);
    assert_eq!(runs.failures, 0, "no call hit the deadline");
    assert!(runs.calls * 100 < runs.ticks, "{} calls", runs.calls);
    assert!(!runs.report.trades.is_empty(), "it traded after warming up");
}

#[test]
fn a_bot_that_breaks_the_run_contract_hurts_only_itself() {
    // `hostile_runs` drains `next-tick` and then returns an intent anyway (in runs), or
    // calls `next-tick` outside a run (one call per tick).
    let bots = r#"
[[bot]]
id = "hostile"
component = "hostile_runs.wasm"
every = "1m"
symbols = ["SPY"]

[[bot]]
id = "sma"
component = "sma_crossover.wasm"
every = "15m"
symbols = ["AAPL"]
[bot.params]
fast = 3
slow = 8
"#;
    let reg = registry(bots);
    let events = simulated_events(&reg, 3, 11).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let replay = |tick_by_tick, db: &str| {
        let opts = ReplayOptions {
            cache_dir: Some(dir.path().join("cache")),
            ledger: Some(dir.path().join(db)),
            tick_by_tick,
            ..ReplayOptions::default()
        };
        let out = backtest::run_with(&reg, events.clone(), RunParams::default(), opts).unwrap();
        let ledger = flotilla_ledger::Ledger::open(dir.path().join(db)).unwrap();
        let summaries = ledger.bot_summaries().unwrap();
        let of = |id: &str| {
            summaries
                .iter()
                .find(|s| s.bot.as_str() == id)
                .unwrap()
                .clone()
        };
        (
            out,
            of("hostile"),
            of("sma"),
            ledger.events(10_000).unwrap(),
        )
    };

    let (runs, hostile, sma, events_in_runs) = replay(false, "runs.db");
    assert!(
        runs.failures > 0 && hostile.errors > 0,
        "{} failures, {} calls, {} ticks: {hostile:?} {sma:?}",
        runs.failures,
        runs.calls,
        runs.ticks
    );
    assert_eq!(
        (hostile.intents, hostile.trades),
        (0, 0),
        "intents after the run ended never reach risk"
    );
    assert!(
        events_in_runs
            .iter()
            .any(|e| e.message.contains("intents after next-tick ended the run")),
        "the reason is in the ledger"
    );
    assert_eq!(sma.errors, 0);
    assert!(sma.trades > 0, "the other bot trades on: {sma:?}");
    assert!(runs.report.trades.iter().all(|t| t.bot.as_str() == "sma"));

    // One call per tick: `next-tick` outside a run answers none, so the bot just idles.
    let (single, hostile, sma, _) = replay(true, "single.db");
    assert_eq!(single.failures, 0);
    assert_eq!((hostile.errors, hostile.intents), (0, 0), "{hostile:?}");
    assert!(
        single.ticks > 3_000,
        "the hostile bot ticked: {}",
        single.ticks
    );
    assert!(sma.trades > 0);
}
