//! Tests of the read API, against real temporary files.

use super::*;
use crate::records::{BotVersionRecord, LoadStatus};
use crate::testutil::*;
use rust_decimal_macros::dec;

fn version(bot: &str, v: &str, at: i64, status: LoadStatus) -> BotVersionRecord {
    BotVersionRecord {
        bot: BotId::new(bot),
        version: v.into(),
        content_hash: "abc123".into(),
        component_path: format!("bots/{bot}.wasm"),
        loaded_at: Timestamp(at),
        status,
        error: (status == LoadStatus::Failed).then(|| "link error".into()),
    }
}

#[test]
fn summaries_count_correctly() {
    let (_dir, _path, mut ledger) = temp_ledger();
    ledger
        .record_bot_version(&version("a", "1.0.0", 0, LoadStatus::Ok))
        .unwrap();
    ledger
        .record_bot_version(&version("a", "1.1.0", 5, LoadStatus::Ok))
        .unwrap();
    // A later failed load does not replace the running version.
    ledger
        .record_bot_version(&version("a", "2.0.0", 9, LoadStatus::Failed))
        .unwrap();
    ledger
        .record_bot_version(&version("idle", "0.1.0", 0, LoadStatus::Ok))
        .unwrap();

    // Bot a: one tick of every outcome, in order, so the last is `quarantined`.
    for (i, outcome) in TickOutcome::ALL.iter().enumerate() {
        let mut rec = tick("a", i as u64 + 1, i as i64 * 60_000);
        rec.outcome = *outcome;
        if *outcome == TickOutcome::Ok {
            let id = i as u64 + 1;
            let mut resized = filled(
                "a",
                "X",
                Side::Buy,
                dec!(2),
                dec!(10),
                dec!(0.1),
                id + 100,
                0,
                dec!(0.2),
            );
            resized.verdict.kind = VerdictKind::Resized;
            rec.intents = vec![
                filled(
                    "a",
                    "X",
                    Side::Buy,
                    dec!(1),
                    dec!(10),
                    dec!(0.1),
                    id,
                    0,
                    dec!(0.1),
                ),
                resized,
                refused("a", "X", dec!(9), "max_position"),
                refused("a", "Y", dec!(9), "max_exposure"),
            ];
            rec.positions = vec![
                (
                    "X".into(),
                    position(dec!(3), dec!(10), dec!(0.1), dec!(0.2)),
                ),
                (
                    "Y".into(),
                    position(dec!(0), dec!(0), dec!(0.2), dec!(0.05)),
                ),
            ];
        }
        ledger.record_tick(&rec).unwrap();
    }
    // Bot b: two ok ticks, one approved trade closing at a profit.
    for seq in 1..=2 {
        let mut rec = tick("b", seq, seq as i64 * 1000);
        if seq == 2 {
            rec.intents = vec![filled(
                "b",
                "X",
                Side::Sell,
                dec!(1),
                dec!(11),
                dec!(0.3),
                50,
                0,
                dec!(1),
            )];
            rec.positions = vec![("X".into(), position(dec!(-1), dec!(11), dec!(1), dec!(0.3)))];
        }
        ledger.record_tick(&rec).unwrap();
    }

    let s = ledger.bot_summaries().unwrap();
    let names: Vec<_> = s.iter().map(|s| s.bot.as_str()).collect();
    assert_eq!(names, ["a", "b", "idle"]);
    let a = &s[0];
    let n_errors = TickOutcome::ALL.iter().filter(|o| o.is_error()).count() as u64;
    assert_eq!(
        (a.ticks, a.errors),
        (TickOutcome::ALL.len() as u64, n_errors)
    );
    assert_eq!(
        (a.intents, a.approved, a.resized, a.refused, a.trades),
        (4, 1, 1, 2, 2)
    );
    // Summed over fills: 0.1 + 0.2 in Decimal, exactly.
    assert_eq!((a.realized_pnl, a.fees), (dec!(0.3), dec!(0.2)));
    assert_eq!(a.version.as_deref(), Some("1.1.0"));
    assert_eq!(a.last_outcome, Some(TickOutcome::Quarantined));
    assert_eq!(a.last_tick_at, Some(Timestamp(5 * 60_000 + 3)));
    let b = &s[1];
    assert_eq!(
        (b.ticks, b.errors, b.intents, b.approved, b.trades),
        (2, 0, 1, 1, 1)
    );
    assert_eq!(
        (b.realized_pnl, b.fees, b.last_outcome),
        (dec!(1), dec!(0.3), Some(TickOutcome::Ok))
    );
    let idle = &s[2];
    assert_eq!((idle.ticks, idle.trades, idle.last_tick_at), (0, 0, None));
    assert_eq!(idle.version.as_deref(), Some("0.1.0"));
}

#[test]
fn refusals_come_newest_first_with_their_numbers() {
    let (_dir, _path, mut ledger) = temp_ledger();
    for (seq, reason) in [(1, "max_position"), (2, "halted"), (3, "max_exposure")] {
        let mut rec = tick("a", seq, seq as i64 * 60_000);
        rec.intents = vec![
            filled(
                "a",
                "X",
                Side::Buy,
                dec!(1),
                dec!(1),
                dec!(0),
                seq,
                0,
                dec!(0),
            ),
            refused("a", "TSLA", dec!(7.5), reason),
        ];
        ledger.record_tick(&rec).unwrap();
    }
    let r = ledger.recent_refusals(2).unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].reason.as_deref(), Some("max_exposure"));
    assert_eq!(r[1].reason.as_deref(), Some("halted"));
    assert_eq!(r[0].time, Timestamp(3 * 60_000 + 3));
    assert_eq!((r[0].bot.as_str(), r[0].symbol.as_str()), ("a", "TSLA"));
    assert_eq!(r[0].action, OrderAction::Buy(dec!(7.5)));
    assert_eq!(
        r[0].detail,
        serde_json::json!({ "limit": "100", "asked": "7.5" })
    );
    assert_eq!(ledger.recent_refusals(usize::MAX).unwrap().len(), 3);
    assert_eq!(ledger.recent_fills(10).unwrap().len(), 3);
}

#[test]
fn refusals_and_summaries_use_their_indexes() {
    let (_dir, _path, ledger) = temp_ledger();
    let plan = |sql: &str| -> String {
        let mut stmt = ledger
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        let rows = stmt.query_map([], |r| r.get::<_, String>(3)).unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
    };
    let refusals = plan(
        "SELECT i.id FROM intents i JOIN ticks t ON t.id = i.tick_id \
         WHERE i.verdict = 'refused' ORDER BY i.id DESC LIMIT 5",
    );
    assert!(refusals.contains("intents_refused"), "{refusals}");
    assert!(!refusals.contains("TEMP B-TREE"), "{refusals}");
    let ticks =
        plan("SELECT bot, COUNT(*), SUM(outcome = 'error'), MAX(id) FROM ticks GROUP BY bot");
    assert!(
        ticks.contains("COVERING INDEX ticks_bot_outcome"),
        "{ticks}"
    );
    let verdicts = plan("SELECT bot, verdict, COUNT(*) FROM intents GROUP BY bot, verdict");
    assert!(
        verdicts.contains("COVERING INDEX intents_bot_verdict"),
        "{verdicts}"
    );
}

#[test]
fn equity_and_events_read_back() {
    let (_dir, _path, mut ledger) = temp_ledger();
    assert_eq!(ledger.latest_equity().unwrap(), None);
    ledger
        .record_equity(Timestamp(1000), dec!(100000), dec!(100000))
        .unwrap();
    let per_bot = serde_json::json!({ "a": { "equity": "50012.5" } });
    ledger
        .record_equity_with_bots(Timestamp(2000), dec!(99000.25), dec!(100012.5), &per_bot)
        .unwrap();
    let last = ledger.latest_equity().unwrap().unwrap();
    assert_eq!(
        (last.time, last.cash, last.equity),
        (Timestamp(2000), dec!(99000.25), dec!(100012.5))
    );
    assert_eq!(last.per_bot, Some(per_bot));
    assert_eq!(ledger.equity_since(Timestamp(1500)).unwrap().len(), 1);
    assert_eq!(ledger.equity_since(Timestamp(0)).unwrap()[0].per_bot, None);

    let a = BotId::new("a");
    ledger
        .record_event(Timestamp(1), Some(&a), "reload", "1.0.0 -> 1.1.0")
        .unwrap();
    ledger
        .record_event(Timestamp(2), Some(&a), "quarantine", "3 traps in 10 ticks")
        .unwrap();
    ledger
        .record_event(Timestamp(3), None, "halt", "daily loss limit")
        .unwrap();
    let ev = ledger.events(2).unwrap();
    assert_eq!(ev.len(), 2);
    assert_eq!((ev[0].kind.as_str(), ev[0].bot.as_ref()), ("halt", None));
    assert_eq!(
        (ev[1].kind.as_str(), ev[1].bot.as_ref()),
        ("quarantine", Some(&a))
    );
    // An event is enough for a bot to be known.
    assert_eq!(ledger.bot_summaries().unwrap()[0].bot, a);
}

#[test]
fn rows_serialise_amounts_as_exact_strings() {
    let (_dir, _path, mut ledger) = temp_ledger();
    let mut rec = tick("a", 1, 0);
    rec.positions = vec![(
        "X".into(),
        position(dec!(1.50), dec!(0.3), dec!(-2), dec!(0)),
    )];
    ledger.record_tick(&rec).unwrap();
    let json = serde_json::to_value(ledger.positions().unwrap()).unwrap();
    assert_eq!(json[0]["quantity"], "1.50");
    assert_eq!(json[0]["avg_price"], "0.3");
    let summary = serde_json::to_value(&ledger.bot_summaries().unwrap()[0]).unwrap();
    assert_eq!(summary["realized_pnl"], "0");
    assert_eq!(summary["last_outcome"], "ok");
    assert_eq!(summary["last_tick_at"], 3);
}
