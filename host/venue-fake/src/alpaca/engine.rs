//! The fake's market loop: as each minute closes on the fake clock, its bars go to the
//! paper venue (which matches the working orders on its model) and to the data streams,
//! and what happened to orders goes to `trade_updates`.

use super::state::State;
use crate::sim::MINUTE;
use flotilla_domain::{Bar, Timestamp};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How often the loop looks at the clock (real time).
const TICK: Duration = Duration::from_millis(5);

/// The volume the matching model sees: the bar's, scaled by the partial-fill fault (the
/// venue fills at most all of what it is given), or plenty when the fault is off.
fn matching_bar(st: &State, bar: &Bar) -> Bar {
    let ppm = st.faults.partial_fill_ppm.load(Ordering::Relaxed);
    let volume = if ppm == 0 {
        1e12
    } else {
        bar.volume * f64::from(ppm) / 1e6
    };
    Bar { volume, ..*bar }
}

/// Runs for ever: every closed minute, from the clock's start, is matched and published.
pub async fn run(st: Arc<State>) {
    let symbols: Vec<_> = st.config.symbols.iter().map(|(s, _)| s.clone()).collect();
    let mut next = st.clock.true_now().0.div_euclid(MINUTE) * MINUTE;
    loop {
        tokio::time::sleep(TICK).await;
        let now = st.clock.true_now().0;
        while next + MINUTE <= now {
            let (from, to) = (Timestamp(next), Timestamp(next + MINUTE));
            let mut batch = Vec::with_capacity(symbols.len());
            for s in &symbols {
                if let Some(b) = st.market.bars(s, from, to).first() {
                    batch.push((s.clone(), *b));
                }
            }
            match st.venue.expire_due(to) {
                Ok(events) => events.iter().for_each(|e| st.publish(e)),
                Err(e) => tracing::error!(error = %e, "fake alpaca: expiry"),
            }
            for (s, b) in &batch {
                match st.venue.on_bar(s, &matching_bar(&st, b)) {
                    Ok(events) => events.iter().for_each(|e| st.publish(e)),
                    Err(e) => tracing::error!(error = %e, "fake alpaca: matching"),
                }
            }
            let _ = st.bars.send(batch);
            next += MINUTE;
        }
    }
}
