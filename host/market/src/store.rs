//! The bar store: closed bars per symbol at every timeframe, aggregated from 1-minute bars.
//!
//! # The closed-bar rule
//!
//! Bars are stamped with their start time; a bar of timeframe `tf` starting at `T` covers
//! `[T, T + tf)` and its close time is `T + tf`.
//!
//! * A 1-minute bar is closed when it is pushed: callers push only finished minutes.
//! * A higher-timeframe bar covering `[T, E)` is closed, and from then on served, as soon
//!   as one of these happens:
//!   1. the 1-minute bar starting at `E - 1m` (the period's last minute) is pushed: its
//!      close time is the period end, so nothing more can belong to the period;
//!   2. a 1-minute bar starting at or after `E` is pushed (the period's last minutes were
//!      missing);
//!   3. [`BarStore::seal_until`] is called with `now >= E` (the data source declares that
//!      every minute closing by `now` has been delivered, e.g. the feed had a gap).
//!
//! Until then the bar is the symbol's *forming* bar for that timeframe, which is kept apart
//! and never returned by any read. A closed higher-timeframe bar aggregates the minutes
//! that arrived: open of the first, highest high, lowest low, close of the last, summed
//! volume, stamped with the period start.
//!
//! # Native timeframes coarser than 1 minute
//!
//! Data that only exists at a coarser timeframe (daily CSV files, say) is pushed with
//! [`BarStore::push_bar`]. The symbol's *native* timeframe is then that timeframe: its
//! bars feed it directly and aggregate into every coarser timeframe by the same rules as
//! above with "minute" read as "native bar" (a period closes on its last native bar, on a
//! native bar of a later period, or on [`BarStore::seal_until`]). Finer timeframes have no
//! data: reading them answers [`MarketError::NoData`], since the store cannot invent
//! intraday bars. A symbol keeps the native timeframe of its first push.
//!
//! # Replays
//!
//! A replay knows every bar in advance: [`BarStore::schedule`] takes them all at once,
//! applies the rules above once, and [`BarStore::seal_until`] then reveals what they would
//! have closed by each step, so no bar is aggregated on the replay's per-bar path.

use flotilla_domain::{Bar, BarError, MarketData, MarketError, Symbol, Timeframe, Timestamp};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// How many closed bars each series keeps unless configured otherwise.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// Why a pushed bar was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// The bar's start is not on a whole bar of its timeframe.
    #[error("{symbol}: {timeframe} bar at {time} is not aligned to the {timeframe} grid")]
    Misaligned {
        /// The symbol pushed.
        symbol: Symbol,
        /// The timeframe pushed at.
        timeframe: Timeframe,
        /// The bar's start.
        time: Timestamp,
    },
    /// The bar starts before the symbol's next expected bar (a repeat, or a bar already
    /// sealed).
    #[error(
        "{symbol}: {timeframe} bar at {time} is out of order; next must start at or after {min}"
    )]
    OutOfOrder {
        /// The symbol pushed.
        symbol: Symbol,
        /// The timeframe pushed at.
        timeframe: Timeframe,
        /// The bar's start.
        time: Timestamp,
        /// The earliest start the store accepts for this symbol.
        min: Timestamp,
    },
    /// The bar failed [`Bar::validate`].
    #[error("{symbol}: invalid {timeframe} bar at {time}: {source}")]
    InvalidBar {
        /// The symbol pushed.
        symbol: Symbol,
        /// The timeframe pushed at.
        timeframe: Timeframe,
        /// The bar's start.
        time: Timestamp,
        /// What is wrong with it.
        source: BarError,
    },
    /// The symbol's bars are replayed from a schedule: it takes no pushes.
    #[error("{symbol}: bars are replayed from a schedule; a {timeframe} bar cannot be pushed")]
    Scheduled {
        /// The symbol pushed.
        symbol: Symbol,
        /// The timeframe pushed at.
        timeframe: Timeframe,
    },
    /// A scheduled bar's close time is not its start plus its timeframe.
    #[error(
        "{symbol}: {timeframe} bar at {time} is scheduled to close at {close}, not at its period's end"
    )]
    CloseTime {
        /// The symbol scheduled.
        symbol: Symbol,
        /// The bar's timeframe.
        timeframe: Timeframe,
        /// The bar's start.
        time: Timestamp,
        /// The close time given with it.
        close: Timestamp,
    },
    /// A symbol with bars already stored cannot be given a schedule as well.
    #[error("{symbol}: has bars already; a schedule must come before any")]
    AlreadyFed {
        /// The symbol scheduled.
        symbol: Symbol,
    },
    /// The symbol already receives bars at another native timeframe.
    #[error("{symbol}: bars arrive at {native}; a {pushed} bar cannot be pushed")]
    TimeframeMismatch {
        /// The symbol pushed.
        symbol: Symbol,
        /// The timeframe the symbol's bars are pushed at.
        native: Timeframe,
        /// The timeframe of the refused push.
        pushed: Timeframe,
    },
}

/// Position of a timeframe in the per-symbol arrays.
fn tf_index(tf: Timeframe) -> usize {
    match tf {
        Timeframe::M1 => 0,
        Timeframe::M5 => 1,
        Timeframe::M15 => 2,
        Timeframe::H1 => 3,
        Timeframe::D1 => 4,
    }
}

/// A bounded ring of closed bars, oldest first.
#[derive(Clone, Default)]
struct Ring {
    bars: VecDeque<Bar>,
}

impl Ring {
    fn push(&mut self, bar: Bar, cap: usize) {
        if self.bars.len() >= cap {
            self.bars.pop_front();
        } else if self.bars.len() == self.bars.capacity() {
            // Grow geometrically but never past `cap`, so a full ring holds no slack.
            let want = self.bars.len().max(8).min(cap - self.bars.len());
            self.bars.reserve_exact(want);
        }
        self.bars.push_back(bar);
    }

    fn last_into(&self, count: usize, out: &mut Vec<Bar>) {
        let n = count.min(self.bars.len());
        out.reserve(n);
        out.extend(self.bars.range(self.bars.len() - n..).copied());
    }
}

/// Everything stored for one symbol.
#[derive(Clone, Default)]
struct SymbolBars {
    /// Closed bars per timeframe, indexed by [`tf_index`].
    closed: [Ring; 5],
    /// The forming bar per timeframe; `None` at and below the native timeframe.
    forming: [Option<Bar>; 5],
    /// The earliest start accepted for the next native bar.
    next_start: Option<Timestamp>,
    /// The timeframe bars are pushed at, fixed by the first push.
    native: Option<Timeframe>,
    /// A replayed symbol's whole history, revealed as time passes instead of pushed.
    scheduled: Option<Box<Schedule>>,
}

/// Every closed bar of one replayed symbol at every timeframe, in the order the closed-bar
/// rules serve them, each with the time it is served from. Revealing a bar appends it to
/// its ring exactly as the push or seal that would have closed it does, so reads cannot
/// tell the difference; what changes is the cost: no aggregation per bar during the
/// replay, a cursor instead.
#[derive(Clone, Default)]
struct Schedule {
    /// (served from, timeframe index, bar), by serving time; each timeframe's bars keep
    /// their order. Never changed once built: clones of a scheduled store (one per run of
    /// a parameter optimization) share it.
    bars: Arc<[(Timestamp, usize, Bar)]>,
    /// How many are revealed.
    next: usize,
}

impl Schedule {
    /// Appends to `closed` every bar served by `now`.
    fn reveal(&mut self, now: Timestamp, closed: &mut [Ring; 5], cap: usize) {
        while let Some((_, tf, bar)) = self.bars.get(self.next).filter(|b| b.0 <= now) {
            closed[*tf].push(*bar, cap);
            self.next += 1;
        }
    }
}

impl SymbolBars {
    /// The native timeframe, 1m until a coarser bar was pushed first.
    fn native(&self) -> Timeframe {
        self.native.unwrap_or(Timeframe::M1)
    }

    fn push(&mut self, bar: Bar, cap: usize) {
        let native = self.native();
        let unit = native.millis();
        let first = tf_index(native);
        self.closed[first].push(bar, cap);
        self.next_start = Some(bar.time.plus_millis(unit));
        for (i, tf) in Timeframe::ALL.iter().enumerate().skip(first + 1) {
            // Usually the bar falls in the forming period: its start is then the floor,
            // without the division.
            let period = match self.forming[i] {
                Some(f) if f.time <= bar.time && bar.time < f.time.plus_millis(tf.millis()) => {
                    f.time
                }
                _ => bar.time.floor(*tf),
            };
            // Rule 2: a minute of a later period closes the forming bar.
            if let Some(f) = self.forming[i].take_if(|f| f.time != period) {
                self.closed[i].push(f, cap);
            }
            let merged = match self.forming[i] {
                None => Bar {
                    time: period,
                    ..bar
                },
                Some(f) => Bar {
                    time: f.time,
                    open: f.open,
                    high: f.high.max(bar.high),
                    low: f.low.min(bar.low),
                    close: bar.close,
                    volume: f.volume + bar.volume,
                },
            };
            // Rule 1: the period's last native bar closes it at once.
            if bar.time.plus_millis(unit) == period.plus_millis(tf.millis()) {
                self.forming[i] = None;
                self.closed[i].push(merged, cap);
            } else {
                self.forming[i] = Some(merged);
            }
        }
    }

    fn seal_until(&mut self, now: Timestamp, cap: usize) {
        for (i, tf) in Timeframe::ALL.iter().enumerate().skip(1) {
            if let Some(f) = self.forming[i].take_if(|f| f.time.plus_millis(tf.millis()) <= now) {
                self.closed[i].push(f, cap);
            }
        }
        // Bars closing by `now` were declared delivered; refuse them from here on. A
        // native bar starting at `s` closes at `s + tf`, so the first one still open
        // starts at `floor(now - tf) + tf`, which is `floor(now)`.
        let floor = now.floor(self.native());
        self.next_start = Some(self.next_start.map_or(floor, |n| n.max(floor)));
    }
}

/// Closed bars of every symbol at every timeframe, each series a ring of at most
/// `capacity` bars.
#[derive(Clone)]
pub struct BarStore {
    capacity: usize,
    symbols: BTreeMap<Symbol, SymbolBars>,
}

impl Default for BarStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for BarStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Summarised: a full store holds hundreds of thousands of bars.
        f.debug_struct("BarStore")
            .field("capacity", &self.capacity)
            .field("symbols", &self.symbols.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl BarStore {
    /// An empty store keeping [`DEFAULT_CAPACITY`] bars per series.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// An empty store keeping the last `capacity` bars per series (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            symbols: BTreeMap::new(),
        }
    }

    /// How many closed bars each series keeps.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Makes `symbol` known, so reads answer "no data yet" rather than "unknown symbol".
    pub fn add_symbol(&mut self, symbol: &Symbol) {
        if !self.symbols.contains_key(symbol) {
            self.symbols.insert(symbol.clone(), SymbolBars::default());
        }
    }

    /// Whether `symbol` is known to the store.
    pub fn contains(&self, symbol: &Symbol) -> bool {
        self.symbols.contains_key(symbol)
    }

    /// The known symbols, in sorted order.
    pub fn symbols(&self) -> impl Iterator<Item = &Symbol> {
        self.symbols.keys()
    }

    /// Appends a closed 1-minute bar (stamped with its start) and closes any higher
    /// timeframe bar this completes; see the module docs for the exact rule. Bars of one
    /// symbol must arrive in time order; gaps are allowed.
    pub fn push_m1(&mut self, symbol: &Symbol, bar: Bar) -> Result<(), StoreError> {
        self.push_bar(symbol, Timeframe::M1, bar)
    }

    /// Appends a closed bar of timeframe `tf` (stamped with its start) for a symbol whose
    /// data exists only at `tf`, and closes any coarser bar this completes; see the module
    /// docs. The symbol's first push fixes its native timeframe; pushes at another
    /// timeframe are refused. `tf` = 1m is exactly [`BarStore::push_m1`].
    pub fn push_bar(&mut self, symbol: &Symbol, tf: Timeframe, bar: Bar) -> Result<(), StoreError> {
        if let Err(source) = bar.validate() {
            return Err(StoreError::InvalidBar {
                symbol: symbol.clone(),
                timeframe: tf,
                time: bar.time,
                source,
            });
        }
        if bar.time.millis().rem_euclid(tf.millis()) != 0 {
            return Err(StoreError::Misaligned {
                symbol: symbol.clone(),
                timeframe: tf,
                time: bar.time,
            });
        }
        // Look up before inserting: `entry` would clone the symbol on every push.
        if !self.symbols.contains_key(symbol) {
            self.symbols.insert(symbol.clone(), SymbolBars::default());
        }
        let series = self.symbols.get_mut(symbol).expect("inserted above");
        if series.scheduled.is_some() {
            return Err(StoreError::Scheduled {
                symbol: symbol.clone(),
                timeframe: tf,
            });
        }
        match series.native {
            Some(native) if native != tf => {
                return Err(StoreError::TimeframeMismatch {
                    symbol: symbol.clone(),
                    native,
                    pushed: tf,
                });
            }
            Some(_) => {}
            // A symbol with no bars yet may have been sealed on the 1m grid at `n`; a `tf`
            // bar starting at `s` closes after the seal iff `s >= floor_tf(n)`.
            None => {
                series.native = Some(tf);
                series.next_start = series.next_start.map(|n| n.floor(tf));
            }
        }
        if let Some(min) = series.next_start.filter(|min| bar.time < *min) {
            return Err(StoreError::OutOfOrder {
                symbol: symbol.clone(),
                timeframe: tf,
                time: bar.time,
                min,
            });
        }
        series.push(bar, self.capacity);
        Ok(())
    }

    /// Declares that every 1-minute bar closing at or before `now` has been pushed, for
    /// all symbols: forming bars whose period ended by `now` are closed, and later pushes
    /// of minutes closing by `now` are refused as out of order.
    ///
    /// A scheduled symbol (see [`BarStore::schedule`]) instead gets every bar that the
    /// same pushes and seals would have closed by `now`.
    pub fn seal_until(&mut self, now: Timestamp) {
        for series in self.symbols.values_mut() {
            match &mut series.scheduled {
                Some(schedule) => schedule.reveal(now, &mut series.closed, self.capacity),
                None => series.seal_until(now, self.capacity),
            }
        }
    }

    /// Takes the whole history of replayed symbols up front: `(close time, symbol, native
    /// timeframe, bar)` in the order a replay would push them. From then on
    /// [`BarStore::seal_until`]`(now)` makes the store read exactly as if every bar closing
    /// by `now` had been pushed and the store sealed at each step, but without aggregating
    /// per bar: the closed-bar rules run once here. The scheduled symbols refuse pushes.
    ///
    /// Each bar is checked as [`BarStore::push_bar`] checks it, and its close time must be
    /// its start plus its timeframe. Symbols that already hold bars are refused. The
    /// scheduled symbols are known from then on: before their first bar, reads answer
    /// "no data yet" rather than "unknown symbol".
    pub fn schedule<'a>(
        &mut self,
        events: impl IntoIterator<Item = (Timestamp, &'a Symbol, Timeframe, Bar)>,
    ) -> Result<(), StoreError> {
        // The live rules over the whole history, in a scratch store whose rings are
        // emptied after each push: what a push closed is then exactly what its rings hold.
        let mut scratch = BarStore::with_capacity(usize::MAX);
        let mut plans: BTreeMap<Symbol, Vec<(Timestamp, usize, Bar)>> = BTreeMap::new();
        for (close, symbol, tf, bar) in events {
            if close != bar.time.plus_millis(tf.millis()) {
                return Err(StoreError::CloseTime {
                    symbol: symbol.clone(),
                    timeframe: tf,
                    time: bar.time,
                    close,
                });
            }
            if self.symbols.get(symbol).is_some_and(|s| s.native.is_some()) {
                return Err(StoreError::AlreadyFed {
                    symbol: symbol.clone(),
                });
            }
            scratch.push_bar(symbol, tf, bar)?;
            if !plans.contains_key(symbol) {
                plans.insert(symbol.clone(), Vec::new());
            }
            let plan = plans.get_mut(symbol).expect("inserted above");
            let series = scratch.symbols.get_mut(symbol).expect("pushed above");
            for (i, ring) in series.closed.iter_mut().enumerate() {
                for b in ring.bars.drain(..) {
                    // A push serves what it closes at once; a period's end seals it.
                    let end = b.time.plus_millis(Timeframe::ALL[i].millis());
                    plan.push((close.min(end), i, b));
                }
            }
        }
        for (symbol, mut plan) in plans {
            let series = scratch.symbols.get_mut(&symbol).expect("pushed");
            // Periods still forming after the last bar are closed by a seal at their end.
            for (i, forming) in series.forming.iter_mut().enumerate() {
                if let Some(b) = forming.take() {
                    let end = b.time.plus_millis(Timeframe::ALL[i].millis());
                    plan.push((end, i, b));
                }
            }
            // Stable: within a timeframe, serving times never decrease, so order holds.
            plan.sort_by_key(|b| b.0);
            let target = self.symbols.entry(symbol).or_default();
            target.native = series.native;
            target.scheduled = Some(Box::new(Schedule {
                bars: plan.into(),
                next: 0,
            }));
        }
        Ok(())
    }

    /// The timeframe `symbol`'s bars are pushed at: `None` before its first push.
    pub fn native_timeframe(&self, symbol: &Symbol) -> Option<Timeframe> {
        self.symbols.get(symbol).and_then(|s| s.native)
    }

    /// The last `count` closed bars of `symbol` at `tf`, oldest first (fewer if fewer
    /// are stored; none before the first bar closes). A `tf` finer than the symbol's
    /// native timeframe answers [`MarketError::NoData`].
    pub fn bars(
        &self,
        symbol: &Symbol,
        tf: Timeframe,
        count: usize,
    ) -> Result<Vec<Bar>, MarketError> {
        let mut out = Vec::new();
        self.bars_into(symbol, tf, count, &mut out)?;
        Ok(out)
    }

    /// Like [`BarStore::bars`], but fills `out` (cleared first) to reuse its allocation.
    pub fn bars_into(
        &self,
        symbol: &Symbol,
        tf: Timeframe,
        count: usize,
        out: &mut Vec<Bar>,
    ) -> Result<(), MarketError> {
        out.clear();
        let series = self.series(symbol)?;
        if tf < series.native() {
            return Err(MarketError::NoData(symbol.clone()));
        }
        series.closed[tf_index(tf)].last_into(count, out);
        Ok(())
    }

    /// The newest closed bar of `symbol` at `tf`, if any (`None` also for an unknown
    /// symbol or a `tf` finer than its native one).
    pub fn newest(&self, symbol: &Symbol, tf: Timeframe) -> Option<Bar> {
        let series = self.symbols.get(symbol)?;
        if tf < series.native() {
            return None;
        }
        series.closed[tf_index(tf)].bars.back().copied()
    }

    /// A scheduled symbol's bars at `tf` that are not revealed yet, in order, each with the
    /// time it is served from (`None` when `symbol` is not scheduled). A replay reads ahead
    /// here what reads will answer once time passes, without moving it.
    pub fn upcoming(
        &self,
        symbol: &Symbol,
        tf: Timeframe,
    ) -> Option<impl Iterator<Item = (Timestamp, Bar)> + '_> {
        let s = self.symbols.get(symbol)?.scheduled.as_deref()?;
        let i = tf_index(tf);
        Some(
            s.bars[s.next..]
                .iter()
                .filter(move |b| b.1 == i)
                .map(|b| (b.0, b.2)),
        )
    }

    /// The close of the latest native bar of `symbol` (a 1-minute bar unless it was
    /// pushed with [`BarStore::push_bar`] at a coarser timeframe) and that bar's close time.
    pub fn last_price(&self, symbol: &Symbol) -> Result<(f64, Timestamp), MarketError> {
        let series = self.series(symbol)?;
        let native = series.native();
        match series.closed[tf_index(native)].bars.back() {
            Some(b) => Ok((b.close, b.time.plus_millis(native.millis()))),
            None => Err(MarketError::NoData(symbol.clone())),
        }
    }

    fn series(&self, symbol: &Symbol) -> Result<&SymbolBars, MarketError> {
        self.symbols
            .get(symbol)
            .ok_or_else(|| MarketError::UnknownSymbol(symbol.clone()))
    }
}

impl MarketData for BarStore {
    fn bars(&self, symbol: &Symbol, tf: Timeframe, count: usize) -> Result<Vec<Bar>, MarketError> {
        BarStore::bars(self, symbol, tf, count)
    }

    fn bars_into(
        &self,
        symbol: &Symbol,
        tf: Timeframe,
        count: usize,
        out: &mut Vec<Bar>,
    ) -> Result<(), MarketError> {
        BarStore::bars_into(self, symbol, tf, count, out)
    }

    fn last_price(&self, symbol: &Symbol) -> Result<(f64, Timestamp), MarketError> {
        BarStore::last_price(self, symbol)
    }
}

/// A [`BarStore`] shared between the writer (simulator or feed) and the readers (bots,
/// risk), implementing [`MarketData`] by taking the read lock per call.
#[derive(Clone, Default, Debug)]
pub struct SharedBars(Arc<RwLock<BarStore>>);

impl SharedBars {
    /// Shares `store`.
    pub fn new(store: BarStore) -> Self {
        Self(Arc::new(RwLock::new(store)))
    }

    /// Read access. A poisoned lock is recovered: every store mutation completes before
    /// anything that could panic, so the data stays consistent.
    pub fn read(&self) -> RwLockReadGuard<'_, BarStore> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Write access, for the simulator or a feed. Poisoning is recovered as in `read`.
    pub fn write(&self) -> RwLockWriteGuard<'_, BarStore> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl From<BarStore> for SharedBars {
    fn from(store: BarStore) -> Self {
        Self::new(store)
    }
}

impl MarketData for SharedBars {
    fn bars(&self, symbol: &Symbol, tf: Timeframe, count: usize) -> Result<Vec<Bar>, MarketError> {
        self.read().bars(symbol, tf, count)
    }

    fn bars_into(
        &self,
        symbol: &Symbol,
        tf: Timeframe,
        count: usize,
        out: &mut Vec<Bar>,
    ) -> Result<(), MarketError> {
        self.read().bars_into(symbol, tf, count, out)
    }

    fn last_price(&self, symbol: &Symbol) -> Result<(f64, Timestamp), MarketError> {
        self.read().last_price(symbol)
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "store_schedule_tests.rs"]
mod schedule_tests;
