//! Host-level persistence: risk memory and allocator posteriors (as JSON, so a restart
//! continues where the last run stopped), and the history of capital allocations.

use crate::sql::{Dec, get_dec, get_ts};
use crate::{Ledger, LedgerError};
use flotilla_domain::{BotId, Money, Timestamp};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

/// One bot's line of a rebalance, as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AllocationRow {
    /// Rebalance number.
    pub sequence: u64,
    /// When it happened.
    pub time: Timestamp,
    /// The bot.
    pub bot: BotId,
    /// Share of capital.
    pub weight: f64,
    /// Sampled probability of being the best bot.
    pub p_best: f64,
    /// Capital given.
    pub budget: Money,
    /// Why the weight is what it is (`share`, `floor`, `cap`, `halted`).
    pub why: String,
    /// The posterior summary behind it.
    pub posterior: serde_json::Value,
}

/// Stores `value` under `key` on `conn` (inside the caller's transaction, if any).
pub(crate) fn upsert_host_state(
    conn: &rusqlite::Connection,
    time: Timestamp,
    key: &str,
    value: &serde_json::Value,
) -> Result<(), LedgerError> {
    conn.prepare_cached(
        "INSERT INTO host_state (key, value, updated_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )?
    .execute(params![key, value.to_string(), time.0])?;
    Ok(())
}

impl Ledger {
    /// Stores a host-level value (e.g. `risk_memory`, `allocator`) under `key`.
    pub fn save_host_state(
        &mut self,
        time: Timestamp,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<(), LedgerError> {
        upsert_host_state(&self.conn, time, key, value)
    }

    /// The latest time anything was recorded (a tick, a fill or an equity mark); `None`
    /// for a new ledger. A restarted fleet resumes its market from here.
    pub fn last_recorded_time(&self) -> Result<Option<Timestamp>, LedgerError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT MAX(t) FROM (SELECT MAX(started_at) AS t FROM ticks \
                 UNION ALL SELECT MAX(time) FROM fills UNION ALL SELECT MAX(time) FROM equity)",
            )?
            .query_row([], |r| r.get::<_, Option<i64>>(0))?
            .map(Timestamp))
    }

    /// A host-level value stored under `key`.
    pub fn load_host_state(&self, key: &str) -> Result<Option<serde_json::Value>, LedgerError> {
        let text: Option<String> = self
            .conn
            .prepare_cached("SELECT value FROM host_state WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?;
        Ok(match text {
            Some(t) => Some(serde_json::from_str(&t)?),
            None => None,
        })
    }

    /// Records one rebalance, all bots in one transaction.
    pub fn record_allocation(&mut self, rows: &[AllocationRow]) -> Result<(), LedgerError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO allocations (sequence, time, bot, weight, p_best, budget, why, posterior) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for r in rows {
                stmt.execute(params![
                    r.sequence as i64,
                    r.time.0,
                    r.bot.as_str(),
                    r.weight,
                    r.p_best,
                    Dec(r.budget),
                    r.why,
                    r.posterior.to_string()
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The rows of the latest rebalance, by bot.
    pub fn latest_allocation(&self) -> Result<Vec<AllocationRow>, LedgerError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT sequence, time, bot, weight, p_best, budget, why, posterior FROM allocations \
             WHERE sequence = (SELECT MAX(sequence) FROM allocations) ORDER BY bot",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(AllocationRow {
                sequence: r.get::<_, i64>(0)? as u64,
                time: get_ts(r, 1)?,
                bot: BotId::new(r.get::<_, String>(2)?),
                weight: r.get(3)?,
                p_best: r.get(4)?,
                budget: get_dec(r, 5)?,
                why: r.get(6)?,
                posterior: serde_json::from_str(&r.get::<_, String>(7)?).unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn host_state_and_allocations_round_trip_in_a_real_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        {
            let mut l = Ledger::open(&path).unwrap();
            l.save_host_state(Timestamp(1), "allocator", &serde_json::json!({"x": 1}))
                .unwrap();
            l.save_host_state(Timestamp(2), "allocator", &serde_json::json!({"x": 2}))
                .unwrap();
            let row = |seq, bot: &str, budget| AllocationRow {
                sequence: seq,
                time: Timestamp(seq as i64),
                bot: BotId::new(bot),
                weight: 0.25,
                p_best: 0.5,
                budget,
                why: "share".into(),
                posterior: serde_json::json!({"trades": 3}),
            };
            l.record_allocation(&[row(0, "a", dec!(1)), row(0, "b", dec!(2))])
                .unwrap();
            l.record_allocation(&[row(1, "b", dec!(0.1)), row(1, "a", dec!(0.2))])
                .unwrap();
        }
        let l = Ledger::open(&path).unwrap();
        assert_eq!(
            l.load_host_state("allocator").unwrap(),
            Some(serde_json::json!({"x": 2}))
        );
        assert_eq!(l.load_host_state("nothing").unwrap(), None);
        let latest = l.latest_allocation().unwrap();
        assert_eq!(latest.len(), 2);
        assert_eq!(
            (latest[0].bot.as_str(), latest[0].budget, latest[0].sequence),
            ("a", dec!(0.2), 1)
        );
        assert_eq!(latest[1].posterior["trades"], 3);
    }
}
