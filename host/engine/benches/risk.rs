//! Verdict time for one intent against a book of 10,000 open positions.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use flotilla_domain::{BotId, Fill, Intent, OrderAction, OrderId, Side, Symbol, Timestamp};
use flotilla_engine::{RiskConfig, RiskEngine, RiskInput};
use rust_decimal::Decimal;
use std::hint::black_box;

const BOTS: usize = 100;
const SYMBOLS_PER_BOT: usize = 100;

fn setup() -> (RiskEngine, flotilla_engine::Portfolio) {
    // The default chain (every gate on) with room for the book and no rate limiting,
    // so every iteration runs the whole chain to an approval.
    let cfg = RiskConfig {
        max_open_positions: 20_000,
        max_open_positions_per_bot: 1_000,
        bot_rate_limit: None,
        global_rate_limit: None,
        max_order_notional: Some(Decimal::from(50_000)),
        max_symbol_notional: Some(Decimal::from(1_000_000)),
        ..RiskConfig::default()
    };
    let mut engine = RiskEngine::new(cfg);
    let mut pf = engine.new_portfolio(Decimal::from(100_000_000));
    for b in 0..BOTS {
        for s in 0..SYMBOLS_PER_BOT {
            // Each bot trades its own slice of 1,000 symbols, all long: no contradictions.
            let symbol = Symbol::new(format!("S{}", (b * 37 + s) % 1000));
            pf.apply_fill(&Fill {
                order_id: OrderId((b * SYMBOLS_PER_BOT + s) as u64),
                bot: BotId::new(format!("bot{b}")),
                symbol,
                side: Side::Buy,
                quantity: Decimal::from(10),
                price: Decimal::new(10_025, 2),
                fee: Decimal::ZERO,
                time: Timestamp(0),
                trade_id: String::new(),
                tag: String::new(),
            });
        }
    }
    assert_eq!(pf.open_positions(), BOTS * SYMBOLS_PER_BOT);
    // Returns for 200 symbols so the correlation gate has a (cached) cluster to price.
    for t in 0..60i64 {
        let common = ((t * 7919) % 13) as f64 / 1000.0 - 0.006;
        for s in 0..200 {
            let own = ((t * 31 + s as i64 * 17) % 7) as f64 / 10_000.0;
            engine.observe_return(&Symbol::new(format!("S{s}")), Timestamp(t), common + own);
        }
    }
    (engine, pf)
}

fn bench(c: &mut Criterion) {
    let (mut engine, pf) = setup();
    let add = Intent {
        // bot3 holds S111..S210; S150 and S5 both have return history (correlation gate).
        bot: BotId::new("bot3"),
        symbol: Symbol::new("S150"),
        action: OrderAction::Buy(Decimal::from(5)),
        confidence: 0.7,
        stop_loss: None,
        take_profit: None,
        trailing: None,
        scale_outs: Vec::new(),
        order_type: Default::default(),
        limit_price: None,
        time_in_force: Default::default(),
        tag: String::new(),
    };
    let open = Intent {
        symbol: Symbol::new("S5"),
        ..add.clone()
    };
    let input = RiskInput::new(
        Timestamp(1_000),
        Decimal::new(10_100, 2),
        &pf,
        Decimal::from(500_000),
    )
    .with_equity(Decimal::from(100_000_000));
    for i in [&add, &open] {
        let v = engine.evaluate(i, &input);
        assert!(v.order().is_some(), "bench intent must be approved: {v}");
        let cluster = engine.correlation().clone().cluster(&i.symbol, 0.8).len();
        eprintln!("{}: {v} (correlated cluster of {cluster})", i.symbol);
    }

    let mut g = c.benchmark_group("risk_10k_positions");
    g.bench_function("evaluate_add_to_position", |b| {
        b.iter(|| engine.evaluate(black_box(&add), black_box(&input)))
    });
    g.bench_function("evaluate_open_position", |b| {
        b.iter(|| engine.evaluate(black_box(&open), black_box(&input)))
    });
    // Cold: a fresh portfolio value every iteration (clone made outside the timing), so the
    // cached cost of the 199-symbol correlated cluster must be summed again.
    g.bench_function("evaluate_add_cold_cluster", |b| {
        b.iter_batched(
            || pf.clone(),
            |p| {
                let input = RiskInput::new(
                    Timestamp(1_000),
                    Decimal::new(10_100, 2),
                    &p,
                    Decimal::from(500_000),
                )
                .with_equity(Decimal::from(100_000_000));
                let v = engine.evaluate(black_box(&add), black_box(&input));
                (v, p)
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
