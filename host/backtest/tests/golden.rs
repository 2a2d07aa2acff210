//! Golden files: a fixed, hand-made run (two bots' equity curves, fills turned into trades,
//! risk refusals, walk-forward and Monte Carlo) must render to exactly the JSON, terminal
//! and HTML reports stored in `tests/fixtures/backtest/`. After an intended change, re-bless
//! them with `FLOTILLA_BLESS=1 cargo test -p flotilla-backtest --test golden` and review
//! the diff.

use flotilla_backtest::{
    DataFile, EquityPoint, FillMode, LoadOptions, RefusalRecord, ReportInput, RunParams, TimeRange,
    TrackedFill, TradeTracker, load_csv, to_html, to_json, to_terminal,
};
use flotilla_domain::{BotId, Decimal, Side, Symbol, Timestamp};
use rust_decimal_macros::dec;
use std::collections::BTreeMap;
use std::path::Path;

const DIR: &str = "../../tests/fixtures/backtest";
/// 2024-01-02T00:00:00Z.
const JAN2: i64 = 1_704_153_600_000;
const DAY: i64 = 86_400_000;

fn day(i: i64) -> Timestamp {
    Timestamp(JAN2 + i * DAY)
}

fn curve(values: &[Decimal]) -> Vec<EquityPoint> {
    values
        .iter()
        .zip(0..)
        .map(|(v, i)| EquityPoint {
            time: day(i),
            equity: *v,
            // Half the equity in cash on odd days, as if a position were open.
            cash: if i % 2 == 1 { *v / dec!(2) } else { *v },
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn fill(
    bot: &str,
    sym: &str,
    side: Side,
    qty: Decimal,
    price: Decimal,
    fee: Decimal,
    d: i64,
    why: &str,
) -> TrackedFill {
    TrackedFill {
        bot: bot.into(),
        symbol: sym.into(),
        side,
        quantity: qty,
        price,
        fee,
        time: day(d),
        reason: why.into(),
    }
}

fn golden_input() -> ReportInput {
    let data = ["AAPL.csv", "msft_5m.csv"].map(|f| {
        let s = load_csv(&Path::new(DIR).join(f), None, &LoadOptions::default()).unwrap();
        DataFile::from(&s)
    });
    let range = TimeRange::parse(Some("2024-01-02"), Some("2024-01-16")).unwrap();
    let mut input = ReportInput::new(RunParams {
        config: Some("config/fleet.toml".into()),
        data: data.to_vec(),
        from: range.from,
        to: range.to,
        fees_bps: dec!(1),
        slippage_bps: dec!(2.5),
        fill: FillMode::NextOpen,
        seed: 42,
        walk_forward: Some(3),
        monte_carlo: Some(200),
        ..RunParams::default()
    });
    let sma = [
        dec!(5000),
        dec!(5010),
        dec!(5025.5),
        dec!(4990),
        dec!(4970.25),
        dec!(5005),
        dec!(5040),
        dec!(5060.75),
        dec!(5030),
        dec!(5080),
        dec!(5100),
        dec!(5090.5),
        dec!(5120),
        dec!(5150),
        dec!(5145),
    ];
    let breakout = [
        dec!(5000),
        dec!(4995),
        dec!(4980),
        dec!(5010),
        dec!(5060),
        dec!(5055.5),
        dec!(5030),
        dec!(4990),
        dec!(4975),
        dec!(5000),
        dec!(5025),
        dec!(5070),
        dec!(5085.25),
        dec!(5060),
        dec!(5110),
    ];
    let fleet: Vec<Decimal> = sma.iter().zip(&breakout).map(|(a, b)| a + b).collect();
    input.fleet_equity = curve(&fleet);
    input.bot_equity.insert(BotId::new("sma"), curve(&sma));
    input
        .bot_equity
        .insert(BotId::new("breakout"), curve(&breakout));

    let mut tracker = TradeTracker::new();
    let fills = [
        // sma: a losing round trip, then a scale-in closed by a take-profit.
        fill(
            "sma",
            "AAPL",
            Side::Buy,
            dec!(10),
            dec!(185.64),
            dec!(0.19),
            0,
            "sma_cross",
        ),
        fill(
            "sma",
            "AAPL",
            Side::Sell,
            dec!(10),
            dec!(181.91),
            dec!(0.18),
            2,
            "sma_cross",
        ),
        fill(
            "sma",
            "AAPL",
            Side::Buy,
            dec!(10),
            dec!(181.18),
            dec!(0.18),
            3,
            "sma_cross",
        ),
        fill(
            "sma",
            "AAPL",
            Side::Buy,
            dec!(5),
            dec!(185.56),
            dec!(0.09),
            4,
            "sma_cross",
        ),
        fill(
            "sma",
            "AAPL",
            Side::Sell,
            dec!(15),
            dec!(186.2),
            dec!(0.28),
            8,
            "take_profit",
        ),
        // breakout: a short flipped long, stopped out, then a long still open at the end.
        fill(
            "breakout",
            "MSFT",
            Side::Sell,
            dec!(3),
            dec!(375.46),
            dec!(0.11),
            1,
            "breakout",
        ),
        fill(
            "breakout",
            "MSFT",
            Side::Buy,
            dec!(5),
            dec!(370.1),
            dec!(0.19),
            5,
            "breakout",
        ),
        fill(
            "breakout",
            "MSFT",
            Side::Sell,
            dec!(2),
            dec!(365.3),
            dec!(0.07),
            11,
            "stop_loss",
        ),
        fill(
            "breakout",
            "MSFT",
            Side::Buy,
            dec!(4),
            dec!(372),
            dec!(0.15),
            12,
            "breakout",
        ),
    ];
    for f in fills {
        tracker.record(f);
    }
    let marks = BTreeMap::from([(Symbol::new("MSFT"), dec!(376.25))]);
    tracker.close_all(day(14), &marks, "end_of_data");
    input.trades = tracker.into_trades();

    let refusal = |d: i64, bot: &str, sym: &str, reason: &str, detail| RefusalRecord {
        time: day(d),
        bot: bot.into(),
        symbol: sym.into(),
        reason: reason.into(),
        detail,
    };
    input.refusals = vec![
        refusal(
            9,
            "breakout",
            "MSFT",
            "cooldown",
            serde_json::json!({"until": "2024-01-12T00:00:00Z"}),
        ),
        refusal(
            5,
            "sma",
            "AAPL",
            "max_notional",
            serde_json::json!({"notional": "9500", "limit": "9000"}),
        ),
        refusal(
            7,
            "breakout",
            "MSFT",
            "cooldown",
            serde_json::json!({"until": "2024-01-10T00:00:00Z"}),
        ),
    ];
    input
}

/// Compares `actual` with the golden file `name`, or rewrites it when blessing.
fn check(name: &str, actual: &str) {
    let path = Path::new(DIR).join(name);
    if std::env::var_os("FLOTILLA_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; bless it with FLOTILLA_BLESS=1", path.display()));
    if want != actual {
        let line = want
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| "length".to_string(), |i| format!("line {}", i + 1));
        panic!(
            "{} differs from the report (first difference: {line}); if the change is intended, \
             re-bless with FLOTILLA_BLESS=1\n--- actual ---\n{actual}",
            path.display()
        );
    }
}

#[test]
fn the_json_report_matches_the_golden_file() {
    let report = golden_input().build();
    let json = to_json(&report);
    // Built twice from the same input: byte-identical.
    assert_eq!(json, to_json(&golden_input().build()));
    check("golden_report.json", &json);
}

#[test]
fn the_terminal_summary_matches_the_golden_file() {
    check("golden_report.txt", &to_terminal(&golden_input().build()));
}

#[test]
fn the_html_report_matches_the_golden_file() {
    check("golden_report.html", &to_html(&golden_input().build()));
}
