//! Conversions between domain values and SQLite columns.
//!
//! Decimals travel as TEXT in their exact `Decimal` spelling, never as REAL, so a stored
//! amount reads back bit-for-bit; times travel as INTEGER milliseconds.

use crate::LedgerError;
use flotilla_domain::{BotId, Decimal, OrderAction, Side, Symbol, Timestamp};
use rusqlite::Row;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

/// A `Decimal` as a SQLite TEXT value.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dec(pub Decimal);

impl ToSql for Dec {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.0.to_string()))
    }
}

impl FromSql for Dec {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        // Only TEXT is accepted: a REAL here would mean something already rounded the amount.
        let text = value.as_str()?;
        Decimal::from_str_exact(text)
            .map(Dec)
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

/// Wraps an optional decimal for binding.
pub(crate) fn opt_dec(d: Option<Decimal>) -> Option<Dec> {
    d.map(Dec)
}

/// Reads a TEXT decimal column.
pub(crate) fn get_dec(row: &Row<'_>, idx: usize) -> rusqlite::Result<Decimal> {
    Ok(row.get::<_, Dec>(idx)?.0)
}

/// Reads a nullable TEXT decimal column.
pub(crate) fn get_opt_dec(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Decimal>> {
    Ok(row.get::<_, Option<Dec>>(idx)?.map(|d| d.0))
}

/// Reads an INTEGER millisecond column.
pub(crate) fn get_ts(row: &Row<'_>, idx: usize) -> rusqlite::Result<Timestamp> {
    Ok(Timestamp(row.get(idx)?))
}

/// Reads a bot id column.
pub(crate) fn get_bot(row: &Row<'_>, idx: usize) -> rusqlite::Result<BotId> {
    Ok(BotId::new(row.get_ref(idx)?.as_str()?))
}

/// Reads a nullable bot id column.
pub(crate) fn get_opt_bot(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<BotId>> {
    Ok(row.get_ref(idx)?.as_str_or_null()?.map(BotId::new))
}

/// Reads a symbol column.
pub(crate) fn get_symbol(row: &Row<'_>, idx: usize) -> rusqlite::Result<Symbol> {
    Ok(Symbol::new(row.get_ref(idx)?.as_str()?))
}

/// Reads a JSON TEXT column.
pub(crate) fn get_json(row: &Row<'_>, idx: usize) -> rusqlite::Result<serde_json::Value> {
    let text = row.get_ref(idx)?.as_str()?;
    serde_json::from_str(text).map_err(|e| bad_column(idx, e))
}

/// Reads a nullable JSON TEXT column.
pub(crate) fn get_opt_json(
    row: &Row<'_>,
    idx: usize,
) -> rusqlite::Result<Option<serde_json::Value>> {
    match row.get_ref(idx)?.as_str_or_null()? {
        None => Ok(None),
        Some(text) => serde_json::from_str(text)
            .map(Some)
            .map_err(|e| bad_column(idx, e)),
    }
}

/// Reads a `buy`/`sell` column.
pub(crate) fn get_side(row: &Row<'_>, idx: usize) -> rusqlite::Result<Side> {
    match row.get_ref(idx)?.as_str()? {
        "buy" => Ok(Side::Buy),
        "sell" => Ok(Side::Sell),
        other => Err(bad_column(idx, UnknownName(other.to_string()))),
    }
}

/// The stored kind (`buy`/`sell`/`target`) and quantity of an action.
pub(crate) fn action_parts(action: OrderAction) -> (&'static str, Decimal) {
    match action {
        OrderAction::Buy(q) => ("buy", q),
        OrderAction::Sell(q) => ("sell", q),
        OrderAction::Target(q) => ("target", q),
    }
}

/// Rebuilds an action from its stored kind and quantity columns.
pub(crate) fn get_action(row: &Row<'_>, kind: usize, qty: usize) -> rusqlite::Result<OrderAction> {
    let q = get_dec(row, qty)?;
    match row.get_ref(kind)?.as_str()? {
        "buy" => Ok(OrderAction::Buy(q)),
        "sell" => Ok(OrderAction::Sell(q)),
        "target" => Ok(OrderAction::Target(q)),
        other => Err(bad_column(kind, UnknownName(other.to_string()))),
    }
}

/// Reads a non-negative INTEGER column as `u64`.
pub(crate) fn get_u64(row: &Row<'_>, idx: usize) -> rusqlite::Result<u64> {
    let v: i64 = row.get(idx)?;
    u64::try_from(v).map_err(|e| bad_column(idx, e))
}

/// Converts a `u64` for binding; SQLite integers are signed 64-bit.
pub(crate) fn to_i64(v: u64, what: &str) -> Result<i64, LedgerError> {
    i64::try_from(v).map_err(|_| LedgerError::Invalid(format!("{what} {v} exceeds i64")))
}

/// A column held a value the ledger cannot interpret.
pub(crate) fn bad_column(
    idx: usize,
    err: impl std::error::Error + Send + Sync + 'static,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(err))
}

/// A stored name that matches no variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown name `{0}`")]
pub struct UnknownName(pub String);

/// Defines a fieldless enum stored as TEXT, with serde and SQL names that agree.
macro_rules! text_enum {
    (
        $(#[$doc:meta])*
        $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal,)+ }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The name stored in the ledger and printed by `--json`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::sql::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    other => Err($crate::sql::UnknownName(other.to_string())),
                }
            }
        }

        impl rusqlite::types::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(rusqlite::types::ToSqlOutput::from(self.as_str()))
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                value
                    .as_str()?
                    .parse()
                    .map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
            }
        }
    };
}
pub(crate) use text_enum;
