//! Risk chain, sizing, capital allocation and portfolio accounting. No I/O.
//!
//! Everything here is synchronous and deterministic given a clock value and an RNG seed.

#![warn(missing_docs)]

pub mod allocator;
pub mod correlation;
pub mod exits;
pub mod portfolio;
pub mod risk;
pub mod serde_decimal;
pub mod sizing;
pub mod underlying;
pub mod working;

pub use allocator::{
    Allocation, AllocationWhy, AllocatorState, EqualSplit, ThompsonAllocator, ThompsonConfig,
};
pub use correlation::CorrelationTracker;
pub use exits::{
    ExitBook, ExitOrder, ExitPlan, ExitReason, ExitSnapshot, ScaleOut, TrailDistance, TrailingStop,
};
pub use portfolio::{BotBook, ClosedTrade, FillOutcome, Portfolio, SymbolExposure};
pub use risk::{
    BotRiskOverrides, CorrelationConfig, DataSanityConfig, KellyConfig, LossStreakConfig,
    RateLimit, Refusal, RefusalReason, ResizeReason, RiskConfig, RiskConfigError, RiskEngine,
    RiskInput, RiskMemory, Scope, SessionReset, StateCause, StateChange, StateEntry, TradingState,
    Verdict,
};
pub use sizing::{TradeStats, kelly};
pub use underlying::{UnderlyingRule, UnderlyingRules};
pub use working::{Reservation, against_working, net_position, project};
