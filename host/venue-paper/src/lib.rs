//! A paper venue that behaves like a real one and survives the host's death.
//!
//! [`PaperVenue`] keeps its account in its own SQLite file, apart from the host's ledger,
//! so after a host crash (kill -9) a restarted host can reconcile against it as it would
//! against a real venue:
//!
//! - orders are keyed by [`ClientOrderId`]; a resend of a known id is the same order,
//!   never a second one, and is counted ([`PaperVenue::submissions`]);
//! - orders rest until market data crosses them: [`PaperVenue::on_bar`] and
//!   [`PaperVenue::on_price`] match with the one matching model of
//!   [`flotilla_broker::matching`], so paper fills price as backtest fills do;
//! - every state change is written with its [`VenueEvent`] in one transaction, and events
//!   carry a sequence number ([`PaperVenue::events_since`]) for a client that missed some.
//!
//! The venue is synchronous: it answers a submit with accepted or rejected, and a cancel
//! with canceled, at once. All methods take `&self` (the connection sits behind a mutex),
//! so one venue can serve several threads.

#![warn(missing_docs)]

mod book;
mod config;
mod error;
mod matching;
pub mod schema;
mod store;
mod submit;
mod venue;

pub use config::VenueConfig;
pub use error::VenueError;
pub use flotilla_broker::venue::{
    CancelOutcome, Venue, VenueEvent, VenueEventKind, VenueFailure, VenueFill, VenueOrder,
    VenueOrderRequest,
};
pub use flotilla_domain::ClientOrderId;

use flotilla_domain::{Money, Position, Quantity, Symbol};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The reason of a buy refused because the cash does not cover it.
pub const INSUFFICIENT_CASH: &str = "insufficient cash";
/// The reason of a sell refused because the position does not cover it.
pub const INSUFFICIENT_POSITION: &str = "insufficient position";

/// How long a statement waits for another connection's lock before failing with "busy".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A simulated venue account in one SQLite file.
pub struct PaperVenue {
    conn: Mutex<Connection>,
    config: VenueConfig,
}

impl std::fmt::Debug for PaperVenue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaperVenue")
            .field("path", &self.lock().path().map(str::to_string))
            .finish_non_exhaustive()
    }
}

impl PaperVenue {
    /// Opens (creating if needed, with its directory) and migrates the venue file at
    /// `path`. A new file starts with `config.starting_cash`; an existing one keeps its
    /// account, orders and counters.
    pub fn open(path: impl AsRef<Path>, config: VenueConfig) -> Result<Self, VenueError> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| VenueError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        Self::setup(Connection::open(path)?, config)
    }

    /// A private in-memory venue, for unit tests: nothing survives the handle.
    pub fn open_in_memory(config: VenueConfig) -> Result<Self, VenueError> {
        Self::setup(Connection::open_in_memory()?, config)
    }

    fn setup(mut conn: Connection, config: VenueConfig) -> Result<Self, VenueError> {
        // Set first so that switching the journal mode also waits for other connections.
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL: a crash mid-write leaves the last committed state. In memory: "memory".
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL, unlike the ledger's NORMAL: an order the venue acknowledged must survive
        // even a power loss, as at a real venue. Venue writes are per order, not per tick.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&mut conn, &config.starting_cash.to_string())?;
        Ok(Self {
            conn: Mutex::new(conn),
            config,
        })
    }

    /// The connection. A panic elsewhere cannot leave it mid-write (an unfinished
    /// transaction rolls back when dropped), so a poisoned lock is still usable.
    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The settings this handle runs with.
    pub fn config(&self) -> &VenueConfig {
        &self.config
    }

    /// The order with this client id, with its fills; `None` if the venue never saw it.
    pub fn order(&self, client_id: &ClientOrderId) -> Result<Option<VenueOrder>, VenueError> {
        let conn = self.lock();
        store::find_order(&conn, client_id)?
            .map(|s| store::with_fills(&conn, s))
            .transpose()
    }

    /// Every working order (accepted or partially filled), oldest first, with fills.
    pub fn open_orders(&self) -> Result<Vec<VenueOrder>, VenueError> {
        let conn = self.lock();
        store::working_orders(&conn, None)?
            .into_iter()
            .map(|s| store::with_fills(&conn, s))
            .collect()
    }

    /// Net quantity per symbol, flat symbols left out.
    pub fn positions(&self) -> Result<BTreeMap<Symbol, Quantity>, VenueError> {
        Ok(store::positions(&self.lock())?
            .into_iter()
            .map(|(s, p)| (s, p.quantity))
            .collect())
    }

    /// Holdings with their average entry prices, realised PnL and fees, flat symbols left
    /// out.
    pub fn position_details(&self) -> Result<BTreeMap<Symbol, Position>, VenueError> {
        store::positions(&self.lock())
    }

    /// Cash now.
    pub fn cash(&self) -> Result<Money, VenueError> {
        Ok(store::account(&self.lock())?.cash)
    }

    /// The cash the file was created with.
    pub fn starting_cash(&self) -> Result<Money, VenueError> {
        Ok(store::account(&self.lock())?.starting_cash)
    }

    /// How often `client_id` was submitted (the first time included); 0 if never.
    pub fn submissions(&self, client_id: &ClientOrderId) -> Result<u32, VenueError> {
        store::submissions(&self.lock(), client_id)
    }

    /// Submissions of a client id the venue already knew, over all orders.
    pub fn duplicate_submissions(&self) -> Result<u64, VenueError> {
        Ok(store::account(&self.lock())?.duplicate_submissions)
    }

    /// Events with a sequence number above `seq`, oldest first: `events_since(0)` is all
    /// of them. Numbers increase by one per event and are never reused.
    pub fn events_since(&self, seq: u64) -> Result<Vec<(u64, VenueEvent)>, VenueError> {
        store::events_since(&self.lock(), seq)
    }

    /// The sequence number of the newest event; 0 when there is none.
    pub fn last_event_seq(&self) -> Result<u64, VenueError> {
        store::last_event_seq(&self.lock())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_venue_is_shareable_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<PaperVenue>();
    }

    #[test]
    fn open_applies_pragmas_and_creates_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/venue.db");
        let v = PaperVenue::open(&path, VenueConfig::default()).unwrap();
        assert!(path.exists());
        let c = v.lock();
        let mode: String = c
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        let sync: i64 = c
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        let fk: i64 = c
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        // FULL is 2.
        assert_eq!((mode.as_str(), sync, fk), ("wal", 2, 1));
        drop(c);
        assert!(format!("{v:?}").contains("venue.db"));
    }
}
