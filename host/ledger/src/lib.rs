//! The SQLite ledger: every decision, order, fill and equity snapshot.
//!
//! One [`Ledger`] owns one connection to one file. The host writes each bot tick as a
//! single transaction ([`Ledger::record_tick`]), so a crash leaves a tick either fully
//! recorded or absent. `flotilla status` reads the same file (WAL lets it read while the
//! host writes) through the read API ([`Ledger::bot_summaries`] and friends).
//!
//! Amounts are stored as exact decimal TEXT, times as INTEGER milliseconds; see [`schema`].

#![warn(missing_docs)]

mod checkpoint;
mod error;
mod host;
mod kv;
mod orders;
pub mod query;
mod read;
mod records;
pub mod schema;
mod sql;
mod write;

#[cfg(test)]
mod testutil;

pub use error::LedgerError;
pub use host::AllocationRow;
pub use orders::{OrderEventRow, OrderFilter, OrderView};
pub use query::{ControlRecord, LedgerReader, Page};
pub use read::{
    BotSummary, EquityRow, EventRow, FillRow, IntentRow, OrderRow, PositionRow, RefusalRow, TickRow,
};
pub use records::{
    BotVersionRecord, IntentRecord, LoadStatus, OrderStatus, TickId, TickOutcome, TickRecord,
    VerdictKind, VerdictRecord,
};
pub use sql::UnknownName;

use checkpoint::{BACKSTOP_PAGES, CHECKPOINT_EVERY, Checkpointer};
use rusqlite::Connection;
use std::path::Path;
use std::time::Duration;

/// How long a statement waits for another connection's lock before failing with "busy".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Bytes the WAL file is truncated to when it restarts.
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// Enough room for every statement the ledger prepares, so none is ever re-parsed.
const STATEMENT_CACHE: usize = 64;

/// A handle on the ledger file.
pub struct Ledger {
    /// Declared first so it stops before `conn` closes, leaving the writer to do the final
    /// checkpoint as the last connection.
    _checkpointer: Option<Checkpointer>,
    conn: Connection,
    /// The lowest order id not yet handed out by this handle (see [`Ledger::next_order_id`]).
    next_order: u64,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("path", &self.conn.path())
            .finish_non_exhaustive()
    }
}

impl Ledger {
    /// Opens (creating if needed, with its directory) and migrates the ledger at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Ledger, LedgerError> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| LedgerError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let mut ledger = Self::setup(Connection::open(path)?)?;
        ledger._checkpointer = Some(Checkpointer::spawn(path, CHECKPOINT_EVERY)?);
        Ok(ledger)
    }

    /// Opens a private in-memory ledger, for tests of crates that need one.
    pub fn open_in_memory() -> Result<Ledger, LedgerError> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(mut conn: Connection) -> Result<Ledger, LedgerError> {
        // Set first so that switching the journal mode also waits for other connections.
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL lets readers (`flotilla status`) run while the host writes; the mode persists
        // in the file. In-memory databases answer "memory", which is fine.
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !matches!(mode.as_str(), "wal" | "memory") {
            tracing::warn!(
                mode,
                "ledger could not switch to WAL; readers may block the host"
            );
        }
        // In WAL mode NORMAL never corrupts the file; a power loss may only drop the last
        // commits. It saves an fsync per tick, which is most of a tick write's cost.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // The background checkpointer keeps the WAL short; this is only its backstop.
        conn.pragma_update(None, "wal_autocheckpoint", BACKSTOP_PAGES)?;
        // After a burst (a fast demo replay) the WAL file shrinks back to this on reset.
        conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
        // SQLite leaves foreign keys off per connection unless asked.
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        schema::migrate(&mut conn)?;
        Ok(Ledger {
            _checkpointer: None,
            conn,
            next_order: 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_is_send_and_creates_its_directory() {
        fn assert_send<T: Send>() {}
        assert_send::<Ledger>();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/ledger.db");
        Ledger::open(&path).unwrap();
        assert!(path.exists());
        assert!(Ledger::open_in_memory().is_ok());
    }

    #[test]
    fn the_background_checkpointer_drains_the_wal() {
        use crate::testutil::*;
        use rust_decimal_macros::dec;
        let (_dir, path, mut ledger) = temp_ledger();
        for i in 0..50 {
            let mut rec = tick("b", i + 1, 0);
            rec.intents = vec![refused("b", "X", dec!(1), "r")];
            ledger.record_tick(&rec).unwrap();
        }
        // Once the checkpointer has copied the WAL, another PASSIVE checkpoint finds every
        // frame already backfilled (log frames == checkpointed frames).
        let deadline = std::time::Instant::now() + CHECKPOINT_EVERY * 10;
        loop {
            let (log, done): (i64, i64) = ledger
                .conn
                .query_row("PRAGMA wal_checkpoint(NOOP)", [], |r| {
                    Ok((r.get(1)?, r.get(2)?))
                })
                .unwrap_or((1, 0));
            if log > 0 && log == done {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "WAL not checkpointed: {done}/{log}"
            );
            std::thread::sleep(CHECKPOINT_EVERY / 4);
        }
        drop(ledger);
        // The last connection to close checkpoints and removes the WAL.
        assert!(!path.with_extension("db-wal").exists());
    }
}
