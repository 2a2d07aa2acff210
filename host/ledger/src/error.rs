//! The ledger's error type.

use flotilla_domain::OrderId;
use std::path::PathBuf;

/// Why a ledger operation failed. A failed write never leaves part of its rows behind.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// SQLite reported an error (I/O, constraint, busy, corrupt or unparsable stored value).
    #[error("ledger database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The directory for the ledger file could not be created.
    #[error("cannot create ledger directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The background checkpointer thread could not be started.
    #[error("cannot start the ledger checkpointer: {0}")]
    Thread(#[source] std::io::Error),
    /// A JSON column could not be written.
    #[error("ledger json: {0}")]
    Json(#[from] serde_json::Error),
    /// The file was migrated by a newer build; writing to it could corrupt it.
    #[error("ledger schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew {
        /// The file's `user_version`.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
    },
    /// The caller passed inconsistent data; nothing was written.
    #[error("invalid ledger record: {0}")]
    Invalid(String),
    /// No order with this id has been recorded.
    #[error("unknown order {0}")]
    UnknownOrder(OrderId),
}
