//! The fake's WebSockets: `trade_updates` (binary frames, as Alpaca's paper stream sends)
//! and the market data streams (arrays of messages in text frames). Both close when the
//! drop-streams fault fires and refuse connects while it lasts.

use super::rest::bar_json;
use super::state::{State, is_crypto, wire_symbol};
use axum::extract::State as Ext;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// How long a client has to authenticate.
const AUTH_WINDOW: Duration = Duration::from_secs(10);
/// How often a connection checks the drop fault.
const CHECK: Duration = Duration::from_millis(20);

fn streams_down(st: &State) -> bool {
    let until = st.faults.streams_down_until_ms.load(Ordering::SeqCst);
    until > 0 && (st.started.elapsed().as_millis() as u64) < until
}

fn generation(st: &State) -> u64 {
    st.faults.stream_generation.load(Ordering::SeqCst)
}

/// The next text or binary payload as JSON; `None` when the socket closed or `within`
/// passed.
async fn recv_json(ws: &mut WebSocket, within: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.recv())
            .await
            .ok()??
            .ok()?;
        let bytes = match msg {
            Message::Text(t) => t.as_bytes().to_vec(),
            Message::Binary(b) => b.to_vec(),
            Message::Close(_) => return None,
            _ => continue,
        };
        if let Ok(v) = serde_json::from_slice(&bytes) {
            return Some(v);
        }
    }
}

async fn send_binary(ws: &mut WebSocket, v: &Value) -> bool {
    ws.send(Message::Binary(v.to_string().into_bytes().into()))
        .await
        .is_ok()
}

async fn send_text(ws: &mut WebSocket, v: &Value) -> bool {
    ws.send(Message::Text(v.to_string().into())).await.is_ok()
}

/// `GET /stream` (upgrade): `trade_updates`.
pub async fn trade_updates(Ext(st): Ext<Arc<State>>, up: WebSocketUpgrade) -> Response {
    if streams_down(&st) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    up.on_upgrade(move |ws| run_trade_updates(st, ws))
}

async fn run_trade_updates(st: Arc<State>, mut ws: WebSocket) {
    let generation0 = generation(&st);
    let Some(auth) = recv_json(&mut ws, AUTH_WINDOW).await else {
        return;
    };
    let data = &auth["data"];
    let good = auth["action"] == "authenticate"
        && data["key_id"] == st.config.key_id.as_str()
        && data["secret_key"] == st.config.secret.as_str();
    let status = if good { "authorized" } else { "unauthorized" };
    let reply = json!({"stream": "authorization",
        "data": {"action": "authenticate", "status": status}});
    if !send_binary(&mut ws, &reply).await || !good {
        return;
    }
    let Some(listen) = recv_json(&mut ws, AUTH_WINDOW).await else {
        return;
    };
    let wants = listen["data"]["streams"]
        .as_array()
        .is_some_and(|s| s.iter().any(|v| v == "trade_updates"));
    // Subscribed before "listening" is sent: nothing falls between.
    let mut rx = st.updates.subscribe();
    let streams: Vec<&str> = if wants { vec!["trade_updates"] } else { vec![] };
    let reply = json!({"stream": "listening", "data": {"streams": streams}});
    if !send_binary(&mut ws, &reply).await {
        return;
    }
    let mut tick = tokio::time::interval(CHECK);
    loop {
        tokio::select! {
            m = rx.recv() => match m {
                Ok(msg) if wants => {
                    if ws.send(Message::Binary(msg.into_bytes().into())).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                // A slow reader loses the connection, as at a real venue.
                Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return,
            },
            m = ws.recv() => match m {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
            _ = tick.tick() => {
                if generation(&st) != generation0 {
                    // Dropped: no close frame, as a broken connection.
                    return;
                }
            }
        }
    }
}

/// `GET /v2/iex`, `/v2/sip` (upgrade): stock bars.
pub async fn stock_data(Ext(st): Ext<Arc<State>>, up: WebSocketUpgrade) -> Response {
    data(st, up, false)
}

/// `GET /v1beta3/crypto/us` (upgrade): crypto bars.
pub async fn crypto_data(Ext(st): Ext<Arc<State>>, up: WebSocketUpgrade) -> Response {
    data(st, up, true)
}

fn data(st: Arc<State>, up: WebSocketUpgrade, crypto: bool) -> Response {
    if streams_down(&st) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    up.on_upgrade(move |ws| run_data(st, ws, crypto))
}

async fn run_data(st: Arc<State>, mut ws: WebSocket, crypto: bool) {
    let generation0 = generation(&st);
    let mut rx = st.bars.subscribe();
    if !send_text(&mut ws, &json!([{"T": "success", "msg": "connected"}])).await {
        return;
    }
    let Some(auth) = recv_json(&mut ws, AUTH_WINDOW).await else {
        let _ = send_text(
            &mut ws,
            &json!([{"T": "error", "code": 404, "msg": "auth timeout"}]),
        )
        .await;
        return;
    };
    let good = auth["action"] == "auth"
        && auth["key"] == st.config.key_id.as_str()
        && auth["secret"] == st.config.secret.as_str();
    if !good {
        let _ = send_text(
            &mut ws,
            &json!([{"T": "error", "code": 402, "msg": "auth failed"}]),
        )
        .await;
        return;
    }
    if !send_text(&mut ws, &json!([{"T": "success", "msg": "authenticated"}])).await {
        return;
    }
    let mut subscribed: BTreeSet<String> = BTreeSet::new();
    let mut tick = tokio::time::interval(CHECK);
    loop {
        tokio::select! {
            m = rx.recv() => match m {
                Ok(batch) => {
                    let msgs: Vec<Value> = batch
                        .iter()
                        .filter(|(s, _)| is_crypto(s) == crypto)
                        .filter_map(|(s, b)| {
                            let wire = wire_symbol(s);
                            subscribed.contains(&wire).then(|| {
                                let mut v = bar_json(b);
                                v["T"] = json!("b");
                                v["S"] = json!(wire);
                                v
                            })
                        })
                        .collect();
                    // One frame carries every bar of the minute.
                    if !msgs.is_empty() && !send_text(&mut ws, &Value::Array(msgs)).await {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return,
            },
            m = recv_json(&mut ws, Duration::from_secs(3600)) => {
                let Some(v) = m else { return };
                if v["action"] == "subscribe" {
                    for s in v["bars"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                        subscribed.insert(s.to_string());
                    }
                    let list: Vec<&String> = subscribed.iter().collect();
                    let reply = json!([{"T": "subscription", "trades": [], "quotes": [], "bars": list}]);
                    if !send_text(&mut ws, &reply).await {
                        return;
                    }
                }
            },
            _ = tick.tick() => {
                if generation(&st) != generation0 {
                    return;
                }
            }
        }
    }
}
