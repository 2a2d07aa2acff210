//! The JSON the API answers with where it joins the fleet's live view and the ledger.

use flotilla_ledger::query::{BotStats, EquityStats, StateChangeItem, TradingStateView};
use flotilla_telemetry::{BotLive, FleetSnapshot, PositionLive};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One bot: its live state (schedule, pause, quarantine, version) and its ledger figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BotView {
    /// The bot's id.
    pub id: String,
    /// `running`, `paused`, `quarantined`, or `unloaded` (in the ledger, not in the fleet).
    pub state: String,
    /// Why it is quarantined.
    pub quarantine: Option<String>,
    /// The schedule as written.
    pub schedule: Option<String>,
    /// When it runs next (Unix ms).
    pub next_run_ms: Option<i64>,
    /// Its component's name and version (live, else the ledger's latest load).
    pub version: Option<String>,
    /// Its component's content hash.
    pub hash: Option<String>,
    /// Capital allocated (decimal; live, else the latest rebalance).
    pub allocation: Option<String>,
    /// Share of capital at the latest rebalance.
    pub weight: Option<f64>,
    /// Symbols it trades.
    pub symbols: Vec<String>,
    /// Ticks recorded.
    pub ticks: u64,
    /// Ticks that failed (error, timeout, trap).
    pub errors: u64,
    /// The latest failure's text.
    pub last_error: Option<String>,
    /// When it happened (Unix ms).
    pub last_error_at: Option<i64>,
    /// When the latest tick started (Unix ms).
    pub last_tick_at: Option<i64>,
    /// How it ended.
    pub last_outcome: Option<String>,
    /// How late it started, ms.
    pub lateness_ms: Option<i64>,
    /// How long it ran, µs.
    pub duration_us: Option<i64>,
    /// Intents: sent, approved, resized, refused.
    pub intents: u64,
    /// Approved as asked.
    pub approved: u64,
    /// Approved with another quantity.
    pub resized: u64,
    /// Refused.
    pub refused: u64,
    /// Fills.
    pub trades: u64,
    /// Realised P&L, fees excluded (decimal).
    pub realized_pnl: String,
    /// Fees paid (decimal).
    pub fees: String,
    /// Unrealised P&L of its open positions at the last marks (decimal).
    pub unrealized_pnl: String,
    /// Realised minus fees plus unrealised (decimal).
    pub pnl: String,
}

/// Joins the live bots, the ledger's figures and the open positions, by id.
pub(crate) fn bot_views(
    live: Vec<BotLive>,
    stats: Vec<BotStats>,
    positions: &[PositionLive],
) -> Vec<BotView> {
    use rust_decimal::Decimal;
    let mut unrealized: BTreeMap<&str, Decimal> = BTreeMap::new();
    for p in positions {
        if let Ok(u) = p.unrealized.parse::<Decimal>() {
            *unrealized.entry(p.bot.as_str()).or_default() += u;
        }
    }
    let mut stats: BTreeMap<String, BotStats> =
        stats.into_iter().map(|s| (s.bot.clone(), s)).collect();
    let mut out: Vec<BotView> = Vec::with_capacity(live.len().max(stats.len()));
    for b in live {
        let s = stats.remove(&b.id);
        out.push(view(Some(b), s, &unrealized));
    }
    for (_, s) in stats {
        out.push(view(None, Some(s), &unrealized));
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

fn view(
    live: Option<BotLive>,
    s: Option<BotStats>,
    unrealized: &BTreeMap<&str, rust_decimal::Decimal>,
) -> BotView {
    use rust_decimal::Decimal;
    let s = s.unwrap_or_default();
    let id = live.as_ref().map_or(s.bot.clone(), |l| l.id.clone());
    let u = unrealized.get(id.as_str()).copied().unwrap_or_default();
    let pnl = s.realized_pnl - s.fees + u;
    let (state, quarantine, schedule, next_run_ms, version, hash, allocation, symbols) = match live
    {
        Some(l) => (
            l.state,
            l.quarantine,
            Some(l.schedule),
            l.next_run_ms,
            Some(l.version),
            Some(l.hash),
            l.allocation.or(s.allocation.map(|a| a.to_string())),
            l.symbols,
        ),
        None => (
            "unloaded".to_string(),
            None,
            None,
            None,
            s.version.clone(),
            s.hash.clone(),
            s.allocation.map(|a| a.to_string()),
            Vec::new(),
        ),
    };
    BotView {
        id,
        state,
        quarantine,
        schedule,
        next_run_ms,
        version,
        hash,
        allocation,
        weight: s.weight,
        symbols,
        ticks: s.ticks,
        errors: s.errors,
        last_error: s.last_error,
        last_error_at: s.last_error_at,
        last_tick_at: s.last_tick_at,
        last_outcome: s.last_outcome,
        lateness_ms: s.last_lateness_ms,
        duration_us: s.last_duration_us,
        intents: s.intents,
        approved: s.approved,
        resized: s.resized,
        refused: s.refused,
        trades: s.trades,
        realized_pnl: s.realized_pnl.to_string(),
        fees: s.fees.to_string(),
        unrealized_pnl: u.to_string(),
        pnl: if pnl.is_zero() { Decimal::ZERO } else { pnl }.to_string(),
    }
}

/// An open position.
pub type PositionView = PositionLive;

/// Bots by state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotCounts {
    /// Loaded.
    pub total: usize,
    /// Ticking.
    pub running: usize,
    /// Paused by hand.
    pub paused: usize,
    /// Quarantined.
    pub quarantined: usize,
}

/// The fleet at a glance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FleetView {
    /// The fleet's name.
    pub name: String,
    /// `active`, `reducing` or `halted` (live).
    pub trading_state: String,
    /// Why (live).
    pub state_reason: String,
    /// Who set it (`token:admin`, `risk:daily_loss`), from the ledger.
    pub set_by: Option<String>,
    /// Since when (Unix ms), from the ledger.
    pub since: Option<i64>,
    /// Equity at the last marks (live, decimal).
    pub equity: String,
    /// Cash (live, decimal).
    pub cash: String,
    /// The highest equity the ledger recorded (decimal).
    pub peak_equity: Option<String>,
    /// Drawdown of the latest recorded mark from the peak (fraction).
    pub drawdown: f64,
    /// The deepest drawdown recorded (fraction).
    pub max_drawdown: f64,
    /// Bots by state.
    pub bots: BotCounts,
    /// Open positions (non-zero quantity).
    pub open_positions: usize,
    /// Orders not yet done.
    pub working_orders: u64,
    /// The fleet's clock (Unix ms).
    pub now_ms: i64,
}

/// Builds the fleet summary.
pub(crate) fn fleet_view(
    snap: FleetSnapshot,
    state: &TradingStateView,
    eq: &EquityStats,
    working_orders: u64,
    now_ms: i64,
) -> FleetView {
    let (total, paused, quarantined) = snap.bots;
    let agrees = state.state == snap.trading_state;
    FleetView {
        name: snap.name,
        set_by: state.set_by.clone().filter(|_| agrees),
        since: state.since.filter(|_| agrees),
        trading_state: snap.trading_state,
        state_reason: snap.state_reason,
        equity: snap.equity,
        cash: snap.cash,
        peak_equity: eq.peak.map(|p| p.to_string()),
        drawdown: eq.drawdown,
        max_drawdown: eq.max_drawdown,
        bots: BotCounts {
            total,
            running: total.saturating_sub(paused + quarantined),
            paused,
            quarantined,
        },
        open_positions: snap.positions.iter().filter(|p| !is_flat(p)).count(),
        working_orders,
        now_ms,
    }
}

/// Whether a position's quantity is zero.
pub(crate) fn is_flat(p: &PositionLive) -> bool {
    p.quantity
        .parse::<rust_decimal::Decimal>()
        .is_ok_and(|q| q.is_zero())
}

/// The trading state: live, with what the ledger says set it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateView {
    /// `active`, `reducing` or `halted` (live).
    pub state: String,
    /// Why (live).
    pub reason: String,
    /// Who set it (from the ledger's audit, when it agrees with the live state).
    pub set_by: Option<String>,
    /// Since when (Unix ms).
    pub since: Option<i64>,
    /// `manual`, `daily_loss`, `drawdown` or `session_reset`.
    pub cause: Option<String>,
    /// The latest changes, newest first.
    pub history: Vec<StateChangeItem>,
}

/// Builds the state view.
pub(crate) fn state_view(snap: &FleetSnapshot, ledger: TradingStateView) -> StateView {
    let agrees = ledger.state == snap.trading_state;
    StateView {
        state: snap.trading_state.clone(),
        reason: snap.state_reason.clone(),
        set_by: ledger.set_by.filter(|_| agrees),
        since: ledger.since.filter(|_| agrees),
        cause: ledger.cause.filter(|_| agrees),
        history: ledger.history,
    }
}
