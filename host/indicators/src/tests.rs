//! Hand-checked values (worked out in the comments), warm-up lengths and edge cases.

use super::*;

/// The worked example: a rise, a dip and a recovery. Every hand-worked value below was
/// also checked against TA-Lib 0.8.2 (its Python wrapper) over the same inputs.
const C: [f64; 10] = [1.0, 2.0, 3.0, 4.0, 5.0, 4.0, 3.0, 2.0, 3.0, 4.0];

fn assert_close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "got {got:?}, want {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-12 * w.abs().max(1.0),
            "[{i}] got {g}, want {w} (all: {got:?})"
        );
    }
}

/// A deterministic random walk (an LCG, so the crate needs no dev-dependencies):
/// `(high, low, close)` with high >= close >= low > 0.
fn walk(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut unit = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut h, mut l, mut c) = (vec![], vec![], vec![]);
    let mut price = 100.0;
    for _ in 0..n {
        price *= 1.0 + (unit() - 0.5) * 0.02;
        h.push(price * (1.0 + unit() * 0.01));
        l.push(price * (1.0 - unit() * 0.01));
        c.push(price);
    }
    (h, l, c)
}

fn all_specs() -> Vec<Spec> {
    vec![
        Spec::Sma(5),
        Spec::Ema(5),
        Spec::Wma(5),
        Spec::Rsi(5),
        Spec::Atr(5),
        Spec::StdDev(5),
        Spec::Roc(5),
        Spec::Macd {
            fast: 3,
            slow: 6,
            signal: 4,
        },
        Spec::Bollinger {
            period: 5,
            deviations: 2.0,
        },
    ]
}

#[test]
fn sma_by_hand() {
    // Windows of 3: (1,2,3)=2 (2,3,4)=3 (3,4,5)=4 (4,5,4)=13/3 (5,4,3)=4 (4,3,2)=3
    // (3,2,3)=8/3 (2,3,4)=3; the first value belongs to C[2] (lookback 2).
    assert_close(
        &sma(&C, 3),
        &[2.0, 3.0, 4.0, 13.0 / 3.0, 4.0, 3.0, 8.0 / 3.0, 3.0],
    );
}

#[test]
fn ema_by_hand() {
    // k = 2/(3+1) = 0.5, seed = SMA(1,2,3) = 2 at C[2]; then (x - prev) * 0.5 + prev:
    // 4 -> 3, 5 -> 4, 4 -> 4, 3 -> 3.5, 2 -> 2.75, 3 -> 2.875, 4 -> 3.4375.
    assert_eq!(
        ema(&C, 3),
        vec![2.0, 3.0, 4.0, 4.0, 3.5, 2.75, 2.875, 3.4375]
    );
}

#[test]
fn wma_by_hand() {
    // Weights 1, 2, 3 over 6: (1+4+9)/6 = 7/3, (2+6+12)/6 = 10/3, (3+8+15)/6 = 13/3,
    // (4+10+12)/6 = 13/3, (5+8+9)/6 = 11/3, (4+6+6)/6 = 8/3, (3+4+9)/6 = 8/3, (2+6+12)/6 = 10/3.
    let want = [7.0, 10.0, 13.0, 13.0, 11.0, 8.0, 8.0, 10.0].map(|v| v / 3.0);
    assert_close(&wma(&C, 3), &want);
}

#[test]
fn rsi_by_hand() {
    // Changes +1 +1 +1 | +1 -1 -1 -1 +1 +1. Seed: gain 3/3 = 1, loss 0 -> 100 at C[3].
    // Wilder (prev * 2 + x) / 3:  +1: g 1, l 0 -> 100;  -1: g 2/3, l 1/3 -> 200/3;
    // -1: g 4/9, l 5/9 -> 400/9;  -1: g 8/27, l 19/27 -> 800/27;
    // +1: g 43/81, l 38/81 -> 4300/81;  +1: g 167/243, l 76/243 -> 16700/243.
    assert_close(
        &rsi(&C, 3),
        &[
            100.0,
            100.0,
            200.0 / 3.0,
            400.0 / 9.0,
            800.0 / 27.0,
            4300.0 / 81.0,
            16700.0 / 243.0,
        ],
    );
}

#[test]
fn rsi_matches_the_wilder_textbook_seed() {
    // StockCharts' sample: gains sum 3.34 and losses 1.40 over the first 14 changes, so
    // RSI = 100 * 3.34 / (3.34 + 1.40) = 70.464 (their table rounds averages: 70.53).
    let closes = [
        44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61,
        46.28, 46.28,
    ];
    let v = rsi(&closes, 14);
    assert_eq!(v.len(), 1);
    assert!((v[0] - 70.464).abs() < 0.001, "{v:?}");
}

#[test]
fn roc_by_hand() {
    // (C[i] / C[i-2] - 1) * 100: 3/1 -> 200, 4/2 -> 100, 5/3 -> 66.67, 4/4 -> 0,
    // 3/5 -> -40, 2/4 -> -50, 3/3 -> 0, 4/2 -> 100.
    assert_close(
        &roc(&C, 2),
        &[200.0, 100.0, 200.0 / 3.0, 0.0, -40.0, -50.0, 0.0, 100.0],
    );
    // TA-Lib answers 0, not infinity, when the old value is 0.
    assert_eq!(roc(&[0.0, 5.0, 10.0], 1), vec![0.0, 100.0]);
}

#[test]
fn stddev_and_bollinger_by_hand() {
    // Population: (1,2,3) var (1+0+1)/3 = 2/3; (4,5,4) mean 13/3, deviations
    // -1/3, 2/3, -1/3, var (1+4+1)/9/3 = 2/9; likewise (3,2,3).
    let (a, b) = ((2.0f64 / 3.0).sqrt(), (2.0f64 / 9.0).sqrt());
    let sd = stddev(&C, 3);
    assert_close(&sd, &[a, a, a, b, a, a, b, a]);
    let (upper, middle, lower) = bollinger(&C, 3, 2.0);
    assert_close(&middle, &sma(&C, 3));
    let up: Vec<f64> = middle.iter().zip(&sd).map(|(m, s)| m + 2.0 * s).collect();
    let down: Vec<f64> = middle.iter().zip(&sd).map(|(m, s)| m - 2.0 * s).collect();
    assert_close(&upper, &up);
    assert_close(&lower, &down);
    // The textbook example: mean 5, population sd 2.
    let v = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
    assert_eq!(stddev(&v, 8), vec![2.0]);
    assert_eq!(bollinger(&v, 8, 1.5), (vec![8.0], vec![5.0], vec![2.0]));
}

#[test]
fn atr_by_hand() {
    // Bars (H, L, C): true range uses the previous close.
    let h = [10.0, 11.0, 12.0, 11.0, 13.0, 12.0, 10.0];
    let l = [8.0, 9.0, 10.0, 9.0, 10.0, 11.0, 9.0];
    let c = [9.0, 10.0, 11.0, 9.5, 12.0, 11.5, 9.0];
    // TR[1..]: 2, 2, 2 (low 9 vs close 11), 3.5 (gap up: 13 - 9.5), 1, 2.5 (gap down:
    // 11.5 - 9). ATR(3) at bar 3 = mean(2, 2, 2) = 2; then (prev * 2 + TR) / 3:
    // (4 + 3.5)/3 = 2.5, (5 + 1)/3 = 2, (4 + 2.5)/3 = 13/6.
    assert_close(&atr(&h, &l, &c, 3), &[2.0, 2.5, 2.0, 13.0 / 6.0]);
    // Period 1 is the true range itself (TA-Lib's TRANGE).
    assert_close(&atr(&h, &l, &c, 1), &[2.0, 2.0, 2.0, 3.5, 1.0, 2.5]);
}

#[test]
fn macd_by_hand_with_talib_fast_seed() {
    // MACD(2, 3, 2) on C. Both EMAs start at C[2]: slow (k 1/2) seeded with
    // mean(1,2,3) = 2, fast (k 2/3) with mean(C[1], C[2]) = 2.5 -- TA-Lib's quirk, not
    // mean(C[0], C[1]). Lines from C[2]:
    //   C[3]=4: fast 3.5,    slow 3     -> 0.5
    //   C[4]=5: fast 4.5,    slow 4     -> 0.5
    //   C[5]=4: fast 25/6,   slow 4     -> 1/6
    //   C[6]=3: fast 61/18,  slow 3.5   -> -1/9
    //   C[7]=2: fast 133/54, slow 2.75  -> -31/108
    //   C[8]=3: fast 457/162, slow 2.875 -> -35/648
    //   C[9]=4: fast 1753/486, slow 3.4375
    // Signal(2) (k 2/3) seeded at C[3] with mean(0.5, 0.5) = 0.5, then 0.5, 5/18, 1/54,
    // -5/27, -95/972, ...; lookback 2 + 1 = 3, so 7 outputs.
    let m9 = 1753.0 / 486.0 - 3.4375;
    let s9 = (m9 + 95.0 / 972.0) * 2.0 / 3.0 - 95.0 / 972.0;
    let line = [
        0.5,
        0.5,
        1.0 / 6.0,
        -1.0 / 9.0,
        -31.0 / 108.0,
        -35.0 / 648.0,
        m9,
    ];
    let signal = [
        0.5,
        0.5,
        5.0 / 18.0,
        1.0 / 54.0,
        -5.0 / 27.0,
        -95.0 / 972.0,
        s9,
    ];
    let (m, s, h) = macd(&C, 2, 3, 2);
    assert_close(&m, &line);
    assert_close(&s, &signal);
    let hist: Vec<f64> = line.iter().zip(&signal).map(|(a, b)| a - b).collect();
    assert_close(&h, &hist);
}

#[test]
fn period_one_degenerates_to_the_input() {
    assert_eq!(sma(&C, 1), C.to_vec());
    assert_eq!(ema(&C, 1), C.to_vec());
    assert_eq!(wma(&C, 1), C.to_vec());
    assert_eq!(stddev(&C, 1), vec![0.0; 10]);
    // RSI(1): the last change alone; 100 up, 0 down.
    assert_eq!(
        rsi(&C, 1),
        vec![100.0, 100.0, 100.0, 100.0, 0.0, 0.0, 0.0, 100.0, 100.0]
    );
}

#[test]
fn constant_series() {
    let flat = [7.0; 30];
    for spec in all_specs() {
        let v = compute(&spec, &[8.0; 30], &[6.0; 30], &flat, 100).unwrap();
        match v {
            Values::Line(line) => {
                let want = match spec {
                    Spec::Sma(_) | Spec::Ema(_) | Spec::Wma(_) => 7.0,
                    Spec::Atr(_) => 2.0,
                    // Nothing moved: RSI is 0, as TA-Lib answers.
                    Spec::Rsi(_) | Spec::StdDev(_) | Spec::Roc(_) => 0.0,
                    _ => unreachable!(),
                };
                assert!(line.iter().all(|v| *v == want), "{spec:?}: {line:?}");
            }
            Values::Macd {
                macd,
                signal,
                histogram,
            } => {
                assert!(
                    macd.iter()
                        .chain(&signal)
                        .chain(&histogram)
                        .all(|v| *v == 0.0)
                );
            }
            Values::Bands {
                upper,
                middle,
                lower,
            } => {
                assert!(upper.iter().chain(&middle).chain(&lower).all(|v| *v == 7.0));
            }
        }
    }
}

#[test]
fn warm_up_lengths_follow_the_lookback() {
    let (h, l, c) = walk(40, 1);
    for spec in all_specs() {
        let lookback = spec.lookback();
        for n in [0, 1, lookback, lookback + 1, 40] {
            let v = compute(&spec, &h[..n], &l[..n], &c[..n], usize::MAX).unwrap();
            assert_eq!(v.len(), n.saturating_sub(lookback), "{spec:?} over {n}");
        }
    }
}

#[test]
fn lookback_and_history() {
    assert_eq!(Spec::Sma(20).lookback(), 19);
    assert_eq!(Spec::Sma(20).history(5), 24);
    assert_eq!(Spec::Wma(1).history(1), 1);
    assert_eq!(Spec::StdDev(10).history(1), 10);
    assert_eq!(Spec::Roc(10).history(1), 11);
    let bands = Spec::Bollinger {
        period: 20,
        deviations: 2.0,
    };
    assert_eq!((bands.lookback(), bands.history(1)), (19, 20));
    // Recursive ones add 10 x their longest period.
    assert_eq!(
        (Spec::Ema(10).lookback(), Spec::Ema(10).history(1)),
        (9, 110)
    );
    assert_eq!(
        (Spec::Rsi(14).lookback(), Spec::Rsi(14).history(1)),
        (14, 155)
    );
    assert_eq!(Spec::Atr(14).history(10), 10 + 14 + 140);
    let m = Spec::Macd {
        fast: 12,
        slow: 26,
        signal: 9,
    };
    assert_eq!((m.lookback(), m.history(1)), (33, 1 + 33 + 260));
    let slow_signal = Spec::Macd {
        fast: 2,
        slow: 3,
        signal: 50,
    };
    assert_eq!(slow_signal.extra(), 500);
    assert_eq!(Spec::Sma(5).history(usize::MAX), usize::MAX);
}

#[test]
fn compute_returns_the_tail_of_the_full_series() {
    let (h, l, c) = walk(300, 2);
    for spec in all_specs() {
        let full = compute(&spec, &h, &l, &c, usize::MAX).unwrap();
        for count in [0, 1, 7, full.len(), full.len() + 5] {
            let part = compute(&spec, &h, &l, &c, count).unwrap();
            let tail = |v: &Vec<f64>| v[v.len() - count.min(v.len())..].to_vec();
            let want = match &full {
                Values::Line(v) => Values::Line(tail(v)),
                Values::Macd {
                    macd,
                    signal,
                    histogram,
                } => Values::Macd {
                    macd: tail(macd),
                    signal: tail(signal),
                    histogram: tail(histogram),
                },
                Values::Bands {
                    upper,
                    middle,
                    lower,
                } => Values::Bands {
                    upper: tail(upper),
                    middle: tail(middle),
                    lower: tail(lower),
                },
            };
            assert_eq!(part, want, "{spec:?} count {count}");
        }
    }
}

#[test]
fn outputs_are_finite_and_in_range_on_random_walks() {
    for seed in 0..20 {
        let (h, l, c) = walk(500, seed);
        for spec in all_specs() {
            let v = compute(&spec, &h, &l, &c, usize::MAX).unwrap();
            let all: Vec<f64> = match v {
                Values::Line(v) => v,
                Values::Macd {
                    macd,
                    signal,
                    histogram,
                } => [macd, signal, histogram].concat(),
                Values::Bands {
                    upper,
                    middle,
                    lower,
                } => {
                    assert!(upper.iter().zip(&middle).all(|(u, m)| u >= m));
                    assert!(lower.iter().zip(&middle).all(|(l, m)| l <= m));
                    [upper, middle, lower].concat()
                }
            };
            assert!(all.iter().all(|v| v.is_finite()), "{spec:?}");
            if matches!(spec, Spec::Rsi(_)) {
                assert!(all.iter().all(|v| (0.0..=100.0).contains(v)));
            }
            if matches!(spec, Spec::Atr(_) | Spec::StdDev(_)) {
                assert!(all.iter().all(|v| *v >= 0.0));
            }
        }
    }
}

#[test]
fn recursive_seeds_fade_within_the_extra_history() {
    // With `history(1)` bars the last value differs from the one over all the data by
    // far less than anything a strategy could notice: the seed's weight is left at
    // (1 - 2/(p+1))^(10p) ~ e^-20 for an EMA and (1 - 1/p)^(10p) ~ e^-10 for Wilder's.
    let (h, l, c) = walk(3_000, 3);
    for spec in [
        Spec::Ema(20),
        Spec::Rsi(14),
        Spec::Atr(14),
        Spec::Macd {
            fast: 12,
            slow: 26,
            signal: 9,
        },
    ] {
        let last = |n: usize| -> f64 {
            let k = c.len() - n;
            match compute(&spec, &h[k..], &l[k..], &c[k..], 1).unwrap() {
                Values::Line(v) => v[0],
                Values::Macd { macd, .. } => macd[0],
                Values::Bands { middle, .. } => middle[0],
            }
        };
        let (short, long) = (last(spec.history(1)), last(c.len()));
        assert!(
            (short - long).abs() <= 1e-4 * long.abs().max(1.0),
            "{spec:?}: {short} vs {long}"
        );
    }
}

#[test]
fn invalid_specs_are_refused_with_a_clear_message() {
    let err = |s: Spec| s.validate().unwrap_err().to_string();
    assert_eq!(
        err(Spec::Sma(0)),
        "sma: period must be in 1..=100000, got 0"
    );
    assert_eq!(
        err(Spec::Rsi(MAX_PERIOD + 1)),
        "rsi: period must be in 1..=100000, got 100001"
    );
    assert_eq!(
        err(Spec::Macd {
            fast: 26,
            slow: 12,
            signal: 9
        }),
        "macd: fast period must be below slow period, got fast 26, slow 12"
    );
    assert_eq!(
        err(Spec::Macd {
            fast: 12,
            slow: 26,
            signal: 0
        }),
        "macd: signal must be in 1..=100000, got 0"
    );
    for d in [f64::NAN, f64::INFINITY, -1.0] {
        let s = Spec::Bollinger {
            period: 20,
            deviations: d,
        };
        assert!(
            err(s).starts_with("bollinger: deviations must be finite"),
            "{d}"
        );
        assert!(compute(&s, &[], &[], &[1.0; 30], 1).is_err());
    }
    let zero_width = Spec::Bollinger {
        period: 1,
        deviations: 0.0,
    };
    assert!(zero_width.validate().is_ok());
}

#[test]
fn matches_talib_at_the_usual_periods() {
    // Reference values printed by TA-Lib 0.8.2 (its Python wrapper) for this exact series:
    // c[i] = 100 + (37 i mod 23) - 11 + i/4, h = c + 1 + (i mod 3)/2, l = c - 1 - (i mod 5)/4.
    let c: Vec<f64> = (0..80)
        .map(|i| 100.0 + ((i * 37) % 23) as f64 - 11.0 + i as f64 * 0.25)
        .collect();
    let h: Vec<f64> = (0..80).map(|i| c[i] + 1.0 + (i % 3) as f64 * 0.5).collect();
    let l: Vec<f64> = (0..80)
        .map(|i| c[i] - 1.0 - (i % 5) as f64 * 0.25)
        .collect();
    let last3 = |v: Vec<f64>| v[v.len() - 3..].to_vec();
    let near = |got: Vec<f64>, want: [f64; 3]| {
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - w).abs() <= 1e-9 * w.abs(),
                "got {got:?}, want {want:?}"
            );
        }
    };
    near(last3(sma(&c, 20)), [117.075, 117.525, 116.825]);
    near(
        last3(ema(&c, 10)),
        [118.51409574926538, 118.69335106758076, 117.24910541892972],
    );
    near(
        last3(wma(&c, 10)),
        [118.53636363636363, 118.98636363636363, 117.76363636363637],
    );
    near(
        last3(rsi(&c, 14)),
        [54.281090915261764, 51.16960857995346, 48.19451216649499],
    );
    near(
        last3(atr(&h, &l, &c, 14)),
        [12.556713388591637, 12.40980528940652, 12.291247768734626],
    );
    near(
        last3(stddev(&c, 20)),
        [6.786982024434712, 6.632731337842651, 6.571767266116467],
    );
    near(
        last3(roc(&c, 10)),
        [3.6363636363636376, 3.913043478260869, 4.235294117647048],
    );
    let (upper, _, lower) = bollinger(&c, 20, 2.0);
    near(
        last3(upper),
        [130.64896404886943, 130.79046267568532, 129.96853453223292],
    );
    near(
        last3(lower),
        [103.50103595113058, 104.2595373243147, 103.68146546776707],
    );
    let (m, s, hist) = macd(&c, 12, 26, 9);
    assert_eq!(
        (m.len(), rsi(&c, 14).len(), atr(&h, &l, &c, 14).len()),
        (47, 66, 66)
    );
    near(
        last3(m),
        [1.970973955511667, 1.9346158797109183, 1.1860776051694728],
    );
    near(
        last3(s),
        [1.5382171255599129, 1.6174968763901139, 1.5312130221459856],
    );
    near(
        last3(hist),
        [
            0.43275682995175413,
            0.31711900332080445,
            -0.34513541697651284,
        ],
    );
}
