//! The `trade_updates` stream: authenticate, listen, book each order update in the event
//! log; on every (re)connect, reconcile over REST first, because Alpaca does not replay
//! what a dropped connection missed.

use super::Shared;
use super::mapping::{WireTradeUpdate, timestamp, venue_order};
use crate::common::CumulativeFill;
use flotilla_broker::venue::VenueEventKind;
use flotilla_domain::{Money, Quantity};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A client WebSocket.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The longest wait between reconnects.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Opens a WebSocket to `url`, within `timeout`.
pub async fn open(url: &str, timeout: Duration) -> Result<Ws, String> {
    match tokio::time::timeout(timeout, tokio_tungstenite::connect_async(url)).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(e)) => Err(format!("connect {url}: {e}")),
        Err(_) => Err(format!("connect {url}: timed out")),
    }
}

/// The next data frame's bytes, text or binary alike (Alpaca's paper stream sends
/// binary); `None` when the connection closed. Pings are answered by tungstenite.
pub async fn next_payload(
    ws: &mut Ws,
    timeout: Option<Duration>,
) -> Result<Option<Vec<u8>>, String> {
    loop {
        let next = match timeout {
            Some(t) => tokio::time::timeout(t, ws.next())
                .await
                .map_err(|_| "no answer in time".to_string())?,
            None => ws.next().await,
        };
        match next {
            None | Some(Ok(Message::Close(_))) => return Ok(None),
            Some(Ok(Message::Text(t))) => return Ok(Some(t.as_bytes().to_vec())),
            Some(Ok(Message::Binary(b))) => return Ok(Some(b.to_vec())),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.to_string()),
        }
    }
}

/// Sends a JSON value as a text frame.
pub async fn send_json(ws: &mut Ws, v: &Value) -> Result<(), String> {
    ws.send(Message::text(v.to_string()))
        .await
        .map_err(|e| e.to_string())
}

/// Connects, authenticates and listens to `trade_updates`; errors are redacted.
async fn subscribe(shared: &Shared) -> Result<Ws, String> {
    let timeout = shared.config.request_timeout;
    let mut ws = open(&shared.config.trading_stream_url, timeout).await?;
    let (key, secret) = shared.rest.keys();
    let auth = json!({"action": "authenticate",
        "data": {"key_id": key.expose(), "secret_key": secret.expose()}});
    send_json(&mut ws, &auth).await?;
    await_stream(&mut ws, "authorization", timeout, |d| {
        match d.get("status").and_then(Value::as_str) {
            Some("authorized") => Ok(true),
            Some(s) => Err(format!("authentication refused ({s})")),
            None => Ok(false),
        }
    })
    .await?;
    let listen = json!({"action": "listen", "data": {"streams": ["trade_updates"]}});
    send_json(&mut ws, &listen).await?;
    await_stream(&mut ws, "listening", timeout, |d| {
        let streams = d.get("streams").and_then(Value::as_array);
        match streams {
            Some(s) if s.iter().any(|v| v == "trade_updates") => Ok(true),
            _ => Err("the venue did not listen to trade_updates".to_string()),
        }
    })
    .await?;
    Ok(ws)
}

/// Reads until a message of `stream` that `check` accepts.
async fn await_stream(
    ws: &mut Ws,
    stream: &str,
    timeout: Duration,
    check: impl Fn(&Value) -> Result<bool, String>,
) -> Result<(), String> {
    loop {
        let Some(bytes) = next_payload(ws, Some(timeout)).await? else {
            return Err(format!("closed while waiting for {stream}"));
        };
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        if v.get("stream").and_then(Value::as_str) == Some(stream)
            && check(v.get("data").unwrap_or(&Value::Null))?
        {
            return Ok(());
        }
    }
}

/// Runs the stream for as long as the connector lives: connect, reconcile, read;
/// reconnect with backoff. `ready` is told after the first successful listen.
pub(crate) async fn run(shared: Weak<Shared>, ready: tokio::sync::oneshot::Sender<()>) {
    let mut ready = Some(ready);
    let mut backoff = match shared.upgrade() {
        Some(s) => s.config.reconnect_backoff,
        None => return,
    };
    let mut connects = 0u64;
    let mut last_error: Option<String> = None;
    loop {
        let Some(s) = shared.upgrade() else { return };
        match subscribe(&s).await {
            Ok(mut ws) => {
                connects += 1;
                backoff = s.config.reconnect_backoff;
                let reconciled = s.reconcile().await;
                if connects > 1 {
                    let cause = last_error.take().unwrap_or_else(|| "closed".into());
                    s.rest.notice(match reconciled {
                        Ok((orders, events)) => format!(
                            "alpaca trade_updates reconnected after: {cause}; reconciled {orders} orders over REST, {events} events booked"
                        ),
                        Err(e) => format!(
                            "alpaca trade_updates reconnected after: {cause}; REST reconcile failed: {e}"
                        ),
                    });
                }
                s.stream_connects
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if let Some(r) = ready.take() {
                    let _ = r.send(());
                }
                drop(s);
                last_error = Some(read(&shared, &mut ws).await);
            }
            Err(e) => {
                let e = s.rest.redact(&e);
                tracing::warn!(target: "alpaca", error = %e, "trade_updates connect failed");
                last_error = Some(e);
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Reads updates until the connection ends; the reason it ended.
async fn read(shared: &Weak<Shared>, ws: &mut Ws) -> String {
    loop {
        let payload = next_payload(ws, None).await;
        let Some(s) = shared.upgrade() else {
            return "connector dropped".into();
        };
        match payload {
            Ok(Some(bytes)) => s.on_message(&bytes),
            Ok(None) => return "the stream closed".into(),
            Err(e) => return s.rest.redact(&e),
        }
    }
}

impl Shared {
    /// Books one stream message (anything but a trade update is ignored).
    fn on_message(self: &Arc<Self>, bytes: &[u8]) {
        let v: Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(target: "alpaca", error = %e, "unreadable trade_updates frame");
                return;
            }
        };
        if v.get("stream").and_then(Value::as_str) != Some("trade_updates") {
            return;
        }
        let update: WireTradeUpdate = match v.get("data").cloned().map(serde_json::from_value) {
            Some(Ok(u)) => u,
            _ => {
                tracing::warn!(target: "alpaca", "unreadable trade update");
                return;
            }
        };
        if let Err(e) = self.apply(&update) {
            tracing::warn!(target: "alpaca", error = %e, "trade update not booked");
        }
    }

    /// Books one trade update in the log: `new` (and `accepted`, `pending_new`) as
    /// accepted; `fill` and `partial_fill` as a cumulative fill whose trade id is the
    /// `execution_id`, cumulative quantity the order's `filled_qty` and last execution
    /// the event's (`qty`, `price`); `canceled`, `expired` (and `done_for_day`),
    /// `rejected` as the order's end. Others (`pending_cancel`, `replaced`,
    /// `order_cancel_rejected`, …) change nothing the host books and are ignored.
    pub(super) fn apply(&self, u: &WireTradeUpdate) -> Result<(), String> {
        let order = venue_order(&u.order)?;
        let time = match u.timestamp.as_deref() {
            Some(t) => timestamp(t)?,
            None => order.updated_at,
        };
        self.remember(&u.order.id, &order);
        let c = &order.client_id;
        match u.event.as_str() {
            "new" | "accepted" | "pending_new" => {
                self.log.accepted(c, time);
            }
            "fill" | "partial_fill" => {
                let last = match (&u.qty, &u.price) {
                    (Some(q), Some(p)) => Some((
                        super::mapping::decimal("qty", q)?,
                        super::mapping::decimal("price", p)?,
                    )),
                    _ => None,
                };
                let notional = (order.filled_quantity > Quantity::ZERO)
                    .then(|| order.filled_quantity * order.avg_price);
                let report = CumulativeFill {
                    trade_id: u.execution_id.clone(),
                    cumulative: order.filled_quantity,
                    cumulative_notional: notional,
                    last,
                    fee: Money::ZERO,
                    time,
                };
                self.log.fill(c, &report);
            }
            "canceled" => {
                self.log.ended(c, VenueEventKind::Canceled, time);
            }
            "expired" | "done_for_day" => {
                self.log.ended(c, VenueEventKind::Expired, time);
            }
            "rejected" => {
                let reason = order
                    .reason
                    .clone()
                    .unwrap_or_else(|| "rejected by Alpaca".into());
                self.log.ended(c, VenueEventKind::Rejected { reason }, time);
            }
            other => tracing::debug!(target: "alpaca", event = other, "trade update ignored"),
        }
        Ok(())
    }
}
