//! Tick cost of one strategy in three languages: RSI mean reversion on the host's
//! `indicator` import, as `rsi_rust` (Rust SDK), `rsi_python` (componentize-py) and
//! `rsi_js` (componentize-js). Same rule, params and host calls per tick.
//!
//! Each iteration moves a two-symbol market fixture on by one minute and calls `on-tick`;
//! the intents' targets become the bot's positions, as the broker would make them, so
//! the bots see a consistent book. Needs the bots built: `scripts/build-bots.sh`, then
//! `cargo bench -p flotilla-runtime --bench languages`.

use criterion::{Criterion, criterion_group, criterion_main};
use flotilla_domain::{Bar, BotId, MarketData, MarketError, Symbol, Timeframe, Timestamp};
use flotilla_runtime::{
    BotInstance, HostIo, PositionView, RawAction, Runtime, RuntimeConfig, SandboxLimits,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const SYMBOLS: [&str; 2] = ["AAA", "BBB"];
/// Bars per symbol; the cursor cycles through them after the warm-up.
const BARS: usize = 4_000;
/// Bars always visible before the cursor, so RSI is never warming up.
const WARM: usize = 500;
const MINUTE: i64 = 60_000;

/// Minute bars of a mean-reverting random walk per symbol; bots see those up to `cursor`.
struct Fixture {
    bars: Vec<(Symbol, Vec<Bar>)>,
    cursor: AtomicUsize,
}

impl Fixture {
    fn new() -> Self {
        // A 64-bit LCG: deterministic, no dependency, good enough for prices.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut noise = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let bars = SYMBOLS
            .iter()
            .map(|s| {
                let mut x = 0.0f64;
                let bars = (0..BARS)
                    .map(|i| {
                        let open = 100.0 * x.exp();
                        // Pulled back to 100 so RSI swings through both extremes.
                        x = 0.97 * x + 0.004 * noise();
                        let close = 100.0 * x.exp();
                        Bar {
                            time: Timestamp(i as i64 * MINUTE),
                            open,
                            high: open.max(close) * 1.0005,
                            low: open.min(close) * 0.9995,
                            close,
                            volume: 1_000.0,
                        }
                    })
                    .collect();
                (Symbol::new(*s), bars)
            })
            .collect();
        Self {
            bars,
            cursor: AtomicUsize::new(WARM),
        }
    }

    /// Moves on one bar (wrapping after the last) and returns the new bar's close time.
    fn advance(&self) -> Timestamp {
        let next = self.cursor.load(Ordering::Relaxed) + 1;
        let next = if next > BARS { WARM } else { next };
        self.cursor.store(next, Ordering::Relaxed);
        Timestamp(next as i64 * MINUTE)
    }

    fn visible(&self, symbol: &Symbol) -> Result<&[Bar], MarketError> {
        let (_, bars) = self
            .bars
            .iter()
            .find(|(s, _)| s == symbol)
            .ok_or_else(|| MarketError::UnknownSymbol(symbol.clone()))?;
        Ok(&bars[..self.cursor.load(Ordering::Relaxed)])
    }
}

impl MarketData for Fixture {
    fn bars(&self, symbol: &Symbol, tf: Timeframe, count: usize) -> Result<Vec<Bar>, MarketError> {
        let mut out = Vec::new();
        self.bars_into(symbol, tf, count, &mut out)?;
        Ok(out)
    }

    /// Into the caller's buffer, as the real stores do (the default allocates).
    fn bars_into(
        &self,
        symbol: &Symbol,
        tf: Timeframe,
        count: usize,
        out: &mut Vec<Bar>,
    ) -> Result<(), MarketError> {
        out.clear();
        let bars = self.visible(symbol)?;
        if tf == Timeframe::M1 {
            out.extend_from_slice(&bars[bars.len().saturating_sub(count)..]);
        }
        Ok(())
    }

    fn last_price(&self, symbol: &Symbol) -> Result<(f64, Timestamp), MarketError> {
        let bars = self.visible(symbol)?;
        let last = bars
            .last()
            .ok_or_else(|| MarketError::NoData(symbol.clone()))?;
        Ok((last.close, Timestamp(last.time.0 + MINUTE)))
    }
}

fn bots_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bots/target/wasm32-wasip2/release")
}

/// A running instance of bot `name` on the fixture, initialised with default params.
fn instance(rt: &Runtime, name: &str, market: Arc<Fixture>, symbols: &[&str]) -> BotInstance {
    let path = bots_dir().join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: run scripts/build-bots.sh",
        path.display()
    );
    let size = std::fs::metadata(&path).unwrap().len();
    let started = Instant::now();
    let component = rt.load_file(&path).unwrap();
    let io = HostIo::new(
        BotId::new(name),
        symbols.iter().map(|s| Symbol::new(*s)).collect(),
        market,
    );
    // 128 MB for all three: SpiderMonkey lets the JS heap grow to ~75-80 MB before it
    // settles, and the host traps on a failed memory.grow (see README, "Sizes ...").
    let limits = SandboxLimits {
        memory_bytes: 128 << 20,
        ..SandboxLimits::default()
    };
    let mut bot = BotInstance::new(rt, &component, io, limits, 7).unwrap();
    bot.init(&[]).unwrap();
    eprintln!(
        "{name}: {:.2} MB, loaded in {:?} ({}), instantiated and initialised in {:?} total",
        size as f64 / 1e6,
        component.load_time,
        if component.from_cache {
            "cache"
        } else {
            "compiled"
        },
        started.elapsed()
    );
    bot
}

/// One tick: the market moves a bar, the bot decides, its targets become its positions.
fn tick(bot: &mut BotInstance, market: &Fixture) -> usize {
    let now = market.advance();
    let out = bot.on_tick(now, 100_000.0).expect("tick succeeds");
    for intent in &out.intents {
        if let RawAction::Target(qty) = intent.action {
            let mut positions = bot.io().positions.to_vec();
            positions.retain(|p| p.symbol.as_str() != intent.symbol);
            if qty != 0.0 {
                positions.push(PositionView {
                    symbol: Symbol::new(intent.symbol.as_str()),
                    quantity: qty,
                    avg_price: 100.0,
                });
            }
            bot.io().positions = positions.into();
        }
    }
    out.intents.len()
}

fn bench(c: &mut Criterion) {
    let cache = std::env::temp_dir().join("flotilla-bench-languages-cache");
    let rt = Runtime::new(RuntimeConfig {
        cache_dir: Some(cache),
        ..Default::default()
    })
    .unwrap();
    let mut group = c.benchmark_group("on_tick");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    let mut counts = Vec::new();
    for name in ["rsi_rust", "rsi_python", "rsi_js"] {
        let market = Arc::new(Fixture::new());
        let mut bot = instance(&rt, name, market.clone(), &SYMBOLS);
        // The strategy must really trade on the fixture, or the bench measures a no-op;
        // and the three must be the same strategy, so they must send the same intents.
        let intents: usize = (0..BARS).map(|_| tick(&mut bot, &market)).sum();
        assert!(
            intents > 10,
            "{name} sent {intents} intents over the fixture"
        );
        eprintln!("{name}: {intents} intents over {BARS} ticks");
        counts.push(intents);
        assert!(
            counts.iter().all(|&n| n == intents),
            "intents per language: {counts:?}"
        );
        group.bench_function(name, |b| b.iter(|| tick(&mut bot, &market)));
    }
    group.finish();
    // The backtest's bot: the floor of what one bar costs in the sandbox, host calls
    // included, on one symbol.
    let mut group = c.benchmark_group("on_tick_one_symbol");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    let market = Arc::new(Fixture::new());
    let mut bot = instance(&rt, "sma_crossover", market.clone(), &SYMBOLS[..1]);
    let intents: usize = (0..BARS).map(|_| tick(&mut bot, &market)).sum();
    assert!(intents > 10, "sma_crossover sent {intents} intents");
    group.bench_function("sma_crossover", |b| b.iter(|| tick(&mut bot, &market)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
