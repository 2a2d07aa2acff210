//! Binance Spot (testnet by default).
//!
//! [`Binance`] implements the host's [`Venue`] over Binance's REST API: orders go out
//! through the one ambiguous-submit policy ([`crate::common::submit_once`]), signed with
//! HMAC-SHA256 over the exact query string sent, within one request-weight budget per
//! account; order changes come from a poll into the [`EventLog`] (see [`orders`]), fills
//! with their commissions from `myTrades` (see [`fills`]); the
//! `exchangeInfo` filters shape each order before the host records it
//! ([`Venue::prepare`]). [`BinanceBars`] gives the live feed its klines.
//!
//! Symbols: the host's `BTC-USDT` is Binance's `BTCUSDT` (base `BTC`, quote `USDT`).
//! Positions are the base assets' free + locked balances of the configured symbols; cash
//! is the quote asset's ([`BinanceConfig::quote_asset`]).

mod config;
mod error;
mod fills;
mod filters;
mod mapping;
mod orders;
mod rest;
mod sign;
mod stream;

pub use config::{BinanceConfig, LIVE_REST, LIVE_WS, TESTNET_REST, TESTNET_WS};
pub use error::BinanceError;
pub use filters::{LotSize, Notional, PriceFilter, SymbolRules, round_down, round_up};
pub use mapping::split_symbol;
pub use rest::{query_string, weight};
pub use sign::sign;
pub use stream::BinanceBars;

use crate::common::{ConnectError, EventLog, Io, Secret, SubmitPolicy};
use flotilla_broker::venue::{
    CancelOutcome, Venue, VenueEvent, VenueFailure, VenueInfo, VenueOrder, VenueOrderRequest,
};
use flotilla_domain::{ClientOrderId, Money, Price, Quantity, Symbol, Timestamp};
use mapping::Account;
use rest::{Method, Rest};
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// `BINANCE_API_KEY`: the environment variable of the key.
pub const KEY_ENV: &str = "BINANCE_API_KEY";
/// `BINANCE_API_SECRET`: the environment variable of the secret.
pub const SECRET_ENV: &str = "BINANCE_API_SECRET";

/// What the connector, its poll task and its bar source share.
#[derive(Debug)]
pub(crate) struct Shared {
    config: BinanceConfig,
    rest: Rest,
    log: EventLog,
    policy: SubmitPolicy,
    /// Rules per host symbol.
    rules: HashMap<Symbol, SymbolRules>,
    /// Last trade price per host symbol (ticker at connect, then the kline stream).
    prices: Mutex<HashMap<Symbol, Price>>,
    /// Orders not known to be done: client id -> request (the poll asks for each).
    tracked: Mutex<HashMap<ClientOrderId, VenueOrderRequest>>,
    /// Every client id sent, with its symbol (GET /api/v3/order needs the symbol).
    symbols: Mutex<HashMap<ClientOrderId, Symbol>>,
    /// The venue's order id of each order seen (GET /api/v3/myTrades asks by it).
    order_ids: Mutex<HashMap<ClientOrderId, i64>>,
}

impl Shared {
    fn requests(&self) -> std::sync::MutexGuard<'_, HashMap<ClientOrderId, VenueOrderRequest>> {
        self.tracked.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn track(&self, req: &VenueOrderRequest) {
        self.requests().insert(req.client_id.clone(), req.clone());
        self.symbols
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(req.client_id.clone(), req.symbol.clone());
    }

    fn untrack(&self, c: &ClientOrderId) {
        self.requests().remove(c);
    }

    fn tracked(&self) -> Vec<(ClientOrderId, Symbol)> {
        self.requests()
            .iter()
            .map(|(c, r)| (c.clone(), r.symbol.clone()))
            .collect()
    }

    fn symbol_of(&self, c: &ClientOrderId) -> Option<Symbol> {
        self.symbols
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(c)
            .cloned()
    }

    fn set_price(&self, s: &Symbol, p: f64) {
        if let Some(d) = Decimal::from_f64(p) {
            self.prices
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(s.clone(), d);
        }
    }

    fn price(&self, s: &Symbol) -> Option<Price> {
        self.prices
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(s)
            .copied()
    }

    async fn account(&self) -> Result<Account, VenueFailure> {
        let v = self
            .rest
            .signed(Method::Get, "/api/v3/account", &[], weight::HEAVY)
            .await
            .map_err(orders::failure)?;
        serde_json::from_value(v).map_err(|e| VenueFailure::Other(format!("account: {e}")))
    }
}

/// One Binance Spot account.
pub struct Binance {
    shared: Arc<Shared>,
    account: String,
    io: Io,
}

impl std::fmt::Debug for Binance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Binance")
            .field("endpoint", &self.shared.config.rest_base)
            .field("mode", &self.shared.config.mode_name())
            .field("account", &self.account)
            .field("symbols", &self.shared.config.symbols)
            .finish_non_exhaustive()
    }
}

impl Binance {
    /// Connects with the key and secret from `BINANCE_API_KEY` / `BINANCE_API_SECRET`.
    pub fn from_env(config: BinanceConfig) -> Result<Self, ConnectError> {
        let key = Secret::from_env(KEY_ENV)?;
        let secret = Secret::from_env(SECRET_ENV)?;
        Self::connect(config, key, secret)
    }

    /// Connects: syncs the clock (`GET /api/v3/time`), reads the filters of the configured
    /// symbols (`GET /api/v3/exchangeInfo`), checks the key (`GET /api/v3/account`), reads
    /// the last prices (`GET /api/v3/ticker/price`), and starts the order poll.
    pub fn connect(
        config: BinanceConfig,
        key: Secret,
        secret: Secret,
    ) -> Result<Self, ConnectError> {
        if config.symbols.is_empty() {
            return Err(ConnectError::Config(
                "binance: no symbols configured".into(),
            ));
        }
        let mut wires = Vec::new();
        for s in &config.symbols {
            let (w, _, _) = split_symbol(s).map_err(ConnectError::Config)?;
            wires.push((s.clone(), w));
        }
        let rest = Rest::new(
            &config.rest_base,
            key,
            secret,
            config.recv_window_ms,
            config.request_timeout,
            config.weight_per_minute,
            config.breaker,
            config.server_clock_speed,
        )
        .map_err(ConnectError::Config)?;
        let io = Io::new("binance").map_err(|e| ConnectError::Config(e.to_string()))?;
        let venue = |e: BinanceError| ConnectError::Venue(format!("binance: {e}"));
        let (rules, account, prices) = io.block_on(async {
            rest.sync_clock().await.map_err(venue)?;
            let list =
                serde_json::to_string(&wires.iter().map(|(_, w)| w.as_str()).collect::<Vec<_>>())
                    .expect("strings serialize");
            let info = rest
                .public(
                    Method::Get,
                    "/api/v3/exchangeInfo",
                    &[("symbols", list)],
                    weight::HEAVY,
                )
                .await
                .map_err(venue)?;
            let listed = info
                .get("symbols")
                .and_then(|v| v.as_array())
                .cloned()
                .unwrap_or_default();
            let mut rules = HashMap::new();
            for (s, w) in &wires {
                let entry = listed
                    .iter()
                    .find(|e| e.get("symbol").and_then(|v| v.as_str()) == Some(w.as_str()))
                    .ok_or_else(|| {
                        ConnectError::Config(format!("binance: {w} ({s}) is not listed"))
                    })?;
                if entry
                    .get("status")
                    .and_then(|v| v.as_str())
                    .is_some_and(|st| st != "TRADING")
                {
                    return Err(ConnectError::Config(format!("binance: {w} is not trading")));
                }
                let r = SymbolRules::parse(entry).map_err(ConnectError::Config)?;
                rules.insert(s.clone(), r);
            }
            let acct = rest
                .signed(Method::Get, "/api/v3/account", &[], weight::HEAVY)
                .await
                .map_err(venue)?;
            let acct: Account = serde_json::from_value(acct)
                .map_err(|e| ConnectError::Venue(format!("binance account: {e}")))?;
            if !acct.can_trade {
                return Err(ConnectError::Venue("binance: the key may not trade".into()));
            }
            let mut prices = HashMap::new();
            for (s, w) in &wires {
                let v = rest
                    .public(
                        Method::Get,
                        "/api/v3/ticker/price",
                        &[("symbol", w.clone())],
                        weight::KLINES,
                    )
                    .await
                    .map_err(venue)?;
                if let Some(p) = v
                    .get("price")
                    .and_then(|p| p.as_str())
                    .and_then(|p| p.parse().ok())
                {
                    prices.insert(s.clone(), p);
                }
            }
            let account = match (acct.uid, acct.account_type) {
                (Some(uid), _) => uid.to_string(),
                (None, Some(t)) => t.to_ascii_lowercase(),
                _ => "spot".into(),
            };
            Ok::<_, ConnectError>((rules, account, prices))
        })?;
        let shared = Arc::new(Shared {
            policy: config.submit,
            config,
            rest,
            log: EventLog::new(),
            rules,
            prices: Mutex::new(prices),
            tracked: Mutex::new(HashMap::new()),
            symbols: Mutex::new(HashMap::new()),
            order_ids: Mutex::new(HashMap::new()),
        });
        io.spawn(orders::poll(
            Arc::downgrade(&shared),
            shared.config.poll_interval,
        ));
        Ok(Self {
            shared,
            account,
            io,
        })
    }

    /// The bar source of this connection's symbols, for [`crate::LiveFeed::start`] on
    /// [`Binance::handle`].
    pub fn bars(&self) -> Arc<BinanceBars> {
        Arc::new(BinanceBars {
            shared: self.shared.clone(),
            ws_base: self.shared.config.ws_base.clone(),
            max_age: self.shared.config.max_stream_age,
        })
    }

    /// The connector's runtime, for the feed's tasks.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        self.io.handle()
    }

    /// The filters of a configured symbol.
    pub fn rules(&self, symbol: &Symbol) -> Option<&SymbolRules> {
        self.shared.rules.get(symbol)
    }

    /// The last price seen of a symbol.
    pub fn last_price(&self, symbol: &Symbol) -> Option<Price> {
        self.shared.price(symbol)
    }

    /// The venue's time now (server clock).
    pub fn server_now(&self) -> Timestamp {
        Timestamp(self.shared.rest.clock.now_ms())
    }

    /// What the venue last said is left of its weight window.
    pub fn weight_remaining(&self) -> Option<u64> {
        self.shared.rest.budget().venue_remaining()
    }

    /// How long the current 429/418 pause still lasts.
    pub fn paused_for(&self) -> Option<std::time::Duration> {
        self.shared.rest.budget().paused_for()
    }

    /// Starts tracking an order the host holds from before a restart, booked this far,
    /// so the poll follows it and reports of what is booked add nothing.
    pub fn seed(&self, req: &VenueOrderRequest, cumulative: Quantity, notional: Money) {
        self.shared.log.seed(&req.client_id, cumulative, notional);
        self.shared.track(req);
    }
}

impl Venue for Binance {
    fn resume(&self, req: &VenueOrderRequest, cumulative: Quantity, notional: Money) {
        self.seed(req, cumulative, notional);
    }

    fn info(&self) -> VenueInfo {
        VenueInfo {
            venue: "binance".into(),
            account: self.account.clone(),
            mode: self.shared.config.mode_name().into(),
            endpoint: self.shared.config.rest_base.clone(),
        }
    }

    fn submit(&self, req: &VenueOrderRequest, _now: Timestamp) -> Result<VenueOrder, VenueFailure> {
        self.io.block_on(self.shared.submit(req))
    }

    fn cancel(
        &self,
        client_id: &ClientOrderId,
        _now: Timestamp,
    ) -> Result<CancelOutcome, VenueFailure> {
        self.io.block_on(self.shared.cancel(client_id))
    }

    fn order(&self, client_id: &ClientOrderId) -> Result<Option<VenueOrder>, VenueFailure> {
        self.io.block_on(async {
            let o = self.shared.query(client_id, None).await?;
            if let Some(o) = &o {
                // Fills beyond what the log holds are booked from myTrades, fees included.
                self.shared.book(o).await;
            }
            Ok(o)
        })
    }

    fn open_orders(&self) -> Result<Vec<VenueOrder>, VenueFailure> {
        self.io.block_on(self.shared.open_orders())
    }

    fn events_since(&self, seq: u64) -> Result<Vec<(u64, VenueEvent)>, VenueFailure> {
        Ok(self.shared.log.since(seq))
    }

    fn last_event_seq(&self) -> Result<u64, VenueFailure> {
        Ok(self.shared.log.last_seq())
    }

    fn durable_events(&self) -> bool {
        false
    }

    fn positions(&self) -> Result<BTreeMap<Symbol, Quantity>, VenueFailure> {
        let a = self.io.block_on(self.shared.account())?;
        let mut out = BTreeMap::new();
        for (s, r) in &self.shared.rules {
            let q = a.total(&r.base);
            if !q.is_zero() {
                out.insert(s.clone(), q.normalize());
            }
        }
        Ok(out)
    }

    fn cash(&self) -> Result<Money, VenueFailure> {
        let a = self.io.block_on(self.shared.account())?;
        Ok(a.total(&self.shared.config.quote_asset).normalize())
    }

    fn prepare(&self, req: &VenueOrderRequest) -> Result<VenueOrderRequest, String> {
        let r = self
            .shared
            .rules
            .get(&req.symbol)
            .ok_or_else(|| format!("symbol {} is not configured for binance", req.symbol))?;
        r.prepare(req, self.shared.price(&req.symbol))
    }

    fn take_notices(&self) -> Vec<String> {
        self.shared.rest.take_notices()
    }

    fn accepting_entries(&self) -> bool {
        self.shared.rest.accepting_entries()
    }
}
