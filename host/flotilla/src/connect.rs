//! Connecting a run to the registry's venue and market source: the two opt-ins for real
//! money, keys from the environment only, and what is printed at start (venue, account,
//! mode; never a key).

use crate::live::LiveMarket;
use anyhow::{Context, Result, bail};
use flotilla_config::{BrokerKind, FleetSpec, MarketSourceKind, VenueMode};
use flotilla_domain::Timestamp;
use flotilla_venue_paper::Venue;
use flotilla_venues::alpaca::{Alpaca, AlpacaBars, AlpacaConfig};
use flotilla_venues::binance::{Binance, BinanceConfig};
use flotilla_venues::common::{BarSource, Io};
use flotilla_venues::{FeedConfig, LiveFeed, Mode, Secret};
use std::sync::Arc;
use std::time::Duration;

/// The environment variable that is the command line's opt-in for real money.
pub const LIVE_ENV: &str = "FLOTILLA_LIVE";

/// What a run connects to.
pub struct Connection {
    /// The venue orders go to; `None` for the paper venue beside the ledger.
    pub venue: Option<Arc<dyn Venue>>,
    /// The live market and the venue's time now, when bars come from a venue.
    pub live: Option<(LiveMarket, Timestamp)>,
    /// What to print at start: the venue, the account and the mode.
    pub lines: Vec<String>,
    /// A runtime a data-only feed runs on (kept alive with the run).
    _io: Option<Io>,
}

/// Whether the command line opted in to real money: `--live`, or `FLOTILLA_LIVE=1`.
pub fn live_opt_in(flag: bool) -> bool {
    flag || std::env::var(LIVE_ENV).is_ok_and(|v| v.trim() == "1")
}

/// The mode to run in: live only with both opt-ins (the registry's `mode = "live"` and
/// the command line's); the registry's live without the command line's is an error, so
/// nobody trades real money by editing one file, or by one flag on a paper registry.
pub fn resolve_mode(spec: &FleetSpec, flag: bool) -> Result<Mode> {
    match (spec.broker.mode, live_opt_in(flag)) {
        (VenueMode::Live, true) => Ok(Mode::Live),
        (VenueMode::Live, false) => bail!(
            "the registry's [fleet.broker] mode is \"live\" (real money) but the command line did not opt in: add --live or set {LIVE_ENV}=1"
        ),
        (VenueMode::Paper, true) => {
            eprintln!(
                "flotilla: --live given, but the registry's [fleet.broker] mode is \"paper\": trading on paper"
            );
            Ok(Mode::Paper)
        }
        (VenueMode::Paper, false) => Ok(Mode::Paper),
    }
}

fn alpaca_config(spec: &FleetSpec, mode: Mode) -> AlpacaConfig {
    let mut c = match &spec.broker.url {
        Some(url) => {
            let mut c = AlpacaConfig::for_base(url);
            // A rehearsal's fake may run its clock fast: read its session often.
            c.session_refresh = Duration::from_secs(1);
            c
        }
        None => AlpacaConfig::new(mode),
    };
    c.request_timeout = spec.broker.request_timeout;
    if let Some(n) = spec.broker.rate_limit_per_minute {
        c.requests_per_minute = n;
    }
    // The service resolves doubt without holding its thread (other orders, exits among
    // them, go on): the connector asks for an ambiguous order briefly, once, and answers
    // "unknown"; the service asks again and resends only after the grace period.
    c.submit.grace = Duration::from_millis(500).min(spec.broker.grace());
    c.submit.give_up = Duration::from_secs(2);
    c.submit.max_sends = 1;
    c
}

fn binance_config(spec: &FleetSpec, mode: Mode, speed: f64) -> BinanceConfig {
    let symbols = spec.market.symbols.clone();
    let mut c = match &spec.broker.url {
        Some(url) => {
            let mut c = BinanceConfig::for_base(url, symbols);
            // A rehearsal's fake may run its clock faster than real time: timestamps
            // follow it, and the receive window must cover a request's round trip in
            // fake time.
            c.server_clock_speed = speed;
            if speed > 1.0 {
                c.recv_window_ms = 60_000;
            }
            c
        }
        None => BinanceConfig::for_mode(mode, symbols),
    };
    c.request_timeout = spec.broker.request_timeout;
    if let Some(n) = spec.broker.rate_limit_per_minute {
        c.weight_per_minute = n;
    }
    // The service resolves doubt without holding its thread (other orders, exits among
    // them, go on): the connector asks for an ambiguous order briefly, once, and answers
    // "unknown"; the service asks again and resends only after the grace period.
    c.submit.grace = Duration::from_millis(500).min(spec.broker.grace());
    c.submit.give_up = Duration::from_secs(2);
    c.submit.max_sends = 1;
    c.timeframe = spec.market.feed_timeframe;
    c
}

/// Connects to the registry's venue and market source. `speed` is how fast the venue's
/// clock runs (1 for a real venue; a rehearsal's fake may run faster).
pub fn connect(spec: &FleetSpec, live_flag: bool, speed: f64) -> Result<Connection> {
    let mode = resolve_mode(spec, live_flag)?;
    let mut lines = Vec::new();
    let mut alpaca: Option<Arc<Alpaca>> = None;
    let mut binance: Option<Arc<Binance>> = None;
    let venue: Option<Arc<dyn Venue>> = match spec.broker.kind {
        BrokerKind::Paper => None,
        BrokerKind::Alpaca => {
            let a = Arc::new(
                Alpaca::from_env(alpaca_config(spec, mode)).context("connecting to Alpaca")?,
            );
            alpaca = Some(a.clone());
            Some(a)
        }
        BrokerKind::Binance => {
            let b = Arc::new(
                Binance::from_env(binance_config(spec, mode, speed))
                    .context("connecting to Binance")?,
            );
            binance = Some(b.clone());
            Some(b)
        }
    };
    if let Some(v) = &venue {
        let i = v.info();
        lines.push(format!(
            "venue {} account {} mode {} at {}",
            i.venue, i.account, i.mode, i.endpoint
        ));
    }
    let feed_config = FeedConfig {
        symbols: spec.market.symbols.clone(),
        timeframe: spec.market.feed_timeframe,
        warm_up_bars: spec.market.warm_up_bars,
        stale_after_bars: spec.market.stale_after_bars,
        reconnect_backoff: Duration::from_millis(500),
    };
    let mut io = None;
    let live = match spec.market.source {
        MarketSourceKind::Sim => None,
        MarketSourceKind::Alpaca => {
            let (bars, handle) = match &alpaca {
                Some(a) => (Arc::new(a.bars()), a.handle().clone()),
                None => {
                    let key = Secret::from_env(flotilla_venues::alpaca::KEY_ENV)?;
                    let secret = Secret::from_env(flotilla_venues::alpaca::SECRET_ENV)?;
                    let bars = AlpacaBars::new(alpaca_config(spec, mode), key, secret)
                        .context("connecting to Alpaca's market data")?;
                    let rt = Io::new("alpaca-data")?;
                    let h = rt.handle().clone();
                    io = Some(rt);
                    (Arc::new(bars), h)
                }
            };
            let now = bars.now();
            let feed = LiveFeed::start(bars, feed_config, &handle);
            lines.push(format!(
                "market data: Alpaca live bars ({})",
                spec.market.feed_timeframe
            ));
            Some((feed, now))
        }
        MarketSourceKind::Binance => {
            let Some(b) = &binance else {
                bail!(
                    "[fleet.market] source = \"binance\" needs [fleet.broker] kind = \"binance\" (its klines come through the same account)"
                );
            };
            let bars = b.bars();
            let now = bars.now();
            let feed = LiveFeed::start(bars, feed_config, b.handle());
            lines.push(format!(
                "market data: Binance klines ({})",
                spec.market.feed_timeframe
            ));
            Some((feed, now))
        }
    };
    let live = live.map(|(feed, now)| {
        let m = LiveMarket::new(feed, spec.market.feed_timeframe, spec.market.bar_wait);
        (m, now)
    });
    Ok(Connection {
        venue,
        live,
        lines,
        _io: io,
    })
}

/// `flotilla check` of the registry's venue and market source: keys present, venue
/// reachable, account readable, symbols tradable (Binance's exchange info) or with market
/// data (Alpaca). Returns the lines that passed and the problems; never a key.
pub fn check(spec: &FleetSpec) -> (Vec<String>, Vec<String>) {
    let (mut ok, mut problems) = (Vec::new(), Vec::new());
    if spec.broker.kind == BrokerKind::Paper && spec.market.source == MarketSourceKind::Sim {
        return (ok, problems);
    }
    // Connecting reads the account and sends nothing, so it is safe in either mode.
    let mode = match spec.broker.mode {
        VenueMode::Live => Mode::Live,
        VenueMode::Paper => Mode::Paper,
    };
    let uses_alpaca =
        spec.broker.kind == BrokerKind::Alpaca || spec.market.source == MarketSourceKind::Alpaca;
    if uses_alpaca {
        match Alpaca::from_env(alpaca_config(spec, mode)) {
            Ok(a) => {
                let i = a.info();
                ok.push(format!(
                    "venue alpaca reachable: account {}, mode {}",
                    i.account, i.mode
                ));
                let bars = a.bars();
                let tf = spec.market.feed_timeframe;
                let now = bars.now();
                // A week back covers weekends and holidays for stocks.
                let from = Timestamp(now.0 - 7 * 86_400_000);
                for s in &spec.market.symbols {
                    match a.handle().block_on(bars.fetch(s, tf, from, now)) {
                        Ok(b) if !b.is_empty() => ok.push(format!("symbol {s}: market data ok")),
                        Ok(_) => problems.push(format!("symbol {s}: Alpaca has no bars for it")),
                        Err(e) => problems.push(format!("symbol {s}: {e}")),
                    }
                }
                // Dropped outside any runtime (the connector owns one).
                drop(bars);
                drop(a);
            }
            Err(e) => problems.push(format!("venue alpaca: {e}")),
        }
    }
    if spec.broker.kind == BrokerKind::Binance {
        // Connecting checks every symbol against the exchange info (trading status).
        match Binance::from_env(binance_config(spec, mode, 1.0)) {
            Ok(b) => {
                let i = b.info();
                ok.push(format!(
                    "venue binance reachable: account {}, mode {}; symbols {} tradable",
                    i.account,
                    i.mode,
                    spec.market.symbols.len()
                ));
            }
            Err(e) => problems.push(format!("venue binance: {e}")),
        }
    } else if spec.market.source == MarketSourceKind::Binance {
        problems.push(
            "[fleet.market] source = \"binance\" needs [fleet.broker] kind = \"binance\"".into(),
        );
    }
    (ok, problems)
}
