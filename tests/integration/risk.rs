//! The risk chain and host duties end to end, with real bots and a real ledger.

use crate::support::{bot, fleet, registry};
use flotilla_domain::{BotId, Decimal};

const LOSER: &str = r#"
[fleet.broker]
kind = "paper"
slippage_bps = 100
fee_bps = 100

[fleet.risk]
daily_loss_limit = "50"

[[bot]]
id = "loser"
component = "fixed_order.wasm"
every = "1m"
symbols = ["AAPL"]
[bot.params]
side = "buy"
qty = 10
"#;

#[test]
fn a_daily_loss_halts_trading_until_the_next_session() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path(), LOSER);
    let fleet = fleet(dir.path(), &reg);
    let h = fleet.handle("loser").unwrap();
    let t0 = fleet.start();
    let minute = |i: i64| t0.plus_millis(i * 60_000);
    fleet.on_minute(minute(0), false).unwrap(); // opens the session at the starting equity
    // Each buy pays 1% slippage and 1% fees: two of them lose more than 50.
    for i in 0..2 {
        let s = fleet.run_tick(&h, minute(i), minute(i)).unwrap();
        assert_eq!(s.orders, 1, "{s:?}");
        fleet.on_minute(minute(i + 1), false).unwrap();
    }
    let s = fleet.run_tick(&h, minute(2), minute(2)).unwrap();
    assert_eq!((s.orders, s.refused), (0, 1), "halted: {s:?}");
    {
        let core = fleet.core();
        let refusal = &core.ledger.recent_refusals(1).unwrap()[0];
        assert_eq!(refusal.reason.as_deref(), Some("trading_state"));
        let events = core.ledger.events(50).unwrap();
        let halt = events
            .iter()
            .find(|e| e.kind == "trading_state")
            .expect("the halt is audited");
        assert!(
            halt.message.contains("Halted") && halt.message.contains("daily loss"),
            "{}",
            halt.message
        );
    }
    // The session resets at 00:00 UTC: the next day trades again.
    let next_day = flotilla_domain::Timestamp((t0.0 / 86_400_000 + 1) * 86_400_000 + 60_000);
    fleet.on_minute(next_day, false).unwrap();
    let s = fleet.run_tick(&h, next_day, next_day).unwrap();
    assert_eq!(
        s.orders, 1,
        "trading resumed after the session reset: {s:?}"
    );
    let core = fleet.core();
    let events = core.ledger.events(50).unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == "trading_state" && e.message.contains("SessionReset")),
        "{events:#?}"
    );
}

#[test]
fn a_host_stop_loss_fires_while_its_bot_is_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    // A stop far above the price: the first bar after entry touches it.
    let reg = registry(
        dir.path(),
        r#"
[[bot]]
id = "guarded"
component = "fixed_order.wasm"
every = "1m"
symbols = ["AAPL"]
[bot.params]
side = "target"
qty = 5
stop_loss = 1000000
"#,
    );
    let fleet = fleet(dir.path(), &reg);
    let h = fleet.handle("guarded").unwrap();
    let t0 = fleet.start();
    fleet.on_minute(t0, false).unwrap();
    let s = fleet.run_tick(&h, t0, t0).unwrap();
    assert_eq!(s.orders, 1, "{s:?}");
    let id = BotId::new("guarded");
    let symbol = flotilla_domain::Symbol::new("AAPL");
    assert!(fleet.core().portfolio.quantity(&id, &symbol) > Decimal::ZERO);

    // The bot is replaced by a build that traps on every tick, until it is quarantined.
    let mut spec = h.spec();
    spec.component = bot("hostile_trap");
    spec.params = vec![];
    let report = fleet.apply(vec![spec]);
    assert_eq!(report.replaced, vec![id.clone()], "{report:?}");
    for _ in 0..3 {
        assert!(fleet.run_tick(&h, t0, t0).unwrap().error.is_some());
    }
    assert!(
        h.slot().quarantined_until().is_some_and(|u| u > t0),
        "quarantined"
    );

    // The next bar: the host closes the position by itself.
    fleet.on_minute(t0.plus_millis(60_000), false).unwrap();
    let core = fleet.core();
    assert_eq!(
        core.portfolio.quantity(&id, &symbol),
        Decimal::ZERO,
        "the stop closed the position"
    );
    let events = core.ledger.events(50).unwrap();
    let exit = events
        .iter()
        .find(|e| e.kind == "exit")
        .expect("the exit is recorded");
    assert!(
        exit.message.starts_with("stop_loss sell 5 AAPL") && exit.message.ends_with("filled"),
        "{}",
        exit.message
    );
    let fills = core.ledger.recent_fills(10).unwrap();
    assert!(fills[0].tag.starts_with("exit:"), "{:?}", fills[0]);
    assert!(events.iter().any(|e| e.kind == "quarantine"));
}
