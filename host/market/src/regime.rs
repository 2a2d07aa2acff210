//! The regime Markov chain: per-minute switching between drift/volatility states.

use crate::config::RegimeConfig;

/// One regime, ready for sampling.
#[derive(Clone, Debug)]
struct State {
    name: String,
    /// Probability of leaving this regime in a given minute.
    leave: f64,
    /// Annual drift added, in units of the symbol's annual vol.
    drift_shift: f64,
    /// Volatility multiplier, normalised so the long-run mean variance is unchanged.
    vol_scale: f64,
    /// The regimes reachable on leaving, with cumulative entry weights.
    next: Vec<(usize, f64)>,
}

/// The regime chain shared by all symbols; each symbol walks it with its own stream.
#[derive(Clone, Debug)]
pub(crate) struct RegimeChain {
    states: Vec<State>,
}

impl RegimeChain {
    /// Builds the chain from validated configs (non-empty, ranges checked).
    pub(crate) fn new(cfgs: &[RegimeConfig]) -> Self {
        let pi = stationary(cfgs);
        let mean_sq: f64 = pi
            .iter()
            .zip(cfgs)
            .map(|(p, c)| p * c.vol_scale * c.vol_scale)
            .sum();
        let norm = mean_sq.sqrt();
        let states = cfgs
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut acc = 0.0;
                let next = cfgs
                    .iter()
                    .enumerate()
                    .filter(|(j, n)| *j != i && n.weight > 0.0)
                    .map(|(j, n)| {
                        acc += n.weight;
                        (j, acc)
                    })
                    .collect();
                State {
                    name: c.name.clone(),
                    leave: 1.0 / c.mean_minutes,
                    drift_shift: c.drift_shift,
                    vol_scale: c.vol_scale / norm,
                    next,
                }
            })
            .collect();
        Self { states }
    }

    /// The regime after one more minute in `current`, given uniforms in [0, 1). Always
    /// draws one uniform, plus one more on a switch.
    pub(crate) fn step(&self, current: usize, mut uniform: impl FnMut() -> f64) -> usize {
        let s = &self.states[current];
        if uniform() >= s.leave {
            return current;
        }
        let Some(&(_, total)) = s.next.last() else {
            return current; // nowhere to go
        };
        let u = uniform() * total;
        s.next
            .iter()
            .find(|(_, cum)| u < *cum)
            .map_or(s.next[s.next.len() - 1].0, |(j, _)| *j)
    }

    /// The regime's name.
    pub(crate) fn name(&self, regime: usize) -> &str {
        &self.states[regime].name
    }

    /// Annual drift added in `regime`, in units of annual vol.
    pub(crate) fn drift_shift(&self, regime: usize) -> f64 {
        self.states[regime].drift_shift
    }

    /// Normalised volatility multiplier of `regime`.
    pub(crate) fn vol_scale(&self, regime: usize) -> f64 {
        self.states[regime].vol_scale
    }
}

/// The per-minute transition matrix of the chain described by `cfgs`.
fn transition_matrix(cfgs: &[RegimeConfig]) -> Vec<Vec<f64>> {
    let n = cfgs.len();
    let mut p = vec![vec![0.0; n]; n];
    for (i, c) in cfgs.iter().enumerate() {
        let others: f64 = cfgs
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, o)| o.weight)
            .sum();
        let leave = if others > 0.0 {
            1.0 / c.mean_minutes
        } else {
            0.0
        };
        p[i][i] = 1.0 - leave;
        for (j, o) in cfgs.iter().enumerate() {
            if j != i && others > 0.0 {
                p[i][j] = leave * o.weight / others;
            }
        }
    }
    p
}

/// The long-run share of time in each regime for a chain started in regime 0.
///
/// Computed by squaring the lazy matrix `(I + P) / 2` (same long-run shares, but never
/// periodic) 64 times, i.e. stepping 2^64 minutes, then reading row 0.
pub(crate) fn stationary(cfgs: &[RegimeConfig]) -> Vec<f64> {
    let n = cfgs.len();
    let mut m = transition_matrix(cfgs);
    for (i, row) in m.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (*v + if i == j { 1.0 } else { 0.0 }) / 2.0;
        }
    }
    for _ in 0..64 {
        let mut sq: Vec<Vec<f64>> = m
            .iter()
            .map(|row| {
                (0..n)
                    .map(|j| row.iter().zip(&m).map(|(a, mk)| a * mk[j]).sum())
                    .collect()
            })
            .collect();
        // Renormalise rows so rounding cannot drift over the squarings.
        for row in &mut sq {
            let s: f64 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= s);
        }
        m = sq;
    }
    m.swap_remove(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn regime(name: &str, vol_scale: f64, mean_minutes: f64, weight: f64) -> RegimeConfig {
        RegimeConfig {
            name: name.into(),
            drift_shift: 0.0,
            vol_scale,
            mean_minutes,
            weight,
        }
    }

    #[test]
    fn stationary_matches_simulated_occupancy_and_vol_is_normalised() {
        let cfgs = RegimeConfig::default_set();
        let pi = stationary(&cfgs);
        assert!((pi.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let chain = RegimeChain::new(&cfgs);
        let mean_sq: f64 = (0..cfgs.len())
            .map(|r| pi[r] * chain.vol_scale(r).powi(2))
            .sum();
        assert!((mean_sq - 1.0).abs() < 1e-12);

        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut counts = vec![0usize; cfgs.len()];
        let mut r = 0;
        let steps = 2_000_000;
        for _ in 0..steps {
            r = chain.step(r, || rng.random());
            counts[r] += 1;
        }
        for (c, p) in counts.iter().zip(&pi) {
            let share = *c as f64 / steps as f64;
            assert!((share - p).abs() < 0.03, "share {share} vs stationary {p}");
        }
    }

    #[test]
    fn periodic_and_absorbing_chains_have_sensible_shares() {
        // Always switching between two regimes: periodic, half the time in each.
        let flip = [regime("a", 1.0, 1.0, 1.0), regime("b", 1.0, 1.0, 1.0)];
        let pi = stationary(&flip);
        assert!(
            (pi[0] - 0.5).abs() < 1e-9 && (pi[1] - 0.5).abs() < 1e-9,
            "{pi:?}"
        );
        // Nothing to switch to: the chain stays in the first regime forever.
        let stuck = [regime("a", 1.0, 10.0, 0.0), regime("b", 3.0, 10.0, 0.0)];
        assert_eq!(stationary(&stuck), vec![1.0, 0.0]);
        let chain = RegimeChain::new(&stuck);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        assert!((0..1000).all(|_| chain.step(0, || rng.random()) == 0));
        assert_eq!(chain.vol_scale(0), 1.0);
    }
}
