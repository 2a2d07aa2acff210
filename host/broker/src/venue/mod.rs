//! The one shape every venue has for the execution service: the paper venue, and the
//! connectors to real venues in `flotilla-venues`.
//!
//! The service calls a venue from its own thread, never under the fleet's lock, so the
//! methods block. What a venue reports about orders comes back through an event log with
//! sequence numbers ([`Venue::events_since`]); after a restart or any doubt the host asks
//! for each order by client id ([`Venue::order`]) and books what it missed.

mod event;
mod order;

pub use event::{VenueEvent, VenueEventKind};
pub use order::{CancelOutcome, VenueFill, VenueOrder, VenueOrderRequest};

use flotilla_domain::{Bar, ClientOrderId, Money, Quantity, Symbol, Timestamp};
use std::collections::BTreeMap;
use std::time::Duration;

/// Why a venue call did not give an answer the host can book.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VenueFailure {
    /// The request was definitely not placed and may be sent again later: rate limited
    /// (429, 418), circuit open, or refused before sending.
    #[error("not sent: {reason}")]
    NotSent {
        /// Why.
        reason: String,
        /// When it may be tried again, if the venue said.
        retry_after: Option<Duration>,
    },
    /// The request may or may not have reached the venue (timeout, connection reset, 5xx,
    /// Binance -1007), and querying by client id did not settle it yet. The host keeps
    /// the order as submitted and asks again later; it never sends it blind.
    #[error("outcome unknown: {0}")]
    Ambiguous(String),
    /// Anything else: the venue answered with an error, or could not be read.
    #[error("{0}")]
    Other(String),
}

/// The account and mode a venue connection works on, printed at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenueInfo {
    /// The venue: `paper`, `alpaca`, `binance`.
    pub venue: String,
    /// The account (an id or number the venue gives; never a key).
    pub account: String,
    /// `paper`, `testnet` or `live`.
    pub mode: String,
    /// The base URL the connection talks to.
    pub endpoint: String,
}

/// One account at one venue, as the execution service uses it.
pub trait Venue: Send + Sync {
    /// The venue, account and mode.
    fn info(&self) -> VenueInfo;

    /// Sends `req` at `now`. `Ok` is the venue's record of it: accepted, or rejected
    /// with a reason (a definite refusal). A connector resolves an ambiguous result by
    /// querying the client id before it answers, and never sends an order twice.
    fn submit(&self, req: &VenueOrderRequest, now: Timestamp) -> Result<VenueOrder, VenueFailure>;

    /// Asks the venue to cancel the order with this client id.
    fn cancel(
        &self,
        client_id: &ClientOrderId,
        now: Timestamp,
    ) -> Result<CancelOutcome, VenueFailure>;

    /// The venue's record of this client id, with its fills as far as the venue lists
    /// them; `None` if the venue does not know it (which, on a real venue, is only
    /// trusted after a grace period).
    fn order(&self, client_id: &ClientOrderId) -> Result<Option<VenueOrder>, VenueFailure>;

    /// Every working order the venue holds for this account.
    fn open_orders(&self) -> Result<Vec<VenueOrder>, VenueFailure>;

    /// Events with a sequence number above `seq`, oldest first. Numbers increase by one
    /// and are never reused while the venue handle lives. Everything the venue told the
    /// connection is here, whatever call or stream it came by (a submit's answer, an
    /// order query, a stream update): the host books orders from this log only.
    fn events_since(&self, seq: u64) -> Result<Vec<(u64, VenueEvent)>, VenueFailure>;

    /// The sequence number of the newest event; 0 when there is none.
    fn last_event_seq(&self) -> Result<u64, VenueFailure>;

    /// Whether event numbers survive a restart of the host (the paper venue's file), so
    /// the host may resume from the number it stored; a remote connection's log starts
    /// anew with each process, and the host reconciles order by order instead.
    fn durable_events(&self) -> bool;

    /// Net quantity per symbol, flat symbols left out.
    fn positions(&self) -> Result<BTreeMap<Symbol, Quantity>, VenueFailure>;

    /// Cash in the account currency.
    fn cash(&self) -> Result<Money, VenueFailure>;

    /// The order as this venue will take it, checked before the host records it: the
    /// quantity rounded down to the lot step and the price to the tick (Binance's
    /// filters); `Err` with the reason, the filter named, when it is below a minimum. The
    /// default takes every request as it is. Pure and cheap: the host calls it on the
    /// tick path.
    fn prepare(&self, req: &VenueOrderRequest) -> Result<VenueOrderRequest, String> {
        Ok(req.clone())
    }

    /// Tells a connection what the host booked of a working order before this process
    /// (after a restart), so the venue's reports of those fills add nothing and the order
    /// is followed. The paper venue keeps its own record and ignores it.
    fn resume(&self, _req: &VenueOrderRequest, _cumulative: Quantity, _notional: Money) {}

    /// What the connection did that an operator should see since the last call (a
    /// circuit opened or closed, a stream reconnected, the clock resynced), one line each.
    fn take_notices(&self) -> Vec<String> {
        Vec::new()
    }

    /// New bars of the host's market: a simulated venue matches on them; a real venue has
    /// its own market and ignores them.
    fn on_bars(&self, _bars: &[(Symbol, Bar)], _now: Timestamp) -> Result<(), VenueFailure> {
        Ok(())
    }

    /// Whether `symbol`'s market is in session now, as the venue's clock says: `None`
    /// when the venue does not say (the paper venue; markets that never close answer
    /// `Some(true)`). Cheap and non-blocking: it reads what the connection last learned.
    fn session_open(&self, _symbol: &Symbol) -> Option<bool> {
        None
    }

    /// Whether new orders may go out now (a real venue's circuit breaker); exits are sent
    /// regardless.
    fn accepting_entries(&self) -> bool {
        true
    }
}
