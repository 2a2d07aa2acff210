//! Hostile test bot: breaks the run-of-ticks contract, which the SDK's runner always keeps,
//! so it implements the generated export trait itself (no other bot should).
//!
//! Every `on-ticks` call takes ticks from `next-tick` until it answers none, then returns a
//! buy of 1 of the first granted symbol anyway: the host must refuse those intents (they
//! belong to no tick). `on-tick` calls `next-tick` outside any run, fails if the host hands
//! out a tick there, and otherwise returns nothing.

use flotilla_sdk::bindings::exports::flotilla::bot::replay_strategy;
use flotilla_sdk::bindings::exports::flotilla::bot::strategy::{
    BotConfig, Description, Fill, Guest, OrderIntent, OrderUpdate, TickContext,
};
use flotilla_sdk::bindings::flotilla::bot::replay;
use flotilla_sdk::bindings::flotilla::bot::types::{OrderAction, Timeframe};
use std::cell::RefCell;

thread_local! {
    static SYMBOL: RefCell<String> = const { RefCell::new(String::new()) };
}

struct HostileRuns;

impl Guest for HostileRuns {
    fn describe() -> Description {
        Description {
            name: "hostile_runs".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            symbols: Vec::new(),
            timeframes: vec![Timeframe::M1],
        }
    }

    fn init(config: BotConfig) -> Result<(), String> {
        let first = config.symbols.first().cloned().ok_or("no symbol granted")?;
        SYMBOL.with(|s| *s.borrow_mut() = first);
        Ok(())
    }

    fn on_tick(_ctx: TickContext) -> Result<Vec<OrderIntent>, String> {
        match replay::next_tick(None) {
            Some(t) => Err(format!(
                "next-tick outside a run handed out tick {}",
                t.ctx.tick
            )),
            None => Ok(Vec::new()),
        }
    }

    fn on_fill(_fill: Fill) {}

    fn on_order(_update: OrderUpdate) {}

    fn snapshot() -> Vec<u8> {
        Vec::new()
    }

    fn restore(_state: Vec<u8>) -> Result<(), String> {
        Ok(())
    }
}

impl replay_strategy::Guest for HostileRuns {
    fn on_ticks(_ctx: TickContext) -> Result<Vec<OrderIntent>, String> {
        while replay::next_tick(None).is_some() {}
        Ok(vec![OrderIntent {
            symbol: SYMBOL.with(|s| s.borrow().clone()),
            action: OrderAction::Buy(1.0),
            confidence: 1.0,
            stop_loss: None,
            take_profit: None,
            trailing: None,
            scale_outs: Vec::new(),
            limit_price: None,
            time_in_force: None,
            tag: "after-the-end".into(),
        }])
    }
}

flotilla_sdk::bindings::export!(HostileRuns with_types_in flotilla_sdk::bindings);
