//! The connectors' own small async runtime, behind the blocking [`flotilla_broker::venue::Venue`].

use std::future::Future;

/// A runtime owned by one connector: its streams run on it, and the execution service's
/// blocking calls wait on it. It is never the host's scheduler runtime, so a slow venue
/// cannot starve bots.
#[derive(Debug)]
pub struct Io {
    rt: tokio::runtime::Runtime,
}

impl Io {
    /// A runtime with one worker thread (venue I/O is waiting, not computing).
    pub fn new(name: &str) -> std::io::Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(format!("venue-{name}"))
            .enable_all()
            .build()?;
        Ok(Self { rt })
    }

    /// Runs `f` to completion from a thread outside any runtime.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// Starts a background task (a stream reader).
    pub fn spawn<F>(&self, f: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.rt.spawn(f)
    }

    /// The runtime's handle.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        self.rt.handle()
    }
}
