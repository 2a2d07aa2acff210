//! The paged lists: orders, fills, verdicts, events, allocations and equity curves.

use super::aggregate::drawdown;
use super::{LedgerReader, Page};
use crate::orders::{ORDER_COLS, OrderView, order_view};
use crate::read::{FILL_COLS, FillRow, fill_row};
use crate::sql::{Dec, get_dec, get_opt_dec};
use crate::{LedgerError, OrderEventRow};
use flotilla_domain::{Decimal, OrderId};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Row, params_from_iter};
use serde::{Deserialize, Serialize};

/// Counts working orders through the partial index `orders_working`.
pub(crate) const WORKING_COUNT: &str = "SELECT COUNT(*) FROM orders INDEXED BY orders_working \
     WHERE state NOT IN ('filled', 'canceled', 'rejected', 'expired')";

/// A WHERE clause built from the filters a caller gave, with its bound values in order.
#[derive(Default)]
struct Where {
    clauses: Vec<&'static str>,
    values: Vec<Value>,
}

impl Where {
    fn add(&mut self, clause: &'static str, value: impl Into<Value>) {
        self.clauses.push(clause);
        self.values.push(value.into());
    }

    fn flag(&mut self, clause: &'static str) {
        self.clauses.push(clause);
    }

    fn opt<T: Into<Value>>(&mut self, clause: &'static str, value: Option<T>) {
        if let Some(v) = value {
            self.add(clause, v);
        }
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }
}

/// Which orders to list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatusFilter {
    /// Not yet in a terminal state.
    #[default]
    Working,
    /// Filled, canceled, rejected or expired.
    Done,
    /// Every order.
    All,
}

/// Filters of the order list.
#[derive(Clone, Debug, Default)]
pub struct OrderQuery {
    /// Working, done or all.
    pub status: OrderStatusFilter,
    /// Only this bot's.
    pub bot: Option<String>,
    /// Only orders older than this id (the previous page's `next`).
    pub cursor: Option<i64>,
    /// Page size.
    pub limit: usize,
}

/// Filters of the fill list.
#[derive(Clone, Debug, Default)]
pub struct FillQuery {
    /// Only this bot's.
    pub bot: Option<String>,
    /// Only fills at or after this time (Unix ms).
    pub from: Option<i64>,
    /// Only fills at or before this time (Unix ms).
    pub to: Option<i64>,
    /// Only fills older than this id.
    pub cursor: Option<i64>,
    /// Page size.
    pub limit: usize,
}

/// A fill with its ledger id (the cursor).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FillItem {
    /// The ledger's id.
    pub id: i64,
    /// The fill.
    #[serde(flatten)]
    pub fill: FillRow,
}

/// Filters of the verdict list.
#[derive(Clone, Debug, Default)]
pub struct VerdictQuery {
    /// Only this bot's.
    pub bot: Option<String>,
    /// Only this reason code.
    pub reason: Option<String>,
    /// Only `approved`, `resized` or `refused`.
    pub verdict: Option<String>,
    /// Only intents of ticks that started at or after this time (Unix ms).
    pub from: Option<i64>,
    /// ... and at or before this one.
    pub to: Option<i64>,
    /// Only intents older than this id.
    pub cursor: Option<i64>,
    /// Page size.
    pub limit: usize,
}

/// One risk verdict on one intent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerdictItem {
    /// The intent's ledger id (the cursor).
    pub id: i64,
    /// When its tick started (Unix ms).
    pub time: i64,
    /// The tick it came from.
    pub tick: i64,
    /// The bot.
    pub bot: String,
    /// The instrument.
    pub symbol: String,
    /// `buy`, `sell` or `target`.
    pub action: String,
    /// The quantity asked.
    pub quantity: Decimal,
    /// `approved`, `resized` or `refused`.
    pub verdict: String,
    /// The typed reason.
    pub reason: Option<String>,
    /// The numbers behind it.
    pub detail: serde_json::Value,
    /// The quantity that went on.
    pub final_quantity: Option<Decimal>,
    /// The bot's tag.
    pub tag: String,
}

/// How many refusals one reason caused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonCount {
    /// The reason code.
    pub reason: String,
    /// Refusals.
    pub count: u64,
}

/// Filters of the event list.
#[derive(Clone, Debug, Default)]
pub struct EventQuery {
    /// Only this kind (`control`, `trading_state`, `reload`, ...).
    pub kind: Option<String>,
    /// Only this bot's.
    pub bot: Option<String>,
    /// Only events older than this id.
    pub cursor: Option<i64>,
    /// Page size.
    pub limit: usize,
}

/// An audit event of the ledger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventItem {
    /// The ledger's id (the cursor).
    pub id: i64,
    /// When (Unix ms).
    pub time: i64,
    /// The bot, or `None` for the fleet.
    pub bot: Option<String>,
    /// The kind.
    pub kind: String,
    /// Free text (JSON for `control`).
    pub message: String,
}

/// Filters of the allocation history.
#[derive(Clone, Debug, Default)]
pub struct AllocationQuery {
    /// Only rebalances at or after this time (Unix ms).
    pub from: Option<i64>,
    /// ... and at or before this one.
    pub to: Option<i64>,
    /// At most this many rebalances, evenly picked over the range (the latest always in).
    pub points: usize,
}

/// One bot's line of one rebalance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AllocationPoint {
    /// Rebalance number.
    pub sequence: i64,
    /// When (Unix ms).
    pub time: i64,
    /// The bot.
    pub bot: String,
    /// Share of capital.
    pub weight: f64,
    /// Sampled probability of being the best bot.
    pub p_best: f64,
    /// Capital given.
    pub budget: Decimal,
    /// Why the weight is what it is.
    pub why: String,
}

/// An equity curve, downsampled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EquityCurve {
    /// The bot, or `None` for the fleet.
    pub bot: Option<String>,
    /// What the values are: `equity` (the fleet's marks) or `realized_pnl` (a bot's
    /// cumulative realised P&L net of fees, from its fills).
    pub basis: String,
    /// Rows in the range before downsampling.
    pub rows: u64,
    /// The deepest drawdown over the range, at full resolution (fraction of the peak).
    pub max_drawdown: f64,
    /// The points, oldest first.
    pub points: Vec<EquityPoint>,
}

/// One point of an equity curve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EquityPoint {
    /// When (Unix ms).
    pub time: i64,
    /// The value.
    pub value: Decimal,
    /// Cash (fleet curve only).
    pub cash: Option<Decimal>,
    /// The value's distance below the running peak.
    pub drawdown: Decimal,
    /// The same as a fraction of the peak (0 when the peak is not positive).
    pub drawdown_pct: f64,
}

/// Builds a page from rows fetched with `LIMIT limit + 1`.
fn page<T>(mut items: Vec<T>, limit: usize, id: impl Fn(&T) -> i64) -> Page<T> {
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(id)
    } else {
        None
    };
    Page { items, next }
}

impl LedgerReader {
    fn select<T>(
        &self,
        sql: &str,
        w: &Where,
        f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, LedgerError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params_from_iter(w.values.iter()), f)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Orders, newest first, without their history.
    pub fn orders_page(&self, q: &OrderQuery) -> Result<Page<OrderView>, LedgerError> {
        let mut w = Where::default();
        match q.status {
            OrderStatusFilter::Working => {
                w.flag("state NOT IN ('filled', 'canceled', 'rejected', 'expired')")
            }
            OrderStatusFilter::Done => {
                w.flag("state IN ('filled', 'canceled', 'rejected', 'expired')")
            }
            OrderStatusFilter::All => {}
        }
        w.opt("bot = ?", q.bot.clone());
        w.opt("id < ?", q.cursor);
        w.values.push(Value::Integer(q.limit as i64 + 1));
        let sql = format!(
            "SELECT {ORDER_COLS} FROM orders {} ORDER BY id DESC LIMIT ?",
            w.sql()
        );
        let rows = self.select(&sql, &w, order_view)?;
        Ok(page(rows, q.limit, |o| o.id.0 as i64))
    }

    /// One order with its state history, and its fills.
    pub fn order_detail(&self, id: u64) -> Result<Option<(OrderView, Vec<FillItem>)>, LedgerError> {
        let Ok(key) = i64::try_from(id) else {
            return Ok(None);
        };
        let sql = format!("SELECT {ORDER_COLS} FROM orders WHERE id = ?1");
        let Some(mut order) = self
            .conn
            .prepare_cached(&sql)?
            .query_row([key], order_view)
            .optional()?
        else {
            return Ok(None);
        };
        order.history = self.history(OrderId(id))?;
        let sql = format!("SELECT {FILL_COLS}, id FROM fills WHERE order_id = ?1 ORDER BY id");
        let fills = self.select(
            &sql,
            &Where {
                clauses: vec![],
                values: vec![Value::Integer(key)],
            },
            fill_item,
        )?;
        Ok(Some((order, fills)))
    }

    fn history(&self, id: OrderId) -> Result<Vec<OrderEventRow>, LedgerError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT time, from_state, to_state, detail FROM order_events \
             WHERE order_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([id.0 as i64], |r| {
            let from: Option<String> = r.get(1)?;
            let to: String = r.get(2)?;
            let detail: String = r.get(3)?;
            let bad = |i, e| {
                rusqlite::Error::FromSqlConversionFailure(
                    i,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            };
            Ok(OrderEventRow {
                time: flotilla_domain::Timestamp(r.get(0)?),
                from: from.map(|f| f.parse().map_err(|e| bad(1, e))).transpose()?,
                to: to.parse().map_err(|e| bad(2, e))?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Fills, newest first.
    pub fn fills_page(&self, q: &FillQuery) -> Result<Page<FillItem>, LedgerError> {
        let mut w = Where::default();
        w.opt("bot = ?", q.bot.clone());
        w.opt("time >= ?", q.from);
        w.opt("time <= ?", q.to);
        w.opt("id < ?", q.cursor);
        w.values.push(Value::Integer(q.limit as i64 + 1));
        let sql = format!(
            "SELECT {FILL_COLS}, id FROM fills {} ORDER BY id DESC LIMIT ?",
            w.sql()
        );
        let rows = self.select(&sql, &w, fill_item)?;
        Ok(page(rows, q.limit, |f| f.id))
    }

    /// Risk verdicts with their reasons, newest first.
    pub fn verdicts_page(&self, q: &VerdictQuery) -> Result<Page<VerdictItem>, LedgerError> {
        let mut w = Where::default();
        w.opt("i.bot = ?", q.bot.clone());
        w.opt("i.reason = ?", q.reason.clone());
        w.opt("i.verdict = ?", q.verdict.clone());
        w.opt("t.started_at >= ?", q.from);
        w.opt("t.started_at <= ?", q.to);
        w.opt("i.id < ?", q.cursor);
        w.values.push(Value::Integer(q.limit as i64 + 1));
        let sql = format!(
            "SELECT i.id, t.started_at, i.tick_id, i.bot, i.symbol, i.action, i.quantity, \
             i.verdict, i.reason, i.detail, i.final_quantity, i.tag \
             FROM intents i JOIN ticks t ON t.id = i.tick_id {} ORDER BY i.id DESC LIMIT ?",
            w.sql()
        );
        let rows = self.select(&sql, &w, |r| {
            let detail: String = r.get(9)?;
            Ok(VerdictItem {
                id: r.get(0)?,
                time: r.get(1)?,
                tick: r.get(2)?,
                bot: r.get(3)?,
                symbol: r.get(4)?,
                action: r.get(5)?,
                quantity: get_dec(r, 6)?,
                verdict: r.get(7)?,
                reason: r.get(8)?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
                final_quantity: get_opt_dec(r, 10)?,
                tag: r.get(11)?,
            })
        })?;
        Ok(page(rows, q.limit, |v| v.id))
    }

    /// Refusals by reason, most frequent first (filters as in [`VerdictQuery`]; its
    /// verdict, cursor and limit are ignored).
    pub fn refusal_reasons(&mut self, q: &VerdictQuery) -> Result<Vec<ReasonCount>, LedgerError> {
        let mut counts: Vec<ReasonCount> =
            if q.bot.is_none() && q.reason.is_none() && q.from.is_none() && q.to.is_none() {
                // The whole history: folded incrementally, no scan.
                self.snapshot(|conn, agg| {
                    agg.refresh(conn)?;
                    Ok(agg
                        .reasons
                        .iter()
                        .map(|(reason, &count)| ReasonCount {
                            reason: reason.clone(),
                            count,
                        })
                        .collect())
                })?
            } else {
                let mut w = Where::default();
                w.flag("i.verdict = 'refused'");
                w.opt("i.bot = ?", q.bot.clone());
                w.opt("i.reason = ?", q.reason.clone());
                w.opt("t.started_at >= ?", q.from);
                w.opt("t.started_at <= ?", q.to);
                let sql = format!(
                    "SELECT COALESCE(i.reason, 'unspecified'), COUNT(*) FROM intents i \
                     JOIN ticks t ON t.id = i.tick_id {} GROUP BY 1",
                    w.sql()
                );
                self.select(&sql, &w, |r| {
                    Ok(ReasonCount {
                        reason: r.get(0)?,
                        count: r.get::<_, i64>(1)?.unsigned_abs(),
                    })
                })?
            };
        counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
        Ok(counts)
    }

    /// Audit events, newest first.
    pub fn events_page(&self, q: &EventQuery) -> Result<Page<EventItem>, LedgerError> {
        let mut w = Where::default();
        w.opt("kind = ?", q.kind.clone());
        w.opt("bot = ?", q.bot.clone());
        w.opt("id < ?", q.cursor);
        w.values.push(Value::Integer(q.limit as i64 + 1));
        let sql = format!(
            "SELECT id, time, bot, kind, message FROM events {} ORDER BY id DESC LIMIT ?",
            w.sql()
        );
        let rows = self.select(&sql, &w, |r| {
            Ok(EventItem {
                id: r.get(0)?,
                time: r.get(1)?,
                bot: r.get(2)?,
                kind: r.get(3)?,
                message: r.get(4)?,
            })
        })?;
        Ok(page(rows, q.limit, |e| e.id))
    }

    /// Allocation history: every bot's line of up to `points` rebalances in the range,
    /// oldest first.
    pub fn allocations(&self, q: &AllocationQuery) -> Result<Vec<AllocationPoint>, LedgerError> {
        let mut w = Where::default();
        w.opt("time >= ?", q.from);
        w.opt("time <= ?", q.to);
        let sql = format!(
            "SELECT DISTINCT sequence FROM allocations {} ORDER BY sequence",
            w.sql()
        );
        let seqs: Vec<i64> = self.select(&sql, &w, |r| r.get(0))?;
        let picked = spread(&seqs, q.points.max(1));
        let mut out = Vec::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT sequence, time, bot, weight, p_best, budget, why FROM allocations \
             INDEXED BY allocations_sequence WHERE sequence = ?1 ORDER BY bot",
        )?;
        for seq in picked {
            let rows = stmt.query_map([seq], |r| {
                Ok(AllocationPoint {
                    sequence: r.get(0)?,
                    time: r.get(1)?,
                    bot: r.get(2)?,
                    weight: r.get(3)?,
                    p_best: r.get(4)?,
                    budget: get_dec(r, 5)?,
                    why: r.get(6)?,
                })
            })?;
            for row in rows {
                out.push(row?);
            }
        }
        Ok(out)
    }

    /// The fleet's equity curve (`bot` = `None`) or one bot's cumulative realised P&L,
    /// in `[from, to]`, downsampled to at most `points` (the last row of each time bucket).
    pub fn equity_curve(
        &self,
        bot: Option<&str>,
        from: Option<i64>,
        to: Option<i64>,
        points: usize,
    ) -> Result<EquityCurve, LedgerError> {
        // (time, value, cash) at full resolution.
        let rows: Vec<(i64, Decimal, Option<Decimal>)> = match bot {
            None => {
                let mut w = Where::default();
                w.opt("time >= ?", from);
                w.opt("time <= ?", to);
                let sql = format!(
                    "SELECT time, equity, cash FROM equity {} ORDER BY time, id",
                    w.sql()
                );
                self.select(&sql, &w, |r| {
                    Ok((
                        r.get(0)?,
                        r.get::<_, Dec>(1)?.0,
                        Some(r.get::<_, Dec>(2)?.0),
                    ))
                })?
            }
            Some(bot) => {
                // Cumulative from the bot's first fill, so the range only crops the view.
                let mut w = Where::default();
                w.add("bot = ?", bot.to_string());
                let sql = format!(
                    "SELECT time, realized_pnl, fee FROM fills {} ORDER BY id",
                    w.sql()
                );
                let mut total = Decimal::ZERO;
                let mut out = Vec::new();
                for (time, pnl, fee) in self.select(&sql, &w, |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Dec>(1)?.0,
                        r.get::<_, Dec>(2)?.0,
                    ))
                })? {
                    total += pnl - fee;
                    if from.is_none_or(|f| time >= f) && to.is_none_or(|t| time <= t) {
                        out.push((time, total, None));
                    }
                }
                out
            }
        };
        Ok(downsample(bot, rows, points.max(2)))
    }
}

/// A fill row selected as `{FILL_COLS}, id`.
fn fill_item(r: &Row<'_>) -> rusqlite::Result<FillItem> {
    Ok(FillItem {
        id: r.get(11)?,
        fill: fill_row(r)?,
    })
}

/// Up to `n` values of `all`, evenly spread, the first and last included.
fn spread(all: &[i64], n: usize) -> Vec<i64> {
    if all.len() <= n {
        return all.to_vec();
    }
    let mut out: Vec<i64> = (0..n)
        .map(|i| all[i * (all.len() - 1) / (n - 1).max(1)])
        .collect();
    out.dedup();
    out
}

/// Computes drawdowns at full resolution, then keeps the last row of each of `points`
/// equal time buckets.
fn downsample(
    bot: Option<&str>,
    rows: Vec<(i64, Decimal, Option<Decimal>)>,
    points: usize,
) -> EquityCurve {
    let n = rows.len();
    let (t0, t1) = match (rows.first(), rows.last()) {
        (Some(a), Some(b)) => (a.0, b.0),
        _ => (0, 0),
    };
    let span = (t1 - t0).max(1) as i128;
    let mut peak: Option<Decimal> = None;
    let mut max_dd = 0.0f64;
    let mut out: Vec<EquityPoint> = Vec::with_capacity(points.min(n));
    let mut last_bucket = None;
    for (time, value, cash) in rows {
        let p = peak.map_or(value, |p| p.max(value));
        peak = Some(p);
        let pct = drawdown(p, value);
        max_dd = max_dd.max(pct);
        let point = EquityPoint {
            time,
            value,
            cash,
            drawdown: p - value,
            drawdown_pct: pct,
        };
        let bucket = ((time - t0) as i128 * (points as i128 - 1) / span) as i64;
        if last_bucket == Some(bucket) {
            *out.last_mut().expect("a bucket has a point") = point;
        } else {
            out.push(point);
            last_bucket = Some(bucket);
        }
    }
    EquityCurve {
        bot: bot.map(str::to_string),
        basis: if bot.is_some() {
            "realized_pnl"
        } else {
            "equity"
        }
        .into(),
        rows: n as u64,
        max_drawdown: max_dd,
        points: out,
    }
}
