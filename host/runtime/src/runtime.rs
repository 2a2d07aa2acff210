//! The shared engine, the linker and component loading.

use crate::cache::ComponentCache;
use crate::error::RuntimeError;
use crate::guest::{Contract, GuestPre};
use crate::host::BotState;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine};

/// The contract package and version of `wit/`, what new bots are built against.
pub const CONTRACT: &str = CONTRACT_0_7;
/// Contract 0.7.0: limit orders, working orders, cancels, order updates.
pub const CONTRACT_0_7: &str = "flotilla:bot@0.7.0";
/// Contract 0.6.0 (`wit/0.6.0/`), still run unchanged.
pub const CONTRACT_0_6: &str = "flotilla:bot@0.6.0";
const STRATEGY_EXPORT: &str = "flotilla:bot/strategy";

/// How the runtime is set up.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Directory for compiled components, keyed by content hash; `None` disables caching.
    pub cache_dir: Option<PathBuf>,
    /// How often the epoch advances; deadlines are counted in these ticks.
    pub epoch_tick: Duration,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            cache_dir: None,
            epoch_tick: Duration::from_millis(1),
        }
    }
}

/// One engine and linker shared by every bot. Dropping it stops the epoch ticker.
pub struct Runtime {
    engine: Engine,
    linker: Linker<BotState>,
    cache: Option<ComponentCache>,
    epoch_tick: Duration,
    /// Epoch beats since the engine started, readable without a clock call.
    beats: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

/// A compiled, contract-checked component, ready to instantiate many times.
pub struct LoadedComponent {
    pub(crate) pre: GuestPre,
    /// Hex SHA-256 of the component bytes.
    pub hash: String,
    /// Where it was loaded from.
    pub origin: String,
    /// Whether it came from the compilation cache.
    pub from_cache: bool,
    /// Time spent compiling or deserialising.
    pub load_time: Duration,
}

impl LoadedComponent {
    /// The contract version the component was built for.
    pub fn contract(&self) -> Contract {
        self.pre.contract()
    }
}

impl std::fmt::Debug for LoadedComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedComponent")
            .field("origin", &self.origin)
            .field("hash", &self.hash)
            .field("contract", &self.contract())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Builds the engine (Cranelift, component model, epoch interruption) and the linker
    /// with WASI p2 (no capabilities granted) and the Flotilla host interfaces of every
    /// contract version: their names carry the version, so one linker serves both.
    pub fn new(config: RuntimeConfig) -> Result<Self, RuntimeError> {
        let mut wcfg = Config::new();
        wcfg.wasm_component_model(true);
        wcfg.epoch_interruption(true);
        // Bots are untrusted: a bounded stack turns runaway recursion into a clean trap.
        wcfg.max_wasm_stack(1 << 20);
        let engine = Engine::new(&wcfg).map_err(|e| RuntimeError::Engine(e.to_string()))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| RuntimeError::Engine(e.to_string()))?;
        crate::bindings::v07::Bot::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| RuntimeError::Engine(e.to_string()))?;
        crate::bindings::v06::Bot::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| RuntimeError::Engine(e.to_string()))?;
        let cache = config
            .cache_dir
            .map(|dir| ComponentCache::new(dir, &engine));
        let stop = Arc::new(AtomicBool::new(false));
        let beats = Arc::new(AtomicU64::new(0));
        spawn_epoch_ticker(
            engine.clone(),
            config.epoch_tick,
            beats.clone(),
            stop.clone(),
        );
        Ok(Self {
            engine,
            linker,
            cache,
            epoch_tick: config.epoch_tick,
            beats,
            stop,
        })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The count of epoch beats, for deadlines measured from a point inside a call.
    pub(crate) fn beats(&self) -> Arc<AtomicU64> {
        self.beats.clone()
    }

    /// Deadline in epoch ticks for a call budget.
    pub(crate) fn deadline_ticks(&self, budget: Duration) -> u64 {
        (budget.as_micros() / self.epoch_tick.as_micros().max(1)).max(1) as u64
    }

    /// Loads a component file: from the cache when it holds these exact bytes, else compiled.
    pub fn load_file(&self, path: &Path) -> Result<Arc<LoadedComponent>, RuntimeError> {
        let bytes = std::fs::read(path).map_err(|source| RuntimeError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.load_bytes(&bytes, &path.display().to_string())
    }

    /// Loads a component from bytes; `origin` names it in errors.
    pub fn load_bytes(
        &self,
        bytes: &[u8],
        origin: &str,
    ) -> Result<Arc<LoadedComponent>, RuntimeError> {
        let started = Instant::now();
        let hash = crate::cache::content_hash(bytes);
        let compile_err = |e: wasmtime::Error| RuntimeError::Compile {
            origin: origin.to_string(),
            message: first_line(&e),
        };
        let cached = self.cache.as_ref().and_then(|c| c.get(&hash));
        let from_cache = cached.is_some();
        let component = match cached {
            Some(c) => c,
            None => {
                let c = Component::new(&self.engine, bytes).map_err(compile_err)?;
                if let Some(cache) = &self.cache {
                    cache.put(&hash, &c);
                }
                c
            }
        };
        let contract = self.contract_of(&component, origin)?;
        let instance_pre =
            self.linker
                .instantiate_pre(&component)
                .map_err(|e| RuntimeError::Link {
                    origin: origin.to_string(),
                    message: format!("{e:#}"),
                })?;
        let pre = GuestPre::new(contract, instance_pre).map_err(|e| RuntimeError::Link {
            origin: origin.to_string(),
            message: format!("{e:#}"),
        })?;
        Ok(Arc::new(LoadedComponent {
            pre,
            hash,
            origin: origin.to_string(),
            from_cache,
            load_time: started.elapsed(),
        }))
    }

    /// The contract version a component was built for, by the strategy interface it
    /// exports; another version is refused, naming it and the ones this host runs.
    fn contract_of(&self, component: &Component, origin: &str) -> Result<Contract, RuntimeError> {
        let ty = component.component_type();
        let exports: Vec<String> = ty
            .exports(&self.engine)
            .map(|(n, _)| n.to_string())
            .collect();
        if let Some(c) = Contract::ALL
            .into_iter()
            .find(|c| exports.contains(&c.strategy_export()))
        {
            return Ok(c);
        }
        match exports.iter().find(|n| n.starts_with(STRATEGY_EXPORT)) {
            Some(found) => Err(RuntimeError::ContractMismatch {
                origin: origin.to_string(),
                found: found.replace("/strategy", ""),
                expected: Contract::ALL.map(|c| format!("`{c}`")).join(" and "),
            }),
            None => Err(RuntimeError::NotABot {
                origin: origin.to_string(),
                exports: if exports.is_empty() {
                    "none".into()
                } else {
                    exports.join(", ")
                },
            }),
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn first_line(e: &wasmtime::Error) -> String {
    format!("{e:#}")
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Advances the engine's epoch on a fixed beat; every store's deadline counts these beats.
/// `beats` counts them too: a tick notes where it started in beats, not with a clock call
/// (reading the clock at each tick of a replay run is a visible share of its cost).
fn spawn_epoch_ticker(
    engine: Engine,
    tick: Duration,
    beats: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) {
    std::thread::Builder::new()
        .name("flotilla-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(tick);
                engine.increment_epoch();
                beats.fetch_add(1, Ordering::Relaxed);
            }
        })
        .expect("spawning the epoch thread");
}
