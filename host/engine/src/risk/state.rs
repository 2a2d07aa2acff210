//! Trading state (ACTIVE / REDUCING / HALTED), fleet-wide and per bot, with an audit trail.

use flotilla_domain::{BotId, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;

/// How much trading is allowed.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum TradingState {
    /// Any order the other gates approve.
    #[default]
    Active,
    /// Only orders that shrink a position.
    Reducing,
    /// No bot orders at all; only host-managed exits (which must shrink a position).
    Halted,
}

impl TradingState {
    /// `active`, `reducing` or `halted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Reducing => "reducing",
            Self::Halted => "halted",
        }
    }
    /// Whether risk-increasing orders are allowed.
    pub fn allows_increase(self) -> bool {
        self == Self::Active
    }
}

impl fmt::Display for TradingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who or what changed the state; automatic causes are lifted automatically.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateCause {
    /// An operator (CLI / API).
    Manual,
    /// The daily loss limit; lifted at the next session reset.
    DailyLoss,
    /// The drawdown limit; lifted only manually.
    Drawdown,
    /// The session reset lifted an automatic state.
    SessionReset,
}

/// One state change, for the ledger.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct StateChange {
    /// The bot, or `None` for the fleet.
    pub bot: Option<BotId>,
    /// State before.
    pub from: TradingState,
    /// State after.
    pub to: TradingState,
    /// What caused it.
    pub cause: StateCause,
    /// Free text with the numbers.
    pub reason: String,
    /// When.
    pub at: Timestamp,
}

/// The current state of one scope and why.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct StateEntry {
    /// The state.
    pub state: TradingState,
    /// What set it.
    pub cause: StateCause,
    /// Why.
    pub reason: String,
    /// When.
    pub since: Timestamp,
}

impl Default for StateEntry {
    fn default() -> Self {
        Self {
            state: TradingState::Active,
            cause: StateCause::Manual,
            reason: String::new(),
            since: Timestamp(0),
        }
    }
}

/// Fleet and per-bot states plus the changes not yet drained by the host.
#[derive(Clone, Debug, Default)]
pub struct StateBook {
    fleet: StateEntry,
    bots: HashMap<BotId, StateEntry>,
    pending: Vec<StateChange>,
}

impl StateBook {
    /// The fleet's state.
    pub fn fleet(&self) -> &StateEntry {
        &self.fleet
    }
    /// The bot's own state (Active when never set).
    pub fn bot(&self, bot: &BotId) -> Option<&StateEntry> {
        self.bots.get(bot)
    }
    /// Sets the fleet (`bot = None`) or a bot's state and returns the audit record.
    pub fn set(
        &mut self,
        bot: Option<&BotId>,
        state: TradingState,
        cause: StateCause,
        reason: impl Into<String>,
        now: Timestamp,
    ) -> StateChange {
        let entry = match bot {
            None => &mut self.fleet,
            Some(b) => self.bots.entry(b.clone()).or_default(),
        };
        let reason = reason.into();
        let change = StateChange {
            bot: bot.cloned(),
            from: entry.state,
            to: state,
            cause,
            reason: reason.clone(),
            at: now,
        };
        *entry = StateEntry {
            state,
            cause,
            reason,
            since: now,
        };
        self.pending.push(change.clone());
        change
    }
    /// Every bot with a state of its own, sorted by id.
    pub fn bots(&self) -> Vec<(BotId, StateEntry)> {
        let mut v: Vec<_> = self
            .bots
            .iter()
            .map(|(b, e)| (b.clone(), e.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
    /// Replaces the states (restore after restart); records no change.
    pub fn restore(&mut self, fleet: StateEntry, bots: Vec<(BotId, StateEntry)>) {
        self.fleet = fleet;
        self.bots = bots.into_iter().collect();
    }
    /// Takes the changes recorded since the last call (automatic ones included).
    pub fn drain(&mut self) -> Vec<StateChange> {
        std::mem::take(&mut self.pending)
    }
}
