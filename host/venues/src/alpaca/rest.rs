//! The one place the Alpaca connector sends REST requests: the account's rate budget
//! before each one, the rate headers read after, the breaker fed with every result, and
//! HTTP statuses and error bodies mapped to [`RestError`].
//!
//! Nothing here retries. reqwest's own retries are switched off too
//! (`retry::never()`): a POST that may have reached the venue is settled by the submit
//! policy's query, never by sending it again blind.

use super::config::AlpacaConfig;
use super::mapping::WireError;
use crate::common::{Breaker, BreakerState, RateBudget, Secret, redact};
use flotilla_broker::venue::VenueFailure;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest pause a rate header may order (a bogus reset must not stall us for ever).
const MAX_PAUSE: Duration = Duration::from_secs(120);
/// The pause after a 429 that names no reset.
const DEFAULT_PAUSE: Duration = Duration::from_secs(1);

/// Which Alpaca API a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Trading: orders, positions, account, clock.
    Trading,
    /// Market data: bars.
    Data,
}

/// Why a REST call gave no usable answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RestError {
    /// The venue answered with an error status and (usually) its `{code, message}` body.
    #[error("alpaca {status}{}: {message}", code.map(|c| format!(" ({c})")).unwrap_or_default())]
    Status {
        /// The HTTP status.
        status: u16,
        /// Alpaca's error code, when the body has one.
        code: Option<i64>,
        /// The venue's message.
        message: String,
    },
    /// 429: not processed; nothing goes out before `retry_after` has passed.
    #[error("alpaca rate limit (429): retry after {retry_after:?}")]
    RateLimited {
        /// How long the budget is paused.
        retry_after: Duration,
    },
    /// The connection could not be made: the request never left.
    #[error("alpaca unreachable: {0}")]
    NotSent(String),
    /// It may have reached the venue: a timeout, a reset connection, a 5xx.
    #[error("alpaca outcome unknown: {0}")]
    Ambiguous(String),
    /// A 2xx answer that could not be read.
    #[error("alpaca answer unreadable: {0}")]
    Decode(String),
}

impl RestError {
    /// The HTTP status, if the venue answered with an error status.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            Self::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// As the failure of a read (or a cancel): rate limits and unreachable venues are
    /// "not sent", the rest is "other".
    pub fn into_failure(self) -> VenueFailure {
        match self {
            Self::RateLimited { retry_after } => VenueFailure::NotSent {
                reason: self.to_string(),
                retry_after: Some(retry_after),
            },
            Self::NotSent(_) => VenueFailure::NotSent {
                reason: self.to_string(),
                retry_after: None,
            },
            e => VenueFailure::Other(e.to_string()),
        }
    }
}

/// The REST client of one Alpaca account.
pub struct Rest {
    client: reqwest::Client,
    trading: String,
    data: String,
    key: Secret,
    secret: Secret,
    /// The account's budget, shared by every call (orders, queries, bars).
    pub budget: RateBudget,
    /// The account's breaker.
    pub breaker: Breaker,
    notices: Mutex<Vec<String>>,
}

impl std::fmt::Debug for Rest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rest")
            .field("trading", &self.trading)
            .field("data", &self.data)
            .field("key", &self.key)
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

impl Rest {
    /// A client for `config`'s URLs with this key pair.
    pub fn new(config: &AlpacaConfig, key: Secret, secret: Secret) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(5)))
            .retry(reqwest::retry::never())
            .build()
            .map_err(|e| format!("http client: {e}"))?;
        Ok(Self {
            client,
            trading: config.trading_url.trim_end_matches('/').to_string(),
            data: config.data_url.trim_end_matches('/').to_string(),
            key,
            secret,
            budget: RateBudget::new(config.requests_per_minute, Duration::from_secs(60)),
            breaker: Breaker::new(config.breaker),
            notices: Mutex::new(Vec::new()),
        })
    }

    /// The key pair, for the streams' authentication.
    pub fn keys(&self) -> (&Secret, &Secret) {
        (&self.key, &self.secret)
    }

    /// `text` with the key pair blanked out.
    pub fn redact(&self, text: &str) -> String {
        redact(text, &[&self.key, &self.secret])
    }

    /// An operator notice (a breaker transition, a stream reconnect).
    pub fn notice(&self, msg: String) {
        tracing::warn!(target: "alpaca", "{msg}");
        self.notices
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(msg);
    }

    /// Takes the notices so far.
    pub fn take_notices(&self) -> Vec<String> {
        std::mem::take(&mut *self.notices.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// `GET` and decode.
    pub async fn get<T: DeserializeOwned>(
        &self,
        api: Api,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, RestError> {
        let body = self
            .send(Method::GET, api, path, query, None::<&()>)
            .await?
            .1;
        self.decode(&body)
    }

    /// `POST` a JSON body and decode the answer. Sent once, whatever happens.
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, RestError> {
        let body = self
            .send(Method::POST, Api::Trading, path, &[], Some(body))
            .await?
            .1;
        self.decode(&body)
    }

    /// `DELETE`; the success status.
    pub async fn delete(&self, path: &str) -> Result<u16, RestError> {
        Ok(self
            .send(Method::DELETE, Api::Trading, path, &[], None::<&()>)
            .await?
            .0)
    }

    fn decode<T: DeserializeOwned>(&self, body: &[u8]) -> Result<T, RestError> {
        serde_json::from_slice(body).map_err(|e| RestError::Decode(self.redact(&e.to_string())))
    }

    /// Sends one request: budget, auth headers, rate headers, status mapping, breaker.
    async fn send<B: Serialize>(
        &self,
        method: Method,
        api: Api,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<(u16, Vec<u8>), RestError> {
        self.budget.acquire(1).await;
        let base = match api {
            Api::Trading => &self.trading,
            Api::Data => &self.data,
        };
        let mut req = self
            .client
            .request(method.clone(), format!("{base}{path}"))
            .headers(self.auth_headers()?);
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let result = self.read(req).await;
        let status = match &result {
            Ok((s, _)) => Some(*s),
            Err(RestError::RateLimited { .. }) => Some(429),
            Err(RestError::Status { status, .. }) => Some(*status),
            Err(_) => None,
        };
        crate::common::observe::request("alpaca", path, status);
        // The venue is healthy when it answers, whatever it answers (a refusal, a 429);
        // timeouts, resets and 5xx count against it.
        let ok = !matches!(
            result,
            Err(RestError::Ambiguous(_) | RestError::NotSent(_) | RestError::Decode(_))
        );
        self.record(ok);
        if let Err(e) = &result {
            tracing::debug!(target: "alpaca", %method, path, error = %e, "request failed");
        }
        result
    }

    fn auth_headers(&self) -> Result<HeaderMap, RestError> {
        let mut h = HeaderMap::new();
        for (name, s) in [
            ("APCA-API-KEY-ID", &self.key),
            ("APCA-API-SECRET-KEY", &self.secret),
        ] {
            let mut v = HeaderValue::from_str(s.expose())
                .map_err(|_| RestError::NotSent(format!("{name} is not a valid header value")))?;
            v.set_sensitive(true);
            h.insert(name, v);
        }
        Ok(h)
    }

    async fn read(&self, req: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), RestError> {
        let resp = req.send().await.map_err(|e| self.transport(&e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        self.observe(&headers, status);
        let body = resp.bytes().await.map_err(|e| self.transport(&e))?.to_vec();
        if status.is_success() {
            return Ok((status.as_u16(), body));
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after = pause_from(&headers).unwrap_or(DEFAULT_PAUSE);
            self.budget.pause(retry_after);
            return Err(RestError::RateLimited { retry_after });
        }
        let (code, message) = match serde_json::from_slice::<WireError>(&body) {
            Ok(w) => (w.code, w.message),
            Err(_) => (
                None,
                String::from_utf8_lossy(&body).chars().take(200).collect(),
            ),
        };
        let message = self.redact(&message);
        if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
            return Err(RestError::Ambiguous(format!("{status}: {message}")));
        }
        Err(RestError::Status {
            status: status.as_u16(),
            code,
            message,
        })
    }

    /// A transport error: never connected means never sent; anything later is doubt.
    fn transport(&self, e: &reqwest::Error) -> RestError {
        let msg = self.redact(&error_chain(e));
        if e.is_connect() {
            RestError::NotSent(msg)
        } else if e.is_timeout() {
            RestError::Ambiguous(format!("timed out: {msg}"))
        } else {
            RestError::Ambiguous(msg)
        }
    }

    /// Reads the rate headers: what is left, and a pause when nothing is.
    fn observe(&self, headers: &HeaderMap, status: StatusCode) {
        if let Some(left) = header_u64(headers, "x-ratelimit-remaining") {
            self.budget.observe_remaining(left);
            crate::common::observe::headroom("alpaca", left);
            if left == 0
                && status != StatusCode::TOO_MANY_REQUESTS
                && let Some(p) = pause_from(headers)
            {
                self.budget.pause(p);
            }
        }
    }

    fn record(&self, ok: bool) {
        if let Some(state) = self.breaker.record(ok) {
            self.notice(match state {
                BreakerState::Open => {
                    "alpaca: circuit open after repeated failures; new entries held, exits still go"
                        .to_string()
                }
                BreakerState::HalfOpen => "alpaca: circuit half-open; probing".to_string(),
                BreakerState::Closed => "alpaca: circuit closed; entries resume".to_string(),
            });
        }
    }
}

/// reqwest's error with its sources (the cause of "error sending request" is in them).
fn error_chain(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// The pause the headers order: until `X-Ratelimit-Reset` (unix seconds) or for
/// `Retry-After` (seconds), whichever is later; capped.
fn pause_from(headers: &HeaderMap) -> Option<Duration> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let reset = header_u64(headers, "x-ratelimit-reset")
        .map(|s| Duration::from_millis((s * 1000).saturating_sub(now_ms)));
    let retry = header_u64(headers, "retry-after").map(Duration::from_secs);
    let p = match (reset, retry) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }?;
    Some(p.min(MAX_PAUSE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_later_of_reset_and_retry_after_wins() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(pause_from(&h), Some(Duration::from_secs(2)));
        h.insert(
            "x-ratelimit-reset",
            HeaderValue::from_str(&(now + 5).to_string()).unwrap(),
        );
        let p = pause_from(&h).unwrap();
        assert!(
            p > Duration::from_secs(4) && p <= Duration::from_secs(5),
            "{p:?}"
        );
        h.insert(
            "x-ratelimit-reset",
            HeaderValue::from_str(&(now + 9999).to_string()).unwrap(),
        );
        assert_eq!(pause_from(&h), Some(MAX_PAUSE));
        assert_eq!(pause_from(&HeaderMap::new()), None);
    }

    #[test]
    fn debug_shows_no_key() {
        let r = Rest::new(
            &AlpacaConfig::for_base("http://127.0.0.1:9"),
            Secret::new("PKSECRETKEYID"),
            Secret::new("very-secret-value"),
        )
        .unwrap();
        let d = format!("{r:?}");
        assert!(
            !d.contains("PKSECRETKEYID") && !d.contains("very-secret-value"),
            "{d}"
        );
        assert_eq!(r.redact("x very-secret-value y"), "x *** y");
    }
}
