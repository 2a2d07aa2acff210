//! Reconciliation on start, before any bot ticks: the ledger's working orders against the
//! venue's account.

use super::{Reconciliation, Working};
use crate::fleet::Fleet;
use anyhow::{Context, Result};
use flotilla_domain::{
    ClientOrderId, Decimal, Order, OrderEvent, OrderSpec, OrderState, OrderType, Symbol,
    TimeInForce,
};
use flotilla_venue_paper::Venue;
use std::collections::BTreeMap;

impl Fleet {
    /// Loads the ledger's working orders and books what the venue did with them since:
    /// a venue whose event numbers survive restarts (the paper venue) replays its events
    /// after the last one booked; any other is asked order by order, by client id.
    ///
    /// An order recorded `created` never left the host: it is sent again with the same
    /// client id. One recorded `submitted` that the venue does not know may still be in
    /// flight (reads lag writes), so it is returned as in doubt: the service asks again
    /// and resends it only after the grace period. Positions and cash that differ from
    /// the venue's are recorded as events.
    pub(super) fn reconcile(
        &self,
        venue: &dyn Venue,
    ) -> Result<(Reconciliation, Vec<ClientOrderId>)> {
        let now = self.start();
        let mut report = Reconciliation::default();
        let mut doubts = Vec::new();
        self.load_working()?;
        if venue.durable_events() {
            let seq = self.core().venue_seq;
            let missed = venue.events_since(seq)?;
            report.events_booked = self.apply_venue_events(&missed)?;
        } else {
            // A remote connection numbers its events anew in each process.
            self.core().venue_seq = 0;
        }
        let pending: Vec<Order> = self
            .core()
            .working
            .values()
            .map(|w| w.order.clone())
            .collect();
        for order in pending {
            if !venue.durable_events() {
                let notional = order.filled_quantity * order.avg_fill_price;
                venue.resume(&super::request(&order), order.filled_quantity, notional);
            }
            let found = match venue.order(&order.client_id) {
                Ok(found) => found,
                Err(e) => {
                    let msg = format!(
                        "{} ({}): cannot ask the venue: {e}",
                        order.id, order.client_id
                    );
                    self.core()
                        .record_event(now, Some(&order.bot), "reconcile_unknown", &msg)?;
                    doubts.push(order.client_id.clone());
                    continue;
                }
            };
            match found {
                // A remote connection books what its answer shows in its own event log
                // (with the venue's trade ids and fees), read below.
                Some(_) => {}
                None if order.state == OrderState::Created || venue.durable_events() => {
                    // Never sent, or a venue that answers at once and keeps every order:
                    // the same client id again (a duplicate would be answered with the
                    // order the venue has, never a second one).
                    report.resent += 1;
                    let mut core = self.core();
                    core.outbox.push(order.id);
                    let msg = format!(
                        "{} ({}) never reached the venue: sent again",
                        order.id, order.client_id
                    );
                    core.record_event(now, Some(&order.bot), "reconcile_resend", &msg)?;
                }
                None => {
                    let msg = format!(
                        "{} ({}) was sent but the venue does not list it yet: asking again before any resend",
                        order.id, order.client_id
                    );
                    self.core()
                        .record_event(now, Some(&order.bot), "reconcile_doubt", &msg)?;
                    doubts.push(order.client_id.clone());
                }
            }
        }
        if !venue.durable_events() {
            let events = venue.events_since(0)?;
            report.events_booked += self.apply_venue_events(&events)?;
        }
        let mut core = self.core();
        report.working = core.working.len();
        let mut ledger_net: BTreeMap<Symbol, Decimal> = BTreeMap::new();
        for (_, s, p) in core.portfolio.positions() {
            *ledger_net.entry(s.clone()).or_default() += p.quantity;
        }
        match venue.positions() {
            Ok(venue_net) => {
                let symbols: std::collections::BTreeSet<&Symbol> =
                    ledger_net.keys().chain(venue_net.keys()).collect();
                for s in symbols {
                    let (l, v) = (
                        ledger_net.get(s).copied().unwrap_or_default(),
                        venue_net.get(s).copied().unwrap_or_default(),
                    );
                    if l != v {
                        report
                            .differences
                            .push(format!("{s}: ledger holds {l}, the venue {v}"));
                    }
                }
            }
            Err(e) => report
                .differences
                .push(format!("positions: cannot read the venue's: {e}")),
        }
        match venue.cash() {
            Ok(vc) => {
                let lc = core.portfolio.cash();
                if lc != vc {
                    report
                        .differences
                        .push(format!("cash: ledger {lc}, the venue {vc}"));
                }
            }
            Err(e) => report
                .differences
                .push(format!("cash: cannot read the venue's: {e}")),
        }
        for d in &report.differences {
            tracing::warn!("reconciliation: {d}");
            core.record_event(now, None, "reconcile_difference", d)?;
        }
        let summary = format!(
            "{} venue events booked, {} orders sent again, {} working, {} in doubt, {} differences",
            report.events_booked,
            report.resent,
            report.working,
            doubts.len(),
            report.differences.len()
        );
        core.record_event(now, None, "reconciled", &summary)?;
        report.in_doubt = doubts.len();
        self.flush_outbox(&mut core);
        Ok((report, doubts))
    }

    /// The ledger's working orders, into the book of working orders.
    fn load_working(&self) -> Result<()> {
        let mut core = self.core();
        core.venue_seq = core
            .ledger
            .load_host_state("venue_seq")?
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        let filter = flotilla_ledger::OrderFilter {
            working_only: true,
            ..Default::default()
        };
        for view in core.ledger.orders(&filter)? {
            let order = restore_order(&core.ledger, &view)?;
            let reference = view
                .limit_price
                .or_else(|| core.marks.get(&view.symbol).copied())
                .or_else(|| self.mark(&view.symbol))
                .unwrap_or_default();
            core.by_client.insert(order.client_id.clone(), order.id);
            core.working.insert(
                order.id,
                Working {
                    order,
                    reference,
                    queued: None,
                    refusal: None,
                },
            );
        }
        Ok(())
    }
}

/// A working order as the ledger recorded it, with the trade ids already booked.
fn restore_order(
    ledger: &flotilla_ledger::Ledger,
    view: &flotilla_ledger::OrderView,
) -> Result<Order> {
    let client = view
        .client_id
        .as_deref()
        .with_context(|| format!("working order {} has no client id", view.id))?;
    let order_type: OrderType = view
        .order_type
        .parse()
        .map_err(|e| anyhow::anyhow!("order {}: {e}", view.id))?;
    let tif: TimeInForce = view
        .time_in_force
        .parse()
        .map_err(|e| anyhow::anyhow!("order {}: {e}", view.id))?;
    let mut order = Order::new(OrderSpec {
        id: view.id,
        client_id: ClientOrderId::parse(client)?,
        bot: view.bot.clone(),
        symbol: view.symbol.clone(),
        side: view.side,
        quantity: view.quantity,
        order_type,
        limit_price: view.limit_price,
        time_in_force: tif,
        created_at: view.time,
        expires_at: None,
        tag: view.tag.clone(),
        exit: view.exit,
    })?;
    // Replay the booked fills so the order's totals and trade ids are the ledger's.
    if view.state != OrderState::Created {
        order.apply(&OrderEvent::Submitted)?;
    }
    for f in ledger.fills_of_order(view.id)? {
        order.apply(&OrderEvent::Fill {
            trade_id: f
                .trade_id
                .clone()
                .unwrap_or_else(|| format!("ledger-{}", f.time.0)),
            quantity: f.quantity,
            price: f.price,
            fee: f.fee,
        })?;
    }
    if matches!(view.state, OrderState::Accepted | OrderState::PendingCancel) {
        let _ = order.apply(&OrderEvent::Accepted);
    }
    if view.state == OrderState::PendingCancel {
        let _ = order.apply(&OrderEvent::CancelRequested);
    }
    Ok(order)
}
