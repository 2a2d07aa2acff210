//! How the paper venue prices, sizes and polices fills.

use flotilla_broker::matching::Costs;
use flotilla_domain::Money;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The paper venue's settings. Only `starting_cash` is stored in the file (once, when the
/// file is new); the rest applies to the handle that opened it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VenueConfig {
    /// Slippage and fees, the same numbers the paper broker and backtests use.
    pub costs: Costs,
    /// Cash of a new account. Reopening an existing file keeps its cash.
    pub starting_cash: Money,
    /// At most this fraction of a bar's volume fills per order per bar; `None` fills the
    /// whole order. Ticks ([`crate::PaperVenue::on_price`]) carry no volume and fill whole.
    pub partial_fill_fraction: Option<f64>,
    /// A cash account (the default): no buy beyond the cash, no sell beyond the position,
    /// no shorts. `false` is a margin account without limits: cash and positions may go
    /// negative.
    pub cash_account: bool,
    /// Test-only: [`crate::PaperVenue::submit`] sleeps this long before answering, to
    /// play a slow venue. Taken before the venue's lock, so other calls are not held up.
    #[serde(skip)]
    pub stall: Option<Duration>,
}

impl Default for VenueConfig {
    fn default() -> Self {
        Self {
            costs: Costs::default(),
            starting_cash: Money::ZERO,
            partial_fill_fraction: None,
            cash_account: true,
            stall: None,
        }
    }
}

impl VenueConfig {
    /// The default settings with `starting_cash`.
    pub fn with_cash(starting_cash: Money) -> Self {
        Self {
            starting_cash,
            ..Self::default()
        }
    }
}
