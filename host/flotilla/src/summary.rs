//! The compact live summary `flotilla run` prints while the fleet runs: one line of
//! counts (ticks, failures, fills, host exits, refusals), equity and the trading state,
//! redrawn in place on a terminal and printed every few seconds otherwise, instead of a
//! line per event. The counts are the metrics' running totals.

use flotilla_telemetry::FleetPort;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Prints the summary until the task is dropped.
pub async fn run(port: Arc<dyn FleetPort>) {
    let tty = std::io::stderr().is_terminal();
    let mut every = tokio::time::interval(Duration::from_secs(if tty { 1 } else { 10 }));
    every.tick().await;
    loop {
        every.tick().await;
        let p = port.clone();
        let Ok((snap, now)) = tokio::task::spawn_blocking(move || (p.snapshot(), p.now_ms())).await
        else {
            return;
        };
        let t = &port.metrics().totals;
        let n = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        let line = format!(
            "{}  {} ticks ({} failed)  {} fills ({} host exits)  {} refused  equity {}  {}",
            crate::report::fmt_time(flotilla_domain::Timestamp(now)),
            n(&t.ticks),
            n(&t.failed),
            n(&t.fills),
            n(&t.exit_fills),
            n(&t.refused),
            snap.equity,
            snap.trading_state.to_uppercase()
        );
        let mut err = std::io::stderr().lock();
        let _ = if tty {
            write!(err, "\r\x1b[2K{line}")
        } else {
            writeln!(err, "flotilla: {line}")
        };
        let _ = err.flush();
    }
}
