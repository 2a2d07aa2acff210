//! Risk chain, sizing, capital allocation and portfolio accounting. No I/O.
//!
//! Everything here is synchronous and deterministic given a clock value and an RNG seed.

pub mod allocator;
pub mod correlation;
pub mod exits;
pub mod portfolio;
pub mod risk;
pub mod serde_decimal;
pub mod sizing;
pub mod underlying;

pub use allocator::EqualSplit;
pub use exits::{ExitBook, ExitOrder, ExitPlan, ExitReason, ScaleOut, TrailDistance, TrailingStop};
pub use portfolio::{ClosedTrade, FillOutcome, Portfolio, SymbolExposure};
pub use risk::{
    BotRiskOverrides, Refusal, RefusalReason, ResizeReason, RiskConfig, RiskEngine, RiskInput,
    Scope, StateCause, StateChange, TradingState, Verdict,
};
pub use underlying::{UnderlyingRule, UnderlyingRules};
