//! The event log a connector keeps for the execution service: what its stream and its
//! REST answers said about each order, each fact once.
//!
//! A venue's reports overlap: the stream and a REST query after a reconnect describe the
//! same fills, a FULL submit response repeats what the stream sends. The log dedupes
//! fills by trade id *and* by cumulative quantity (a report whose cumulative quantity is
//! not above what is booked adds nothing), and computes each fill as the delta of the
//! cumulative figures, so a missed partial fill is still booked once, whole.

use flotilla_broker::venue::{VenueEvent, VenueEventKind, VenueOrder};
use flotilla_domain::{ClientOrderId, Money, OrderState, Price, Quantity, Timestamp};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// Events kept for readers that lag (the execution service reads every few ms).
const KEEP: usize = 100_000;

#[derive(Debug, Default)]
struct Tracked {
    cumulative: Quantity,
    notional: Money,
    fees: Money,
    trade_ids: HashSet<String>,
    accepted: bool,
    done: Option<&'static str>,
}

#[derive(Debug, Default)]
struct Inner {
    events: std::collections::VecDeque<(u64, VenueEvent)>,
    last: u64,
    orders: HashMap<ClientOrderId, Tracked>,
}

/// One connection's log, numbered from 1.
#[derive(Debug, Default)]
pub struct EventLog {
    inner: Mutex<Inner>,
}

/// A cumulative fill report: the order's totals after the execution it reports.
#[derive(Debug, Clone, PartialEq)]
pub struct CumulativeFill {
    /// The venue's id of the execution, when it gives one.
    pub trade_id: Option<String>,
    /// The order's filled quantity, this execution included.
    pub cumulative: Quantity,
    /// The order's filled notional (sum of quantity × price), when the venue gives it.
    pub cumulative_notional: Option<Money>,
    /// The execution's own quantity and price, when the venue gives them.
    pub last: Option<(Quantity, Price)>,
    /// The execution's fee.
    pub fee: Money,
    /// When it executed.
    pub time: Timestamp,
}

impl EventLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts tracking an order the host already booked this far (after a restart), so
    /// reports of what it booked add nothing.
    pub fn seed(&self, client: &ClientOrderId, cumulative: Quantity, notional: Money) {
        let mut i = self.lock();
        let t = i.orders.entry(client.clone()).or_default();
        if cumulative > t.cumulative {
            t.cumulative = cumulative;
            t.notional = notional;
        }
    }

    /// Books that the venue accepted the order (once).
    pub fn accepted(&self, client: &ClientOrderId, time: Timestamp) -> bool {
        let mut i = self.lock();
        let t = i.orders.entry(client.clone()).or_default();
        if t.accepted || t.done.is_some() || t.cumulative > Quantity::ZERO {
            t.accepted = true;
            return false;
        }
        t.accepted = true;
        push(&mut i, client, VenueEventKind::Accepted, time);
        true
    }

    /// Books a fill report; returns whether it added a fill.
    pub fn fill(&self, client: &ClientOrderId, report: &CumulativeFill) -> bool {
        let mut i = self.lock();
        let t = i.orders.entry(client.clone()).or_default();
        if let Some(id) = &report.trade_id
            && !t.trade_ids.insert(id.clone())
        {
            return false;
        }
        let delta = report.cumulative - t.cumulative;
        if delta <= Quantity::ZERO {
            return false;
        }
        let price = match (report.last, report.cumulative_notional) {
            (Some((q, p)), _) if q == delta => p,
            (_, Some(n)) => ((n - t.notional) / delta).round_dp(10).normalize(),
            (Some((_, p)), None) => p,
            (None, None) => return false,
        };
        t.cumulative = report.cumulative;
        t.notional = report
            .cumulative_notional
            .unwrap_or(t.notional + delta * price);
        t.fees += report.fee;
        t.accepted = true;
        let trade_id = report
            .trade_id
            .clone()
            .unwrap_or_else(|| format!("{}-cum-{}", client, report.cumulative.normalize()));
        let kind = VenueEventKind::Fill {
            trade_id,
            quantity: delta,
            price,
            fee: report.fee,
            cumulative: report.cumulative,
        };
        push(&mut i, client, kind, report.time);
        true
    }

    /// Books the order's end (canceled, rejected, expired); once per order.
    pub fn ended(&self, client: &ClientOrderId, kind: VenueEventKind, time: Timestamp) -> bool {
        let mut i = self.lock();
        let t = i.orders.entry(client.clone()).or_default();
        if t.done.is_some() || matches!(kind, VenueEventKind::Fill { .. }) {
            return false;
        }
        t.done = Some(kind.name());
        push(&mut i, client, kind, time);
        true
    }

    /// Books what a REST answer says of an order: acceptance, fills beyond what is
    /// booked (from its cumulative figures), and its end. Returns the events added.
    pub fn snapshot(&self, order: &VenueOrder, time: Timestamp) -> usize {
        let mut n = 0;
        let c = &order.client_id;
        if order.state != OrderState::Rejected {
            n += usize::from(self.accepted(c, order.created_at));
        }
        if order.fills.is_empty() {
            if order.filled_quantity > Quantity::ZERO {
                let report = CumulativeFill {
                    trade_id: None,
                    cumulative: order.filled_quantity,
                    cumulative_notional: Some(order.filled_quantity * order.avg_price),
                    last: None,
                    fee: (order.fees - self.fees_booked(c)).max(Money::ZERO),
                    time: order.updated_at.max(time),
                };
                n += usize::from(self.fill(c, &report));
            }
        } else {
            for f in &order.fills {
                let report = CumulativeFill {
                    trade_id: Some(f.trade_id.clone()),
                    cumulative: f.cumulative,
                    cumulative_notional: None,
                    last: Some((f.quantity, f.price)),
                    fee: f.fee,
                    time: f.time,
                };
                n += usize::from(self.fill(c, &report));
            }
        }
        let end = match order.state {
            OrderState::Canceled => Some(VenueEventKind::Canceled),
            OrderState::Expired => Some(VenueEventKind::Expired),
            OrderState::Rejected => Some(VenueEventKind::Rejected {
                reason: order.reason.clone().unwrap_or_else(|| "rejected".into()),
            }),
            _ => None,
        };
        if let Some(kind) = end {
            n += usize::from(self.ended(c, kind, order.updated_at.max(time)));
        }
        n
    }

    /// Fees booked for an order so far (a REST total books only the rest).
    fn fees_booked(&self, client: &ClientOrderId) -> Money {
        self.lock()
            .orders
            .get(client)
            .map(|t| t.fees)
            .unwrap_or_default()
    }

    /// What is booked of an order: cumulative quantity, notional.
    pub fn booked(&self, client: &ClientOrderId) -> Option<(Quantity, Money)> {
        self.lock()
            .orders
            .get(client)
            .map(|t| (t.cumulative, t.notional))
    }

    /// Events numbered above `seq`, oldest first.
    pub fn since(&self, seq: u64) -> Vec<(u64, VenueEvent)> {
        let i = self.lock();
        i.events.iter().filter(|(n, _)| *n > seq).cloned().collect()
    }

    /// The newest event's number; 0 when none.
    pub fn last_seq(&self) -> u64 {
        self.lock().last
    }
}

fn push(i: &mut Inner, client: &ClientOrderId, kind: VenueEventKind, time: Timestamp) {
    i.last += 1;
    let ev = VenueEvent {
        client_id: client.clone(),
        kind,
        time,
    };
    let n = i.last;
    i.events.push_back((n, ev));
    while i.events.len() > KEEP {
        i.events.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn id() -> ClientOrderId {
        ClientOrderId::parse("fl-abcd-1").unwrap()
    }

    fn report(trade: Option<&str>, cum: Quantity, notional: Money) -> CumulativeFill {
        CumulativeFill {
            trade_id: trade.map(str::to_string),
            cumulative: cum,
            cumulative_notional: Some(notional),
            last: None,
            fee: dec!(0),
            time: Timestamp(1),
        }
    }

    #[test]
    fn fills_are_deltas_of_cumulative_figures_and_booked_once() {
        let log = EventLog::new();
        assert!(log.fill(&id(), &report(Some("t1"), dec!(2), dec!(200))));
        // The same trade again (stream and REST): nothing.
        assert!(!log.fill(&id(), &report(Some("t1"), dec!(2), dec!(200))));
        // A REST snapshot with no trade id and the same totals: nothing.
        assert!(!log.fill(&id(), &report(None, dec!(2), dec!(200))));
        // A missed partial and the next one, seen as one jump: one fill of the delta.
        assert!(log.fill(&id(), &report(Some("t3"), dec!(5), dec!(515))));
        let ev = log.since(0);
        assert_eq!(ev.len(), 2);
        match &ev[1].1.kind {
            VenueEventKind::Fill {
                quantity,
                price,
                cumulative,
                ..
            } => {
                assert_eq!(
                    (*quantity, *price, *cumulative),
                    (dec!(3), dec!(105), dec!(5))
                );
            }
            k => panic!("{k:?}"),
        }
        assert_eq!(log.last_seq(), 2);
        assert_eq!(log.since(1).len(), 1);
    }

    fn execution(trade: &str, cum: Quantity, q: Quantity, fee: Money) -> CumulativeFill {
        CumulativeFill {
            trade_id: Some(trade.into()),
            cumulative: cum,
            cumulative_notional: None,
            last: Some((q, dec!(100))),
            fee,
            time: Timestamp(1),
        }
    }

    fn fees(log: &EventLog) -> (Quantity, Money) {
        log.since(0)
            .iter()
            .filter_map(|(_, e)| match e.kind {
                VenueEventKind::Fill { quantity, fee, .. } => Some((quantity, fee)),
                _ => None,
            })
            .fold((dec!(0), dec!(0)), |(q, f), (a, b)| (q + a, f + b))
    }

    #[test]
    fn full_fills_executions_and_cumulative_figures_book_each_execution_once() {
        let log = EventLog::new();
        // A FULL answer's fill, then the order's executions (that one again and a later
        // one), then a query's cumulative figures (no trade id, no fee): each once.
        assert!(log.fill(&id(), &execution("56", dec!(1), dec!(1), dec!(0.08))));
        assert!(!log.fill(&id(), &execution("56", dec!(1), dec!(1), dec!(0.08))));
        assert!(log.fill(&id(), &execution("57", dec!(3), dec!(2), dec!(0.16))));
        assert!(!log.fill(&id(), &report(None, dec!(3), dec!(300))));
        assert_eq!(fees(&log), (dec!(3), dec!(0.24)));
        // Cumulative figures first (the executions could not be had), then the
        // executions: the quantity already booked is not booked again.
        let other = ClientOrderId::parse("fl-abcd-2").unwrap();
        assert!(log.fill(&other, &report(None, dec!(1), dec!(100))));
        assert!(!log.fill(&other, &execution("60", dec!(1), dec!(1), dec!(0.08))));
        assert!(log.fill(&other, &execution("61", dec!(2), dec!(1), dec!(0.08))));
        assert_eq!(log.booked(&other), Some((dec!(2), dec!(200))));
    }

    #[test]
    fn a_seeded_order_does_not_rebook_what_the_host_holds() {
        let log = EventLog::new();
        log.seed(&id(), dec!(4), dec!(400));
        assert!(!log.fill(&id(), &report(None, dec!(4), dec!(400))));
        assert!(log.fill(&id(), &report(None, dec!(6), dec!(610))));
        assert_eq!(log.booked(&id()), Some((dec!(6), dec!(610))));
    }

    #[test]
    fn an_end_is_booked_once() {
        let log = EventLog::new();
        assert!(log.accepted(&id(), Timestamp(1)));
        assert!(!log.accepted(&id(), Timestamp(2)));
        assert!(log.ended(&id(), VenueEventKind::Canceled, Timestamp(3)));
        assert!(!log.ended(&id(), VenueEventKind::Expired, Timestamp(4)));
        assert_eq!(log.since(0).len(), 2);
    }
}
