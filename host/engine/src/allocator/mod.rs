//! Capital allocation across bots: an equal split baseline and discounted Thompson sampling.

pub mod thompson;

pub use thompson::{
    Allocation, AllocationWhy, AllocatorState, BotAllocation, BotEvidence, PosteriorSummary,
    Priors, ThompsonAllocator, ThompsonConfig, fit_weights,
};

use flotilla_domain::{BotId, Money};
use rust_decimal::{Decimal, RoundingStrategy};

/// An invalid allocator setting.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AllocationError {
    /// A setting is out of range.
    #[error("bad allocator setting `{field}`: {value}")]
    BadConfig {
        /// The key.
        field: &'static str,
        /// Its value.
        value: f64,
    },
}

/// Splits capital equally among bots (the baseline allocator).
#[derive(Clone, Copy, Debug, Default)]
pub struct EqualSplit;

impl EqualSplit {
    /// Equal shares of `capital`, rounded down to 8 decimals so the sum never exceeds it.
    pub fn allocate(&self, bots: &[BotId], capital: Money) -> Vec<(BotId, Money)> {
        if bots.is_empty() {
            return Vec::new();
        }
        let share = (capital.max(Decimal::ZERO) / Decimal::from(bots.len()))
            .round_dp_with_strategy(8, RoundingStrategy::ToZero);
        bots.iter().map(|b| (b.clone(), share)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn equal_split_shares_and_never_exceeds_capital() {
        let bots: Vec<BotId> = ["a", "b", "c"].into_iter().map(BotId::from).collect();
        let out = EqualSplit.allocate(&bots, dec!(100));
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(|(_, c)| *c == dec!(33.33333333)));
        assert!(out.iter().map(|(_, c)| *c).sum::<Decimal>() <= dec!(100));
        assert!(EqualSplit.allocate(&[], dec!(100)).is_empty());
    }
}
