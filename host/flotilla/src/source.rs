//! Where a fleet's bars come from: the simulator, a replay of recorded bars, or a venue's
//! live feed, each bringing the bar store up to a time.

use anyhow::{Context, Result};
use flotilla_backtest::BarEvent;
use flotilla_domain::{Bar, Symbol, Timestamp};
use flotilla_market::{BarStore, Simulator};

/// Where bars come from.
pub enum MarketSource {
    /// The embedded simulator, generating bars as time passes (boxed: it is far larger
    /// than a replay's cursor).
    Sim(Box<Simulator>),
    /// A venue's live bars.
    Live(Box<crate::live::LiveMarket>),
    /// Recorded bars, replayed in order of close time.
    Replay {
        /// The bars.
        events: Vec<BarEvent>,
        /// The next one to push.
        next: usize,
    },
}

impl MarketSource {
    /// Brings `store` up to `now` (simulated bars pushed, replayed ones revealed), appending
    /// the replayed bars to `pushed` (the simulator's are read back from the store by the
    /// host duties).
    pub(crate) fn advance_to(
        &mut self,
        now: Timestamp,
        store: &mut BarStore,
        pushed: &mut Vec<NewBar>,
        take_live: bool,
    ) -> Result<()> {
        match self {
            MarketSource::Live(live) => live.advance(store, pushed, take_live)?,
            MarketSource::Sim(sim) => {
                sim.advance_to(now, store)
                    .context("advancing the market simulator")?;
            }
            MarketSource::Replay { events, next } => {
                // The store holds their schedule (see `Fleet::build`): sealing reveals them.
                while let Some(e) = events.get(*next).filter(|e| e.close_time <= now) {
                    pushed.push(NewBar {
                        symbol: e.symbol.clone(),
                        bar: e.bar,
                        timeframe: e.timeframe,
                    });
                    *next += 1;
                }
                store.seal_until(now);
            }
        }
        Ok(())
    }

    /// When the next replayed bar closes (`None` for the simulator or at the end).
    pub fn next_event(&self) -> Option<Timestamp> {
        match self {
            MarketSource::Sim(_) | MarketSource::Live(_) => None,
            MarketSource::Replay { events, next } => events.get(*next).map(|e| e.close_time),
        }
    }
}

/// A bar the market just closed, at the timeframe it arrived in.
#[derive(Clone, Debug, PartialEq)]
pub struct NewBar {
    /// Its symbol.
    pub symbol: Symbol,
    /// The bar.
    pub bar: Bar,
    /// The symbol's native timeframe.
    pub timeframe: flotilla_domain::Timeframe,
}
