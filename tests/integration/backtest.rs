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
    let reg_text = format!(
        r#"
[fleet]
name = "jump"
components_dir = "{}"
[fleet.market]
symbols = ["JMP"]
[fleet.risk.data]
max_price_age_ms = 172800000
price_band_pct = 2.0
[[bot]]
id = "chaser"
component = "fixed_order.wasm"
every = "1d"
symbols = ["JMP"]
[bot.params]
side = "buy"
qty = 10
every = 20
"#,
        crate::support::bots_dir().display()
    );
    std::fs::write(dir.path().join("fleet.toml"), reg_text).unwrap();
    let registry = Registry::load(dir.path().join("fleet.toml")).unwrap();
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
