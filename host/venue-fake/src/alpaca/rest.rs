//! The fake's REST endpoints, with Alpaca's paths, fields, statuses and error bodies, and
//! the gate every request passes: journal, auth, rate limit and the 429 fault.

// Parsers return the refusal to send as `Err(Response)`: a test server's few requests
// do not care about the size of an error value.
#![allow(clippy::result_large_err)]

use super::state::{State, client_id, is_crypto, rfc3339};
use crate::sim::{Faults, MINUTE};
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State as Ext};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use flotilla_broker::venue::{CancelOutcome, VenueEvent, VenueEventKind, VenueOrderRequest};
use flotilla_domain::{OrderState, OrderType, Side, TimeInForce, Timeframe, Timestamp};
use flotilla_venue_paper::{INSUFFICIENT_CASH, INSUFFICIENT_POSITION};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

type St = Ext<Arc<State>>;
type Q = Query<HashMap<String, String>>;

/// Alpaca's error body with a status.
pub fn error(status: u16, code: i64, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        axum::Json(json!({"code": code, "message": message})),
    )
        .into_response()
}

fn ok(v: Value) -> Response {
    axum::Json(v).into_response()
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// The rate headers Alpaca sends with every answer.
fn rate_headers(h: &mut HeaderMap, limit: u32, remaining: u32, reset_in: Duration) {
    let reset = (unix_now() + reset_in).as_secs_f64().ceil() as u64;
    for (k, v) in [
        ("x-ratelimit-limit", limit.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-reset", reset.to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
}

fn too_many(st: &State, retry: Duration) -> Response {
    let mut r = error(429, 42910000, "rate limit exceeded");
    let secs = retry.as_secs_f64().ceil().max(1.0) as u64;
    rate_headers(r.headers_mut(), st.rate.limit, 0, Duration::from_secs(secs));
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert("retry-after", v);
    }
    r
}

/// Journal, auth, rate limit, the 429 fault; WebSocket upgrades authenticate in-band.
pub async fn gate(Ext(st): St, req: Request, next: Next) -> Response {
    let at = Instant::now();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    if req.headers().contains_key("upgrade") {
        let r = next.run(req).await;
        st.journal.record_at(at, "WS", &path, r.status().as_u16());
        return r;
    }
    // Read before any await: a borrowed request is not `Send`.
    let authorized = {
        let h = req.headers();
        let header = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
        header("apca-api-key-id") == st.config.key_id
            && header("apca-api-secret-key") == st.config.secret
    };
    let r = if !authorized {
        error(401, 40110000, "request is not authorized")
    } else if Faults::take(&st.faults.rate_limited) {
        too_many(&st, st.faults.retry_after())
    } else {
        match st.rate.check(1) {
            Err(reset) => too_many(&st, reset),
            Ok(used) => {
                let mut r = next.run(req).await;
                let left = st.rate.limit.saturating_sub(used);
                rate_headers(r.headers_mut(), st.rate.limit, left, st.rate.resets_in());
                r
            }
        }
    };
    st.journal
        .record_at(at, &method, &path, r.status().as_u16());
    r
}

/// `GET /v2/account`.
pub async fn account(Ext(st): St) -> Response {
    let cash = st.venue.cash().unwrap_or_default();
    let now = st.clock.true_now();
    let mut equity = cash;
    for (s, p) in st.venue.position_details().unwrap_or_default() {
        let px = st.market.last_price(&s, now).unwrap_or_default();
        equity += p.quantity * Decimal::from_f64_retain(px).unwrap_or_default();
    }
    let (cash, equity) = (cash.normalize().to_string(), equity.round_dp(2).to_string());
    ok(json!({
        "id": format!("acct-{}", st.config.account_number),
        "account_number": st.config.account_number,
        "status": "ACTIVE",
        "currency": "USD",
        "cash": cash,
        "buying_power": cash,
        "equity": equity,
        "portfolio_value": equity,
        "trading_blocked": false,
        "pattern_day_trader": false,
    }))
}

/// `GET /v2/positions`.
pub async fn positions(Ext(st): St) -> Response {
    let now = st.clock.true_now();
    let rows: Vec<Value> = st
        .venue
        .position_details()
        .unwrap_or_default()
        .into_iter()
        .map(|(s, p)| {
            let px = Decimal::from_f64_retain(st.market.last_price(&s, now).unwrap_or_default())
                .unwrap_or_default()
                .round_dp(4);
            let value = p.quantity * px;
            json!({
                // Positions spell crypto pairs without the slash.
                "symbol": s.as_str().replace('-', ""),
                "asset_class": if is_crypto(&s) { "crypto" } else { "us_equity" },
                "qty": p.quantity.normalize().to_string(),
                "side": if p.quantity < Decimal::ZERO { "short" } else { "long" },
                "avg_entry_price": p.avg_price.normalize().to_string(),
                "current_price": px.normalize().to_string(),
                "market_value": value.round_dp(2).to_string(),
                "unrealized_pl": (value - p.quantity * p.avg_price).round_dp(2).to_string(),
            })
        })
        .collect();
    ok(Value::Array(rows))
}

/// The next 00:00 UTC after `t`.
fn next_midnight(t: Timestamp) -> Timestamp {
    let day = 24 * 60 * MINUTE;
    Timestamp((t.0.div_euclid(day) + 1) * day)
}

/// `GET /v2/clock`: the fake's market is open unless the `market_closed` fault says
/// otherwise; its day ends at 00:00 UTC.
pub async fn clock(Ext(st): St) -> Response {
    let now = st.clock.now();
    let close = next_midnight(now);
    let open = st
        .faults
        .market_closed
        .load(std::sync::atomic::Ordering::SeqCst)
        == 0;
    ok(json!({
        "timestamp": rfc3339(now),
        "is_open": open,
        "next_open": rfc3339(close),
        "next_close": rfc3339(close),
    }))
}

fn text<'a>(body: &'a Value, field: &str) -> Option<&'a str> {
    body.get(field).and_then(Value::as_str)
}

/// A decimal field, sent as a string (or, leniently, a number).
fn decimal(body: &Value, field: &str) -> Result<Option<Decimal>, Response> {
    let s = match body.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(error(422, 40010001, &format!("invalid {field}"))),
    };
    Decimal::from_str_exact(&s)
        .map(Some)
        .map_err(|_| error(422, 40010001, &format!("invalid {field}")))
}

/// The request a POST body asks for, or Alpaca's refusal.
fn request(st: &State, body: &Value, now: Timestamp) -> Result<VenueOrderRequest, Response> {
    let client = text(body, "client_order_id").unwrap_or_default();
    let client =
        client_id(client).ok_or_else(|| error(422, 40010001, "client_order_id is invalid"))?;
    let wire = text(body, "symbol").unwrap_or_default();
    let symbol = st
        .symbol(wire)
        .ok_or_else(|| error(422, 40010001, &format!("asset \"{wire}\" not found")))?;
    let quantity = decimal(body, "qty")?
        .filter(|q| *q > Decimal::ZERO)
        .ok_or_else(|| error(422, 40010001, "qty must be > 0"))?;
    let side = match text(body, "side") {
        Some("buy") => Side::Buy,
        Some("sell") => Side::Sell,
        _ => return Err(error(422, 40010001, "invalid side")),
    };
    let order_type = match text(body, "type") {
        Some("market") => OrderType::Market,
        Some("limit") => OrderType::Limit,
        _ => return Err(error(422, 40010001, "invalid order type for this fake")),
    };
    let tif = match text(body, "time_in_force") {
        Some("day") => TimeInForce::Day,
        Some("gtc") => TimeInForce::Gtc,
        Some("ioc") => TimeInForce::Ioc,
        Some("fok") => TimeInForce::Fok,
        _ => return Err(error(422, 40010001, "invalid time_in_force")),
    };
    let limit_price = decimal(body, "limit_price")?;
    match (order_type, limit_price) {
        (OrderType::Limit, None) => return Err(error(422, 40010001, "limit_price is required")),
        (OrderType::Market, Some(_)) => {
            return Err(error(
                422,
                40010001,
                "limit_price must not be given for market orders",
            ));
        }
        _ => {}
    }
    Ok(VenueOrderRequest {
        client_id: client,
        symbol,
        side,
        quantity,
        order_type,
        limit_price,
        time_in_force: tif,
        expires_at: (tif == TimeInForce::Day).then(|| next_midnight(now)),
    })
}

/// `POST /v2/orders`.
pub async fn submit(Ext(st): St, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return error(400, 40010000, "request body format is invalid");
    };
    let client = text(&body, "client_order_id")
        .unwrap_or_default()
        .to_string();
    st.count_received(&client);
    if st.meta(&client).is_some() {
        return error(422, 40010001, "client_order_id must be unique");
    }
    let fail = Faults::take(&st.faults.fail_5xx);
    let after_place = st.faults.fail_5xx_after_place.load(Ordering::SeqCst) != 0;
    if fail && !after_place {
        return error(500, 50010000, "internal server error");
    }
    let now = st.clock.true_now();
    let req = match request(&st, &body, now) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let order = match st.venue.submit(&req, now) {
        Ok(o) => o,
        Err(e) => return error(500, 50010000, &e.to_string()),
    };
    if order.state == OrderState::Rejected {
        let reason = order.reason.clone().unwrap_or_default();
        return if reason == INSUFFICIENT_CASH {
            error(403, 40310000, "insufficient buying power")
        } else if reason == INSUFFICIENT_POSITION {
            error(403, 40310000, "insufficient qty available for order")
        } else {
            error(422, 42210000, &reason)
        };
    }
    st.register(&client);
    st.publish(&VenueEvent {
        client_id: req.client_id.clone(),
        kind: VenueEventKind::Accepted,
        time: now,
    });
    if fail {
        return error(502, 50210000, "bad gateway");
    }
    let delay = st.faults.delay_after_accept_ms.load(Ordering::SeqCst);
    if delay > 0 {
        // Placed; the answer comes too late for the client (or never, if it hung up).
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    ok(st.order_json(&order))
}

/// `GET /v2/orders:by_client_order_id?client_order_id=`.
pub async fn by_client(Ext(st): St, Query(q): Q) -> Response {
    let client = q.get("client_order_id").cloned().unwrap_or_default();
    let hidden = Duration::from_millis(st.faults.not_found_for_ms.load(Ordering::SeqCst));
    let found = st
        .meta(&client)
        .filter(|m| m.created.elapsed() >= hidden)
        .and_then(|_| client_id(&client))
        .and_then(|c| st.venue.order(&c).ok().flatten());
    match found {
        Some(o) => ok(st.order_json(&o)),
        None => error(404, 40410000, "order not found"),
    }
}

/// `GET /v2/orders/{id}`.
pub async fn by_id(Ext(st): St, Path(id): Path<String>) -> Response {
    let client = st.orders().by_id.get(&id).cloned();
    match client
        .and_then(|c| client_id(&c))
        .and_then(|c| st.venue.order(&c).ok().flatten())
    {
        Some(o) => ok(st.order_json(&o)),
        None => error(404, 40410000, "order not found"),
    }
}

/// `GET /v2/orders?status=open|closed|all&limit=` (newest first, limit 50, at most 500).
pub async fn list(Ext(st): St, Query(q): Q) -> Response {
    let status = q.get("status").map(String::as_str).unwrap_or("open");
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(50)
        .min(500);
    let clients: Vec<String> = st.orders().by_client.keys().cloned().collect();
    let mut orders: Vec<_> = clients
        .iter()
        .filter_map(|c| client_id(c))
        .filter_map(|c| st.venue.order(&c).ok().flatten())
        .filter(|o| match status {
            "open" => o.is_working(),
            "closed" => !o.is_working(),
            _ => true,
        })
        .collect();
    orders.sort_by_key(|o| std::cmp::Reverse(o.created_at));
    let rows: Vec<Value> = orders
        .iter()
        .take(limit)
        .map(|o| st.order_json(o))
        .collect();
    ok(Value::Array(rows))
}

/// `DELETE /v2/orders/{id}`: 204, 404, or 422 when no longer cancelable.
pub async fn cancel(Ext(st): St, Path(id): Path<String>) -> Response {
    let Some(client) = st
        .orders()
        .by_id
        .get(&id)
        .cloned()
        .and_then(|c| client_id(&c))
    else {
        return error(404, 40410000, "order not found");
    };
    let now = st.clock.true_now();
    match st.venue.cancel(&client, now) {
        Ok(CancelOutcome::Canceled | CancelOutcome::Requested) => {
            st.publish(&VenueEvent {
                client_id: client,
                kind: VenueEventKind::Canceled,
                time: now,
            });
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(CancelOutcome::NotCancelable(s)) => {
            error(422, 42210000, &format!("order is already in \"{s}\" state"))
        }
        Ok(CancelOutcome::Unknown) => error(404, 40410000, "order not found"),
        Err(e) => error(500, 50010000, &e.to_string()),
    }
}

fn timeframe(s: &str) -> Option<Timeframe> {
    Some(match s {
        "1Min" | "1T" => Timeframe::M1,
        "5Min" | "5T" => Timeframe::M5,
        "15Min" | "15T" => Timeframe::M15,
        "1Hour" | "1H" => Timeframe::H1,
        "1Day" | "1D" => Timeframe::D1,
        _ => return None,
    })
}

fn parse_time(s: Option<&String>) -> Result<Option<Timestamp>, Response> {
    match s {
        None => Ok(None),
        Some(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| Some(Timestamp(t.timestamp_millis())))
            .map_err(|_| error(422, 42210000, &format!("invalid time {s:?}"))),
    }
}

/// `GET /v2/stocks/bars` and `GET /v1beta3/crypto/us/bars`: closed bars only, `start`
/// and `end` inclusive, `limit` across symbols (default 1000, at most 10000), paged
/// with `next_page_token`.
async fn bars(st: Arc<State>, q: HashMap<String, String>, crypto: bool) -> Response {
    let Some(tf) = q.get("timeframe").and_then(|t| timeframe(t)) else {
        return error(422, 42210000, "invalid timeframe");
    };
    let step = tf.millis();
    let now = st.clock.true_now();
    let (start, end) = match (parse_time(q.get("start")), parse_time(q.get("end"))) {
        (Ok(s), Ok(e)) => (
            s.unwrap_or(Timestamp(now.0 - 24 * 60 * MINUTE)),
            e.unwrap_or(now),
        ),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(1000)
        .clamp(1, 10_000);
    let offset = match q.get("page_token") {
        None => 0,
        Some(t) => match t.strip_prefix("pg-").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => n,
            None => return error(422, 42210000, "invalid page token"),
        },
    };
    let to = Timestamp((end.0.div_euclid(step) + 1) * step).min(now.floor(tf));
    let mut symbols: Vec<String> = q
        .get("symbols")
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    symbols.sort();
    symbols.dedup();
    let mut all: Vec<(String, Value)> = Vec::new();
    for wire in &symbols {
        let Some(sym) = st.symbol(wire).filter(|s| is_crypto(s) == crypto) else {
            continue;
        };
        for b in st.market.bars_at(&sym, tf, start, to) {
            if b.time >= start {
                all.push((wire.clone(), bar_json(&b)));
            }
        }
    }
    let total = all.len();
    let mut out: serde_json::Map<String, Value> = serde_json::Map::new();
    for (wire, b) in all.into_iter().skip(offset).take(limit) {
        out.entry(wire)
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
            .expect("an array")
            .push(b);
    }
    let next = (offset + limit < total).then(|| format!("pg-{}", offset + limit));
    ok(json!({"bars": out, "next_page_token": next}))
}

/// A bar as the data API sends it (REST `t` as RFC 3339).
pub fn bar_json(b: &flotilla_domain::Bar) -> Value {
    json!({"t": rfc3339(b.time), "o": b.open, "h": b.high, "l": b.low, "c": b.close,
        "v": b.volume, "n": 100, "vw": b.close})
}

/// `GET /v2/stocks/bars`.
pub async fn stock_bars(Ext(st): St, Query(q): Q) -> Response {
    bars(st, q, false).await
}

/// `GET /v1beta3/crypto/us/bars`.
pub async fn crypto_bars(Ext(st): St, Query(q): Q) -> Response {
    bars(st, q, true).await
}
