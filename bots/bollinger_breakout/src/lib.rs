//! Bollinger breakout: long when a close breaks above the upper band, out when it falls
//! back to the middle band; with `allow_short=true`, the mirror image below the lower band.
//!
//! Params: `period` (20), `k` (2.0) standard deviations, plus [`Directional`]'s
//! `timeframe` (1m), `allow_short` (false), `fraction` (equal share), `stop_pct` (0 = stop
//! at the middle band at entry), `take_pct` (0 = none). Confidence grows with how far the
//! close is beyond the band, in standard deviations.
//!
//! `entry = "limit"` enters on a pullback instead of at the market: a breakout places a
//! limit order (good till canceled) at the band it broke, below the close for a long
//! (above it for a short). An entry still unfilled after `stale_bars` (3) bars is canceled
//! and the signal forgotten, so a breakout that goes on is bid again at the band of the
//! moment; a signal that goes flat cancels its unfilled entry too. `entry = "market"` (the
//! default) trades as before.
//!
//! The host computes the bands (the `indicator` import); the bot reads one bar for the
//! close.

use flotilla_sdk::directional::Directional;
use flotilla_sdk::{Bot, Config, Fill, Signal, Tick, TimeInForce, Timeframe};

struct BollingerBreakout {
    period: usize,
    k: f64,
    /// With limit entries: how many bars an entry may stay unfilled.
    limit_entries: Option<u32>,
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
        let stale_bars: u32 = cfg.get("stale_bars", 3)?;
        let limit_entries = match cfg.get("entry", "market".to_string())?.as_str() {
            "market" => None,
            "limit" if stale_bars >= 1 => Some(stale_bars),
            "limit" => return Err("param `stale_bars`: must be at least 1".into()),
            other => {
                return Err(format!(
                    "param `entry`: expected market or limit, got {other:?}"
                ));
            }
        };
        Directional::warn_unknown(cfg, &["period", "k", "entry", "stale_bars"]);
        let d = Directional::from_config(cfg, 0.0, 0.0)?;
        Ok(BollingerBreakout {
            period,
            k,
            limit_entries,
            d,
        })
    }

    fn on_tick(&mut self, ctx: &mut Tick) -> Result<(), String> {
        self.d.ticks += 1;
        if let Some(bars) = self.limit_entries {
            self.cancel_stale(ctx, bars);
        }
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
            let limit = self.limit_entries.is_some();
            if limit && signal == Signal::Flat && prev != Signal::Flat {
                // The breakout failed before the entry filled: nothing left to wait for.
                cancel_unfilled(ctx, sym);
            }
            let Some(mut entry) = self.d.act(ctx, sym, signal, close, strength, Self::NAME) else {
                continue;
            };
            if use_band_stop {
                // The exit rule is the middle band: let the host enforce it between ticks.
                entry = entry.stop_loss(middle);
            }
            if limit {
                // Bid at the band just broken: a pullback to it fills, a runaway does not.
                let band = if signal == Signal::Long { upper } else { lower };
                entry.limit(band).time_in_force(TimeInForce::Gtc);
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

impl BollingerBreakout {
    /// Cancels limit entries unfilled after `bars` bars and forgets their signal, so a
    /// breakout still on is bid again at the current band.
    fn cancel_stale(&mut self, ctx: &Tick, bars: u32) {
        let max_age = i64::from(bars) * self.d.timeframe.millis();
        let stale: Vec<(u64, String)> = ctx
            .working_orders()
            .iter()
            .filter(|o| o.limit_price.is_some() && o.filled == 0.0)
            .filter(|o| ctx.time() - o.time >= max_age)
            .map(|o| (o.id, o.symbol.clone()))
            .collect();
        for (id, symbol) in stale {
            match ctx.cancel(id) {
                Ok(()) => {
                    self.d.signals.transition(&symbol, Signal::Flat);
                }
                Err(e) => ctx.warn(format!("{symbol}: cannot cancel order {id}: {e}")),
            }
        }
    }
}

/// Cancels the unfilled limit entries of `symbol`.
fn cancel_unfilled(ctx: &Tick, symbol: &str) {
    let ids: Vec<u64> = ctx
        .working_orders()
        .iter()
        .filter(|o| o.symbol == symbol && o.limit_price.is_some() && o.filled == 0.0)
        .map(|o| o.id)
        .collect();
    for id in ids {
        if let Err(e) = ctx.cancel(id) {
            ctx.warn(format!("{symbol}: cannot cancel order {id}: {e}"));
        }
    }
}

flotilla_sdk::export_bot!(BollingerBreakout);

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_sdk::testing::{Harness, reset, set_closes, set_working_orders, take_cancels};
    use flotilla_sdk::{Action, OrderState, Side, WorkingOrder};

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

    /// An unfilled limit buy of AAA placed at `time`.
    fn resting(id: u64, time: i64, filled: f64) -> WorkingOrder {
        WorkingOrder {
            id,
            symbol: "AAA".into(),
            side: Side::Buy,
            quantity: 10.0,
            filled,
            limit_price: Some(110.0),
            time_in_force: TimeInForce::Gtc,
            state: OrderState::Accepted,
            time,
            tag: "bollinger_breakout:long".into(),
        }
    }

    #[test]
    fn limit_entries_bid_at_the_band_and_stale_ones_are_canceled() {
        reset();
        let mut closes = vec![100.0, 101.0, 100.0, 101.0, 100.0, 130.0];
        set_closes("AAA", Timeframe::M1, &closes);
        let params = [
            ("period", "5"),
            ("k", "1.5"),
            ("entry", "limit"),
            ("stale_bars", "2"),
        ];
        let mut h = Harness::<BollingerBreakout>::init("b", &["AAA"], &params).unwrap();
        let out = h.tick(0, 1_300.0).unwrap();
        let limit = out[0].limit_price.expect("a limit entry");
        assert_eq!(out[0].action, Action::Target(10.0));
        assert_eq!(out[0].time_in_force, Some(TimeInForce::Gtc));
        assert!(
            limit > 100.0 && limit < 130.0,
            "at the upper band, below the close: {limit}"
        );
        assert!(
            out[0].stop_loss.unwrap() < limit,
            "stopped at the middle band"
        );

        // The entry rests; one bar later it is young, two bars later stale.
        set_working_orders(vec![resting(7, 0, 0.0), resting(8, 0, 4.0)]);
        closes.push(131.0);
        set_closes("AAA", Timeframe::M1, &closes);
        assert!(
            h.tick(60_000, 1_300.0).unwrap().is_empty(),
            "still long: no new entry"
        );
        assert!(take_cancels().is_empty());
        closes.push(200.0);
        set_closes("AAA", Timeframe::M1, &closes);
        let out = h.tick(120_000, 1_300.0).unwrap();
        assert_eq!(
            take_cancels(),
            vec![7],
            "the unfilled one; the partly filled one stays"
        );
        assert_eq!(
            out.len(),
            1,
            "the breakout goes on: bid again at the current band"
        );
        assert!(out[0].limit_price.unwrap() > limit, "the band moved up");

        // The close falls back to the middle band: the unfilled entry goes too.
        set_working_orders(vec![resting(9, 120_000, 0.0)]);
        closes.extend([100.0, 100.0]);
        set_closes("AAA", Timeframe::M1, &closes);
        let out = h.tick(150_000, 1_300.0).unwrap();
        assert_eq!(out[0].action, Action::Target(0.0));
        assert_eq!(out[0].limit_price, None, "exits go at the market");
        assert_eq!(take_cancels(), vec![9]);
    }

    #[test]
    fn market_entries_stay_the_default_and_bad_modes_are_refused() {
        reset();
        let closes = [100.0, 101.0, 100.0, 101.0, 100.0, 130.0];
        set_closes("AAA", Timeframe::M1, &closes);
        set_working_orders(vec![resting(7, 0, 0.0)]);
        let mut h =
            Harness::<BollingerBreakout>::init("b", &["AAA"], &[("period", "5"), ("k", "1.5")])
                .unwrap();
        let out = h.tick(600_000, 1_300.0).unwrap();
        assert_eq!((out[0].limit_price, out[0].time_in_force), (None, None));
        assert!(take_cancels().is_empty(), "market mode leaves orders alone");
        let init = |p: &[(&str, &str)]| Harness::<BollingerBreakout>::init("b", &["AAA"], p);
        assert!(init(&[("entry", "stop")]).is_err());
        assert!(init(&[("entry", "limit"), ("stale_bars", "0")]).is_err());
    }
}
