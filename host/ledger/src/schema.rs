//! The schema and its migrations, tracked by `PRAGMA user_version`.
//!
//! Conventions: money, prices and quantities are TEXT decimal strings (exact), times are
//! INTEGER milliseconds since the epoch, durations carry their unit in the column name.
//! Tables are STRICT so a REAL can never sneak into a TEXT amount column.

use crate::LedgerError;
use rusqlite::{Connection, TransactionBehavior};

/// Migration `i` takes the schema from version `i` to `i + 1`. Append only: a file in the
/// field has already run every released entry, so editing one would fork the schema.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Indexes for the operator's queries (HTTP API, `flotilla status`): one bot's intents,
/// orders and events newest first, events by kind, allocations by time. Each is
/// `(column, rowid)`, so `WHERE bot = ? ORDER BY id DESC LIMIT n` reads n index entries.
const V4: &str = r#"
CREATE INDEX intents_bot ON intents(bot);
CREATE INDEX orders_bot ON orders(bot);
CREATE INDEX events_kind ON events(kind);
CREATE INDEX events_bot ON events(bot) WHERE bot IS NOT NULL;
CREATE INDEX allocations_time ON allocations(time);
"#;

/// The order lifecycle: client ids, order types, time in force, the lifecycle state with
/// its history, and venue trade ids on fills (a fill is booked once per order and trade id).
///
/// `orders.status` stays as the coarse summary earlier readers know (open, partial,
/// filled, rejected, cancelled); `orders.state` is the lifecycle state
/// (`flotilla_domain::OrderState`), kept current, with every change in `order_events`.
const V3: &str = r#"
ALTER TABLE orders ADD COLUMN client_id TEXT;
ALTER TABLE orders ADD COLUMN order_type TEXT NOT NULL DEFAULT 'market'
    CHECK (order_type IN ('market', 'limit'));
ALTER TABLE orders ADD COLUMN limit_price TEXT;
ALTER TABLE orders ADD COLUMN time_in_force TEXT NOT NULL DEFAULT 'day'
    CHECK (time_in_force IN ('day', 'gtc', 'ioc', 'fok'));
ALTER TABLE orders ADD COLUMN state TEXT NOT NULL DEFAULT 'created'
    CHECK (state IN ('created', 'submitted', 'accepted', 'partially_filled', 'filled',
                     'pending_cancel', 'canceled', 'rejected', 'expired'));
ALTER TABLE orders ADD COLUMN filled_quantity TEXT NOT NULL DEFAULT '0';
ALTER TABLE orders ADD COLUMN expires_at INTEGER;
ALTER TABLE orders ADD COLUMN reason TEXT;
ALTER TABLE orders ADD COLUMN exit INTEGER NOT NULL DEFAULT 0 CHECK (exit IN (0, 1));
UPDATE orders SET
    state = CASE status WHEN 'open' THEN 'submitted' WHEN 'partial' THEN 'partially_filled'
                        WHEN 'cancelled' THEN 'canceled' ELSE status END,
    filled_quantity = CASE status WHEN 'filled' THEN quantity ELSE '0' END;
CREATE UNIQUE INDEX orders_client_id ON orders(client_id) WHERE client_id IS NOT NULL;
-- Working orders are what a restart reconciles and risk reserves for.
CREATE INDEX orders_working ON orders(id)
    WHERE state NOT IN ('filled', 'canceled', 'rejected', 'expired');

-- Every state change of an order: from NULL when it is created. detail is JSON from the
-- venue or the host (a reject reason, a fill's trade id, a reconciliation).
CREATE TABLE order_events (
    id         INTEGER PRIMARY KEY,
    order_id   INTEGER NOT NULL REFERENCES orders(id),
    time       INTEGER NOT NULL,
    from_state TEXT,
    to_state   TEXT    NOT NULL,
    detail     TEXT    NOT NULL
) STRICT;
CREATE INDEX order_events_order ON order_events(order_id);

ALTER TABLE fills ADD COLUMN trade_id TEXT;
CREATE UNIQUE INDEX fills_trade ON fills(order_id, trade_id) WHERE trade_id IS NOT NULL;
"#;

/// Host-level state (risk memory, allocator posteriors) and the allocation history.
const V2: &str = r#"
CREATE TABLE host_state (
    key        TEXT    PRIMARY KEY NOT NULL,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- One row per bot per rebalance; weight and p_best are statistics (REAL), budget is money.
CREATE TABLE allocations (
    id        INTEGER PRIMARY KEY,
    sequence  INTEGER NOT NULL,
    time      INTEGER NOT NULL,
    bot       TEXT    NOT NULL,
    weight    REAL    NOT NULL,
    p_best    REAL    NOT NULL,
    budget    TEXT    NOT NULL,
    why       TEXT    NOT NULL,
    posterior TEXT    NOT NULL
) STRICT;
CREATE INDEX allocations_sequence ON allocations(sequence);
"#;

const V1: &str = r#"
CREATE TABLE bots (
    id         TEXT    PRIMARY KEY NOT NULL,
    first_seen INTEGER NOT NULL
) STRICT;

CREATE TABLE bot_versions (
    id             INTEGER PRIMARY KEY,
    bot            TEXT    NOT NULL REFERENCES bots(id),
    version        TEXT    NOT NULL,
    content_hash   TEXT    NOT NULL,
    component_path TEXT    NOT NULL,
    loaded_at      INTEGER NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('ok', 'failed')),
    error          TEXT
) STRICT;
-- The latest loaded version per bot, for status.
CREATE INDEX bot_versions_bot ON bot_versions(bot, status);

-- `seq` restarts at 1 whenever a bot is reloaded, so it is not unique per bot.
CREATE TABLE ticks (
    id           INTEGER PRIMARY KEY,
    bot          TEXT    NOT NULL REFERENCES bots(id),
    seq          INTEGER NOT NULL,
    scheduled_at INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    lateness_ms  INTEGER NOT NULL,
    duration_us  INTEGER NOT NULL CHECK (duration_us >= 0),
    outcome      TEXT    NOT NULL
        CHECK (outcome IN ('ok', 'error', 'timeout', 'trap', 'skipped', 'quarantined')),
    error        TEXT,
    n_intents    INTEGER NOT NULL CHECK (n_intents >= 0)
) STRICT;
-- Covers the per-bot tick and error counts (and MAX(id), as the rowid rides along).
CREATE INDEX ticks_bot_outcome ON ticks(bot, outcome);

-- confidence is a statistic, not money, so REAL; NULL if the bot sent a non-finite one.
CREATE TABLE intents (
    id             INTEGER PRIMARY KEY,
    tick_id        INTEGER NOT NULL REFERENCES ticks(id),
    bot            TEXT    NOT NULL REFERENCES bots(id),
    symbol         TEXT    NOT NULL,
    action         TEXT    NOT NULL CHECK (action IN ('buy', 'sell', 'target')),
    quantity       TEXT    NOT NULL,
    confidence     REAL,
    stop_loss      TEXT,
    take_profit    TEXT,
    tag            TEXT    NOT NULL,
    verdict        TEXT    NOT NULL CHECK (verdict IN ('approved', 'resized', 'refused')),
    reason         TEXT,
    detail         TEXT    NOT NULL,
    final_quantity TEXT
) STRICT;
CREATE INDEX intents_tick ON intents(tick_id);
-- Covers the per-bot verdict counts.
CREATE INDEX intents_bot_verdict ON intents(bot, verdict);
-- Refusals are what an operator reads first; a partial index keeps "latest N" cheap.
CREATE INDEX intents_refused ON intents(id) WHERE verdict = 'refused';

-- id is the host's OrderId. intent_id is NULL for orders the host places on its own.
CREATE TABLE orders (
    id        INTEGER PRIMARY KEY,
    intent_id INTEGER REFERENCES intents(id),
    bot       TEXT    NOT NULL REFERENCES bots(id),
    symbol    TEXT    NOT NULL,
    side      TEXT    NOT NULL CHECK (side IN ('buy', 'sell')),
    quantity  TEXT    NOT NULL,
    time      INTEGER NOT NULL,
    tag       TEXT    NOT NULL,
    status    TEXT    NOT NULL
        CHECK (status IN ('open', 'partial', 'filled', 'rejected', 'cancelled'))
) STRICT;
CREATE INDEX orders_intent ON orders(intent_id);

CREATE TABLE fills (
    id           INTEGER PRIMARY KEY,
    order_id     INTEGER NOT NULL REFERENCES orders(id),
    bot          TEXT    NOT NULL REFERENCES bots(id),
    symbol       TEXT    NOT NULL,
    side         TEXT    NOT NULL CHECK (side IN ('buy', 'sell')),
    quantity     TEXT    NOT NULL,
    price        TEXT    NOT NULL,
    fee          TEXT    NOT NULL,
    time         INTEGER NOT NULL,
    realized_pnl TEXT    NOT NULL,
    tag          TEXT    NOT NULL
) STRICT;
CREATE INDEX fills_order ON fills(order_id);
-- Covers the per-bot trade counts and recent fills of a bot.
CREATE INDEX fills_bot ON fills(bot);

-- The current holding per bot and symbol, upserted; flat rows stay for their PnL.
CREATE TABLE positions (
    bot          TEXT    NOT NULL REFERENCES bots(id),
    symbol       TEXT    NOT NULL,
    quantity     TEXT    NOT NULL,
    avg_price    TEXT    NOT NULL,
    realized_pnl TEXT    NOT NULL,
    fees         TEXT    NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (bot, symbol)
) STRICT, WITHOUT ROWID;

-- per_bot is optional JSON, e.g. {"sma": {"equity": "1000.5"}}.
CREATE TABLE equity (
    id      INTEGER PRIMARY KEY,
    time    INTEGER NOT NULL,
    cash    TEXT    NOT NULL,
    equity  TEXT    NOT NULL,
    per_bot TEXT
) STRICT;
CREATE INDEX equity_time ON equity(time);

CREATE TABLE kv (
    bot        TEXT    NOT NULL REFERENCES bots(id),
    key        TEXT    NOT NULL,
    value      BLOB    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (bot, key)
) STRICT;

-- Audit trail of host decisions: reloads, quarantines, halts. bot is NULL for fleet-wide.
CREATE TABLE events (
    id      INTEGER PRIMARY KEY,
    time    INTEGER NOT NULL,
    bot     TEXT    REFERENCES bots(id),
    kind    TEXT    NOT NULL,
    message TEXT    NOT NULL
) STRICT;

CREATE TABLE bot_state (
    bot        TEXT    PRIMARY KEY NOT NULL REFERENCES bots(id),
    snapshot   BLOB    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
"#;

/// The file's schema version.
pub(crate) fn user_version(conn: &Connection) -> Result<u32, LedgerError> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// Brings the schema up to [`SCHEMA_VERSION`]; a no-op on an up-to-date file.
///
/// Runs in one IMMEDIATE transaction that re-reads the version under the write lock, so two
/// processes opening a fresh file at once cannot both run a migration, and a crash mid-way
/// leaves the file at its old version.
pub(crate) fn migrate(conn: &mut Connection) -> Result<u32, LedgerError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = user_version(&tx)?;
    if found > SCHEMA_VERSION {
        return Err(LedgerError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tracing::info!(from = i, to = i + 1, "migrating ledger schema");
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as u32)?;
    }
    tx.commit()?;
    Ok(SCHEMA_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Ledger;

    fn table_names(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type IN ('table', 'index') ORDER BY name",
            )
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn open_applies_pragmas_and_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path().join("l.db")).unwrap();
        let c = &ledger.conn;
        assert_eq!(user_version(c).unwrap(), SCHEMA_VERSION);
        let mode: String = c
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = c
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        // NORMAL is 1.
        let sync: i64 = c
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 1);
        let busy: i64 = c
            .pragma_query_value(None, "busy_timeout", |r| r.get(0))
            .unwrap();
        assert!(busy >= 1000);
    }

    #[test]
    fn migration_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        let before = {
            let mut ledger = Ledger::open(&path).unwrap();
            // Running it again on the open file changes nothing.
            assert_eq!(migrate(&mut ledger.conn).unwrap(), SCHEMA_VERSION);
            table_names(&ledger.conn)
        };
        let ledger = Ledger::open(&path).unwrap();
        assert_eq!(user_version(&ledger.conn).unwrap(), SCHEMA_VERSION);
        assert_eq!(table_names(&ledger.conn), before);
        for t in [
            "bots",
            "ticks",
            "intents",
            "orders",
            "fills",
            "positions",
            "equity",
        ] {
            assert!(before.iter().any(|n| n == t), "missing {t}");
        }
    }

    #[test]
    fn refuses_a_file_from_a_newer_build() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        drop(Ledger::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(conn);
        match Ledger::open(&path) {
            Err(LedgerError::SchemaTooNew { found, supported }) => {
                assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
            }
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("opened a newer schema"),
        }
    }

    #[test]
    fn amount_columns_are_text() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path().join("l.db")).unwrap();
        let money = [
            "quantity",
            "price",
            "fee",
            "fees",
            "realized_pnl",
            "avg_price",
            "cash",
            "equity",
            "stop_loss",
            "take_profit",
            "final_quantity",
        ];
        let tables: Vec<String> = ledger
            .conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut checked = 0;
        for t in &tables {
            let mut stmt = ledger
                .conn
                .prepare(&format!("PRAGMA table_info({t})"))
                .unwrap();
            let cols: Vec<(String, String)> = stmt
                .query_map([], |r| Ok((r.get(1)?, r.get(2)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            for (name, ty) in cols {
                if money.contains(&name.as_str()) {
                    assert_eq!(ty, "TEXT", "{t}.{name}");
                    checked += 1;
                }
            }
        }
        assert!(checked >= 15, "only {checked} amount columns found");
    }
}
