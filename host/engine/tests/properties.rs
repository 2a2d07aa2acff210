//! Property tests of the risk chain and the allocator.

use flotilla_domain::{BotId, Fill, Intent, OrderAction, OrderId, Side, Symbol, Timestamp};
use flotilla_engine::allocator::{ThompsonAllocator, ThompsonConfig};
use flotilla_engine::{
    KellyConfig, Portfolio, RiskConfig, RiskEngine, RiskInput, TradingState, Verdict,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn bot(i: u8) -> BotId {
    BotId::new(format!("b{i}"))
}
fn sym(i: u8) -> Symbol {
    Symbol::new(format!("S{i}"))
}

#[derive(Clone, Debug)]
struct FillSpec(u8, u8, bool, i64, i64);

fn fills() -> impl Strategy<Value = Vec<FillSpec>> {
    prop::collection::vec(
        (0u8..3, 0u8..3, any::<bool>(), 1i64..20, 1i64..200)
            .prop_map(|(b, s, buy, q, p)| FillSpec(b, s, buy, q, p)),
        0..12,
    )
}

#[derive(Clone, Debug)]
struct IntentSpec {
    bot: u8,
    sym: u8,
    kind: u8,
    qty: i64,
    confidence: f64,
    price: i64,
    budget: i64,
    equity: i64,
}

fn intents() -> impl Strategy<Value = IntentSpec> {
    (
        0u8..3,
        0u8..3,
        0u8..3,
        -30i64..30,
        0.0f64..1.0,
        1i64..200,
        0i64..5000,
        500i64..20000,
    )
        .prop_map(
            |(bot, sym, kind, qty, confidence, price, budget, equity)| IntentSpec {
                bot,
                sym,
                kind,
                qty,
                confidence,
                price,
                budget,
                equity,
            },
        )
}

#[derive(Clone, Debug)]
struct Caps {
    order: Option<i64>,
    symbol: Option<i64>,
    gross_pct: Option<f64>,
    kelly: bool,
}

fn caps() -> impl Strategy<Value = Caps> {
    (
        prop::option::of(0i64..3000),
        prop::option::of(0i64..5000),
        prop::option::of(0.1f64..2.0),
        any::<bool>(),
    )
        .prop_map(|(order, symbol, gross_pct, kelly)| Caps {
            order,
            symbol,
            gross_pct,
            kelly,
        })
}

fn config(c: &Caps) -> RiskConfig {
    RiskConfig {
        max_order_notional: c.order.map(Decimal::from),
        max_symbol_notional: c.symbol.map(Decimal::from),
        max_gross_exposure_pct: c.gross_pct,
        kelly: KellyConfig {
            enabled: c.kelly,
            ..KellyConfig::default()
        },
        ..RiskConfig::permissive()
    }
}

fn book(e: &RiskEngine, specs: &[FillSpec]) -> Portfolio {
    let mut pf = e.new_portfolio(Decimal::from(100_000));
    for (k, FillSpec(b, s, buy, q, p)) in specs.iter().enumerate() {
        pf.apply_fill(&Fill {
            order_id: OrderId(k as u64),
            bot: bot(*b),
            symbol: sym(*s),
            side: if *buy { Side::Buy } else { Side::Sell },
            quantity: Decimal::from(*q),
            price: Decimal::from(*p),
            fee: Decimal::ZERO,
            time: Timestamp(0),
            trade_id: String::new(),
            tag: String::new(),
        });
    }
    pf
}

fn intent(s: &IntentSpec) -> Intent {
    let q = Decimal::from(s.qty);
    let action = match s.kind {
        0 => OrderAction::Buy(q.abs()),
        1 => OrderAction::Sell(q.abs()),
        _ => OrderAction::Target(q),
    };
    Intent {
        bot: bot(s.bot),
        symbol: sym(s.sym),
        action,
        confidence: s.confidence,
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

fn input<'a>(s: &IntentSpec, pf: &'a Portfolio) -> RiskInput<'a> {
    RiskInput::new(
        Timestamp(1),
        Decimal::from(s.price),
        pf,
        Decimal::from(s.budget),
    )
    .with_equity(Decimal::from(s.equity))
}

/// Whether the order (side, qty) only shrinks `current`.
fn reduces(current: Decimal, side: Side, qty: Decimal) -> bool {
    !current.is_zero() && current.is_sign_positive() == (side == Side::Sell) && qty <= current.abs()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn approved_exposure_never_exceeds_caps(f in fills(), s in intents(), c in caps()) {
        let mut e = RiskEngine::new(config(&c));
        let pf = book(&e, &f);
        let i = intent(&s);
        let v = e.evaluate(&i, &input(&s, &pf));
        let Some((side, qty)) = v.order() else { return Ok(()) };
        let cur = pf.quantity(&i.bot, &i.symbol);
        prop_assert!(qty > Decimal::ZERO);
        if reduces(cur, side, qty) {
            return Ok(());
        }
        let price = Decimal::from(s.price);
        let new = cur + side.sign() * qty;
        let own_cost = pf.position(&i.bot, &i.symbol).map_or(Decimal::ZERO, |p| p.quantity.abs() * p.avg_price);
        // Budget: other symbols at cost plus this one at price.
        prop_assert!(pf.bot_gross_cost(&i.bot) - own_cost + new.abs() * price <= Decimal::from(s.budget), "{v}");
        let increase = qty - if cur.is_zero() || cur.is_sign_positive() == (side == Side::Buy) { Decimal::ZERO } else { cur.abs() };
        if let Some(l) = c.order {
            prop_assert!(increase * price <= Decimal::from(l), "{v}");
        }
        if let Some(l) = c.symbol {
            let others = pf.symbol_exposure(&i.symbol).map_or(Decimal::ZERO, |x| x.gross_qty) - cur.abs();
            prop_assert!((others + new.abs()) * price <= Decimal::from(l), "{v}");
        }
        if let Some(p) = c.gross_pct {
            let limit = Decimal::from(s.equity) * Decimal::try_from(p).unwrap();
            prop_assert!(pf.gross_cost() - own_cost + new.abs() * price <= limit, "{v}");
        }
    }

    #[test]
    fn halted_never_approves_risk_and_reducing_only_reduces(f in fills(), s in intents(), c in caps(), halted in any::<bool>(), per_bot in any::<bool>()) {
        let mut e = RiskEngine::new(config(&c));
        let pf = book(&e, &f);
        let state = if halted { TradingState::Halted } else { TradingState::Reducing };
        if per_bot {
            e.set_bot_state(&bot(s.bot), state, "test", Timestamp(0));
        } else {
            e.set_state(state, "test", Timestamp(0));
        }
        let i = intent(&s);
        let cur = pf.quantity(&i.bot, &i.symbol);
        let v = e.evaluate(&i, &input(&s, &pf));
        if let Some((side, qty)) = v.order() {
            prop_assert!(!halted, "halted approved {v}");
            prop_assert!(reduces(cur, side, qty), "reducing approved {v} on {cur}");
        }
        // Host exits pass any state but only ever reduce.
        let v = e.evaluate_exit(&i, &input(&s, &pf));
        if let Some((side, qty)) = v.order() {
            prop_assert!(reduces(cur, side, qty), "exit {v} on {cur}");
        }
    }

    #[test]
    fn verdict_chain_is_deterministic(f in fills(), ss in prop::collection::vec(intents(), 1..8), c in caps()) {
        let run = || {
            let mut cfg = config(&c);
            cfg.bot_rate_limit = Some(flotilla_engine::risk::RateLimit { max_orders: 3, window_ms: 10 });
            let mut e = RiskEngine::new(cfg);
            let pf = book(&e, &f);
            ss.iter().map(|s| e.evaluate(&intent(s), &input(s, &pf))).collect::<Vec<Verdict>>()
        };
        let a = run();
        prop_assert_eq!(&a, &run());
        let json_a = serde_json::to_string(&a).unwrap();
        prop_assert_eq!(json_a, serde_json::to_string(&run()).unwrap());
    }

    #[test]
    fn allocations_are_non_negative_and_leave_the_reserve(
        rets in prop::collection::vec((0u8..6, -0.05f64..0.05), 0..200),
        floor in 0.0f64..0.3,
        cap in 0.05f64..1.0,
        reserve in 0.0f64..0.9,
        halted in prop::collection::vec(any::<bool>(), 6),
        capital in 0i64..10_000_000,
    ) {
        let cfg = ThompsonConfig { floor: floor.min(cap), cap, reserve, samples: 200, ..ThompsonConfig::default() };
        let mut a = ThompsonAllocator::new(cfg).unwrap();
        for (b, r) in &rets {
            a.observe(&bot(*b), *r);
        }
        let bots: Vec<BotId> = (0..6).map(bot).collect();
        let alloc = a.rebalance(&bots, |b| halted[b.as_str()[1..].parse::<usize>().unwrap()], Decimal::from(capital));
        let sum: f64 = alloc.bots.iter().map(|b| b.weight).sum();
        prop_assert!(alloc.bots.iter().all(|b| b.weight >= 0.0 && b.budget >= Decimal::ZERO));
        prop_assert!(sum <= 1.0 - reserve + 1e-12, "sum {sum}");
        prop_assert!(alloc.bots.iter().all(|b| b.weight <= cap + 1e-12));
        let budgets: Decimal = alloc.bots.iter().map(|b| b.budget).sum();
        prop_assert!(budgets <= Decimal::from(capital) * Decimal::try_from(1.0 - reserve).unwrap() + Decimal::new(1, 6));
        for (b, h) in alloc.bots.iter().zip(&halted) {
            if *h { prop_assert_eq!(b.weight, 0.0); }
        }
    }
}
