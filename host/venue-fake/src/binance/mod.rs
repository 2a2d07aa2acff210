//! A fake Binance Spot: one loopback port for REST and the kline streams, speaking the
//! documented subset (`/api/v3/time`, `exchangeInfo`, `account`, `order` POST/GET/DELETE,
//! `openOrders`, `myTrades`, `klines`, `ticker/price`, `/stream?streams=` and `/ws/<stream>`), with
//! Binance's paths, fields, status codes and `{code,msg}` error bodies.
//!
//! It verifies the API key (-2015), the HMAC signature (-1022) and the timestamp against
//! its clock with recvWindow (-1021), counts request weight (`X-MBX-USED-WEIGHT-1M`, 429
//! with -1003 past the limit) and checks the filters it serves (-1013). Orders match on
//! the paper venue's model ([`flotilla_venue_paper::PaperVenue`]) over the seeded
//! [`FakeMarket`]: a MARKET order (and a marketable LIMIT) fills at once at the last
//! closed bar's close (slipped by the paper costs), so a FULL answer carries fills;
//! resting limits fill on later one-minute bars. With the partial-fill fault set, market
//! orders instead wait for the next bars, each filling at most that fraction of a bar's
//! volume. Balances are the paper account: the quote asset is its cash, base assets its
//! positions (all `free`, `locked` 0).
//!
//! Like Binance, a client id is refused as a duplicate (-2010) only while its order is
//! open; a POST of the id of a closed order is counted in
//! [`FakeServer::orders_received`] (where Binance would execute it again) and answered
//! with the existing order.

mod rest;
mod wire;
mod ws;

use crate::sim::{FakeClock, FakeMarket, Faults, Journal, JournalEntry, RateWindow};
use flotilla_domain::{Symbol, Timestamp};
use flotilla_venue_paper::{PaperVenue, VenueConfig};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One symbol the fake lists, with its filters.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeSymbol {
    /// Binance's symbol (`BTCUSDT`).
    pub symbol: String,
    /// Base asset.
    pub base: String,
    /// Quote asset.
    pub quote: String,
    /// The market's first price.
    pub price: f64,
    /// PRICE_FILTER tickSize.
    pub tick_size: Decimal,
    /// LOT_SIZE minQty.
    pub min_qty: Decimal,
    /// LOT_SIZE maxQty.
    pub max_qty: Decimal,
    /// LOT_SIZE stepSize.
    pub step_size: Decimal,
    /// NOTIONAL minNotional.
    pub min_notional: Decimal,
}

impl FakeSymbol {
    /// A symbol with Binance's BTCUSDT-like filters (tick 0.01, step 0.00001, minQty
    /// 0.0001, minNotional 5).
    pub fn new(base: &str, quote: &str, price: f64) -> Self {
        Self {
            symbol: format!("{base}{quote}"),
            base: base.into(),
            quote: quote.into(),
            price,
            tick_size: Decimal::new(1, 2),
            min_qty: Decimal::new(1, 4),
            max_qty: Decimal::new(9000, 0),
            step_size: Decimal::new(1, 5),
            min_notional: Decimal::new(5, 0),
        }
    }
}

/// How the fake runs.
#[derive(Debug, Clone)]
pub struct FakeBinanceConfig {
    /// The API key it accepts.
    pub api_key: String,
    /// The secret it verifies signatures with.
    pub api_secret: String,
    /// The symbols it lists.
    pub symbols: Vec<FakeSymbol>,
    /// The clock's start (default: the wall clock now).
    pub start: Timestamp,
    /// Fake ms per real ms (default 1).
    pub speed: f64,
    /// Seed of the market.
    pub seed: u64,
    /// Days of history before `start` (default 2).
    pub history_days: i64,
    /// The quote asset's starting balance (default 100000).
    pub starting_cash: Decimal,
    /// Request weight per minute (real time) before 429 (default 6000).
    pub weight_limit: u32,
    /// Non-final kline updates per bar on the stream (default 3).
    pub kline_updates: u32,
    /// How often the server pings a stream, real time (default 20 s).
    pub ping_every: Duration,
}

impl Default for FakeBinanceConfig {
    fn default() -> Self {
        Self {
            api_key: "fake-binance-key".into(),
            api_secret: "fake-binance-secret".into(),
            symbols: vec![
                FakeSymbol::new("BTC", "USDT", 60_000.0),
                FakeSymbol::new("ETH", "USDT", 3_000.0),
            ],
            start: Timestamp(chrono::Utc::now().timestamp_millis()),
            speed: 1.0,
            seed: 7,
            history_days: 2,
            starting_cash: Decimal::new(100_000, 0),
            weight_limit: 6000,
            kline_updates: 3,
            ping_every: Duration::from_secs(20),
        }
    }
}

/// What the fake remembers of an order beyond the paper venue's record.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub order_id: u64,
    pub symbol: String,
    pub created: Instant,
    pub created_ms: i64,
}

/// The fake's state, shared by its handlers.
pub(crate) struct State {
    pub config: FakeBinanceConfig,
    pub clock: FakeClock,
    pub market: FakeMarket,
    pub faults: Faults,
    pub journal: Journal,
    pub weights: RateWindow,
    pub paper: PaperVenue,
    pub orders: Mutex<HashMap<String, Meta>>,
    pub received: Mutex<HashMap<String, u32>>,
    pub next_id: AtomicU64,
    pub matched: Mutex<HashMap<String, i64>>,
    pub started: Instant,
    /// `GET /api/v3/myTrades` answers 429 (-1003, Retry-After) this many more times.
    pub my_trades_429: std::sync::atomic::AtomicU32,
}

impl State {
    pub fn symbol(&self, wire: &str) -> Option<&FakeSymbol> {
        self.config.symbols.iter().find(|s| s.symbol == wire)
    }

    /// Feeds the paper venue every one-minute bar closed since the last call.
    pub fn advance(&self) {
        let now = self.clock.true_now().0;
        let upto = now.div_euclid(60_000) * 60_000;
        let mut m = self.matched.lock().unwrap_or_else(|p| p.into_inner());
        let ppm = self.faults.partial_fill_ppm.load(Ordering::Relaxed);
        for s in &self.config.symbols {
            let from = *m.get(&s.symbol).unwrap_or(&upto);
            if from >= upto {
                m.insert(s.symbol.clone(), from.max(upto));
                continue;
            }
            let sym = Symbol::new(&s.symbol);
            for mut b in self.market.bars(&sym, Timestamp(from), Timestamp(upto)) {
                if ppm > 0 {
                    b.volume *= f64::from(ppm) / 1e6;
                }
                let _ = self.paper.on_bar(&sym, &b);
            }
            m.insert(s.symbol.clone(), upto);
        }
    }
}

/// A running fake: its address, its state for assertions and faults. Dropping it stops
/// the server.
pub struct FakeServer {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// The fake Binance.
#[derive(Debug)]
pub struct FakeBinance;

fn state(config: FakeBinanceConfig) -> std::io::Result<Arc<State>> {
    let symbols: Vec<(Symbol, f64)> = config
        .symbols
        .iter()
        .map(|s| (Symbol::new(&s.symbol), s.price))
        .collect();
    let history = Timestamp(config.start.0 - config.history_days.max(0) * 86_400_000);
    let paper = PaperVenue::open_in_memory(VenueConfig {
        starting_cash: config.starting_cash,
        // Fill at most a bar's volume; the partial-fill fault scales the volume down.
        partial_fill_fraction: Some(1.0),
        ..VenueConfig::default()
    })
    .map_err(std::io::Error::other)?;
    Ok(Arc::new(State {
        clock: FakeClock::new(config.start, config.speed),
        market: FakeMarket::new(config.seed, history, &symbols),
        faults: Faults::default(),
        journal: Journal::default(),
        weights: RateWindow::new(config.weight_limit, Duration::from_secs(60)),
        paper,
        orders: Mutex::new(HashMap::new()),
        received: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(1),
        matched: Mutex::new(HashMap::new()),
        started: Instant::now(),
        my_trades_429: std::sync::atomic::AtomicU32::new(0),
        config,
    }))
}

async fn run(
    st: Arc<State>,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let ticker = st.clone();
    let matcher = tokio::spawn(async move {
        loop {
            ticker.advance();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    // Not a graceful shutdown: open streams would hold it up; the runtime's shutdown
    // drops them.
    let r = tokio::select! {
        r = axum::serve(listener, rest::router(st)) => r,
        _ = stop => Ok(()),
    };
    matcher.abort();
    r
}

impl FakeBinance {
    /// Starts the fake on `listen` (port 0 picks one) on a thread and runtime of its own,
    /// so blocking tests and the CLI both can use it.
    pub fn spawn(config: FakeBinanceConfig, listen: SocketAddr) -> std::io::Result<FakeServer> {
        let st = state(config)?;
        let std_listener = std::net::TcpListener::bind(listen)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fake-binance")
            .enable_all()
            .build()?;
        let s2 = st.clone();
        let thread = std::thread::Builder::new()
            .name("fake-binance".into())
            .spawn(move || {
                rt.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(std_listener) else {
                        return;
                    };
                    let _ = run(s2, listener, async move {
                        let _ = rx.await;
                    })
                    .await;
                });
                rt.shutdown_timeout(Duration::from_millis(100));
            })?;
        Ok(FakeServer {
            addr,
            state: st,
            stop: Some(tx),
            thread: Some(thread),
        })
    }

    /// Serves on `listener` until the future is dropped (the CLI's `flotilla venue
    /// fake-binance`).
    pub async fn serve(
        config: FakeBinanceConfig,
        listener: tokio::net::TcpListener,
    ) -> std::io::Result<()> {
        run(state(config)?, listener, std::future::pending()).await
    }
}

impl FakeServer {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The faults, settable while it runs.
    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }

    /// The fake's clock (its skew is the clock-skew fault).
    pub fn clock(&self) -> &FakeClock {
        &self.state.clock
    }

    /// The market its orders match on.
    pub fn market(&self) -> &FakeMarket {
        &self.state.market
    }

    /// Closes every stream now and refuses new ones for `down` (real time).
    pub fn drop_streams_for(&self, down: Duration) {
        self.state
            .faults
            .drop_streams_for(self.state.started.elapsed(), down);
    }

    /// Every request so far.
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.state.journal.entries()
    }

    /// How many POSTs of this client id reached the order book (placed or refused as a
    /// duplicate).
    pub fn orders_received(&self, client_id: &str) -> u32 {
        self.state
            .received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(client_id)
            .copied()
            .unwrap_or(0)
    }

    /// Distinct orders placed.
    pub fn orders_placed(&self) -> usize {
        self.state
            .orders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Balances per asset (free + locked), zeros left out.
    pub fn balances(&self) -> BTreeMap<String, Decimal> {
        wire::balances(&self.state)
            .into_iter()
            .filter(|(_, v)| !v.is_zero())
            .collect()
    }

    /// Makes the next `n` requests of `GET /api/v3/myTrades` (only those) answer 429
    /// with -1003 and the faults' Retry-After.
    pub fn fail_my_trades(&self, n: u32) {
        self.state.my_trades_429.store(n, Ordering::SeqCst);
    }

    /// The paper venue behind it (orders, fills, positions).
    pub fn paper(&self) -> &PaperVenue {
        &self.state.paper
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
