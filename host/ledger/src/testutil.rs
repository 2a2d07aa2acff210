//! Fixtures shared by the unit tests.

use crate::{IntentRecord, Ledger, TickOutcome, TickRecord, VerdictKind, VerdictRecord};
use flotilla_domain::{
    BotId, Decimal, Fill, Intent, OrderAction, OrderId, OrderRequest, Position, Side, Symbol,
    Timestamp,
};
use std::path::PathBuf;
use tempfile::TempDir;

/// A ledger in a fresh temporary file; keep the `TempDir` alive for as long as the file.
pub(crate) fn temp_ledger() -> (TempDir, PathBuf, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let ledger = Ledger::open(&path).unwrap();
    (dir, path, ledger)
}

/// A successful tick with nothing in it.
pub(crate) fn tick(bot: &str, seq: u64, at: i64) -> TickRecord {
    TickRecord {
        bot: BotId::new(bot),
        seq,
        scheduled_at: Timestamp(at),
        started_at: Timestamp(at + 3),
        lateness_ms: 3,
        duration_us: 250,
        outcome: TickOutcome::Ok,
        error: None,
        intents: Vec::new(),
        kv_writes: Vec::new(),
        positions: Vec::new(),
        host_state: Vec::new(),
    }
}

/// An intent with no stops.
pub(crate) fn intent(bot: &str, symbol: &str, action: OrderAction) -> Intent {
    Intent {
        bot: BotId::new(bot),
        symbol: Symbol::new(symbol),
        action,
        confidence: 0.75,
        stop_loss: None,
        take_profit: None,
        trailing: None,
        scale_outs: Vec::new(),
        order_type: Default::default(),
        limit_price: None,
        time_in_force: Default::default(),
        tag: "t".into(),
    }
}

/// A refused intent with a reason and the numbers behind it.
pub(crate) fn refused(bot: &str, symbol: &str, qty: Decimal, reason: &str) -> IntentRecord {
    IntentRecord {
        intent: intent(bot, symbol, OrderAction::Buy(qty)),
        verdict: VerdictRecord {
            kind: VerdictKind::Refused,
            reason: Some(reason.into()),
            detail: serde_json::json!({ "limit": "100", "asked": qty.to_string() }),
            quantity: None,
        },
        order: None,
        fill: None,
        queued: false,
    }
}

/// An approved buy or sell, routed as order `id` and filled completely at `price`.
#[allow(clippy::too_many_arguments)] // a fixture: spelling out the trade reads best
pub(crate) fn filled(
    bot: &str,
    symbol: &str,
    side: Side,
    qty: Decimal,
    price: Decimal,
    fee: Decimal,
    id: u64,
    at: i64,
    realized: Decimal,
) -> IntentRecord {
    let action = match side {
        Side::Buy => OrderAction::Buy(qty),
        Side::Sell => OrderAction::Sell(qty),
    };
    IntentRecord {
        intent: intent(bot, symbol, action),
        verdict: VerdictRecord {
            kind: VerdictKind::Approved,
            reason: None,
            detail: serde_json::json!({}),
            quantity: Some(qty),
        },
        order: Some(order(bot, symbol, side, qty, id, at)),
        fill: Some((
            Fill {
                order_id: OrderId(id),
                bot: BotId::new(bot),
                symbol: Symbol::new(symbol),
                side,
                quantity: qty,
                price,
                fee,
                time: Timestamp(at),
                trade_id: String::new(),
                tag: "t".into(),
            },
            realized,
        )),
        queued: false,
    }
}

/// An order request.
pub(crate) fn order(
    bot: &str,
    symbol: &str,
    side: Side,
    qty: Decimal,
    id: u64,
    at: i64,
) -> OrderRequest {
    OrderRequest {
        id: OrderId(id),
        client_id: flotilla_domain::ClientOrderId::for_order("test", OrderId(id)),
        bot: BotId::new(bot),
        symbol: Symbol::new(symbol),
        side,
        quantity: qty,
        time: Timestamp(at),
        tag: "t".into(),
        exit: false,
    }
}

/// A position with the given totals.
pub(crate) fn position(qty: Decimal, avg: Decimal, realized: Decimal, fees: Decimal) -> Position {
    Position {
        quantity: qty,
        avg_price: avg,
        realized_pnl: realized,
        fees,
    }
}

/// Row count of a table, for all-or-nothing checks.
pub(crate) fn count(ledger: &Ledger, table: &str) -> i64 {
    ledger
        .conn
        .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}
