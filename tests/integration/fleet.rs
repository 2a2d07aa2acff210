//! The tick path end to end: bots → risk → paper broker → ledger.

use crate::support::{fleet, registry, run_for};
use flotilla::{Fleet, FleetOptions};
use flotilla_config::{Registry, SOURCE_CONFIG_DIR};
use std::path::Path;
use std::sync::Arc;

#[test]
fn a_simulated_session_produces_fills_from_several_bots() {
    let _serial = crate::support::timing();
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::load(Path::new(SOURCE_CONFIG_DIR).join("fleet.toml")).unwrap();
    let options = FleetOptions::new(
        dir.path().join("ledger.db"),
        Some(crate::support::shared_cache()),
    );
    let fleet = Arc::new(Fleet::build(&reg, &options).unwrap());
    assert_eq!(
        fleet.handles().len(),
        reg.bot.iter().filter(|b| b.enabled).count(),
        "every bundled bot loads"
    );
    // Six simulated hours at 20,000x: about a second of wall time.
    let stats = run_for(&fleet, 20_000.0, 6 * 3_600_000);
    assert!(
        stats.values().all(|s| s.ticks > 0),
        "every bot ticked: {:?}",
        stats
    );
    fleet.save_states().unwrap();
    let core = fleet.core();
    let summaries = core.ledger.bot_summaries().unwrap();
    let trading: Vec<_> = summaries
        .iter()
        .filter(|s| s.trades > 0)
        .map(|s| s.bot.to_string())
        .collect();
    assert!(
        trading.len() >= 3,
        "at least three bots traded, got {trading:?}: {summaries:#?}"
    );
    assert!(
        summaries.iter().all(|s| s.errors == 0),
        "no bot failed: {summaries:#?}"
    );
    let fills = core.ledger.recent_fills(10_000).unwrap();
    let traded: u64 = summaries.iter().map(|s| s.trades).sum();
    assert_eq!(
        fills.len() as u64,
        traded,
        "every trade in the summary is a fill row"
    );
    crate::support::assert_cash_matches_fills(&core);
}

#[test]
fn an_intent_against_another_bots_position_is_refused_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(
        dir.path(),
        r#"
[[bot]]
id = "long-aapl"
component = "fixed_order.wasm"
every = "1m"
symbols = ["AAPL"]
[bot.params]
side = "target"
qty = 10

[[bot]]
id = "short-aapl"
component = "fixed_order.wasm"
every = "1m"
symbols = ["AAPL"]
[bot.params]
side = "target"
qty = -10
"#,
    );
    let fleet = fleet(dir.path(), &reg);
    let t = fleet.start();
    let long = fleet
        .run_tick(&fleet.handle("long-aapl").unwrap(), t, t)
        .unwrap();
    assert_eq!((long.intents, long.orders, long.refused), (1, 1, 0));
    let short = fleet
        .run_tick(&fleet.handle("short-aapl").unwrap(), t, t)
        .unwrap();
    assert_eq!((short.intents, short.orders, short.refused), (1, 0, 1));

    let core = fleet.core();
    let refusals = core.ledger.recent_refusals(10).unwrap();
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0].bot.as_str(), "short-aapl");
    assert_eq!(refusals[0].symbol.as_str(), "AAPL");
    assert_eq!(
        refusals[0].reason.as_deref(),
        Some("contradictory_position")
    );
    let detail = refusals[0].detail.to_string();
    assert!(
        detail.contains("long-aapl"),
        "the refusal names the holder: {detail}"
    );
    let summaries = core.ledger.bot_summaries().unwrap();
    let long = summaries
        .iter()
        .find(|s| s.bot.as_str() == "long-aapl")
        .unwrap();
    assert_eq!((long.approved, long.trades), (1, 1));
    let short = summaries
        .iter()
        .find(|s| s.bot.as_str() == "short-aapl")
        .unwrap();
    assert_eq!((short.refused, short.trades), (1, 0));
    assert_eq!(short.intents, 1);
}

#[test]
fn state_survives_a_restart_through_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let body = r#"
[[bot]]
id = "counter"
component = "fixed_order.wasm"
every = "1m"
symbols = ["AAPL"]
[bot.params]
side = "target"
qty = 1
"#;
    let reg = registry(dir.path(), body);
    {
        let fleet = fleet(dir.path(), &reg);
        let t = fleet.start();
        for i in 0..3 {
            fleet
                .run_tick(
                    &fleet.handle("counter").unwrap(),
                    t.plus_millis(i * 60_000),
                    t.plus_millis(i * 60_000),
                )
                .unwrap();
        }
        fleet.save_states().unwrap();
        assert_eq!(
            fleet
                .core()
                .ledger
                .kv_get(&"counter".into(), "ticks")
                .unwrap()
                .as_deref(),
            Some(&b"3"[..])
        );
    }
    let fleet = fleet(dir.path(), &reg);
    let t = fleet.start();
    fleet
        .run_tick(&fleet.handle("counter").unwrap(), t, t)
        .unwrap();
    // The kv counter continued from the ledger: 3 before the restart, one tick after.
    assert_eq!(
        fleet
            .core()
            .ledger
            .kv_get(&"counter".into(), "ticks")
            .unwrap()
            .as_deref(),
        Some(&b"4"[..])
    );
}
