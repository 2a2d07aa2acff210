//! Working orders count in risk: under any interleaving of approvals, partial fills, late
//! fills and cancels, every limit holds for the book with its working orders filled (the
//! projection risk evaluates against), so no fill of an approved order can break one.

use flotilla_domain::{BotId, Fill, Intent, OrderAction, OrderId, Side, Symbol, Timestamp};
use flotilla_engine::{Portfolio, Reservation, RiskConfig, RiskEngine, RiskInput, against_working};
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

const CASH: i64 = 100_000;
const SYMBOL_CAP: i64 = 3_000;
const BUDGET: i64 = 4_000;
const MAX_OPEN: usize = 4;
const MAX_OPEN_PER_BOT: usize = 2;

fn bot(i: u8) -> BotId {
    BotId::new(format!("b{i}"))
}
fn sym(i: u8) -> Symbol {
    Symbol::new(format!("S{i}"))
}
/// Each symbol trades at one price, so cost and market value agree and the caps measured
/// at approval are the caps measured afterwards.
fn price(s: u8) -> Decimal {
    Decimal::from(20 + 15 * i64::from(s))
}

#[derive(Clone, Debug)]
enum Op {
    /// A bot asks for an order.
    Ask {
        bot: u8,
        sym: u8,
        kind: u8,
        qty: i64,
    },
    /// Part (in tenths) of a working order fills; a fill after a cancel was asked for is
    /// such a fill too (the venue filled it first).
    Fill { pick: usize, tenths: u8 },
    /// A working order is canceled with what is left.
    Cancel { pick: usize },
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        4 => (0u8..3, 0u8..3, 0u8..3, -40i64..40)
            .prop_map(|(bot, sym, kind, qty)| Op::Ask { bot, sym, kind, qty }),
        3 => (any::<usize>(), 1u8..=10).prop_map(|(pick, tenths)| Op::Fill { pick, tenths }),
        1 => any::<usize>().prop_map(|pick| Op::Cancel { pick }),
    ];
    prop::collection::vec(op, 1..60)
}

fn config() -> RiskConfig {
    RiskConfig {
        max_symbol_notional: Some(Decimal::from(SYMBOL_CAP)),
        max_gross_exposure_pct: Some(0.05),
        max_open_positions: MAX_OPEN,
        max_open_positions_per_bot: MAX_OPEN_PER_BOT,
        ..RiskConfig::permissive()
    }
}

fn intent(bot_: u8, sym_: u8, kind: u8, qty: i64) -> Intent {
    let q = Decimal::from(qty);
    Intent {
        bot: bot(bot_),
        symbol: sym(sym_),
        action: match kind {
            0 => OrderAction::Buy(q.abs()),
            1 => OrderAction::Sell(q.abs()),
            _ => OrderAction::Target(q),
        },
        confidence: 1.0,
        stop_loss: None,
        take_profit: None,
        trailing: None,
        scale_outs: Vec::new(),
        order_type: Default::default(),
        limit_price: None,
        time_in_force: Default::default(),
        tag: String::new(),
    }
}

fn fill(r: &Reservation, quantity: Decimal) -> Fill {
    Fill {
        order_id: r.order,
        bot: r.bot.clone(),
        symbol: r.symbol.clone(),
        side: r.side,
        quantity,
        price: r.price,
        fee: Decimal::ZERO,
        time: Timestamp(1),
        trade_id: format!("t{}", r.order.0),
        tag: String::new(),
    }
}

/// Every limit of [`config`] holds whichever working orders fill, in part or whole: each
/// position may end anywhere from all its working sells filled to all its buys filled, so
/// the end farther from flat is what counts.
fn check(book: &Portfolio, working: &[Reservation]) -> Result<(), TestCaseError> {
    let mut worst: BTreeMap<(u8, u8), Decimal> = BTreeMap::new();
    for b in 0..3 {
        for s in 0..3 {
            let held = book.quantity(&bot(b), &sym(s));
            let of = |side: Side| -> Decimal {
                working
                    .iter()
                    .filter(|r| r.bot == bot(b) && r.symbol == sym(s) && r.side == side)
                    .map(|r| r.quantity)
                    .sum()
            };
            let (hi, lo) = (held + of(Side::Buy), held - of(Side::Sell));
            worst.insert((b, s), hi.abs().max(lo.abs()));
        }
    }
    let value = |(_, s): &(u8, u8), q: &Decimal| *q * price(*s);
    for s in 0..3 {
        let gross: Decimal = worst
            .iter()
            .filter(|((_, x), _)| *x == s)
            .map(|(k, q)| value(k, q))
            .sum();
        prop_assert!(gross <= Decimal::from(SYMBOL_CAP), "S{s}: {gross}");
    }
    let gross: Decimal = worst.iter().map(|(k, q)| value(k, q)).sum();
    prop_assert!(
        gross <= Decimal::from(CASH) * Decimal::new(5, 2),
        "gross {gross}"
    );
    let open = worst.values().filter(|q| !q.is_zero()).count();
    prop_assert!(open <= MAX_OPEN, "{open} open");
    for b in 0..3 {
        let mine = worst.iter().filter(|((x, _), _)| *x == b);
        prop_assert!(mine.clone().filter(|(_, q)| !q.is_zero()).count() <= MAX_OPEN_PER_BOT);
        let cost: Decimal = mine.map(|(k, q)| value(k, q)).sum();
        prop_assert!(cost <= Decimal::from(BUDGET), "b{b} over budget: {cost}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn every_limit_holds_with_working_orders_counted(ops in ops()) {
        let mut engine = RiskEngine::new(config());
        let mut book = engine.new_portfolio(Decimal::from(CASH));
        let mut working: Vec<Reservation> = Vec::new();
        let mut next = 0u64;
        for op in ops {
            match op {
                Op::Ask { bot: b, sym: s, kind, qty } => {
                    let (asked, projected) = against_working(&intent(b, s, kind, qty), &book, &working);
                    let input = RiskInput::new(Timestamp(1), price(s), &projected, Decimal::from(BUDGET))
                        .with_equity(Decimal::from(CASH));
                    if let Some((side, quantity)) = engine.evaluate(&asked, &input).order() {
                        next += 1;
                        working.push(Reservation {
                            order: OrderId(next),
                            bot: bot(b),
                            symbol: sym(s),
                            side,
                            quantity,
                            price: price(s),
                        });
                    }
                }
                Op::Fill { pick, tenths } if !working.is_empty() => {
                    let i = pick % working.len();
                    let q = (working[i].quantity * Decimal::from(tenths) / Decimal::TEN).round_dp(0).max(Decimal::ONE).min(working[i].quantity);
                    book.apply_fill(&fill(&working[i], q));
                    working[i].quantity -= q;
                    if working[i].quantity.is_zero() {
                        working.remove(i);
                    }
                }
                Op::Cancel { pick } if !working.is_empty() => {
                    working.remove(pick % working.len());
                }
                _ => {}
            }
            // Whatever fills of what is working still come, the limits hold.
            check(&book, &working)?;
        }
    }
}
