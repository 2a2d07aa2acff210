//! A fake Alpaca on one loopback port (REST and WebSocket), for tests and rehearsals.
//!
//! It speaks the subset of Trading API v2 and market data the connector uses, with the
//! same paths, fields, statuses and error bodies: orders, order queries, cancels,
//! positions, account, clock, bars with pagination, the `trade_updates` stream (binary
//! frames, as Alpaca's paper stream sends) and the bar streams. Orders match on the paper
//! venue's model over a seeded market whose clock may run faster than real time; market
//! orders fill at the next bar. Faults ([`crate::sim::Faults`]) can be set while it
//! runs, through [`FakeServer::faults`].
//!
//! Where it differs from Alpaca: the market never closes (its day ends at 00:00 UTC,
//! when day orders expire); a client order id is required and must be a host client id
//! (1–32 characters of `A-Z a-z 0-9 _ -`); a cancel takes effect at once (204, then the
//! `canceled` update); fills carry no fee unless `costs` says so (Alpaca's order API
//! reports none, so a fee here would make its cash differ from what a client can book).

mod engine;
mod rest;
mod state;
mod ws;

use crate::sim::{FakeClock, FakeMarket, Faults, JournalEntry};
use axum::Router;
use axum::routing::{get, post};
use flotilla_broker::matching::Costs;
use flotilla_domain::{ClientOrderId, Money, Quantity, Symbol, Timestamp};
use flotilla_venue_paper::PaperVenue;
use rust_decimal::Decimal;
use state::State;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// How the fake runs.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeAlpacaConfig {
    /// The key id it accepts (`APCA-API-KEY-ID`; default `FAKEKEYID`).
    pub key_id: String,
    /// The secret it accepts (`APCA-API-SECRET-KEY`; default `fake-alpaca-secret`).
    pub secret: String,
    /// The account number it reports (default `PA-FAKE-0001`).
    pub account_number: String,
    /// Cash at the start (default 100,000).
    pub starting_cash: Money,
    /// Host symbols with their first prices (`BTC-USD` is Alpaca's `BTC/USD`); default
    /// AAPL 190, MSFT 410, BTC-USD 60,000.
    pub symbols: Vec<(Symbol, f64)>,
    /// The fake clock's time at start (default: the wall clock, to the minute).
    pub clock_start: Timestamp,
    /// Fake milliseconds per real one (default 1).
    pub speed: f64,
    /// Minutes of history before the clock's start, for backfills (default 1 day).
    pub history_minutes: i64,
    /// Fixes every bar (default 42).
    pub seed: u64,
    /// Slippage and fees of fills (default 2 bps slippage, no fee: Alpaca charges no
    /// commission on stocks and its order API reports none).
    pub costs: Costs,
    /// Requests allowed per `rate_window` (default 200 per minute, Alpaca's).
    pub rate_limit: u32,
    /// The rate window (default 60 s, real time).
    pub rate_window: Duration,
}

impl Default for FakeAlpacaConfig {
    fn default() -> Self {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Self {
            key_id: "FAKEKEYID".into(),
            secret: "fake-alpaca-secret".into(),
            account_number: "PA-FAKE-0001".into(),
            starting_cash: Decimal::from(100_000),
            symbols: vec![
                (Symbol::new("AAPL"), 190.0),
                (Symbol::new("MSFT"), 410.0),
                (Symbol::new("BTC-USD"), 60_000.0),
            ],
            clock_start: Timestamp(wall.div_euclid(60_000) * 60_000),
            speed: 1.0,
            history_minutes: 24 * 60,
            seed: 42,
            costs: Costs {
                fee_bps: Decimal::ZERO,
                ..Costs::default()
            },
            rate_limit: 200,
            rate_window: Duration::from_secs(60),
        }
    }
}

/// A fake Alpaca, not yet serving.
#[derive(Debug, Clone)]
pub struct FakeAlpaca {
    state: Arc<State>,
}

impl FakeAlpaca {
    /// A fake with an empty book.
    pub fn new(config: FakeAlpacaConfig) -> std::io::Result<Self> {
        Ok(Self {
            state: Arc::new(State::new(config)?),
        })
    }

    /// Serves on `listener` until the future is dropped (inside a runtime; the CLI's).
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        let app = router(self.state.clone());
        tokio::select! {
            r = axum::serve(listener, app) => r,
            () = engine::run(self.state.clone()) => Ok(()),
        }
    }

    /// Binds `listen` (port 0 for any) and serves on a thread of its own with its own
    /// runtime, so blocking tests can use it; stops when the handle drops.
    pub fn spawn(config: FakeAlpacaConfig, listen: SocketAddr) -> std::io::Result<FakeServer> {
        let fake = Self::new(config)?;
        let std_listener = std::net::TcpListener::bind(listen)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fake-alpaca")
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = fake.state.clone();
        let thread = std::thread::Builder::new()
            .name("fake-alpaca".into())
            .spawn(move || {
                rt.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(std_listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!(error = %e, "fake alpaca: listener");
                            return;
                        }
                    };
                    tokio::select! {
                        r = fake.serve(listener) => {
                            if let Err(e) = r {
                                tracing::error!(error = %e, "fake alpaca stopped");
                            }
                        }
                        _ = stopped => {}
                    }
                });
                // Open connections end with the runtime.
                rt.shutdown_timeout(Duration::from_millis(100));
            })?;
        Ok(FakeServer {
            addr,
            state,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// Serves a fake with `config` on `listener` (the CLI's `flotilla venue fake-alpaca`).
pub async fn serve(
    config: FakeAlpacaConfig,
    listener: tokio::net::TcpListener,
) -> std::io::Result<()> {
    FakeAlpaca::new(config)?.serve(listener).await
}

fn router(st: Arc<State>) -> Router {
    Router::new()
        .route("/v2/account", get(rest::account))
        .route("/v2/positions", get(rest::positions))
        .route("/v2/clock", get(rest::clock))
        .route("/v2/orders", post(rest::submit).get(rest::list))
        .route("/v2/orders:by_client_order_id", get(rest::by_client))
        .route("/v2/orders/{id}", get(rest::by_id).delete(rest::cancel))
        .route("/v2/stocks/bars", get(rest::stock_bars))
        .route("/v1beta3/crypto/us/bars", get(rest::crypto_bars))
        .route("/stream", get(ws::trade_updates))
        .route("/v2/iex", get(ws::stock_data))
        .route("/v2/sip", get(ws::stock_data))
        .route("/v1beta3/crypto/us", get(ws::crypto_data))
        .fallback(|| async { rest::error(404, 40410000, "endpoint not found") })
        .layer(axum::middleware::from_fn_with_state(st.clone(), rest::gate))
        .with_state(st)
}

/// A running fake: its address, its faults, and what it holds, for the tests' checks.
#[derive(Debug)]
pub struct FakeServer {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl FakeServer {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: every URL of the connector points here.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The faults, settable while it runs.
    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }

    /// Closes every open WebSocket now and refuses new ones for `down` (real time).
    pub fn drop_streams(&self, down: Duration) {
        self.state
            .faults
            .drop_streams_for(self.state.started.elapsed(), down);
    }

    /// Every request so far, in order of arrival.
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.state.journal.entries()
    }

    /// POSTs of an order carrying `client_id` (refused duplicates included).
    pub fn received(&self, client_id: &str) -> u32 {
        self.state
            .orders()
            .received
            .get(client_id)
            .copied()
            .unwrap_or(0)
    }

    /// Orders placed with `client_id`: 0 or 1 (the test for "exactly one order").
    pub fn placed(&self, client_id: &str) -> usize {
        usize::from(self.state.orders().by_client.contains_key(client_id))
    }

    /// Orders placed in all.
    pub fn order_count(&self) -> usize {
        self.state.orders().by_client.len()
    }

    /// Net positions per host symbol.
    pub fn positions(&self) -> BTreeMap<Symbol, Quantity> {
        self.state.venue.positions().unwrap_or_default()
    }

    /// Cash now.
    pub fn cash(&self) -> Money {
        self.state.venue.cash().unwrap_or_default()
    }

    /// The paper venue that books the fake's account (its orders, fills, events).
    pub fn venue(&self) -> &PaperVenue {
        &self.state.venue
    }

    /// The order placed with `client_id`, with its fills.
    pub fn order(&self, client_id: &str) -> Option<flotilla_broker::venue::VenueOrder> {
        let c = ClientOrderId::parse(client_id).ok()?;
        self.state.venue.order(&c).ok().flatten()
    }

    /// The fake clock.
    pub fn clock(&self) -> &FakeClock {
        &self.state.clock
    }

    /// The fake's time now.
    pub fn now(&self) -> Timestamp {
        self.state.clock.now()
    }

    /// Its market.
    pub fn market(&self) -> &FakeMarket {
        &self.state.market
    }
}
