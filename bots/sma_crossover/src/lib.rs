//! Moving-average crossover: long while the fast SMA is above the slow one; flat (or short
//! with `allow_short=true`) otherwise.
//!
//! Params: `fast` (10), `slow` (30) bars, plus [`Directional`]'s `timeframe` (1m),
//! `allow_short` (false), `fraction` (equal share), `stop_pct` (0.02), `take_pct` (0 = none).
//! Confidence grows with the gap between the averages, measured in standard deviations.

use flotilla_sdk::directional::Directional;
use flotilla_sdk::indicators::Rolling;
use flotilla_sdk::window::Closes;
use flotilla_sdk::{Bot, Config, Fill, Signal, Tick, Timeframe};

struct SmaCrossover {
    fast: usize,
    slow: usize,
    d: Directional,
    /// The last `slow + 1` closes per symbol (the slow window and the close that just left
    /// it), updated with one new bar per tick.
    window: Closes,
    /// Per symbol, the fast and slow averages as running sums over the window: one new
    /// close per tick costs a few operations, not a pass over both windows.
    averages: Vec<(String, Rolling, Rolling)>,
}

impl Bot for SmaCrossover {
    const NAME: &'static str = "sma_crossover";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    /// The timeframe is a param and `describe` runs before `init`: declare them all.
    fn timeframes() -> Vec<Timeframe> {
        Timeframe::ALL.to_vec()
    }

    fn init(cfg: &Config) -> Result<Self, String> {
        let fast: usize = cfg.get("fast", 10)?;
        let slow: usize = cfg.get("slow", 30)?;
        if fast == 0 || fast >= slow {
            return Err(format!(
                "params: need 0 < fast < slow, got fast={fast} slow={slow}"
            ));
        }
        Directional::warn_unknown(cfg, &["fast", "slow"]);
        let d = Directional::from_config(cfg, 0.02, 0.0)?;
        let window = Closes::new(d.timeframe, slow + 1);
        Ok(SmaCrossover {
            fast,
            slow,
            d,
            window,
            averages: Vec::new(),
        })
    }

    fn on_tick(&mut self, ctx: &mut Tick) -> Result<(), String> {
        self.d.ticks += 1;
        for sym in ctx.symbols() {
            let (closes, moved) = match self.window.advance(ctx, sym) {
                Ok(Some(window)) => window,
                Ok(None) => continue, // warming up
                Err(e) => {
                    ctx.warn(format!("{sym}: no bars: {e}"));
                    continue;
                }
            };
            let i = match self.averages.iter().position(|(s, ..)| s == sym) {
                Some(i) => i,
                None => {
                    let (f, s) = (Rolling::new(self.fast), Rolling::new(self.slow));
                    self.averages.push((sym.clone(), f, s));
                    self.averages.len() - 1
                }
            };
            let (_, fast_avg, slow_avg) = &mut self.averages[i];
            let n = closes.len();
            match moved {
                Some(0) if slow_avg.is_full() => {}
                Some(1) => {
                    fast_avg.roll(closes, closes[n - 1 - self.fast]);
                    slow_avg.roll(closes, closes[0]);
                }
                // A window fetched anew: start the sums again.
                _ => {
                    fast_avg.reset(closes);
                    slow_avg.reset(closes);
                }
            }
            let price = closes[n - 1];
            let (Some(fast), Some(slow), Some(sd)) =
                (fast_avg.mean(), slow_avg.mean(), slow_avg.stddev())
            else {
                continue;
            };
            let signal = if fast > slow {
                Signal::Long
            } else if fast < slow {
                self.d.bearish()
            } else {
                Signal::Flat
            };
            let strength = if sd > 0.0 {
                (fast - slow).abs() / sd
            } else {
                0.0
            };
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

flotilla_sdk::export_bot!(SmaCrossover);

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_sdk::Action;
    use flotilla_sdk::testing::{Harness, reset, set_closes};

    #[test]
    fn goes_long_on_uptrend_then_flat_on_downtrend() {
        reset();
        let up: Vec<f64> = (0..40).map(|i| 100.0 + i as f64).collect();
        set_closes("AAA", Timeframe::M1, &up);
        let mut h = Harness::<SmaCrossover>::init("s", &["AAA"], &[]).unwrap();
        let out = h.tick(0, 13_900.0).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].action, Action::Target(100.0));
        assert!(out[0].confidence > 0.5 && out[0].confidence <= 1.0);
        assert_eq!(out[0].stop_loss, Some(139.0 * 0.98));
        assert!(
            h.tick(1, 13_900.0).unwrap().is_empty(),
            "no repeat while unchanged"
        );

        let down: Vec<f64> = up.iter().rev().copied().collect();
        set_closes("AAA", Timeframe::M1, &down);
        let snap = h.snapshot();
        let mut h2 = Harness::<SmaCrossover>::init("s", &["AAA"], &[]).unwrap();
        h2.restore(&snap).unwrap();
        let out = h2.tick(2, 13_900.0).unwrap();
        assert_eq!(out[0].action, Action::Target(0.0));
    }

    #[test]
    fn rejects_bad_params_and_waits_for_history() {
        reset();
        let e = Harness::<SmaCrossover>::init("s", &["AAA"], &[("fast", "30")])
            .err()
            .unwrap();
        assert!(e.contains("fast"), "{e}");
        set_closes("AAA", Timeframe::M1, &[1.0; 5]);
        let mut h = Harness::<SmaCrossover>::init("s", &["AAA"], &[]).unwrap();
        assert!(h.tick(0, 1.0).unwrap().is_empty());
    }
}
