//! What the host hands the ledger to write: plain data, so the ledger needs no engine types.

use crate::sql::text_enum;
use flotilla_domain::{
    BotId, Decimal, Fill, Intent, OrderRequest, Position, Quantity, Symbol, Timestamp,
};
use serde::{Deserialize, Serialize};

text_enum!(
    /// How a tick ended.
    TickOutcome {
        /// The bot returned normally (possibly with no intents).
        Ok => "ok",
        /// The bot returned an error.
        Error => "error",
        /// The bot ran out of time.
        Timeout => "timeout",
        /// The bot trapped (panic, out of fuel or memory).
        Trap => "trap",
        /// The host did not run the tick (e.g. the previous one was still running).
        Skipped => "skipped",
        /// The host did not run the tick because the bot is quarantined.
        Quarantined => "quarantined",
    }
);

impl TickOutcome {
    /// Whether this outcome counts as a bot failure in summaries.
    pub fn is_error(self) -> bool {
        matches!(self, Self::Error | Self::Timeout | Self::Trap)
    }
}

text_enum!(
    /// What risk decided about an intent.
    VerdictKind {
        /// Passed as asked.
        Approved => "approved",
        /// Passed with a changed quantity.
        Resized => "resized",
        /// Not passed.
        Refused => "refused",
    }
);

text_enum!(
    /// Where an order stands with the broker.
    OrderStatus {
        /// Sent, nothing filled yet.
        Open => "open",
        /// Partly filled.
        PartiallyFilled => "partial",
        /// Completely filled.
        Filled => "filled",
        /// Refused by the broker.
        Rejected => "rejected",
        /// Cancelled before it completed.
        Cancelled => "cancelled",
    }
);

text_enum!(
    /// Whether a bot component loaded.
    LoadStatus {
        /// Loaded and initialised.
        Ok => "ok",
        /// Failed to compile, link, describe or initialise.
        Failed => "failed",
    }
);

/// The ledger's id of a recorded tick.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TickId(pub i64);

/// Everything that happened in one tick of one bot; written in one transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct TickRecord {
    /// The bot.
    pub bot: BotId,
    /// The tick number within this instance's life (restarts at 1 on reload).
    pub seq: u64,
    /// When the scheduler wanted the tick to run.
    pub scheduled_at: Timestamp,
    /// When it actually started.
    pub started_at: Timestamp,
    /// `started_at - scheduled_at`, in milliseconds.
    pub lateness_ms: i64,
    /// How long the bot's `on-tick` ran, in microseconds.
    pub duration_us: u64,
    /// How the tick ended.
    pub outcome: TickOutcome,
    /// The error text for non-`ok` outcomes.
    pub error: Option<String>,
    /// The bot's intents with their verdicts, orders and fills.
    pub intents: Vec<IntentRecord>,
    /// Key-value writes the bot made during the tick (last write of a key wins).
    pub kv_writes: Vec<(String, Vec<u8>)>,
    /// The bot's positions after the tick, for the symbols that changed.
    pub positions: Vec<(Symbol, Position)>,
    /// Host state (risk memory, allocator, exit book) to store under its key in the same
    /// transaction, so a crash never leaves a fill booked without the state it changed.
    pub host_state: Vec<(&'static str, serde_json::Value)>,
}

impl TickRecord {
    /// A tick of `bot` with `outcome` and nothing else yet (sequence 0: not the bot's own
    /// count); lateness is derived from the two times.
    pub fn new(
        bot: BotId,
        scheduled_at: Timestamp,
        started_at: Timestamp,
        outcome: TickOutcome,
    ) -> Self {
        Self {
            bot,
            seq: 0,
            scheduled_at,
            started_at,
            lateness_ms: started_at.0 - scheduled_at.0,
            duration_us: 0,
            outcome,
            error: None,
            intents: Vec::new(),
            kv_writes: Vec::new(),
            positions: Vec::new(),
            host_state: Vec::new(),
        }
    }
}

/// One intent and what became of it.
#[derive(Clone, Debug, PartialEq)]
pub struct IntentRecord {
    /// The intent as the bot asked it.
    pub intent: Intent,
    /// Risk's decision.
    pub verdict: VerdictRecord,
    /// The order routed for it, if any.
    pub order: Option<OrderRequest>,
    /// The order's fill, if it filled within the tick, with the PnL it realised (fees excluded).
    pub fill: Option<(Fill, Decimal)>,
    /// The order waits for an execution service to send it: recorded as `created` only
    /// (it is sent after this record commits).
    pub queued: bool,
}

/// Risk's decision on an intent, as plain data.
#[derive(Clone, Debug, PartialEq)]
pub struct VerdictRecord {
    /// Approved, resized or refused.
    pub kind: VerdictKind,
    /// A stable reason code, e.g. `max_position` (none for a plain approval).
    pub reason: Option<String>,
    /// The numbers behind the decision (limits, exposure, prices), for audits; null in a
    /// replay that keeps no ledger, except for refusals (its report lists only those).
    pub detail: serde_json::Value,
    /// The quantity that went on (the resized one when resized; none when refused).
    pub quantity: Option<Quantity>,
}

/// A bot component load attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct BotVersionRecord {
    /// The bot.
    pub bot: BotId,
    /// The version the component declared (empty if it never got that far).
    pub version: String,
    /// Hash of the component bytes, hex.
    pub content_hash: String,
    /// Where the component was loaded from.
    pub component_path: String,
    /// When the load happened.
    pub loaded_at: Timestamp,
    /// Whether it loaded.
    pub status: LoadStatus,
    /// Why it failed.
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_names_round_trip_in_text_and_json() {
        for o in TickOutcome::ALL {
            assert_eq!(o.as_str().parse::<TickOutcome>().unwrap(), *o);
            assert_eq!(serde_json::to_string(o).unwrap(), format!("\"{o}\""));
        }
        for v in VerdictKind::ALL {
            assert_eq!(v.as_str().parse::<VerdictKind>().unwrap(), *v);
        }
        for s in OrderStatus::ALL {
            assert_eq!(s.as_str().parse::<OrderStatus>().unwrap(), *s);
        }
        assert!("bogus".parse::<LoadStatus>().is_err());
        assert!(TickOutcome::Trap.is_error() && !TickOutcome::Quarantined.is_error());
    }
}
