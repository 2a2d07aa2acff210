//! Where and how the Alpaca connector talks: URLs, timeouts, budget, policy, breaker.

use crate::common::{BreakerConfig, Mode, SubmitPolicy};
use std::time::Duration;

/// The paper trading API (the default).
pub const PAPER_URL: &str = "https://paper-api.alpaca.markets";
/// The live trading API (real money: only with [`Mode::Live`]).
pub const LIVE_URL: &str = "https://api.alpaca.markets";
/// The market data REST API (the same for paper and live).
pub const DATA_URL: &str = "https://data.alpaca.markets";
/// The market data stream host.
pub const DATA_STREAM_URL: &str = "wss://stream.data.alpaca.markets";

/// The Alpaca connector's settings. [`AlpacaConfig::new`] gives the documented defaults;
/// [`AlpacaConfig::for_base`] points every URL at one server (the fake).
#[derive(Debug, Clone, PartialEq)]
pub struct AlpacaConfig {
    /// Paper (default) or live.
    pub mode: Mode,
    /// The trading REST API: paper `https://paper-api.alpaca.markets`, live
    /// `https://api.alpaca.markets`.
    pub trading_url: String,
    /// The `trade_updates` stream: the trading URL as `wss://…/stream`.
    pub trading_stream_url: String,
    /// The market data REST API: `https://data.alpaca.markets`.
    pub data_url: String,
    /// The stock bars stream: `wss://stream.data.alpaca.markets/v2/{feed}`.
    pub stock_stream_url: String,
    /// The crypto bars stream: `wss://stream.data.alpaca.markets/v1beta3/crypto/us`.
    pub crypto_stream_url: String,
    /// The stock data feed: `iex` (default, free) or `sip`.
    pub feed: String,
    /// Every REST request gives up after this long (default 10 s); a POST that times
    /// out is ambiguous and the submit policy queries for it.
    pub request_timeout: Duration,
    /// Requests per minute for the whole account (default 200, Alpaca's budget).
    pub requests_per_minute: u32,
    /// The ambiguous-submit policy.
    pub submit: SubmitPolicy,
    /// The circuit breaker.
    pub breaker: BreakerConfig,
    /// The first wait before reconnecting a stream, doubled up to 30 s (default 1 s).
    pub reconnect_backoff: Duration,
    /// How often the venue clock offset is refreshed from `GET /v2/clock` (default 60 s).
    pub clock_refresh: Duration,
    /// How often the market's session (`GET /v2/clock`: open or closed) is read for
    /// [`flotilla_broker::venue::Venue::session_open`] (default 15 s).
    pub session_refresh: Duration,
    /// Bars asked for per page of a backfill (default 10,000, Alpaca's maximum).
    pub bars_page_limit: u32,
}

impl Default for AlpacaConfig {
    fn default() -> Self {
        Self::new(Mode::Paper)
    }
}

impl AlpacaConfig {
    /// The defaults for `mode`: the paper URL unless `mode` is [`Mode::Live`].
    pub fn new(mode: Mode) -> Self {
        let trading = match mode {
            Mode::Paper => PAPER_URL,
            Mode::Live => LIVE_URL,
        };
        let feed = "iex";
        Self {
            mode,
            trading_url: trading.to_string(),
            trading_stream_url: stream_url(trading, "/stream"),
            data_url: DATA_URL.to_string(),
            stock_stream_url: format!("{DATA_STREAM_URL}/v2/{feed}"),
            crypto_stream_url: format!("{DATA_STREAM_URL}/v1beta3/crypto/us"),
            feed: feed.to_string(),
            request_timeout: Duration::from_secs(10),
            requests_per_minute: 200,
            submit: SubmitPolicy::default(),
            breaker: BreakerConfig::default(),
            reconnect_backoff: Duration::from_secs(1),
            clock_refresh: Duration::from_secs(60),
            session_refresh: Duration::from_secs(15),
            bars_page_limit: 10_000,
        }
    }

    /// Every URL (trading and data, REST and WebSocket) at `base`, such as
    /// `http://127.0.0.1:PORT` for the fake; paper mode.
    pub fn for_base(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        let mut c = Self::new(Mode::Paper);
        c.trading_url = base.to_string();
        c.trading_stream_url = stream_url(base, "/stream");
        c.data_url = base.to_string();
        c.stock_stream_url = stream_url(base, &format!("/v2/{}", c.feed));
        c.crypto_stream_url = stream_url(base, "/v1beta3/crypto/us");
        c
    }

    /// Checks the settings: live URLs only in live mode, and usable numbers.
    pub fn validate(&self) -> Result<(), String> {
        if self.mode == Mode::Paper
            && (self.trading_url.contains("://api.alpaca.markets")
                || self.trading_stream_url.contains("://api.alpaca.markets"))
        {
            return Err("the live Alpaca URL needs mode = live".into());
        }
        if self.requests_per_minute == 0 {
            return Err("requests_per_minute must be positive".into());
        }
        if self.bars_page_limit == 0 {
            return Err("bars_page_limit must be positive".into());
        }
        if self.request_timeout.is_zero() {
            return Err("request_timeout must be positive".into());
        }
        Ok(())
    }
}

/// `https://host` + `path` as `wss://host/path` (`http` as `ws`).
fn stream_url(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    let ws = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_string()
    };
    format!("{ws}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_is_the_default_and_live_needs_the_mode() {
        let c = AlpacaConfig::default();
        assert_eq!(c.trading_url, PAPER_URL);
        assert_eq!(
            c.trading_stream_url,
            "wss://paper-api.alpaca.markets/stream"
        );
        assert_eq!(
            c.stock_stream_url,
            "wss://stream.data.alpaca.markets/v2/iex"
        );
        assert_eq!(
            c.crypto_stream_url,
            "wss://stream.data.alpaca.markets/v1beta3/crypto/us"
        );
        assert!(c.validate().is_ok());
        let live = AlpacaConfig::new(Mode::Live);
        assert_eq!(live.trading_stream_url, "wss://api.alpaca.markets/stream");
        assert!(live.validate().is_ok());
        let sneaky = AlpacaConfig {
            trading_url: LIVE_URL.into(),
            ..AlpacaConfig::default()
        };
        assert!(sneaky.validate().is_err());
    }

    #[test]
    fn one_base_serves_every_url() {
        let c = AlpacaConfig::for_base("http://127.0.0.1:9/");
        assert_eq!(c.trading_url, "http://127.0.0.1:9");
        assert_eq!(c.data_url, "http://127.0.0.1:9");
        assert_eq!(c.trading_stream_url, "ws://127.0.0.1:9/stream");
        assert_eq!(c.stock_stream_url, "ws://127.0.0.1:9/v2/iex");
        assert_eq!(c.crypto_stream_url, "ws://127.0.0.1:9/v1beta3/crypto/us");
    }
}
