//! What the fleet tells its watchers: each decision the journal records is also published
//! on the event stream and counted in the metrics, when a served run attached them
//! ([`Core::telemetry`]). A backtest attaches none and pays one `Option` check per record.
//! Ticks are counted, not published: they are the most frequent thing that happens, and
//! what watchers want of them is in the metrics.

use crate::fleet::Core;
use flotilla_domain::{BotId, Fill, OrderId, OrderState, Symbol, Timestamp};
use flotilla_ledger::{TickOutcome, TickRecord};
use flotilla_telemetry::EventData;

impl Core {
    /// Publishes one event (when watched).
    pub(crate) fn publish(&self, time: Timestamp, bot: Option<&BotId>, data: EventData) {
        if let Some(t) = &self.telemetry {
            t.events.publish(time.0, bot.map(BotId::as_str), data);
        }
    }

    /// A tick's verdicts, fills, new orders and the tick itself.
    pub(crate) fn observe_tick(&self, rec: &TickRecord) {
        let Some(t) = &self.telemetry else { return };
        let bot = rec.bot.as_str();
        // A host exit is recorded as a tick of its bot (sequence 0), yet no bot ran.
        let host_action = rec.seq == 0
            && rec.outcome == TickOutcome::Ok
            && !rec.intents.is_empty()
            && rec
                .intents
                .iter()
                .all(|i| i.intent.tag.starts_with("exit:"));
        if !host_action {
            t.metrics.tick(
                bot,
                rec.outcome.as_str(),
                rec.duration_us as f64 / 1e6,
                rec.lateness_ms.max(0) as f64 / 1e3,
                rec.started_at.0 as f64 / 1e3,
            );
        }
        for ir in &rec.intents {
            let verdict = ir.verdict.kind.as_str();
            let reason = ir.verdict.reason.as_deref();
            if reason == Some("no_change") {
                continue; // asking for what it holds is not a decision
            }
            t.metrics.verdict(bot, verdict, reason);
            t.events.publish(
                rec.started_at.0,
                Some(bot),
                EventData::Verdict {
                    symbol: ir.intent.symbol.as_str().into(),
                    verdict: verdict.into(),
                    reason: ir.verdict.reason.clone(),
                    detail: (!ir.verdict.detail.is_null()).then(|| ir.verdict.detail.to_string()),
                },
            );
            if let Some(o) = &ir.order {
                self.observe_order(&o.bot, o.id, &o.symbol, OrderState::Created, o.time, None);
            }
            if let Some((f, _)) = &ir.fill {
                self.observe_fill(f);
            }
        }
    }

    /// A fill booked.
    pub(crate) fn observe_fill(&self, f: &Fill) {
        let Some(t) = &self.telemetry else { return };
        let reason = f.tag.strip_prefix("exit:").map(str::to_string);
        t.metrics.fill(f.bot.as_str(), reason.is_some());
        t.events.publish(
            f.time.0,
            Some(f.bot.as_str()),
            EventData::Fill {
                order_id: f.order_id.0,
                symbol: f.symbol.as_str().into(),
                side: f.side.as_str().into(),
                quantity: f.quantity.to_string(),
                price: f.price.to_string(),
                fee: f.fee.to_string(),
                exit: reason.is_some(),
                reason,
            },
        );
    }

    /// An order entered `state`.
    pub(crate) fn observe_order(
        &self,
        bot: &BotId,
        id: OrderId,
        symbol: &Symbol,
        state: OrderState,
        time: Timestamp,
        reason: Option<String>,
    ) {
        let Some(t) = &self.telemetry else { return };
        t.metrics.order(bot.as_str(), state.as_str());
        t.events.publish(
            time.0,
            Some(bot.as_str()),
            EventData::Order {
                order_id: id.0,
                symbol: symbol.as_str().into(),
                state: state.as_str().into(),
                reason,
            },
        );
    }

    /// An audited ledger event, as the typed event it is where there is one.
    pub(crate) fn observe_event(
        &self,
        time: Timestamp,
        bot: Option<&BotId>,
        kind: &str,
        message: &str,
    ) {
        let Some(t) = &self.telemetry else { return };
        let name = bot.map(BotId::as_str);
        let data = match kind {
            // Published with its states where it is decided (`record_state_changes`).
            "trading_state" => return,
            "quarantine" | "recovered" => {
                let quarantined = kind == "quarantine";
                if let Some(b) = name {
                    t.metrics
                        .quarantined
                        .get_or_create(&flotilla_telemetry::metrics::BotLabel { bot: b.into() })
                        .set(i64::from(quarantined));
                }
                EventData::Quarantine {
                    quarantined,
                    reason: message.into(),
                }
            }
            "reload" | "registry_applied" | "registry_rejected" | "reload_failed" => {
                let ok = matches!(kind, "reload" | "registry_applied");
                let result = if ok { "ok" } else { "error" };
                t.metrics
                    .reloads
                    .get_or_create(&flotilla_telemetry::metrics::ResultLabel {
                        result: result.into(),
                    })
                    .inc();
                EventData::Reload {
                    ok,
                    detail: message.into(),
                }
            }
            "feed_stale" | "feed_fresh" => {
                t.metrics.feed_stale.set(i64::from(kind == "feed_stale"));
                EventData::Notice {
                    what: kind.into(),
                    message: message.into(),
                }
            }
            _ => EventData::Notice {
                what: kind.into(),
                message: message.into(),
            },
        };
        t.events.publish(time.0, name, data);
    }
}
