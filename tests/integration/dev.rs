//! `flotilla dev` on a Rust template bot from `flotilla new`: the first summary, then an
//! edit that breaks the build (the compiler's message is shown), then one that changes the
//! bot (a new summary, and what changed).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Three thousand one-minute bars of a slow wave with a drift, so an EMA bot trades.
fn minute_bars(path: &Path) {
    let mut csv = String::from("time,open,high,low,close,volume\n");
    let start = 1_704_186_000_000i64;
    let mut prev = 100.0f64;
    for i in 0..3_000 {
        let close = 100.0 + 5.0 * (i as f64 / 60.0).sin() + i as f64 * 0.002;
        let (hi, lo) = (prev.max(close) + 0.05, prev.min(close) - 0.05);
        csv.push_str(&format!(
            "{},{prev:.4},{hi:.4},{lo:.4},{close:.4},1000\n",
            start + i * 60_000
        ));
        prev = close;
    }
    std::fs::write(path, csv).unwrap();
}

#[test]
fn dev_rebuilds_and_rebacktests_a_template_bot_on_each_save() {
    let _serial = crate::support::timing();
    let tmp = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .args(["new", "tpl_dev", "--lang", "rust", "--dir"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let project = tmp.path().join("tpl_dev");
    let data = tmp.path().join("AAPL.csv");
    minute_bars(&data);
    let mut child = Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .arg("dev")
        .arg(&project)
        .arg("--data")
        .arg(&data)
        .arg("--cache-dir")
        .arg(tmp.path().join("cache"))
        .args(["--rounds", "3"])
        // Share compiled dependencies with the repository's bots.
        .env("CARGO_TARGET_DIR", repo.join("bots/target"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel::<(bool, String)>();
    let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send((true, l));
        }
    });
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx2.send((false, l));
        }
    });
    let mut seen = Vec::new();
    let mut wait_for = |what: &str| -> String {
        loop {
            match rx.recv_timeout(Duration::from_secs(600)) {
                Ok((_, l)) => {
                    seen.push(l.clone());
                    if l.contains(what) {
                        return l;
                    }
                }
                Err(e) => panic!("no {what:?} ({e}); output so far:\n{}", seen.join("\n")),
            }
        }
    };
    let first = wait_for("summary: ");
    assert!(first.contains("trades, return"), "{first}");
    wait_for("watching");
    let src = project.join("src/lib.rs");
    let text = std::fs::read_to_string(&src).unwrap();
    let default = "cfg.get(\"period\", 20)";
    assert!(
        text.contains(default),
        "the template reads period with default 20"
    );
    // A save that does not compile: the compiler's own message, then waiting.
    std::fs::write(&src, text.replace(default, "cfg.get(\"period\", 20)) +")).unwrap();
    wait_for("error");
    wait_for("build failed");
    wait_for("watching");
    std::fs::write(&src, text.replace(default, "cfg.get(\"period\", 5)")).unwrap();
    let second = wait_for("summary: ");
    let changed = wait_for("changed: ");
    let figures = |l: &str| l.split(" (build").next().unwrap_or_default().to_string();
    assert_ne!(
        figures(&first),
        figures(&second),
        "a faster EMA trades differently"
    );
    assert!(!changed.contains("no change"), "{changed}");
    wait_for("from save to summary");
    let status = child.wait().unwrap();
    assert!(status.success(), "--rounds 3 ends the loop");
    assert!(
        seen.iter().any(|l| l.contains("src/lib.rs")),
        "the compiler names the file: {}",
        seen.join("\n")
    );
}
