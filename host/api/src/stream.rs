//! `GET /api/v1/stream`: the fleet's events as Server-Sent Events, resumable from
//! `Last-Event-ID`. Ticks are left out (they are for metrics); a reader that missed
//! events it cannot get back is sent `event: reset` first, and should reload its view.

use crate::ApiState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use flotilla_telemetry::{FleetEvent, Resume};
use futures_util::Stream;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};

/// How often an idle stream sends a comment, so proxies and readers see it alive.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

fn event(ev: &FleetEvent) -> Event {
    Event::default()
        .id(ev.id.to_string())
        .event(ev.kind())
        .data(serde_json::to_string(ev).unwrap_or_else(|_| "{}".into()))
}

fn reset(detail: serde_json::Value) -> Event {
    Event::default().event("reset").data(detail.to_string())
}

struct Feed {
    pending: VecDeque<Event>,
    rx: broadcast::Receiver<Arc<FleetEvent>>,
    /// The newest id sent: a live event at or below it was already in the replay.
    last: u64,
    closing: tokio::sync::watch::Receiver<bool>,
}

/// The stream handler.
pub(crate) async fn stream(
    State(st): State<ApiState>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let hub = st.port().events();
    let mut pending = VecDeque::new();
    let (rx, last) = match after {
        None => (hub.subscribe(), 0),
        Some(after) => {
            let (resume, rx) = hub.resume(after);
            let kept = match resume {
                Resume::From(kept) => kept,
                Resume::Gap(kept) => {
                    pending.push_back(reset(serde_json::json!({
                        "reason": "events after the given id are no longer kept",
                        "after": after,
                        "oldest": kept.first().map(|e| e.id),
                    })));
                    kept
                }
            };
            let mut last = after;
            for ev in kept {
                last = ev.id;
                pending.push_back(event(&ev));
            }
            (rx, last)
        }
    };
    let feed = Feed {
        pending,
        rx,
        last,
        closing: st.inner.closing.subscribe(),
    };
    let s = futures_util::stream::unfold(feed, |mut f| async move {
        loop {
            if let Some(ev) = f.pending.pop_front() {
                return Some((Ok(ev), f));
            }
            if *f.closing.borrow() {
                return None;
            }
            let next = tokio::select! {
                r = f.rx.recv() => r,
                _ = f.closing.changed() => return None,
            };
            match next {
                Ok(ev) => {
                    if ev.id <= f.last {
                        continue;
                    }
                    f.last = ev.id;
                    return Some((Ok(event(&ev)), f));
                }
                Err(RecvError::Lagged(n)) => {
                    return Some((
                        Ok(reset(serde_json::json!({
                            "reason": "this reader fell behind",
                            "missed": n,
                        }))),
                        f,
                    ));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(s).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}
