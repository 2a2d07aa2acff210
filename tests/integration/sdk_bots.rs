//! The Python and JavaScript bots written on their SDKs (sdk/python, sdk/js), run as real
//! components through `flotilla backtest`: they make exactly the trades the same bots
//! made when they were written against the raw bindings, and the multi-timeframe Python
//! bot trades with its whole exit plan.

use crate::support::bots_dir;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/backtest")
        .join(rel)
}

/// Runs `flotilla backtest` on the `sdk_bots` registry with its components taken from
/// `components` over the golden daily data; the report's JSON.
fn backtest(dir: &Path, components: &Path, extra: &[&str]) -> Value {
    let registry = std::fs::read_to_string(fixture("sdk_bots/fleet.toml")).unwrap();
    let registry = registry.replace(
        "components_dir = \"../../../../bots/target/wasm32-wasip2/release\"",
        &format!("components_dir = \"{}\"", components.display()),
    );
    assert!(registry.contains(&components.display().to_string()));
    let config = dir.join("fleet.toml");
    std::fs::write(&config, registry).unwrap();
    let data = [fixture("golden/AAA.csv"), fixture("golden/BBB.csv")];
    let mut args = vec!["--seed", "7"];
    args.extend(extra);
    flotilla_backtest(&config, &data, &args)
}

/// `flotilla backtest --config CONFIG --data DATA.. ARGS..`, sharing the tests'
/// compiled-component cache; the report's JSON.
fn flotilla_backtest(config: &Path, data: &[PathBuf], args: &[&str]) -> Value {
    let json = config.with_extension("json");
    let out = Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .args(["backtest", "--config"])
        .arg(config)
        .arg("--data")
        .args(data)
        .arg("--json")
        .arg(&json)
        .arg("--cache-dir")
        .arg(crate::support::shared_cache())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "flotilla backtest failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap()
}

/// What must not change when a bot moves onto its SDK: every trade with its prices, times
/// and exits, every refusal, and where the equity ends.
fn behaviour(report: &Value) -> Value {
    json!({
        "trades": report["trades"],
        "refusals": report["refusals"],
        "end_equity": report["fleet"]["end_equity"],
    })
}

#[test]
fn the_bots_on_the_sdks_make_the_trades_they_made_on_the_raw_bindings() {
    let dir = tempfile::tempdir().unwrap();
    let golden = fixture("sdk_bots/trades.json");
    // FLOTILLA_BLESS_SDK_BOTS=DIR records the golden file from the components in DIR (the
    // bots as they were before the SDKs), so it can be recorded again if the data changes.
    if let Some(old) = std::env::var_os("FLOTILLA_BLESS_SDK_BOTS") {
        let text =
            serde_json::to_string_pretty(&behaviour(&backtest(dir.path(), Path::new(&old), &[])))
                .unwrap();
        std::fs::write(&golden, text + "\n").unwrap();
    }
    let want: Value = serde_json::from_str(
        &std::fs::read_to_string(&golden).expect("golden file (FLOTILLA_BLESS_SDK_BOTS writes it)"),
    )
    .unwrap();
    let trades = want["trades"].as_array().unwrap();
    for id in ["py-rsi", "py-rsi-limit", "js-rsi", "js-macd"] {
        assert!(
            trades.iter().filter(|t| t["bot"] == id).count() >= 3,
            "{id} trades in the replay"
        );
    }
    let got = behaviour(&backtest(dir.path(), &bots_dir(), &[]));
    assert!(
        got == want,
        "the SDK bots' trades differ from {}:\n{}",
        golden.display(),
        first_difference(&got, &want)
    );
    // The SDKs' run of quiet ticks (`on-ticks`) decides as a call per tick does.
    let by_tick = behaviour(&backtest(dir.path(), &bots_dir(), &["--tick-by-tick"]));
    assert!(by_tick == want, "{}", first_difference(&by_tick, &want));
}

/// The first trade or refusal that differs, for a readable failure.
fn first_difference(got: &Value, want: &Value) -> String {
    for key in ["trades", "refusals"] {
        let (g, w) = (got[key].as_array().unwrap(), want[key].as_array().unwrap());
        if let Some(i) = (0..g.len().max(w.len())).find(|&i| g.get(i) != w.get(i)) {
            return format!(
                "{key}[{i}] (of {} vs {}):\n got  {}\n want {}",
                g.len(),
                w.len(),
                g.get(i).unwrap_or(&Value::Null),
                w.get(i).unwrap_or(&Value::Null)
            );
        }
    }
    format!("end equity {} vs {}", got["end_equity"], want["end_equity"])
}

/// Four days of one-minute bars of `TRD`: a steady trend of `slope` per minute with
/// two-hour waves on it, so 5m EMA crosses come both ways while the hourly trend holds.
fn wave_data(dir: &Path, slope: f64) -> PathBuf {
    let mut csv = String::from("time,open,high,low,close,volume\n");
    let start = 1_704_067_200_000_i64; // 2024-01-01T00:00:00Z
    let price = |i: usize| {
        let i = i as f64;
        100.0 + slope * i + 1.5 * (i * std::f64::consts::TAU / 120.0).sin()
    };
    for i in 1..4 * 1440 {
        let (o, c) = (price(i - 1), price(i));
        let (h, l) = (o.max(c) + 0.05, o.min(c) - 0.05);
        csv.push_str(&format!(
            "{},{o:.4},{h:.4},{l:.4},{c:.4},100\n",
            start + i as i64 * 60_000
        ));
    }
    let path = dir.join(format!(
        "TRD_{}_1m.csv",
        if slope < 0.0 { "down" } else { "up" }
    ));
    std::fs::write(&path, csv).unwrap();
    path
}

#[test]
fn the_multi_timeframe_python_bot_trades_with_its_exit_plan() {
    let dir = tempfile::tempdir().unwrap();
    let report = trend_backtest(dir.path(), &wave_data(dir.path(), 0.004));
    let trades = report["trades"].as_array().unwrap();
    // Long only (shorts are off, and the hourly trend points up): every entry a buy.
    assert!(trades.len() >= 3, "the bot traded: {trades:#?}");
    assert!(trades.iter().all(|t| t["side"] == "buy"), "{trades:#?}");
    // The host took the exits the bot's plan asked for: a scale-out at 1R, then the ATR
    // trail from 1R on.
    let reasons: Vec<&str> = trades
        .iter()
        .flat_map(|t| t["exits"].as_array().unwrap())
        .filter_map(|e| e["reason"].as_str())
        .collect();
    for plan in ["exit:scale_out", "exit:trailing_stop"] {
        assert!(reasons.contains(&plan), "{plan} among {reasons:?}");
    }
    assert_eq!(report["refusals"], json!([]), "no intent refused");

    // The same waves on a falling hourly trend: every 5m cross up is vetoed.
    let falling = trend_backtest(dir.path(), &wave_data(dir.path(), -0.004));
    assert_eq!(
        falling["trades"],
        json!([]),
        "the hourly trend vetoes them all"
    );
}

/// `flotilla backtest` of trend_python alone over `data`; the report's JSON.
fn trend_backtest(dir: &Path, data: &Path) -> Value {
    let config = dir.join("fleet.toml");
    std::fs::write(
        &config,
        format!(
            r#"[fleet]
name = "trend"
components_dir = "{}"
starting_cash = "100000"
[fleet.market]
seed = 7
symbols = ["TRD"]
start = "2024-01-01T00:00:00Z"

[[bot]]
id = "py-trend"
component = "trend_python.wasm"
every = "1m"
symbols = ["TRD"]
[bot.params]
trend_period = 20
fraction = 0.5
"#,
            bots_dir().display()
        ),
    )
    .unwrap();
    flotilla_backtest(&config, &[data.to_path_buf()], &[])
}
