//! The controls a fleet accepts from outside (the HTTP API, Telegram, the CLI) and the
//! live view of its bots, as one trait the host implements. Every control names who asked,
//! and the host audits it in the ledger under that name.

use crate::{EventHub, FleetMetrics};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One control request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "control", rename_all = "snake_case")]
pub enum Control {
    /// Halt the fleet: no bot orders, host-managed exits only.
    Halt {
        /// Why (audited).
        reason: String,
    },
    /// Let the fleet only shrink positions.
    Reduce {
        /// Why (audited).
        reason: String,
    },
    /// Back to normal trading.
    Resume {
        /// Why (audited).
        reason: String,
    },
    /// Stop ticking one bot (its host-managed exits stay armed).
    PauseBot {
        /// The bot.
        bot: String,
    },
    /// Tick a paused bot again.
    ResumeBot {
        /// The bot.
        bot: String,
    },
    /// Close every position of one bot at market, through the risk chain's exit path.
    FlattenBot {
        /// The bot.
        bot: String,
    },
    /// Cancel one working order.
    CancelOrder {
        /// The host's order id.
        order_id: u64,
    },
    /// Reload the registry and every changed component.
    Reload,
}

impl Control {
    /// The control's name, as audited (`halt`, `pause_bot`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Control::Halt { .. } => "halt",
            Control::Reduce { .. } => "reduce",
            Control::Resume { .. } => "resume",
            Control::PauseBot { .. } => "pause_bot",
            Control::ResumeBot { .. } => "resume_bot",
            Control::FlattenBot { .. } => "flatten_bot",
            Control::CancelOrder { .. } => "cancel_order",
            Control::Reload => "reload",
        }
    }
}

/// Why a control did not act.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// No bot has that id.
    #[error("no bot {0:?} in the fleet")]
    UnknownBot(String),
    /// No working order has that id.
    #[error("order {0} is not working (unknown, or already done)")]
    UnknownOrder(u64),
    /// The control is not allowed now, with the reason.
    #[error("refused: {0}")]
    Refused(String),
    /// The fleet tried and failed.
    #[error("failed: {0}")]
    Failed(String),
}

/// A bot as the running fleet sees it now (what the ledger cannot know: the schedule's
/// next run, a pause, a quarantine in force, the version loaded).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BotLive {
    /// The bot's id.
    pub id: String,
    /// `running`, `paused` or `quarantined`.
    pub state: String,
    /// Why it is quarantined, when it is.
    pub quarantine: Option<String>,
    /// The schedule as written (`every 5m`, `cron ... tz`).
    pub schedule: String,
    /// When it runs next (fleet time, Unix ms), if known.
    pub next_run_ms: Option<i64>,
    /// The component's declared name and version.
    pub version: String,
    /// The component's content hash.
    pub hash: String,
    /// The capital allocated to it now (decimal).
    pub allocation: Option<String>,
    /// Symbols it trades.
    pub symbols: Vec<String>,
}

/// A position as the fleet's book holds it now (decimals as text, like the ledger).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PositionLive {
    /// The bot holding it.
    pub bot: String,
    /// Symbol.
    pub symbol: String,
    /// Signed quantity (negative: short).
    pub quantity: String,
    /// Average entry price.
    pub avg_price: String,
    /// Unrealised P&L at the last mark.
    pub unrealized: String,
}

/// The fleet at a glance, from its live state (for chat commands and summaries).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FleetSnapshot {
    /// The fleet's name.
    pub name: String,
    /// `active`, `reducing` or `halted`.
    pub trading_state: String,
    /// Why the state is what it is, and who set it.
    pub state_reason: String,
    /// Equity at the last marks.
    pub equity: String,
    /// Cash.
    pub cash: String,
    /// Open positions.
    pub positions: Vec<PositionLive>,
    /// Bots loaded, paused and quarantined.
    pub bots: (usize, usize, usize),
}

/// What the outside can ask of a running fleet. Implemented by the host; the HTTP server
/// and the alert channels hold it as `Arc<dyn FleetPort>`.
pub trait FleetPort: Send + Sync {
    /// Applies a control on behalf of `by` (a token's name, `telegram:<chat>`, `cli`),
    /// audited in the ledger; returns a human summary. May block: call it off async threads.
    fn control(&self, control: &Control, by: &str) -> Result<String, ControlError>;
    /// Every bot as the fleet sees it now, by id.
    fn bots(&self) -> Vec<BotLive>;
    /// The fleet at a glance, now.
    fn snapshot(&self) -> FleetSnapshot;
    /// Records an audit event in the ledger (`kind` such as `alert_sent`), and publishes it.
    fn record(&self, kind: &str, bot: Option<&str>, message: &str);
    /// The fleet's clock now (Unix ms; simulated time in a simulation).
    fn now_ms(&self) -> i64;
    /// The fleet's event stream.
    fn events(&self) -> &EventHub;
    /// The fleet's metrics.
    fn metrics(&self) -> &FleetMetrics;
    /// The ledger file (readers open their own connection).
    fn ledger_path(&self) -> &Path;
}
