//! Backtests with the real bots over committed data: golden report, determinism,
//! no look-ahead, bad data refused with its lines.

use flotilla::backtest;
use flotilla_backtest::{FillMode, RunParams, TimeRange, to_json};
use flotilla_config::Registry;
use std::path::{Path, PathBuf};

fn fixture(rel: &str) -> PathBuf {
    // Relative to the package, so paths in reports are the same on every machine.
    Path::new("../../tests/fixtures/backtest").join(rel)
}

fn golden_run(ledger: Option<PathBuf>) -> String {
    let registry = Registry::load(fixture("golden/fleet.toml")).unwrap();
    let data = [fixture("golden/AAA.csv"), fixture("golden/BBB.csv")];
    let (series, events) = backtest::load_data(&data, &TimeRange::default(), false).unwrap();
    let params = RunParams {
        data: series.iter().map(Into::into).collect(),
        seed: 7,
        walk_forward: Some(3),
        monte_carlo: Some(100),
        ..RunParams::default()
    };
    let out = backtest::run(&registry, events, params, None, ledger).unwrap();
    assert_eq!(out.bars, 600);
    to_json(&out.report)
}

#[test]
fn a_fixed_dataset_registry_and_seed_give_the_golden_report_byte_for_byte() {
    let first = golden_run(None);
    let second = golden_run(None);
    assert_eq!(first, second, "a backtest replays byte for byte");
    // With a ledger file the run records every row in SQLite and reads the report's
    // fills and refusals back from it: the same report, and the rows are there.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("replay.db");
    assert_eq!(golden_run(Some(db.clone())), first, "ledger-backed report");
    let golden = fixture("golden/report.json");
    if std::env::var_os("FLOTILLA_BLESS").is_some() {
        std::fs::write(&golden, &first).unwrap();
    }
    let want = std::fs::read_to_string(&golden).expect("golden file (FLOTILLA_BLESS=1 writes it)");
    assert!(
        first == want,
        "report differs from {} (re-bless with FLOTILLA_BLESS=1 if intended)",
        golden.display()
    );
    let v: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert!(
        v["fleet"]["trades"].as_u64().unwrap() > 10,
        "the bots traded"
    );
    let refusals = v["refusals"].as_array().unwrap();
    assert!(
        refusals
            .iter()
            .any(|r| r["reason"] == "contradictory_position")
    );
    let ledger = flotilla_ledger::Ledger::open(&db).unwrap();
    assert_eq!(
        ledger.recent_refusals(usize::MAX).unwrap().len(),
        refusals.len()
    );
    assert!(
        ledger.recent_fills(usize::MAX).unwrap().len() as u64
            >= v["fleet"]["trades"].as_u64().unwrap()
    );
}

/// A registry in `dir` with one `fixed_order` bot ticking daily on `symbol` with `params`
/// (TOML lines), and data checks loose enough for daily bars that jump.
fn daily_fixed_order(dir: &Path, symbol: &str, params: &str) -> Registry {
    let text = format!(
        r#"
[fleet]
name = "daily"
components_dir = "{}"
[fleet.market]
symbols = ["{symbol}"]
[fleet.risk.data]
max_price_age_ms = 172800000
price_band_pct = 2.0
[[bot]]
id = "fixed"
component = "fixed_order.wasm"
every = "1d"
symbols = ["{symbol}"]
[bot.params]
{params}"#,
        crate::support::bots_dir().display()
    );
    std::fs::write(dir.join("fleet.toml"), text).unwrap();
    Registry::load(dir.join("fleet.toml")).unwrap()
}

/// Flat at 100, one bar that opens at 100 and closes at 200, flat at 200 afterwards.
fn jump_data(dir: &Path) -> PathBuf {
    let mut csv = String::from("Date,Open,High,Low,Close,Volume\n");
    for d in 1..=30 {
        let (o, c) = match d {
            d if d < 20 => (100.0, 100.0),
            20 => (100.0, 200.0),
            _ => (200.0, 200.0),
        };
        csv.push_str(&format!(
            "2024-01-{d:02},{o},{},{},{c},1000\n",
            f64::max(o, c),
            f64::min(o, c)
        ));
    }
    let path = dir.join("JMP.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

#[test]
fn a_bot_cannot_profit_from_the_bar_it_has_not_seen() {
    let dir = tempfile::tempdir().unwrap();
    let data = jump_data(dir.path());
    // The bot buys once, on the tick right after the jump bar closed (its 20th tick).
    let registry = daily_fixed_order(dir.path(), "JMP", "side = \"buy\"\nqty = 10\nevery = 20\n");
    for fill in [FillMode::NextOpen, FillMode::Close] {
        let (_, events) =
            backtest::load_data(std::slice::from_ref(&data), &TimeRange::default(), false).unwrap();
        let params = RunParams {
            fill,
            fees_bps: 0.into(),
            slippage_bps: 0.into(),
            ..RunParams::default()
        };
        let out = backtest::run(&registry, events, params, None, None).unwrap();
        let trades = &out.report.trades;
        assert_eq!(trades.len(), 1, "{fill:?}: {trades:?}");
        assert_eq!(
            trades[0].entry_price,
            200.into(),
            "{fill:?}: bought after the jump, never at 100"
        );
        assert!(
            trades[0].pnl <= 0.into(),
            "{fill:?}: no profit from the jump: {:?}",
            trades[0]
        );
    }
}

#[test]
fn the_cli_refuses_bad_data_with_every_line() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .args(["backtest", "--config"])
        .arg(fixture("golden/fleet.toml"))
        .arg("--data")
        .arg(fixture("bad_rows.csv"))
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for line in [
        "bad_rows.csv:4: time 2024-01-03 is not after the previous row (2024-01-03)",
        "bad_rows.csv:5: missing field Close",
        "bad_rows.csv:6: Open is NaN",
        "bad_rows.csv:7: high 99.5 is below low 100.2",
    ] {
        assert!(err.contains(line), "missing {line:?} in:\n{err}");
    }
}

#[test]
fn the_cli_writes_json_and_a_self_contained_html_report() {
    let dir = tempfile::tempdir().unwrap();
    let (json, html) = (dir.path().join("r.json"), dir.path().join("r.html"));
    let db = dir.path().join("replay.db");
    let backtest = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_flotilla"))
            .args(["backtest", "--config"])
            .arg(fixture("golden/fleet.toml"))
            .arg("--data")
            .args([fixture("golden/AAA.csv"), fixture("golden/BBB.csv")])
            .args(["--fill", "close", "--json"])
            .arg(&json)
            .arg("--html")
            .arg(&html)
            .arg("--ledger")
            .arg(&db)
            .output()
            .unwrap()
    };
    let out = backtest();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Sharpe") && stdout.contains("sma-daily"),
        "{stdout}"
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v["params"]["fill"], "close");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("<svg") && !page.contains("<script src") && !page.contains("http"),
        "self-contained"
    );
    // The replay's ledger reads like a live one, and a second run will not mix into it.
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .args(["status", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(status.status.success());
    assert!(String::from_utf8_lossy(&status.stdout).contains("sma-daily"));
    let again = backtest();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

/// Daily bars of `SCL`: flat at 100 for four days, up to 112 then 125, back to 116.
fn trend_data(dir: &Path) -> PathBuf {
    let rows: [(f64, f64, f64, f64); 10] = [
        (100.0, 100.0, 100.0, 100.0),
        (100.0, 100.0, 100.0, 100.0),
        (100.0, 100.0, 100.0, 100.0),
        (100.0, 100.0, 100.0, 100.0),
        (100.0, 112.0, 100.0, 111.0),
        (111.0, 125.0, 111.0, 124.0),
        (124.0, 124.0, 115.0, 116.0),
        (116.0, 116.0, 116.0, 116.0),
        (116.0, 116.0, 116.0, 116.0),
        (116.0, 116.0, 116.0, 116.0),
    ];
    let mut csv = String::from("Date,Open,High,Low,Close,Volume\n");
    for (d, (o, h, l, c)) in rows.iter().enumerate() {
        csv.push_str(&format!("2024-01-{:02},{o},{h},{l},{c},1000\n", d + 1));
    }
    let path = dir.join("SCL.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

#[test]
fn an_intent_s_scale_outs_and_trailing_stop_are_taken_by_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let data = trend_data(dir.path());
    // One entry on the third tick: stop at 90 (R = 10), half off at 1R, the rest trailing
    // 5% behind the best price once 1R is reached. The bot itself never sells.
    let registry = daily_fixed_order(
        dir.path(),
        "SCL",
        r#"side = "buy"
qty = 10
every = 3
limit = 1
stop_loss = 90
scale_outs = "1:0.5"
trail_pct = 0.05
trail_from_r = 1
"#,
    );
    let (_, events) =
        backtest::load_data(std::slice::from_ref(&data), &TimeRange::default(), false).unwrap();
    let params = RunParams {
        fees_bps: 0.into(),
        slippage_bps: 0.into(),
        ..RunParams::default()
    };
    let db = dir.path().join("ledger.db");
    let out = backtest::run(&registry, events, params, None, Some(db.clone())).unwrap();

    // Filled at the next open each time: in at 100 (day 4); half out at 111 (day 6, after
    // day 5 reached 1R = 110); the rest at 116 (day 8, after day 7 fell through the trail
    // at 125 x 0.95 = 118.75). The report keeps it as one trade at the average exit.
    let ledger = flotilla_ledger::Ledger::open(&db).unwrap();
    let mut fills = ledger.recent_fills(10).unwrap();
    fills.reverse();
    let got: Vec<(String, String, String, &str)> = fills
        .iter()
        .map(|f| {
            let (q, p) = (f.quantity.normalize(), f.price.normalize());
            (
                f.side.as_str().to_string(),
                q.to_string(),
                p.to_string(),
                f.tag.as_str(),
            )
        })
        .collect();
    let row = |side: &str, q: &str, p: &str, tag| (side.into(), q.into(), p.into(), tag);
    assert_eq!(
        got,
        [
            row("buy", "10", "100", "fixed_order"),
            row("sell", "5", "111", "exit:scale_out"),
            row("sell", "5", "116", "exit:trailing_stop"),
        ]
    );
    let mut events = ledger.events(50).unwrap();
    events.reverse();
    let exits: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == "exit")
        .map(|e| e.message.as_str())
        .collect();
    assert_eq!(
        exits,
        [
            "scale_out sell 5.0 SCL at trigger 110: filled",
            "trailing_stop sell 5.0 SCL at trigger 118.75: filled",
        ]
    );
    let trades = &out.report.trades;
    assert_eq!(trades.len(), 1, "{trades:?}");
    let t = &trades[0];
    assert_eq!(
        (t.quantity, t.entry_price, t.exit_price, t.pnl),
        (10.into(), 100.into(), "113.5".parse().unwrap(), 135.into())
    );
    assert_eq!(t.exit_reason, "exit:trailing_stop");
    // The report keeps each exit of the round trip, not only the last one's reason.
    let legs: Vec<(String, String, &str)> = t
        .exits
        .iter()
        .map(|l| {
            (
                l.quantity.to_string(),
                l.price.to_string(),
                l.reason.as_str(),
            )
        })
        .collect();
    assert_eq!(
        legs,
        [
            ("5".into(), "111".into(), "exit:scale_out"),
            ("5".into(), "116".into(), "exit:trailing_stop"),
        ]
    );
}

#[test]
fn the_cli_takes_costs_from_the_registry_unless_overridden() {
    let dir = tempfile::tempdir().unwrap();
    let golden = std::fs::read_to_string(fixture("golden/fleet.toml")).unwrap();
    let registry = golden
        .replace(
            "components_dir = \"../../../../bots/target/wasm32-wasip2/release\"",
            &format!(
                "components_dir = \"{}\"",
                crate::support::bots_dir().display()
            ),
        )
        .replace(
            "[fleet.market]",
            "[fleet.broker]\nfee_bps = 0\nslippage_bps = 0\n\n[fleet.market]",
        );
    let config = dir.path().join("fleet.toml");
    std::fs::write(&config, registry).unwrap();
    let json = dir.path().join("r.json");
    let report = |extra: &[&str]| -> serde_json::Value {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_flotilla"))
            .args(["backtest", "--config"])
            .arg(&config)
            .arg("--data")
            .args([fixture("golden/AAA.csv"), fixture("golden/BBB.csv")])
            .args(extra)
            .arg("--json")
            .arg(&json)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap()
    };
    let fees = |v: &serde_json::Value| -> Vec<String> {
        v["trades"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["fees"].as_str().unwrap_or("?").to_string())
            .collect()
    };
    let free = report(&[]);
    assert_eq!(free["params"]["fees_bps"], "0", "{}", free["params"]);
    assert_eq!(free["params"]["slippage_bps"], "0");
    let free_fees = fees(&free);
    assert!(!free_fees.is_empty(), "the fixture trades");
    assert!(
        free_fees.iter().all(|f| f.parse::<f64>().unwrap() == 0.0),
        "{free_fees:?}"
    );
    let charged = report(&["--fees-bps", "5", "--slippage-bps", "3"]);
    assert_eq!(charged["params"]["fees_bps"], "5");
    assert_eq!(charged["params"]["slippage_bps"], "3");
    assert!(
        fees(&charged)
            .iter()
            .all(|f| f.parse::<f64>().unwrap() > 0.0),
        "the override charges fees"
    );
}

/// Flat at 100 for 10 days, then day 11 gaps down (opens 97, low 96) or, with `touch`,
/// opens at 101 and only dips to 98.5; flat at 100 afterwards.
fn gap_data(dir: &Path, touch: bool) -> PathBuf {
    let mut csv = String::from("Date,Open,High,Low,Close,Volume\n");
    for d in 1..=20 {
        let (o, h, l, c) = match d {
            11 if touch => (101.0, 101.5, 98.5, 100.0),
            11 => (97.0, 100.0, 96.0, 99.5),
            _ => (100.0, 100.5, 99.5, 100.0),
        };
        csv.push_str(&format!("2024-01-{d:02},{o},{h},{l},{c},1000\n"));
    }
    let path = dir.join(if touch { "TCH.csv" } else { "GAP.csv" });
    std::fs::write(&path, csv).unwrap();
    path
}

#[test]
fn a_limit_buy_fills_at_the_open_of_a_bar_that_gaps_through_it_else_at_the_limit() {
    for (touch, symbol, want) in [(false, "GAP", 97), (true, "TCH", 99)] {
        let dir = tempfile::tempdir().unwrap();
        let data = gap_data(dir.path(), touch);
        // One good-till-canceled limit buy at 99, placed on the first tick; it rests
        // until day 11 crosses it.
        let registry = daily_fixed_order(
            dir.path(),
            symbol,
            "side = \"buy\"\nqty = 10\nlimit = 1\nlimit_price = 99\ntif = \"gtc\"\n",
        );
        let (_, events) =
            backtest::load_data(std::slice::from_ref(&data), &TimeRange::default(), false).unwrap();
        let params = RunParams {
            fees_bps: 0.into(),
            slippage_bps: 3.into(),
            ..RunParams::default()
        };
        let db = dir.path().join("replay.db");
        let out = backtest::run(&registry, events, params, None, Some(db.clone())).unwrap();
        let trades = &out.report.trades;
        assert_eq!(trades.len(), 1, "{symbol}: {trades:?}");
        assert_eq!(
            trades[0].entry_price,
            want.into(),
            "{symbol}: a limit fill takes no slippage and never pays above the limit"
        );
        // Day 11 starts 10 days after the first bar (2024-01-01).
        assert_eq!(trades[0].entry_time.0, 1_704_067_200_000 + 10 * 86_400_000);
        // The order's life in the ledger: accepted, resting, then filled on day 11.
        let ledger = flotilla_ledger::Ledger::open(&db).unwrap();
        let orders = ledger
            .orders(&flotilla_ledger::OrderFilter::default())
            .unwrap();
        let entry = orders
            .iter()
            .find(|o| o.order_type == "limit")
            .expect("the limit order");
        assert_eq!(entry.limit_price, Some(99.into()));
        assert_eq!(entry.state, flotilla_domain::OrderState::Filled);
    }
}

#[test]
fn a_day_limit_expires_at_the_session_end_and_a_gtc_one_keeps_working() {
    for (tif, want) in [("day", "expired"), ("gtc", "accepted")] {
        let dir = tempfile::tempdir().unwrap();
        let data = gap_data(dir.path(), false);
        // A buy at 90 that no bar reaches.
        let registry = daily_fixed_order(
            dir.path(),
            "GAP",
            &format!("side = \"buy\"\nqty = 1\nlimit = 1\nlimit_price = 90\ntif = \"{tif}\"\n"),
        );
        let (_, events) =
            backtest::load_data(std::slice::from_ref(&data), &TimeRange::default(), false).unwrap();
        let db = dir.path().join("replay.db");
        let out = backtest::run(
            &registry,
            events,
            RunParams::default(),
            None,
            Some(db.clone()),
        )
        .unwrap();
        assert!(out.report.trades.is_empty(), "{tif}");
        let ledger = flotilla_ledger::Ledger::open(&db).unwrap();
        let orders = ledger
            .orders(&flotilla_ledger::OrderFilter::default())
            .unwrap();
        assert_eq!(orders.len(), 1, "{tif}: {orders:?}");
        assert_eq!(
            orders[0].state.as_str(),
            want,
            "{tif}: {:?}",
            orders[0].history
        );
    }
}
