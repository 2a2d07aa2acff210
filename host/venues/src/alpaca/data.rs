//! Alpaca market data as a [`BarSource`]: bars over REST (every page followed), closed
//! bars from the data stream, and the venue's clock.
//!
//! Stocks use `GET /v2/stocks/bars` and the `v2/{feed}` stream, crypto pairs
//! (`BTC-USD`, sent as `BTC/USD`) `GET /v1beta3/crypto/us/bars` and the
//! `v1beta3/crypto/us` stream; a feed of both opens both streams and merges them. The
//! stream sends one-minute bars after each minute closes; longer timeframes are built
//! from them, and a bucket the connection joined midway is left to the feed's backfill.

use super::config::AlpacaConfig;
use super::mapping::{self, WireBarsPage, WireClock, is_crypto, rfc3339, to_alpaca_symbol};
use super::rest::{Api, Rest, RestError};
use super::stream::{Ws, next_payload, open, send_json};
use crate::common::{BarSource, BarStream, ConnectError, Secret, SourceFuture};
use flotilla_broker::venue::VenueFailure;
use flotilla_domain::{Bar, Symbol, Timeframe, Timestamp};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Pages followed at most per backfill (a venue that loops its tokens must not hang us).
const MAX_PAGES: usize = 10_000;
/// The time between the two clock samples that measure the venue clock's rate.
const RATE_BASELINE: Duration = Duration::from_millis(200);

/// Alpaca's market data for the [`crate::LiveFeed`].
#[derive(Debug, Clone)]
pub struct AlpacaBars {
    config: AlpacaConfig,
    rest: Arc<Rest>,
    clock: Arc<VenueClock>,
}

impl AlpacaBars {
    /// Market data with its own REST client and budget (a feed without a trading
    /// connection); [`super::Alpaca::bars`] shares the account's.
    pub fn new(config: AlpacaConfig, key: Secret, secret: Secret) -> Result<Self, ConnectError> {
        config.validate().map_err(ConnectError::Config)?;
        let rest = Rest::new(&config, key, secret).map_err(ConnectError::Config)?;
        Ok(Self::with_rest(config, Arc::new(rest)))
    }

    pub(crate) fn with_rest(config: AlpacaConfig, rest: Arc<Rest>) -> Self {
        Self {
            config,
            rest,
            clock: Arc::new(VenueClock::default()),
        }
    }

    /// Reads `GET /v2/clock` and updates the offset (and rate) of the venue's clock.
    pub async fn sync_clock(&self) -> Result<mapping::MarketClock, VenueFailure> {
        self.clock.sync(&self.rest).await
    }

    /// Closed bars of `symbol` opened in `[from, to)`, every page followed.
    pub async fn fetch(
        &self,
        symbol: &Symbol,
        timeframe: Timeframe,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Bar>, VenueFailure> {
        self.fetch_pages(symbol, timeframe, from, to)
            .await
            .map_err(RestError::into_failure)
    }

    async fn fetch_pages(
        &self,
        symbol: &Symbol,
        timeframe: Timeframe,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Bar>, RestError> {
        let crypto = is_crypto(symbol);
        let path = if crypto {
            "/v1beta3/crypto/us/bars"
        } else {
            "/v2/stocks/bars"
        };
        let wire_symbol = to_alpaca_symbol(symbol);
        let mut bars = Vec::new();
        let mut token: Option<String> = None;
        let mut seen_tokens = HashSet::new();
        for _ in 0..MAX_PAGES {
            let mut q = vec![
                ("symbols", wire_symbol.clone()),
                ("timeframe", mapping::timeframe(timeframe).to_string()),
                ("start", rfc3339(from)),
                // `end` is inclusive at Alpaca: stop just before `to`.
                ("end", rfc3339(Timestamp(to.0 - 1))),
                ("limit", self.config.bars_page_limit.to_string()),
                ("sort", "asc".to_string()),
            ];
            if !crypto {
                q.push(("feed", self.config.feed.clone()));
                q.push(("adjustment", "raw".to_string()));
            }
            if let Some(t) = &token {
                q.push(("page_token", t.clone()));
            }
            let page: WireBarsPage = self.rest.get(Api::Data, path, &q).await?;
            for b in page.bars.get(&wire_symbol).into_iter().flatten() {
                let bar = mapping::bar(b).map_err(RestError::Decode)?;
                if bar.time >= from && bar.time < to {
                    bars.push(bar);
                }
            }
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) if seen_tokens.insert(t.clone()) => token = Some(t),
                Some(t) => return Err(RestError::Decode(format!("page token {t:?} repeated"))),
                None => {
                    bars.sort_by_key(|b| b.time);
                    bars.dedup_by_key(|b| b.time);
                    return Ok(bars);
                }
            }
        }
        Err(RestError::Decode(format!("more than {MAX_PAGES} pages")))
    }

    /// Starts the clock refresher once (on the runtime the feed runs on).
    async fn ensure_clock(&self) -> Result<(), VenueFailure> {
        if self
            .clock
            .started
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return Ok(());
        }
        // Two samples apart measure the rate (a fake venue's clock may run fast).
        let first = self.clock.sync(&self.rest).await;
        if first.is_err() {
            self.clock
                .started
                .store(false, std::sync::atomic::Ordering::SeqCst);
            return first.map(|_| ());
        }
        tokio::time::sleep(RATE_BASELINE).await;
        let _ = self.clock.sync(&self.rest).await;
        let (weak, rest, every) = (
            Arc::downgrade(&self.clock),
            Arc::downgrade(&self.rest),
            self.config.clock_refresh,
        );
        tokio::spawn(refresh(weak, rest, every));
        Ok(())
    }

    /// Opens one data stream and subscribes `symbols` (Alpaca's spelling) to bars.
    async fn subscribe(&self, url: &str, symbols: Vec<String>) -> Result<Ws, String> {
        let timeout = self.config.request_timeout;
        let mut ws = open(url, timeout).await?;
        expect(&mut ws, timeout, "success", Some("connected")).await?;
        let (key, secret) = self.rest.keys();
        // Within 10 s of connecting, or the venue closes the connection.
        let auth = json!({"action": "auth", "key": key.expose(), "secret": secret.expose()});
        send_json(&mut ws, &auth).await?;
        expect(&mut ws, timeout, "success", Some("authenticated")).await?;
        send_json(&mut ws, &json!({"action": "subscribe", "bars": symbols})).await?;
        expect(&mut ws, timeout, "subscription", None).await?;
        Ok(ws)
    }
}

/// Reads until a message of type `t` (with `msg`, if given); an `error` message fails.
async fn expect(ws: &mut Ws, timeout: Duration, t: &str, msg: Option<&str>) -> Result<(), String> {
    loop {
        let Some(bytes) = next_payload(ws, Some(timeout)).await? else {
            return Err(format!("closed while waiting for {t}"));
        };
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        for m in v.as_array().into_iter().flatten() {
            let kind = m.get("T").and_then(Value::as_str);
            if kind == Some("error") {
                return Err(format!(
                    "data stream error {}: {}",
                    m.get("code").cloned().unwrap_or(Value::Null),
                    m.get("msg").and_then(Value::as_str).unwrap_or("")
                ));
            }
            if kind == Some(t)
                && msg.is_none_or(|w| m.get("msg").and_then(Value::as_str) == Some(w))
            {
                return Ok(());
            }
        }
    }
}

/// Refreshes the clock every `every` while the bars live.
async fn refresh(clock: Weak<VenueClock>, rest: Weak<Rest>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let (Some(c), Some(r)) = (clock.upgrade(), rest.upgrade()) else {
            return;
        };
        if let Err(e) = c.sync(&r).await {
            tracing::warn!(target: "alpaca", error = %e, "clock refresh failed");
        }
    }
}

impl BarSource for AlpacaBars {
    fn backfill<'a>(
        &'a self,
        symbol: &'a Symbol,
        timeframe: Timeframe,
        from: Timestamp,
        to: Timestamp,
    ) -> SourceFuture<'a, Vec<Bar>> {
        Box::pin(async move {
            self.ensure_clock().await?;
            self.fetch(symbol, timeframe, from, to).await
        })
    }

    fn connect<'a>(
        &'a self,
        symbols: &'a [Symbol],
        timeframe: Timeframe,
    ) -> SourceFuture<'a, BarStream> {
        Box::pin(async move {
            self.ensure_clock().await?;
            let (crypto, stocks): (Vec<&Symbol>, Vec<&Symbol>) =
                symbols.iter().partition(|s| is_crypto(s));
            let mut streams: Vec<BarStream> = Vec::new();
            for (url, group) in [
                (&self.config.stock_stream_url, stocks),
                (&self.config.crypto_stream_url, crypto),
            ] {
                if group.is_empty() {
                    continue;
                }
                let wire: Vec<String> = group.iter().map(|s| to_alpaca_symbol(s)).collect();
                let ws = self
                    .subscribe(url, wire)
                    .await
                    .map_err(|e| VenueFailure::Other(self.rest.redact(&e)))?;
                // Either connection ending ends the merged stream, so the feed
                // reconnects both (a merged stream would otherwise run on half-deaf).
                let end = futures_util::stream::once(async {
                    Err(VenueFailure::Other("the data stream closed".into()))
                });
                streams.push(
                    bar_stream(ws, timeframe, self.rest.clone())
                        .chain(end)
                        .boxed(),
                );
            }
            Ok(match streams.len() {
                0 => futures_util::stream::pending().boxed(),
                1 => streams.pop().expect("one stream"),
                _ => futures_util::stream::select_all(streams).boxed(),
            })
        })
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

/// The closed bars a subscribed connection carries, built up to `timeframe`.
fn bar_stream(ws: Ws, timeframe: Timeframe, rest: Arc<Rest>) -> BarStream {
    let state = (ws, VecDeque::new(), Aggregator::new(timeframe), false);
    futures_util::stream::unfold(state, move |(mut ws, mut queue, mut agg, done)| {
        let rest = rest.clone();
        async move {
            if done {
                return None;
            }
            loop {
                if let Some(item) = queue.pop_front() {
                    return Some((Ok(item), (ws, queue, agg, false)));
                }
                let bytes = match next_payload(&mut ws, None).await {
                    Ok(Some(b)) => b,
                    Ok(None) => return None,
                    Err(e) => {
                        let e = VenueFailure::Other(format!("data stream: {}", rest.redact(&e)));
                        return Some((Err(e), (ws, queue, agg, true)));
                    }
                };
                match frame_bars(&bytes) {
                    Ok(bars) => {
                        for (s, b) in bars {
                            queue.extend(agg.push(s, b));
                        }
                    }
                    Err(e) => {
                        let e = VenueFailure::Other(rest.redact(&e));
                        return Some((Err(e), (ws, queue, agg, true)));
                    }
                }
            }
        }
    })
    .boxed()
}

/// The bars of one frame (an array that may batch several messages); an `error`
/// message fails; other messages are skipped.
pub fn frame_bars(bytes: &[u8]) -> Result<Vec<(Symbol, Bar)>, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("data frame: {e}"))?;
    let mut out = Vec::new();
    for m in v.as_array().into_iter().flatten() {
        match m.get("T").and_then(Value::as_str) {
            Some("b") => {
                let s = m.get("S").and_then(Value::as_str).unwrap_or_default();
                let wire: mapping::WireBar =
                    serde_json::from_value(m.clone()).map_err(|e| format!("bar: {e}"))?;
                out.push((mapping::from_alpaca_symbol(s, ""), mapping::bar(&wire)?));
            }
            Some("error") => {
                return Err(format!(
                    "data stream error {}: {}",
                    m.get("code").cloned().unwrap_or(Value::Null),
                    m.get("msg").and_then(Value::as_str).unwrap_or("")
                ));
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Builds bars of a timeframe from one-minute bars. A bucket counts only if the stream
/// saw it from its start (or it is not the connection's first): a bucket joined midway
/// would be short, so it is dropped and the feed backfills it.
#[derive(Debug)]
struct Aggregator {
    tf: i64,
    open: HashMap<Symbol, (Bar, bool)>,
    rolled: HashSet<Symbol>,
}

impl Aggregator {
    fn new(tf: Timeframe) -> Self {
        Self {
            tf: tf.millis(),
            open: HashMap::new(),
            rolled: HashSet::new(),
        }
    }

    fn push(&mut self, symbol: Symbol, m: Bar) -> Vec<(Symbol, Bar)> {
        const MINUTE: i64 = 60_000;
        if self.tf <= MINUTE {
            return vec![(symbol, m)];
        }
        let bucket = Timestamp(m.time.0.div_euclid(self.tf) * self.tf);
        let mut out = Vec::new();
        match self.open.get_mut(&symbol) {
            Some((b, _)) if b.time == bucket => {
                b.high = b.high.max(m.high);
                b.low = b.low.min(m.low);
                b.close = m.close;
                b.volume += m.volume;
            }
            other => {
                if let Some((b, whole)) = other.map(|e| *e) {
                    self.rolled.insert(symbol.clone());
                    if whole {
                        out.push((symbol.clone(), b));
                    }
                }
                let whole = m.time == bucket || self.rolled.contains(&symbol);
                self.open
                    .insert(symbol.clone(), (Bar { time: bucket, ..m }, whole));
            }
        }
        if m.time.0 + MINUTE >= bucket.0 + self.tf
            && let Some((b, whole)) = self.open.remove(&symbol)
        {
            self.rolled.insert(symbol.clone());
            if whole {
                out.push((symbol, b));
            }
        }
        out
    }
}

/// The venue's clock as an offset (and rate) from the local one.
#[derive(Debug, Default)]
struct VenueClock {
    samples: Mutex<Option<Samples>>,
    started: std::sync::atomic::AtomicBool,
}

#[derive(Debug, Clone, Copy)]
struct Samples {
    /// The first sample: (local instant, venue ms, uncertainty ms).
    anchor: (Instant, i64, f64),
    /// The latest sample.
    latest: (Instant, i64, f64),
    /// Venue milliseconds per local millisecond.
    rate: f64,
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl VenueClock {
    /// The venue's time now: the latest sample carried forward at the measured rate; the
    /// local clock before any sample.
    fn now(&self) -> Timestamp {
        let s = *self.samples.lock().unwrap_or_else(|p| p.into_inner());
        match s {
            None => Timestamp(wall_ms()),
            Some(s) => {
                let (at, venue, _) = s.latest;
                Timestamp(venue + (at.elapsed().as_secs_f64() * 1000.0 * s.rate) as i64)
            }
        }
    }

    /// Takes a sample from `GET /v2/clock`.
    ///
    /// The venue's stamp was made somewhere within the round trip, so each sample is
    /// uncertain by half of it. The rate between the first and the latest sample is used
    /// only when it differs from 1 by more than that uncertainty allows (a fake venue
    /// running 60× fast); a real venue's clock runs at the local clock's rate and gets 1.
    async fn sync(&self, rest: &Rest) -> Result<mapping::MarketClock, VenueFailure> {
        let sent = Instant::now();
        let c: WireClock = rest
            .get(Api::Trading, "/v2/clock", &[])
            .await
            .map_err(RestError::into_failure)?;
        let rtt = sent.elapsed();
        let clock = mapping::clock(&c).map_err(VenueFailure::Other)?;
        let at = sent + rtt / 2;
        let err = rtt.as_secs_f64() * 500.0 + 1.0;
        let sample = (at, clock.timestamp.0, err);
        let mut g = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        *g = Some(match *g {
            None => Samples {
                anchor: sample,
                latest: sample,
                rate: 1.0,
            },
            Some(s) => {
                let local = at.duration_since(s.anchor.0).as_secs_f64() * 1000.0;
                let venue = (sample.1 - s.anchor.1) as f64;
                let rate = if local > 0.0 {
                    let measured = venue / local;
                    let doubt = (s.anchor.2 + err) / local + 0.01;
                    if (measured - 1.0).abs() > doubt {
                        measured.clamp(0.01, 10_000.0)
                    } else {
                        1.0
                    }
                } else {
                    s.rate
                };
                Samples {
                    anchor: s.anchor,
                    latest: sample,
                    rate,
                }
            }
        });
        Ok(clock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minute(t: i64, c: f64) -> Bar {
        Bar {
            time: Timestamp(t * 60_000),
            open: c,
            high: c + 1.0,
            low: c - 1.0,
            close: c,
            volume: 10.0,
        }
    }

    #[test]
    fn frames_batch_several_messages() {
        let f = br#"[{"T":"b","S":"AAPL","o":1.5,"h":2,"l":1,"c":1.75,"v":100,"t":"2024-01-02T15:31:00Z"},
            {"T":"subscription","bars":["AAPL"]},
            {"T":"b","S":"BTC/USD","o":40000,"h":40010,"l":39990,"c":40005.5,"v":0.5,"t":"2024-01-02T15:31:00Z"}]"#;
        let bars = frame_bars(f).unwrap();
        assert_eq!(bars.len(), 2);
        assert_eq!(bars[0].0.as_str(), "AAPL");
        assert_eq!(bars[1].0.as_str(), "BTC-USD");
        assert_eq!(bars[1].1.close, 40005.5);
        assert!(
            frame_bars(br#"[{"T":"error","code":406,"msg":"connection limit exceeded"}]"#).is_err()
        );
    }

    #[test]
    fn five_minute_bars_are_built_and_a_joined_bucket_is_dropped() {
        let mut a = Aggregator::new(Timeframe::M5);
        let sym = Symbol::new("AAPL");
        // Joined at minute 3 of the bucket [0, 5): dropped.
        let mut out = Vec::new();
        for t in 3..15 {
            out.extend(a.push(sym.clone(), minute(t, t as f64)));
        }
        let times: Vec<i64> = out.iter().map(|(_, b)| b.time.0 / 60_000).collect();
        assert_eq!(times, vec![5, 10]);
        let b = &out[0].1;
        assert_eq!(
            (b.open, b.close, b.high, b.low, b.volume),
            (5.0, 9.0, 10.0, 4.0, 50.0)
        );
        // One-minute bars pass through.
        let mut m = Aggregator::new(Timeframe::M1);
        assert_eq!(m.push(sym.clone(), minute(7, 1.0)).len(), 1);
    }
}
