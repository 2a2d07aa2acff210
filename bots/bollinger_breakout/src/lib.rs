//! Bollinger breakout: long when a close breaks above the upper band, out when it falls
//! back to the middle band; with `allow_short=true`, the mirror image below the lower band.
//!
//! Params: `period` (20), `k` (2.0) standard deviations, plus [`Directional`]'s
//! `timeframe` (1m), `allow_short` (false), `fraction` (equal share), `stop_pct` (0 = stop
//! at the middle band at entry), `take_pct` (0 = none). Confidence grows with how far the
//! close is beyond the band, in standard deviations.
//!
//! The host computes the bands (the `indicator` import); the bot reads one bar for the
//! close.

use flotilla_sdk::directional::Directional;
use flotilla_sdk::{Bot, Config, Fill, Signal, Tick, Timeframe};

struct BollingerBreakout {
    period: usize,
    k: f64,
    d: Directional,
}

impl Bot for BollingerBreakout {
    const NAME: &'static str = "bollinger_breakout";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    /// The timeframe is a param and `describe` runs before `init`: declare them all.
    fn timeframes() -> Vec<Timeframe> {
        Timeframe::ALL.to_vec()
    }

    fn init(cfg: &Config) -> Result<Self, String> {
        let period: usize = cfg.get("period", 20)?;
        let k: f64 = cfg.get("k", 2.0)?;
        if !(2..=100_000).contains(&period) {
            return Err(format!(
                "param `period`: must be in 2..=100000, got {period}"
            ));
        }
        if !(k > 0.0 && k.is_finite()) {
            return Err(format!("param `k`: must be positive, got {k}"));
        }
        Directional::warn_unknown(cfg, &["period", "k"]);
        let d = Directional::from_config(cfg, 0.0, 0.0)?;
        Ok(BollingerBreakout { period, k, d })
    }

    fn on_tick(&mut self, ctx: &mut Tick) -> Result<(), String> {
        self.d.ticks += 1;
        for sym in ctx.symbols() {
            let bands = match ctx.bollinger(sym, self.d.timeframe, self.period as u32, self.k, 1) {
                Ok(b) if !b.middle.is_empty() => b,
                Ok(_) => {
                    ctx.debug(format!("{sym}: warming up, {} bars", self.period));
                    continue;
                }
                Err(e) => {
                    ctx.warn(format!("{sym}: no bands: {e}"));
                    continue;
                }
            };
            let (upper, middle, lower) = (bands.upper[0], bands.middle[0], bands.lower[0]);
            let stddev = (upper - middle) / self.k;
            let Some(closes) = self.d.closes(ctx, sym, 1) else {
                continue;
            };
            let close = closes[closes.len() - 1];
            let prev = self.d.signals.get(sym).unwrap_or(Signal::Flat);
            let signal = match prev {
                Signal::Long if close > middle => Signal::Long,
                Signal::Short if close < middle => Signal::Short,
                _ if close > upper => Signal::Long,
                _ if close < lower => self.d.bearish(),
                _ => Signal::Flat,
            };
            let beyond = match signal {
                Signal::Long => close - upper,
                Signal::Short => lower - close,
                Signal::Flat => 0.0,
            };
            let strength = if stddev > 0.0 { beyond / stddev } else { 0.0 };
            let use_band_stop = self.d.stop_pct == 0.0;
            let entry = self.d.act(ctx, sym, signal, close, strength, Self::NAME);
            if let Some(entry) = entry.filter(|_| use_band_stop) {
                // The exit rule is the middle band: let the host enforce it between ticks.
                entry.stop_loss(middle);
            }
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

flotilla_sdk::export_bot!(BollingerBreakout);

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_sdk::Action;
    use flotilla_sdk::testing::{Harness, reset, set_closes};

    #[test]
    fn breaks_out_then_exits_at_middle_band() {
        reset();
        let mut closes = vec![100.0, 101.0, 100.0, 101.0, 100.0, 130.0];
        set_closes("AAA", Timeframe::M1, &closes);
        let mut h =
            Harness::<BollingerBreakout>::init("b", &["AAA"], &[("period", "5"), ("k", "1.5")])
                .unwrap();
        let out = h.tick(0, 1_300.0).unwrap();
        assert_eq!(out[0].action, Action::Target(10.0));
        let stop = out[0].stop_loss.unwrap();
        assert!(stop > 100.0 && stop < 130.0, "{stop}");
        closes.push(125.0);
        set_closes("AAA", Timeframe::M1, &closes);
        assert!(h.tick(1, 1_300.0).unwrap().is_empty(), "above middle: hold");
        closes.push(100.0);
        set_closes("AAA", Timeframe::M1, &closes);
        assert_eq!(h.tick(2, 1_300.0).unwrap()[0].action, Action::Target(0.0));
    }
}
