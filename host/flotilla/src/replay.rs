//! The replay's simulated clock: steps from event to event (the next bar close or the next
//! bot run, whichever comes first), moving the market and running the host's duties at
//! each, and hands out bot ticks in the order a live fleet would run them.
//!
//! A bot's run of ticks (`on-ticks`) pulls its next tick from here while it is still inside
//! its call: [`Replay::source`] hands out that bot's tick only when it is the very next
//! thing the replay would do and nothing the bot must hear first (a fill) is waiting, so a
//! run gives the same result as one call per tick. It also plans batches: ticks read
//! ahead from the bar schedule, handed out together, while nothing but the watched bar
//! changes for the bot; the host then catches up with them one by one, each exactly as a
//! tick of its own would have moved it.

use crate::fleet::{Fleet, NewBar, TickSummary};
use crate::tick::tick_inputs;
use anyhow::Result;
use flotilla_backtest::{BarEvent, EquityPoint};
use flotilla_config::Schedule;
use flotilla_domain::{Bar, Timeframe};
use flotilla_domain::{BotId, Decimal, Symbol, Timestamp};
use flotilla_engine::exits::inside;
use flotilla_runtime::{NextTick, TickSource, Ticks};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// A bot tick due now: the bot's index, when it was scheduled, and the replay time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Due {
    pub bot: usize,
    pub scheduled: Timestamp,
    pub now: Timestamp,
}

/// The replay's clock, schedules and what the report needs from each step.
pub(crate) struct Replay {
    fleet: Arc<Fleet>,
    ids: Vec<BotId>,
    schedules: Vec<Schedule>,
    next: Vec<Option<Timestamp>>,
    end: Timestamp,
    /// The step in progress: its time and the first bot not yet considered at it.
    step: Option<(Timestamp, usize)>,
    /// When the next replayed bar closes (`None`: the data ended).
    next_bar: Option<Timestamp>,
    start_budgets: BTreeMap<BotId, Decimal>,
    /// Fleet equity after each step with bars.
    pub fleet_equity: Vec<EquityPoint>,
    /// Each bot's equity after each step with bars.
    pub bot_equity: BTreeMap<BotId, Vec<EquityPoint>>,
    /// Bars replayed.
    pub bars: u64,
    /// Bot ticks run.
    pub ticks: u64,
    /// The bars the current step pushed (kept to reuse its allocation).
    pushed: Vec<NewBar>,
    /// A failure inside a bot's run, raised when the run returns.
    error: Option<anyhow::Error>,
    progress: Box<dyn Fn(u64) + Send>,
}

impl Replay {
    /// A replay of `fleet` from `start` to `end`, sized for `events` bars.
    pub fn new(
        fleet: Arc<Fleet>,
        start: Timestamp,
        end: Timestamp,
        events: usize,
        progress: Box<dyn Fn(u64) + Send>,
    ) -> Self {
        let handles = fleet.handles();
        let start_budgets = fleet.core().budgets.clone();
        // Nothing reloads during a replay: read each schedule once, not a spec per tick.
        let schedules: Vec<Schedule> = handles.iter().map(|h| h.spec().schedule).collect();
        let next = schedules.iter().map(|s| s.next_after(start)).collect();
        let fleet_next_bar = fleet.next_market_event();
        let bot_equity = start_budgets
            .keys()
            .map(|b| (b.clone(), Vec::with_capacity(events)))
            .collect();
        Self {
            ids: handles.iter().map(|h| h.id.clone()).collect(),
            fleet,
            schedules,
            next,
            end,
            step: None,
            next_bar: fleet_next_bar,
            start_budgets,
            fleet_equity: Vec::with_capacity(events),
            bot_equity,
            bars: 0,
            ticks: 0,
            pushed: Vec::new(),
            error: None,
            progress,
        }
    }

    /// The next bot tick, moving the market (and the host's duties) as far as it needs.
    /// With `only`, a tick of another bot, or one `only` must not take inside a run, is
    /// left for the caller after and `None` returned. `None` otherwise: the data ended.
    pub fn next_due(&mut self, only: Option<usize>) -> Result<Option<Due>> {
        loop {
            if let Some((t, from)) = self.step {
                let due = (from..self.next.len())
                    .find_map(|i| self.next[i].filter(|d| *d <= t).map(|d| (i, d)));
                if let Some((bot, scheduled)) = due {
                    if only.is_some_and(|b| b != bot || self.must_hear_first(b)) {
                        self.step = Some((t, bot));
                        return Ok(None);
                    }
                    self.step = Some((t, bot + 1));
                    self.next[bot] = self.schedules[bot].next_after(t);
                    return Ok(Some(Due {
                        bot,
                        scheduled,
                        now: t,
                    }));
                }
                self.step = None;
            }
            let t_bot = self.next.iter().flatten().min().copied();
            let Some(t) = [self.next_bar, t_bot].into_iter().flatten().min() else {
                return Ok(None);
            };
            if t > self.end {
                return Ok(None);
            }
            self.pushed.clear();
            self.next_bar = self.fleet.advance_market(t, &mut self.pushed)?;
            if !self.pushed.is_empty() {
                self.bars += self.pushed.len() as u64;
                self.fleet.host_duties(t, &self.pushed, false)?;
                self.record_equity(t);
                (self.progress)(self.bars);
            }
            self.step = Some((t, 0));
        }
    }

    /// Fills are reported before a tick, outside it: a bot with one waiting goes back to
    /// the host first.
    fn must_hear_first(&self, bot: usize) -> bool {
        self.fleet.core().fill_notices.contains_key(&self.ids[bot])
    }

    /// Counts the ticks of a run (a quarantined bot's skipped tick counts as one).
    pub fn ran(&mut self, summary: &TickSummary) {
        self.ticks += summary.ticks.max(1);
    }

    /// The failure a run's source met, if any.
    pub fn take_error(&mut self) -> Option<anyhow::Error> {
        self.error.take()
    }

    /// Where bot `bot`'s run takes its next ticks from: this replay, while that bot's tick
    /// is the next thing to do.
    pub fn source(replay: &Arc<Mutex<Replay>>, bot: usize) -> TickSource {
        Box::new(ReplayTicks {
            replay: replay.clone(),
            bot,
        })
    }

    /// Up to `max` next ticks of bot `bot` at which nothing it sees can change but the
    /// newest bar of `symbol` at `tf` (see [`Ticks::plan`]), each with that bar; moves
    /// nothing. They end before: an order or a fill waiting, another bot's tick, a
    /// reallocation (the capital changes), the end of the replay, and the close of the
    /// first replayed bar that an exit could fire on ([`ExitBook::calm_band`]).
    ///
    /// [`ExitBook::calm_band`]: flotilla_engine::ExitBook::calm_band
    fn plan(
        &self,
        bot: usize,
        symbol: &Symbol,
        tf: Timeframe,
        max: usize,
        out: &mut Vec<(Timestamp, Bar)>,
    ) {
        let Some(first) = self.next[bot].filter(|_| self.error.is_none()) else {
            return;
        };
        let core = self.fleet.core();
        if !core.resting.is_empty()
            || core.fill_notices.contains_key(&self.ids[bot])
            || core.order_notices.contains_key(&self.ids[bot])
        {
            return;
        }
        let others = (self.next.iter().enumerate())
            .filter(|(i, _)| *i != bot)
            .filter_map(|(_, n)| *n)
            .min();
        let before = [others, Some(core.next_rebalance)]
            .into_iter()
            .flatten()
            .min();
        let plannable = |t: Timestamp| t <= self.end && before.is_none_or(|b| t < b);
        // Each symbol's calm band, worked out at its first replayed bar.
        let mut bands: Vec<(Symbol, Option<(f64, f64)>)> = Vec::new();
        let mut calm = |e: &BarEvent| {
            let band = match bands.iter().find(|(s, _)| *s == e.symbol) {
                Some((_, b)) => *b,
                None => {
                    let b = core.exits.calm_band(&e.symbol);
                    bands.push((e.symbol.clone(), b));
                    b
                }
            };
            band.is_none_or(|b| inside(b, &e.bar))
        };
        self.fleet.with_replayed(|events| {
            let market = self.fleet.market.read();
            let Some(mut upcoming) = market.upcoming(symbol, tf) else {
                return;
            };
            let mut newest = market.newest(symbol, tf);
            let (mut events, mut ahead) = (events.iter().peekable(), upcoming.next());
            let mut t = first;
            while out.len() < max && plannable(t) {
                // The host's duties at a bar's close run before the ticks at that time: a
                // bar on which an exit could fire ends the batch before it.
                while let Some(e) = events.next_if(|e| e.close_time <= t) {
                    if !calm(e) {
                        return;
                    }
                }
                while let Some((_, bar)) = ahead.filter(|(at, _)| *at <= t) {
                    newest = Some(bar);
                    ahead = upcoming.next();
                }
                let Some(bar) = newest else {
                    return;
                };
                out.push((t, bar));
                let Some(next) = self.schedules[bot].next_after(t) else {
                    return;
                };
                t = next;
            }
        });
    }

    /// Appends the fleet's and each bot's equity at `t`. A bot's equity is its first
    /// budget plus its realised PnL less fees plus its open positions marked to market.
    fn record_equity(&mut self, t: Timestamp) {
        let fleet = &self.fleet;
        let core = fleet.core();
        let mark = |s: &Symbol| fleet.cached_mark(&core.marks, s);
        // Marked by the host duties of this same step.
        self.fleet_equity.push(EquityPoint {
            time: t,
            equity: core.equity,
            cash: core.portfolio.cash(),
        });
        // Both maps hold the same bots (keyed alike, so in the same order).
        for ((bot, budget), curve) in self.start_budgets.iter().zip(self.bot_equity.values_mut()) {
            curve.push(EquityPoint {
                time: t,
                equity: core.portfolio.bot_equity(bot, *budget, mark),
                cash: Decimal::ZERO,
            });
        }
    }
}

/// A bot's run's view of the replay.
struct ReplayTicks {
    replay: Arc<Mutex<Replay>>,
    bot: usize,
}

impl ReplayTicks {
    /// The bot's next tick from the replay, its failure kept for when the run returns.
    fn due(&self, r: &mut Replay) -> Option<Due> {
        if r.error.is_some() {
            return None;
        }
        r.next_due(Some(self.bot)).unwrap_or_else(|e| {
            r.error = Some(e);
            None
        })
    }
}

impl Ticks for ReplayTicks {
    fn next(&mut self) -> Option<NextTick> {
        let mut r = lock(&self.replay);
        let due = self.due(&mut r)?;
        let (capital, positions) = tick_inputs(&mut r.fleet.core(), &r.ids[self.bot]);
        Some(NextTick {
            scheduled: due.scheduled,
            time: due.now,
            capital,
            positions,
        })
    }

    fn plan(
        &mut self,
        symbol: &Symbol,
        tf: Timeframe,
        max: usize,
        out: &mut Vec<(Timestamp, Bar)>,
    ) {
        lock(&self.replay).plan(self.bot, symbol, tf, max, out);
    }

    /// The planned tick, without reading the capital and positions again: nothing changed
    /// them since the plan.
    fn catch_up(&mut self, time: Timestamp) -> Option<Timestamp> {
        let mut r = lock(&self.replay);
        match self.due(&mut r) {
            Some(due) if due.now == time => Some(due.scheduled),
            other if r.error.is_none() => {
                let found = other.map_or("none".to_string(), |d| d.now.to_string());
                r.error = Some(anyhow::anyhow!(
                    "replay: bot {}'s planned tick at {time} came out as {found}",
                    r.ids[self.bot]
                ));
                None
            }
            _ => None,
        }
    }
}

/// The replay's lock; a panic elsewhere does not make its state unreadable.
pub(crate) fn lock(replay: &Mutex<Replay>) -> MutexGuard<'_, Replay> {
    replay.lock().unwrap_or_else(|e| e.into_inner())
}
