//! Settings of a Binance Spot connection, with documented defaults.

use crate::common::{BreakerConfig, Mode, SubmitPolicy};
use flotilla_domain::{Symbol, Timeframe};
use std::time::Duration;

/// Testnet REST base (the default).
pub const TESTNET_REST: &str = "https://testnet.binance.vision";
/// Testnet stream base.
pub const TESTNET_WS: &str = "wss://stream.testnet.binance.vision";
/// Live REST base (real money; only with [`Mode::Live`]).
pub const LIVE_REST: &str = "https://api.binance.com";
/// Live stream base.
pub const LIVE_WS: &str = "wss://stream.binance.com:9443";

/// How a [`super::Binance`] connection runs. Plain data: the host builds it from its
/// registry.
#[derive(Debug, Clone, PartialEq)]
pub struct BinanceConfig {
    /// Testnet (default) or live.
    pub mode: Mode,
    /// REST base URL, without a trailing slash.
    pub rest_base: String,
    /// Stream base URL (`ws://` or `wss://`), without a trailing slash.
    pub ws_base: String,
    /// Host symbols `BASE-QUOTE` (`BTC-USDT` is Binance's `BTCUSDT`).
    pub symbols: Vec<Symbol>,
    /// The asset whose balance is the account's cash (default `USDT`).
    pub quote_asset: String,
    /// `recvWindow` of signed requests, ms (default 5000; Binance allows up to 60000).
    pub recv_window_ms: u64,
    /// Timeout of one HTTP request (default 10 s). A POST that times out is ambiguous.
    pub request_timeout: Duration,
    /// Request weight allowed per minute (default 6000, the spot `REQUEST_WEIGHT` limit).
    pub weight_per_minute: u32,
    /// The ambiguous-submit policy. The default grace is long (30 s): Binance dedupes
    /// `newClientOrderId` only among OPEN orders, so a resend of a filled market order
    /// executes again; only a long doubt of "not found" protects against that.
    pub submit: SubmitPolicy,
    /// The circuit breaker.
    pub breaker: BreakerConfig,
    /// How often working orders are polled for updates (default 1 s).
    pub poll_interval: Duration,
    /// A stream connection is replaced after this long (default 23 h; Binance cuts at 24 h).
    pub max_stream_age: Duration,
    /// The venue clock's speed relative to real time: 1 for Binance; a fake run faster
    /// than real time sets its speed so [`super::BinanceBars`]'s `now()` follows it.
    pub server_clock_speed: f64,
    /// Bar timeframe of the kline stream (default 1m).
    pub timeframe: Timeframe,
}

impl BinanceConfig {
    /// The testnet, with every default.
    pub fn testnet(symbols: Vec<Symbol>) -> Self {
        Self {
            mode: Mode::Paper,
            rest_base: TESTNET_REST.into(),
            ws_base: TESTNET_WS.into(),
            symbols,
            quote_asset: "USDT".into(),
            recv_window_ms: 5000,
            request_timeout: Duration::from_secs(10),
            weight_per_minute: 6000,
            submit: SubmitPolicy {
                grace: Duration::from_secs(30),
                give_up: Duration::from_secs(60),
                ..SubmitPolicy::default()
            },
            breaker: BreakerConfig::default(),
            poll_interval: Duration::from_secs(1),
            max_stream_age: Duration::from_secs(23 * 3600),
            server_clock_speed: 1.0,
            timeframe: Timeframe::M1,
        }
    }

    /// The testnet for [`Mode::Paper`]; the live venue only for [`Mode::Live`] (the host
    /// passes it only after both opt-ins).
    pub fn for_mode(mode: Mode, symbols: Vec<Symbol>) -> Self {
        let mut c = Self::testnet(symbols);
        if mode == Mode::Live {
            c.mode = Mode::Live;
            c.rest_base = LIVE_REST.into();
            c.ws_base = LIVE_WS.into();
        }
        c
    }

    /// REST and streams at one base such as `http://127.0.0.1:PORT` (the fake): streams
    /// go to `ws://` of the same host.
    pub fn for_base(base: &str, symbols: Vec<Symbol>) -> Self {
        let base = base.trim_end_matches('/');
        let ws = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            base.to_string()
        };
        Self {
            rest_base: base.into(),
            ws_base: ws,
            ..Self::testnet(symbols)
        }
    }

    /// `testnet` or `live`, as [`flotilla_broker::venue::VenueInfo`] shows it.
    pub fn mode_name(&self) -> &'static str {
        match self.mode {
            Mode::Paper => "testnet",
            Mode::Live => "live",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn testnet_unless_live() {
        let c = BinanceConfig::for_mode(Mode::Paper, vec![]);
        assert_eq!(
            (c.rest_base.as_str(), c.ws_base.as_str()),
            (TESTNET_REST, TESTNET_WS)
        );
        let c = BinanceConfig::for_mode(Mode::Live, vec![]);
        assert_eq!(
            (c.rest_base.as_str(), c.ws_base.as_str()),
            (LIVE_REST, LIVE_WS)
        );
        let c = BinanceConfig::for_base("http://127.0.0.1:9/", vec![]);
        assert_eq!(c.ws_base, "ws://127.0.0.1:9");
        assert_eq!(c.mode_name(), "testnet");
    }
}
