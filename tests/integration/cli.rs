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
    let out = flotilla()
        .arg("check")
        .arg("--cache-dir")
        .arg(crate::support::shared_cache())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        8,
        "{stdout}"
    );
}

#[test]
fn run_then_status_reads_the_ledger() {
    let _serial = crate::support::timing();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let out = flotilla()
        .args(["run", "--duration", "2h", "--speed", "20000", "--db"])
        .arg(&db)
        .arg("--cache-dir")
        .arg(crate::support::shared_cache())
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
    assert_eq!(bots.len(), 8);
    assert!(
        bots.iter().all(|b| b["ticks"].as_u64().unwrap() > 0),
        "{v:#}"
    );
    assert!(
        v["equity"]["equity"].is_string(),
        "amounts are exact strings: {v:#}"
    );
}

#[test]
fn halt_resume_and_reload_talk_to_a_running_fleet() {
    let _serial = crate::support::timing();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let mut child = flotilla()
        .args([
            "run",
            "--duration",
            "1d",
            "--speed",
            "60",
            "--no-watch",
            "--db",
        ])
        .arg(&db)
        .arg("--cache-dir")
        .arg(crate::support::shared_cache())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let sock = {
        let mut s = db.as_os_str().to_os_string();
        s.push(".sock");
        std::path::PathBuf::from(s)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !sock.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the fleet never opened its control socket"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let run = |args: &[&str]| {
        let out = flotilla().args(args).arg("--db").arg(&db).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (ok, out) = run(&["halt", "--reason", "test halt"]);
    assert!(ok && out.contains("Active -> Halted"), "{out}");
    let (ok, out) = run(&["resume"]);
    assert!(ok && out.contains("Halted -> Active"), "{out}");
    let (ok, out) = run(&["reload"]);
    assert!(ok && out.starts_with("registry:"), "{out}");
    let (ok, out) = run(&["allocations", "--json"]);
    assert!(ok, "{out}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 8, "{rows:#}");
    child.kill().unwrap();
    child.wait().unwrap();
    // The manual changes are in the audit trail.
    let out = flotilla()
        .args(["status", "--json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let events = v["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["message"].as_str().unwrap().contains("manual: test halt")),
        "{v:#}"
    );
}
