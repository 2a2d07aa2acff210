//! The risk chain's answer: approved, resized or refused, with typed reasons.

use flotilla_domain::{BotId, Decimal, Quantity, Side, Symbol, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;

use super::state::TradingState;

/// Whether a limit applies to the whole fleet or to one bot.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The whole fleet.
    Global,
    /// One bot.
    Bot,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scope::Global => "global",
            Scope::Bot => "bot",
        })
    }
}

/// Why an intent was refused, with the numbers that caused it. The serde tag equals `code()`.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum RefusalReason {
    /// The intent asks for no change of position.
    NoChange {
        /// The bot's current position.
        current: Quantity,
    },
    /// The price is NaN, infinite, zero or negative.
    BadPrice {
        /// The offending price, as text (it may be NaN).
        price: String,
    },
    /// The symbol's latest bar failed validation (NaN, non-positive or inconsistent).
    BadBar {
        /// What was wrong with it.
        why: String,
    },
    /// A host exit that would not reduce the position (it is flat or on the exit's side).
    NotReducing {
        /// The bot's current position.
        current: Quantity,
    },
    /// The last price is older than allowed.
    StalePrice {
        /// When the price was observed.
        price_time: Timestamp,
        /// Now.
        now: Timestamp,
        /// Maximum allowed age in ms.
        max_age_ms: i64,
    },
    /// The symbol's live feed is silent past its expected interval: no new entries until
    /// its bars arrive again (exits still go).
    StaleFeed {
        /// The symbol.
        symbol: Symbol,
    },
    /// The price moved further from the last close than the band allows.
    PriceOutOfBand {
        /// The price.
        price: Decimal,
        /// The reference close.
        reference: Decimal,
        /// The allowed band as a fraction of the reference.
        band: f64,
    },
    /// The fleet or the bot is halted or reducing, and the order would add risk.
    TradingState {
        /// The binding state.
        state: TradingState,
        /// Fleet or bot.
        scope: Scope,
        /// Why the state was set.
        why: String,
    },
    /// Another bot holds the opposite side of the same underlying.
    ContradictoryPosition {
        /// The underlying.
        underlying: Symbol,
        /// The bot on the other side.
        other_bot: BotId,
        /// The side the intent would end up on.
        side: Side,
    },
    /// Opening one more position would exceed the limit.
    MaxOpenPositions {
        /// Fleet or bot.
        scope: Scope,
        /// The limit.
        limit: usize,
        /// Positions open now.
        open: usize,
    },
    /// The bot's budget leaves no room for more exposure.
    BudgetExhausted {
        /// The bot's budget.
        budget: Decimal,
        /// The bot's gross notional excluding this symbol.
        used: Decimal,
        /// The price used.
        price: Decimal,
    },
    /// Another gate's cap leaves no room at all.
    CapExhausted {
        /// Which cap: see `ResizeReason` codes.
        cap: ResizeReason,
    },
    /// The re-entry cooldown after an exit has not elapsed.
    Cooldown {
        /// When the bot last exited the symbol.
        exited_at: Timestamp,
        /// When it may re-enter.
        until: Timestamp,
    },
    /// Too many orders in the rate window.
    RateLimited {
        /// Fleet or bot.
        scope: Scope,
        /// Orders allowed per window.
        limit: u32,
        /// The window in ms.
        window_ms: i64,
    },
    /// Sizing found no edge: the Kelly fraction is not positive.
    NoEdge {
        /// The bot's confidence (win probability).
        confidence: f64,
        /// The payoff ratio used.
        payoff_ratio: f64,
        /// The raw Kelly fraction.
        kelly: f64,
    },
}

impl RefusalReason {
    /// A stable machine-readable code, e.g. `contradictory_position`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoChange { .. } => "no_change",
            Self::BadPrice { .. } => "bad_price",
            Self::BadBar { .. } => "bad_bar",
            Self::NotReducing { .. } => "not_reducing",
            Self::StalePrice { .. } => "stale_price",
            Self::StaleFeed { .. } => "stale_feed",
            Self::PriceOutOfBand { .. } => "price_out_of_band",
            Self::TradingState { .. } => "trading_state",
            Self::ContradictoryPosition { .. } => "contradictory_position",
            Self::MaxOpenPositions { .. } => "max_open_positions",
            Self::BudgetExhausted { .. } => "budget_exhausted",
            Self::CapExhausted { .. } => "cap_exhausted",
            Self::Cooldown { .. } => "cooldown",
            Self::RateLimited { .. } => "rate_limited",
            Self::NoEdge { .. } => "no_edge",
        }
    }
}

impl fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoChange { current } => write!(f, "no change: position already {current}"),
            Self::BadPrice { price } => write!(f, "bad price {price}"),
            Self::BadBar { why } => write!(f, "unusable bar: {why}"),
            Self::NotReducing { current } => {
                write!(f, "exit would not reduce the position of {current}")
            }
            Self::StalePrice {
                price_time,
                now,
                max_age_ms,
            } => {
                write!(
                    f,
                    "stale price from {price_time} at {now} (max age {max_age_ms} ms)"
                )
            }
            Self::StaleFeed { symbol } => {
                write!(f, "the live feed of {symbol} is stale: no new entries")
            }
            Self::PriceOutOfBand {
                price,
                reference,
                band,
            } => {
                write!(f, "price {price} outside ±{band} of last close {reference}")
            }
            Self::TradingState { state, scope, why } => {
                write!(
                    f,
                    "{scope} trading state {state} ({why}): only reducing orders allowed"
                )
            }
            Self::ContradictoryPosition {
                underlying,
                other_bot,
                side,
            } => write!(
                f,
                "bot {other_bot} holds the opposite side of {underlying}; intent would be {}",
                side.as_str()
            ),
            Self::MaxOpenPositions { scope, limit, open } => {
                write!(f, "{scope} open positions {open} at limit {limit}")
            }
            Self::BudgetExhausted {
                budget,
                used,
                price,
            } => {
                write!(f, "budget {budget} exhausted: {used} used, price {price}")
            }
            Self::CapExhausted { cap } => write!(f, "no room left: {cap}"),
            Self::Cooldown { exited_at, until } => {
                write!(
                    f,
                    "re-entry cooldown after exit at {exited_at} until {until}"
                )
            }
            Self::RateLimited {
                scope,
                limit,
                window_ms,
            } => {
                write!(
                    f,
                    "{scope} rate limit of {limit} orders per {window_ms} ms reached"
                )
            }
            Self::NoEdge {
                confidence,
                payoff_ratio,
                kelly,
            } => write!(
                f,
                "no edge: confidence {confidence}, payoff {payoff_ratio:.3}, kelly {kelly:.4}"
            ),
        }
    }
}

/// A refused intent. Serialises as `{"code": ..., <numbers>}`.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize, thiserror::Error)]
#[serde(transparent)]
#[error("{reason}")]
pub struct Refusal {
    /// Why, with the numbers.
    pub reason: RefusalReason,
}

impl Refusal {
    /// The stable code of the reason.
    pub fn code(&self) -> &'static str {
        self.reason.code()
    }
}

impl From<RefusalReason> for Refusal {
    fn from(reason: RefusalReason) -> Self {
        Self { reason }
    }
}

/// Why a gate cut an order's size, with the numbers. The serde tag equals `code()`.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ResizeReason {
    /// The bot's gross notional would exceed its budget.
    Budget {
        /// The bot's budget.
        budget: Decimal,
        /// Gross notional of the bot's other symbols.
        used: Decimal,
    },
    /// The order's notional exceeds the per-order cap.
    OrderNotional {
        /// The cap.
        limit: Decimal,
    },
    /// The fleet's notional in the symbol would exceed the cap.
    SymbolNotional {
        /// The cap.
        limit: Decimal,
        /// Fleet gross notional of the symbol excluding this bot.
        used: Decimal,
    },
    /// Fleet gross exposure would exceed its share of equity.
    GrossExposure {
        /// The cap in money (share × equity).
        limit: Decimal,
        /// Gross exposure of everything else.
        used: Decimal,
    },
    /// The exposure of the cluster of correlated symbols would exceed its cap.
    Correlation {
        /// The cap in money.
        limit: Decimal,
        /// Exposure of the cluster excluding this position.
        used: Decimal,
        /// Number of symbols in the cluster, this one included.
        cluster: usize,
    },
    /// The bot is on a losing streak, so its size is cut.
    LossStreak {
        /// Consecutive losing trades.
        losses: u32,
        /// The size multiplier applied.
        factor: f64,
    },
    /// Fractional Kelly sizing.
    Kelly {
        /// The fraction of the budget Kelly allows for this position.
        fraction: f64,
        /// The notional that fraction allows.
        notional: Decimal,
    },
    /// The fleet or bot is reducing or halted, so the order was cut to a pure reduction.
    TradingState {
        /// The binding state.
        state: TradingState,
    },
}

impl ResizeReason {
    /// A stable machine-readable code, e.g. `budget`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Budget { .. } => "budget",
            Self::OrderNotional { .. } => "order_notional",
            Self::SymbolNotional { .. } => "symbol_notional",
            Self::GrossExposure { .. } => "gross_exposure",
            Self::Correlation { .. } => "correlation",
            Self::LossStreak { .. } => "loss_streak",
            Self::Kelly { .. } => "kelly",
            Self::TradingState { .. } => "trading_state",
        }
    }
}

impl fmt::Display for ResizeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Budget { budget, used } => write!(f, "budget {budget} with {used} used"),
            Self::OrderNotional { limit } => write!(f, "order notional cap {limit}"),
            Self::SymbolNotional { limit, used } => {
                write!(f, "symbol notional cap {limit} with {used} used")
            }
            Self::GrossExposure { limit, used } => {
                write!(f, "gross exposure cap {limit} with {used} used")
            }
            Self::Correlation {
                limit,
                used,
                cluster,
            } => {
                write!(
                    f,
                    "correlated cluster of {cluster} capped at {limit} with {used} used"
                )
            }
            Self::LossStreak { losses, factor } => {
                write!(f, "{losses} losses in a row: size × {factor}")
            }
            Self::Kelly { fraction, notional } => {
                write!(f, "kelly fraction {fraction:.4} allows {notional}")
            }
            Self::TradingState { state } => write!(f, "state {state}: reduce only"),
        }
    }
}

/// The outcome of the risk chain for one intent.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Send as asked.
    Approved {
        /// Buy or sell.
        side: Side,
        /// Units, positive.
        quantity: Quantity,
    },
    /// Send a smaller order.
    Resized {
        /// Buy or sell.
        side: Side,
        /// Units to send, positive and below `requested`.
        quantity: Quantity,
        /// Units the intent asked for.
        requested: Quantity,
        /// The gate that cut it last (the binding one).
        reason: ResizeReason,
    },
    /// Do not send.
    Refused(Refusal),
}

impl Verdict {
    /// The order to send, if any: side and positive quantity.
    pub fn order(&self) -> Option<(Side, Quantity)> {
        match self {
            Verdict::Approved { side, quantity } | Verdict::Resized { side, quantity, .. } => {
                Some((*side, *quantity))
            }
            Verdict::Refused(_) => None,
        }
    }
    /// The refusal, if refused.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Verdict::Refused(r) => Some(r),
            _ => None,
        }
    }
    /// A short code: `approved`, `resized` or the refusal code.
    pub fn code(&self) -> &'static str {
        match self {
            Verdict::Approved { .. } => "approved",
            Verdict::Resized { .. } => "resized",
            Verdict::Refused(r) => r.code(),
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Approved { side, quantity } => {
                write!(f, "approved {} {quantity}", side.as_str())
            }
            Verdict::Resized {
                side,
                quantity,
                requested,
                reason,
            } => {
                write!(
                    f,
                    "resized {} {quantity} (asked {requested}): {reason}",
                    side.as_str()
                )
            }
            Verdict::Refused(r) => write!(f, "refused [{}]: {r}", r.code()),
        }
    }
}
