//! The kline streams: `/ws/<symbol>@kline_<interval>` and `/stream?streams=a/b`
//! (combined, each event wrapped in `{"stream","data"}`), on the fake clock: a few
//! non-final updates (`k.x` false) while a bar forms, then its final one (`k.x` true).
//! Every open stream closes when the drop fault fires; new ones are refused while it
//! lasts. The server pings every `ping_every`.

use super::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State as Ax};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use flotilla_domain::{Bar, Symbol, Timeframe, Timestamp};
use serde_json::json;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// `/stream?streams=btcusdt@kline_1m/ethusdt@kline_1m`.
pub async fn combined(
    Ax(st): Ax<Arc<State>>,
    Query(q): Query<HashMap<String, String>>,
    up: WebSocketUpgrade,
) -> Response {
    let names: Vec<String> = q
        .get("streams")
        .map(|s| s.split('/').map(str::to_string).collect())
        .unwrap_or_default();
    upgrade(st, names, true, up)
}

/// `/ws/btcusdt@kline_1m`.
pub async fn single(
    Ax(st): Ax<Arc<State>>,
    Path(stream): Path<String>,
    up: WebSocketUpgrade,
) -> Response {
    upgrade(st, vec![stream], false, up)
}

/// (stream name, Binance symbol, timeframe) of a kline stream name.
fn parse(st: &State, name: &str) -> Option<(String, String, Timeframe)> {
    let (sym, kind) = name.split_once('@')?;
    let tf = Timeframe::from_str(kind.strip_prefix("kline_")?).ok()?;
    let s = st.symbol(&sym.to_ascii_uppercase())?;
    Some((name.to_string(), s.symbol.clone(), tf))
}

fn upgrade(st: Arc<State>, names: Vec<String>, combined: bool, up: WebSocketUpgrade) -> Response {
    let down_until = st.faults.streams_down_until_ms.load(Ordering::SeqCst);
    let streams: Option<Vec<_>> = names.iter().map(|n| parse(&st, n)).collect();
    let status = match &streams {
        _ if (st.started.elapsed().as_millis() as u64) < down_until => 503,
        Some(s) if !s.is_empty() => 101,
        _ => 400,
    };
    st.journal.record("WS", "/stream", status);
    match (status, streams) {
        (101, Some(s)) => up.on_upgrade(move |ws| run(st, ws, s, combined)),
        (503, _) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        _ => StatusCode::BAD_REQUEST.into_response(),
    }
}

fn event(symbol: &str, tf: Timeframe, b: &Bar, closed: bool, now: i64) -> serde_json::Value {
    let f = |x: f64| format!("{x:.8}");
    json!({
        "e": "kline", "E": now, "s": symbol,
        "k": {
            "t": b.time.0, "T": b.time.0 + tf.millis() - 1, "s": symbol, "i": tf.as_str(),
            "f": 100, "L": 200, "o": f(b.open), "c": f(b.close), "h": f(b.high), "l": f(b.low),
            "v": f(b.volume), "n": 100, "x": closed, "q": f(b.volume * b.close),
            "V": f(b.volume / 2.0), "Q": f(b.volume * b.close / 2.0), "B": "0"
        }
    })
}

async fn run(
    st: Arc<State>,
    mut ws: WebSocket,
    streams: Vec<(String, String, Timeframe)>,
    combined: bool,
) {
    let generation = st.faults.stream_generation.load(Ordering::SeqCst);
    let step_min = streams.iter().map(|s| s.2.millis()).min().unwrap_or(60_000);
    let updates = i64::from(st.config.kline_updates.max(1)) + 1;
    let tick = st
        .clock
        .real(step_min / updates)
        .max(Duration::from_millis(5));
    // The last final bar sent per stream: the one before the bar forming now.
    let mut sent: HashMap<String, i64> = streams
        .iter()
        .map(|(n, _, tf)| {
            (
                n.clone(),
                st.clock.true_now().0.div_euclid(tf.millis()) * tf.millis() - tf.millis(),
            )
        })
        .collect();
    let mut last_ping = tokio::time::Instant::now();
    loop {
        tokio::select! {
            m = ws.recv() => match m {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                _ => continue,
            },
            _ = tokio::time::sleep(tick) => {}
        }
        if st.faults.stream_generation.load(Ordering::SeqCst) != generation {
            let _ = ws.send(Message::Close(None)).await;
            return;
        }
        if last_ping.elapsed() >= st.config.ping_every {
            last_ping = tokio::time::Instant::now();
            if ws
                .send(Message::Ping(axum::body::Bytes::from_static(b"fake")))
                .await
                .is_err()
            {
                return;
            }
        }
        let now = st.clock.true_now().0;
        for (name, symbol, tf) in &streams {
            let step = tf.millis();
            let forming = now.div_euclid(step) * step;
            let last = sent[name];
            let sym = Symbol::new(symbol);
            let mut out = Vec::new();
            // Final updates of every bar closed since the last one sent, in order.
            for b in st
                .market
                .bars_at(&sym, *tf, Timestamp(last + step), Timestamp(forming))
            {
                out.push(event(symbol, *tf, &b, true, now));
                sent.insert(name.clone(), b.time.0);
            }
            // A non-final update of the bar forming now (its open so far).
            if let Some(b) = st
                .market
                .bars_at(&sym, *tf, Timestamp(forming), Timestamp(forming + step))
                .first()
            {
                let partial = Bar {
                    close: b.open,
                    high: b.open,
                    low: b.open,
                    volume: 0.0,
                    ..*b
                };
                out.push(event(symbol, *tf, &partial, false, now));
            }
            for data in out {
                let msg = if combined {
                    json!({"stream": name, "data": data})
                } else {
                    data
                };
                if ws
                    .send(Message::Text(msg.to_string().into()))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    }
}
