//! Human-readable tables for the end of a run and for `flotilla status`.

use flotilla_ledger::{BotSummary, EquityRow, EventRow, PositionRow, RefusalRow};
use std::fmt::Write;

/// The per-bot table: ticks, errors, intents, verdicts, trades, PnL.
pub fn bot_table(rows: &[BotSummary]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<20} {:>7} {:>6} {:>8} {:>8} {:>7} {:>7} {:>7} {:>14} {:>10}",
        "bot",
        "ticks",
        "errors",
        "intents",
        "approved",
        "resized",
        "refused",
        "trades",
        "realized pnl",
        "fees"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<20} {:>7} {:>6} {:>8} {:>8} {:>7} {:>7} {:>7} {:>14} {:>10}",
            r.bot.as_str(),
            r.ticks,
            r.errors,
            r.intents,
            r.approved,
            r.resized,
            r.refused,
            r.trades,
            r.realized_pnl.round_dp(2),
            r.fees.round_dp(2)
        );
    }
    out
}

/// Open positions per bot and symbol.
pub fn positions_table(rows: &[PositionRow]) -> String {
    let mut out = String::new();
    let open: Vec<_> = rows.iter().filter(|p| !p.quantity.is_zero()).collect();
    if open.is_empty() {
        return "no open positions\n".into();
    }
    let _ = writeln!(
        out,
        "{:<20} {:<10} {:>14} {:>12}",
        "bot", "symbol", "quantity", "avg price"
    );
    for p in open {
        let _ = writeln!(
            out,
            "{:<20} {:<10} {:>14} {:>12}",
            p.bot.as_str(),
            p.symbol.as_str(),
            p.quantity.round_dp(6),
            p.avg_price.round_dp(4)
        );
    }
    out
}

/// Recent refusals, newest first.
pub fn refusals_table(rows: &[RefusalRow]) -> String {
    if rows.is_empty() {
        return "no refusals\n".into();
    }
    let mut out = String::new();
    for r in rows {
        let _ = writeln!(
            out,
            "{:<20}  {:<20} {:<10} {}",
            fmt_time(r.time),
            r.bot.as_str(),
            r.symbol.as_str(),
            r.reason.as_deref().unwrap_or("-")
        );
    }
    out
}

/// Recent audit events (loads, failures, sandbox violations), newest first.
pub fn events_table(rows: &[EventRow]) -> String {
    let mut out = String::new();
    for e in rows {
        let bot = e.bot.as_ref().map(|b| b.as_str()).unwrap_or("-");
        let _ = writeln!(
            out,
            "{:<20}  {:<20} {:<18} {}",
            fmt_time(e.time),
            bot,
            e.kind,
            e.message
        );
    }
    out
}

/// One line on the latest equity snapshot.
pub fn equity_line(e: Option<&EquityRow>) -> String {
    match e {
        Some(e) => format!(
            "equity {} (cash {}) at {}\n",
            e.equity.round_dp(2),
            e.cash.round_dp(2),
            fmt_time(e.time)
        ),
        None => "no equity snapshot yet\n".into(),
    }
}

/// A timestamp as `YYYY-MM-DD HH:MM:SS` UTC.
pub fn fmt_time(t: flotilla_domain::Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(t.0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| t.0.to_string())
}

/// Orders, newest first; with `history`, each order's state changes under it.
pub fn orders_table(rows: &[flotilla_ledger::OrderView], history: bool) -> String {
    if rows.is_empty() {
        return "no orders\n".into();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>6} {:<32} {:<18} {:<8} {:<4} {:>12} {:>12} {:<6} {:<4} {:<16} when",
        "id", "client id", "bot", "symbol", "side", "quantity", "filled", "type", "tif", "state"
    );
    for o in rows {
        let kind = match o.limit_price {
            Some(p) => format!("{}@{}", o.order_type, p.round_dp(4)),
            None => o.order_type.clone(),
        };
        let _ = writeln!(
            out,
            "{:>6} {:<32} {:<18} {:<8} {:<4} {:>12} {:>12} {:<6} {:<4} {:<16} {}{}{}",
            o.id.0,
            o.client_id.as_deref().unwrap_or("-"),
            o.bot.as_str(),
            o.symbol.as_str(),
            o.side.as_str(),
            o.quantity.round_dp(6),
            o.filled_quantity.round_dp(6),
            kind,
            o.time_in_force,
            o.state.as_str(),
            fmt_time(o.time),
            if o.exit { " (host exit)" } else { "" },
            o.reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default(),
        );
        if history {
            for e in &o.history {
                let from = e.from.map_or("-", |f| f.as_str());
                let detail = if e.detail.is_null() {
                    String::new()
                } else {
                    format!(" {}", e.detail)
                };
                let _ = writeln!(
                    out,
                    "{:>6}   {} {} -> {}{}",
                    "",
                    fmt_time(e.time),
                    from,
                    e.to.as_str(),
                    detail
                );
            }
        }
    }
    out
}

/// The API's per-bot figures as the bot table's row.
pub fn summary_of(s: &flotilla_ledger::query::BotStats) -> BotSummary {
    BotSummary {
        bot: flotilla_domain::BotId::new(&s.bot),
        version: s.version.clone(),
        ticks: s.ticks,
        errors: s.errors,
        intents: s.intents,
        approved: s.approved,
        resized: s.resized,
        refused: s.refused,
        trades: s.trades,
        realized_pnl: s.realized_pnl,
        fees: s.fees,
        last_tick_at: s.last_tick_at.map(flotilla_domain::Timestamp),
        last_outcome: s.last_outcome.as_deref().and_then(|o| o.parse().ok()),
    }
}

/// The trading state with what set it, who and since when.
pub fn trading_state_line(s: &flotilla_ledger::query::TradingStateView) -> String {
    let mut out = format!("trading state: {}", s.state);
    if let Some(since) = s.since {
        let _ = write!(
            out,
            " since {}",
            fmt_time(flotilla_domain::Timestamp(since))
        );
    }
    if let Some(by) = &s.set_by {
        let _ = write!(out, ", set by {by}");
    }
    if let Some(reason) = &s.reason {
        let _ = write!(out, " ({reason})");
    }
    out.push('\n');
    out
}

/// The control audit, newest first: when, who, what, and what came of it.
pub fn audit_table(rows: &[flotilla_ledger::query::AuditItem]) -> String {
    if rows.is_empty() {
        return "no controls\n".into();
    }
    let mut out = String::new();
    for a in rows {
        let what = match (&a.control, &a.target) {
            (Some(c), Some(t)) => format!("{c} {t}"),
            (Some(c), None) => c.clone(),
            _ => "-".into(),
        };
        let _ = writeln!(
            out,
            "{:<20}  {:<16} {:<28} {} {}",
            fmt_time(flotilla_domain::Timestamp(a.time)),
            a.by.as_deref().unwrap_or("-"),
            what,
            match a.ok {
                Some(true) => "ok:",
                Some(false) => "refused:",
                None => "",
            },
            a.result
        );
    }
    out
}
