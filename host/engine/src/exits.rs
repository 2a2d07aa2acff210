//! Host-managed exits: stop-loss, take-profit, trailing stops and scaled exits.
//!
//! The host arms a plan when a bot's entry is approved and feeds fills and bars; on each
//! bar the book issues reducing orders for every open position whose levels were touched,
//! whatever the health of the bot. Exits then go through [`crate::RiskEngine::evaluate_exit`].

use flotilla_domain::{
    Bar, BotId, Fill, Intent, OrderAction, Position, Price, Quantity, Side, Symbol, Timestamp,
    to_price,
};
pub use flotilla_domain::{ScaleOut, TrailDistance, TrailingStop};
use rust_decimal::{Decimal, RoundingStrategy};
use rustc_hash::FxHashMap as HashMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The exits the host manages for one position.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
pub struct ExitPlan {
    /// Protective stop price; also defines R.
    pub stop_loss: Option<Price>,
    /// Profit target: closes the whole position.
    pub take_profit: Option<Price>,
    /// Trailing stop.
    pub trailing: Option<TrailingStop>,
    /// Partial exits at R multiples (need `stop_loss`), in order.
    pub scale_outs: Vec<ScaleOut>,
}

impl ExitPlan {
    /// The intent's own exits (stop-loss, take-profit, trailing stop, scale-outs), if it
    /// set any.
    pub fn from_intent(intent: &Intent) -> Option<Self> {
        let any = intent.stop_loss.is_some()
            || intent.take_profit.is_some()
            || intent.trailing.is_some()
            || !intent.scale_outs.is_empty();
        any.then(|| Self {
            stop_loss: intent.stop_loss,
            take_profit: intent.take_profit,
            trailing: intent.trailing,
            scale_outs: intent.scale_outs.clone(),
        })
    }
    /// 33% at 1R, 33% at 2R, the rest trailing at `atr_mult` ATR once 1R is reached.
    pub fn scaled(stop_loss: Price, atr_mult: f64) -> Self {
        Self {
            stop_loss: Some(stop_loss),
            take_profit: None,
            trailing: Some(TrailingStop {
                distance: TrailDistance::Atr(atr_mult),
                activate_at_r: Some(1.0),
            }),
            scale_outs: vec![
                ScaleOut {
                    at_r: 1.0,
                    fraction: 0.33,
                },
                ScaleOut {
                    at_r: 2.0,
                    fraction: 0.33,
                },
            ],
        }
    }
}

/// Why an exit fired.
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ExitReason {
    /// The stop-loss was touched.
    StopLoss,
    /// The trailing stop was touched.
    TrailingStop,
    /// The profit target was touched.
    TakeProfit,
    /// A scale-out level was reached.
    ScaleOut {
        /// Index of the level in the plan.
        level: usize,
        /// Its R multiple.
        at_r: f64,
    },
    /// Closed by hand (an operator flattened the bot).
    Flatten,
}

impl ExitReason {
    /// A stable code: `stop_loss`, `trailing_stop`, `take_profit`, `scale_out`, `flatten`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::StopLoss => "stop_loss",
            Self::TrailingStop => "trailing_stop",
            Self::TakeProfit => "take_profit",
            Self::ScaleOut { .. } => "scale_out",
            Self::Flatten => "flatten",
        }
    }
}

/// A reducing order the exit book wants sent.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct ExitOrder {
    /// The bot whose position it reduces.
    pub bot: BotId,
    /// The instrument.
    pub symbol: Symbol,
    /// Sell for a long, buy for a short.
    pub side: Side,
    /// Units, positive, never more than the position.
    pub quantity: Quantity,
    /// Why.
    pub reason: ExitReason,
    /// The level that was touched.
    pub trigger: Price,
    /// The bar's time.
    pub time: Timestamp,
}

impl ExitOrder {
    /// The exit as an intent for [`crate::RiskEngine::evaluate_exit`]; tag `exit:<code>`.
    pub fn to_intent(&self) -> Intent {
        let action = match self.side {
            Side::Buy => OrderAction::Buy(self.quantity),
            Side::Sell => OrderAction::Sell(self.quantity),
        };
        Intent {
            bot: self.bot.clone(),
            symbol: self.symbol.clone(),
            action,
            confidence: 1.0,
            stop_loss: None,
            take_profit: None,
            trailing: None,
            scale_outs: Vec::new(),
            order_type: Default::default(),
            limit_price: None,
            time_in_force: Default::default(),
            tag: format!("exit:{}", self.reason.code()),
        }
    }
}

/// One position under management.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Managed {
    plan: ExitPlan,
    /// +1 long, −1 short.
    dir: Decimal,
    entry: Price,
    initial: Quantity,
    qty: Quantity,
    best: Price,
    trail: Option<Price>,
    scales_done: usize,
    closing: bool,
    /// Prices strictly inside which a bar changes nothing (see [`Managed::quiet_band`]),
    /// worked out after each full check; `None` (the next bar takes the full check) when
    /// the position is new or its plan or entry changed since.
    #[serde(skip)]
    quiet: Option<(f64, f64)>,
}

impl Managed {
    fn r(&self) -> Option<Decimal> {
        self.plan
            .stop_loss
            .map(|s| (self.entry - s).abs())
            .filter(|r| !r.is_zero())
    }
    fn level(&self, at_r: f64) -> Option<Price> {
        Some(self.entry + self.dir * self.r()? * dec(at_r))
    }

    /// The band `(lo, hi)` such that a bar with `low > lo` and `high < hi` (both with
    /// [`QUIET_MARGIN_ABS`] and [`QUIET_MARGIN_REL`] to spare) touches no level and moves neither the best price nor the trail.
    /// Most bars are such bars: checking two f64s spares them the decimal conversions and
    /// comparisons of the full check, whose outcome for them is known. An ATR trail moves
    /// with every bar's ATR, so it has no band.
    fn quiet_band(&self) -> (f64, f64) {
        if trails_by_atr(&self.plan) {
            return NEVER_QUIET;
        }
        self.band(true)
    }

    /// The band inside which a bar fires no exit, now or on a later bar (see
    /// [`ExitBook::calm_band`]). Without a trail in the plan only fixed levels fire, so a new
    /// best price does not matter; with one, only the quiet band (whose bars change nothing)
    /// is known calm, and only once a full check has worked it out.
    fn calm_band(&self) -> (f64, f64) {
        match (self.closing, &self.plan.trailing) {
            (true, _) => NEVER_QUIET,
            (false, Some(_)) => self.quiet.unwrap_or(NEVER_QUIET),
            (false, None) => self.band(false),
        }
    }

    /// The levels' band: the stop and the trail on one side; the target, the next
    /// scale-out and (with `best`) the best price so far on the other.
    fn band(&self, best: bool) -> (f64, f64) {
        use rust_decimal::prelude::ToPrimitive;
        let f = |p: Price| p.to_f64().unwrap_or(f64::NAN);
        // Levels a move against the position touches: the stop and the trail.
        let against = [self.plan.stop_loss, self.trail].into_iter().flatten();
        // Levels a move in its favour touches: the target, the next scale-out, and the
        // best price so far (beyond it the trail moves).
        let next_scale = self
            .plan
            .scale_outs
            .get(self.scales_done)
            .and_then(|s| self.level(s.at_r));
        let favour = [self.plan.take_profit, next_scale, best.then_some(self.best)]
            .into_iter()
            .flatten();
        let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
        if self.dir.is_sign_positive() {
            against.for_each(|p| lo = lo.max(f(p)));
            favour.for_each(|p| hi = hi.min(f(p)));
        } else {
            favour.for_each(|p| lo = lo.max(f(p)));
            against.for_each(|p| hi = hi.min(f(p)));
        }
        // A NaN level (unconvertible) leaves an empty band: every bar takes the full check.
        if lo.is_nan() || hi.is_nan() {
            return NEVER_QUIET;
        }
        (lo, hi)
    }

    /// Whether `bar` is inside the quiet band.
    fn is_quiet(&self, bar: &Bar) -> bool {
        self.quiet.is_some_and(|band| inside(band, bar))
    }
}

/// Whether `bar` lies strictly inside `(lo, hi)`, with the margins to spare.
pub fn inside((lo, hi): (f64, f64), bar: &Bar) -> bool {
    let margin = |p: f64| QUIET_MARGIN_ABS + p.abs() * QUIET_MARGIN_REL;
    bar.low - margin(bar.low) > lo && bar.high + margin(bar.high) < hi
}

/// How far a bar's f64 price may sit from the decimal the full check compares (rounding
/// to [`flotilla_domain::price::PRICE_DECIMALS`] places, plus f64 error): the quiet band
/// keeps this far from its edges, so a bar it lets through is one the full check passes.
const QUIET_MARGIN_ABS: f64 = 1e-6;
/// The relative part of the margin (f64 conversion error, with room to spare).
const QUIET_MARGIN_REL: f64 = 1e-12;
/// An empty band: every bar takes the full check.
const NEVER_QUIET: (f64, f64) = (f64::INFINITY, f64::NEG_INFINITY);

fn trails_by_atr(plan: &ExitPlan) -> bool {
    plan.trailing
        .as_ref()
        .is_some_and(|t| matches!(t.distance, TrailDistance::Atr(_)))
}

/// The exit book as stored in the ledger (see [`ExitBook::snapshot`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExitSnapshot {
    armed: Vec<(BotId, Symbol, ExitPlan)>,
    managed: Vec<(BotId, Symbol, Managed)>,
}

/// Exit plans and the positions they manage.
#[derive(Clone, Debug, Default)]
pub struct ExitBook {
    quantity_decimals: u32,
    armed: HashMap<(BotId, Symbol), ExitPlan>,
    /// Managed positions by symbol, then bot (in id order, so exits come out in a stable
    /// order): a bar reaches its symbol's positions without building a key per bot.
    managed: HashMap<Symbol, BTreeMap<BotId, Managed>>,
    /// Managed plans that trail by ATR: when none does, no bar needs an ATR.
    atr_trails: usize,
    /// Turns the quiet band off, so tests can compare the book with and without it.
    #[cfg(test)]
    no_quiet_band: bool,
}

impl ExitBook {
    /// An empty book; partial exit sizes are rounded down to `quantity_decimals`.
    pub fn new(quantity_decimals: u32) -> Self {
        Self {
            quantity_decimals,
            ..Self::default()
        }
    }

    /// Arms `plan` for the bot's next entry into `symbol` (or replaces the current plan).
    pub fn set_plan(&mut self, bot: &BotId, symbol: &Symbol, plan: ExitPlan) {
        match self.managed.get_mut(symbol).and_then(|m| m.get_mut(bot)) {
            Some(m) => {
                self.atr_trails = self.atr_trails + usize::from(trails_by_atr(&plan))
                    - usize::from(trails_by_atr(&m.plan));
                m.plan = plan;
                m.quiet = None;
            }
            None => {
                self.armed.insert((bot.clone(), symbol.clone()), plan);
            }
        }
    }

    /// Arms `plan` for the bot's next entry into `symbol`, leaving a managed position's
    /// plan as it is (an entry sent while that position's close is still working).
    pub fn arm(&mut self, bot: &BotId, symbol: &Symbol, plan: ExitPlan) {
        self.armed.insert((bot.clone(), symbol.clone()), plan);
    }

    /// The book as the ledger keeps it, in a stable order: armed plans and managed
    /// positions with their levels, best price, trail and scale-outs done.
    pub fn snapshot(&self) -> ExitSnapshot {
        let mut armed: Vec<_> = self
            .armed
            .iter()
            .map(|((b, s), p)| (b.clone(), s.clone(), p.clone()))
            .collect();
        armed.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let mut managed: Vec<_> = self
            .managed
            .iter()
            .flat_map(|(s, bots)| {
                bots.iter().map(|(b, m)| {
                    let mut m = m.clone();
                    m.quiet = None;
                    (b.clone(), s.clone(), m)
                })
            })
            .collect();
        managed.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        ExitSnapshot { armed, managed }
    }

    /// A book restored from [`ExitBook::snapshot`]. An exit that was in flight when the
    /// snapshot was taken is not: it is issued again on the next bar that touches its level.
    pub fn restore(quantity_decimals: u32, snapshot: ExitSnapshot) -> Self {
        let mut book = Self::new(quantity_decimals);
        for (b, s, p) in snapshot.armed {
            book.armed.insert((b, s), p);
        }
        for (b, s, mut m) in snapshot.managed {
            m.closing = false;
            m.quiet = None;
            book.atr_trails += usize::from(trails_by_atr(&m.plan));
            book.managed.entry(s).or_default().insert(b, m);
        }
        book
    }

    /// The bots and symbols whose positions the book manages, in order.
    pub fn managed_keys(&self) -> Vec<(BotId, Symbol)> {
        self.snapshot()
            .managed
            .into_iter()
            .map(|(b, s, _)| (b, s))
            .collect()
    }

    /// Number of positions under management.
    pub fn managed(&self) -> usize {
        self.managed.values().map(BTreeMap::len).sum()
    }

    /// The current trailing-stop level of a managed position.
    pub fn trail(&self, bot: &BotId, symbol: &Symbol) -> Option<Price> {
        self.managed.get(symbol)?.get(bot)?.trail
    }

    /// Updates the book after `fill`; `position` is the bot's position after it (None if flat).
    pub fn on_fill(&mut self, fill: &Fill, position: Option<&Position>) {
        let Some(pos) = position.filter(|p| !p.quantity.is_zero()) else {
            self.remove(&fill.bot, &fill.symbol);
            return;
        };
        let dir = if pos.quantity.is_sign_positive() {
            Decimal::ONE
        } else {
            Decimal::NEGATIVE_ONE
        };
        let qty = pos.quantity.abs();
        let current = self
            .managed
            .get_mut(&fill.symbol)
            .and_then(|m| m.get_mut(&fill.bot));
        if let Some(m) = current {
            if m.dir == dir {
                m.closing = false;
                if qty > m.qty {
                    // Added to: the plan now covers the larger position.
                    m.initial = m.initial.max(qty);
                    m.entry = pos.avg_price;
                    m.quiet = None;
                }
                m.qty = qty;
                return;
            }
            self.remove(&fill.bot, &fill.symbol); // flipped: the old plan does not apply
        }
        let key = (fill.bot.clone(), fill.symbol.clone());
        if let Some(plan) = self.armed.remove(&key) {
            self.atr_trails += usize::from(trails_by_atr(&plan));
            let m = Managed {
                plan,
                dir,
                entry: pos.avg_price,
                initial: qty,
                qty,
                best: pos.avg_price,
                trail: None,
                scales_done: 0,
                closing: false,
                quiet: None,
            };
            let (bot, symbol) = key;
            self.managed.entry(symbol).or_default().insert(bot, m);
        }
    }

    /// The host could not send an exit (refused or rejected): issue it again on the next bar.
    pub fn exit_failed(&mut self, bot: &BotId, symbol: &Symbol) {
        if let Some(m) = self.managed.get_mut(symbol).and_then(|m| m.get_mut(bot)) {
            m.closing = false;
        }
    }

    fn remove(&mut self, bot: &BotId, symbol: &Symbol) {
        if let Some(m) = self.managed.get_mut(symbol).and_then(|m| m.remove(bot)) {
            self.atr_trails -= usize::from(trails_by_atr(&m.plan));
        }
    }

    /// The band `(lo, hi)` of prices inside which bars of `symbol` fire no exit of any of
    /// its managed positions, however many such bars come (check with [`inside`]); `None`
    /// when none is managed. A replay hands a bot several ticks at once only while every
    /// bar in between is calm. Empty (no bar is calm) for a position trailing by ATR, one
    /// whose exit is in flight, and a trailing one whose band is not worked out yet.
    pub fn calm_band(&self, symbol: &Symbol) -> Option<(f64, f64)> {
        let bots = self.managed.get(symbol).filter(|b| !b.is_empty())?;
        Some(
            bots.values()
                .fold((f64::NEG_INFINITY, f64::INFINITY), |(lo, hi), m| {
                    let (l, h) = m.calm_band();
                    (lo.max(l), hi.min(h))
                }),
        )
    }

    /// Whether any managed position in `symbol` trails by ATR (so the caller computes one
    /// only when it is read: it costs a walk over recent bars on every bar).
    pub fn needs_atr(&self, symbol: &Symbol) -> bool {
        self.atr_trails > 0
            && self
                .managed
                .get(symbol)
                .is_some_and(|bots| bots.values().any(|m| trails_by_atr(&m.plan)))
    }

    /// Checks every managed position in `symbol` against a closed bar and returns the exits,
    /// by bot id. Stops are checked before targets (the worse case inside one bar), and the
    /// trail moves only after the checks. `atr` feeds ATR-based trails.
    pub fn on_bar(&mut self, symbol: &Symbol, bar: &Bar, atr: Option<f64>) -> Vec<ExitOrder> {
        let mut out = Vec::new();
        let Some(bots) = self.managed.get_mut(symbol).filter(|b| !b.is_empty()) else {
            return out;
        };
        if bar.validate().is_err() {
            return out;
        }
        #[cfg(test)]
        let use_band = !self.no_quiet_band;
        #[cfg(not(test))]
        let use_band = true;
        // Converted only when some position is not quiet.
        let mut prices = None;
        for (bot, m) in bots.iter_mut() {
            if use_band && m.is_quiet(bar) {
                continue;
            }
            // As ledger prices, like every market price that meets a decimal level.
            let (high, low) = match prices {
                Some(p) => p,
                None => match (to_price(bar.high), to_price(bar.low)) {
                    (Some(h), Some(l)) => *prices.insert((h, l)),
                    _ => return out,
                },
            };
            let side = if m.dir.is_sign_positive() {
                Side::Sell
            } else {
                Side::Buy
            };
            let decimals = self.quantity_decimals;
            check(
                m,
                (high, low),
                atr,
                decimals,
                |quantity, reason, trigger| {
                    out.push(ExitOrder {
                        bot: bot.clone(),
                        symbol: symbol.clone(),
                        side,
                        quantity,
                        reason,
                        trigger,
                        time: bar.time,
                    });
                },
            );
            m.quiet = Some(m.quiet_band());
        }
        out
    }
}

/// The full check of one managed position against a bar (`high`, `low` as ledger prices):
/// stops, then targets and scale-outs, then the trail. Each exit goes to `exit` as
/// (quantity, reason, trigger level).
fn check(
    m: &mut Managed,
    (high, low): (Price, Price),
    atr: Option<f64>,
    quantity_decimals: u32,
    mut exit: impl FnMut(Quantity, ExitReason, Price),
) {
    let (fav, adv) = if m.dir.is_sign_positive() {
        (high, low)
    } else {
        (low, high)
    };
    if !m.closing {
        // The binding stop is the one nearer the price.
        let stop = match (m.plan.stop_loss, m.trail) {
            (Some(s), Some(t)) if m.dir * (t - s) > Decimal::ZERO => {
                Some((t, ExitReason::TrailingStop))
            }
            (Some(s), _) => Some((s, ExitReason::StopLoss)),
            (None, Some(t)) => Some((t, ExitReason::TrailingStop)),
            (None, None) => None,
        };
        let mut remaining = m.qty;
        if let Some((level, reason)) = stop.filter(|(s, _)| m.dir * (adv - *s) <= Decimal::ZERO) {
            exit(remaining, reason, level);
            m.closing = true;
        } else if let Some(tp) = m
            .plan
            .take_profit
            .filter(|tp| m.dir * (fav - *tp) >= Decimal::ZERO)
        {
            exit(remaining, ExitReason::TakeProfit, tp);
            m.closing = true;
        } else {
            while let Some(s) = m.plan.scale_outs.get(m.scales_done).copied() {
                let Some(level) = m.level(s.at_r) else { break };
                if m.dir * (fav - level) < Decimal::ZERO {
                    break;
                }
                m.scales_done += 1;
                let q = (m.initial * dec(s.fraction))
                    .round_dp_with_strategy(quantity_decimals, RoundingStrategy::ToZero)
                    .min(remaining);
                if q > Decimal::ZERO {
                    let reason = ExitReason::ScaleOut {
                        level: m.scales_done - 1,
                        at_r: s.at_r,
                    };
                    exit(q, reason, level);
                    remaining -= q;
                }
            }
        }
    }
    // Move the trail with this bar's best price.
    if m.dir * (fav - m.best) > Decimal::ZERO {
        m.best = fav;
    }
    if let Some(t) = m.plan.trailing {
        let armed = match t.activate_at_r {
            None => true,
            Some(r) => m
                .level(r)
                .is_some_and(|l| m.dir * (m.best - l) >= Decimal::ZERO),
        };
        let dist = match t.distance {
            TrailDistance::Atr(k) => atr
                .filter(|a| a.is_finite() && *a > 0.0)
                .map(|a| dec(k * a)),
            TrailDistance::Percent(p) => Some(m.best * dec(p)),
            TrailDistance::Absolute(d) => Some(d),
        };
        if let (true, Some(d)) = (armed, dist) {
            let level = m.best - m.dir * d;
            if m.trail
                .is_none_or(|old| m.dir * (level - old) > Decimal::ZERO)
            {
                m.trail = Some(level);
            }
        }
    }
}

fn dec(x: f64) -> Decimal {
    Decimal::try_from(x).unwrap_or(Decimal::ZERO).round_dp(10)
}

#[cfg(test)]
#[path = "exits_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "exits_band_tests.rs"]
mod band_tests;
