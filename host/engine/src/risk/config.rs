//! Risk limits: fleet-wide defaults plus per-bot overrides.

use crate::underlying::UnderlyingRules;
use flotilla_domain::BotId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Fleet risk limits. Every field has a documented default; unknown keys are errors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskConfig {
    /// Max open (bot, symbol) positions in the fleet. Default 50.
    pub max_open_positions: usize,
    /// Max open positions per bot. Default 10.
    pub max_open_positions_per_bot: usize,
    /// Regexes mapping a symbol to its underlying (first capture group or whole match);
    /// empty = exact symbol. Default empty.
    pub underlying: UnderlyingRules,
    /// Decimal places sized quantities are rounded down to. Default 6.
    pub quantity_decimals: u32,
    /// Per-bot overrides, by bot id. Default none.
    pub bots: BTreeMap<BotId, BotRiskOverrides>,
}

impl Default for RiskConfig {
    fn default() -> Self {
        Self {
            max_open_positions: 50,
            max_open_positions_per_bot: 10,
            underlying: UnderlyingRules::default(),
            quantity_decimals: 6,
            bots: BTreeMap::new(),
        }
    }
}

/// Per-bot overrides of fleet limits; `None` keeps the fleet value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BotRiskOverrides {
    /// Overrides `max_open_positions_per_bot`.
    pub max_open_positions: Option<usize>,
}

impl RiskConfig {
    /// The bot's overrides, or the empty set.
    pub fn overrides(&self, bot: &BotId) -> Option<&BotRiskOverrides> {
        self.bots.get(bot)
    }
    /// Max open positions for `bot`.
    pub fn max_open_positions_for(&self, bot: &BotId) -> usize {
        self.overrides(bot)
            .and_then(|o| o.max_open_positions)
            .unwrap_or(self.max_open_positions_per_bot)
    }
}
