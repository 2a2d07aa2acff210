//! What an alert says, and which fleet events make one (per the `[fleet.alerts.events]`
//! settings).

use flotilla_config::{AlertEvents, AlertLevel};
use flotilla_telemetry::{EventData, FleetEvent, FleetSnapshot};
use serde::Serialize;
use std::sync::Arc;

/// How bad the news is: picks the marker in Telegram and the embed colour in Discord.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For the record (fills, summaries, command answers).
    Info,
    /// Something is back to normal (resume, recovery, fresh feed).
    Good,
    /// Needs a look (reduce, host exit, stale feed, reconciliation, failed reload).
    Warning,
    /// Needs action (halt, quarantine).
    Critical,
}

impl Severity {
    /// Discord embed colour (RGB).
    pub fn colour(self) -> u32 {
        match self {
            Severity::Info => 0x3498DB,
            Severity::Good => 0x2ECC71,
            Severity::Warning => 0xE67E22,
            Severity::Critical => 0xE74C3C,
        }
    }

    /// A one-character marker for plain-text channels.
    pub fn marker(self) -> &'static str {
        match self {
            Severity::Info => "🔵",
            Severity::Good => "🟢",
            Severity::Warning => "🟠",
            Severity::Critical => "🔴",
        }
    }
}

/// One alert, as every channel renders it.
#[derive(Clone, Debug, Serialize)]
pub struct Alert {
    /// The event setting it falls under (`trading_state`, `entry_fill`, ...), or `reply`
    /// for an answer to a Telegram command.
    pub event: String,
    /// How bad.
    pub severity: Severity,
    /// Delivered without a notification sound.
    pub silent: bool,
    /// The bot it concerns (`None`: the fleet).
    pub bot: Option<String>,
    /// One line.
    pub title: String,
    /// The details (plain text; channels escape it).
    pub text: String,
    /// When it happened (fleet time, Unix ms).
    pub time_ms: i64,
    /// The fleet event behind it, if any (the generic webhook sends it whole).
    pub fleet_event: Option<Arc<FleetEvent>>,
}

impl Alert {
    /// An alert of no particular event (a command answer, a notice of the alert system).
    pub fn reply(title: &str, text: &str, time_ms: i64) -> Self {
        Alert {
            event: "reply".into(),
            severity: Severity::Info,
            silent: false,
            bot: None,
            title: title.into(),
            text: text.into(),
            time_ms,
            fleet_event: None,
        }
    }
}

/// Ledger notice kinds that mean a daily summary is due (the text is the summary's start).
pub const SUMMARY_NOTICES: [&str; 2] = ["session_reset", "daily_summary"];

/// The alert a fleet event makes under `events`, if any. Fills map to entry or exit fills;
/// a host-managed exit is the ledger's `exit` notice; trading state, quarantine and reload
/// are the typed events (their ledger notices are ignored so nothing alerts twice); a
/// daily summary is a `session_reset` or `daily_summary` notice (the caller appends the
/// fleet's snapshot, see [`summary_text`]).
pub fn alert_for(ev: &Arc<FleetEvent>, events: &AlertEvents) -> Option<Alert> {
    let bot = ev.bot.as_deref();
    let who = bot.map(|b| format!(" — {b}")).unwrap_or_default();
    let (event, level, severity, title, text) = match &ev.data {
        EventData::Fill {
            order_id,
            symbol,
            side,
            quantity,
            price,
            fee,
            exit,
            reason,
        } => {
            let why = reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            let (event, level, what) = if *exit {
                ("exit_fill", events.exit_fill, "Exit fill")
            } else {
                ("entry_fill", events.entry_fill, "Entry fill")
            };
            let title = format!("{what}{why}: {side} {quantity} {symbol} @ {price}{who}");
            let text = format!("order {order_id}, fee {fee}");
            (event, level, Severity::Info, title, text)
        }
        EventData::TradingState { from, to, reason } => {
            let (sev, title) = match to.as_str() {
                "halted" => (Severity::Critical, "Fleet halted"),
                "reducing" => (Severity::Warning, "Fleet reducing only"),
                "active" => (Severity::Good, "Fleet active"),
                _ => (Severity::Warning, "Trading state changed"),
            };
            let text = format!("{from} → {to}: {reason}");
            (
                "trading_state",
                events.trading_state,
                sev,
                title.to_string(),
                text,
            )
        }
        EventData::Quarantine {
            quarantined,
            reason,
        } => {
            let (sev, what) = if *quarantined {
                (Severity::Critical, "Bot quarantined")
            } else {
                (Severity::Good, "Bot recovered")
            };
            let title = format!("{what}{who}");
            ("quarantine", events.quarantine, sev, title, reason.clone())
        }
        EventData::Reload { ok: false, detail } => {
            let title = format!("Reload failed{who}");
            (
                "reload_failed",
                events.reload_failed,
                Severity::Warning,
                title,
                detail.clone(),
            )
        }
        EventData::Notice { what, message } => {
            let (event, level, sev, title) = match what.as_str() {
                "exit" => {
                    // The exit book's message starts with its reason: `stop sell 1 X ...`.
                    let reason = message.split_whitespace().next().unwrap_or("exit");
                    let title = format!("Host exit ({reason}){who}");
                    ("host_exit", events.host_exit, Severity::Warning, title)
                }
                "feed_stale" => {
                    let t = "Market feed stale".to_string();
                    ("stale_feed", events.stale_feed, Severity::Warning, t)
                }
                "feed_fresh" => {
                    let t = "Market feed fresh again".to_string();
                    ("stale_feed", events.stale_feed, Severity::Good, t)
                }
                "reconcile_difference" => {
                    let t = format!("Reconciliation difference{who}");
                    ("reconcile", events.reconcile, Severity::Warning, t)
                }
                w if SUMMARY_NOTICES.contains(&w) => {
                    let t = "Daily summary".to_string();
                    ("daily_summary", events.daily_summary, Severity::Info, t)
                }
                _ => return None,
            };
            (event, level, sev, title, message.clone())
        }
        _ => return None,
    };
    let silent = match level {
        AlertLevel::Off => return None,
        AlertLevel::Silent => true,
        AlertLevel::On => false,
    };
    Some(Alert {
        event: event.into(),
        severity,
        silent,
        bot: ev.bot.clone(),
        title,
        text,
        time_ms: ev.time_ms,
        fleet_event: Some(ev.clone()),
    })
}

/// The fleet at a glance, for the daily summary and `/status`.
pub fn summary_text(s: &FleetSnapshot) -> String {
    let (loaded, paused, quarantined) = s.bots;
    let mut out = format!(
        "Fleet {}: {}\nReason: {}\nEquity {} · cash {}\nBots: {loaded} loaded, {paused} paused, \
         {quarantined} quarantined\nOpen positions: {}",
        s.name,
        s.trading_state,
        s.state_reason,
        s.equity,
        s.cash,
        s.positions.len()
    );
    if s.positions.is_empty() {
        return out;
    }
    out.push('\n');
    out.push_str(&positions_text(s));
    out
}

/// Open positions, one a line (at most 30, with a count of the rest).
pub fn positions_text(s: &FleetSnapshot) -> String {
    if s.positions.is_empty() {
        return "No open positions.".into();
    }
    let mut lines: Vec<String> = s
        .positions
        .iter()
        .take(30)
        .map(|p| {
            format!(
                "{} {} {} @ {} (unrealised {})",
                p.bot, p.symbol, p.quantity, p.avg_price, p.unrealized
            )
        })
        .collect();
    if s.positions.len() > 30 {
        lines.push(format!("… and {} more", s.positions.len() - 30));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(bot: Option<&str>, data: EventData) -> Arc<FleetEvent> {
        Arc::new(FleetEvent {
            id: 1,
            time_ms: 1_700_000_000_000,
            bot: bot.map(str::to_string),
            data,
        })
    }

    fn notice(what: &str, message: &str) -> Arc<FleetEvent> {
        let data = EventData::Notice {
            what: what.into(),
            message: message.into(),
        };
        ev(Some("sma"), data)
    }

    #[test]
    fn a_halt_is_critical_and_says_why() {
        let data = EventData::TradingState {
            from: "active".into(),
            to: "halted".into(),
            reason: "daily loss 5.2% > 5%".into(),
        };
        let a = alert_for(&ev(None, data), &AlertEvents::default()).unwrap();
        assert_eq!(
            (a.event.as_str(), a.severity, a.silent),
            ("trading_state", Severity::Critical, false)
        );
        assert_eq!(a.title, "Fleet halted");
        assert_eq!(a.text, "active → halted: daily loss 5.2% > 5%");
    }

    #[test]
    fn fills_are_silent_by_default_and_off_sends_nothing() {
        let fill = |exit| EventData::Fill {
            order_id: 7,
            symbol: "BTCUSDT".into(),
            side: "sell".into(),
            quantity: "0.5".into(),
            price: "43000".into(),
            fee: "0.1".into(),
            exit,
            reason: exit.then(|| "stop".to_string()),
        };
        let mut cfg = AlertEvents::default();
        let a = alert_for(&ev(Some("sma"), fill(true)), &cfg).unwrap();
        assert!(a.silent);
        assert_eq!(a.event, "exit_fill");
        assert_eq!(a.title, "Exit fill (stop): sell 0.5 BTCUSDT @ 43000 — sma");
        cfg.entry_fill = AlertLevel::Off;
        assert!(alert_for(&ev(Some("sma"), fill(false)), &cfg).is_none());
        assert!(alert_for(&ev(Some("sma"), fill(true)), &cfg).is_some());
    }

    #[test]
    fn notices_map_to_their_settings_and_others_are_ignored() {
        let cfg = AlertEvents::default();
        let a = alert_for(
            &notice("exit", "trail sell 1 ETH at trigger 3000: filled"),
            &cfg,
        );
        assert_eq!(a.unwrap().title, "Host exit (trail) — sma");
        assert_eq!(
            alert_for(&notice("feed_stale", "x"), &cfg).unwrap().event,
            "stale_feed"
        );
        let fresh = alert_for(&notice("feed_fresh", "x"), &cfg).unwrap();
        assert_eq!(
            (fresh.event.as_str(), fresh.severity),
            ("stale_feed", Severity::Good)
        );
        assert_eq!(
            alert_for(&notice("reconcile_difference", "x"), &cfg)
                .unwrap()
                .event,
            "reconcile"
        );
        assert_eq!(
            alert_for(&notice("session_reset", "x"), &cfg)
                .unwrap()
                .event,
            "daily_summary"
        );
        // Its own records and the ledger twins of typed events never alert.
        for what in [
            "alert_sent",
            "alert_failed",
            "trading_state",
            "quarantine",
            "reload",
        ] {
            assert!(alert_for(&notice(what, "x"), &cfg).is_none(), "{what}");
        }
        let ok = EventData::Reload {
            ok: true,
            detail: "x".into(),
        };
        assert!(alert_for(&ev(None, ok), &cfg).is_none());
        let q = EventData::Quarantine {
            quarantined: false,
            reason: "clean ticks".into(),
        };
        let a = alert_for(&ev(Some("sma"), q), &cfg).unwrap();
        assert_eq!(
            (a.title.as_str(), a.severity),
            ("Bot recovered — sma", Severity::Good)
        );
    }
}
