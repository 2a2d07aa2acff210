//! `flotilla optimize` with the real SMA-crossover bot over committed daily data: the best
//! row is a plain backtest's figures, walk-forward reports every fold out of sample, the
//! report does not depend on the number of jobs, bad `--param`s are refused by name.

use clap::Parser;
use flotilla::backtest;
use flotilla::optimize::{OptimizeArgs, OptimizeReport, optimize, to_json};
use flotilla_backtest::{RunParams, TimeRange};
use flotilla_config::Registry;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(rel: &str) -> PathBuf {
    Path::new("../../tests/fixtures/backtest").join(rel)
}

fn cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("optimize-cache")
}

/// A registry in `dir` with the SMA bot (daily, on AAA and BBB) and a momentum bot that an
/// optimization of the SMA bot leaves out; `params` are the SMA bot's.
fn registry(dir: &Path, params: &str) -> PathBuf {
    let text = format!(
        r#"
[fleet]
name = "opt"
components_dir = "{}"
starting_cash = "100000"
[fleet.market]
seed = 7
symbols = ["AAA", "BBB"]
start = "2023-01-02T00:00:00Z"
[fleet.broker]
fee_bps = 1
slippage_bps = 2
[fleet.risk.data]
max_price_age_ms = 172800000
[[bot]]
id = "sma-daily"
component = "sma_crossover.wasm"
every = "1d"
symbols = ["AAA", "BBB"]
[bot.params]
timeframe = "1d"
{params}
[[bot]]
id = "momentum-daily"
component = "momentum.wasm"
every = "1d"
symbols = ["AAA", "BBB"]
[bot.params]
timeframe = "1d"
"#,
        crate::support::bots_dir().display()
    );
    let path = dir.join("fleet.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: OptimizeArgs,
}

fn args(config: &Path, extra: &[&str]) -> OptimizeArgs {
    let mut argv: Vec<String> = vec!["optimize".into(), "--config".into()];
    argv.push(config.display().to_string());
    argv.extend(["--bot", "sma-daily", "--data"].map(String::from));
    for f in ["golden/AAA.csv", "golden/BBB.csv"] {
        argv.push(fixture(f).display().to_string());
    }
    argv.push("--cache-dir".into());
    argv.push(cache().display().to_string());
    argv.extend(extra.iter().map(|s| s.to_string()));
    Cli::try_parse_from(argv).unwrap().args
}

fn run(config: &Path, extra: &[&str]) -> OptimizeReport {
    optimize(&args(config, extra), false).unwrap().0
}

#[test]
fn optimize_grid_ranks_every_set_and_the_best_row_is_a_plain_backtest() {
    let dir = tempfile::tempdir().unwrap();
    let config = registry(dir.path(), "fast = 10\nslow = 30\nstop_pct = 0.05");
    let json = dir.path().join("opt.json");
    let out = Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .arg("optimize")
        .arg("--config")
        .arg(&config)
        .args(["--bot", "sma-daily", "--data"])
        .args([fixture("golden/AAA.csv"), fixture("golden/BBB.csv")])
        .args(["--param", "fast=2..8:2", "--param", "slow=10..30:10"])
        .args(["--jobs", "2", "--json"])
        .arg(&json)
        .arg("--cache-dir")
        .arg(cache())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains('\x1b'), "no ANSI on a pipe: {stderr}");
    assert!(
        stderr.contains("optimize: 12/12 runs"),
        "progress: {stderr}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 12, "4 × 3 combinations");
    let sharpe: Vec<f64> = rows
        .iter()
        .filter(|r| !r["rank"].is_null())
        .map(|r| r["objective"].as_f64().unwrap())
        .collect();
    assert!(sharpe.len() >= 6, "most sets trade: {sharpe:?}");
    assert!(
        sharpe.windows(2).all(|w| w[0] >= w[1]),
        "best first: {sharpe:?}"
    );
    assert!(sharpe[0] > sharpe[sharpe.len() - 1], "the sets differ");
    let best = &rows[0];
    assert_eq!(best["rank"], 1);
    let (fast, slow) = (
        best["params"]["fast"].as_i64().unwrap(),
        best["params"]["slow"].as_i64().unwrap(),
    );
    // The terminal shows the table and the best set as a ready block with the bot's other
    // params kept.
    let block = format!(
        "[bot.params]\nfast = {fast}\nslow = {slow}\nstop_pct = 0.05\ntimeframe = \"1d\"\n"
    );
    assert!(stdout.contains(&block), "{stdout}");
    assert!(stdout.contains("rank") && stdout.contains(&format!("fast={fast} slow={slow}")));

    // The same bot alone with those params, through `flotilla backtest`.
    let plain_dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(&config).unwrap();
    let alone = &text[..text.find("[[bot]]\nid = \"momentum-daily\"").unwrap()];
    let alone = alone.replace(
        "fast = 10\nslow = 30",
        &format!("fast = {fast}\nslow = {slow}"),
    );
    let plain_config = plain_dir.path().join("fleet.toml");
    std::fs::write(&plain_config, alone).unwrap();
    let plain_json = plain_dir.path().join("bt.json");
    let out = Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .arg("backtest")
        .arg("--config")
        .arg(&plain_config)
        .arg("--data")
        .args([fixture("golden/AAA.csv"), fixture("golden/BBB.csv")])
        .arg("--json")
        .arg(&plain_json)
        .arg("--cache-dir")
        .arg(cache())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plain: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plain_json).unwrap()).unwrap();
    let bots = plain["bots"].as_array().unwrap();
    assert_eq!(bots.len(), 1);
    let m = &bots[0]["metrics"];
    for key in [
        "trades",
        "total_return",
        "sharpe",
        "sortino",
        "calmar",
        "max_drawdown",
        "profit_factor",
        "win_rate",
        "net_profit",
        "end_equity",
    ] {
        assert_eq!(
            best["figures"][key], m[key],
            "{key}: optimize vs plain backtest"
        );
    }
    assert_eq!(best["objective"], m["sharpe"]);
    assert!(m["trades"].as_u64().unwrap() > 0);
}

#[test]
fn optimize_sets_the_bot_refuses_are_listed_with_its_reason_and_never_best() {
    let dir = tempfile::tempdir().unwrap();
    let config = registry(dir.path(), "");
    let report = run(
        &config,
        &[
            "--param",
            "fast=5,20",
            "--param",
            "slow=10,20",
            "--jobs",
            "2",
        ],
    );
    assert_eq!(report.rows.len(), 4);
    let failed: Vec<_> = report.rows.iter().filter(|r| r.error.is_some()).collect();
    assert_eq!(
        failed.len(),
        2,
        "fast=20 with slow 10 and 20: {:#?}",
        report.rows
    );
    for r in &failed {
        assert!(r.rank.is_none());
        let e = r.error.as_deref().unwrap();
        assert!(
            e.contains("need 0 < fast < slow"),
            "the bot's own message: {e}"
        );
    }
    assert_eq!(report.rows[0].rank, Some(1));
    assert_eq!(report.rows[0].params[0].1.to_string(), "5");
}

#[test]
fn optimize_walk_forward_reports_four_folds_out_of_sample() {
    let dir = tempfile::tempdir().unwrap();
    let config = registry(dir.path(), "");
    let grid = [
        "--param",
        "fast=2..6:2",
        "--param",
        "slow=8..16:4",
        "--objective",
        "return",
    ];
    for anchored in [false, true] {
        let mut extra = grid.to_vec();
        extra.extend(["--walk-forward", "4", "--jobs", "2"]);
        if anchored {
            extra.push("--anchored");
        }
        let report = run(&config, &extra);
        let wf = report.walk_forward.as_ref().unwrap();
        assert_eq!(wf.folds.len(), 4);
        assert_eq!(wf.anchored, anchored);
        let first = wf.folds[0].in_sample.from;
        for (i, f) in wf.folds.iter().enumerate() {
            assert_eq!(f.index, i + 1);
            assert_eq!(f.in_sample.to, f.out_of_sample.from, "OOS follows IS");
            if anchored {
                assert_eq!(f.in_sample.from, first);
            } else if i > 0 {
                assert_eq!(f.in_sample.from, wf.folds[i - 1].out_of_sample.from);
            }
            assert!(f.note.is_none(), "fold {}: {:?}", f.index, f.note);
            assert_eq!(f.params.len(), 2, "a best set per fold");
            let is = f.in_sample_figures.as_ref().unwrap();
            let oos = f.out_of_sample_figures.as_ref().unwrap();
            assert!(is.trades >= 1);
            assert!(oos.total_return.is_some() && f.out_of_sample_objective.is_some());
            assert!(f.equity.len() > 10, "OOS equity curve: {}", f.equity.len());
            let holds = f.out_of_sample_objective.unwrap() > 0.0
                && f.out_of_sample_objective.unwrap() >= 0.5 * f.in_sample_objective.unwrap();
            assert_eq!(f.holds, holds);
        }
        // A fold's out-of-sample figures are a plain backtest of that window with that set.
        let f = &wf.folds[2];
        let reg = Registry::load(&config).unwrap();
        let mut reg = flotilla::optimize::Plan::single_bot(&reg, "sma-daily").unwrap();
        for (k, v) in &f.params {
            reg.bot[0].params.insert(k.clone(), v.to_toml());
        }
        let data = [fixture("golden/AAA.csv"), fixture("golden/BBB.csv")];
        let (series, events) = backtest::load_data(&data, &TimeRange::default(), false).unwrap();
        let events: Vec<_> = events
            .into_iter()
            .filter(|e| f.out_of_sample.from <= e.bar.time && e.close_time <= f.out_of_sample.to)
            .collect();
        let params = RunParams {
            data: series.iter().map(Into::into).collect(),
            seed: 42,
            fees_bps: 1.into(),
            slippage_bps: 2.into(),
            ..RunParams::default()
        };
        let plain = backtest::run(&reg, events, params, Some(cache()), None).unwrap();
        let m = flotilla::optimize::figures_of(&plain.report, "sma-daily");
        assert_eq!(f.out_of_sample_figures.as_ref().unwrap(), &m);
        let text = flotilla::optimize::to_terminal(&report, 5);
        assert!(
            text.contains("walk-forward, 4 folds") && text.contains("folds hold"),
            "{text}"
        );
        let html = flotilla::optimize::to_html(&report);
        assert!(html.contains("<h2>Heatmap of return") && html.contains("<polyline"));
    }
}

#[test]
fn optimize_reports_are_byte_identical_whatever_the_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let config = registry(dir.path(), "");
    let grid = [
        "--param",
        "fast=2..8:2",
        "--param",
        "slow=10..30:5",
        "--random",
        "8",
    ];
    let once = |jobs: &str| {
        let mut extra = grid.to_vec();
        extra.extend(["--jobs", jobs, "--walk-forward", "2", "--seed", "11"]);
        to_json(&run(&config, &extra))
    };
    let one = once("1");
    assert_eq!(one, once("2"), "--jobs 1 and --jobs 2");
    assert_eq!(one, once("2"), "a rerun");
    let v: serde_json::Value = serde_json::from_str(&one).unwrap();
    assert_eq!(v["rows"].as_array().unwrap().len(), 8, "--random 8 of 20");
    assert_eq!(v["grid_size"], 20);
    let mut other = grid.to_vec();
    other.extend(["--jobs", "2", "--walk-forward", "2", "--seed", "12"]);
    assert_ne!(
        one,
        to_json(&run(&config, &other)),
        "another seed draws other sets"
    );
}

#[test]
fn optimize_refuses_a_bad_param_or_bot_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let config = registry(dir.path(), "");
    let fail = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_flotilla"))
            .arg("optimize")
            .arg("--config")
            .arg(&config)
            .arg("--data")
            .arg(fixture("golden/AAA.csv"))
            .args(extra)
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let e = fail(&["--bot", "sma-daily", "--param", "fast=5..x:5"]);
    assert!(e.contains("--param fast: `x` is not a number"), "{e}");
    let e = fail(&["--bot", "sma-daily", "--param", "slow=50..5:5"]);
    assert!(
        e.contains("--param slow: the range starts at 50, above its end 5"),
        "{e}"
    );
    let e = fail(&["--bot", "nope", "--param", "fast=5,6"]);
    assert!(
        e.contains("no bot `nope`") && e.contains("sma-daily, momentum-daily"),
        "{e}"
    );
    let e = fail(&[
        "--bot",
        "sma-daily",
        "--param",
        "fast=5",
        "--objective",
        "sharp",
    ]);
    assert!(e.contains("unknown objective `sharp`"), "{e}");
}
