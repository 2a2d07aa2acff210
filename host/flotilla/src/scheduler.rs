//! The scheduler: one tokio task per bot, each on its own schedule.
//!
//! A bot's task waits for its next run, then runs the tick on a blocking thread and waits
//! for it to finish before planning the next run, so one bot never runs twice at once.
//! Runs whose time passed while a tick overran are skipped and counted, never queued.

use crate::clock::SchedClock;
use crate::fleet::Fleet;
use anyhow::Result;
use flotilla_domain::Timestamp;
use flotilla_ledger::{TickOutcome, TickRecord};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Most skipped runs recorded one by one after a single overrun.
const MAX_SKIPS_RECORDED: u64 = 1_000;

/// Counters of one run of the scheduler.
#[derive(Clone, Debug, Default)]
pub struct RunStats {
    /// Ticks run, per bot (same order as the fleet's bots).
    pub ticks: Vec<u64>,
    /// Runs skipped because the bot's previous tick overran.
    pub skipped: Vec<u64>,
    /// Ticks that outlived their wall-clock timeout.
    pub timeouts: Vec<u64>,
}

/// Runs every bot and the market until the clock reaches `until` or `shutdown` turns true.
pub async fn run(
    fleet: Arc<Fleet>,
    clock: Arc<dyn SchedClock>,
    until: Timestamp,
    shutdown: watch::Receiver<bool>,
) -> Result<RunStats> {
    let market = tokio::spawn(market_task(
        fleet.clone(),
        clock.clone(),
        until,
        shutdown.clone(),
    ));
    let mut tasks = Vec::new();
    for i in 0..fleet.bots().len() {
        tasks.push(tokio::spawn(bot_task(
            fleet.clone(),
            i,
            clock.clone(),
            until,
            shutdown.clone(),
        )));
    }
    let mut stats = RunStats::default();
    for t in tasks {
        let (ticks, skipped, timeouts) = t.await??;
        stats.ticks.push(ticks);
        stats.skipped.push(skipped);
        stats.timeouts.push(timeouts);
    }
    market.await??;
    Ok(stats)
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

async fn bot_task(
    fleet: Arc<Fleet>,
    i: usize,
    clock: Arc<dyn SchedClock>,
    until: Timestamp,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(u64, u64, u64)> {
    let handle = &fleet.bots()[i];
    let (mut ticks, mut skipped, mut timeouts) = (0, 0, 0);
    let mut last = clock.now();
    loop {
        let Some(next) = handle.schedule.next_after(last) else {
            break;
        };
        if next > until || !sleep_until(&*clock, next, &mut shutdown).await {
            break;
        }
        let now = clock.now();
        // Runs that fell due while we were busy are skipped, not queued.
        let mut due = next;
        let mut missed = Vec::new();
        while let Some(n) = handle.schedule.next_after(due) {
            if n > now || n > until {
                break;
            }
            if (missed.len() as u64) < MAX_SKIPS_RECORDED {
                missed.push(due);
            }
            skipped += 1;
            due = n;
        }
        if !missed.is_empty() {
            record_skips(&fleet, i, &missed, now)?;
        }
        let f = fleet.clone();
        let mut job = tokio::task::spawn_blocking(move || f.run_tick(i, due, now));
        let result = match tokio::time::timeout(handle.timeout, &mut job).await {
            Ok(r) => r,
            Err(_) => {
                // The epoch deadline ends the guest soon; the slot stays locked until then,
                // so waiting here keeps the one-run-at-a-time rule.
                timeouts += 1;
                tracing::error!(bot = %handle.id, timeout_ms = handle.timeout.as_millis() as u64, "tick outlived its timeout");
                job.await
            }
        };
        result??;
        ticks += 1;
        last = due;
    }
    Ok((ticks, skipped, timeouts))
}

fn record_skips(fleet: &Fleet, i: usize, missed: &[Timestamp], now: Timestamp) -> Result<()> {
    let handle = &fleet.bots()[i];
    let mut core = fleet.core();
    for &at in missed {
        core.ledger.record_tick(&TickRecord {
            bot: handle.id.clone(),
            seq: 0,
            scheduled_at: at,
            started_at: now,
            lateness_ms: now.0 - at.0,
            duration_us: 0,
            outcome: TickOutcome::Skipped,
            error: Some("previous run overran".into()),
            intents: Vec::new(),
            kv_writes: Vec::new(),
            positions: Vec::new(),
        })?;
    }
    let mut slot = handle.slot.lock().unwrap_or_else(|p| p.into_inner());
    slot.stats.skipped += missed.len() as u64;
    Ok(())
}

/// Keeps the market moving (so bars exist even when no bot ticks) and records equity.
async fn market_task(
    fleet: Arc<Fleet>,
    clock: Arc<dyn SchedClock>,
    until: Timestamp,
    mut shutdown: watch::Receiver<bool>,
) -> Result<()> {
    const STEP_MS: i64 = 60_000;
    const EQUITY_EVERY_MS: i64 = 15 * 60_000;
    let mut next = Timestamp((clock.now().0 / STEP_MS + 1) * STEP_MS);
    let mut next_equity = next;
    while next <= until && sleep_until(&*clock, next, &mut shutdown).await {
        let f = fleet.clone();
        let record = next >= next_equity;
        let at = next;
        tokio::task::spawn_blocking(move || -> Result<()> {
            f.advance_market(at)?;
            if record {
                f.record_equity(at)?;
            }
            Ok(())
        })
        .await??;
        if record {
            next_equity = Timestamp(next_equity.0 + EQUITY_EVERY_MS);
        }
        next = Timestamp(next.0 + STEP_MS);
    }
    Ok(())
}

/// Waits for Ctrl-C and flips `shutdown`.
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

/// Real time a simulated span takes at the clock's speed (for progress messages).
pub fn real_time(clock: &dyn SchedClock, span_ms: i64) -> Duration {
    clock.to_real(span_ms)
}
