//! Helpers shared by the integration tests: ids, bars, venues in temporary files.

#![allow(dead_code)] // each test binary uses its own part

use flotilla_broker::matching::Costs;
use flotilla_domain::{Bar, ClientOrderId, Money, Timestamp};
use flotilla_venue_paper::{PaperVenue, VenueConfig, VenueEvent, VenueEventKind};
use rust_decimal_macros::dec;
use std::path::PathBuf;

/// One minute, the bar length the tests use.
pub const MINUTE: i64 = 60_000;

/// A client id from a literal.
pub fn id(s: &str) -> ClientOrderId {
    ClientOrderId::parse(s).unwrap()
}

/// A bar starting at `time` ms with close at the open.
pub fn bar(time: i64, open: f64, high: f64, low: f64, volume: f64) -> Bar {
    Bar {
        time: Timestamp(time),
        open,
        high,
        low,
        close: open.clamp(low, high),
        volume,
    }
}

/// Slippage 10 bps, fees 5 bps, no minimum: round numbers for hand-computed fills.
pub fn costs() -> Costs {
    Costs {
        slippage_bps: dec!(10),
        fee_bps: dec!(5),
        min_fee: dec!(0),
    }
}

/// A cash account with `cash` and the test costs.
pub fn config(cash: Money) -> VenueConfig {
    VenueConfig {
        costs: costs(),
        ..VenueConfig::with_cash(cash)
    }
}

/// A venue in a new file in a new temporary directory (kept alive by the caller).
pub fn temp_venue(config: VenueConfig) -> (tempfile::TempDir, PathBuf, PaperVenue) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("venue.db");
    let venue = PaperVenue::open(&path, config).unwrap();
    (dir, path, venue)
}

/// The kinds of `events`, by name, with the client id.
pub fn kinds(events: &[VenueEvent]) -> Vec<(String, &'static str)> {
    events
        .iter()
        .map(|e| (e.client_id.to_string(), e.kind.name()))
        .collect()
}

/// The (quantity, price, fee, cumulative) of a fill event.
pub fn fill_of(e: &VenueEvent) -> (Money, Money, Money, Money) {
    match &e.kind {
        VenueEventKind::Fill {
            quantity,
            price,
            fee,
            cumulative,
            ..
        } => (*quantity, *price, *fee, *cumulative),
        other => panic!("not a fill: {other:?}"),
    }
}

/// Checks the venue's books against its own records and returns the number of fills:
/// every order's fills add up to its filled quantity (never above its quantity), cash is
/// the starting cash less every fill's signed notional and fee, positions are the signed
/// sum of fills, trade ids are `pv-1` to `pv-{fills}` with one fill event each, and
/// event numbers run 1, 2, 3, … In a cash account, cash and positions are never negative.
pub fn check_books(v: &PaperVenue) -> usize {
    use flotilla_domain::{OrderState, Quantity, Symbol};
    use std::collections::{BTreeMap, BTreeSet};
    let events = v.events_since(0).unwrap();
    let seqs: Vec<u64> = events.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        seqs,
        (1..=events.len() as u64).collect::<Vec<_>>(),
        "event numbers"
    );
    assert_eq!(v.last_event_seq().unwrap(), events.len() as u64);
    let ids: BTreeSet<ClientOrderId> = events.iter().map(|(_, e)| e.client_id.clone()).collect();
    let mut answers: BTreeMap<&ClientOrderId, usize> = BTreeMap::new();
    for (_, e) in &events {
        if matches!(
            e.kind,
            VenueEventKind::Accepted | VenueEventKind::Rejected { .. }
        ) {
            *answers.entry(&e.client_id).or_default() += 1;
        }
    }
    let mut cash = v.starting_cash().unwrap();
    let mut held: BTreeMap<Symbol, Quantity> = BTreeMap::new();
    let mut trade_ids = Vec::new();
    for client_id in &ids {
        let o = v
            .order(client_id)
            .unwrap()
            .expect("an event's order exists");
        let sum: Quantity = o.fills.iter().map(|f| f.quantity).sum();
        assert_eq!(sum, o.filled_quantity, "{client_id}");
        assert!(o.filled_quantity <= o.quantity, "{client_id} overfilled");
        assert_eq!(
            o.state == OrderState::Filled,
            o.filled_quantity == o.quantity,
            "{client_id}"
        );
        let mut cumulative = Quantity::ZERO;
        for f in &o.fills {
            cumulative += f.quantity;
            assert_eq!(f.cumulative, cumulative, "{client_id}");
            cash -= o.side.sign() * f.quantity * f.price + f.fee;
            *held.entry(o.symbol.clone()).or_default() += o.side.sign() * f.quantity;
            trade_ids.push(f.trade_id.clone());
        }
        assert_eq!(o.fees, o.fills.iter().map(|f| f.fee).sum::<Money>());
        assert_eq!(
            answers.get(client_id),
            Some(&1),
            "{client_id}: one answer to its submission"
        );
    }
    assert_eq!(v.cash().unwrap(), cash, "cash");
    held.retain(|_, q| !q.is_zero());
    assert_eq!(v.positions().unwrap(), held, "positions");
    let mut numbers: Vec<u64> = trade_ids
        .iter()
        .map(|t| t.strip_prefix("pv-").unwrap().parse().unwrap())
        .collect();
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (1..=trade_ids.len() as u64).collect::<Vec<_>>(),
        "trade ids"
    );
    let fill_events: BTreeSet<String> = events
        .iter()
        .filter_map(|(_, e)| match &e.kind {
            VenueEventKind::Fill { trade_id, .. } => Some(trade_id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(fill_events.len(), trade_ids.len(), "one event per fill");
    assert_eq!(
        fill_events,
        trade_ids.iter().cloned().collect(),
        "fill events"
    );
    if v.config().cash_account {
        assert!(v.cash().unwrap() >= Money::ZERO, "negative cash");
        assert!(
            v.positions()
                .unwrap()
                .values()
                .all(|q| q.is_sign_positive())
        );
    }
    trade_ids.len()
}
