//! Broker routing: the [`Broker`] trait and the paper broker.
//!
//! The execution service's venues share [`venue::Venue`]: the paper venue, and the real
//! venues' connectors in their own crate (the HTTP and TLS stack stays out of this one).

pub mod matching;
mod paper;
pub mod venue;

pub use paper::{PaperBroker, PaperConfig};

use flotilla_domain::{Fill, OrderRequest, Timestamp};

/// Why a broker did not fill an order.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BrokerError {
    /// The reference price is unusable (NaN, zero, negative).
    #[error("no usable price for {symbol}: {price}")]
    BadPrice {
        /// The symbol.
        symbol: String,
        /// The price seen.
        price: f64,
    },
    /// The order itself is malformed (e.g. zero quantity).
    #[error("rejected order: {0}")]
    Rejected(String),
    /// The venue could not be reached or answered with an error; safe to retry later.
    #[error("venue unavailable: {0}")]
    Unavailable(String),
}

/// Something that executes market orders.
pub trait Broker: Send {
    /// A short name for logs and the ledger (`paper`, ...).
    fn name(&self) -> &str;
    /// Executes a market order against `reference_price` (the last close) at `now`.
    fn submit(
        &mut self,
        order: &OrderRequest,
        reference_price: f64,
        now: Timestamp,
    ) -> Result<Fill, BrokerError>;
}
