//! The SDK's indicators (what the native mock answers with) against the host's crate
//! (what the real `indicator` import answers with), on random walks.

use flotilla_indicators as host;
use flotilla_sdk::indicators::{self, series};
use flotilla_sdk::testing::{reset, set_bars};
use flotilla_sdk::{Bar, Indicator, IndicatorValues, Timeframe};
use proptest::prelude::*;

/// Equal within 1e-9 relative; values near zero (a MACD crossing, a flat ROC) are
/// compared at an absolute 1e-12.
fn same(sdk: &[f64], reference: &[f64]) -> Result<(), TestCaseError> {
    prop_assert_eq!(sdk.len(), reference.len(), "lengths differ");
    for (i, (a, b)) in sdk.iter().zip(reference).enumerate() {
        let scale = a.abs().max(b.abs()).max(1e-3);
        prop_assert!(
            (a - b).abs() <= 1e-9 * scale,
            "[{}] sdk {} vs host {}",
            i,
            a,
            b
        );
    }
    Ok(())
}

prop_compose! {
    /// Up to 400 bars of a multiplicative random walk, with highs and lows around closes.
    fn walk()(
        start in 1.0f64..1_000.0,
        steps in prop::collection::vec((-0.03f64..0.03, 0.0f64..0.02, 0.0f64..0.02), 0..400),
    ) -> Vec<Bar> {
        let mut price = start;
        steps
            .into_iter()
            .enumerate()
            .map(|(i, (step, up, down))| {
                price *= 1.0 + step;
                Bar {
                    time: i as i64 * 60_000,
                    open: price,
                    high: price * (1.0 + up),
                    low: price * (1.0 - down),
                    close: price,
                    volume: 1.0,
                }
            })
            .collect()
    }
}

fn columns(bars: &[Bar]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    (
        bars.iter().map(|b| b.high).collect(),
        bars.iter().map(|b| b.low).collect(),
        bars.iter().map(|b| b.close).collect(),
    )
}

proptest! {
    #[test]
    fn series_match_the_host_crate(bars in walk(), p in 1usize..40, q in 1usize..40, k in 0.0f64..4.0) {
        let (h, l, c) = columns(&bars);
        same(&series::sma(&c, p), &host::sma(&c, p))?;
        same(&series::ema(&c, p), &host::ema(&c, p))?;
        same(&series::wma(&c, p), &host::wma(&c, p))?;
        same(&series::rsi(&c, p), &host::rsi(&c, p))?;
        same(&series::atr(&h, &l, &c, p), &host::atr(&h, &l, &c, p))?;
        same(&series::stddev(&c, p), &host::stddev(&c, p))?;
        same(&series::roc(&c, p), &host::roc(&c, p))?;
        let bands = series::bollinger(&c, p, k);
        let (upper, middle, lower) = host::bollinger(&c, p, k);
        same(&bands.upper, &upper)?;
        same(&bands.middle, &middle)?;
        same(&bands.lower, &lower)?;
        let (fast, slow) = (p.min(q), p.max(q) + 1);
        let m = series::macd(&c, fast, slow, q);
        let (line, signal, histogram) = host::macd(&c, fast, slow, q);
        same(&m.macd, &line)?;
        same(&m.signal, &signal)?;
        same(&m.histogram, &histogram)?;
    }

    #[test]
    fn last_values_match_the_host_crate(bars in walk(), p in 1usize..40) {
        let (h, l, c) = columns(&bars);
        let last = |v: Vec<f64>| v.last().copied();
        let pairs = [
            (indicators::sma(&c, p), last(host::sma(&c, p))),
            (indicators::ema(&c, p), last(host::ema(&c, p))),
            (indicators::wma(&c, p), last(host::wma(&c, p))),
            (indicators::rsi(&c, p), last(host::rsi(&c, p))),
            (indicators::atr(&h, &l, &c, p), last(host::atr(&h, &l, &c, p))),
            (indicators::stddev(&c, p), last(host::stddev(&c, p))),
            (indicators::roc(&c, p), last(host::roc(&c, p))),
            (indicators::macd(&c, p, p + 3, 4).map(|m| m.signal), last(host::macd(&c, p, p + 3, 4).1)),
        ];
        for (sdk, reference) in pairs {
            same(sdk.as_slice(), reference.as_slice())?;
        }
    }

    #[test]
    fn the_mock_import_answers_like_the_host(bars in walk(), p in 1u32..30, count in 0u32..60, which in 0usize..9) {
        let spec = [
            Indicator::Sma(p),
            Indicator::Ema(p),
            Indicator::Wma(p),
            Indicator::Rsi(p),
            Indicator::Atr(p),
            Indicator::StdDev(p),
            Indicator::Roc(p),
            Indicator::Macd { fast: p, slow: p + 5, signal: 9 },
            Indicator::Bollinger { period: p, deviations: 2.0 },
        ][which];
        let host_spec = match spec {
            Indicator::Sma(n) => host::Spec::Sma(n),
            Indicator::Ema(n) => host::Spec::Ema(n),
            Indicator::Wma(n) => host::Spec::Wma(n),
            Indicator::Rsi(n) => host::Spec::Rsi(n),
            Indicator::Atr(n) => host::Spec::Atr(n),
            Indicator::StdDev(n) => host::Spec::StdDev(n),
            Indicator::Roc(n) => host::Spec::Roc(n),
            Indicator::Macd { fast, slow, signal } => host::Spec::Macd { fast, slow, signal },
            Indicator::Bollinger { period, deviations } => host::Spec::Bollinger { period, deviations },
        };
        prop_assert_eq!(spec.lookback(), host_spec.lookback() as u64);
        prop_assert_eq!(spec.history(count), host_spec.history(count as usize) as u64);
        reset();
        set_bars("AAA", Timeframe::M5, bars.clone());
        let got = flotilla_sdk::host::indicator("AAA", Timeframe::M5, spec, count).unwrap();
        // What the host does: read `history(count)` bars, compute, keep the last `count`.
        let window = &bars[bars.len().saturating_sub(host_spec.history(count as usize))..];
        let (h, l, c) = columns(window);
        let want = host::compute(&host_spec, &h, &l, &c, count as usize).unwrap();
        match (got, want) {
            (IndicatorValues::Line(a), host::Values::Line(b)) => same(&a, &b)?,
            (IndicatorValues::Macd(a), host::Values::Macd { macd, signal, histogram }) => {
                same(&a.macd, &macd)?;
                same(&a.signal, &signal)?;
                same(&a.histogram, &histogram)?;
            }
            (IndicatorValues::Bands(a), host::Values::Bands { upper, middle, lower }) => {
                same(&a.upper, &upper)?;
                same(&a.middle, &middle)?;
                same(&a.lower, &lower)?;
            }
            (a, b) => prop_assert!(false, "shapes differ: {:?} vs {:?}", a, b),
        }
    }
}

#[test]
fn the_mock_refuses_what_the_host_refuses() {
    reset();
    let bad = Indicator::Macd {
        fast: 26,
        slow: 12,
        signal: 9,
    };
    let host_err = host::Spec::Macd {
        fast: 26,
        slow: 12,
        signal: 9,
    }
    .validate()
    .unwrap_err();
    let err = flotilla_sdk::host::indicator("AAA", Timeframe::M1, bad, 1).unwrap_err();
    assert_eq!(err, format!("invalid indicator: {host_err}"));
    let err =
        flotilla_sdk::host::indicator("ZZZ", Timeframe::M1, Indicator::Sma(3), 1).unwrap_err();
    assert!(err.contains("ZZZ"), "{err}");
}
