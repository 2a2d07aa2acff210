//! The Thompson allocator on simulated bots whose edge rotates.
//!
//! Four bots each trade once per step; one of them has a positive mean return, the others
//! a negative one, and the best changes every `PERIOD` trades. Run with `--nocapture` to
//! see the lag after each rotation, the fleet's return against equal weight, and the regret
//! against an oracle that always knows the current best.

use flotilla_domain::BotId;
use flotilla_engine::allocator::{ThompsonAllocator, ThompsonConfig, fit_weights};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use rust_decimal::Decimal;

const BOTS: usize = 4;
const PERIOD: usize = 300;
const STEPS: usize = PERIOD * 8;
const REBALANCE_EVERY: usize = 5;
const GOOD: f64 = 0.004;
const BAD: f64 = -0.001;
const SD: f64 = 0.01;
const MAX_LAG: usize = 150;

#[test]
fn allocator_tracks_a_rotating_edge_and_beats_equal_weight() {
    let cfg = ThompsonConfig {
        samples: 2000,
        ..ThompsonConfig::default()
    };
    let total = 1.0 - cfg.reserve;
    let (floor, cap) = (cfg.floor, cfg.cap);
    let mut alloc = ThompsonAllocator::new(cfg).unwrap();
    let bots: Vec<BotId> = (0..BOTS).map(|i| BotId::new(format!("bot{i}"))).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let noise = Normal::new(0.0, SD).unwrap();

    // Oracle with the same floor/cap/reserve: all the preference on the true best.
    let oracle_w = |best: usize| {
        let raw: Vec<f64> = (0..BOTS)
            .map(|i| if i == best { 1.0 } else { 0.0 })
            .collect();
        fit_weights(&raw, total, floor, cap).0
    };

    let mut weights = vec![total / BOTS as f64; BOTS];
    let (mut fleet, mut equal, mut fleet_exp, mut equal_exp) = (0.0, 0.0, 0.0, 0.0);
    let (mut regret, mut regret_unconstrained) = (0.0, 0.0);
    let mut lags = Vec::new();
    let mut found_at: Option<usize> = None;
    for step in 0..STEPS {
        let best = (step / PERIOD) % BOTS;
        if step % PERIOD == 0 {
            if step > 0 {
                lags.push(found_at.map_or(PERIOD, |f| f - (step - PERIOD)));
            }
            found_at = None;
        }
        if step % REBALANCE_EVERY == 0 {
            let a = alloc.rebalance(&bots, |_| false, Decimal::from(1_000_000));
            weights = a.bots.iter().map(|b| b.weight).collect();
            let sum: f64 = weights.iter().sum();
            assert!(weights.iter().all(|w| *w >= 0.0) && sum <= total + 1e-12);
            let top = (0..BOTS)
                .max_by(|&i, &j| weights[i].total_cmp(&weights[j]))
                .unwrap();
            if top == best && found_at.is_none() {
                found_at = Some(step);
            }
        }
        let mus: Vec<f64> = (0..BOTS)
            .map(|i| if i == best { GOOD } else { BAD })
            .collect();
        let rets: Vec<f64> = mus.iter().map(|m| m + noise.sample(&mut rng)).collect();
        let ow = oracle_w(best);
        for i in 0..BOTS {
            fleet += weights[i] * rets[i];
            equal += total / BOTS as f64 * rets[i];
            fleet_exp += weights[i] * mus[i];
            equal_exp += total / BOTS as f64 * mus[i];
            regret += (ow[i] - weights[i]) * mus[i];
        }
        regret_unconstrained += total * GOOD - (0..BOTS).map(|i| weights[i] * mus[i]).sum::<f64>();
        for (i, b) in bots.iter().enumerate() {
            alloc.observe(b, rets[i]);
        }
    }
    lags.push(found_at.map_or(PERIOD, |f| f - (STEPS - PERIOD)));

    println!("lag (trades until the current best has the largest weight) per period: {lags:?}");
    println!(
        "fleet return {fleet:.4} (expected {fleet_exp:.4}) vs equal weight {equal:.4} (expected {equal_exp:.4})"
    );
    println!(
        "regret vs oracle with the same floor/cap/reserve: {regret:.4} over {STEPS} trades ({:.2e}/trade); vs unconstrained oracle: {regret_unconstrained:.4}",
        regret / STEPS as f64
    );
    assert!(
        lags.iter().all(|&l| l <= MAX_LAG),
        "lags {lags:?} exceed {MAX_LAG}"
    );
    assert!(
        fleet_exp > equal_exp && fleet > equal,
        "fleet {fleet} vs equal {equal}"
    );
    // The oracle's edge over equal weight; the allocator must capture most of it (the rest
    // is the detection lag after each rotation, ~a quarter of each period).
    let oracle_edge = fleet_exp + regret - equal_exp;
    println!(
        "share of the oracle's edge over equal weight captured: {:.1}%",
        100.0 * (1.0 - regret / oracle_edge)
    );
    assert!(
        regret < 0.4 * oracle_edge,
        "regret {regret} vs oracle edge {oracle_edge}"
    );
}
