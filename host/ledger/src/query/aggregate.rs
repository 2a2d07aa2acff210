//! Per-bot and fleet figures folded incrementally from the append-only tables: each
//! refresh reads only rows past the last id it saw, so with a million fills a read costs
//! what the new rows cost (the first read pays for the whole history once).

use crate::LedgerError;
use crate::sql::Dec;
use flotilla_domain::Decimal;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One bot's figures from the ledger.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BotStats {
    /// The bot's id.
    pub bot: String,
    /// Ticks recorded, whatever their outcome.
    pub ticks: u64,
    /// Ticks that ended in error, timeout or trap.
    pub errors: u64,
    /// When the latest tick started (Unix ms).
    pub last_tick_at: Option<i64>,
    /// How the latest tick ended.
    pub last_outcome: Option<String>,
    /// How late the latest tick started, ms.
    pub last_lateness_ms: Option<i64>,
    /// How long the latest tick ran, µs.
    pub last_duration_us: Option<i64>,
    /// The latest failed tick's error text (or its outcome when it had none).
    pub last_error: Option<String>,
    /// When that failed tick started (Unix ms).
    pub last_error_at: Option<i64>,
    /// Intents sent.
    pub intents: u64,
    /// Intents approved as asked.
    pub approved: u64,
    /// Intents approved with another quantity.
    pub resized: u64,
    /// Intents refused.
    pub refused: u64,
    /// Fills recorded.
    pub trades: u64,
    /// Realised P&L over all fills, fees excluded.
    pub realized_pnl: Decimal,
    /// Fees paid.
    pub fees: Decimal,
    /// Version of the latest successful load.
    pub version: Option<String>,
    /// Content hash of the latest successful load.
    pub hash: Option<String>,
    /// Capital given at the latest rebalance.
    pub allocation: Option<Decimal>,
    /// Share of capital at the latest rebalance.
    pub weight: Option<f64>,
}

/// The fleet's equity marks, folded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EquityStats {
    /// When the latest mark was taken (Unix ms).
    pub time: Option<i64>,
    /// Equity at the latest mark.
    pub equity: Option<Decimal>,
    /// Cash at the latest mark.
    pub cash: Option<Decimal>,
    /// The highest equity marked.
    pub peak: Option<Decimal>,
    /// How far the latest mark is below the peak, as a fraction of the peak.
    pub drawdown: f64,
    /// The deepest such drawdown seen.
    pub max_drawdown: f64,
}

/// The folded state and the last id read from each table.
#[derive(Debug, Default)]
pub(crate) struct Aggregates {
    pub(crate) bots: BTreeMap<String, BotStats>,
    pub(crate) equity: EquityStats,
    /// Refusals by reason, fleet-wide.
    pub(crate) reasons: BTreeMap<String, u64>,
    seen: Seen,
    /// Latest rebalance sequence applied per bot (rows of one rebalance share it).
    alloc_seq: BTreeMap<String, i64>,
}

#[derive(Debug, Default)]
struct Seen {
    bots: i64,
    ticks: i64,
    intents: i64,
    fills: i64,
    versions: i64,
    allocations: i64,
    equity: i64,
}

fn stats<'a>(map: &'a mut BTreeMap<String, BotStats>, bot: &str) -> &'a mut BotStats {
    if !map.contains_key(bot) {
        map.insert(
            bot.to_string(),
            BotStats {
                bot: bot.to_string(),
                ..Default::default()
            },
        );
    }
    map.get_mut(bot).expect("inserted above")
}

/// Reads rows past `*after` with `sql` (whose first column is the id) and hands each on.
fn fold(
    conn: &Connection,
    sql: &str,
    after: &mut i64,
    mut f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<()>,
) -> Result<(), LedgerError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query([*after])?;
    while let Some(r) = rows.next()? {
        *after = r.get(0)?;
        f(r)?;
    }
    Ok(())
}

impl Aggregates {
    /// Folds in every row appended since the last refresh (call inside a read transaction).
    pub(crate) fn refresh(&mut self, conn: &Connection) -> Result<(), LedgerError> {
        let bots = &mut self.bots;
        fold(
            conn,
            "SELECT rowid, id FROM bots WHERE rowid > ?1 ORDER BY rowid",
            &mut self.seen.bots,
            |r| {
                stats(bots, r.get_ref(1)?.as_str()?);
                Ok(())
            },
        )?;
        fold(
            conn,
            "SELECT id, bot, started_at, outcome, error, lateness_ms, duration_us FROM ticks \
             WHERE id > ?1 ORDER BY id",
            &mut self.seen.ticks,
            |r| {
                let s = stats(bots, r.get_ref(1)?.as_str()?);
                let outcome: String = r.get(3)?;
                s.ticks += 1;
                s.last_tick_at = Some(r.get(2)?);
                s.last_lateness_ms = Some(r.get(5)?);
                s.last_duration_us = Some(r.get(6)?);
                // Must match TickOutcome::is_error.
                if matches!(outcome.as_str(), "error" | "timeout" | "trap") {
                    s.errors += 1;
                    s.last_error = Some(r.get::<_, Option<String>>(4)?.unwrap_or(outcome.clone()));
                    s.last_error_at = s.last_tick_at;
                }
                s.last_outcome = Some(outcome);
                Ok(())
            },
        )?;
        let reasons = &mut self.reasons;
        fold(
            conn,
            "SELECT id, bot, verdict, reason FROM intents WHERE id > ?1 ORDER BY id",
            &mut self.seen.intents,
            |r| {
                let s = stats(bots, r.get_ref(1)?.as_str()?);
                s.intents += 1;
                match r.get_ref(2)?.as_str()? {
                    "approved" => s.approved += 1,
                    "resized" => s.resized += 1,
                    _ => {
                        s.refused += 1;
                        let reason: Option<String> = r.get(3)?;
                        *reasons
                            .entry(reason.unwrap_or_else(|| "unspecified".into()))
                            .or_default() += 1;
                    }
                }
                Ok(())
            },
        )?;
        fold(
            conn,
            "SELECT id, bot, realized_pnl, fee FROM fills WHERE id > ?1 ORDER BY id",
            &mut self.seen.fills,
            |r| {
                let s = stats(bots, r.get_ref(1)?.as_str()?);
                s.trades += 1;
                // Summed exactly (SQL SUM would go through floating point).
                s.realized_pnl += r.get::<_, Dec>(2)?.0;
                s.fees += r.get::<_, Dec>(3)?.0;
                Ok(())
            },
        )?;
        fold(
            conn,
            "SELECT id, bot, version, content_hash FROM bot_versions \
             WHERE id > ?1 AND status = 'ok' ORDER BY id",
            &mut self.seen.versions,
            |r| {
                let s = stats(bots, r.get_ref(1)?.as_str()?);
                s.version = Some(r.get(2)?);
                s.hash = Some(r.get(3)?);
                Ok(())
            },
        )?;
        let alloc_seq = &mut self.alloc_seq;
        fold(
            conn,
            "SELECT id, bot, sequence, weight, budget FROM allocations WHERE id > ?1 ORDER BY id",
            &mut self.seen.allocations,
            |r| {
                let bot = r.get_ref(1)?.as_str()?;
                let seq: i64 = r.get(2)?;
                let latest = alloc_seq.entry(bot.to_string()).or_insert(i64::MIN);
                if seq >= *latest {
                    *latest = seq;
                    let s = stats(bots, bot);
                    s.weight = Some(r.get(3)?);
                    s.allocation = Some(r.get::<_, Dec>(4)?.0);
                }
                Ok(())
            },
        )?;
        let eq = &mut self.equity;
        fold(
            conn,
            "SELECT id, time, cash, equity FROM equity WHERE id > ?1 ORDER BY id",
            &mut self.seen.equity,
            |r| {
                let time: i64 = r.get(1)?;
                let equity = r.get::<_, Dec>(3)?.0;
                // Marks arrive in time order in practice; a late one does not move "latest".
                if eq.time.is_none_or(|t| time >= t) {
                    eq.time = Some(time);
                    eq.cash = Some(r.get::<_, Dec>(2)?.0);
                    eq.equity = Some(equity);
                }
                let peak = eq.peak.map_or(equity, |p| p.max(equity));
                eq.peak = Some(peak);
                let dd = drawdown(peak, equity);
                eq.max_drawdown = eq.max_drawdown.max(dd);
                if eq.time == Some(time) {
                    eq.drawdown = dd;
                }
                Ok(())
            },
        )?;
        Ok(())
    }
}

/// How far `value` is below `peak`, as a fraction of the peak (0 when the peak is not positive).
pub(crate) fn drawdown(peak: Decimal, value: Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    if peak <= Decimal::ZERO || value >= peak {
        return 0.0;
    }
    ((peak - value) / peak).to_f64().unwrap_or(0.0)
}
