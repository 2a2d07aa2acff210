//! Booking what a venue reports: its numbered events (a remote connection's log holds what
//! its stream and its REST answers showed). Each fact is booked once:
//! a fill by its trade id and by the order's cumulative quantity, a state change by the
//! state it leads to, so reports that overlap are safe.

use crate::fleet::{Core, Fleet};
use anyhow::Result;
use flotilla_domain::{Applied, Fill, OrderState};
use flotilla_venue_paper::{VenueEvent, VenueEventKind};
use std::time::Instant;

impl Fleet {
    /// Books the venue's numbered events, in order, skipping those already booked.
    pub(crate) fn apply_venue_events(&self, events: &[(u64, VenueEvent)]) -> Result<usize> {
        let mut core = self.core();
        let mut booked = 0;
        for (seq, ev) in events {
            if *seq <= core.venue_seq {
                continue;
            }
            core.venue_seq = *seq;
            if self.apply_one(&mut core, Some(*seq), ev)? {
                booked += 1;
            }
        }
        Ok(booked)
    }

    /// Books events that carry no venue number (read from a REST answer, or made by the
    /// host itself, such as a refusal by the venue's filters before sending).
    pub(crate) fn apply_unnumbered(&self, events: &[VenueEvent]) -> Result<usize> {
        let mut core = self.core();
        let mut booked = 0;
        for ev in events {
            if self.apply_one(&mut core, None, ev)? {
                booked += 1;
            }
        }
        Ok(booked)
    }

    fn apply_one(&self, core: &mut Core, seq: Option<u64>, ev: &VenueEvent) -> Result<bool> {
        let received = Instant::now();
        let seq_state: Vec<(&'static str, serde_json::Value)> = seq
            .map(|s| ("venue_seq", serde_json::json!(s)))
            .into_iter()
            .collect();
        let Some(id) = core.by_client.get(&ev.client_id).copied() else {
            // Not ours, or done long ago: nothing to book, only where we are in the log.
            if let Some((k, v)) = seq_state.first() {
                core.ledger.save_host_state(ev.time, k, v)?;
            }
            return Ok(false);
        };
        let Some(w) = core.working.get_mut(&id) else {
            return Ok(false);
        };
        // A fill whose cumulative quantity the host already holds was booked under another
        // report of the same execution (the stream's and a REST answer's).
        if let VenueEventKind::Fill { cumulative, .. } = &ev.kind
            && *cumulative <= w.order.filled_quantity
        {
            return Ok(false);
        }
        // The venue only reports orders it received: a report settles that it was sent.
        if w.order.state == OrderState::Created && !is_local_refusal(ev) {
            w.order.apply(&flotilla_domain::OrderEvent::Submitted)?;
        }
        // A report that overlaps what is booked (its execution reaches back before the
        // host's cumulative quantity) adds only the rest: a fill is never counted twice.
        let clamped;
        let ev = match &ev.kind {
            VenueEventKind::Fill {
                trade_id,
                quantity,
                price,
                fee,
                cumulative,
            } if *cumulative - w.order.filled_quantity < *quantity => {
                clamped = VenueEvent {
                    kind: VenueEventKind::Fill {
                        trade_id: trade_id.clone(),
                        quantity: *cumulative - w.order.filled_quantity,
                        price: *price,
                        fee: *fee,
                        cumulative: *cumulative,
                    },
                    ..ev.clone()
                };
                &clamped
            }
            _ => ev,
        };
        let event = ev.kind.to_order_event();
        let from = w.order.state;
        let to = match w.order.apply(&event) {
            Ok(Applied::DuplicateFill) => return Ok(false),
            Ok(Applied::Changed { to, .. }) => to,
            Err(e) => {
                // Booked before a crash (the state already shows it) or a report that
                // makes no sense for the order: recorded, never forced.
                if !from.is_terminal() && !matches!(ev.kind, VenueEventKind::Accepted) {
                    let bot = w.order.bot.clone();
                    let msg = format!("{} ({}): {e}", id, ev.client_id);
                    core.record_event(ev.time, Some(&bot), "venue_event_refused", &msg)?;
                }
                return Ok(false);
            }
        };
        let order = w.order.clone();
        core.notify(&order, &event, ev.time);
        if let VenueEventKind::Fill {
            trade_id,
            quantity,
            price,
            fee,
            ..
        } = &ev.kind
        {
            let fill = Fill {
                order_id: id,
                bot: order.bot.clone(),
                symbol: order.symbol.clone(),
                side: order.side,
                quantity: *quantity,
                price: *price,
                fee: *fee,
                time: ev.time,
                trade_id: trade_id.clone(),
                tag: order.tag.clone(),
            };
            let (realized, row) = core.book_fill(&fill);
            let mut state = self.changed_host_state(core, true)?;
            state.extend(seq_state.iter().cloned());
            core.ledger
                .record_fill_with(&fill, realized, &row, Some(to), &state)?;
            core.observe_fill(&fill);
            core.observe_order(&fill.bot, id, &fill.symbol, to, ev.time, None);
            core.notice_since
                .entry(fill.bot.clone())
                .or_insert(received);
            core.fill_notices
                .entry(fill.bot.clone())
                .or_default()
                .push(fill);
        } else {
            let detail = match &ev.kind {
                VenueEventKind::Rejected { reason } => serde_json::json!({ "reason": reason }),
                _ => serde_json::json!({ "venue": ev.kind.name() }),
            };
            core.ledger
                .set_order_state(id, to, ev.time, &detail, &seq_state)?;
            let reason = detail.get("reason").map(|r| r.to_string());
            core.observe_order(&order.bot, id, &order.symbol, to, ev.time, reason);
            if order.exit && to.is_terminal() && to != OrderState::Filled {
                // The exit did not happen: the book issues it again on the next bar.
                core.exits.exit_failed(&order.bot, &order.symbol);
            }
            if matches!(ev.kind, VenueEventKind::Rejected { .. }) {
                let msg = format!("{id} ({}): {}", ev.client_id, detail["reason"]);
                core.record_event(ev.time, Some(&order.bot), "broker_rejected", &msg)?;
            }
        }
        if to.is_terminal() {
            core.working.remove(&id);
            core.by_client.remove(&order.client_id);
        }
        Ok(true)
    }
}

/// A refusal the host made for the venue (its filters) before anything was sent.
fn is_local_refusal(ev: &VenueEvent) -> bool {
    matches!(&ev.kind, VenueEventKind::Rejected { reason } if reason.starts_with(LOCAL_REFUSAL))
}

/// How the reason of an order refused by the venue's filters before sending begins.
pub(crate) const LOCAL_REFUSAL: &str = "refused before sending: ";
