//! A live market: bars from a venue's feed ([`flotilla_venues::LiveFeed`]) into the same
//! bar store the simulator fills, so bots cannot tell live from simulated.
//!
//! The feed delivers each symbol's closed bars once, in order, gaps backfilled; here they
//! enter the store as they are drained (by the host duties or by a bot's tick), and wait
//! for the host duties (risk's bar feed, exits, the venue's matching) in `pending`. Feed
//! health becomes risk state: a stale symbol takes no new entries, exits stay armed.

use crate::fleet::{Fleet, NewBar};
use anyhow::Result;
use flotilla_domain::{Symbol, Timeframe, Timestamp};
use flotilla_market::BarStore;
use flotilla_venues::{FeedEvent, LiveFeed};
use std::time::Duration;

/// A venue's live bars, as a market source.
#[derive(Debug)]
pub struct LiveMarket {
    feed: LiveFeed,
    timeframe: Timeframe,
    bar_wait: Duration,
    /// Bars in the store the host duties have not processed yet.
    pending: Vec<NewBar>,
    /// Feed health and notices not applied yet.
    notes: Vec<FeedEvent>,
    /// From a bar's arrival from the venue to the start of a tick due at its close, µs.
    bar_to_tick_us: Vec<u64>,
}

impl LiveMarket {
    /// A market over `feed`, whose bars are of `timeframe`; a due bot waits up to
    /// `bar_wait` for the bars that close at its tick.
    pub fn new(feed: LiveFeed, timeframe: Timeframe, bar_wait: Duration) -> Self {
        Self {
            feed,
            timeframe,
            bar_wait,
            pending: Vec::new(),
            notes: Vec::new(),
            bar_to_tick_us: Vec::new(),
        }
    }

    /// The feed.
    pub fn feed(&self) -> &LiveFeed {
        &self.feed
    }

    /// Moves what the feed delivered into `store`; with `take`, hands the bars the host
    /// duties have not seen to `pushed`.
    pub(crate) fn advance(
        &mut self,
        store: &mut BarStore,
        pushed: &mut Vec<NewBar>,
        take: bool,
    ) -> Result<()> {
        for ev in self.feed.drain() {
            match ev {
                FeedEvent::Bar(symbol, bar) => {
                    if let Err(e) = store.push_bar(&symbol, self.timeframe, bar) {
                        // A bad or misordered bar is refused by the store; the feed goes on.
                        self.notes
                            .push(FeedEvent::Notice(format!("bar refused: {e}")));
                        continue;
                    }
                    self.pending.push(NewBar {
                        symbol,
                        bar,
                        timeframe: self.timeframe,
                    });
                }
                other => self.notes.push(other),
            }
        }
        if take {
            pushed.append(&mut self.pending);
        }
        Ok(())
    }

    /// Takes the feed's health changes and notices.
    pub(crate) fn take_notes(&mut self) -> Vec<FeedEvent> {
        std::mem::take(&mut self.notes)
    }

    /// Whether every one of `symbols` has its bar that closes at `at` (the feed has it,
    /// drained or not).
    pub(crate) fn has_bars_closing_at(&self, symbols: &[Symbol], at: Timestamp) -> bool {
        let want = Timestamp(at.0 - self.timeframe.millis());
        let last = self.feed.last_bars();
        symbols
            .iter()
            .all(|s| last.get(s).is_some_and(|t| *t >= want))
    }

    /// Records, for a tick due at `at` starting now, how long ago its symbols' bars that
    /// close at `at` arrived (the newest of them).
    pub(crate) fn note_tick(&mut self, symbols: &[Symbol], at: Timestamp) {
        let want = Timestamp(at.0 - self.timeframe.millis());
        let newest = symbols
            .iter()
            .filter_map(|s| self.feed.arrival(s))
            .filter(|(t, _)| *t == want)
            .map(|(_, i)| i)
            .max();
        if let Some(i) = newest
            && self.bar_to_tick_us.len() < 100_000
        {
            self.bar_to_tick_us.push(i.elapsed().as_micros() as u64);
        }
    }

    /// Bar arrival → due tick latencies so far, µs.
    pub fn bar_to_tick_us(&self) -> &[u64] {
        &self.bar_to_tick_us
    }

    /// How long a due bot waits for its bars.
    pub fn bar_wait(&self) -> Duration {
        self.bar_wait
    }
}

impl Fleet {
    /// Applies the live feed's health changes: a stale symbol's entries are refused by
    /// risk until its bars come again; each change is an event in the ledger.
    pub(crate) fn apply_feed_notes(&self, notes: Vec<FeedEvent>, now: Timestamp) -> Result<()> {
        if notes.is_empty() {
            return Ok(());
        }
        let mut core = self.core();
        for n in notes {
            match n {
                FeedEvent::Stale(s) => {
                    core.risk.set_feed_stale(&s, true);
                    let msg = format!(
                        "{s}: no bar past its expected interval; entries refused, exits armed"
                    );
                    tracing::warn!("feed stale: {msg}");
                    core.record_event(now, None, "feed_stale", &msg)?;
                }
                FeedEvent::Fresh(s) => {
                    core.risk.set_feed_stale(&s, false);
                    core.record_event(now, None, "feed_fresh", &format!("{s}: bars again"))?;
                }
                FeedEvent::Notice(m) => core.record_event(now, None, "feed_notice", &m)?,
                FeedEvent::Bar(_, bar) => {
                    if let Some(t) = &core.telemetry {
                        t.metrics.feed_last_bar.set(bar.time.0 as f64 / 1e3);
                    }
                }
            }
        }
        Ok(())
    }
}
