//! The venue's error type.

use flotilla_domain::ClientOrderId;
use std::path::PathBuf;

/// Why a venue operation failed. A failed operation never leaves part of its writes behind.
#[derive(Debug, thiserror::Error)]
pub enum VenueError {
    /// SQLite reported an error (I/O, busy, constraint, unreadable stored value).
    #[error("paper venue database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The directory for the venue file could not be created.
    #[error("cannot create paper venue directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file was migrated by a newer build; writing to it could corrupt it.
    #[error("paper venue schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew {
        /// The file's `user_version`.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
    },
    /// A known client id was submitted with different order fields: two orders share an
    /// id, which is the caller's bug. The attempt is counted; the known order is unchanged.
    #[error("client order id {0} is already used by a different order")]
    ClientIdReused(ClientOrderId),
    /// The file holds something the order model refuses (an edited or corrupt file).
    #[error("paper venue file is inconsistent: {0}")]
    Inconsistent(String),
}
