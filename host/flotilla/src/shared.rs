//! What many replays of the same bots over the same bars share read-only: the WebAssembly
//! engine, the compiled components and the bars, resampled once. A parameter optimization
//! runs hundreds of replays that differ only in a bot's params; each builds its own fleet
//! (its own instances, risk state, broker and seed) on top of one of these, so a run costs
//! its ticks and not a compile, a file read or a resampling.

use anyhow::{Context, Result};
use flotilla_backtest::BarEvent;
use flotilla_config::Registry;
use flotilla_domain::{Symbol, Timestamp};
use flotilla_market::BarStore;
use flotilla_runtime::{LoadedComponent, Runtime, RuntimeConfig};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

/// The engine, components and bars shared by replays (see the module docs).
pub struct SharedReplay {
    /// The engine every run's instances live in (one epoch ticker for all).
    pub(crate) runtime: Arc<Runtime>,
    /// Every component the registry names, loaded once, by resolved path.
    pub(crate) components: BTreeMap<PathBuf, Arc<LoadedComponent>>,
    /// The bars, one allocation per symbol name, in replay order.
    events: Arc<[BarEvent]>,
    /// The bars scheduled into a store (resampled to every timeframe), nothing revealed
    /// yet: each run clones it, and the clones share the schedule.
    pub(crate) store: BarStore,
}

impl std::fmt::Debug for SharedReplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedReplay")
            .field("components", &self.components)
            .field("events", &self.events.len())
            .finish_non_exhaustive()
    }
}

impl SharedReplay {
    /// Loads every component `registry` names (through `cache_dir`, as a backtest does) and
    /// schedules `events`.
    pub fn new(
        registry: &Registry,
        events: &[BarEvent],
        cache_dir: Option<PathBuf>,
    ) -> Result<Self> {
        let runtime = runtime(None, cache_dir)?;
        let mut components = BTreeMap::new();
        for spec in registry.bots().map_err(|e| anyhow::anyhow!("{e}"))? {
            if spec.enabled && !components.contains_key(&spec.component) {
                let c = runtime
                    .load_file(&spec.component)
                    .with_context(|| format!("bot {}", spec.id))?;
                components.insert(spec.component.clone(), c);
            }
        }
        let mut shared = Self {
            runtime,
            components,
            events: Arc::from([]),
            store: BarStore::new(),
        };
        shared.set_events(events)?;
        Ok(shared)
    }

    /// The same engine and components over the bars of `events` closing in `[from, to)`.
    pub fn window(&self, from: Timestamp, to: Timestamp) -> Result<Self> {
        let events: Vec<BarEvent> = self
            .events
            .iter()
            .filter(|e| from <= e.bar.time && e.close_time <= to)
            .cloned()
            .collect();
        let mut shared = Self {
            runtime: self.runtime.clone(),
            components: self.components.clone(),
            events: Arc::from([]),
            store: BarStore::new(),
        };
        shared.set_events(&events)?;
        Ok(shared)
    }

    /// The bars, in replay order.
    pub fn events(&self) -> &[BarEvent] {
        &self.events
    }

    fn set_events(&mut self, events: &[BarEvent]) -> Result<()> {
        let mut canon: BTreeSet<Symbol> = BTreeSet::new();
        let events: Vec<BarEvent> = events
            .iter()
            .map(|e| {
                let symbol = match canon.get(&e.symbol) {
                    Some(s) => s.clone(),
                    None => {
                        canon.insert(e.symbol.clone());
                        e.symbol.clone()
                    }
                };
                BarEvent {
                    symbol,
                    ..e.clone()
                }
            })
            .collect();
        self.store = schedule(&events)?;
        self.events = events.into();
        Ok(())
    }

    /// The symbols of the bars (the fleet's canonical allocations of their names).
    pub(crate) fn symbols(&self) -> BTreeSet<Symbol> {
        self.events.iter().map(|e| e.symbol.clone()).collect()
    }
}

/// `shared`'s engine, or a new one with `cache_dir`.
pub(crate) fn runtime(
    shared: Option<&SharedReplay>,
    cache_dir: Option<PathBuf>,
) -> Result<Arc<Runtime>> {
    match shared {
        Some(s) => Ok(s.runtime.clone()),
        None => Ok(Arc::new(
            Runtime::new(RuntimeConfig {
                cache_dir,
                ..Default::default()
            })
            .context("starting the WebAssembly runtime")?,
        )),
    }
}

/// A store holding the whole history of `events`, resampled once, revealed as time passes.
pub(crate) fn schedule(events: &[BarEvent]) -> Result<BarStore> {
    let mut store = BarStore::new();
    store
        .schedule(
            events
                .iter()
                .map(|e| (e.close_time, &e.symbol, e.timeframe, e.bar)),
        )
        .context("replaying bars")?;
    Ok(store)
}
