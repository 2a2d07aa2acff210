//! Momentum: long while the rate of change over `lookback` bars exceeds `threshold`;
//! short below `-threshold` with `allow_short=true`; flat otherwise.
//!
//! Params: `lookback` (20), `threshold` (0.002), plus [`Directional`]'s `timeframe` (1m),
//! `allow_short` (false), `fraction` (equal share), `stop_pct` (0.03), `take_pct` (0.06).
//! Confidence grows with how far the rate of change exceeds the threshold.

use flotilla_sdk::directional::Directional;
use flotilla_sdk::indicators::roc;
use flotilla_sdk::{Bot, Config, Fill, Signal, Tick, Timeframe};

struct Momentum {
    lookback: usize,
    threshold: f64,
    d: Directional,
}

impl Bot for Momentum {
    const NAME: &'static str = "momentum";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    /// The timeframe is a param and `describe` runs before `init`: declare them all.
    fn timeframes() -> Vec<Timeframe> {
        Timeframe::ALL.to_vec()
    }

    fn init(cfg: &Config) -> Result<Self, String> {
        let lookback: usize = cfg.get("lookback", 20)?;
        let threshold: f64 = cfg.get("threshold", 0.002)?;
        if lookback == 0 {
            return Err("param `lookback`: must be at least 1".into());
        }
        if threshold <= 0.0 {
            return Err(format!(
                "param `threshold`: must be positive, got {threshold}"
            ));
        }
        Directional::warn_unknown(cfg, &["lookback", "threshold"]);
        let d = Directional::from_config(cfg, 0.03, 0.06)?;
        Ok(Momentum {
            lookback,
            threshold,
            d,
        })
    }

    fn on_tick(&mut self, ctx: &mut Tick) -> Result<(), String> {
        self.d.ticks += 1;
        for sym in ctx.symbols() {
            let Some(closes) = self.d.closes(ctx, sym, self.lookback + 1) else {
                continue;
            };
            // The SDK's ROC is in percent (TA-Lib's); `threshold` is a fraction.
            let Some(change) = roc(&closes, self.lookback).map(|pct| pct / 100.0) else {
                continue;
            };
            let signal = if change > self.threshold {
                Signal::Long
            } else if change < -self.threshold {
                self.d.bearish()
            } else {
                Signal::Flat
            };
            let strength = (change.abs() - self.threshold) / self.threshold;
            let price = closes[closes.len() - 1];
            self.d.act(ctx, sym, signal, price, strength, Self::NAME);
        }
        Ok(())
    }

    fn on_fill(&mut self, _fill: &Fill) {
        self.d.fills += 1;
    }

    fn snapshot(&self) -> Vec<u8> {
        self.d.snapshot()
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        self.d.restore(state)
    }
}

flotilla_sdk::export_bot!(Momentum);

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_sdk::Action;
    use flotilla_sdk::testing::{Harness, reset, set_closes};

    #[test]
    fn follows_rate_of_change_across_symbols() {
        reset();
        set_closes("UP", Timeframe::M5, &[100.0, 100.5, 101.0]);
        set_closes("DN", Timeframe::M5, &[100.0, 99.5, 99.0]);
        set_closes("FLAT", Timeframe::M5, &[100.0, 100.1, 100.1]);
        let params = [
            ("lookback", "2"),
            ("timeframe", "5m"),
            ("allow_short", "true"),
        ];
        let mut h = Harness::<Momentum>::init("m", &["UP", "DN", "FLAT"], &params).unwrap();
        let out = h.tick(0, 3_000.0).unwrap();
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[0].symbol, "UP");
        assert_eq!(out[0].action, Action::Target(1_000.0 / 101.0));
        assert_eq!(out[0].take_profit, Some(101.0 * 1.06));
        assert_eq!(out[1].symbol, "DN");
        assert_eq!(out[1].action, Action::Target(-1_000.0 / 99.0));
        assert_eq!(out[1].stop_loss, Some(99.0 * 1.03));
    }
}
