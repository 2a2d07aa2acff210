//! The venue file's schema and its migrations, tracked by `PRAGMA user_version`.
//!
//! As in the ledger: money, prices and quantities are TEXT decimal strings (exact), times
//! are INTEGER milliseconds, tables are STRICT so no REAL can slip into an amount.

use crate::VenueError;
use rusqlite::{Connection, TransactionBehavior};

/// Migration `i` takes the schema from version `i` to `i + 1`. Append only: a file in use
/// has run every released entry, so editing one would fork the schema.
const MIGRATIONS: &[&str] = &[V1];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

const V1: &str = r#"
-- One row: the account. next_trade numbers trade ids (pv-{n}), so none is ever reused.
CREATE TABLE account (
    id                    INTEGER PRIMARY KEY CHECK (id = 1),
    starting_cash         TEXT    NOT NULL,
    cash                  TEXT    NOT NULL,
    next_trade            INTEGER NOT NULL CHECK (next_trade >= 1),
    duplicate_submissions INTEGER NOT NULL CHECK (duplicate_submissions >= 0)
) STRICT;

-- Every order the venue received, rejected ones included, keyed by the client's id.
-- submissions counts how often that id was sent.
CREATE TABLE orders (
    id              INTEGER PRIMARY KEY,
    client_id       TEXT    NOT NULL UNIQUE,
    symbol          TEXT    NOT NULL,
    side            TEXT    NOT NULL CHECK (side IN ('buy', 'sell')),
    quantity        TEXT    NOT NULL,
    order_type      TEXT    NOT NULL CHECK (order_type IN ('market', 'limit')),
    limit_price     TEXT,
    time_in_force   TEXT    NOT NULL CHECK (time_in_force IN ('day', 'gtc', 'ioc', 'fok')),
    expires_at      INTEGER,
    state           TEXT    NOT NULL
        CHECK (state IN ('accepted', 'partially_filled', 'filled', 'canceled', 'rejected',
                         'expired')),
    filled_quantity TEXT    NOT NULL,
    avg_price       TEXT    NOT NULL,
    fees            TEXT    NOT NULL,
    reason          TEXT,
    submissions     INTEGER NOT NULL CHECK (submissions >= 1),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
-- What a bar or tick of a symbol matches, in time priority.
CREATE INDEX orders_working ON orders(symbol, id)
    WHERE state IN ('accepted', 'partially_filled');

-- id is the n of trade id pv-{n}.
CREATE TABLE fills (
    id         INTEGER PRIMARY KEY,
    trade_id   TEXT    NOT NULL UNIQUE,
    order_id   INTEGER NOT NULL REFERENCES orders(id),
    quantity   TEXT    NOT NULL,
    price      TEXT    NOT NULL,
    fee        TEXT    NOT NULL,
    cumulative TEXT    NOT NULL,
    time       INTEGER NOT NULL
) STRICT;
CREATE INDEX fills_order ON fills(order_id, id);

-- The holding per symbol; flat rows stay for their realised PnL and fees.
CREATE TABLE positions (
    symbol       TEXT    PRIMARY KEY NOT NULL,
    quantity     TEXT    NOT NULL,
    avg_price    TEXT    NOT NULL,
    realized_pnl TEXT    NOT NULL,
    fees         TEXT    NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Every report, for a client that missed some. AUTOINCREMENT: a sequence number is never
-- reused, even if old events are pruned. A fill's numbers live in fills.
CREATE TABLE events (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id TEXT    NOT NULL REFERENCES orders(client_id),
    time      INTEGER NOT NULL,
    kind      TEXT    NOT NULL
        CHECK (kind IN ('accepted', 'fill', 'canceled', 'rejected', 'expired')),
    trade_id  TEXT    REFERENCES fills(trade_id),
    reason    TEXT,
    CHECK ((kind = 'fill') = (trade_id IS NOT NULL)),
    CHECK ((kind = 'rejected') = (reason IS NOT NULL))
) STRICT;
"#;

/// The file's schema version.
pub(crate) fn user_version(conn: &Connection) -> Result<u32, VenueError> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// Brings the schema up to [`SCHEMA_VERSION`] in one IMMEDIATE transaction (so two
/// processes opening a new file cannot both migrate it, and a crash mid-way leaves the old
/// version), and writes the account row if there is none yet.
pub(crate) fn migrate(conn: &mut Connection, starting_cash: &str) -> Result<(), VenueError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = user_version(&tx)?;
    if found > SCHEMA_VERSION {
        return Err(VenueError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as u32)?;
    }
    // Only a new file takes the configured cash; an existing account stays as it is.
    tx.execute(
        "INSERT INTO account (id, starting_cash, cash, next_trade, duplicate_submissions) \
         VALUES (1, ?1, ?1, 1, 0) ON CONFLICT (id) DO NOTHING",
        [starting_cash],
    )?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_strict_and_amounts_text() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, "1000").unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
        let tables: Vec<(String, String)> = conn
            .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(tables.len(), 5);
        let amounts = [
            "cash",
            "starting_cash",
            "quantity",
            "limit_price",
            "filled_quantity",
            "avg_price",
            "fees",
            "price",
            "fee",
            "cumulative",
            "realized_pnl",
        ];
        let mut checked = 0;
        for (table, sql) in &tables {
            assert!(sql.contains("STRICT"), "{table}");
            let mut stmt = conn
                .prepare(&format!("PRAGMA table_info({table})"))
                .unwrap();
            let cols: Vec<(String, String)> = stmt
                .query_map([], |r| Ok((r.get(1)?, r.get(2)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            for (name, ty) in cols {
                if amounts.contains(&name.as_str()) {
                    assert_eq!(ty, "TEXT", "{table}.{name}");
                    checked += 1;
                }
            }
        }
        assert!(checked >= 15, "only {checked} amount columns");
    }

    #[test]
    fn migrating_again_keeps_the_account() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, "1000").unwrap();
        conn.execute("UPDATE account SET cash = '12.5'", [])
            .unwrap();
        migrate(&mut conn, "5000").unwrap();
        let (start, cash): (String, String) = conn
            .query_row("SELECT starting_cash, cash FROM account", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((start.as_str(), cash.as_str()), ("1000", "12.5"));
    }

    #[test]
    fn refuses_a_newer_schema() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        assert!(matches!(
            migrate(&mut conn, "0"),
            Err(VenueError::SchemaTooNew { found, supported })
                if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION
        ));
    }
}
