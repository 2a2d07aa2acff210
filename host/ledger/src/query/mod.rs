//! The operator's queries: what the HTTP API and `flotilla status` read, from one
//! read-only connection, so the two can never disagree.
//!
//! Lists are newest first and paged by id (`cursor` = the `next` of the previous page),
//! so a deep page costs what the first does. Per-bot figures come from [`BotStats`],
//! kept up to date incrementally: each read folds in only the rows appended since the
//! last one (ticks, intents, fills, versions, allocations and equity are append-only).

mod aggregate;
mod lists;
mod state;

#[cfg(test)]
mod tests;

pub use aggregate::{BotStats, EquityStats};
pub use lists::{
    AllocationPoint, AllocationQuery, EquityCurve, EquityPoint, EventItem, EventQuery, FillItem,
    FillQuery, OrderQuery, OrderStatusFilter, ReasonCount, VerdictItem, VerdictQuery,
};
pub use state::{AuditItem, CONTROL_KIND, ControlRecord, StateChangeItem, TradingStateView};

use crate::{LedgerError, schema};
use aggregate::Aggregates;
use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The most rows one page returns.
pub const MAX_LIMIT: usize = 1000;

/// The rows a page returns when the caller does not say.
pub const DEFAULT_LIMIT: usize = 100;

/// One page of a list, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// The cursor of the next (older) page; `None` on the last page.
    pub next: Option<i64>,
}

/// A read-only handle on a ledger file that a running host writes (WAL lets both work).
pub struct LedgerReader {
    conn: Connection,
    agg: Aggregates,
}

impl std::fmt::Debug for LedgerReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerReader")
            .field("path", &self.conn.path())
            .finish_non_exhaustive()
    }
}

impl LedgerReader {
    /// Opens an existing ledger read-only. It never migrates: a file from an older build
    /// reads fine (the writer adds the newer indexes when it opens it).
    pub fn open(path: impl AsRef<Path>) -> Result<LedgerReader, LedgerError> {
        let conn = Connection::open_with_flags(
            path.as_ref(),
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(crate::BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(crate::STATEMENT_CACHE);
        let found = schema::user_version(&conn)?;
        if found > schema::SCHEMA_VERSION {
            return Err(LedgerError::SchemaTooNew {
                found,
                supported: schema::SCHEMA_VERSION,
            });
        }
        Ok(LedgerReader {
            conn,
            agg: Aggregates::default(),
        })
    }

    /// Runs `f` in one read transaction, so every row it reads comes from one snapshot
    /// while the host keeps writing.
    fn snapshot<T>(
        &mut self,
        f: impl FnOnce(&Connection, &mut Aggregates) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let tx = self.conn.unchecked_transaction()?;
        let out = f(&tx, &mut self.agg)?;
        tx.commit()?;
        Ok(out)
    }

    /// Every bot's figures, by id (bots the ledger has seen; `q` keeps ids containing it).
    pub fn bot_stats(&mut self, q: Option<&str>) -> Result<Vec<BotStats>, LedgerError> {
        self.snapshot(|conn, agg| {
            agg.refresh(conn)?;
            Ok(agg
                .bots
                .values()
                .filter(|b| q.is_none_or(|q| b.bot.contains(q)))
                .cloned()
                .collect())
        })
    }

    /// One bot's figures, if the ledger has seen it.
    pub fn bot(&mut self, id: &str) -> Result<Option<BotStats>, LedgerError> {
        self.snapshot(|conn, agg| {
            agg.refresh(conn)?;
            Ok(agg.bots.get(id).cloned())
        })
    }

    /// The fleet's equity figures: latest mark, peak and drawdowns.
    pub fn equity_stats(&mut self) -> Result<EquityStats, LedgerError> {
        self.snapshot(|conn, agg| {
            agg.refresh(conn)?;
            Ok(agg.equity.clone())
        })
    }

    /// Orders not yet in a terminal state.
    pub fn working_order_count(&mut self) -> Result<u64, LedgerError> {
        // The partial index `orders_working` holds exactly these rows.
        let n: i64 = self
            .conn
            .prepare_cached(lists::WORKING_COUNT)?
            .query_row([], |r| r.get(0))?;
        Ok(n.unsigned_abs())
    }
}

/// Clamps a requested page size to `1..=MAX_LIMIT` (0 or absent: the default).
pub fn clamp_limit(limit: Option<usize>) -> usize {
    match limit {
        None | Some(0) => DEFAULT_LIMIT,
        Some(n) => n.min(MAX_LIMIT),
    }
}
