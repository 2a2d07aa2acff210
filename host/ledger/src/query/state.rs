//! The trading state with who set it, and the control audit (events of kind `control`,
//! whose message is a [`ControlRecord`] as JSON).

use super::lists::{EventItem, EventQuery};
use super::{LedgerReader, Page};
use crate::{Ledger, LedgerError};
use flotilla_domain::{BotId, Timestamp};
use serde::{Deserialize, Serialize};

/// The event kind a control is audited under.
pub const CONTROL_KIND: &str = "control";

/// What a `control` event's message holds: who asked for what, and what came of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlRecord {
    /// Who asked: a token's name (`token:admin`), `telegram:<chat>`, `cli`.
    pub by: String,
    /// The control (`halt`, `pause_bot`, `cancel_order`, ...).
    pub control: String,
    /// What it was about: a bot id, an order id or a reason.
    pub target: Option<String>,
    /// Whether it acted.
    pub ok: bool,
    /// The fleet's answer, or why it did not act.
    pub result: String,
}

/// One audited control.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditItem {
    /// The event's ledger id (the cursor).
    pub id: i64,
    /// When (Unix ms).
    pub time: i64,
    /// The bot it concerned, if one.
    pub bot: Option<String>,
    /// Who asked (`None` if the message was not a [`ControlRecord`]).
    pub by: Option<String>,
    /// The control.
    pub control: Option<String>,
    /// What it was about.
    pub target: Option<String>,
    /// Whether it acted.
    pub ok: Option<bool>,
    /// The fleet's answer (or the raw message).
    pub result: String,
}

/// One change of the fleet's trading state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateChangeItem {
    /// When (Unix ms).
    pub time: i64,
    /// `active`, `reducing` or `halted` before.
    pub from: String,
    /// ... and after.
    pub to: String,
    /// `manual`, `daily_loss`, `drawdown` or `session_reset`.
    pub cause: String,
    /// Why, with the numbers.
    pub reason: String,
}

/// The fleet's trading state as the ledger records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TradingStateView {
    /// `active` (also when nothing was ever recorded), `reducing` or `halted`.
    pub state: String,
    /// Since when (Unix ms); `None`: since the start.
    pub since: Option<i64>,
    /// What caused it.
    pub cause: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// Who set it: the control's `by` for a manual change, `risk:<cause>` otherwise.
    pub set_by: Option<String>,
    /// The latest changes, newest first.
    pub history: Vec<StateChangeItem>,
}

impl Ledger {
    /// Audits one control (kind `control`, message: the record as JSON).
    pub fn record_control(
        &mut self,
        time: Timestamp,
        bot: Option<&BotId>,
        rec: &ControlRecord,
    ) -> Result<(), LedgerError> {
        self.record_event(time, bot, CONTROL_KIND, &serde_json::to_string(rec)?)
    }
}

/// `Active` → `active`, `DailyLoss` → `daily_loss`.
fn snake(debug_name: &str) -> String {
    let mut out = String::new();
    for (i, c) in debug_name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Parses the host's `trading_state` message: `Active -> Halted (Manual): why`.
fn parse_change(time: i64, message: &str) -> Option<StateChangeItem> {
    let (states, rest) = message.split_once(" (")?;
    let (cause, reason) = rest.split_once("): ")?;
    let (from, to) = states.split_once(" -> ")?;
    Some(StateChangeItem {
        time,
        from: snake(from.trim()),
        to: snake(to.trim()),
        cause: snake(cause),
        reason: reason.to_string(),
    })
}

fn audit_item(e: EventItem) -> AuditItem {
    match serde_json::from_str::<ControlRecord>(&e.message) {
        Ok(rec) => AuditItem {
            id: e.id,
            time: e.time,
            bot: e.bot,
            by: Some(rec.by),
            control: Some(rec.control),
            target: rec.target,
            ok: Some(rec.ok),
            result: rec.result,
        },
        Err(_) => AuditItem {
            id: e.id,
            time: e.time,
            bot: e.bot,
            by: None,
            control: None,
            target: None,
            ok: None,
            result: e.message,
        },
    }
}

impl LedgerReader {
    /// The control audit, newest first.
    pub fn audit_page(
        &self,
        cursor: Option<i64>,
        limit: usize,
    ) -> Result<Page<AuditItem>, LedgerError> {
        let page = self.events_page(&EventQuery {
            kind: Some(CONTROL_KIND.into()),
            bot: None,
            cursor,
            limit,
        })?;
        Ok(Page {
            items: page.items.into_iter().map(audit_item).collect(),
            next: page.next,
        })
    }

    /// The fleet's trading state, what set it and who, with its latest `history` changes.
    pub fn trading_state(&self, history: usize) -> Result<TradingStateView, LedgerError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT time, message FROM events \
             WHERE kind = 'trading_state' AND bot IS NULL ORDER BY id DESC LIMIT ?1",
        )?;
        let changes: Vec<StateChangeItem> = stmt
            .query_map([history.max(1) as i64], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?
            .filter_map(|row| match row {
                Ok((t, m)) => parse_change(t, &m).map(Ok),
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<_, _>>()?;
        let Some(latest) = changes.first().cloned() else {
            return Ok(TradingStateView {
                state: "active".into(),
                since: None,
                cause: None,
                reason: None,
                set_by: None,
                history: changes,
            });
        };
        let set_by = if latest.cause == "manual" {
            self.last_state_control(&latest.to)?
        } else {
            Some(format!("risk:{}", latest.cause))
        };
        Ok(TradingStateView {
            state: latest.to.clone(),
            since: Some(latest.time),
            cause: Some(latest.cause.clone()),
            reason: Some(latest.reason.clone()),
            set_by,
            history: changes.into_iter().take(history).collect(),
        })
    }

    /// Who asked, in the latest successful control that leads to trading state `to`.
    fn last_state_control(&self, to: &str) -> Result<Option<String>, LedgerError> {
        let control = match to {
            "halted" => "halt",
            "reducing" => "reduce",
            _ => "resume",
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT message FROM events WHERE kind = 'control' \
             AND bot IS NULL ORDER BY id DESC LIMIT 200",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        for msg in rows {
            if let Ok(rec) = serde_json::from_str::<ControlRecord>(&msg?)
                && rec.ok
                && rec.control == control
            {
                return Ok(Some(rec.by));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_hosts_state_change_message() {
        let c = parse_change(5, "Active -> Halted (DailyLoss): loss 3.1% > 3%").unwrap();
        assert_eq!(
            (
                c.from.as_str(),
                c.to.as_str(),
                c.cause.as_str(),
                c.reason.as_str()
            ),
            ("active", "halted", "daily_loss", "loss 3.1% > 3%")
        );
        assert!(parse_change(0, "garbage").is_none());
    }
}
