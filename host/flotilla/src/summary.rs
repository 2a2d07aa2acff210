//! The compact live summary `flotilla run` prints while the fleet runs: one line of
//! counts (ticks, fills, refusals, errors), equity and the trading state, redrawn in place
//! on a terminal and printed every few seconds otherwise, instead of a line per event.

use flotilla_telemetry::{EventData, FleetPort};
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// Counts since the run began.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    /// Bot ticks run.
    pub ticks: u64,
    /// Ticks that failed.
    pub errors: u64,
    /// Fills booked.
    pub fills: u64,
    /// Intents refused.
    pub refused: u64,
    /// Host exits filled.
    pub exits: u64,
}

impl Counts {
    /// Counts one event.
    pub fn add(&mut self, data: &EventData) {
        match data {
            EventData::Tick { outcome, .. } => {
                self.ticks += 1;
                if !matches!(outcome.as_str(), "ok" | "skipped") {
                    self.errors += 1;
                }
            }
            EventData::Fill { exit, .. } => {
                self.fills += 1;
                if *exit {
                    self.exits += 1;
                }
            }
            EventData::Verdict { verdict, .. } if verdict == "refused" => self.refused += 1,
            _ => {}
        }
    }
}

/// Prints the summary until the task is dropped; the fleet time comes from `port`.
pub async fn run(port: Arc<dyn FleetPort>) {
    let tty = std::io::stderr().is_terminal();
    let every = Duration::from_secs(if tty { 1 } else { 10 });
    let mut rx = port.events().subscribe();
    let mut counts = Counts::default();
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(ev) => counts.add(&ev.data),
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            },
            _ = tick.tick() => {
                let p = port.clone();
                let Ok((snap, now)) =
                    tokio::task::spawn_blocking(move || (p.snapshot(), p.now_ms())).await
                else {
                    return;
                };
                let time = crate::report::fmt_time(flotilla_domain::Timestamp(now));
                let line = format!(
                    "{time}  {} ticks ({} failed)  {} fills ({} host exits)  {} refused  equity {}  {}",
                    counts.ticks, counts.errors, counts.fills, counts.exits, counts.refused,
                    snap.equity, snap.trading_state.to_uppercase()
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
    }
}
