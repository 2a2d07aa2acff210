//! Flotilla's domain types, shared by every host crate.
//!
//! Money, prices and quantities are [`rust_decimal::Decimal`] so that no ledger amount is
//! ever rounded by binary floating point; `f64` appears only at the guest boundary and in
//! statistics.

pub mod ids;
pub mod lifecycle;
pub mod market;
pub mod order;
pub mod price;
pub mod time;

pub use ids::{BotId, OrderId, Symbol};
pub use lifecycle::{
    Applied, ClientOrderId, ClientOrderIdError, FillLevel, Order, OrderError, OrderEvent,
    OrderSpec, OrderState, OrderType, TimeInForce, TransitionError,
};
pub use market::{Bar, BarError, MarketData, MarketError};
pub use order::{
    Fill, Intent, OrderAction, OrderRequest, Position, ScaleOut, Side, TrailDistance, TrailingStop,
};
pub use price::to_price;
pub use rust_decimal::Decimal;
pub use time::{Clock, Timeframe, Timestamp};

/// A price in the quote currency.
pub type Price = Decimal;
/// A signed or unsigned number of units of an instrument.
pub type Quantity = Decimal;
/// An amount of money in the account currency.
pub type Money = Decimal;
