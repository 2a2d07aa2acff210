//! RSI mean reversion: buy when RSI (Wilder) drops below `oversold`, exit when it climbs
//! back above `exit`; with `allow_short=true`, short above `overbought`, exit below `exit`.
//!
//! Params: `period` (14), `oversold` (30), `overbought` (70), `exit` (50), plus
//! [`Directional`]'s `timeframe` (1m), `allow_short` (false), `fraction` (equal share),
//! `stop_pct` (0.03), `take_pct` (0 = none). Confidence grows with how far RSI is beyond
//! the entry threshold.
//!
//! The host computes the RSI (the `indicator` import, TA-Lib's definition over
//! `period + 1 + 10 x period` bars), so the bot copies one value per tick instead of the
//! whole history Wilder's smoothing needs.

use flotilla_sdk::directional::Directional;
use flotilla_sdk::{Bot, Config, Fill, Indicator, Signal, Tick, Timeframe};

struct RsiReversion {
    period: usize,
    oversold: f64,
    overbought: f64,
    exit: f64,
    d: Directional,
}

impl RsiReversion {
    /// Holds an open position until RSI crosses `exit`; otherwise enters on the extremes.
    fn decide(&self, prev: Signal, rsi: f64) -> Signal {
        match prev {
            Signal::Long if rsi <= self.exit => Signal::Long,
            Signal::Short if rsi >= self.exit => Signal::Short,
            _ if rsi < self.oversold => Signal::Long,
            _ if rsi > self.overbought => self.d.bearish(),
            _ => Signal::Flat,
        }
    }
}

impl Bot for RsiReversion {
    const NAME: &'static str = "rsi_reversion";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    /// The timeframe is a param and `describe` runs before `init`: declare them all.
    fn timeframes() -> Vec<Timeframe> {
        Timeframe::ALL.to_vec()
    }

    fn init(cfg: &Config) -> Result<Self, String> {
        let period: usize = cfg.get("period", 14)?;
        let oversold: f64 = cfg.get("oversold", 30.0)?;
        let overbought: f64 = cfg.get("overbought", 70.0)?;
        let exit: f64 = cfg.get("exit", 50.0)?;
        if !(2..=100_000).contains(&period) {
            return Err(format!(
                "param `period`: must be in 2..=100000, got {period}"
            ));
        }
        if !(0.0 < oversold && oversold < exit && exit < overbought && overbought < 100.0) {
            return Err(format!(
                "params: need 0 < oversold < exit < overbought < 100, got {oversold}, {exit}, {overbought}"
            ));
        }
        Directional::warn_unknown(cfg, &["period", "oversold", "overbought", "exit"]);
        Ok(RsiReversion {
            period,
            oversold,
            overbought,
            exit,
            d: Directional::from_config(cfg, 0.03, 0.0)?,
        })
    }

    fn on_tick(&mut self, ctx: &mut Tick) -> Result<(), String> {
        self.d.ticks += 1;
        let spec = Indicator::Rsi(self.period as u32);
        for sym in ctx.symbols() {
            let value = match ctx.indicator_last(sym, self.d.timeframe, spec) {
                Ok(Some(value)) => value,
                Ok(None) => {
                    ctx.debug(format!(
                        "{sym}: warming up, {spec} needs {} bars",
                        self.period + 1
                    ));
                    continue;
                }
                Err(e) => {
                    ctx.warn(format!("{sym}: no {spec}: {e}"));
                    continue;
                }
            };
            // TA-Lib's RSI is 0 both after nothing but losses and when nothing moved; only
            // the first is oversold, so a 0 over closes that did not move reads as neutral.
            let need = if value == 0.0 { self.period + 1 } else { 1 };
            let Some(closes) = self.d.closes(ctx, sym, need) else {
                continue;
            };
            let value = if closes.windows(2).all(|w| w[0] == w[1]) && closes.len() > 1 {
                50.0
            } else {
                value
            };
            let prev = self.d.signals.get(sym).unwrap_or(Signal::Flat);
            let signal = self.decide(prev, value);
            let strength = match signal {
                Signal::Long => (self.oversold - value) / 10.0,
                Signal::Short => (value - self.overbought) / 10.0,
                Signal::Flat => 0.0,
            };
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

flotilla_sdk::export_bot!(RsiReversion);

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_sdk::Action;
    use flotilla_sdk::testing::{Harness, reset, set_closes};

    #[test]
    fn buys_oversold_holds_then_exits_above_fifty() {
        reset();
        let mut h = Harness::<RsiReversion>::init("r", &["AAA"], &[("period", "3")]).unwrap();
        set_closes("AAA", Timeframe::M1, &[10.0, 9.0, 8.0, 7.0]);
        let out = h.tick(0, 700.0).unwrap();
        assert_eq!(out[0].action, Action::Target(100.0));
        assert_eq!(out[0].stop_loss, Some(7.0 * 0.97));
        // Small bounce, RSI still below 50: hold.
        set_closes("AAA", Timeframe::M1, &[10.0, 9.0, 8.0, 7.0, 7.2]);
        assert!(h.tick(1, 700.0).unwrap().is_empty());
        set_closes("AAA", Timeframe::M1, &[10.0, 9.0, 8.0, 7.0, 7.2, 9.0, 11.0]);
        let out = h.tick(2, 700.0).unwrap();
        assert_eq!(out[0].action, Action::Target(0.0));
    }

    #[test]
    fn a_flat_market_is_not_oversold() {
        reset();
        let mut h = Harness::<RsiReversion>::init("r", &["AAA"], &[("period", "3")]).unwrap();
        set_closes("AAA", Timeframe::M1, &[7.0; 6]);
        assert!(
            h.tick(0, 700.0).unwrap().is_empty(),
            "RSI 0 of a flat market"
        );
        // Warming up: RSI(3) needs 4 bars.
        set_closes("BBB", Timeframe::M1, &[7.0, 6.0, 5.0]);
        let mut h = Harness::<RsiReversion>::init("r", &["BBB"], &[("period", "3")]).unwrap();
        assert!(h.tick(0, 700.0).unwrap().is_empty());
    }

    #[test]
    fn shorts_overbought_only_when_allowed() {
        reset();
        set_closes("AAA", Timeframe::M1, &[7.0, 8.0, 9.0, 10.0]);
        let mut h = Harness::<RsiReversion>::init("r", &["AAA"], &[("period", "3")]).unwrap();
        assert!(h.tick(0, 1_000.0).unwrap().is_empty());
        let mut h = Harness::<RsiReversion>::init(
            "r",
            &["AAA"],
            &[("period", "3"), ("allow_short", "true")],
        )
        .unwrap();
        assert_eq!(
            h.tick(0, 1_000.0).unwrap()[0].action,
            Action::Target(-100.0)
        );
        assert!(Harness::<RsiReversion>::init("r", &["AAA"], &[("oversold", "60")]).is_err());
    }
}
