//! RSI mean reversion on the host's `indicator` import: the Rust twin of the Python
//! `rsi_python` and the JavaScript `rsi_js`. Same rule, params and host calls per tick
//! (positions once, RSI per symbol, the last price only when the signal changes), so the
//! three languages can be benchmarked against each other (host/runtime/benches).
//!
//! Unlike `rsi_reversion`, which computes RSI in the guest from fetched closes, the host
//! computes it here. Buys below `oversold` and holds until RSI climbs above `exit`; with
//! `allow_short=true`, shorts above `overbought` until RSI drops below `exit`. A position
//! that disappeared (a host-executed stop, a refused entry) resets the signal to flat.
//!
//! Params: `period` (14), `oversold` (30), `overbought` (70), `exit` (50), plus
//! [`Directional`]'s `timeframe` (1m), `allow_short` (false), `fraction` (equal share),
//! `stop_pct` (0.03), `take_pct` (0 = none).

use flotilla_sdk::directional::Directional;
use flotilla_sdk::{Bot, Config, Fill, Indicator, Signal, Tick, Timeframe};

struct RsiRust {
    period: u32,
    oversold: f64,
    overbought: f64,
    exit: f64,
    d: Directional,
}

impl RsiRust {
    /// Whether the last `period + 1` closes are all equal (host refusals read as no).
    fn flat_market(&self, ctx: &Tick, sym: &str) -> bool {
        match ctx.closes(sym, self.d.timeframe, self.period + 1) {
            Ok(closes) => closes.len() > 1 && closes.windows(2).all(|w| w[0] == w[1]),
            Err(_) => false,
        }
    }

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

impl Bot for RsiRust {
    const NAME: &'static str = "rsi_rust";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    /// The timeframe is a param and `describe` runs before `init`: declare them all.
    fn timeframes() -> Vec<Timeframe> {
        Timeframe::ALL.to_vec()
    }

    fn init(cfg: &Config) -> Result<Self, String> {
        let period: u32 = cfg.get("period", 14)?;
        let oversold: f64 = cfg.get("oversold", 30.0)?;
        let overbought: f64 = cfg.get("overbought", 70.0)?;
        let exit: f64 = cfg.get("exit", 50.0)?;
        if period < 2 {
            return Err(format!("param `period`: must be at least 2, got {period}"));
        }
        if !(0.0 < oversold && oversold < exit && exit < overbought && overbought < 100.0) {
            return Err(format!(
                "params: need 0 < oversold < exit < overbought < 100, got {oversold}, {exit}, {overbought}"
            ));
        }
        Directional::warn_unknown(cfg, &["period", "oversold", "overbought", "exit"]);
        Ok(RsiRust {
            period,
            oversold,
            overbought,
            exit,
            d: Directional::from_config(cfg, 0.03, 0.0)?,
        })
    }

    fn on_tick(&mut self, ctx: &mut Tick) -> Result<(), String> {
        self.d.ticks += 1;
        // Fetched up front, as the Python and JS twins do, so all three make the same calls.
        ctx.positions();
        for sym in ctx.symbols() {
            let rsi = match ctx.indicator_last(sym, self.d.timeframe, Indicator::Rsi(self.period)) {
                Ok(Some(v)) => v,
                Ok(None) => continue, // still warming up
                Err(e) => {
                    ctx.warn(format!("{sym}: no RSI: {e}"));
                    continue;
                }
            };
            // TA-Lib's RSI is 0 both after nothing but losses and when nothing moved; only
            // the first is oversold, so a 0 over closes that did not move reads as neutral.
            let rsi = if rsi == 0.0 && self.flat_market(ctx, sym) {
                50.0
            } else {
                rsi
            };
            let mut prev = self.d.signals.get(sym).unwrap_or(Signal::Flat);
            if prev != Signal::Flat && ctx.position_qty(sym) == 0.0 {
                // A stop the host executed, or an entry risk refused: nothing is held, so
                // decide afresh instead of waiting for an exit that has no position.
                self.d.signals.transition(sym, Signal::Flat);
                prev = Signal::Flat;
            }
            let signal = self.decide(prev, rsi);
            if signal == prev {
                continue;
            }
            let price = match signal {
                Signal::Flat => 0.0, // a close needs no price
                _ => ctx.last_price(sym)?,
            };
            let strength = match signal {
                Signal::Long => (self.oversold - rsi) / 10.0,
                Signal::Short => (rsi - self.overbought) / 10.0,
                Signal::Flat => 0.0,
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

flotilla_sdk::export_bot!(RsiRust);
