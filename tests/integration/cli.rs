//! The `flotilla` binary: check, run, status.

use crate::support::fleet_header;
use std::process::Command;

fn flotilla() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flotilla"))
}

#[test]
fn check_lists_every_mistake_in_a_registry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    let body = r#"
[[bot]]
id = "dup"
component = "sma_crossover.wasm"
every = "10x"
symbols = ["AAPL"]

[[bot]]
id = "dup"
component = "missing_bot.wasm"
every = "1m"
symbols = ["NOPE"]

[[bot]]
id = "both"
component = "sma_crossover.wasm"
every = "1m"
cron = "0 * * * * *"
tz = "Mars/Olympus"
symbols = ["AAPL"]
"#;
    std::fs::write(&path, format!("{}{body}", fleet_header())).unwrap();
    let out = flotilla()
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "check must fail: {stdout}");
    for needle in [
        "10x",
        "duplicate",
        "missing_bot.wasm",
        "NOPE",
        "Mars/Olympus",
    ] {
        assert!(
            stdout.to_lowercase().contains(&needle.to_lowercase()),
            "`{needle}` missing from:\n{stdout}"
        );
    }
    assert!(
        stdout.lines().filter(|l| l.starts_with("error:")).count() >= 5,
        "{stdout}"
    );
}

#[test]
fn check_passes_on_the_bundled_registry_and_loads_every_bot() {
    let out = flotilla().arg("check").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        6,
        "{stdout}"
    );
}

#[test]
fn run_then_status_reads_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let out = flotilla()
        .args(["run", "--duration", "2h", "--speed", "20000", "--db"])
        .arg(&db)
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("sma-megacaps") && stdout.contains("realized pnl"),
        "{stdout}"
    );
    let out = flotilla()
        .args(["status", "--json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let bots = v["bots"].as_array().unwrap();
    assert_eq!(bots.len(), 6);
    assert!(
        bots.iter().all(|b| b["ticks"].as_u64().unwrap() > 0),
        "{v:#}"
    );
    assert!(
        v["equity"]["equity"].is_string(),
        "amounts are exact strings: {v:#}"
    );
}
