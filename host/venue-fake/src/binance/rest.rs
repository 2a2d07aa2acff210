//! The fake's REST endpoints, behind one handler that applies what every Binance request
//! goes through: faults, the weight limit, and for signed endpoints the key, the
//! signature and the timestamp.

use super::wire::{self, d8};
use super::{Meta, State, ws};
use crate::sim::Faults;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State as Ax;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use flotilla_broker::venue::VenueOrderRequest;
use flotilla_domain::{ClientOrderId, OrderType, Side, Symbol, TimeInForce, Timeframe, Timestamp};
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

type Answer = (StatusCode, Value);

fn err(status: u16, code: i64, msg: &str) -> Answer {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        json!({"code": code, "msg": msg}),
    )
}

/// The router: streams on their paths, every REST path through one handler.
pub fn router(st: Arc<State>) -> Router {
    Router::new()
        .route("/stream", get(ws::combined))
        .route("/ws/{stream}", get(ws::single))
        .fallback(handle)
        .with_state(st)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let h = std::str::from_utf8(&b[(i + 1).min(b.len())..(i + 3).min(b.len())])
                    .unwrap_or("");
                match u8::from_str_radix(h, 16) {
                    Ok(v) if h.len() == 2 => {
                        out.push(v);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_params(s: &str, into: &mut HashMap<String, String>) {
    for kv in s.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        into.insert(percent_decode(k), percent_decode(v));
    }
}

/// The signed payload: the query without its `signature` parameter, then the body.
fn payload(query: &str, body: &str) -> (String, Option<String>) {
    let mut sig = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| {
            if let Some(s) = p.strip_prefix("signature=") {
                sig = Some(s.to_string());
                false
            } else {
                !p.is_empty()
            }
        })
        .collect();
    let mut body_kept = body.to_string();
    if sig.is_none()
        && let Some(at) = body.find("signature=")
    {
        sig = Some(body[at + 10..].split('&').next().unwrap_or("").to_string());
        body_kept = body[..at].trim_end_matches('&').to_string();
    }
    (format!("{}{}", kept.join("&"), body_kept), sig)
}

fn weight_of(method: &Method, path: &str, params: &HashMap<String, String>) -> u32 {
    match (method.as_str(), path) {
        ("GET", "/api/v3/order") => 4,
        ("GET", "/api/v3/openOrders") if params.contains_key("symbol") => 6,
        ("GET", "/api/v3/openOrders") => 80,
        ("GET", "/api/v3/account")
        | ("GET", "/api/v3/exchangeInfo")
        | ("GET", "/api/v3/myTrades") => 20,
        ("GET", "/api/v3/klines") | ("GET", "/api/v3/ticker/price") => 2,
        _ => 1,
    }
}

async fn handle(
    Ax(st): Ax<Arc<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let body = String::from_utf8_lossy(&body).into_owned();
    let mut params = HashMap::new();
    parse_params(&query, &mut params);
    parse_params(&body, &mut params);
    let mut retry_after = None;
    let mut delay = Duration::ZERO;
    let (status, value) = if Faults::take(&st.faults.banned) {
        retry_after = Some(st.faults.retry_after());
        err(
            418,
            -1003,
            "Way too much request weight used; IP banned until later.",
        )
    } else if Faults::take(&st.faults.rate_limited)
        || (path == "/api/v3/myTrades" && Faults::take(&st.my_trades_429))
    {
        retry_after = Some(st.faults.retry_after());
        err(
            429,
            -1003,
            "Too much request weight used; current limit is 6000 request weight per 1 MINUTE.",
        )
    } else {
        match st.weights.check(weight_of(&method, &path, &params)) {
            Err(wait) => {
                retry_after = Some(wait.max(Duration::from_secs(1)));
                err(
                    429,
                    -1003,
                    "Too much request weight used; current limit is 6000 request weight per 1 MINUTE.",
                )
            }
            Ok(_) => route(
                &st, &method, &path, &query, &body, &headers, &params, &mut delay,
            ),
        }
    };
    st.journal.record(method.as_str(), &path, status.as_u16());
    if !delay.is_zero() {
        // The order is placed; the answer comes after the client gave up on it.
        tokio::time::sleep(delay).await;
    }
    let mut resp = (status, axum::Json(value)).into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&st.weights.used().to_string()) {
        h.insert("x-mbx-used-weight-1m", v.clone());
        h.insert("x-mbx-used-weight", v);
    }
    if let Some(r) = retry_after
        && let Ok(v) = HeaderValue::from_str(&r.as_secs().max(1).to_string())
    {
        h.insert("retry-after", v);
    }
    resp
}

#[allow(clippy::too_many_arguments)]
fn route(
    st: &State,
    method: &Method,
    path: &str,
    query: &str,
    body: &str,
    headers: &HeaderMap,
    p: &HashMap<String, String>,
    delay: &mut Duration,
) -> Answer {
    let now = st.clock.now().0;
    let signed = matches!(
        path,
        "/api/v3/account" | "/api/v3/order" | "/api/v3/openOrders" | "/api/v3/myTrades"
    );
    if signed {
        let key = headers
            .get("x-mbx-apikey")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if key != st.config.api_key {
            return err(
                401,
                -2015,
                "Invalid API-key, IP, or permissions for action.",
            );
        }
        let (payload, sig) = payload(query, body);
        let mut mac =
            Hmac::<Sha256>::new_from_slice(st.config.api_secret.as_bytes()).expect("any key");
        mac.update(payload.as_bytes());
        if sig.as_deref() != Some(hex::encode(mac.finalize().into_bytes()).as_str()) {
            return err(400, -1022, "Signature for this request is not valid.");
        }
        let Some(ts) = p.get("timestamp").and_then(|t| t.parse::<i64>().ok()) else {
            return err(
                400,
                -1102,
                "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
            );
        };
        let window = p
            .get("recvWindow")
            .and_then(|w| w.parse::<i64>().ok())
            .unwrap_or(5000)
            .min(60_000);
        if ts >= now + 1000 {
            return err(
                400,
                -1021,
                "Timestamp for this request was 1000ms ahead of the server's time.",
            );
        }
        if now - ts > window {
            return err(
                400,
                -1021,
                "Timestamp for this request is outside of the recvWindow.",
            );
        }
    }
    st.advance();
    match (method.as_str(), path) {
        ("GET", "/api/v3/ping") => (StatusCode::OK, json!({})),
        ("GET", "/api/v3/time") => (StatusCode::OK, json!({"serverTime": now})),
        ("GET", "/api/v3/exchangeInfo") => {
            let mut only: Vec<String> = p
                .get("symbols")
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default();
            only.extend(p.get("symbol").cloned());
            if only.iter().any(|s| st.symbol(s).is_none()) {
                return err(400, -1121, "Invalid symbol.");
            }
            (StatusCode::OK, wire::exchange_info(st, &only, now))
        }
        ("GET", "/api/v3/ticker/price") => {
            let Some(s) = p.get("symbol").and_then(|s| st.symbol(s)) else {
                return err(400, -1121, "Invalid symbol.");
            };
            let px = st
                .market
                .last_price(&Symbol::new(&s.symbol), st.clock.true_now())
                .unwrap_or(s.price);
            (
                StatusCode::OK,
                json!({"symbol": s.symbol, "price": format!("{px:.8}")}),
            )
        }
        ("GET", "/api/v3/klines") => klines(st, p),
        ("GET", "/api/v3/account") => {
            let balances: Vec<Value> = wire::balances(st)
                .into_iter()
                .map(|(a, v)| json!({"asset": a, "free": d8(v), "locked": d8(Decimal::ZERO)}))
                .collect();
            (
                StatusCode::OK,
                json!({"makerCommission": 10, "takerCommission": 10, "canTrade": true,
                       "canWithdraw": false, "canDeposit": false, "updateTime": now,
                       "accountType": "SPOT", "balances": balances, "permissions": ["SPOT"], "uid": 424242}),
            )
        }
        ("POST", "/api/v3/order") => place(st, p, now, delay),
        ("GET", "/api/v3/order") => query_order(st, p),
        ("DELETE", "/api/v3/order") => cancel(st, p, now),
        ("GET", "/api/v3/myTrades") => my_trades(st, p),
        ("GET", "/api/v3/openOrders") => {
            let sym = p.get("symbol");
            let metas = st.orders.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let list: Vec<Value> = st
                .paper
                .open_orders()
                .unwrap_or_default()
                .iter()
                .filter_map(|o| {
                    let m = metas.get(o.client_id.as_str())?;
                    let s = st.symbol(&m.symbol)?;
                    (sym.is_none_or(|x| *x == m.symbol)).then(|| wire::order(o, m, &s.quote, false))
                })
                .collect();
            (StatusCode::OK, Value::Array(list))
        }
        _ => err(404, -1000, "Unknown path."),
    }
}

fn klines(st: &State, p: &HashMap<String, String>) -> Answer {
    let Some(s) = p.get("symbol").and_then(|s| st.symbol(s)) else {
        return err(400, -1121, "Invalid symbol.");
    };
    let Some(tf) = p.get("interval").and_then(|i| Timeframe::from_str(i).ok()) else {
        return err(400, -1120, "Invalid interval.");
    };
    let step = tf.millis();
    let limit = p
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(500)
        .clamp(1, 1000);
    let closed_to = st.clock.true_now().0.div_euclid(step) * step;
    let to = p
        .get("endTime")
        .and_then(|e| e.parse::<i64>().ok())
        .map_or(closed_to, |e| (e + 1).min(closed_to));
    let from = p
        .get("startTime")
        .and_then(|e| e.parse::<i64>().ok())
        .unwrap_or(to - step * limit as i64);
    let sym = Symbol::new(&s.symbol);
    let bars = st.market.bars_at(&sym, tf, Timestamp(from), Timestamp(to));
    let f = |x: f64| format!("{x:.8}");
    let rows: Vec<Value> = bars
        .iter()
        .filter(|b| b.time.0 >= from)
        .take(limit)
        .map(|b| {
            json!([
                b.time.0,
                f(b.open),
                f(b.high),
                f(b.low),
                f(b.close),
                f(b.volume),
                b.time.0 + step - 1,
                f(b.volume * b.close),
                100,
                f(b.volume / 2.0),
                f(b.volume * b.close / 2.0),
                "0"
            ])
        })
        .collect();
    (StatusCode::OK, Value::Array(rows))
}

fn dec(p: &HashMap<String, String>, k: &str) -> Option<Decimal> {
    p.get(k).and_then(|v| Decimal::from_str(v).ok())
}

fn on_grid(x: Decimal, step: Decimal) -> bool {
    step.is_zero() || (x / step).fract().is_zero()
}

fn place(st: &State, p: &HashMap<String, String>, now: i64, delay: &mut Duration) -> Answer {
    let Some(s) = p.get("symbol").and_then(|s| st.symbol(s)).cloned() else {
        return err(400, -1121, "Invalid symbol.");
    };
    let side = match p.get("side").map(String::as_str) {
        Some("BUY") => Side::Buy,
        Some("SELL") => Side::Sell,
        _ => {
            return err(
                400,
                -1102,
                "Mandatory parameter 'side' was not sent, was empty/null, or malformed.",
            );
        }
    };
    let order_type = match p.get("type").map(String::as_str) {
        Some("MARKET") => OrderType::Market,
        Some("LIMIT") => OrderType::Limit,
        _ => return err(400, -1116, "Invalid orderType."),
    };
    let Some(qty) = dec(p, "quantity") else {
        return err(
            400,
            -1102,
            "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.",
        );
    };
    let price = dec(p, "price");
    let tif = match (order_type, p.get("timeInForce").map(String::as_str)) {
        (OrderType::Market, _) => TimeInForce::Gtc,
        (_, Some("GTC")) => TimeInForce::Gtc,
        (_, Some("IOC")) => TimeInForce::Ioc,
        (_, Some("FOK")) => TimeInForce::Fok,
        _ => {
            return err(
                400,
                -1102,
                "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.",
            );
        }
    };
    if order_type == OrderType::Limit && price.is_none() {
        return err(
            400,
            -1102,
            "Mandatory parameter 'price' was not sent, was empty/null, or malformed.",
        );
    }
    let cid = p
        .get("newClientOrderId")
        .cloned()
        .unwrap_or_else(|| format!("fake-{}", st.next_id.load(Ordering::Relaxed)));
    let Ok(client_id) = ClientOrderId::parse(&cid) else {
        return err(
            400,
            -1100,
            "Illegal characters found in parameter 'newClientOrderId'.",
        );
    };
    let faults = &st.faults;
    let after_place = faults.fail_5xx_after_place.load(Ordering::Relaxed) == 1;
    if !after_place && Faults::take(&faults.fail_5xx) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"code": -1001, "msg": "Internal error; unable to process your request. Please try again."}),
        );
    }
    if Faults::take(&faults.filter_failures) {
        return err(400, -1013, "Filter failure: LOT_SIZE");
    }
    let sym = Symbol::new(&s.symbol);
    let last = st
        .market
        .last_price(&sym, st.clock.true_now())
        .and_then(Decimal::from_f64_retain);
    let ref_price = price.or(last).unwrap_or_default();
    if qty < s.min_qty || qty > s.max_qty || !on_grid(qty, s.step_size) {
        return err(400, -1013, "Filter failure: LOT_SIZE");
    }
    if let Some(px) = price
        && (px < s.tick_size || !on_grid(px, s.tick_size))
    {
        return err(400, -1013, "Filter failure: PRICE_FILTER");
    }
    if qty * ref_price < s.min_notional {
        return err(400, -1013, "Filter failure: NOTIONAL");
    }
    *st.received
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(cid.clone())
        .or_default() += 1;
    let known = st
        .orders
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&cid)
        .cloned();
    if let Some(m) = known {
        return match st.paper.order(&client_id).ok().flatten() {
            Some(o) if o.is_working() => err(400, -2010, "Duplicate order sent."),
            // Binance would execute a closed order's id again; the fake counts it (above)
            // and answers with the order it has.
            Some(o) => (StatusCode::OK, wire::order(&o, &m, &s.quote, true)),
            None => err(400, -2010, "Duplicate order sent."),
        };
    }
    let req = VenueOrderRequest {
        client_id: client_id.clone(),
        symbol: sym.clone(),
        side,
        quantity: qty,
        order_type,
        limit_price: price.filter(|_| order_type == OrderType::Limit),
        time_in_force: tif,
        expires_at: None,
    };
    let o = match st.paper.submit(&req, Timestamp(now)) {
        Ok(o) => o,
        Err(e) => return err(400, -2010, &e.to_string()),
    };
    if o.state == flotilla_domain::OrderState::Rejected {
        return err(
            400,
            -2010,
            "Account has insufficient balance for requested action.",
        );
    }
    let meta = Meta {
        order_id: st.next_id.fetch_add(1, Ordering::Relaxed),
        symbol: s.symbol.clone(),
        created: Instant::now(),
        created_ms: now,
    };
    st.orders
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(cid, meta.clone());
    // At once at the last close, unless the partial-fill fault makes orders wait for bars.
    if faults.partial_fill_ppm.load(Ordering::Relaxed) == 0
        && let Some(px) = st.market.last_price(&sym, st.clock.true_now())
    {
        let _ = st.paper.on_price(&sym, px, Timestamp(now));
    }
    let o = st.paper.order(&client_id).ok().flatten().unwrap_or(o);
    if Faults::take(&faults.timeout_1007) {
        // Placed, yet the answer says nobody knows: Binance's -1007 (HTTP 408 here, a 4xx,
        // so only the error code tells a client the order may exist).
        return (
            StatusCode::REQUEST_TIMEOUT,
            json!({"code": -1007, "msg": "Timeout waiting for response from backend server. Send status unknown; execution status unknown."}),
        );
    }
    if after_place && Faults::take(&faults.fail_5xx) {
        return (
            StatusCode::BAD_GATEWAY,
            json!({"code": -1001, "msg": "Internal error; unable to process your request. Please try again."}),
        );
    }
    *delay = Duration::from_millis(faults.delay_after_accept_ms.load(Ordering::Relaxed));
    (StatusCode::OK, wire::order(&o, &meta, &s.quote, true))
}

fn find(
    st: &State,
    p: &HashMap<String, String>,
) -> Option<(Meta, flotilla_broker::venue::VenueOrder)> {
    let (cid, m) = {
        let orders = st.orders.lock().unwrap_or_else(|p| p.into_inner());
        match (
            p.get("origClientOrderId"),
            p.get("orderId").and_then(|i| i.parse::<u64>().ok()),
        ) {
            (Some(c), _) => orders.get(c).map(|m| (c.clone(), m.clone())),
            (None, Some(id)) => orders
                .iter()
                .find(|(_, m)| m.order_id == id)
                .map(|(c, m)| (c.clone(), m.clone())),
            _ => None,
        }?
    };
    if p.get("symbol") != Some(&m.symbol) {
        return None;
    }
    let o = st
        .paper
        .order(&ClientOrderId::parse(&cid).ok()?)
        .ok()
        .flatten()?;
    Some((m, o))
}

fn query_order(st: &State, p: &HashMap<String, String>) -> Answer {
    let Some((m, o)) = find(st, p) else {
        return err(400, -2013, "Order does not exist.");
    };
    let hide = Duration::from_millis(st.faults.not_found_for_ms.load(Ordering::Relaxed));
    if m.created.elapsed() < hide {
        return err(400, -2013, "Order does not exist.");
    }
    let quote = st
        .symbol(&m.symbol)
        .map(|s| s.quote.clone())
        .unwrap_or_default();
    (StatusCode::OK, wire::order(&o, &m, &quote, false))
}

fn cancel(st: &State, p: &HashMap<String, String>, now: i64) -> Answer {
    let Some((m, o)) = find(st, p) else {
        return err(400, -2011, "Unknown order sent.");
    };
    match st.paper.cancel(&o.client_id, Timestamp(now)) {
        Ok(flotilla_broker::venue::CancelOutcome::Canceled) => {
            let o = st.paper.order(&o.client_id).ok().flatten().unwrap_or(o);
            let quote = st
                .symbol(&m.symbol)
                .map(|s| s.quote.clone())
                .unwrap_or_default();
            let mut v = wire::order(&o, &m, &quote, false);
            v["origClientOrderId"] = json!(o.client_id.as_str());
            v["clientOrderId"] = json!(format!("cancel-{}", m.order_id));
            v["transactTime"] = json!(now);
            (StatusCode::OK, v)
        }
        _ => err(400, -2011, "Unknown order sent."),
    }
}

/// `GET /api/v3/myTrades`: the account's executions of a symbol (of one order with
/// `orderId`), oldest first; `fromId` gives those from that trade id on, otherwise the
/// most recent `limit` (default 500, at most 1000). Ids are the paper venue's trade
/// numbers, as in FULL answers.
fn my_trades(st: &State, p: &HashMap<String, String>) -> Answer {
    let Some(s) = p.get("symbol").and_then(|s| st.symbol(s)).cloned() else {
        return err(400, -1121, "Invalid symbol.");
    };
    let limit = match p.get("limit").map(|l| l.parse::<usize>()) {
        None => 500,
        Some(Ok(l)) if (1..=1000).contains(&l) => l,
        Some(_) => return err(400, -1100, "Illegal characters found in parameter 'limit'."),
    };
    let order_id = match p.get("orderId").map(|i| i.parse::<u64>()) {
        None => None,
        Some(Ok(i)) => Some(i),
        Some(Err(_)) => {
            return err(
                400,
                -1100,
                "Illegal characters found in parameter 'orderId'.",
            );
        }
    };
    let from_id = p.get("fromId").and_then(|i| i.parse::<i64>().ok());
    let metas: Vec<(String, Meta)> = st
        .orders
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter(|(_, m)| m.symbol == s.symbol && order_id.is_none_or(|i| m.order_id == i))
        .map(|(c, m)| (c.clone(), m.clone()))
        .collect();
    let mut trades: Vec<(i64, Value)> = Vec::new();
    for (cid, m) in &metas {
        let Some(o) = ClientOrderId::parse(cid)
            .ok()
            .and_then(|c| st.paper.order(&c).ok().flatten())
        else {
            continue;
        };
        for f in &o.fills {
            let id = wire::trade_id(&f.trade_id);
            trades.push((id, wire::trade(&o, f, m, &s.quote)));
        }
    }
    trades.sort_by_key(|(id, _)| *id);
    let list: Vec<Value> = match from_id {
        Some(from) => trades
            .into_iter()
            .filter(|(id, _)| *id >= from)
            .take(limit)
            .map(|(_, v)| v)
            .collect(),
        None => {
            let skip = trades.len().saturating_sub(limit);
            trades.into_iter().skip(skip).map(|(_, v)| v).collect()
        }
    };
    (StatusCode::OK, Value::Array(list))
}
