use super::*;
use crate::testutil::*;
use crate::{AllocationRow, OrderStatus, TickOutcome};
use flotilla_domain::{BotId, OrderId, Side, Timestamp};
use rust_decimal_macros::dec;

/// Ticks for bots a, b: a buys and sells (two fills), b is refused twice and errors once.
fn populate(l: &mut crate::Ledger, base: i64) {
    let mut t = tick("a", 1, base);
    t.intents = vec![filled(
        "a",
        "X",
        Side::Buy,
        dec!(2),
        dec!(10),
        dec!(0.1),
        base as u64 + 1,
        base,
        dec!(0),
    )];
    l.record_tick(&t).unwrap();
    let mut t = tick("a", 2, base + 10);
    t.intents = vec![filled(
        "a",
        "X",
        Side::Sell,
        dec!(2),
        dec!(12),
        dec!(0.1),
        base as u64 + 2,
        base + 10,
        dec!(4),
    )];
    l.record_tick(&t).unwrap();
    let mut t = tick("b", 1, base + 20);
    t.intents = vec![
        refused("b", "Y", dec!(1), "max_exposure"),
        refused("b", "Y", dec!(1), "daily_loss"),
    ];
    l.record_tick(&t).unwrap();
    let mut t = tick("b", 2, base + 30);
    t.outcome = TickOutcome::Trap;
    t.error = Some("out of fuel".into());
    l.record_tick(&t).unwrap();
}

#[test]
fn bot_stats_fold_incrementally_and_agree_with_the_summaries() {
    let (_dir, path, mut l) = temp_ledger();
    populate(&mut l, 1000);
    let mut r = LedgerReader::open(&path).unwrap();
    let first = r.bot_stats(None).unwrap();
    assert_eq!(first.len(), 2);
    // More rows after the first read: only they are folded in, and the totals still
    // match the full recount of the write side's summaries.
    populate(&mut l, 2000);
    l.record_allocation(&[AllocationRow {
        sequence: 3,
        time: Timestamp(5),
        bot: BotId::new("a"),
        weight: 0.5,
        p_best: 0.4,
        budget: dec!(500),
        why: "share".into(),
        posterior: serde_json::json!({}),
    }])
    .unwrap();
    let stats = r.bot_stats(None).unwrap();
    let sums = l.bot_summaries().unwrap();
    for (s, w) in stats.iter().zip(&sums) {
        assert_eq!(s.bot, w.bot.as_str());
        assert_eq!(
            (s.ticks, s.errors, s.intents, s.refused, s.trades),
            (w.ticks, w.errors, w.intents, w.refused, w.trades)
        );
        assert_eq!((s.realized_pnl, s.fees), (w.realized_pnl, w.fees));
        assert_eq!(s.last_tick_at, w.last_tick_at.map(|t| t.0));
    }
    let a = &stats[0];
    assert_eq!((a.trades, a.realized_pnl, a.fees), (4, dec!(8), dec!(0.4)));
    assert_eq!((a.allocation, a.weight), (Some(dec!(500)), Some(0.5)));
    let b = &stats[1];
    assert_eq!(b.last_error.as_deref(), Some("out of fuel"));
    assert_eq!((b.errors, b.last_error_at), (2, Some(2033)));
    assert_eq!(r.bot_stats(Some("b")).unwrap().len(), 1);
    assert!(r.bot("nobody").unwrap().is_none());
}

#[test]
fn pages_walk_every_row_once_newest_first() {
    let (_dir, path, mut l) = temp_ledger();
    for i in 0..5 {
        populate(&mut l, 1000 * (i + 1));
    }
    let r = LedgerReader::open(&path).unwrap();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let p = r
            .fills_page(&FillQuery {
                cursor,
                limit: 3,
                ..Default::default()
            })
            .unwrap();
        assert!(p.items.len() <= 3);
        seen.extend(p.items.iter().map(|f| f.id));
        match p.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(seen.len(), 10);
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "{seen:?}");
    let only_b = r
        .fills_page(&FillQuery {
            bot: Some("b".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert!(only_b.items.is_empty() && only_b.next.is_none());

    let refused = r
        .verdicts_page(&VerdictQuery {
            verdict: Some("refused".into()),
            reason: Some("daily_loss".into()),
            from: Some(3000),
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(refused.items.len(), 3, "ticks at 3020, 4020, 5020");
    assert!(refused.items.iter().all(|v| v.time >= 3000 && v.bot == "b"));
    assert_eq!(refused.items[0].detail["limit"], "100");
}

#[test]
fn refusal_reasons_from_the_fold_match_the_filtered_query() {
    let (_dir, path, mut l) = temp_ledger();
    populate(&mut l, 1000);
    populate(&mut l, 2000);
    let mut r = LedgerReader::open(&path).unwrap();
    let all = r.refusal_reasons(&VerdictQuery::default()).unwrap();
    let filtered = r
        .refusal_reasons(&VerdictQuery {
            bot: Some("b".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(all, filtered);
    assert_eq!(
        all,
        vec![
            ReasonCount {
                reason: "daily_loss".into(),
                count: 2
            },
            ReasonCount {
                reason: "max_exposure".into(),
                count: 2
            },
        ]
    );
    let late = r
        .refusal_reasons(&VerdictQuery {
            from: Some(2000),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(late.iter().map(|c| c.count).sum::<u64>(), 2);
}

#[test]
fn orders_split_into_working_and_done_with_history() {
    let (_dir, path, mut l) = temp_ledger();
    populate(&mut l, 1000);
    let mut t = tick("a", 3, 1500);
    let mut ir = filled(
        "a",
        "X",
        Side::Buy,
        dec!(1),
        dec!(10),
        dec!(0),
        77,
        1500,
        dec!(0),
    );
    ir.fill = None;
    t.intents = vec![ir];
    l.record_tick(&t).unwrap();
    l.set_order_status(OrderId(77), OrderStatus::Open).unwrap();
    let r = LedgerReader::open(&path).unwrap();
    let page = |status| {
        r.orders_page(&OrderQuery {
            status,
            limit: 10,
            ..Default::default()
        })
        .unwrap()
        .items
        .iter()
        .map(|o| o.id.0)
        .collect::<Vec<_>>()
    };
    assert_eq!(page(OrderStatusFilter::Working), vec![77]);
    assert_eq!(page(OrderStatusFilter::Done), vec![1002, 1001]);
    assert_eq!(page(OrderStatusFilter::All), vec![1002, 1001, 77]);
    let mut r = r;
    assert_eq!(r.working_order_count().unwrap(), 1);
    let (o, fills) = r.order_detail(1002).unwrap().unwrap();
    assert!(!o.history.is_empty());
    assert_eq!(fills.len(), 1);
    assert_eq!(fills[0].fill.price, dec!(12));
    assert!(r.order_detail(5).unwrap().is_none());
}

#[test]
fn trading_state_names_who_set_it_and_the_audit_reads_back() {
    let (_dir, path, mut l) = temp_ledger();
    let r = LedgerReader::open(&path).unwrap();
    assert_eq!(r.trading_state(5).unwrap().state, "active");
    let ctl = |by: &str, control: &str, ok| ControlRecord {
        by: by.into(),
        control: control.into(),
        target: None,
        ok,
        result: "done".into(),
    };
    l.record_control(Timestamp(10), None, &ctl("token:ops", "halt", true))
        .unwrap();
    l.record_event(
        Timestamp(10),
        None,
        "trading_state",
        "Active -> Halted (Manual): manual: maintenance",
    )
    .unwrap();
    l.record_control(Timestamp(11), None, &ctl("token:intruder", "halt", false))
        .unwrap();
    let s = r.trading_state(5).unwrap();
    assert_eq!(
        (s.state.as_str(), s.since, s.set_by.as_deref()),
        ("halted", Some(10), Some("token:ops"))
    );
    assert_eq!(s.reason.as_deref(), Some("manual: maintenance"));
    l.record_event(
        Timestamp(20),
        None,
        "trading_state",
        "Halted -> Reducing (DailyLoss): loss 3%",
    )
    .unwrap();
    let s = r.trading_state(5).unwrap();
    assert_eq!(
        (s.state.as_str(), s.set_by.as_deref(), s.history.len()),
        ("reducing", Some("risk:daily_loss"), 2)
    );
    l.record_event(Timestamp(30), None, "control", "not json")
        .unwrap();
    let audit = r.audit_page(None, 10).unwrap();
    assert_eq!(audit.items.len(), 3);
    assert_eq!(audit.items[0].result, "not json");
    assert_eq!(audit.items[1].by.as_deref(), Some("token:intruder"));
    assert_eq!(audit.items[1].ok, Some(false));
}

#[test]
fn equity_curve_downsamples_and_keeps_the_true_drawdown() {
    let (_dir, path, mut l) = temp_ledger();
    for i in 0..1000i64 {
        // Up to 1500 at i = 500, down to 1050 at i = 950 (30% below), back up.
        let e = if i <= 500 {
            1000 + i
        } else if i <= 950 {
            1500 - (i - 500)
        } else {
            1050 + (i - 950)
        };
        l.record_equity(Timestamp(i * 1000), dec!(100), e.into())
            .unwrap();
    }
    let mut r = LedgerReader::open(&path).unwrap();
    let c = r.equity_curve(None, None, None, 50).unwrap();
    assert_eq!(c.rows, 1000);
    assert!(
        c.points.len() <= 50 && c.points.len() >= 45,
        "{}",
        c.points.len()
    );
    assert!((c.max_drawdown - 0.3).abs() < 1e-9, "{}", c.max_drawdown);
    assert_eq!(c.points.last().unwrap().time, 999_000);
    assert_eq!(c.points.last().unwrap().value, dec!(1099));
    let part = r
        .equity_curve(None, Some(100_000), Some(200_000), 500)
        .unwrap();
    assert_eq!(part.rows, 101);
    let eq = r.equity_stats().unwrap();
    assert_eq!((eq.peak, eq.equity), (Some(dec!(1500)), Some(dec!(1099))));
    assert!((eq.max_drawdown - 0.3).abs() < 1e-9);

    populate(&mut l, 5000);
    let bot = r.equity_curve(Some("a"), None, None, 10).unwrap();
    assert_eq!(bot.basis, "realized_pnl");
    let last = bot.points.last().unwrap();
    assert_eq!(last.value, dec!(3.8), "4 realised minus 0.2 fees");
}

#[test]
fn allocations_pick_evenly_spread_rebalances() {
    let (_dir, path, mut l) = temp_ledger();
    for seq in 0..10u64 {
        let row = |bot: &str| AllocationRow {
            sequence: seq,
            time: Timestamp(seq as i64 * 100),
            bot: BotId::new(bot),
            weight: 0.5,
            p_best: 0.5,
            budget: dec!(10),
            why: "share".into(),
            posterior: serde_json::json!({}),
        };
        l.record_allocation(&[row("a"), row("b")]).unwrap();
    }
    let r = LedgerReader::open(&path).unwrap();
    let pts = r
        .allocations(&AllocationQuery {
            points: 4,
            ..Default::default()
        })
        .unwrap();
    let seqs: Vec<i64> = pts.iter().map(|p| p.sequence).collect();
    assert_eq!(seqs, vec![0, 0, 3, 3, 6, 6, 9, 9]);
    let ranged = r
        .allocations(&AllocationQuery {
            from: Some(200),
            to: Some(400),
            points: 100,
        })
        .unwrap();
    assert_eq!(ranged.len(), 6);
}

#[test]
fn the_reader_cannot_write_and_refuses_a_newer_schema() {
    let (_dir, path, l) = temp_ledger();
    let r = LedgerReader::open(&path).unwrap();
    assert!(r.conn.execute("DELETE FROM events", []).is_err());
    drop(r);
    l.conn
        .pragma_update(None, "user_version", crate::schema::SCHEMA_VERSION + 1)
        .unwrap();
    assert!(matches!(
        LedgerReader::open(&path),
        Err(LedgerError::SchemaTooNew { .. })
    ));
    let missing = path.with_file_name("nope.db");
    assert!(LedgerReader::open(&missing).is_err());
    assert!(!missing.exists(), "opening must not create a file");
}
