//! Market data: klines over REST for backfill, the `<symbol>@kline_<interval>` streams for
//! live bars, as a [`BarSource`] for [`crate::LiveFeed`].
//!
//! Only a kline whose `k.x` is true (the bar's final update) becomes a bar. Binance pings
//! every 20 s and cuts a connection at 24 h: tungstenite queues the pong as soon as it
//! reads the ping and the reader flushes it at once; a connection older than
//! `max_stream_age` (default 23 h) is replaced by a new one, opened before the old one is
//! dropped, so the cut never costs a bar (the feed dedupes the overlap by bar time).

use super::Shared;
use super::mapping::{kline_event, kline_row};
use super::rest::{Method, weight};
use crate::common::{BarSource, BarStream, SourceFuture};
use flotilla_broker::venue::VenueFailure;
use flotilla_domain::{Bar, Symbol, Timeframe, Timestamp};
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// Binance allows at most this many klines per request.
const KLINES_LIMIT: i64 = 1000;

/// Binance market data for the configured symbols.
#[derive(Debug)]
pub struct BinanceBars {
    pub(super) shared: Arc<Shared>,
    pub(super) ws_base: String,
    pub(super) max_age: Duration,
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl BinanceBars {
    fn wire(&self, s: &Symbol) -> Result<String, VenueFailure> {
        self.shared
            .rules
            .get(s)
            .map(|r| r.wire.clone())
            .ok_or_else(|| VenueFailure::Other(format!("symbol {s} is not configured")))
    }

    async fn klines(
        &self,
        symbol: &Symbol,
        tf: Timeframe,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Bar>, VenueFailure> {
        let wire = self.wire(symbol)?;
        let mut out: Vec<Bar> = Vec::new();
        let mut start = from.0;
        // Page by startTime until the range is covered.
        while start < to.0 {
            let params = [
                ("symbol", wire.clone()),
                ("interval", tf.as_str().to_string()),
                ("startTime", start.to_string()),
                ("endTime", (to.0 - 1).to_string()),
                ("limit", KLINES_LIMIT.to_string()),
            ];
            let v = self
                .shared
                .rest
                .public(Method::Get, "/api/v3/klines", &params, weight::KLINES)
                .await
                .map_err(|e| VenueFailure::Other(e.to_string()))?;
            let rows = v
                .as_array()
                .ok_or_else(|| VenueFailure::Other("klines: not an array".into()))?;
            let mut last = None;
            for row in rows {
                let b = kline_row(row).map_err(|e| VenueFailure::Other(e.to_string()))?;
                last = Some(b.time);
                if b.time >= from && b.time < to && out.last().is_none_or(|l| l.time < b.time) {
                    out.push(b);
                }
            }
            match last {
                Some(t) if (rows.len() as i64) >= KLINES_LIMIT => start = t.0 + tf.millis(),
                _ => break,
            }
        }
        if let Some(b) = out.last() {
            self.shared.set_price(symbol, b.close);
        }
        Ok(out)
    }

    async fn open(&self, url: &str) -> Result<Ws, VenueFailure> {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| VenueFailure::Other(format!("kline stream connect: {e}")))?;
        Ok(ws)
    }
}

impl BarSource for BinanceBars {
    fn backfill<'a>(
        &'a self,
        symbol: &'a Symbol,
        timeframe: Timeframe,
        from: Timestamp,
        to: Timestamp,
    ) -> SourceFuture<'a, Vec<Bar>> {
        Box::pin(self.klines(symbol, timeframe, from, to))
    }

    fn connect<'a>(
        &'a self,
        symbols: &'a [Symbol],
        timeframe: Timeframe,
    ) -> SourceFuture<'a, BarStream> {
        Box::pin(async move {
            let mut names = Vec::new();
            let mut back = HashMap::new();
            for s in symbols {
                let w = self.wire(s)?;
                names.push(format!(
                    "{}@kline_{}",
                    w.to_ascii_lowercase(),
                    timeframe.as_str()
                ));
                back.insert(w, s.clone());
            }
            let url = format!("{}/stream?streams={}", self.ws_base, names.join("/"));
            let ws = self.open(&url).await?;
            let (tx, mut rx) = mpsc::channel(1024);
            let me = Arc::new(BinanceBars {
                shared: self.shared.clone(),
                ws_base: self.ws_base.clone(),
                max_age: self.max_age,
            });
            tokio::spawn(async move {
                let r = me.read(ws, &url, &back, &tx).await;
                let _ = tx.send(Err(r)).await;
            });
            let s = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
            Ok(Box::pin(s) as BarStream)
        })
    }

    fn now(&self) -> Timestamp {
        Timestamp(self.shared.rest.clock.now_ms())
    }
}

impl BinanceBars {
    /// Reads closed klines into `tx` until the connection fails or the reader is gone;
    /// returns why it ended.
    async fn read(
        &self,
        mut ws: Ws,
        url: &str,
        back: &HashMap<String, Symbol>,
        tx: &mpsc::Sender<Result<(Symbol, Bar), VenueFailure>>,
    ) -> VenueFailure {
        let mut born = tokio::time::Instant::now();
        loop {
            let deadline = born + self.max_age;
            let msg = tokio::select! {
                m = ws.next() => m,
                _ = tokio::time::sleep_until(deadline) => {
                    // Proactive reconnect before the 24-hour cut: new first, then old.
                    match self.open(url).await {
                        Ok(new) => {
                            let mut old = std::mem::replace(&mut ws, new);
                            let _ = old.close(None).await;
                            born = tokio::time::Instant::now();
                            self.shared.rest.notice("binance: kline stream renewed before the 24 h cut".into());
                            continue;
                        }
                        Err(e) => return e,
                    }
                }
            };
            let text = match msg {
                Some(Ok(Message::Text(t))) => t,
                Some(Ok(Message::Ping(_))) => {
                    // The pong is queued; write it now rather than at the next read.
                    if let Err(e) = ws.flush().await {
                        return VenueFailure::Other(format!("kline stream: {e}"));
                    }
                    continue;
                }
                Some(Ok(Message::Close(_))) | None => {
                    return VenueFailure::Other("kline stream closed".into());
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return VenueFailure::Other(format!("kline stream: {e}")),
            };
            let Ok(v) = serde_json::from_str::<serde_json::Value>(text.as_str()) else {
                continue;
            };
            // Combined streams wrap the event in {"stream","data"}.
            let data = v.get("data").unwrap_or(&v);
            let Some(k) = data.get("k") else { continue };
            let (wire, bar, closed) = match kline_event(k) {
                Ok(x) => x,
                Err(e) => return VenueFailure::Other(e.to_string()),
            };
            let Some(symbol) = back.get(&wire) else {
                continue;
            };
            self.shared.set_price(symbol, bar.close);
            if closed && tx.send(Ok((symbol.clone(), bar))).await.is_err() {
                return VenueFailure::Other("reader gone".into());
            }
        }
    }
}
