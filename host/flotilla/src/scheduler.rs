//! The scheduler: one tokio task per bot, each on its own schedule.
//!
//! A bot's task waits for its next run, then runs the tick on a blocking thread and waits
//! for it to finish before planning the next run, so one bot never runs twice at once.
//! Runs whose time passed while a tick overran are skipped and counted, never queued.
//! Bots added while running get their own task; a changed schedule takes effect at once.

use crate::clock::SchedClock;
use crate::fleet::{BotHandle, Fleet};
use anyhow::Result;
use flotilla_domain::{BotId, Timestamp};
use flotilla_ledger::{TickOutcome, TickRecord};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

/// Most skipped runs recorded one by one after a single overrun.
const MAX_SKIPS_RECORDED: usize = 1_000;

/// Counters of one bot over one run of the scheduler.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BotRunStats {
    /// Ticks run.
    pub ticks: u64,
    /// Runs skipped because the bot's previous tick overran.
    pub skipped: u64,
    /// Ticks that outlived their wall-clock timeout.
    pub timeouts: u64,
}

/// Counters of one run of the scheduler, per bot.
pub type RunStats = BTreeMap<BotId, BotRunStats>;

/// Runs every bot and the market until the clock reaches `until` or `shutdown` turns true.
pub async fn run(
    fleet: Arc<Fleet>,
    clock: Arc<dyn SchedClock>,
    until: Timestamp,
    mut shutdown: watch::Receiver<bool>,
) -> Result<RunStats> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    for h in fleet.handles() {
        let _ = tx.send(h);
    }
    fleet.set_spawner(Some(tx));
    let market = tokio::spawn(market_task(
        fleet.clone(),
        clock.clone(),
        until,
        shutdown.clone(),
    ));
    let mut tasks = JoinSet::new();
    let mut stats = RunStats::new();
    let end = tokio::time::sleep(clock.real_wait_until(until));
    tokio::pin!(end);
    loop {
        tokio::select! {
            Some(h) = rx.recv() => {
                tasks.spawn(bot_task(fleet.clone(), h, clock.clone(), until, shutdown.clone()));
            }
            Some(done) = tasks.join_next() => {
                let (id, s) = done??;
                merge(&mut stats, id, s);
            }
            _ = &mut end => break,
            _ = shutdown.changed() => break,
        }
    }
    fleet.set_spawner(None);
    while let Some(done) = tasks.join_next().await {
        let (id, s) = done??;
        merge(&mut stats, id, s);
    }
    market.await??;
    Ok(stats)
}

fn merge(stats: &mut RunStats, id: BotId, s: BotRunStats) {
    let e = stats.entry(id).or_default();
    e.ticks += s.ticks;
    e.skipped += s.skipped;
    e.timeouts += s.timeouts;
}

/// Sleeps until the clock reads `t`; false if shutdown came first.
async fn sleep_until(
    clock: &dyn SchedClock,
    t: Timestamp,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    if *shutdown.borrow() {
        return false;
    }
    tokio::select! {
        _ = tokio::time::sleep(clock.real_wait_until(t)) => true,
        _ = shutdown.changed() => false,
    }
}

enum Wake {
    Due,
    Rescheduled,
    Stop,
}

async fn bot_task(
    fleet: Arc<Fleet>,
    handle: Arc<BotHandle>,
    clock: Arc<dyn SchedClock>,
    until: Timestamp,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(BotId, BotRunStats)> {
    let mut stats = BotRunStats::default();
    let mut schedule_rx = handle.schedule.subscribe();
    let mut stop_rx = handle.stop.subscribe();
    let mut last = clock.now();
    let live = fleet.is_live();
    loop {
        if *stop_rx.borrow() || *shutdown.borrow() {
            break;
        }
        let schedule = schedule_rx.borrow_and_update().clone();
        // Past the end (or never again), wait anyway: a reschedule may bring the run closer.
        let next = schedule.next_after(last).filter(|n| *n <= until);
        let wake = tokio::select! {
            _ = tokio::time::sleep(clock.real_wait_until(next.unwrap_or(until))) => {
                if next.is_some() { Wake::Due } else { Wake::Stop }
            }
            _ = schedule_rx.changed() => Wake::Rescheduled,
            _ = stop_rx.changed() => Wake::Stop,
            _ = shutdown.changed() => Wake::Stop,
        };
        let next = next.unwrap_or(until);
        match wake {
            Wake::Stop => break,
            Wake::Rescheduled => {
                last = clock.now();
                continue;
            }
            Wake::Due => {}
        }
        // A bot paused by hand does not tick; its runs are recorded as skipped, and the
        // host still watches its stops.
        if handle.paused.load(std::sync::atomic::Ordering::Relaxed) {
            let now = clock.now();
            let mut rec = TickRecord::new(handle.id.clone(), next, now, TickOutcome::Skipped);
            rec.error = Some("paused".into());
            fleet.core().record_tick(&rec)?;
            stats.skipped += 1;
            last = next;
            continue;
        }
        // Only a venue's live market has sessions and bars that arrive after their close:
        // a simulated or replayed run pays nothing for either on its tick path.
        if live {
            // Outside its market's session (the venue's clock says every symbol of the bot
            // is closed) a bot does not tick, unless its entry says `outside_hours`.
            let spec = handle.spec();
            if !spec.outside_hours && fleet.session_closed(&spec.symbols) {
                let now = clock.now();
                let mut core = fleet.core();
                let mut rec = TickRecord::new(handle.id.clone(), next, now, TickOutcome::Skipped);
                rec.error = Some("market closed".into());
                core.record_tick(&rec)?;
                drop(core);
                stats.skipped += 1;
                last = next;
                continue;
            }
            // A live feed's bar closing at this tick arrives a moment after it closes: wait
            // for the bot's symbols' bars (up to the registry's bar_wait), so the tick sees
            // the bar that just closed.
            let symbols = spec.symbols;
            if let Some((false, wait)) = fleet.live_bars_ready(&symbols, next) {
                let give_up = tokio::time::Instant::now() + wait;
                while tokio::time::Instant::now() < give_up
                    && !matches!(fleet.live_bars_ready(&symbols, next), Some((true, _)))
                    && !*shutdown.borrow()
                {
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
            }
            fleet.note_live_tick(&symbols, next);
        }
        let now = clock.now();
        // Runs that fell due while we were busy are skipped, not queued.
        let mut due = next;
        let mut missed = Vec::new();
        while let Some(n) = schedule.next_after(due) {
            if n > now || n > until {
                break;
            }
            if missed.len() < MAX_SKIPS_RECORDED {
                missed.push(due);
            }
            stats.skipped += 1;
            due = n;
        }
        if !missed.is_empty() {
            record_skips(&fleet, &handle, &missed, now)?;
        }
        let (f, h) = (fleet.clone(), handle.clone());
        let mut job = tokio::task::spawn_blocking(move || f.run_tick(&h, due, now));
        let result = match tokio::time::timeout(handle.timeout(), &mut job).await {
            Ok(r) => r,
            Err(_) => {
                // The epoch deadline ends the guest soon; the slot stays locked until then,
                // so waiting here keeps the one-run-at-a-time rule.
                stats.timeouts += 1;
                handle.slot().stats.timeouts += 1;
                tracing::error!(bot = %handle.id, "tick outlived its timeout");
                job.await
            }
        };
        result??;
        stats.ticks += 1;
        last = due;
    }
    Ok((handle.id.clone(), stats))
}

fn record_skips(
    fleet: &Fleet,
    handle: &BotHandle,
    missed: &[Timestamp],
    now: Timestamp,
) -> Result<()> {
    {
        let mut core = fleet.core();
        for &at in missed {
            let mut rec = TickRecord::new(handle.id.clone(), at, now, TickOutcome::Skipped);
            rec.error = Some("previous run overran".into());
            core.record_tick(&rec)?;
        }
    }
    handle.slot().stats.skipped += missed.len() as u64;
    Ok(())
}

/// Keeps the market moving (so bars exist even when no bot ticks) and records equity.
async fn market_task(
    fleet: Arc<Fleet>,
    clock: Arc<dyn SchedClock>,
    until: Timestamp,
    mut shutdown: watch::Receiver<bool>,
) -> Result<()> {
    // A live feed's bars arrive when they arrive: the duties look every second.
    let step_ms: i64 = if fleet.is_live() { 1_000 } else { 60_000 };
    const EQUITY_EVERY_MS: i64 = 15 * 60_000;
    let mut next = Timestamp((clock.now().0 / step_ms + 1) * step_ms);
    let mut next_equity = next;
    while next <= until && sleep_until(&*clock, next, &mut shutdown).await {
        let f = fleet.clone();
        let record = next >= next_equity;
        let at = next;
        tokio::task::spawn_blocking(move || f.on_minute(at, record)).await??;
        if record {
            next_equity = Timestamp(next_equity.0 + EQUITY_EVERY_MS);
        }
        next = Timestamp(next.0 + step_ms);
    }
    Ok(())
}

/// A shutdown signal that flips on Ctrl-C.
pub fn shutdown_on_ctrl_c() -> (watch::Sender<bool>, watch::Receiver<bool>) {
    let (tx, rx) = watch::channel(false);
    let tx2 = tx.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("Ctrl-C: stopping after the ticks in flight");
            let _ = tx2.send(true);
        }
    });
    (tx, rx)
}
