//! The central risk engine: an ordered chain of gates over one intent.
//!
//! Each gate passes, cuts the size (resize, with a typed reason) or refuses (typed reason
//! with the numbers). Gates only ever shrink an order, and a size cap never blocks the
//! part of an order that reduces an existing position. See [`gates`] for the order.

pub mod config;
pub mod gates;
pub mod session;
pub mod state;
pub mod verdict;
mod watch;

pub use watch::RiskMemory;

pub use config::{
    BotRiskOverrides, CorrelationConfig, DataSanityConfig, KellyConfig, LossStreakConfig,
    RateLimit, RiskConfig, SessionReset,
};
pub use session::{EquityWatch, RiskConfigError, SessionClock};
pub use state::{StateCause, StateChange, StateEntry, TradingState};
pub use verdict::{Refusal, RefusalReason, ResizeReason, Scope, Verdict};

use crate::correlation::CorrelationTracker;
use crate::portfolio::Portfolio;
use crate::sizing::TradeStats;
use flotilla_domain::{BotId, Intent, Money, Price, Quantity, Side, Symbol, Timestamp};
use rust_decimal::{Decimal, RoundingStrategy};
use state::StateBook;
use std::collections::{HashMap, VecDeque};

/// What the risk chain needs to know besides the intent. Build with [`RiskInput::new`].
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct RiskInput<'a> {
    /// Now (the clock's value).
    pub now: Timestamp,
    /// Last price of the intent's symbol.
    pub price: Price,
    /// The fleet's book.
    pub portfolio: &'a Portfolio,
    /// The bot's allocated capital.
    pub budget: Money,
    /// Marked-to-market fleet equity; also marks the daily-loss and drawdown watch.
    /// When absent: the last marked equity, else equity at cost.
    pub equity: Option<Money>,
    /// When `price` was observed; default: the last price given to `observe_*`.
    pub price_time: Option<Timestamp>,
    /// Close to check the price band against; default: the previous observed close.
    pub reference_price: Option<Price>,
    /// The price as the feed gave it, so NaN and infinities can be refused.
    pub raw_price: Option<f64>,
}

impl<'a> RiskInput<'a> {
    /// Input with the required fields.
    pub fn new(now: Timestamp, price: Price, portfolio: &'a Portfolio, budget: Money) -> Self {
        Self {
            now,
            price,
            portfolio,
            budget,
            equity: None,
            price_time: None,
            reference_price: None,
            raw_price: None,
        }
    }
    /// Input from a feed's `f64` price; NaN, infinite or non-positive prices are refused.
    pub fn from_f64(now: Timestamp, price: f64, portfolio: &'a Portfolio, budget: Money) -> Self {
        let dec = Decimal::try_from(price).unwrap_or(Decimal::ZERO);
        Self {
            raw_price: Some(price),
            ..Self::new(now, dec, portfolio, budget)
        }
    }
    /// Sets the marked fleet equity.
    pub fn with_equity(mut self, equity: Money) -> Self {
        self.equity = Some(equity);
        self
    }
    /// Sets when the price was observed.
    pub fn with_price_time(mut self, t: Timestamp) -> Self {
        self.price_time = Some(t);
        self
    }
    /// Sets the close the price band is measured from.
    pub fn with_reference_price(mut self, p: Price) -> Self {
        self.reference_price = Some(p);
        self
    }
}

/// The order under evaluation as it moves down the chain.
#[derive(Clone, Debug)]
pub struct Candidate<'i> {
    /// The intent.
    pub intent: &'i Intent,
    /// The symbol's underlying.
    pub underlying: Symbol,
    /// The bot's current signed position in the symbol.
    pub current: Quantity,
    /// Buy or sell.
    pub side: Side,
    /// Units asked for.
    pub requested: Quantity,
    /// Current size; gates only lower it.
    pub quantity: Quantity,
    /// The last gate that cut the size.
    pub resized: Option<ResizeReason>,
    /// A host-managed exit (stop, target, trailing) rather than a bot's order.
    pub host_exit: bool,
    /// Fleet equity used by percentage limits.
    pub equity: Money,
}

impl Candidate<'_> {
    /// The intent's bot.
    pub fn bot(&self) -> &BotId {
        &self.intent.bot
    }
    /// Signed position after the order at its current size.
    pub fn new_position(&self) -> Quantity {
        self.current + self.side.sign() * self.quantity
    }
    /// Whether the order trades against the existing position.
    pub fn against(&self) -> bool {
        !self.current.is_zero() && self.current.is_sign_positive() != (self.side == Side::Buy)
    }
    /// Whether the order only shrinks the position (never flips or grows it).
    pub fn is_reducing(&self) -> bool {
        self.against() && self.quantity <= self.current.abs()
    }
    /// Whether the order opens a position from flat.
    pub fn opens(&self) -> bool {
        self.current.is_zero()
    }
    /// Units of the order that reduce the existing position.
    pub fn reducing_part(&self) -> Quantity {
        if self.against() {
            self.current.abs().min(self.quantity)
        } else {
            Decimal::ZERO
        }
    }
    /// Caps the order so |new position| ≤ `max_abs` (the reducing part always passes).
    /// Returns false when nothing of the order would be left.
    pub fn cap_position(&mut self, max_abs: Quantity, reason: ResizeReason) -> bool {
        let max_abs = max_abs.max(Decimal::ZERO);
        let max_q = if self.against() {
            self.current.abs() + max_abs
        } else {
            max_abs - self.current.abs()
        };
        self.cap_quantity(max_q, reason)
    }
    /// Caps the order's size at `max_q`. Returns false when nothing would be left.
    pub fn cap_quantity(&mut self, max_q: Quantity, reason: ResizeReason) -> bool {
        if self.quantity <= max_q {
            return true;
        }
        if max_q <= Decimal::ZERO {
            return false;
        }
        self.quantity = max_q;
        self.resized = Some(reason);
        true
    }
}

/// Last two closes of a symbol, and whether its latest bar was unusable.
#[derive(Clone, Debug, Default)]
pub(crate) struct PriceTrack {
    last: Option<(Timestamp, Price)>,
    prev: Option<(Timestamp, Price)>,
    /// `last` as the f64 it was observed as, for returns.
    last_f64: f64,
    bad: Option<String>,
}

/// The risk engine: limits, trading state and the chain's memory (rates, cooldowns, stats).
#[derive(Debug)]
pub struct RiskEngine {
    config: RiskConfig,
    session: SessionClock,
    underlying_cache: HashMap<Symbol, Symbol>,
    states: StateBook,
    equity: EquityWatch,
    rates_bot: HashMap<BotId, VecDeque<Timestamp>>,
    rates_global: VecDeque<Timestamp>,
    exits: HashMap<BotId, HashMap<Symbol, Timestamp>>,
    pcts: Pcts,
    stats: HashMap<BotId, TradeStats>,
    /// Fx-hashed: looked up on every bar, keyed by registry symbols (not adversarial).
    prices: rustc_hash::FxHashMap<Symbol, PriceTrack>,
    /// Symbols whose live feed is stale (set by the host from its feed; none in replays).
    stale_feeds: std::collections::BTreeSet<Symbol>,
    correlation: CorrelationTracker,
    cluster_cache: HashMap<Symbol, ClusterCost>,
    /// Daily-loss threshold (start-of-session equity × fraction), cached between marks.
    daily_loss_at: watch::ScaledLimit,
    /// Drawdown threshold (peak × fraction), cached between marks.
    drawdown_at: watch::ScaledLimit,
    /// The equity at or below which a daily-loss or drawdown limit trips, as of the last
    /// full mark; `None` when it must be worked out again (see [`RiskEngine::mark_equity`]).
    trips_at: Option<Decimal>,
    /// Turns the quiet-mark shortcut off, so tests can compare marks with and without it.
    #[cfg(test)]
    full_marks: bool,
}

/// The config's fractions as decimals, converted once (f64 → Decimal is not free).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pcts {
    pub gross: Option<Decimal>,
    pub cluster: Option<Decimal>,
    pub band: Option<Decimal>,
    pub daily_loss: Option<Decimal>,
    pub drawdown: Option<Decimal>,
}

impl Pcts {
    fn new(c: &RiskConfig) -> Self {
        let d = |x: f64| Decimal::try_from(x).unwrap_or(Decimal::MAX);
        Self {
            gross: c.max_gross_exposure_pct.map(d),
            cluster: c.correlation.max_cluster_pct.map(d),
            band: c.data.price_band_pct.map(d),
            daily_loss: c.daily_loss_pct.map(d),
            drawdown: c.max_drawdown_pct.map(d),
        }
    }
}

/// Gross cost of a symbol's correlated cluster (itself excluded), valid for one
/// correlation generation and one portfolio version.
#[derive(Clone, Debug)]
pub(crate) struct ClusterCost {
    pub key: (u64, (u64, u64)),
    pub members: usize,
    pub cost: Money,
}

impl RiskEngine {
    /// An engine with `config`. Panics on an invalid config; see [`RiskEngine::try_new`].
    pub fn new(config: RiskConfig) -> Self {
        Self::try_new(config).unwrap_or_else(|e| panic!("invalid risk config: {e}"))
    }

    /// An engine with `config`, or why the config is invalid.
    pub fn try_new(config: RiskConfig) -> Result<Self, RiskConfigError> {
        config.validate()?;
        let session = SessionClock::new(&config.session_reset)?;
        let correlation =
            CorrelationTracker::new(config.correlation.window, config.correlation.min_samples);
        let pcts = Pcts::new(&config);
        Ok(Self {
            config,
            session,
            underlying_cache: HashMap::new(),
            states: StateBook::default(),
            equity: EquityWatch::default(),
            rates_bot: HashMap::new(),
            rates_global: VecDeque::new(),
            exits: HashMap::new(),
            pcts,
            stats: HashMap::new(),
            prices: Default::default(),
            stale_feeds: Default::default(),
            correlation,
            cluster_cache: HashMap::new(),
            daily_loss_at: Default::default(),
            drawdown_at: Default::default(),
            trips_at: None,
            #[cfg(test)]
            full_marks: false,
        })
    }

    /// Applies new limits (a registry reload) and keeps what the engine has learned:
    /// trading states, equity marks, order rates, cooldowns, trade stats, prices and
    /// returns. The underlying rules and the quantity precision shape the portfolio, so they
    /// cannot change while it is open; a correlation window or sample count that changes
    /// starts the return history afresh. On error nothing changes.
    pub fn reconfigure(&mut self, config: RiskConfig) -> Result<(), RiskConfigError> {
        config.validate()?;
        if config.underlying != self.config.underlying {
            return Err(RiskConfigError::NeedsRestart("underlying"));
        }
        if config.quantity_decimals != self.config.quantity_decimals {
            return Err(RiskConfigError::NeedsRestart("quantity_decimals"));
        }
        self.session = SessionClock::new(&config.session_reset)?;
        let (old, new) = (&self.config.correlation, &config.correlation);
        if (old.window, old.min_samples) != (new.window, new.min_samples) {
            self.correlation = CorrelationTracker::new(new.window, new.min_samples);
        }
        self.pcts = Pcts::new(&config);
        // Cluster costs depend on limits that may have changed.
        self.cluster_cache.clear();
        self.trips_at = None;
        self.config = config;
        Ok(())
    }

    /// The engine's limits.
    pub fn config(&self) -> &RiskConfig {
        &self.config
    }

    /// An empty portfolio whose underlyings follow this engine's rules.
    pub fn new_portfolio(&self, starting_cash: Money) -> Portfolio {
        Portfolio::with_underlying_rules(starting_cash, self.config.underlying.clone())
    }

    /// The underlying of `symbol` under the configured rules (cached).
    pub fn underlying(&mut self, symbol: &Symbol) -> Symbol {
        if let Some(u) = self.underlying_cache.get(symbol) {
            return u.clone();
        }
        let u = self.config.underlying.underlying(symbol);
        self.underlying_cache.insert(symbol.clone(), u.clone());
        u
    }

    /// Runs the chain over a bot's intent; deterministic given the inputs and the engine's state.
    pub fn evaluate(&mut self, intent: &Intent, input: &RiskInput<'_>) -> Verdict {
        self.run(intent, input, false)
    }

    /// Runs the chain over a host-managed exit: it must reduce the position, and it passes
    /// whatever the trading state, rate limits or the price band (a crash is when stops fire).
    pub fn evaluate_exit(&mut self, intent: &Intent, input: &RiskInput<'_>) -> Verdict {
        self.run(intent, input, true)
    }

    fn run(&mut self, intent: &Intent, input: &RiskInput<'_>, host_exit: bool) -> Verdict {
        debug_assert_eq!(
            input.portfolio.underlying_rules(),
            &self.config.underlying,
            "portfolio and risk config disagree on underlyings; use RiskEngine::new_portfolio"
        );
        if let Some(e) = input.equity {
            self.mark_equity(input.now, e);
        }
        let equity = input.equity.unwrap_or_else(|| {
            if self.equity.session.is_some() {
                self.equity.last
            } else {
                input.portfolio.equity_at_cost()
            }
        });
        let current = input.portfolio.quantity(&intent.bot, &intent.symbol);
        let delta = intent.delta(current);
        let side = if delta.is_sign_negative() {
            Side::Sell
        } else {
            Side::Buy
        };
        let underlying = self.underlying(&intent.symbol);
        let mut cand = Candidate {
            intent,
            underlying,
            current,
            side,
            requested: delta.abs(),
            quantity: delta.abs(),
            resized: None,
            host_exit,
            equity,
        };
        for gate in gates::CHAIN {
            if let Err(reason) = gate(self, &mut cand, input) {
                return Verdict::Refused(Refusal { reason });
            }
        }
        if !host_exit {
            self.record_order(&intent.bot, input.now);
        }
        match cand.resized {
            Some(reason) if cand.quantity < cand.requested => Verdict::Resized {
                side: cand.side,
                quantity: cand.quantity,
                requested: cand.requested,
                reason,
            },
            _ => Verdict::Approved {
                side: cand.side,
                quantity: cand.quantity,
            },
        }
    }

    /// `money / price` rounded down to the configured quantity precision (0 if either ≤ 0).
    pub fn units(&self, money: Money, price: Price) -> Quantity {
        if price <= Decimal::ZERO || money <= Decimal::ZERO {
            return Decimal::ZERO;
        }
        (money / price)
            .round_dp_with_strategy(self.config.quantity_decimals, RoundingStrategy::ToZero)
    }

    /// Rounds a quantity down to the configured precision.
    pub fn round_qty(&self, q: Quantity) -> Quantity {
        q.round_dp_with_strategy(self.config.quantity_decimals, RoundingStrategy::ToZero)
    }

    /// Marks `symbol`'s live feed stale (or fresh again): while stale, orders that add
    /// to a position in it are refused with [`RefusalReason::StaleFeed`]; exits and
    /// reducing orders pass.
    pub fn set_feed_stale(&mut self, symbol: &Symbol, stale: bool) {
        if stale {
            self.stale_feeds.insert(symbol.clone());
        } else {
            self.stale_feeds.remove(symbol);
        }
    }

    /// Whether `symbol`'s live feed is marked stale.
    pub fn feed_stale(&self, symbol: &Symbol) -> bool {
        self.stale_feeds.contains(symbol)
    }

    /// The bot's closed-trade statistics, if it closed any trade.
    pub fn trade_stats(&self, bot: &BotId) -> Option<&TradeStats> {
        self.stats.get(bot)
    }

    /// The rolling return correlations.
    pub fn correlation(&self) -> &CorrelationTracker {
        &self.correlation
    }

    /// Start-of-session equity, peak and last marked equity.
    pub fn equity_watch(&self) -> &EquityWatch {
        &self.equity
    }
}

impl RiskConfig {
    /// Checks ranges and parses the session reset.
    pub fn validate(&self) -> Result<(), RiskConfigError> {
        let frac = |field: &'static str, v: Option<f64>, max: f64| match v {
            Some(x) if !(x.is_finite() && x > 0.0 && x <= max) => Err(RiskConfigError::BadValue {
                field,
                why: format!("{x} not in (0, {max}]"),
            }),
            _ => Ok(()),
        };
        frac("daily_loss_pct", self.daily_loss_pct, 1.0)?;
        frac("max_drawdown_pct", self.max_drawdown_pct, 1.0)?;
        frac("max_gross_exposure_pct", self.max_gross_exposure_pct, 100.0)?;
        frac(
            "correlation.max_cluster_pct",
            self.correlation.max_cluster_pct,
            100.0,
        )?;
        frac(
            "correlation.threshold",
            Some(self.correlation.threshold),
            1.0,
        )?;
        frac("kelly.fraction", Some(self.kelly.fraction), 1.0)?;
        frac("kelly.max_fraction", Some(self.kelly.max_fraction), 1.0)?;
        if !(0.0..=1.0).contains(&self.loss_streak.factor) {
            let why = format!("{} not in [0, 1]", self.loss_streak.factor);
            return Err(RiskConfigError::BadValue {
                field: "loss_streak.factor",
                why,
            });
        }
        if self.daily_loss_state == TradingState::Active {
            let why = "must be reducing or halted".to_string();
            return Err(RiskConfigError::BadValue {
                field: "daily_loss_state",
                why,
            });
        }
        SessionClock::new(&self.session_reset).map(|_| ())
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_marks;
#[cfg(test)]
mod tests_stage2;
