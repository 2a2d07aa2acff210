//! Two contract versions side by side: a bot built for 0.6.0 (a committed binary fixture)
//! keeps running and trading unchanged next to 0.7.0 bots, and 0.7.0's orders (limit
//! prices, working orders, cancels, order updates) cross the boundary both ways.

use crate::support::{bot, fleet, registry, run_for};
use flotilla_domain::{
    BotId, Decimal, OrderId, OrderState, OrderType, Side, Symbol, TimeInForce, Timestamp,
};
use flotilla_market::{BarStore, SharedBars};
use flotilla_runtime::{
    BotInstance, BoundaryLimits, Contract, HostIo, NextTick, OrderUpdateKind, OrderUpdateView,
    Runtime, RuntimeConfig, SandboxLimits, WorkingOrderView, validate_intents,
};
use std::path::PathBuf;
use std::sync::Arc;

/// `bots/testing/fixed_order` as built for contract 0.6.0, before 0.7.0 existed.
fn fixture_0_6() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/contract-0.6.0/fixed_order.wasm")
        .canonicalize()
        .expect("the 0.6.0 fixture is committed")
}

/// A working limit buy of AAA, `id`, in `state`.
fn working(id: u64, state: OrderState) -> WorkingOrderView {
    WorkingOrderView {
        id: OrderId(id),
        symbol: Symbol::new("AAA"),
        side: Side::Buy,
        quantity: 2.0,
        filled: 0.0,
        limit_price: Some(99.0),
        time_in_force: TimeInForce::Gtc,
        state,
        time: Timestamp(0),
        tag: "fixed_order".into(),
    }
}

fn update(id: u64, event: OrderUpdateKind) -> OrderUpdateView {
    OrderUpdateView {
        order_id: OrderId(id),
        symbol: Symbol::new("AAA"),
        event,
        time: Timestamp(60_000),
        tag: "fixed_order".into(),
    }
}

/// An instance of `component` with `params`, on a market of 40 one-minute bars of AAA.
fn instance(rt: &Runtime, component: &std::path::Path, params: &[(&str, &str)]) -> BotInstance {
    let sym = Symbol::new("AAA");
    let mut store = BarStore::new();
    for i in 0..40 {
        let bar = flotilla_domain::Bar {
            time: Timestamp(i * 60_000),
            open: 100.0,
            high: 100.0,
            low: 100.0,
            close: 100.0,
            volume: 1.0,
        };
        store.push_m1(&sym, bar).unwrap();
    }
    let market = Arc::new(SharedBars::new(store));
    let component = rt.load_file(component).unwrap();
    let io = HostIo::new(BotId::new("f"), vec![sym], market);
    let mut inst = BotInstance::new(rt, &component, io, SandboxLimits::default(), 7).unwrap();
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    inst.init(&params).unwrap();
    inst
}

fn kv(inst: &mut BotInstance, key: &str) -> Option<String> {
    inst.io()
        .kv
        .get(key)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

#[test]
fn the_fixture_is_a_0_6_0_component_and_bundled_bots_are_0_7_0() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    assert_eq!(
        rt.load_file(&fixture_0_6()).unwrap().contract(),
        Contract::V0_6
    );
    for name in ["fixed_order", "sma_crossover", "rsi_python", "rsi_js"] {
        let c = rt.load_file(&bot(name)).unwrap();
        assert_eq!(c.contract(), Contract::V0_7, "{name}");
    }
    assert_eq!(Contract::V0_6.as_str(), flotilla_runtime::CONTRACT_0_6);
    assert_eq!(flotilla_runtime::CONTRACT, "flotilla:bot@0.7.0");
}

#[test]
fn a_0_7_0_bot_sends_limit_orders_sees_working_orders_asks_cancels_and_hears_updates() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    let params = [
        ("side", "buy"),
        ("qty", "2"),
        ("limit_price", "99.5"),
        ("tif", "gtc"),
        ("cancel", "7,8,99"),
    ];
    let mut inst = instance(&rt, &bot("fixed_order"), &params);
    assert_eq!(inst.contract(), Contract::V0_7);
    inst.io().working = Arc::from([
        working(7, OrderState::Accepted),
        working(8, OrderState::PendingCancel),
    ]);
    let out = inst.on_tick(Timestamp(40 * 60_000), 1_000.0).unwrap();
    assert_eq!(
        out.cancels,
        [OrderId(7)],
        "the working one, once; 8 is already pending"
    );
    assert_eq!(
        kv(&mut inst, "cancel_errors").as_deref(),
        Some("order #99 is not one of this bot's working orders")
    );
    let (intents, rejected) = validate_intents(
        &BotId::new("f"),
        &[Symbol::new("AAA")],
        out.intents,
        &BoundaryLimits::default(),
    );
    assert!(rejected.is_empty(), "{rejected:?}");
    let i = &intents[0];
    assert_eq!(
        (i.order_type, i.limit_price, i.time_in_force),
        (
            OrderType::Limit,
            Some(Decimal::new(995, 1)),
            TimeInForce::Gtc
        )
    );

    inst.on_order(&update(7, OrderUpdateKind::PartialFill { cumulative: 1.0 }))
        .unwrap();
    inst.on_order(&update(7, OrderUpdateKind::Canceled))
        .unwrap();
    assert_eq!(kv(&mut inst, "orders").as_deref(), Some("2"));
    assert_eq!(kv(&mut inst, "last_order").as_deref(), Some("7 Canceled"));
}

/// A run's source handing out `n` more one-minute ticks after 40 minutes, then none.
fn ticks(n: i64) -> flotilla_runtime::TickSource {
    let mut handed = 0;
    Box::new(move || {
        handed += 1;
        let time = Timestamp((40 + handed) * 60_000);
        (handed <= n).then(|| NextTick {
            scheduled: time,
            time,
            capital: 1_000.0,
            positions: Arc::from([]),
        })
    })
}

#[test]
fn the_bundled_limit_bot_cancels_a_stale_entry_and_the_run_hands_back_with_it() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    // A flat market: no breakout, so every tick is quiet and a run goes on...
    let mut inst = instance(&rt, &bot("bollinger_breakout"), &[("entry", "limit")]);
    let run = inst.run(Timestamp(40 * 60_000), 1_000.0, Some(ticks(5)));
    assert_eq!(run.ticks, 6, "the source ended the run");
    assert!(run.result.unwrap().cancels.is_empty());
    // ...until a tick asks a cancel (of an entry 40 bars old): it goes back with it.
    inst.io().working = Arc::from([working(7, OrderState::Accepted)]);
    let run = inst.run(Timestamp(50 * 60_000), 1_000.0, Some(ticks(5)));
    assert_eq!(
        run.ticks, 1,
        "the run stopped at the tick that asked the cancel"
    );
    assert_eq!(run.result.unwrap().cancels, [OrderId(7)]);
}

#[test]
fn a_0_6_0_bot_runs_unchanged_its_intents_at_the_market_and_order_updates_a_no_op() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    // 0.7.0's params mean nothing to the old build: it sends what 0.6.0 could.
    let params = [
        ("side", "buy"),
        ("qty", "2"),
        ("limit_price", "99.5"),
        ("cancel", "7"),
    ];
    let mut inst = instance(&rt, &fixture_0_6(), &params);
    assert_eq!(inst.contract(), Contract::V0_6);
    inst.io().working = Arc::from([working(7, OrderState::Accepted)]);
    let out = inst.on_tick(Timestamp(40 * 60_000), 1_000.0).unwrap();
    assert!(out.cancels.is_empty());
    let (intents, _) = validate_intents(
        &BotId::new("f"),
        &[Symbol::new("AAA")],
        out.intents,
        &BoundaryLimits::default(),
    );
    let i = &intents[0];
    assert_eq!(
        (i.order_type, i.limit_price, i.time_in_force),
        (OrderType::Market, None, TimeInForce::Day)
    );
    inst.on_order(&update(7, OrderUpdateKind::Filled)).unwrap();
    assert_eq!(
        kv(&mut inst, "orders"),
        None,
        "a 0.6.0 bot hears no order updates"
    );
    assert!(!inst.is_poisoned());
}

#[test]
fn a_0_6_0_bot_trades_in_a_fleet_next_to_0_7_0_bots() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        r#"
[[bot]]
id = "old-fixed"
component = "{}"
every = "1m"
symbols = ["AAPL"]
[bot.params]
side = "target"
qty = 5

[[bot]]
id = "new-fixed"
component = "fixed_order.wasm"
every = "1m"
symbols = ["MSFT"]
[bot.params]
side = "target"
qty = 3

[[bot]]
id = "new-sma"
component = "sma_crossover.wasm"
every = "1m"
symbols = ["SPY", "QQQ"]
[bot.params]
fast = 5
slow = 15
"#,
        fixture_0_6().display()
    );
    let reg = registry(dir.path(), &body);
    let fleet = fleet(dir.path(), &reg);
    let contract = |id: &str| fleet.handle(id).unwrap().slot().component().contract();
    assert_eq!(contract("old-fixed"), Contract::V0_6);
    assert_eq!(contract("new-fixed"), Contract::V0_7);
    assert_eq!(contract("new-sma"), Contract::V0_7);

    // Three simulated hours at 20,000x: about half a second of wall time.
    let stats = run_for(&fleet, 20_000.0, 3 * 3_600_000);
    assert!(stats.values().all(|s| s.ticks > 0), "{stats:?}");
    // An order update reaches a 0.6.0 bot as nothing at all, and costs it nothing.
    let old = fleet.handle("old-fixed").unwrap();
    old.slot().on_order(&update(1, OrderUpdateKind::Accepted));
    assert_eq!(old.slot().stats.failures, 0);
    fleet.save_states().unwrap();

    let core = fleet.core();
    let summaries = core.ledger.bot_summaries().unwrap();
    let summary = |id: &str| summaries.iter().find(|s| s.bot.as_str() == id).unwrap();
    for id in ["old-fixed", "new-fixed", "new-sma"] {
        assert_eq!(summary(id).errors, 0, "{id}: {:#?}", summary(id));
    }
    assert_eq!(summary("old-fixed").trades, 1, "its one target, filled");
    assert_eq!(summary("new-fixed").trades, 1);
    assert!(summary("new-sma").trades > 0, "{:#?}", summary("new-sma"));
    // The old bot's own bookkeeping ran: every tick and its fill reached it.
    let kv = |key: &str| {
        core.ledger
            .kv_get(&"old-fixed".into(), key)
            .unwrap()
            .map(|v| String::from_utf8(v).unwrap())
    };
    assert_eq!(kv("fills").as_deref(), Some("1"));
    let ticks: u64 = kv("ticks").unwrap().parse().unwrap();
    assert!(ticks > 60, "{ticks} ticks");
}
