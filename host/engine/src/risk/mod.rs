//! The central risk engine: an ordered chain of gates over one intent.
//!
//! Each gate passes, cuts the size (resize, with a typed reason) or refuses (typed reason
//! with the numbers). Gates only ever shrink an order, and never block the part of an order
//! that reduces an existing position through a size cap.

pub mod config;
mod gates;
pub mod state;
pub mod verdict;

pub use config::{BotRiskOverrides, RiskConfig};
pub use state::{StateCause, StateChange, StateEntry, TradingState};
pub use verdict::{Refusal, RefusalReason, ResizeReason, Scope, Verdict};

use crate::portfolio::Portfolio;
use flotilla_domain::{BotId, Intent, Money, Price, Quantity, Side, Symbol, Timestamp};
use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::HashMap;

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
}

impl<'a> RiskInput<'a> {
    /// Input with the required fields.
    pub fn new(now: Timestamp, price: Price, portfolio: &'a Portfolio, budget: Money) -> Self {
        Self {
            now,
            price,
            portfolio,
            budget,
        }
    }
}

/// The order under evaluation as it moves down the chain.
#[derive(Clone, Debug)]
pub(crate) struct Candidate<'i> {
    pub intent: &'i Intent,
    pub underlying: Symbol,
    /// The bot's current signed position in the symbol.
    pub current: Quantity,
    pub side: Side,
    pub requested: Quantity,
    /// Current size; gates only lower it.
    pub quantity: Quantity,
    pub resized: Option<ResizeReason>,
}

impl Candidate<'_> {
    /// The bot's bot id.
    pub fn bot(&self) -> &BotId {
        &self.intent.bot
    }
    /// Signed position after the order at its current size.
    pub fn new_position(&self) -> Quantity {
        self.current + self.side.sign() * self.quantity
    }
    /// Whether the order only shrinks the position (never flips or grows it).
    pub fn is_reducing(&self) -> bool {
        let new = self.new_position();
        self.against() && new.abs() <= self.current.abs()
    }
    /// Whether the order trades against the existing position.
    pub fn against(&self) -> bool {
        !self.current.is_zero() && self.current.is_sign_positive() != (self.side == Side::Buy)
    }
    /// Whether the order opens a position from flat.
    pub fn opens(&self) -> bool {
        self.current.is_zero()
    }
    /// Units of the order that reduce the existing position.
    pub fn reducing_part(&self) -> Quantity {
        if self.against() {
            self.current.abs()
        } else {
            Decimal::ZERO
        }
    }
    /// Caps the order so |new position| ≤ `max_abs` (the reducing part always passes).
    /// Returns false when nothing of the order would be left.
    pub fn cap_position(&mut self, max_abs: Quantity, reason: ResizeReason) -> bool {
        let max_abs = max_abs.max(Decimal::ZERO);
        let reducing = self.reducing_part();
        let max_q = if reducing.is_zero() {
            max_abs - self.current.abs()
        } else {
            reducing + max_abs
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

/// The risk engine: limits, trading state and the chain's memory (rates, cooldowns, stats).
#[derive(Debug)]
pub struct RiskEngine {
    config: RiskConfig,
    underlying_cache: HashMap<Symbol, Symbol>,
}

impl RiskEngine {
    /// An engine with `config`.
    pub fn new(config: RiskConfig) -> Self {
        Self {
            config,
            underlying_cache: HashMap::new(),
        }
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

    /// Runs the chain over `intent`; deterministic given the inputs and the engine's state.
    pub fn evaluate(&mut self, intent: &Intent, input: &RiskInput<'_>) -> Verdict {
        debug_assert_eq!(
            input.portfolio.underlying_rules(),
            &self.config.underlying,
            "portfolio and risk config disagree on underlyings; use RiskEngine::new_portfolio"
        );
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
        };
        for gate in gates::CHAIN {
            if let Err(reason) = gate(self, &mut cand, input) {
                return Verdict::Refused(Refusal { reason });
            }
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

    /// `x / price` rounded down to the configured quantity precision (0 if price ≤ 0).
    pub(crate) fn units(&self, money: Money, price: Price) -> Quantity {
        if price <= Decimal::ZERO || money <= Decimal::ZERO {
            return Decimal::ZERO;
        }
        (money / price)
            .round_dp_with_strategy(self.config.quantity_decimals, RoundingStrategy::ToZero)
    }
}

#[cfg(test)]
mod tests;
