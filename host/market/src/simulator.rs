//! The embedded market simulator: seeded geometric Brownian motion with regime switches
//! and a shared market factor, producing 1-minute OHLCV bars.
//!
//! # Model
//!
//! Each minute is split into `substeps_per_minute` steps of `dt = 1 / (525_600 * K)`
//! years. Per step, every symbol's log-price moves by
//! `(mu - sigma^2 / 2) dt + sigma sqrt(dt) z`, where
//!
//! * `sigma = annual_vol * vol_scale(regime)` and
//!   `mu = annual_drift + drift_shift(regime) * annual_vol` (see [`RegimeConfig`]);
//! * `z = loading * m + sqrt(1 - loading^2) * e`, with `m` the market factor shock (one
//!   per step, shared by all symbols) and `e` the symbol's own shock, both standard
//!   normal; so the shocks of two symbols correlate by the product of their loadings.
//!   Regimes are per symbol and independent, so realised return correlation comes out
//!   somewhat below that product when regimes scale the two symbols' vols differently.
//!
//! The bar's open is the previous close, its close the last step, its high and low the
//! extremes over all steps. Volume is `base_volume` scaled by the regime's volatility, a
//! log-normal factor and the size of the bar's move, so busy minutes trade more.
//!
//! # Determinism
//!
//! Every random number comes from a ChaCha8 stream keyed by the seed; the market factor
//! and each symbol have their own stream (selected by a stable hash of the symbol name),
//! so adding, removing or reordering symbols leaves the others' bars unchanged. The same
//! config and the same sequence of warm-up / advance calls give identical bars; how
//! `advance_to` calls are chunked does not matter.
//!
//! [`RegimeConfig`]: crate::RegimeConfig

use crate::config::{ConfigError, SimConfig};
use crate::regime::RegimeChain;
use crate::store::{BarStore, StoreError};
use flotilla_domain::{Bar, Symbol, Timeframe, Timestamp};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

const MINUTE: i64 = Timeframe::M1.millis();
/// The simulator trades around the clock, so a year has 365 * 24 * 60 minutes.
pub const MINUTES_PER_YEAR: f64 = 525_600.0;
/// Log-prices are clamped to this range so no config can reach 0 or infinity.
const LOG_PRICE_LIMIT: f64 = 50.0;

/// Why the simulator could not be built or could not deliver bars.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimError {
    /// The configuration is invalid.
    #[error("invalid simulator config: {0}")]
    Config(#[from] ConfigError),
    /// The store refused a generated bar (someone else pushed later bars for the symbol).
    #[error("bar store refused a simulated bar: {0}")]
    Store(#[from] StoreError),
    /// `warm_up` was called after bars had already been generated.
    #[error("warm-up must happen before the first bar is generated")]
    AlreadyStarted,
}

/// FNV-1a, 64-bit: a hash that, unlike std's, is fixed forever, so streams are stable.
fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The stream id of `name` in the namespace `tag` (NUL-separated, so no two collide).
fn stable_hash(tag: &str, name: &str) -> u64 {
    fnv1a(tag.bytes().chain([0]).chain(name.bytes()))
}

/// A ChaCha8 stream for `(seed, tag, name)`.
fn stream(seed: u64, tag: &str, name: &str) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stable_hash(tag, name));
    rng
}

/// A ChaCha8 stream of standard normals (rand_distr's Ziggurat) and uniforms.
#[derive(Clone, Debug)]
struct Normals {
    rng: ChaCha8Rng,
}

impl Normals {
    fn new(rng: ChaCha8Rng) -> Self {
        Self { rng }
    }

    /// The next standard normal.
    fn next(&mut self) -> f64 {
        StandardNormal.sample(&mut self.rng)
    }

    /// A uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        self.rng.random::<f64>()
    }
}

/// The evolving state of one simulated symbol.
#[derive(Clone, Debug)]
struct SymbolState {
    symbol: Symbol,
    rng: Normals,
    log_price: f64,
    price: f64,
    regime: usize,
    annual_drift: f64,
    annual_vol: f64,
    loading: f64,
    /// `sqrt(1 - loading^2)`, the weight of the symbol's own shock.
    own: f64,
    base_volume: f64,
}

impl SymbolState {
    /// Generates the bar starting at `time`, given this minute's market shocks.
    fn next_bar(&mut self, time: Timestamp, market: &[f64], chain: &RegimeChain) -> Bar {
        self.regime = chain.step(self.regime, || self.rng.uniform());
        let scale = chain.vol_scale(self.regime);
        let sigma = self.annual_vol * scale;
        let mu = self.annual_drift + chain.drift_shift(self.regime) * self.annual_vol;
        let dt = 1.0 / (MINUTES_PER_YEAR * market.len() as f64);
        let step_drift = (mu - 0.5 * sigma * sigma) * dt;
        let step_sd = sigma * dt.sqrt();

        let open = self.price;
        let (mut high, mut low) = (open, open);
        for m in market {
            let e = self.rng.next();
            let z = self.loading * m + self.own * e;
            self.log_price = (self.log_price + step_drift + step_sd * z)
                .clamp(-LOG_PRICE_LIMIT, LOG_PRICE_LIMIT);
            let p = self.log_price.exp();
            high = high.max(p);
            low = low.min(p);
        }
        let close = self.log_price.exp();
        self.price = close;

        // Busy minutes trade more: scale by the move's size in minute-sigmas.
        let minute_sd = sigma / MINUTES_PER_YEAR.sqrt();
        let move_sigmas = if minute_sd > 0.0 {
            ((close / open).ln() / minute_sd).abs().min(10.0)
        } else {
            0.0
        };
        let noise = self.rng.next();
        // exp(0.4 n - 0.08) has mean 1; 0.5 + 0.6 |Z| has mean ~0.98.
        let volume =
            self.base_volume * scale * (0.4 * noise - 0.08).exp() * (0.5 + 0.6 * move_sigmas);
        Bar {
            time,
            open,
            high,
            low,
            close,
            volume,
        }
    }
}

/// Generates 1-minute bars for every configured symbol, deterministically from the seed.
#[derive(Clone, Debug)]
pub struct Simulator {
    config: SimConfig,
    chain: RegimeChain,
    market_rng: Normals,
    /// This minute's market factor shocks, one per sub-step (kept to avoid reallocating).
    market: Vec<f64>,
    symbols: Vec<SymbolState>,
    /// Start of the next bar to generate; every bar closing by this time is generated.
    next_start: Timestamp,
    /// The floored configured start, where warm-up ends and live bars begin.
    start: Timestamp,
    /// Minutes generated so far.
    minutes: u64,
    /// Scratch buffer for one minute's bars.
    scratch: Vec<Bar>,
}

impl Simulator {
    /// Builds a simulator from a validated copy of `config`; no bar is generated yet.
    pub fn new(config: SimConfig) -> Result<Self, SimError> {
        config.validate()?;
        let start = config.start.floor(Timeframe::M1);
        let symbols = config
            .symbols
            .iter()
            .map(|s| SymbolState {
                symbol: s.symbol.clone(),
                rng: Normals::new(stream(config.seed, "symbol", s.symbol.as_str())),
                log_price: s.start_price.ln(),
                price: s.start_price,
                regime: 0,
                annual_drift: s.annual_drift,
                annual_vol: s.annual_vol,
                loading: s.market_loading,
                own: (1.0 - s.market_loading * s.market_loading).max(0.0).sqrt(),
                base_volume: s.base_volume,
            })
            .collect();
        Ok(Self {
            chain: RegimeChain::new(&config.regimes),
            market_rng: Normals::new(stream(config.seed, "market", "")),
            market: vec![0.0; config.substeps_per_minute as usize],
            symbols,
            next_start: start,
            start,
            minutes: 0,
            scratch: Vec::with_capacity(config.symbols.len()),
            config,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The simulated symbols, in config order.
    pub fn symbols(&self) -> impl Iterator<Item = &Symbol> {
        self.symbols.iter().map(|s| &s.symbol)
    }

    /// Every bar closing at or before this time has been generated; the next bar starts
    /// here.
    pub fn generated_until(&self) -> Timestamp {
        self.next_start
    }

    /// The name of the regime `symbol` is currently in, or `None` for an unknown symbol.
    pub fn regime(&self, symbol: &Symbol) -> Option<&str> {
        let s = self.symbols.iter().find(|s| &s.symbol == symbol)?;
        Some(self.chain.name(s.regime))
    }

    /// Pushes into `store` every 1-minute bar, of all symbols, whose close time is at or
    /// before `now` and that was not generated before, in time order (within a minute,
    /// in config order). Returns the number of minutes generated.
    ///
    /// The first call starts at the configured start (or where [`Simulator::warm_up`]
    /// left off). A store error leaves that minute partly pushed; it only happens if
    /// another writer pushed bars of a simulated symbol.
    pub fn advance_to(&mut self, now: Timestamp, store: &mut BarStore) -> Result<u64, SimError> {
        for s in &self.symbols {
            store.add_symbol(&s.symbol);
        }
        let mut generated = 0;
        while self.next_start.plus_millis(MINUTE) <= now {
            self.step();
            for (s, bar) in self.symbols.iter().zip(&self.scratch) {
                store.push_m1(&s.symbol, *bar)?;
            }
            generated += 1;
        }
        Ok(generated)
    }

    /// Pre-fills `store` with `n_minutes` of history ending at the configured start, so
    /// bots with long lookbacks can trade from the first live minute. Must come before
    /// any bar is generated. Returns the number of minutes generated.
    pub fn warm_up(&mut self, store: &mut BarStore, n_minutes: u32) -> Result<u64, SimError> {
        if self.minutes > 0 {
            return Err(SimError::AlreadyStarted);
        }
        self.next_start = self.start.plus_millis(-i64::from(n_minutes) * MINUTE);
        self.advance_to(self.start, store)
    }

    /// Generates the next minute's bars into `self.scratch`, in config order.
    fn step(&mut self) {
        for m in &mut self.market {
            *m = self.market_rng.next();
        }
        self.scratch.clear();
        for s in &mut self.symbols {
            self.scratch
                .push(s.next_bar(self.next_start, &self.market, &self.chain));
        }
        self.next_start = self.next_start.plus_millis(MINUTE);
        self.minutes += 1;
    }
}

#[cfg(test)]
#[path = "simulator_tests.rs"]
mod tests;
