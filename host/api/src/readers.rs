//! A few read-only ledger connections, each used by one blocking task at a time.

use crate::error::HttpError;
use flotilla_ledger::{LedgerError, LedgerReader};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, TryLockError};

/// Readers opened on first use (the fleet creates the ledger before it serves).
pub(crate) struct Readers {
    path: PathBuf,
    slots: Arc<Vec<Mutex<Option<LedgerReader>>>>,
}

impl Readers {
    /// `n` readers of the ledger at `path`.
    pub(crate) fn new(path: PathBuf, n: usize) -> Self {
        Readers {
            path,
            slots: Arc::new((0..n.max(1)).map(|_| Mutex::new(None)).collect()),
        }
    }

    /// Opens every reader and folds the ledger's history into it, on a blocking thread,
    /// so the first requests after a start do not pay for it.
    pub(crate) fn warm(&self) {
        let slots = self.slots.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            for slot in slots.iter() {
                let mut guard = slot.lock().unwrap_or_else(|p| p.into_inner());
                let warmed = match guard.as_mut() {
                    Some(r) => r.bot_stats(None).map(|_| ()),
                    None => LedgerReader::open(&path).and_then(|mut r| {
                        r.bot_stats(None)?;
                        *guard = Some(r);
                        Ok(())
                    }),
                };
                if let Err(e) = warmed {
                    tracing::debug!("API ledger reader not warmed: {e}");
                }
            }
        });
    }

    /// Runs `f` on a free reader (or waits for one) on a blocking thread.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut LedgerReader) -> Result<T, LedgerError> + Send + 'static,
    ) -> Result<T, HttpError> {
        let slots = self.slots.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            // A free slot if there is one, else wait on the first.
            let mut guard = None;
            for slot in slots.iter() {
                match slot.try_lock() {
                    Ok(g) => {
                        guard = Some(g);
                        break;
                    }
                    Err(TryLockError::Poisoned(p)) => {
                        guard = Some(p.into_inner());
                        break;
                    }
                    Err(TryLockError::WouldBlock) => {}
                }
            }
            let mut guard =
                guard.unwrap_or_else(|| slots[0].lock().unwrap_or_else(|p| p.into_inner()));
            if guard.is_none() {
                *guard = Some(LedgerReader::open(&path)?);
            }
            let reader = guard.as_mut().expect("opened above");
            let out = f(reader);
            if out.is_err() {
                // A fresh connection next time, in case this one is what went wrong.
                *guard = None;
            }
            out
        })
        .await
        .map_err(|e| HttpError::internal(format!("query task: {e}")))?
        .map_err(HttpError::from)
    }
}
