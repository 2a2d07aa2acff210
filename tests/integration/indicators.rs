//! The `indicator` import end to end: a compiled bot (`indicator_probe`) gets exactly what
//! `flotilla_indicators::compute` returns over the same bars, and refusals are clear.

use crate::support::bot;
use flotilla_domain::{Bar, BotId, MarketData, Symbol, Timeframe, Timestamp};
use flotilla_indicators::{Spec, Values, compute};
use flotilla_market::{BarStore, SharedBars};
use flotilla_runtime::{BotInstance, HostIo, Runtime, RuntimeConfig, SandboxLimits};
use std::collections::BTreeMap;
use std::sync::Arc;

const MINUTE: i64 = 60_000;

/// `n` one-minute bars of AAA: a deterministic zig-zag walk with wicks.
fn market(n: usize) -> SharedBars {
    let mut store = BarStore::new();
    let sym = Symbol::new("AAA");
    let mut price = 100.0;
    for i in 0..n {
        let open = price;
        let step = ((i * 7919) % 101) as f64 / 100.0 - 0.5;
        price *= 1.0 + step * 0.01;
        let bar = Bar {
            time: Timestamp(i as i64 * MINUTE),
            open,
            high: open.max(price) * 1.002,
            low: open.min(price) * 0.997,
            close: price,
            volume: 10.0,
        };
        store.push_m1(&sym, bar).unwrap();
    }
    SharedBars::new(store)
}

/// What the probe stored (key -> text) and the violations the host recorded, after one
/// tick granted `grant` with `params`.
fn probe(
    market: &SharedBars,
    grant: &[&str],
    params: &[(&str, &str)],
) -> (BTreeMap<String, String>, Vec<String>) {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    let component = rt.load_file(&bot("indicator_probe")).unwrap();
    let io = HostIo::new(
        BotId::new("probe"),
        grant.iter().map(Symbol::new).collect(),
        Arc::new(market.clone()),
    );
    let mut inst = BotInstance::new(&rt, &component, io, SandboxLimits::default(), 7).unwrap();
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    inst.init(&params).unwrap();
    let out = inst.on_tick(Timestamp(10_000 * MINUTE), 1_000.0).unwrap();
    let kv = out
        .kv_writes
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v).unwrap()))
        .collect();
    (kv, out.violations)
}

/// The probe's text back into lines of numbers.
fn parse(text: &str) -> Vec<Vec<f64>> {
    text.split('\n')
        .map(|line| {
            line.split(',')
                .filter(|v| !v.is_empty())
                .map(|v| v.parse().unwrap())
                .collect()
        })
        .collect()
}

/// What the host crate computes over the bars the import reads for `count` values.
fn expected(market: &SharedBars, tf: Timeframe, spec: &Spec, count: usize) -> Vec<Vec<f64>> {
    let bars = market
        .bars(&Symbol::new("AAA"), tf, spec.history(count.min(5_000)))
        .unwrap();
    let column = |f: fn(&Bar) -> f64| bars.iter().map(f).collect::<Vec<f64>>();
    let (h, l, c) = (column(|b| b.high), column(|b| b.low), column(|b| b.close));
    match compute(spec, &h, &l, &c, count.min(5_000)).unwrap() {
        Values::Line(v) => vec![v],
        Values::Macd {
            macd,
            signal,
            histogram,
        } => vec![macd, signal, histogram],
        Values::Bands {
            upper,
            middle,
            lower,
        } => vec![upper, middle, lower],
    }
}

/// Every indicator as the probe's `specs` param and as the host crate's spec.
fn every_indicator() -> (String, Vec<(String, Spec)>) {
    let specs = [
        ("sma(20)", Spec::Sma(20)),
        ("ema(10)", Spec::Ema(10)),
        ("wma(10)", Spec::Wma(10)),
        ("rsi(14)", Spec::Rsi(14)),
        ("atr(14)", Spec::Atr(14)),
        ("stddev(20)", Spec::StdDev(20)),
        ("roc(10)", Spec::Roc(10)),
        (
            "macd(12, 26, 9)",
            Spec::Macd {
                fast: 12,
                slow: 26,
                signal: 9,
            },
        ),
        (
            "bollinger(20, 2.5)",
            Spec::Bollinger {
                period: 20,
                deviations: 2.5,
            },
        ),
    ];
    let text = specs.map(|(t, _)| t).join("; ");
    (
        text,
        specs.into_iter().map(|(t, s)| (t.to_string(), s)).collect(),
    )
}

#[test]
fn a_bot_gets_exactly_what_the_indicator_crate_computes() {
    let market = market(600);
    let (text, specs) = every_indicator();
    for (tf, count) in [
        (Timeframe::M1, 5usize),
        (Timeframe::M1, 1),
        (Timeframe::M5, 7),
    ] {
        let count_text = count.to_string();
        let params = [
            ("specs", text.as_str()),
            ("count", count_text.as_str()),
            ("timeframe", tf.as_str()),
        ];
        let (kv, violations) = probe(&market, &["AAA"], &params);
        assert!(violations.is_empty(), "{violations:?}");
        for (key, spec) in &specs {
            let got = kv
                .get(key)
                .unwrap_or_else(|| panic!("{key} missing: {kv:?}"));
            let want = expected(&market, tf, spec, count);
            // Bit for bit: the same crate over the same bars, through the component boundary.
            assert_eq!(parse(got), want, "{key} at {tf}, count {count}");
            assert!(want.iter().all(|line| line.len() == count), "{key} at {tf}");
        }
    }
}

#[test]
fn warming_up_returns_fewer_values_and_count_is_capped() {
    // 20 bars: RSI(14) has 6 values, SMA(20) one, MACD(12, 26, 9) none yet.
    let market = market(20);
    let params = [
        ("specs", "rsi(14); sma(20); macd(12, 26, 9)"),
        ("count", "10"),
    ];
    let (kv, _) = probe(&market, &["AAA"], &params);
    assert_eq!(parse(&kv["rsi(14)"])[0].len(), 6);
    assert_eq!(parse(&kv["sma(20)"])[0].len(), 1);
    assert_eq!(kv["macd(12, 26, 9)"], "\n\n", "three empty lines");
    assert_eq!(
        parse(&kv["rsi(14)"]),
        expected(&market, Timeframe::M1, &Spec::Rsi(14), 10)
    );
    // A huge count is capped like a `bars` call; here every value there is comes back.
    let market = self::market(600);
    let (kv, _) = probe(
        &market,
        &["AAA"],
        &[("specs", "sma(20)"), ("count", "4000000000")],
    );
    assert_eq!(parse(&kv["sma(20)"])[0].len(), 600 - 19);
}

#[test]
fn an_ungranted_symbol_is_refused_and_recorded() {
    let market = market(100);
    let params = [("specs", "rsi(14)"), ("symbol", "BBB")];
    let (kv, violations) = probe(&market, &["AAA"], &params);
    assert_eq!(
        kv["rsi(14)"],
        "error: symbol `BBB` is not granted to bot `probe`"
    );
    assert_eq!(
        violations,
        vec!["symbol `BBB` is not granted to bot `probe`".to_string()]
    );
}

#[test]
fn an_invalid_spec_is_refused_with_a_clear_message() {
    let market = market(100);
    let params = [(
        "specs",
        "macd(26, 12, 9); sma(0); bollinger(20, -1); ema(5)",
    )];
    let (kv, violations) = probe(&market, &["AAA"], &params);
    assert_eq!(
        kv["macd(26, 12, 9)"],
        "error: invalid indicator: macd: fast period must be below slow period, got fast 26, slow 12"
    );
    assert_eq!(
        kv["sma(0)"],
        "error: invalid indicator: sma: period must be in 1..=100000, got 0"
    );
    assert_eq!(
        kv["bollinger(20, -1)"],
        "error: invalid indicator: bollinger: deviations must be finite and not negative, got -1"
    );
    // A bad spec is the bot's mistake, not a sandbox violation; the next call still works.
    assert!(violations.is_empty(), "{violations:?}");
    assert_eq!(parse(&kv["ema(5)"])[0].len(), 5);
}
