//! Live bars from a venue, every closed bar once and in order, gaps backfilled.
//!
//! On every (re)connect, and whenever the stream skips a bar, the missing bars are read
//! over REST first, so a reader sees each symbol's closed bars exactly once, oldest first,
//! whether they came from the stream or the backfill. A symbol silent past its expected
//! interval is reported stale until its next bar.

use flotilla_broker::venue::VenueFailure;
use flotilla_domain::{Bar, Symbol, Timeframe, Timestamp};
use futures_util::{Stream, StreamExt};
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A live stream of closed bars.
pub type BarStream = Pin<Box<dyn Stream<Item = Result<(Symbol, Bar), VenueFailure>> + Send>>;

/// A boxed future of a [`BarSource`].
pub type SourceFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, VenueFailure>> + Send + 'a>>;

/// What a venue's market data gives the feed.
pub trait BarSource: Send + Sync + 'static {
    /// Closed bars of `symbol` whose open time is in `[from, to)`, oldest first, every
    /// page followed.
    fn backfill<'a>(
        &'a self,
        symbol: &'a Symbol,
        timeframe: Timeframe,
        from: Timestamp,
        to: Timestamp,
    ) -> SourceFuture<'a, Vec<Bar>>;

    /// Connects the live stream of closed bars of `symbols` (authenticated and
    /// subscribed when it returns).
    fn connect<'a>(
        &'a self,
        symbols: &'a [Symbol],
        timeframe: Timeframe,
    ) -> SourceFuture<'a, BarStream>;

    /// The venue's time now (its server clock, which the host follows).
    fn now(&self) -> Timestamp;
}

/// What the feed reports.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedEvent {
    /// A closed bar, in order per symbol.
    Bar(Symbol, Bar),
    /// The symbol's feed went silent past its expected interval.
    Stale(Symbol),
    /// A stale symbol's bars arrive again.
    Fresh(Symbol),
    /// Something an operator should see (a dropped stream, a backfill), one line.
    Notice(String),
}

/// How the feed runs.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedConfig {
    /// The symbols.
    pub symbols: Vec<Symbol>,
    /// Their timeframe.
    pub timeframe: Timeframe,
    /// Bars to backfill at the first connect (the bots' warm-up).
    pub warm_up_bars: u32,
    /// A symbol is stale when no bar arrived for this many intervals past its close
    /// (default 2).
    pub stale_after_bars: f64,
    /// The wait before reconnecting, doubled up to 30 s.
    pub reconnect_backoff: Duration,
}

#[derive(Debug, Default)]
struct Shared {
    queue: VecDeque<FeedEvent>,
    last: BTreeMap<Symbol, Timestamp>,
    stale: BTreeMap<Symbol, bool>,
    connects: u64,
    /// When each symbol's newest bar arrived here (the latency figures).
    arrived: BTreeMap<Symbol, (Timestamp, std::time::Instant)>,
}

/// A running feed. Events pile up until [`LiveFeed::drain`] takes them.
#[derive(Debug, Clone)]
pub struct LiveFeed {
    shared: Arc<Mutex<Shared>>,
}

impl LiveFeed {
    /// Starts the feed on `handle`: connect, backfill, stream, reconnect, for ever (the
    /// task ends when the last handle of the feed is dropped).
    pub fn start<S: BarSource>(
        source: Arc<S>,
        config: FeedConfig,
        handle: &tokio::runtime::Handle,
    ) -> Self {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let feed = Self {
            shared: shared.clone(),
        };
        let weak = Arc::downgrade(&shared);
        handle.spawn(run(source.clone(), config.clone(), weak.clone()));
        handle.spawn(watch_staleness(source, config, weak));
        feed
    }

    /// Takes every event so far, oldest first.
    pub fn drain(&self) -> Vec<FeedEvent> {
        lock(&self.shared).queue.drain(..).collect()
    }

    /// Connections made so far (the first included).
    pub fn connects(&self) -> u64 {
        lock(&self.shared).connects
    }

    /// The open time of `symbol`'s newest bar and when it arrived from the venue.
    pub fn arrival(&self, symbol: &Symbol) -> Option<(Timestamp, std::time::Instant)> {
        lock(&self.shared).arrived.get(symbol).copied()
    }

    /// The open time of the newest bar delivered per symbol.
    pub fn last_bars(&self) -> BTreeMap<Symbol, Timestamp> {
        lock(&self.shared).last.clone()
    }
}

fn lock(s: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// Delivers `bar` if it is the symbol's next; returns false for a repeat.
fn deliver(shared: &Mutex<Shared>, symbol: &Symbol, bar: Bar) -> bool {
    let mut s = lock(shared);
    if s.last.get(symbol).is_some_and(|t| *t >= bar.time) {
        return false;
    }
    s.last.insert(symbol.clone(), bar.time);
    s.arrived
        .insert(symbol.clone(), (bar.time, std::time::Instant::now()));
    s.queue.push_back(FeedEvent::Bar(symbol.clone(), bar));
    true
}

fn notice(shared: &Mutex<Shared>, msg: String) {
    tracing::info!(target: "feed", "{msg}");
    lock(shared).queue.push_back(FeedEvent::Notice(msg));
}

/// Backfills `symbol` from after its last bar (or the warm-up) to the venue's now.
async fn backfill<S: BarSource>(
    source: &S,
    config: &FeedConfig,
    shared: &Mutex<Shared>,
    symbol: &Symbol,
    upto: Option<Timestamp>,
) -> Result<usize, VenueFailure> {
    let tf = config.timeframe.millis();
    let now = source.now();
    let last = lock(shared).last.get(symbol).copied();
    let from = match last {
        Some(t) => Timestamp(t.0 + tf),
        None => Timestamp((now.0 / tf - i64::from(config.warm_up_bars)) * tf),
    };
    // Only bars closed by now: the one still forming comes from the stream.
    let to = upto.unwrap_or(Timestamp((now.0 / tf) * tf));
    if to <= from {
        return Ok(0);
    }
    let bars = source.backfill(symbol, config.timeframe, from, to).await?;
    let mut n = 0;
    for b in bars {
        if b.time >= from && b.time < to && deliver(shared, symbol, b) {
            n += 1;
        }
    }
    Ok(n)
}

async fn run<S: BarSource>(
    source: Arc<S>,
    config: FeedConfig,
    shared: std::sync::Weak<Mutex<Shared>>,
) {
    let mut backoff = config.reconnect_backoff;
    loop {
        let Some(s) = shared.upgrade() else { return };
        let result: Result<(), VenueFailure> = async {
            let mut stream = source.connect(&config.symbols, config.timeframe).await?;
            lock(&s).connects += 1;
            let mut filled = 0;
            for symbol in &config.symbols {
                filled += backfill(&*source, &config, &s, symbol, None).await?;
            }
            if filled > 0 {
                notice(&s, format!("feed connected: {filled} bars backfilled"));
            }
            backoff = config.reconnect_backoff;
            while let Some(item) = stream.next().await {
                let (symbol, bar) = item?;
                let expected = lock(&s)
                    .last
                    .get(&symbol)
                    .map(|t| t.0 + config.timeframe.millis());
                if expected.is_some_and(|e| bar.time.0 > e) {
                    // The stream skipped bars: fetch them before this one.
                    let n = backfill(&*source, &config, &s, &symbol, Some(bar.time)).await?;
                    notice(&s, format!("feed gap on {symbol}: {n} bars backfilled"));
                }
                deliver(&s, &symbol, bar);
                if shared.strong_count() == 0 {
                    return Ok(());
                }
            }
            Err(VenueFailure::Other("the bar stream ended".into()))
        }
        .await;
        if let Err(e) = result {
            notice(
                &s,
                format!("feed dropped ({e}); reconnecting in {backoff:?}"),
            );
        }
        drop(s);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

/// Marks symbols stale (and fresh again) by the venue's clock.
async fn watch_staleness<S: BarSource>(
    source: Arc<S>,
    config: FeedConfig,
    shared: std::sync::Weak<Mutex<Shared>>,
) {
    let tf = config.timeframe.millis();
    let limit = (config.stale_after_bars.max(1.0) * tf as f64) as i64;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let Some(s) = shared.upgrade() else { return };
        let now = source.now().0;
        let mut g = lock(&s);
        for symbol in &config.symbols {
            // A bar opened at t closes at t + tf; silence is measured from that close.
            let last_close = g.last.get(symbol).map(|t| t.0 + tf);
            let silent = last_close.is_some_and(|c| now - c > limit);
            let was = g.stale.get(symbol).copied().unwrap_or(false);
            if silent != was {
                g.stale.insert(symbol.clone(), silent);
                let ev = if silent {
                    FeedEvent::Stale(symbol.clone())
                } else {
                    FeedEvent::Fresh(symbol.clone())
                };
                g.queue.push_back(ev);
            }
        }
    }
}
