//! Report assembly and rendering tests; the golden file test is in `tests/golden.rs`.

use super::*;
use crate::input::{EquityPoint, ExitLeg, RefusalRecord, RunParams, TradeRecord};
use flotilla_domain::Side;
use rust_decimal_macros::dec;

const DAY: i64 = 86_400_000;

fn curve(values: &[i64]) -> Vec<EquityPoint> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| EquityPoint {
            time: Timestamp(i as i64 * DAY),
            equity: Decimal::from(*v),
            cash: Decimal::from(*v),
        })
        .collect()
}

fn trade(bot: &str, pnl: Decimal, entry_day: i64, exit_day: i64) -> TradeRecord {
    TradeRecord {
        bot: bot.into(),
        symbol: "X".into(),
        side: Side::Buy,
        entry_time: Timestamp(entry_day * DAY),
        entry_price: dec!(10),
        exit_time: Timestamp(exit_day * DAY),
        exit_price: dec!(11),
        quantity: dec!(1),
        pnl,
        fees: dec!(0.1),
        exit_reason: "signal".into(),
        exits: Vec::new(),
    }
}

fn refusal(bot: &str, day: i64, reason: &str) -> RefusalRecord {
    RefusalRecord {
        time: Timestamp(day * DAY),
        bot: bot.into(),
        symbol: "X".into(),
        reason: reason.into(),
        detail: serde_json::json!({ "limit": "100" }),
    }
}

fn input() -> ReportInput {
    let mut i = ReportInput::new(RunParams {
        walk_forward: Some(2),
        monte_carlo: Some(100),
        seed: 3,
        ..RunParams::default()
    });
    i.fleet_equity = curve(&[1000, 1010, 990, 1030, 1040]);
    i.bot_equity
        .insert("a".into(), curve(&[500, 510, 490, 520, 530]));
    // Out of order on purpose: the report sorts by exit time.
    i.trades = vec![
        trade("b", dec!(-5), 2, 3),
        trade("a", dec!(10), 0, 1),
        trade("a", dec!(20), 2, 4),
    ];
    i.refusals = vec![
        refusal("b", 3, "cooldown"),
        refusal("a", 1, "max_notional"),
        refusal("b", 0, "cooldown"),
    ];
    i
}

#[test]
fn assembles_every_section() {
    let r = input().build();
    assert_eq!(r.version, REPORT_VERSION);
    // Bot b has no curve but has trades and refusals: it is reported all the same.
    let bots: Vec<_> = r
        .bots
        .iter()
        .map(|b| (b.bot.to_string(), b.metrics.trades, b.refusals))
        .collect();
    assert_eq!(bots, vec![("a".to_string(), 2, 1), ("b".to_string(), 1, 2)]);
    assert_eq!(r.bots[1].metrics.total_return, None);
    assert_eq!(r.bots[1].metrics.trade_pnl, dec!(-5));
    let exits: Vec<i64> = r.trades.iter().map(|t| t.exit_time.0 / DAY).collect();
    assert_eq!(exits, vec![1, 3, 4]);
    let times: Vec<i64> = r.refusals.iter().map(|t| t.time.0 / DAY).collect();
    assert_eq!(times, vec![0, 1, 3]);
    assert_eq!(
        r.refusal_counts,
        BTreeMap::from([("cooldown".to_string(), 2), ("max_notional".to_string(), 1)])
    );
    // Fleet: 1000 -> 1040 is +4%; drawdown 1 - 990/1010.
    assert_eq!(r.fleet.total_return, Some(0.04));
    assert_eq!(
        r.fleet.max_drawdown,
        Some(round_sig(1.0 - 990.0 / 1010.0, 10))
    );
    assert_eq!(r.fleet.trades, 3);
    assert_eq!(r.equity.len(), 5);
    assert_eq!(r.equity[2].drawdown, r.fleet.max_drawdown.unwrap());
    assert_eq!(r.bot_equity.len(), 1);
}

#[test]
fn walk_forward_folds_slice_the_run() {
    let r = input().build();
    let folds = r.walk_forward.as_ref().unwrap();
    // Span day 0 .. day 4 + 1ms, cut in two at (4 days + 1ms) / 2, rounded down: day 2.
    assert_eq!(folds.len(), 2);
    assert_eq!(folds[0].span.from, Timestamp(0));
    assert_eq!(folds[1].span.to, Timestamp(4 * DAY + 1));
    assert_eq!(folds[0].span.to, Timestamp(2 * DAY));
    // Fold 1: points 1000, 1010 -> +1%; the trade exiting day 1.
    assert_eq!(folds[0].fleet.total_return, Some(0.01));
    assert_eq!(folds[0].fleet.trades, 1);
    // Fold 2 starts from the inherited 1010: 1010 -> 990 -> 1030 -> 1040.
    assert_eq!(folds[1].fleet.start_equity, Some(1010.0));
    assert_eq!(folds[1].fleet.start, Some(Timestamp(DAY)));
    assert_eq!(folds[1].fleet.trades, 2);
    let b = &folds[1].bots[1];
    assert_eq!((b.bot.as_str(), b.refusals), ("b", 1));
}

#[test]
fn monte_carlo_covers_the_fleet_and_each_bot() {
    let r = input().build();
    let mc = r.monte_carlo.as_ref().unwrap();
    assert_eq!((mc.runs, mc.seed), (100, 3));
    assert_eq!(mc.fleet.as_ref().unwrap().trades, 3);
    assert_eq!(mc.bots[0].result.as_ref().unwrap().trades, 2);
    // b has trades but no curve, so no starting equity.
    assert_eq!(mc.bots[1].result, None);
    // Not requested: absent.
    let mut plain = input();
    plain.params.monte_carlo = None;
    plain.params.walk_forward = None;
    let r = plain.build();
    assert!(r.monte_carlo.is_none() && r.walk_forward.is_none());
    let json = to_json(&r);
    assert!(json.contains("\"walk_forward\": null"), "{json}");
}

#[test]
fn json_is_deterministic() {
    let a = to_json(&input().build());
    assert_eq!(a, to_json(&input().build()));
    assert!(a.ends_with("}\n"));
    // Money is exact, times are ISO.
    assert!(a.contains("\"pnl\": \"-5\""), "{a}");
    assert!(a.contains("\"entry_time\": \"1970-01-03T00:00:00Z\""));
}

#[test]
fn downsampling_keeps_extremes_and_ends() {
    let values: Vec<f64> = (0..10_000).map(|i| ((i * 7919) % 1000) as f64).collect();
    let keep = downsample(&values, 100);
    assert!(keep.len() <= 100, "{}", keep.len());
    assert_eq!((keep[0], keep[keep.len() - 1]), (0, 9_999));
    assert!(keep.windows(2).all(|w| w[0] < w[1]));
    let kept: Vec<f64> = keep.iter().map(|i| values[*i]).collect();
    assert!(kept.contains(&0.0) && kept.contains(&999.0));
    assert_eq!(downsample(&values[..50], 100).len(), 50);
    assert_eq!(downsample(&values, 0).len(), 10_000);
    assert!(downsample(&values, 1).len() <= 4);
    let mut i = input();
    i.params.max_curve_points = 4;
    i.fleet_equity = curve(&(0..100).map(|v| 1000 + v % 7).collect::<Vec<_>>());
    assert_eq!(i.build().equity.len(), 4);
}

#[test]
fn terminal_summary_is_aligned() {
    let t = to_terminal(&input().build());
    let lines: Vec<&str> = t.lines().collect();
    let header = lines.iter().position(|l| l.starts_with("metric")).unwrap();
    // Right-aligned columns: every row of the table ends where the rule does.
    let width = lines[header + 1].len();
    assert!(lines[header + 1].chars().all(|c| c == '-'));
    let table = &lines[header..header + 2 + 23];
    assert!(table.iter().all(|l| l.len() == width), "{t}");
    let ret = lines
        .iter()
        .find(|l| l.starts_with("total return"))
        .unwrap();
    let cells: Vec<&str> = ret.split_whitespace().collect();
    assert_eq!(cells, ["total", "return", "4.00%", "6.00%", "-"]);
    assert!(t.contains("2     1970-01-03  1970-01-05   2.97%"), "{t}");
    assert!(t.contains("Walk-forward (2 folds, fleet)"), "{t}");
    assert!(t.contains("Monte Carlo (100 runs, seed 3)"), "{t}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("b ") && l.ends_with(" no trades")),
        "{t}"
    );
    assert!(
        t.contains("Risk refusals: 3 (cooldown 2, max_notional 1)"),
        "{t}"
    );
}

#[test]
fn html_is_self_contained_and_escaped() {
    let mut i = input();
    i.trades.push(trade("<img src=x>", dec!(1), 0, 1));
    let h = to_html(&i.build());
    assert!(h.starts_with("<!DOCTYPE html>") && h.ends_with("</html>\n"));
    for banned in ["<script", "http:", "https:", "<link", "@import", "url("] {
        assert!(!h.contains(banned), "{banned}");
    }
    // Equity, drawdown and return-by-bot charts.
    assert_eq!(h.matches("<svg").count(), 3);
    assert!(h.contains("<polyline"));
    assert!(h.contains("&lt;img src=x&gt;") && !h.contains("<img"));
    assert!(h.contains(">Trades (4)</h2>"));
    assert!(
        h.contains("<td>signal</td>"),
        "one leg: the exit reason alone"
    );
    assert!(h.contains("{&quot;limit&quot;:&quot;100&quot;}"));
    // An empty report still renders.
    let empty = to_html(&ReportInput::default().build());
    assert!(empty.contains("No data."));
}

#[test]
fn html_lists_each_exit_leg_of_a_scaled_out_trade() {
    let leg = |day: i64, qty: Decimal, reason: &str| ExitLeg {
        time: Timestamp(day * DAY),
        price: dec!(11),
        quantity: qty,
        fee: dec!(0),
        reason: reason.into(),
    };
    let mut i = input();
    let mut t = trade("a", dec!(3), 5, 7);
    t.quantity = dec!(15);
    t.exit_reason = "stop_loss".into();
    t.exits = vec![leg(6, dec!(5), "scale_out"), leg(7, dec!(10), "stop_loss")];
    i.trades.push(t);
    let h = to_html(&i.build());
    assert!(h.contains("<td>scale_out ×5, stop_loss ×10</td>"), "{h}");
    let json = to_json(&i.build());
    assert!(json.contains("\"reason\": \"scale_out\""), "{json}");
}
