//! The one place that talks HTTP to Binance: every request waits for the shared weight
//! budget (and any 429/418 pause) first, signed requests carry `timestamp`, `recvWindow`
//! and `signature` over the exact query string sent, rate headers feed the budget, every
//! result feeds the circuit breaker, and error bodies become [`BinanceError`]s.

use super::error::BinanceError;
use super::sign::{ServerClock, sign};
use crate::common::{Breaker, BreakerConfig, BreakerState, RateBudget, Secret, redact};
use serde_json::Value;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Request weights as Binance documents them (spot REST API).
pub mod weight {
    /// `POST /api/v3/order`, `DELETE /api/v3/order`, `GET /api/v3/time`.
    pub const LIGHT: u32 = 1;
    /// `GET /api/v3/klines`, `GET /api/v3/ticker/price` for one symbol.
    pub const KLINES: u32 = 2;
    /// `GET /api/v3/order`.
    pub const QUERY_ORDER: u32 = 4;
    /// `GET /api/v3/openOrders` for one symbol.
    pub const OPEN_ORDERS: u32 = 6;
    /// `GET /api/v3/account`, `GET /api/v3/exchangeInfo`.
    pub const HEAVY: u32 = 20;
    /// `GET /api/v3/myTrades`.
    pub const MY_TRADES: u32 = 20;
}

/// An HTTP method the connector uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// DELETE.
    Delete,
}

/// The REST client of one account.
pub struct Rest {
    http: reqwest::Client,
    base: String,
    key: Secret,
    secret: Secret,
    recv_window_ms: u64,
    /// The venue's clock, synced from `GET /api/v3/time`.
    pub clock: ServerClock,
    budget: RateBudget,
    weight_limit: u32,
    breaker: Breaker,
    notices: Mutex<Vec<String>>,
}

impl std::fmt::Debug for Rest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rest")
            .field("base", &self.base)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// Percent-encodes a query value (everything but RFC 3986's unreserved characters).
fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `a=1&b=2`, in the given order.
pub fn query_string(params: &[(&str, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Rest {
    /// A client for `base`; nothing is sent yet.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        base: &str,
        key: Secret,
        secret: Secret,
        recv_window_ms: u64,
        timeout: Duration,
        weight_per_minute: u32,
        breaker: BreakerConfig,
        clock_speed: f64,
    ) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            key,
            secret,
            recv_window_ms,
            clock: ServerClock::new(clock_speed),
            budget: RateBudget::new(weight_per_minute, Duration::from_secs(60)),
            weight_limit: weight_per_minute,
            breaker: Breaker::new(breaker),
            notices: Mutex::new(Vec::new()),
        })
    }

    /// The shared weight budget.
    pub fn budget(&self) -> &RateBudget {
        &self.budget
    }

    /// Whether new orders may go out (the breaker is not open).
    pub fn accepting_entries(&self) -> bool {
        self.breaker.allows_entries()
    }

    /// Records an operator notice.
    pub fn notice(&self, msg: String) {
        tracing::info!(target: "binance", "{msg}");
        self.notices
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(msg);
    }

    /// Takes the notices so far.
    pub fn take_notices(&self) -> Vec<String> {
        std::mem::take(&mut *self.notices.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Text with the key and secret removed, whatever produced it.
    fn clean(&self, text: &str) -> String {
        redact(text, &[&self.key, &self.secret])
    }

    /// `GET /api/v3/time`: syncs the clock.
    pub async fn sync_clock(&self) -> Result<(), BinanceError> {
        let sent = Instant::now();
        let v = self
            .send(
                Method::Get,
                "/api/v3/time",
                String::new(),
                false,
                weight::LIGHT,
            )
            .await?;
        let ms = v
            .get("serverTime")
            .and_then(Value::as_i64)
            .ok_or_else(|| BinanceError::Decode("serverTime missing".into()))?;
        self.clock.sync(ms, sent);
        Ok(())
    }

    /// An unsigned request (market data).
    pub async fn public(
        &self,
        method: Method,
        path: &str,
        params: &[(&str, String)],
        weight: u32,
    ) -> Result<Value, BinanceError> {
        self.send(method, path, query_string(params), false, weight)
            .await
    }

    /// A signed request. On -1021 (timestamp outside recvWindow: the request was refused,
    /// so sending it again cannot duplicate anything) the clock is resynced and the
    /// request sent once more, with a notice.
    pub async fn signed(
        &self,
        method: Method,
        path: &str,
        params: &[(&str, String)],
        weight: u32,
    ) -> Result<Value, BinanceError> {
        match self.signed_once(method, path, params, weight).await {
            Err(BinanceError::Timestamp(msg)) => {
                let before = self.clock.offset_ms();
                self.sync_clock().await?;
                self.notice(format!(
                    "binance: -1021 ({msg}); clock resynced (offset {before} ms -> {} ms), request sent again",
                    self.clock.offset_ms()
                ));
                self.signed_once(method, path, params, weight).await
            }
            r => r,
        }
    }

    async fn signed_once(
        &self,
        method: Method,
        path: &str,
        params: &[(&str, String)],
        weight: u32,
    ) -> Result<Value, BinanceError> {
        // The budget (and any pause) is waited for before the timestamp is taken, so a
        // long pause cannot push the request outside its recvWindow.
        self.budget.acquire(weight).await;
        let mut q = query_string(params);
        if !q.is_empty() {
            q.push('&');
        }
        q.push_str(&format!(
            "recvWindow={}&timestamp={}",
            self.recv_window_ms,
            self.clock.now_ms()
        ));
        let sig = sign(self.secret.expose(), &q);
        q.push_str(&format!("&signature={sig}"));
        self.send_now(method, path, q, true).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: String,
        signed: bool,
        weight: u32,
    ) -> Result<Value, BinanceError> {
        self.budget.acquire(weight).await;
        self.send_now(method, path, query, signed).await
    }

    /// Sends at once (the budget was acquired) and reads the answer.
    async fn send_now(
        &self,
        method: Method,
        path: &str,
        query: String,
        signed: bool,
    ) -> Result<Value, BinanceError> {
        let r = self.exchange(method, path, query, signed).await;
        let ok = r.as_ref().map_or_else(|e| !e.is_venue_failure(), |_| true);
        match self.breaker.record(ok) {
            Some(BreakerState::Open) => {
                self.notice("binance: circuit open: new orders held back, exits still go".into())
            }
            Some(BreakerState::Closed) => {
                self.notice("binance: circuit closed: new orders go again".into())
            }
            _ => {}
        }
        r
    }

    async fn exchange(
        &self,
        method: Method,
        path: &str,
        query: String,
        signed: bool,
    ) -> Result<Value, BinanceError> {
        let url = if query.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!("{}{path}?{query}", self.base)
        };
        let m = match method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut rb = self.http.request(m, url);
        if signed {
            rb = rb.header("X-MBX-APIKEY", self.key.expose());
        }
        let resp = rb.send().await.map_err(|e| {
            crate::common::observe::request("binance", path, None);
            let connect = e.is_connect();
            let text = self.clean(&e.without_url().to_string());
            if connect {
                BinanceError::Connect(text)
            } else {
                BinanceError::NoAnswer(text)
            }
        })?;
        let status = resp.status().as_u16();
        crate::common::observe::request("binance", path, Some(status));
        let headers = resp.headers().clone();
        if let Some(used) = header_u64(&headers, "x-mbx-used-weight-1m") {
            let left = u64::from(self.weight_limit).saturating_sub(used);
            self.budget.observe_remaining(left);
            crate::common::observe::headroom("binance", left);
        }
        if status == 429 || status == 418 {
            let retry_after =
                Duration::from_secs(header_u64(&headers, "retry-after").unwrap_or(60).max(1));
            // Nothing goes out to the venue before Retry-After: every request waits on
            // this pause in `RateBudget::acquire`.
            self.budget.pause(retry_after);
            self.notice(format!(
                "binance: HTTP {status}: every request paused for {retry_after:?}"
            ));
            return Err(BinanceError::RateLimited {
                status,
                retry_after,
            });
        }
        let body = resp
            .text()
            .await
            .map_err(|e| BinanceError::NoAnswer(self.clean(&e.without_url().to_string())))?;
        if (200..300).contains(&status) {
            return serde_json::from_str(&body)
                .map_err(|e| BinanceError::Decode(self.clean(&e.to_string())));
        }
        if status >= 500 {
            return Err(BinanceError::Server(status));
        }
        #[derive(serde::Deserialize)]
        struct ErrBody {
            code: i64,
            msg: String,
        }
        match serde_json::from_str::<ErrBody>(&body) {
            Ok(b) => Err(BinanceError::from_body(status, b.code, self.clean(&b.msg))),
            Err(_) => Err(BinanceError::Api {
                status,
                code: 0,
                msg: self.clean(&body.chars().take(200).collect::<String>()),
            }),
        }
    }
}

fn header_u64(h: &reqwest::header::HeaderMap, name: &str) -> Option<u64> {
    h.get(name)?.to_str().ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_keep_their_order_and_encode() {
        let q = query_string(&[("symbol", "BTCUSDT".into()), ("x", "a b&c".into())]);
        assert_eq!(q, "symbol=BTCUSDT&x=a%20b%26c");
    }
}
