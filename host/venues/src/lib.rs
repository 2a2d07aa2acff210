//! Connectors to real venues, each one module of one shape: config, REST client, stream,
//! mapping, tests ([`alpaca`], [`binance`]). What every connector shares is in [`common`]:
//! secrets that never print, one rate budget per account, a circuit breaker, the
//! ambiguous-submit policy, the event log the execution service reads, and the live bar
//! feed that backfills every gap.
//!
//! Connectors implement [`flotilla_broker::venue::Venue`] (blocking, called from the
//! execution service's thread) over async I/O on a small runtime of their own.

#![warn(missing_docs)]

pub mod alpaca;
pub mod binance;
pub mod common;

pub use common::{
    Breaker, BreakerConfig, ConnectError, EventLog, FeedConfig, FeedEvent, LiveFeed, Mode,
    RateBudget, RequestObserver, Secret, SubmitPolicy, observe_requests,
};
