//! Hostile test bot: emits intents the host must reject at its boundary.
//!
//! Params: `symbol` (first granted); `case` = all (default) or one of the tags below.
//! Intents, tagged by case: `nan_qty` buy NaN, `negative_qty` buy -5, `inf_qty` target
//! +inf, `neg_inf_qty` sell -inf, `high_confidence` buy 1 at confidence 5.0,
//! `nan_confidence` buy 1 at confidence NaN, `nan_stop` buy 1 with a NaN stop-loss and an
//! infinite take-profit.

use flotilla_sdk::{Bot, Config, Tick};

const CASES: [&str; 7] = [
    "nan_qty",
    "negative_qty",
    "inf_qty",
    "neg_inf_qty",
    "high_confidence",
    "nan_confidence",
    "nan_stop",
];

struct HostileNan {
    symbol: String,
    cases: Vec<&'static str>,
}

impl Bot for HostileNan {
    const NAME: &'static str = "hostile_nan";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn init(cfg: &Config) -> Result<Self, String> {
        let first = cfg.symbols().first().cloned().unwrap_or_else(|| "X".into());
        let case: String = cfg.get("case", "all".to_string())?;
        let cases = match CASES.iter().find(|c| **c == case) {
            Some(c) => vec![*c],
            None if case == "all" => CASES.to_vec(),
            None => {
                return Err(format!(
                    "param `case`: expected all or one of {CASES:?}, got {case:?}"
                ));
            }
        };
        Ok(HostileNan {
            symbol: cfg.get("symbol", first)?,
            cases,
        })
    }

    fn on_tick(&mut self, ctx: &mut Tick) -> Result<(), String> {
        let sym = self.symbol.as_str();
        for &case in &self.cases {
            let order = match case {
                "nan_qty" => ctx.buy(sym, f64::NAN),
                "negative_qty" => ctx.buy(sym, -5.0),
                "inf_qty" => ctx.target(sym, f64::INFINITY),
                "neg_inf_qty" => ctx.sell(sym, f64::NEG_INFINITY),
                "high_confidence" => ctx.buy(sym, 1.0).confidence(5.0),
                "nan_confidence" => ctx.buy(sym, 1.0).confidence(f64::NAN),
                _ => ctx
                    .buy(sym, 1.0)
                    .stop_loss(f64::NAN)
                    .take_profit(f64::INFINITY),
            };
            order.tag(case);
        }
        Ok(())
    }
}

flotilla_sdk::export_bot!(HostileNan);
