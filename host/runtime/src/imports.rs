//! What the host imports do, in host types, whichever contract version called them
//! (`adapters.rs` converts to and from each version's generated types).

use crate::host::{BATCH_STRIDE, BotState, MAX_BATCH, MAX_BATCH_TIME};
use crate::views::{PositionView, WorkingOrderView};
use flotilla_domain::{Bar, OrderId, OrderState, Timeframe, Timestamp};
use flotilla_indicators::{Spec, Values};
use std::sync::atomic::Ordering;

/// Most bars one `bars` call returns, and most values one `indicator` call returns.
pub const MAX_BARS_PER_CALL: u32 = 5_000;
const MAX_KV_KEY: usize = 256;
const MAX_KV_VALUE: usize = 64 * 1024;
const MAX_KV_ENTRIES: usize = 1_024;
const MAX_LOG_LEN: usize = 1_024;

/// A series to watch, as `next-tick` names it: a grant index and a timeframe.
pub(crate) type Watch = (u32, Timeframe);

/// A tick `next-tick` moved the host to, with the watched series' newest bar.
pub(crate) struct Moved {
    pub time: Timestamp,
    pub tick: u64,
    pub capital: f64,
    pub newest: Option<Bar>,
}

/// The level of a `log` call.
#[derive(Clone, Copy)]
pub(crate) enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl BotState {
    /// The last `count` (at most [`MAX_BARS_PER_CALL`]) closed bars of a granted symbol,
    /// read into the reused buffer, so the only allocation is what wasmtime is handed.
    pub(crate) fn bars(
        &mut self,
        symbol: &str,
        timeframe: Timeframe,
        count: u32,
    ) -> Result<&[Bar], String> {
        self.io.host_calls += 1;
        let i = self.io.granted(symbol)?;
        let count = count.min(MAX_BARS_PER_CALL) as usize;
        let io = &mut self.io;
        io.market
            .bars_into(&io.grant[i], timeframe, count, &mut io.scratch.bars)
            .map_err(|e| e.to_string())?;
        Ok(&io.scratch.bars)
    }

    /// The bar `back` bars before the newest, if the host holds that many.
    pub(crate) fn bar_at(
        &mut self,
        symbol: &str,
        timeframe: Timeframe,
        back: u32,
    ) -> Result<Option<&Bar>, String> {
        let count = back.saturating_add(1);
        let bars = self.bars(symbol, timeframe, count)?;
        // Fewer than `back + 1` bars held (or more asked than a call returns): no such bar.
        Ok((bars.len() == count as usize).then(|| &bars[0]))
    }

    /// The newest closed bar of a watched series, as `bar-at(.., 0)` answers it; `None`
    /// (the guest then asks `bar-at`) for an index past the grant or no bar held.
    fn newest_bar(&mut self, (symbol, timeframe): Watch) -> Option<Bar> {
        let io = &mut self.io;
        let symbol = io.grant.get(symbol as usize)?;
        io.market
            .bars_into(symbol, timeframe, 1, &mut io.scratch.bars)
            .ok()?;
        io.scratch.bars.first().copied()
    }

    /// `next-tick`: moves the host to the run's next tick, or ends the run.
    pub(crate) fn next_tick(&mut self, watch: Option<Watch>) -> Option<Moved> {
        self.io.host_calls += 1;
        // The rest of a batch never runs.
        self.io.batch.clear();
        self.io.caught_up = 0;
        // What this tick left is recorded with it: hand back first.
        if self.io.ended || self.io.must_hand_back() {
            return None;
        }
        let Some(next) = self.io.source.as_mut().and_then(|source| source.next()) else {
            self.io.ended = true;
            return None;
        };
        let tick = self.io.start_tick(next.time);
        self.io.positions = next.positions;
        self.io.capital = next.capital;
        self.io.last = Some((next.scheduled, next.time));
        // Read after the source moved the market: the bar `bar-at(.., 0)` would give now.
        let newest = watch.and_then(|w| self.newest_bar(w));
        Some(Moved {
            time: next.time,
            tick,
            capital: next.capital,
            newest,
        })
    }

    /// `next-ticks`: a planned batch in its wire form, or the single next tick (moved to).
    pub(crate) fn next_ticks(&mut self, watch: Watch, max: u32, done: u32) -> Vec<f64> {
        self.io.host_calls += 1;
        let io = &mut self.io;
        io.catch_up(done as usize);
        io.batch.clear();
        io.caught_up = 0;
        if io.ended || io.must_hand_back() {
            return Vec::new();
        }
        let fit = MAX_BATCH_TIME.as_micros() / io.deadline.as_micros().max(1);
        let max = (max as usize).min(MAX_BATCH).min(fit.max(1) as usize);
        if let (Some(symbol), Some(source)) = (io.grant.get(watch.0 as usize), io.source.as_mut()) {
            source.plan(symbol, watch.1, max, &mut io.batch);
            io.batch.truncate(max);
        }
        if !io.batch.is_empty() {
            io.tick_started = io.beats.load(Ordering::Relaxed);
            io.deadlines = io.batch.len() as u64;
            let mut out = Vec::with_capacity(2 + BATCH_STRIDE * io.batch.len());
            out.extend([0.0, io.capital]);
            for (time, bar) in &io.batch {
                wire_tick(&mut out, time.0, Some(bar));
            }
            return out;
        }
        // Nothing planned: one tick, moved to, as `next-tick` hands it.
        let next = self.next_tick(Some(watch));
        // `next_tick` counted this call again.
        self.io.host_calls -= 1;
        let Some(next) = next else {
            return Vec::new();
        };
        let mut out = vec![1.0, next.capital];
        wire_tick(&mut out, next.time.0, next.newest.as_ref());
        out
    }

    /// `catch-up`: moves the host through the first `n` ticks of the last batch.
    pub(crate) fn catch_up(&mut self, n: u32) {
        self.io.host_calls += 1;
        self.io.catch_up(n as usize);
    }

    /// `indicator`: the last `count` values of `spec` over a granted symbol's bars.
    pub(crate) fn indicator(
        &mut self,
        symbol: &str,
        timeframe: Timeframe,
        spec: Spec,
        count: u32,
    ) -> Result<Values, String> {
        self.io.host_calls += 1;
        let i = self.io.granted(symbol)?;
        spec.validate()
            .map_err(|e| format!("invalid indicator: {e}"))?;
        let count = count.min(MAX_BARS_PER_CALL) as usize;
        let io = &mut self.io;
        let s = &mut io.scratch;
        io.market
            .bars_into(&io.grant[i], timeframe, spec.history(count), &mut s.bars)
            .map_err(|e| e.to_string())?;
        s.close.clear();
        s.close.extend(s.bars.iter().map(|b| b.close));
        // Only ATR reads highs and lows; skip copying them for everything else.
        s.high.clear();
        s.low.clear();
        if matches!(spec, Spec::Atr(_)) {
            s.high.extend(s.bars.iter().map(|b| b.high));
            s.low.extend(s.bars.iter().map(|b| b.low));
        }
        flotilla_indicators::compute(&spec, &s.high, &s.low, &s.close, count)
            .map_err(|e| format!("invalid indicator: {e}"))
    }

    /// `last-price`: the latest close of a granted symbol.
    pub(crate) fn last_price(&mut self, symbol: &str) -> Result<f64, String> {
        self.io.host_calls += 1;
        let i = self.io.granted(symbol)?;
        self.io
            .market
            .last_price(&self.io.grant[i])
            .map(|(p, _)| p)
            .map_err(|e| e.to_string())
    }

    /// `positions`: the bot's open positions.
    pub(crate) fn positions(&mut self) -> &[PositionView] {
        self.io.host_calls += 1;
        &self.io.positions
    }

    /// `capital`: the bot's allocated capital.
    pub(crate) fn capital(&mut self) -> f64 {
        self.io.host_calls += 1;
        self.io.capital
    }

    /// `kv-get`: a value from the bot's store.
    pub(crate) fn kv_get(&mut self, key: &str) -> Option<Vec<u8>> {
        self.io.host_calls += 1;
        self.io.kv.get(key).cloned()
    }

    /// `kv-set`: stores a value, within the caps; a refusal is a violation.
    pub(crate) fn kv_set(&mut self, key: String, value: Vec<u8>) {
        self.io.host_calls += 1;
        if key.len() > MAX_KV_KEY || value.len() > MAX_KV_VALUE {
            let msg = format!(
                "kv-set refused: key {} bytes, value {} bytes (caps {MAX_KV_KEY}/{MAX_KV_VALUE})",
                key.len(),
                value.len()
            );
            return self.io.violate(msg);
        }
        if !self.io.kv.contains_key(&key) && self.io.kv.len() >= MAX_KV_ENTRIES {
            return self.io.violate(format!(
                "kv-set refused: store full ({MAX_KV_ENTRIES} keys)"
            ));
        }
        self.io.kv.insert(key.clone(), value.clone());
        self.io.kv_writes.retain(|(k, _)| *k != key);
        self.io.kv_writes.push((key, value));
    }

    /// `log`: the host's log, tagged with the bot id, the message capped.
    pub(crate) fn log(&mut self, level: Level, message: &str) {
        self.io.host_calls += 1;
        let message = crate::host::truncate(message, MAX_LOG_LEN);
        let bot = self.io.bot.as_str();
        match level {
            Level::Trace => tracing::trace!(target: "flotilla::bot", bot, "{message}"),
            Level::Debug => tracing::debug!(target: "flotilla::bot", bot, "{message}"),
            Level::Info => tracing::info!(target: "flotilla::bot", bot, "{message}"),
            Level::Warn => tracing::warn!(target: "flotilla::bot", bot, "{message}"),
            Level::Error => tracing::error!(target: "flotilla::bot", bot, "{message}"),
        }
    }

    /// `working-orders`: the bot's working orders as the tick started (0.7.0).
    pub(crate) fn working_orders(&mut self) -> &[WorkingOrderView] {
        self.io.host_calls += 1;
        &self.io.working
    }

    /// `cancel-order`: records a cancel of one of the bot's working orders, once (0.7.0).
    /// Another id is an error, not a violation: the order may just have filled.
    pub(crate) fn cancel_order(&mut self, id: u64) -> Result<(), String> {
        self.io.host_calls += 1;
        let id = OrderId(id);
        let Some(order) = self.io.working.iter().find(|o| o.id == id) else {
            return Err(format!(
                "order {id} is not one of this bot's working orders"
            ));
        };
        // A cancel already on its way needs no second request.
        if order.state != OrderState::PendingCancel && !self.io.cancels.contains(&id) {
            self.io.cancels.push(id);
        }
        Ok(())
    }
}

/// Appends one tick of a `next-ticks` list: its time, then its bar (NaN when none).
fn wire_tick(out: &mut Vec<f64>, time: i64, bar: Option<&Bar>) {
    out.push(time as f64);
    match bar {
        Some(b) => out.extend([b.time.0 as f64, b.open, b.high, b.low, b.close, b.volume]),
        None => out.extend([f64::NAN; BATCH_STRIDE - 1]),
    }
}
