//! Property test: random submits (with resends), bars, ticks, cancels, expiries and
//! reopenings of the file keep the venue's books exact.

mod common;

use common::*;
use flotilla_domain::{Decimal, Side, Symbol, TimeInForce, Timestamp};
use flotilla_venue_paper::{PaperVenue, VenueConfig, VenueOrderRequest};
use proptest::prelude::*;
use std::path::Path;

/// Orders the ops refer to by index; a second submit of an index is a resend.
const ORDERS: usize = 10;

#[derive(Clone, Debug)]
struct Spec {
    symbol: u8,
    buy: bool,
    units: i64,
    tenths: bool,
    limit_cents: Option<i64>,
    tif: TimeInForce,
    minutes_to_expiry: Option<i64>,
}

#[derive(Clone, Debug)]
enum Op {
    Submit(usize),
    Bar {
        symbol: u8,
        open_cents: i64,
        up_cents: i64,
        down_cents: i64,
        volume: u32,
    },
    Tick {
        symbol: u8,
        cents: i64,
    },
    Cancel(usize),
    Expire,
    Reopen,
}

fn arb_spec() -> impl Strategy<Value = Spec> {
    (
        0u8..2,
        any::<bool>(),
        1i64..=20,
        any::<bool>(),
        prop::option::of(9_500i64..=10_500),
        prop::sample::select(TimeInForce::ALL.to_vec()),
        prop::option::of(0i64..=8),
    )
        .prop_map(
            |(symbol, buy, units, tenths, limit_cents, tif, minutes_to_expiry)| Spec {
                symbol,
                buy,
                units,
                tenths,
                limit_cents,
                tif,
                minutes_to_expiry,
            },
        )
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..ORDERS).prop_map(Op::Submit),
        4 => (0u8..2, 9_500i64..=10_500, 0i64..=300, 0i64..=300, 0u32..=60).prop_map(
            |(symbol, open_cents, up_cents, down_cents, volume)| Op::Bar {
                symbol,
                open_cents,
                up_cents,
                down_cents,
                volume,
            }
        ),
        1 => (0u8..2, 9_500i64..=10_500).prop_map(|(symbol, cents)| Op::Tick { symbol, cents }),
        2 => (0..ORDERS).prop_map(Op::Cancel),
        1 => Just(Op::Expire),
        1 => Just(Op::Reopen),
    ]
}

fn symbol(n: u8) -> Symbol {
    Symbol::new(["AAPL", "MSFT"][usize::from(n)])
}

fn request(i: usize, s: &Spec, now: i64) -> VenueOrderRequest {
    let quantity = if s.tenths {
        Decimal::new(s.units * 10 + 5, 1)
    } else {
        Decimal::from(s.units)
    };
    let side = if s.buy { Side::Buy } else { Side::Sell };
    let base = match s.limit_cents {
        Some(c) => VenueOrderRequest::limit(
            id(&format!("p-{i}")),
            symbol(s.symbol),
            side,
            quantity,
            Decimal::new(c, 2),
        ),
        None => VenueOrderRequest::market(id(&format!("p-{i}")), symbol(s.symbol), side, quantity),
    };
    VenueOrderRequest {
        time_in_force: s.tif,
        // Relative to the first submit; a resend sends the same absolute time.
        expires_at: s.minutes_to_expiry.map(|m| Timestamp(now + m * MINUTE)),
        ..base
    }
}

fn open(path: &Path, config: &VenueConfig) -> PaperVenue {
    PaperVenue::open(path, config.clone()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn the_books_stay_exact(
        specs in prop::collection::vec(arb_spec(), ORDERS),
        ops in prop::collection::vec(arb_op(), 1..80),
        cash_account in any::<bool>(),
        fraction in prop::option::of(0.05f64..=1.0),
        cash_units in 0i64..=20_000,
    ) {
        let config = VenueConfig {
            cash_account,
            partial_fill_fraction: fraction,
            ..common::config(Decimal::from(cash_units))
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("venue.db");
        let mut v = open(&path, &config);
        let mut sent = [0u32; ORDERS];
        let mut first_sent_at = [None; ORDERS];
        for (step, op) in ops.iter().enumerate() {
            let now = step as i64 * MINUTE;
            match op {
                Op::Submit(i) => {
                    let at = *first_sent_at[*i].get_or_insert(now);
                    let req = request(*i, &specs[*i], at);
                    let before = v.order(&req.client_id).unwrap();
                    let answer = v.submit(&req, Timestamp(now)).unwrap();
                    if let Some(known) = before {
                        prop_assert_eq!(answer, known, "a resend changes nothing");
                    }
                    sent[*i] += 1;
                }
                Op::Bar { symbol: s, open_cents, up_cents, down_cents, volume } => {
                    let open = *open_cents as f64 / 100.0;
                    let b = bar(
                        now,
                        open,
                        open + *up_cents as f64 / 100.0,
                        open - *down_cents as f64 / 100.0,
                        f64::from(*volume),
                    );
                    v.on_bar(&symbol(*s), &b).unwrap();
                }
                Op::Tick { symbol: s, cents } => {
                    v.on_price(&symbol(*s), *cents as f64 / 100.0, Timestamp(now)).unwrap();
                }
                Op::Cancel(i) => {
                    v.cancel(&id(&format!("p-{i}")), Timestamp(now)).unwrap();
                }
                Op::Expire => {
                    v.expire_due(Timestamp(now)).unwrap();
                }
                Op::Reopen => {
                    drop(v);
                    v = open(&path, &config);
                }
            }
            check_books(&v);
        }
        for (i, n) in sent.iter().enumerate() {
            prop_assert_eq!(v.submissions(&id(&format!("p-{i}"))).unwrap(), *n);
        }
        let duplicates: u64 = sent.iter().map(|n| u64::from(n.saturating_sub(1))).sum();
        prop_assert_eq!(v.duplicate_submissions().unwrap(), duplicates);
    }
}
