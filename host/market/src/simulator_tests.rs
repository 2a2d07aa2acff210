//! Tests of the simulator: determinism, timing, stream independence and statistics.

use super::*;
use crate::config::{RegimeConfig, SymbolConfig};
use std::sync::OnceLock;
use std::time::Instant;

const DAY: i64 = 1_440;
const DEFAULT_START_FOR_TEST: i64 = crate::config::DEFAULT_START.0;

/// Runs `config` for `minutes` from its start into a store keeping `cap` bars per series.
fn run(config: SimConfig, minutes: i64, cap: usize) -> (Simulator, BarStore) {
    let mut sim = Simulator::new(config).unwrap();
    let mut store = BarStore::with_capacity(cap);
    let end = sim.generated_until().plus_millis(minutes * MINUTE);
    assert_eq!(sim.advance_to(end, &mut store).unwrap(), minutes as u64);
    (sim, store)
}

fn m1_bars(store: &BarStore, symbol: &str) -> Vec<Bar> {
    store
        .bars(&Symbol::new(symbol), Timeframe::M1, usize::MAX)
        .unwrap()
}

fn log_returns(bars: &[Bar]) -> Vec<f64> {
    bars.windows(2)
        .map(|w| (w[1].close / w[0].close).ln())
        .collect()
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

fn std_dev(xs: &[f64]) -> f64 {
    let m = mean(xs);
    (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt()
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let (ma, mb) = (mean(a), mean(b));
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

/// Thirty days of the default config, every 1m bar kept; generated once, shared.
fn month() -> &'static BarStore {
    static MONTH: OnceLock<BarStore> = OnceLock::new();
    MONTH.get_or_init(|| run(SimConfig::default(), 30 * DAY, 30 * DAY as usize).1)
}

fn small_config(seed: u64, names: &[&str]) -> SimConfig {
    let defaults = SymbolConfig::default_set();
    let symbols = names
        .iter()
        .map(
            |n| match defaults.iter().find(|d| d.symbol.as_str() == *n) {
                Some(d) => d.clone(),
                None => SymbolConfig::new(n, 25.0, 0.0, 0.4),
            },
        )
        .collect();
    SimConfig {
        seed,
        symbols,
        ..SimConfig::default()
    }
}

#[test]
fn same_seed_gives_identical_bars_and_another_seed_differs() {
    let (_, a) = run(SimConfig::default(), 2 * DAY, 10_000);
    let (_, b) = run(SimConfig::default(), 2 * DAY, 10_000);
    let (_, c) = run(
        small_config(43, &["AAPL", "MSFT", "SPY", "QQQ", "BTC-USD", "ETH-USD"]),
        2 * DAY,
        10_000,
    );
    for s in SimConfig::default().symbols {
        for tf in Timeframe::ALL {
            let bars_a = a.bars(&s.symbol, tf, usize::MAX).unwrap();
            assert!(!bars_a.is_empty());
            assert_eq!(
                bars_a,
                b.bars(&s.symbol, tf, usize::MAX).unwrap(),
                "{} {tf}",
                s.symbol
            );
        }
        let (ma, mc) = (
            m1_bars(&a, s.symbol.as_str()),
            m1_bars(&c, s.symbol.as_str()),
        );
        assert_eq!(ma[0].open, mc[0].open, "same start price");
        assert!(
            ma.iter().zip(&mc).all(|(x, y)| x.close != y.close),
            "{}",
            s.symbol
        );
    }
}

#[test]
fn chunking_of_advance_calls_does_not_matter() {
    let config = small_config(9, &["SPY", "BTC-USD"]);
    let (_, whole) = run(config.clone(), 500, 10_000);
    let mut sim = Simulator::new(config).unwrap();
    let mut store = BarStore::with_capacity(10_000);
    let start = sim.generated_until();
    let mut total = 0;
    // Odd, unaligned steps, including ones that produce no bar.
    for offset_ms in (0..=500 * MINUTE).step_by(37_123).chain([500 * MINUTE]) {
        total += sim
            .advance_to(start.plus_millis(offset_ms), &mut store)
            .unwrap();
    }
    assert_eq!(total, 500);
    for s in ["SPY", "BTC-USD"] {
        assert_eq!(m1_bars(&whole, s), m1_bars(&store, s));
    }
}

#[test]
fn advance_to_generates_exactly_the_minutes_closed_by_now() {
    let config = SimConfig {
        start: Timestamp(DEFAULT_START_FOR_TEST + 12_345),
        ..small_config(1, &["AAPL"])
    };
    let mut sim = Simulator::new(config).unwrap();
    let start = Timestamp(DEFAULT_START_FOR_TEST);
    assert_eq!(
        sim.generated_until(),
        start,
        "start is floored to the minute"
    );
    let mut store = BarStore::new();
    let aapl = Symbol::new("AAPL");
    assert_eq!(
        sim.advance_to(start.plus_millis(MINUTE - 1), &mut store)
            .unwrap(),
        0
    );
    assert!(
        store.contains(&aapl),
        "symbols are registered before the first bar"
    );
    assert_eq!(
        sim.advance_to(start.plus_millis(MINUTE), &mut store)
            .unwrap(),
        1
    );
    assert_eq!(
        sim.advance_to(start.plus_millis(MINUTE), &mut store)
            .unwrap(),
        0
    );
    assert_eq!(
        sim.advance_to(start.plus_millis(7 * MINUTE + 5), &mut store)
            .unwrap(),
        6
    );
    assert_eq!(sim.generated_until(), start.plus_millis(7 * MINUTE));
    let (price, at) = store.last_price(&aapl).unwrap();
    assert_eq!(at, start.plus_millis(7 * MINUTE));
    let bars = m1_bars(&store, "AAPL");
    assert_eq!(bars.len(), 7);
    assert_eq!(bars[6].close, price);
    assert_eq!(bars[0].open, 190.0);
    for w in bars.windows(2) {
        assert_eq!(w[1].time, w[0].time.plus_millis(MINUTE));
        assert_eq!(w[1].open, w[0].close, "open is the previous close");
    }
    // 5m: [0, 5) has closed; [5, 10) is forming and must not be served.
    assert_eq!(store.bars(&aapl, Timeframe::M5, 10).unwrap().len(), 1);
}

#[test]
fn warm_up_fills_history_up_to_the_start() {
    let mut sim = Simulator::new(small_config(5, &["QQQ", "ETH-USD"])).unwrap();
    let mut store = BarStore::new();
    let start = Timestamp(DEFAULT_START_FOR_TEST);
    assert_eq!(sim.warm_up(&mut store, 600).unwrap(), 600);
    assert_eq!(sim.generated_until(), start);
    let qqq = Symbol::new("QQQ");
    let bars = m1_bars(&store, "QQQ");
    assert_eq!(bars.len(), 600);
    assert_eq!(bars[0].time, start.plus_millis(-600 * MINUTE));
    assert_eq!(store.last_price(&qqq).unwrap().1, start);
    assert_eq!(store.bars(&qqq, Timeframe::H1, 100).unwrap().len(), 10);
    assert_eq!(sim.warm_up(&mut store, 10), Err(SimError::AlreadyStarted));
    assert_eq!(
        sim.advance_to(start.plus_millis(5 * MINUTE), &mut store)
            .unwrap(),
        5
    );
    assert_eq!(m1_bars(&store, "QQQ").len(), 605);
}

#[test]
fn adding_or_reordering_symbols_leaves_other_streams_unchanged() {
    let (_, two) = run(small_config(11, &["AAPL", "BTC-USD"]), 3 * 60, 10_000);
    let (_, four) = run(
        small_config(11, &["NEW", "BTC-USD", "OTHER", "AAPL"]),
        3 * 60,
        10_000,
    );
    let (_, alone) = run(small_config(11, &["AAPL"]), 3 * 60, 10_000);
    assert_eq!(m1_bars(&two, "AAPL"), m1_bars(&four, "AAPL"));
    assert_eq!(m1_bars(&two, "AAPL"), m1_bars(&alone, "AAPL"));
    assert_eq!(m1_bars(&two, "BTC-USD"), m1_bars(&four, "BTC-USD"));
    assert_ne!(
        m1_bars(&four, "NEW")[10].close,
        m1_bars(&four, "OTHER")[10].close
    );
}

#[test]
fn a_month_of_minutes_stays_finite_positive_and_valid() {
    let store = month();
    for s in SimConfig::default().symbols {
        let bars = m1_bars(store, s.symbol.as_str());
        assert_eq!(bars.len(), 30 * DAY as usize);
        for b in &bars {
            b.validate().unwrap();
            assert!(
                b.volume > 0.0 && b.volume.is_finite(),
                "{} volume {}",
                s.symbol,
                b.volume
            );
            assert!(b.high >= b.low);
        }
        // Sub-steps make a real range: most minutes have high > max(open, close).
        let wicks = bars.iter().filter(|b| b.high > b.open.max(b.close)).count();
        assert!(wicks > bars.len() / 2, "{}: {wicks} wicks", s.symbol);
        assert_eq!(store.bars(&s.symbol, Timeframe::D1, 100).unwrap().len(), 30);
    }
}

#[test]
fn realised_volatility_matches_the_config() {
    let store = month();
    for s in SimConfig::default().symbols {
        let r = log_returns(&m1_bars(store, s.symbol.as_str()));
        let realised = std_dev(&r) * MINUTES_PER_YEAR.sqrt();
        let ratio = realised / s.annual_vol;
        eprintln!(
            "{}: configured vol {:.3}, realised {realised:.3} ({ratio:.2}x)",
            s.symbol, s.annual_vol
        );
        assert!((0.8..1.25).contains(&ratio), "{}: ratio {ratio}", s.symbol);
    }
}

#[test]
fn market_factor_correlates_symbols_by_their_loadings() {
    let store = month();
    let ret = |s| log_returns(&m1_bars(store, s));
    let (aapl, msft, spy, qqq, btc) = (
        ret("AAPL"),
        ret("MSFT"),
        ret("SPY"),
        ret("QQQ"),
        ret("BTC-USD"),
    );
    let stocks = correlation(&aapl, &msft); // loadings 0.7 * 0.7 = 0.49
    let indices = correlation(&spy, &qqq); // 0.85 * 0.85 = 0.72
    let cross = correlation(&aapl, &btc); // 0.7 * 0.4 = 0.28
    eprintln!("correlations: AAPL/MSFT {stocks:.3}, SPY/QQQ {indices:.3}, AAPL/BTC {cross:.3}");
    assert!((0.3..0.6).contains(&stocks), "{stocks}");
    assert!((0.5..0.8).contains(&indices), "{indices}");
    assert!((0.1..0.35).contains(&cross), "{cross}");
}

#[test]
fn regimes_switch_and_shape_the_returns() {
    let mut sim = Simulator::new(small_config(21, &["SPY"])).unwrap();
    let mut store = BarStore::with_capacity(20 * DAY as usize);
    let spy = Symbol::new("SPY");
    let names: Vec<String> = RegimeConfig::default_set()
        .into_iter()
        .map(|r| r.name)
        .collect();
    let mut returns: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let mut switches = 0;
    let mut current = sim.regime(&spy).unwrap().to_string();
    assert_eq!(current, "calm", "the chain starts in the first regime");
    let mut now = sim.generated_until();
    for _ in 0..20 * DAY {
        now = now.plus_millis(MINUTE);
        sim.advance_to(now, &mut store).unwrap();
        let regime = sim.regime(&spy).unwrap();
        if regime != current {
            switches += 1;
            current = regime.to_string();
        }
        let b = store.bars(&spy, Timeframe::M1, 1).unwrap()[0];
        let i = names.iter().position(|n| *n == current).unwrap();
        returns[i].push((b.close / b.open).ln());
    }
    eprintln!("SPY: {switches} regime switches in 20 days");
    for (n, r) in names.iter().zip(&returns) {
        eprintln!(
            "  {n}: {} minutes, mean {:.2e}, sd {:.2e}",
            r.len(),
            mean(r),
            std_dev(r)
        );
    }
    // ~150 minutes per regime on average: about 190 switches in 20 days.
    assert!((100..300).contains(&switches), "{switches} switches");
    assert!(
        returns.iter().all(|r| r.len() > 500),
        "every regime is visited"
    );
    let (calm, up, down, volatile) = (&returns[0], &returns[1], &returns[2], &returns[3]);
    assert!(std_dev(volatile) > 2.0 * std_dev(calm));
    assert!(mean(up) > 0.0 && mean(down) < 0.0);
    assert_eq!(sim.regime(&Symbol::new("NOPE")), None);
}

#[test]
fn generation_speed() {
    let mut sim = Simulator::new(SimConfig::default()).unwrap();
    let symbols = sim.config().symbols.len() as f64;
    let minutes = 5 * DAY;
    let t = Instant::now();
    for _ in 0..minutes {
        sim.step();
    }
    let gen_us = t.elapsed().as_secs_f64() * 1e6 / (minutes as f64 * symbols);
    let mut store = BarStore::new();
    let t = Instant::now();
    sim.advance_to(
        sim.generated_until().plus_millis(minutes * MINUTE),
        &mut store,
    )
    .unwrap();
    let all_us = t.elapsed().as_secs_f64() * 1e6 / (minutes as f64 * symbols);
    eprintln!(
        "speed ({} build): {gen_us:.2} µs per symbol-minute generating, {all_us:.2} µs with the store",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    // Loose bound that holds even for an unoptimised build on a busy machine.
    assert!(all_us < 200.0, "{all_us} µs per symbol-minute");
}

#[test]
fn invalid_config_is_refused() {
    let config = SimConfig {
        substeps_per_minute: 0,
        ..SimConfig::default()
    };
    assert_eq!(
        Simulator::new(config).err(),
        Some(SimError::Config(ConfigError::ZeroSubsteps))
    );
}

#[test]
fn stream_ids_are_stable() {
    // Published FNV-1a test vectors: replays depend on these never changing.
    assert_eq!(fnv1a(*b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a(*b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_ne!(stable_hash("symbol", "AAPL"), stable_hash("symbol", "MSFT"));
    assert_ne!(stable_hash("market", ""), stable_hash("symbol", ""));
}
