//! Building blocks for directional strategies: one long/flat/short signal per symbol,
//! turned into `target` intents sized from capital, with stops and carried-over state.

use crate::host;
use crate::indicators::confidence;
use crate::signal::{Signal, Signals};
use crate::state::{Reader, Writer};
use crate::{Config, LogLevel, Order, ScaleOut, Tick, Timeframe, Trail, Trailing};

/// Host-managed exits every entry carries, from the params `trail_atr` (ATR multiple) or
/// `trail_pct` (fraction of the best price) for a trailing stop, `trail_from_r` (start it
/// once this many R in profit; default at once) and `scale_outs` (`R:fraction` pairs, e.g.
/// `1:0.33,2:0.33`). The host checks the levels; levels in R need a stop-loss.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExitParams {
    /// Trailing stop, if any.
    pub trailing: Option<Trailing>,
    /// Partial exits, in increasing R.
    pub scale_outs: Vec<ScaleOut>,
}

impl ExitParams {
    /// The param keys this type reads.
    pub const PARAMS: [&'static str; 4] = ["trail_atr", "trail_pct", "trail_from_r", "scale_outs"];

    /// Reads the params; setting both trails is an error.
    pub fn from_config(cfg: &Config) -> Result<Self, String> {
        let trail_pct: f64 = cfg.get("trail_pct", 0.0)?;
        if !(0.0..1.0).contains(&trail_pct) {
            return Err(format!(
                "param `trail_pct`: must be in [0, 1), got {trail_pct}"
            ));
        }
        let distance = match (cfg.get("trail_atr", 0.0)?, trail_pct) {
            (a, p) if a > 0.0 && p > 0.0 => {
                return Err("params `trail_atr` and `trail_pct`: set one, not both".into());
            }
            (a, _) if a > 0.0 => Some(Trail::Atr(a)),
            (_, p) if p > 0.0 => Some(Trail::Percent(p)),
            _ => None,
        };
        let activate_at_r = cfg.get_opt("trail_from_r")?;
        Ok(ExitParams {
            trailing: distance.map(|distance| Trailing {
                distance,
                activate_at_r,
            }),
            scale_outs: parse_scale_outs(cfg.raw("scale_outs").unwrap_or(""))?,
        })
    }

    /// Whether a level is measured in R, so the entry needs a stop-loss.
    pub fn in_r(&self) -> bool {
        !self.scale_outs.is_empty() || self.trailing.is_some_and(|t| t.activate_at_r.is_some())
    }

    /// `order` with these exits.
    pub fn apply<'t>(&self, mut order: Order<'t>) -> Order<'t> {
        if let Some(t) = self.trailing {
            order = order.trailing(t.distance, t.activate_at_r);
        }
        for s in &self.scale_outs {
            order = order.scale_out(s.at_r, s.fraction);
        }
        order
    }
}

/// Parses `R:fraction` pairs separated by commas, e.g. `1:0.33,2:0.33`.
fn parse_scale_outs(text: &str) -> Result<Vec<ScaleOut>, String> {
    let bad = || {
        format!("param `scale_outs`: expected R:fraction pairs like 1:0.33,2:0.33, got {text:?}")
    };
    text.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| {
            let (r, f) = pair.split_once(':').ok_or_else(bad)?;
            let num = |v: &str| v.trim().parse::<f64>().map_err(|_| bad());
            Ok(ScaleOut {
                at_r: num(r)?,
                fraction: num(f)?,
            })
        })
        .collect()
}

/// Params, counters and signal memory shared by the bundled strategies.
///
/// Params read (all optional): `timeframe` (default `1m`), `allow_short` (false),
/// `fraction` of capital per symbol (an equal share), `stop_pct` and `take_pct`
/// (strategy defaults; 0 disables), and the [`ExitParams`] of every entry (those in R
/// need `stop_pct`).
#[derive(Clone, Debug, PartialEq)]
pub struct Directional {
    /// Bars the strategy reads.
    pub timeframe: Timeframe,
    /// Whether a bearish signal opens a short (otherwise it means flat).
    pub allow_short: bool,
    /// Fraction of capital committed per symbol.
    pub fraction: f64,
    /// Stop-loss distance from entry, as a fraction of price (0 = none).
    pub stop_pct: f64,
    /// Take-profit distance from entry, as a fraction of price (0 = none).
    pub take_pct: f64,
    /// Host-managed exits of every entry.
    pub exits: ExitParams,
    /// Ticks seen by this bot, carried over snapshots.
    pub ticks: u64,
    /// Fills received, carried over snapshots.
    pub fills: u64,
    /// The last signal acted on per symbol.
    pub signals: Signals,
}

impl Directional {
    /// The param keys this type reads.
    pub const PARAMS: [&'static str; 5] = [
        "timeframe",
        "allow_short",
        "fraction",
        "stop_pct",
        "take_pct",
    ];

    /// Reads the common params; `stop_pct`/`take_pct` default to the strategy's choice.
    pub fn from_config(cfg: &Config, stop_pct: f64, take_pct: f64) -> Result<Self, String> {
        let pct = |key: &str, default: f64| -> Result<f64, String> {
            let v: f64 = cfg.get(key, default)?;
            if (0.0..1.0).contains(&v) {
                Ok(v)
            } else {
                Err(format!("param `{key}`: must be in [0, 1), got {v}"))
            }
        };
        let stop_pct = pct("stop_pct", stop_pct)?;
        let exits = ExitParams::from_config(cfg)?;
        if exits.in_r() && stop_pct == 0.0 {
            return Err(
                "params `scale_outs` and `trail_from_r` are in R: they need `stop_pct`".into(),
            );
        }
        Ok(Directional {
            timeframe: cfg.get("timeframe", Timeframe::M1)?,
            allow_short: cfg.get("allow_short", false)?,
            fraction: cfg.fraction()?,
            stop_pct,
            take_pct: pct("take_pct", take_pct)?,
            exits,
            ticks: 0,
            fills: 0,
            signals: Signals::default(),
        })
    }

    /// Logs a warning for params that neither this type nor `own` reads (likely typos).
    pub fn warn_unknown(cfg: &Config, own: &[&str]) {
        let known: Vec<&str> = Self::PARAMS
            .iter()
            .chain(&ExitParams::PARAMS)
            .chain(own)
            .copied()
            .collect();
        for key in cfg.unknown_params(&known) {
            host::log(LogLevel::Warn, &format!("ignoring unknown param `{key}`"));
        }
    }

    /// `Short` if shorting is allowed, else `Flat`: what a bearish reading means.
    pub fn bearish(&self) -> Signal {
        if self.allow_short {
            Signal::Short
        } else {
            Signal::Flat
        }
    }

    /// The closes of the last `count` bars, or `None` (logged) when the host refuses or
    /// there are fewer than `count` yet (warming up).
    pub fn closes(&self, ctx: &Tick<'_>, symbol: &str, count: usize) -> Option<Vec<f64>> {
        self.history(ctx, symbol, count, count)
    }

    /// Up to `fetch` closes, or `None` (logged) when the host refuses or fewer than `min`
    /// exist yet: for indicators that work from `min` bars but improve with more.
    pub fn history(
        &self,
        ctx: &Tick<'_>,
        symbol: &str,
        fetch: usize,
        min: usize,
    ) -> Option<Vec<f64>> {
        match ctx.closes(symbol, self.timeframe, fetch.max(min) as u32) {
            Ok(closes) if closes.len() >= min => Some(closes),
            Ok(closes) => {
                ctx.debug(format!("{symbol}: warming up, {}/{min} bars", closes.len()));
                None
            }
            Err(e) => {
                ctx.warn(format!("{symbol}: no bars: {e}"));
                None
            }
        }
    }

    /// Acts on `signal` for `symbol` if it changed: a flat signal emits a zero target; a
    /// directional one a target of `fraction` of capital at `price`, with confidence from
    /// `strength` and the configured stop/take. Returns the entry order to refine, if any.
    pub fn act<'t>(
        &mut self,
        ctx: &'t mut Tick<'_>,
        symbol: &str,
        signal: Signal,
        price: f64,
        strength: f64,
        tag: &str,
    ) -> Option<Order<'t>> {
        if !self.signals.transition(symbol, signal) {
            return None;
        }
        let tag = format!("{tag}:{}", signal.as_str());
        if signal == Signal::Flat {
            ctx.close(symbol).tag(tag);
            return None;
        }
        let qty = signal.sign() * ctx.units(self.fraction, price);
        let order = ctx
            .target(symbol, qty)
            .confidence(confidence(strength))
            .stop_loss_opt(signal.stop_at(price, self.stop_pct))
            .take_profit_opt(signal.take_at(price, self.take_pct))
            .tag(tag);
        Some(self.exits.apply(order))
    }

    /// Snapshot format version: bump when the layout changes.
    const VERSION: u8 = 1;

    /// Encodes counters and signals.
    pub fn snapshot(&self) -> Vec<u8> {
        let mut w = Writer::new(Self::VERSION);
        w.u64(self.ticks).u64(self.fills);
        self.signals.write(&mut w);
        w.finish()
    }

    /// Restores counters and signals; an empty state means nothing to restore.
    pub fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        if state.is_empty() {
            return Ok(());
        }
        let mut r = Reader::new(state, Self::VERSION)?;
        let (ticks, fills) = (r.u64()?, r.u64()?);
        let signals = Signals::read(&mut r)?;
        r.finish()?;
        (self.ticks, self.fills, self.signals) = (ticks, fills, signals);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Action;

    fn cfg(params: &[(&str, &str)]) -> Config {
        Config::new("d", ["AAA", "BBB"], params.iter().copied())
    }

    #[test]
    fn entries_carry_the_configured_trailing_stop_and_scale_outs() {
        let params = [
            ("trail_atr", "1.5"),
            ("trail_from_r", "1"),
            ("scale_outs", "1:0.33, 2:0.33"),
        ];
        let mut d = Directional::from_config(&cfg(&params), 0.02, 0.0).unwrap();
        let syms = vec!["AAA".to_string()];
        let mut t = Tick::new(0, 1, 1_000.0, &syms);
        d.act(&mut t, "AAA", Signal::Long, 10.0, 1.0, "x");
        d.act(&mut t, "AAA", Signal::Flat, 10.0, 1.0, "x");
        let out = t.into_intents();
        let entry = &out[0];
        assert_eq!(
            entry.trailing,
            Some(Trailing {
                distance: Trail::Atr(1.5),
                activate_at_r: Some(1.0)
            })
        );
        let levels: Vec<(f64, f64)> = entry
            .scale_outs
            .iter()
            .map(|s| (s.at_r, s.fraction))
            .collect();
        assert_eq!(levels, [(1.0, 0.33), (2.0, 0.33)]);
        assert_eq!(
            (out[1].trailing, out[1].scale_outs.len()),
            (None, 0),
            "exits carry none"
        );

        let err = |p: &[(&str, &str)]| Directional::from_config(&cfg(p), 0.02, 0.0).unwrap_err();
        assert!(err(&[("trail_atr", "2"), ("trail_pct", "0.01")]).contains("set one, not both"));
        assert!(err(&[("scale_outs", "1-0.5")]).contains("R:fraction pairs"));
        let no_stop = Directional::from_config(&cfg(&[("scale_outs", "1:0.5")]), 0.0, 0.0);
        assert!(no_stop.unwrap_err().contains("need `stop_pct`"));
    }

    #[test]
    fn reads_params_with_defaults() {
        let d = Directional::from_config(
            &cfg(&[("allow_short", "true"), ("timeframe", "1h")]),
            0.02,
            0.0,
        )
        .unwrap();
        assert_eq!(d.timeframe, Timeframe::H1);
        assert!(d.allow_short);
        assert_eq!((d.fraction, d.stop_pct, d.take_pct), (0.5, 0.02, 0.0));
        assert_eq!(d.bearish(), Signal::Short);
        assert!(
            Directional::from_config(&cfg(&[("stop_pct", "1.5")]), 0.0, 0.0)
                .unwrap_err()
                .contains("stop_pct")
        );
    }

    #[test]
    fn acts_on_changes_with_sized_targets() {
        let mut d = Directional::from_config(&cfg(&[("allow_short", "yes")]), 0.02, 0.04).unwrap();
        let syms = vec!["AAA".to_string()];
        let mut t = Tick::new(0, 1, 1_000.0, &syms);
        assert!(d.act(&mut t, "AAA", Signal::Flat, 10.0, 1.0, "x").is_none());
        d.act(&mut t, "AAA", Signal::Long, 10.0, 1.0, "x");
        assert!(d.act(&mut t, "AAA", Signal::Long, 10.0, 1.0, "x").is_none());
        d.act(&mut t, "AAA", Signal::Short, 10.0, 0.0, "x");
        d.act(&mut t, "AAA", Signal::Flat, 10.0, 0.0, "x");
        let out = t.into_intents();
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].action, Action::Target(50.0));
        assert_eq!(out[0].stop_loss, Some(9.8));
        assert_eq!(out[0].take_profit, Some(10.4));
        assert_eq!(out[0].tag, "x:long");
        assert_eq!(out[1].action, Action::Target(-50.0));
        assert_eq!(out[1].confidence, 0.5);
        assert_eq!(out[2].action, Action::Target(0.0));
        assert_eq!(out[2].tag, "x:flat");
    }

    #[test]
    fn snapshot_round_trip_and_empty_restore() {
        let mut d = Directional::from_config(&cfg(&[]), 0.0, 0.0).unwrap();
        d.ticks = 7;
        d.fills = 2;
        d.signals.transition("AAA", Signal::Long);
        let snap = d.snapshot();
        let mut e = Directional::from_config(&cfg(&[]), 0.0, 0.0).unwrap();
        e.restore(&[]).unwrap();
        assert_eq!(e.ticks, 0);
        e.restore(&snap).unwrap();
        assert_eq!(e, d);
        assert!(e.restore(&[9]).is_err());
    }
}
