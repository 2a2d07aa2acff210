//! The execution service: orders leave the tick path, a stalled venue delays no bot, and
//! working orders hold their place in risk until they fill.

use crate::support::{fleet, registry, run_for, timing};
use flotilla_domain::{BotId, OrderState};
use flotilla_ledger::{Ledger, OrderFilter};
use std::time::{Duration, Instant};

const TWO_BOTS: &str = r#"
[[bot]]
id = "trader"
component = "fixed_order.wasm"
every = "1m"
symbols = ["AAPL"]
[bot.params]
qty = 1
limit = 1

[[bot]]
id = "watcher"
component = "fixed_order.wasm"
every = "1m"
symbols = ["MSFT"]
[bot.params]
limit = 0
"#;

#[test]
fn a_venue_stalled_for_ten_seconds_delays_no_bot() {
    let _t = timing();
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path(), TWO_BOTS);
    let fleet = fleet(dir.path(), &reg);
    fleet
        .start_execution_with(&dir.path().join("venue.db"), Some(Duration::from_secs(10)))
        .unwrap();
    // One simulated minute per real second: 12 ticks of each bot while the venue sleeps
    // through the trader's one order for 10 s.
    let started = Instant::now();
    let stats = run_for(&fleet, 60.0, 12 * 60_000);
    let ran = started.elapsed();
    assert!(ran < Duration::from_secs(15), "the run took {ran:?}");
    for bot in ["trader", "watcher"] {
        let s = stats[&BotId::new(bot)];
        assert!(s.ticks >= 11, "{bot} ticked {} times: {s:?}", s.ticks);
        assert_eq!(s.skipped, 0, "{bot} missed runs while the venue stalled");
    }
    let ledger = Ledger::open(dir.path().join("ledger.db")).unwrap();
    let orders = ledger.orders(&OrderFilter::default()).unwrap();
    assert_eq!(orders.len(), 1, "one order, sent once");
    // The stall ends inside the run; what the venue then reports is booked.
    fleet.stop_execution();
    let orders = ledger.orders(&OrderFilter::default()).unwrap();
    let o = &orders[0];
    let states: Vec<OrderState> = o.history.iter().map(|e| e.to).collect();
    assert_eq!(
        states,
        [
            OrderState::Created,
            OrderState::Submitted,
            OrderState::Accepted,
            OrderState::Filled
        ],
        "{o:?}"
    );
    let venue = fleet.execution().unwrap().paper().unwrap();
    assert_eq!(
        venue
            .submissions(&o.client_id.as_deref().unwrap().parse().unwrap())
            .unwrap(),
        1
    );
    assert_eq!(ledger.all_fills().unwrap().len(), 1);
}

#[test]
fn a_working_order_holds_its_place_so_a_target_is_not_sent_twice() {
    let _t = timing();
    let dir = tempfile::tempdir().unwrap();
    // A bot that asks for the same target every tick: while its first order works, the
    // projection already holds the target, so no second order goes out.
    let reg = registry(
        dir.path(),
        r#"
[[bot]]
id = "target"
component = "fixed_order.wasm"
every = "1m"
symbols = ["AAPL"]
[bot.params]
side = "target"
qty = 3
"#,
    );
    let fleet = fleet(dir.path(), &reg);
    fleet
        .start_execution_with(&dir.path().join("venue.db"), Some(Duration::from_secs(3)))
        .unwrap();
    run_for(&fleet, 60.0, 6 * 60_000);
    fleet.stop_execution();
    let ledger = Ledger::open(dir.path().join("ledger.db")).unwrap();
    let orders = ledger.orders(&OrderFilter::default()).unwrap();
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(orders[0].state, OrderState::Filled);
    let p = &ledger.positions().unwrap()[0];
    assert_eq!(p.quantity, rust_decimal::Decimal::from(3));
}

#[test]
fn a_resting_limit_order_is_accepted_then_canceled_at_the_bots_request_through_the_venue() {
    let _t = timing();
    let dir = tempfile::tempdir().unwrap();
    // Order 1 is a buy far below the market, good till canceled: it rests at the venue.
    // From its second tick on the bot asks to cancel order 1.
    let reg = registry(
        dir.path(),
        r#"
[[bot]]
id = "limiter"
component = "fixed_order.wasm"
every = "1m"
symbols = ["AAPL"]
[bot.params]
qty = 1
limit = 1
limit_price = 1
tif = "gtc"
cancel = "1"
"#,
    );
    let fleet = fleet(dir.path(), &reg);
    fleet.start_execution(&dir.path().join("venue.db")).unwrap();
    run_for(&fleet, 60.0, 5 * 60_000);
    fleet.stop_execution();
    let ledger = Ledger::open(dir.path().join("ledger.db")).unwrap();
    let orders = ledger.orders(&OrderFilter::default()).unwrap();
    assert_eq!(orders.len(), 1, "{orders:?}");
    let o = &orders[0];
    assert_eq!(
        (o.order_type.as_str(), o.time_in_force.as_str()),
        ("limit", "gtc")
    );
    let states: Vec<OrderState> = o.history.iter().map(|e| e.to).collect();
    assert_eq!(
        states,
        [
            OrderState::Created,
            OrderState::Submitted,
            OrderState::Accepted,
            OrderState::PendingCancel,
            OrderState::Canceled
        ],
        "{o:?}"
    );
    let venue = fleet.execution().unwrap().paper().unwrap();
    let client = o.client_id.as_deref().unwrap().parse().unwrap();
    assert_eq!(
        venue.order(&client).unwrap().unwrap().state,
        OrderState::Canceled,
        "the venue canceled it"
    );
    assert!(ledger.all_fills().unwrap().is_empty());
    // The bot heard both updates: accepted, then canceled.
    let kv: std::collections::BTreeMap<String, String> = ledger
        .kv_all(&BotId::new("limiter"))
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v).unwrap()))
        .collect();
    assert_eq!(kv.get("orders").map(String::as_str), Some("2"), "{kv:?}");
    assert!(
        kv["last_order"].to_lowercase().ends_with("canceled"),
        "{kv:?}"
    );
}
