//! Loopback fakes of the Telegram Bot API (`sendMessage`, `getUpdates`) and of a Discord
//! webhook, plus a generic webhook receiver, for tests and rehearsals. Each keeps a journal
//! of the requests it got with their arrival times, and can answer a run of 429s (a
//! "storm") or of 5xx.

mod discord;
mod telegram;

pub use discord::{FakeDiscord, FakeWebhook};
pub use telegram::FakeTelegram;

use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One request a fake received.
#[derive(Clone, Debug)]
pub struct Hit {
    /// The API method (`sendMessage`, `getUpdates`, `webhook`).
    pub method: String,
    /// The JSON body (`Null` when it was not JSON).
    pub body: Value,
    /// When it arrived.
    pub at: Instant,
    /// The status the fake answered.
    pub status: u16,
}

/// Faults a fake injects into the next requests of its main method.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// 429s still to answer, and the `retry_after` they carry (seconds).
    pub(crate) storm: Option<(usize, f64)>,
    /// 5xx still to answer, and the status.
    pub(crate) errors: Option<(usize, u16)>,
}

/// What the next request gets, if a fault is armed.
pub(crate) enum Fault {
    TooMany(f64),
    Status(u16),
}

impl Faults {
    pub(crate) fn next(&mut self) -> Option<Fault> {
        if let Some((n, secs)) = self.storm.as_mut()
            && *n > 0
        {
            *n -= 1;
            return Some(Fault::TooMany(*secs));
        }
        if let Some((n, status)) = self.errors.as_mut()
            && *n > 0
        {
            *n -= 1;
            return Some(Fault::Status(*status));
        }
        None
    }
}

/// The shared journal.
#[derive(Clone, Default)]
pub(crate) struct Journal(Arc<Mutex<Vec<Hit>>>);

impl Journal {
    pub(crate) fn push(&self, method: &str, body: Value, at: Instant, status: u16) {
        let hit = Hit {
            method: method.into(),
            body,
            at,
            status,
        };
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(hit);
    }

    pub(crate) fn all(&self) -> Vec<Hit> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits until at least `n` requests of `method` were accepted (2xx), or `within`
    /// passes; returns what was accepted.
    pub(crate) async fn wait_ok(&self, method: &str, n: usize, within: Duration) -> Vec<Hit> {
        let until = Instant::now() + within;
        loop {
            let ok: Vec<Hit> = self
                .all()
                .into_iter()
                .filter(|h| h.method == method && (200..300).contains(&h.status))
                .collect();
            if ok.len() >= n || Instant::now() >= until {
                return ok;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Serves `app` on a free loopback port; returns the address and the server's task.
pub(crate) async fn serve(
    app: axum::Router,
) -> std::io::Result<(std::net::SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("fake server stopped: {e}");
        }
    });
    Ok((addr, task))
}

/// The body as JSON (`Null` when it is not).
pub(crate) fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or(Value::Null)
}
