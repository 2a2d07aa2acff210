//! Test bot: emits one configured intent every `every` ticks and counts what happens, so
//! host tests can check routing, kv persistence and snapshot carry-over.
//!
//! Params: `symbol` (first granted), `side` = buy | sell | target (buy), `qty` (1),
//! `every` (1), `limit` (most intents sent; none = no limit), `tag` ("fixed_order"),
//! `confidence` (1.0), `stop_loss`, `take_profit`, `trail_pct` / `trail_atr` (a trailing
//! stop), `trail_from_r`, `scale_outs` (`R:fraction` pairs, e.g. `1:0.5`) (absent = none),
//! `limit_price` (a limit order; absent = market), `tif` (day/gtc/ioc/fok; absent = none
//! sent), `cancel` (order ids, comma-separated, to ask to cancel every tick).
//!
//! Counters, all ASCII decimal so tests can read them directly:
//! - kv `ticks`: incremented every tick from its stored value (survives via the host kv);
//! - kv `fills`: incremented on every fill;
//! - kv `orders`: incremented on every order update, the last one in kv `last_order`
//!   (`<id> <event>`);
//! - kv `cancel_errors`: the host's refusals of the last tick's cancels, `; `-separated;
//! - snapshot: the in-memory tick count (survives only through snapshot/restore).
//!
//! `tests/fixtures/contract-0.6.0/fixed_order.wasm` is this bot built for contract 0.6.0,
//! before the order params and counters: it must keep running unchanged.

use flotilla_sdk::directional::ExitParams;
use flotilla_sdk::{Bot, Config, Fill, OrderUpdate, Tick, TimeInForce};

enum Kind {
    Buy,
    Sell,
    Target,
}

struct FixedOrder {
    symbol: String,
    kind: Kind,
    qty: f64,
    every: u64,
    tag: String,
    confidence: f64,
    stop_loss: Option<f64>,
    take_profit: Option<f64>,
    exits: ExitParams,
    limit: Option<u64>,
    limit_price: Option<f64>,
    tif: Option<TimeInForce>,
    cancel: Vec<u64>,
    sent: u64,
    ticks: u64,
}

/// Adds one to an ASCII decimal counter in the kv store.
fn bump(key: &str) -> u64 {
    let old = flotilla_sdk::host::kv_get(key)
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0);
    flotilla_sdk::host::kv_set(key, (old + 1).to_string().as_bytes());
    old + 1
}

impl Bot for FixedOrder {
    const NAME: &'static str = "fixed_order";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn init(cfg: &Config) -> Result<Self, String> {
        let first = cfg.symbols().first().cloned().unwrap_or_default();
        let symbol: String = cfg.get("symbol", first)?;
        if symbol.is_empty() {
            return Err("param `symbol`: not set and no symbol granted".into());
        }
        let kind = match cfg
            .get("side", "buy".to_string())?
            .to_ascii_lowercase()
            .as_str()
        {
            "buy" => Kind::Buy,
            "sell" => Kind::Sell,
            "target" => Kind::Target,
            other => {
                return Err(format!(
                    "param `side`: expected buy, sell or target, got {other:?}"
                ));
            }
        };
        let every: u64 = cfg.get("every", 1)?;
        if every == 0 {
            return Err("param `every`: must be at least 1".into());
        }
        let cancel = cfg
            .raw("cancel")
            .unwrap_or("")
            .split(',')
            .filter(|id| !id.trim().is_empty())
            .map(|id| id.trim().parse::<u64>())
            .collect::<Result<Vec<u64>, _>>()
            .map_err(|_| "param `cancel`: expected order ids like 3,7".to_string())?;
        Ok(FixedOrder {
            symbol,
            kind,
            qty: cfg.get("qty", 1.0)?,
            every,
            tag: cfg.get("tag", Self::NAME.to_string())?,
            confidence: cfg.get("confidence", 1.0)?,
            stop_loss: cfg.get_opt("stop_loss")?,
            take_profit: cfg.get_opt("take_profit")?,
            exits: ExitParams::from_config(cfg)?,
            limit: cfg.get_opt("limit")?,
            limit_price: cfg.get_opt("limit_price")?,
            tif: cfg.get_opt("tif")?,
            cancel,
            sent: 0,
            ticks: 0,
        })
    }

    fn on_tick(&mut self, ctx: &mut Tick) -> Result<(), String> {
        self.ticks += 1;
        bump("ticks");
        if !self.cancel.is_empty() {
            let errors: Vec<String> = self
                .cancel
                .iter()
                .filter_map(|&id| ctx.cancel(id).err())
                .collect();
            ctx.kv_set("cancel_errors", errors.join("; "));
        }
        if !self.ticks.is_multiple_of(self.every) || self.limit.is_some_and(|l| self.sent >= l) {
            return Ok(());
        }
        self.sent += 1;
        let sym = self.symbol.as_str();
        let order = match self.kind {
            Kind::Buy => ctx.buy(sym, self.qty),
            Kind::Sell => ctx.sell(sym, self.qty),
            Kind::Target => ctx.target(sym, self.qty),
        };
        let order = order
            .confidence(self.confidence)
            .stop_loss_opt(self.stop_loss)
            .take_profit_opt(self.take_profit)
            .tag(self.tag.as_str());
        let order = match self.limit_price {
            Some(p) => order.limit(p),
            None => order,
        };
        let order = match self.tif {
            Some(t) => order.time_in_force(t),
            None => order,
        };
        self.exits.apply(order);
        Ok(())
    }

    fn on_fill(&mut self, _fill: &Fill) {
        bump("fills");
    }

    fn on_order(&mut self, update: &OrderUpdate) {
        bump("orders");
        let last = format!("{} {:?}", update.order_id, update.event);
        flotilla_sdk::host::kv_set("last_order", last.as_bytes());
    }

    fn snapshot(&self) -> Vec<u8> {
        self.ticks.to_string().into_bytes()
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        if state.is_empty() {
            return Ok(());
        }
        let text = core::str::from_utf8(state).map_err(|_| "snapshot is not UTF-8")?;
        self.ticks = text
            .parse()
            .map_err(|_| format!("snapshot {text:?} is not a tick count"))?;
        Ok(())
    }
}

flotilla_sdk::export_bot!(FixedOrder);

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_sdk::Action;
    use flotilla_sdk::testing::{Harness, reset};

    #[test]
    fn emits_every_n_and_counts() {
        reset();
        let params = [
            ("side", "target"),
            ("qty", "-2"),
            ("every", "2"),
            ("stop_loss", "90"),
        ];
        let mut h = Harness::<FixedOrder>::init("f", &["AAA"], &params).unwrap();
        assert!(h.tick(0, 1.0).unwrap().is_empty());
        let out = h.tick(1, 1.0).unwrap();
        assert_eq!(out[0].action, Action::Target(-2.0));
        assert_eq!(
            (out[0].stop_loss, out[0].tag.as_str()),
            (Some(90.0), "fixed_order")
        );
        assert_eq!(flotilla_sdk::host::kv_get("ticks"), Some(b"2".to_vec()));
        assert_eq!(h.snapshot(), b"2");
        let mut h2 = Harness::<FixedOrder>::init("f", &["AAA"], &params).unwrap();
        h2.restore(b"2").unwrap();
        assert!(h2.tick(2, 1.0).unwrap().is_empty(), "tick 3 of 2-periodic");
        assert_eq!(flotilla_sdk::host::kv_get("ticks"), Some(b"3".to_vec()));
        assert!(Harness::<FixedOrder>::init("f", &["AAA"], &[("side", "hold")]).is_err());
        assert!(Harness::<FixedOrder>::init("f", &[], &[]).is_err());
    }

    #[test]
    fn limit_orders_cancels_and_order_updates() {
        use flotilla_sdk::testing::{set_working_orders, take_cancels};
        use flotilla_sdk::{OrderEvent, OrderState, Side, WorkingOrder};
        reset();
        set_working_orders(vec![WorkingOrder {
            id: 3,
            symbol: "AAA".into(),
            side: Side::Buy,
            quantity: 1.0,
            filled: 0.0,
            limit_price: Some(9.0),
            time_in_force: TimeInForce::Gtc,
            state: OrderState::Accepted,
            time: 0,
            tag: "fixed_order".into(),
        }]);
        let params = [("limit_price", "9.5"), ("tif", "ioc"), ("cancel", "3, 4")];
        let mut h = Harness::<FixedOrder>::init("f", &["AAA"], &params).unwrap();
        let out = h.tick(0, 1.0).unwrap();
        assert_eq!(
            (out[0].limit_price, out[0].time_in_force),
            (Some(9.5), Some(TimeInForce::Ioc))
        );
        assert_eq!(take_cancels(), vec![3]);
        let errors = flotilla_sdk::host::kv_get("cancel_errors").unwrap();
        assert_eq!(
            String::from_utf8(errors).unwrap(),
            "order #4 is not one of this bot's working orders"
        );
        h.order(&OrderUpdate {
            order_id: 3,
            symbol: "AAA".into(),
            event: OrderEvent::Canceled,
            time: 60_000,
            tag: "fixed_order".into(),
        });
        assert_eq!(flotilla_sdk::host::kv_get("orders"), Some(b"1".to_vec()));
        assert_eq!(
            flotilla_sdk::host::kv_get("last_order"),
            Some(b"3 Canceled".to_vec())
        );
        assert!(Harness::<FixedOrder>::init("f", &["AAA"], &[("tif", "week")]).is_err());
        assert!(Harness::<FixedOrder>::init("f", &["AAA"], &[("cancel", "x")]).is_err());
    }
}
