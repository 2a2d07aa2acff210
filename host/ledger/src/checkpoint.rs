//! A background WAL checkpointer, so the host's tick writes never pay for one.
//!
//! With SQLite's default auto-checkpoint, roughly every 70th tick would copy the WAL into
//! the database and fsync both files on the writer's thread: milliseconds on a busy disk,
//! against a tick write of well under one. A PASSIVE checkpoint on a second connection
//! does the same work without blocking the writer, which merely restarts the WAL from the
//! beginning at its next commit once everything has been copied.

use crate::LedgerError;
use rusqlite::Connection;
use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the checkpointer runs; an idle checkpoint is a cheap no-op.
pub(crate) const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// The writer's own auto-checkpoint threshold in pages (about 40 MB): a backstop in case
/// the background checkpointer falls behind, far above what it lets the WAL reach.
pub(crate) const BACKSTOP_PAGES: i64 = 10_000;

/// Owns the checkpointer thread; dropping it stops and joins the thread.
pub(crate) struct Checkpointer {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `path` every `every`.
    pub(crate) fn spawn(path: &Path, every: Duration) -> Result<Checkpointer, LedgerError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(crate::BUSY_TIMEOUT)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("ledger-checkpoint".into())
            .spawn(move || {
                // The sender is never used to send: its drop (disconnect) is the stop signal.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    // Returns (busy, wal frames, frames copied); only failures matter here.
                    let res = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    if let Err(e) = res {
                        tracing::warn!(error = %e, "ledger checkpoint failed; will retry");
                    }
                }
            })
            .map_err(LedgerError::Thread)?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
