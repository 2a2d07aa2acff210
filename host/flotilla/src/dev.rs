//! `flotilla dev BOT_DIR --data FILE...`: the edit-build-backtest loop of one bot project
//! (any language; a project from `flotilla new`). It builds the bot with the project's own
//! `build.sh`, runs `flotilla check` on a registry holding only that bot, backtests it over
//! the data, prints a summary, and then does it again on every save, printing what changed.
//!
//! A change is a change of the project's sources: files under the directory except build
//! output (`target/`, `node_modules/`, `.venv/`, `__pycache__/`, dot-directories, `*.wasm`)
//! and lockfiles, compared by size and modification time, so the build's own writes do not
//! start another round.

use crate::backtest::{load_data, run};
use anyhow::{Context, Result, bail};
use flotilla_backtest::{DataFile, Metrics, RunParams, TimeRange};
use flotilla_config::Registry;
use notify::{RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

/// Options of `flotilla dev`.
#[derive(clap::Args, Debug, Clone)]
pub struct DevArgs {
    /// The bot's project directory: its `build.sh` builds `<dir name>.wasm` beside it.
    pub dir: PathBuf,
    /// CSV files, one per symbol, as `flotilla backtest --data`; the bot trades them all.
    #[arg(long, num_args = 1.., required = true)]
    pub data: Vec<PathBuf>,
    /// How often the bot ticks (default: the first file's timeframe).
    #[arg(long)]
    pub every: Option<String>,
    /// Seed of the backtest.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Compiled-component cache directory; the generated registry is written beside it.
    #[arg(long, default_value = ".flotilla/cache")]
    pub cache_dir: PathBuf,
    /// Stop after this many rounds (for scripts); default: watch until interrupted.
    #[arg(long)]
    pub rounds: Option<usize>,
}

/// What a round's backtest gave, to compare with the next.
#[derive(Clone, Debug, PartialEq)]
struct Summary {
    trades: usize,
    total_return: Option<f64>,
    sharpe: Option<f64>,
    max_drawdown: Option<f64>,
}

impl From<&Metrics> for Summary {
    fn from(m: &Metrics) -> Self {
        Self {
            trades: m.trades,
            total_return: m.total_return,
            sharpe: m.sharpe,
            max_drawdown: m.max_drawdown,
        }
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{:.2}%", v * 100.0))
}

fn ratio(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.3}"))
}

impl Summary {
    fn line(&self) -> String {
        format!(
            "{} trades, return {}, Sharpe {}, max drawdown {}",
            self.trades,
            pct(self.total_return),
            ratio(self.sharpe),
            pct(self.max_drawdown)
        )
    }

    /// What changed since `before`, e.g. `trades 12 -> 15 (+3)`.
    fn changes(&self, before: &Summary) -> String {
        let diff = |a: Option<f64>, b: Option<f64>, scale: f64, unit: &str| match (a, b) {
            (Some(a), Some(b)) => format!(" ({:+.2}{unit})", (b - a) * scale),
            _ => String::new(),
        };
        let mut parts = Vec::new();
        if self.trades != before.trades {
            parts.push(format!(
                "trades {} -> {} ({:+})",
                before.trades,
                self.trades,
                self.trades as i64 - before.trades as i64
            ));
        }
        if self.total_return != before.total_return {
            parts.push(format!(
                "return {} -> {}{}",
                pct(before.total_return),
                pct(self.total_return),
                diff(before.total_return, self.total_return, 100.0, " pp")
            ));
        }
        if self.sharpe != before.sharpe {
            parts.push(format!(
                "Sharpe {} -> {}{}",
                ratio(before.sharpe),
                ratio(self.sharpe),
                diff(before.sharpe, self.sharpe, 1.0, "")
            ));
        }
        if parts.is_empty() {
            "no change in trades, return or Sharpe".into()
        } else {
            parts.join(", ")
        }
    }
}

/// The bot of one project and its data.
struct Project {
    dir: PathBuf,
    name: String,
    registry_path: PathBuf,
    events: Vec<flotilla_backtest::BarEvent>,
    params: RunParams,
    cache_dir: PathBuf,
}

impl Project {
    fn new(args: &DevArgs) -> Result<Self> {
        let dir = args
            .dir
            .canonicalize()
            .with_context(|| format!("bot directory {}", args.dir.display()))?;
        if !dir.join("build.sh").exists() {
            bail!(
                "{} has no build.sh (`flotilla new` creates one)",
                dir.display()
            );
        }
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .context("the bot directory has no name")?
            .to_string();
        let (series, events) = load_data(&args.data, &TimeRange::default(), false)?;
        let symbols: Vec<String> = series.iter().map(|s| format!("\"{}\"", s.symbol)).collect();
        let tf = series[0].timeframe;
        let every = args
            .every
            .clone()
            .unwrap_or_else(|| tf.as_str().to_string());
        // Bars are as old as their timeframe between closes; leave room for weekends.
        let max_age = (tf.millis() * 4).max(3_600_000);
        let text = format!(
            "# Written by `flotilla dev`: the bot alone over its data.\n[fleet]\nname = \"dev\"\n\
             components_dir = \"{}\"\n[fleet.market]\nsymbols = [{syms}]\n\
             [fleet.risk.data]\nmax_price_age_ms = {max_age}\n\
             [[bot]]\nid = \"{name}\"\ncomponent = \"{name}.wasm\"\nevery = \"{every}\"\n\
             symbols = [{syms}]\n",
            dir.display().to_string().replace('\\', "\\\\"),
            syms = symbols.join(", ")
        );
        std::fs::create_dir_all(&args.cache_dir)
            .with_context(|| format!("creating {}", args.cache_dir.display()))?;
        let registry_path = args.cache_dir.join(format!("dev-{name}.toml"));
        std::fs::write(&registry_path, text)
            .with_context(|| format!("writing {}", registry_path.display()))?;
        let params = RunParams {
            config: Some(registry_path.display().to_string()),
            data: series.iter().map(DataFile::from).collect(),
            seed: args.seed,
            ..RunParams::default()
        };
        Ok(Self {
            dir,
            name,
            registry_path,
            events,
            params,
            cache_dir: args.cache_dir.clone(),
        })
    }

    /// Build, check, backtest; `None` (with the reason printed) when a step failed.
    fn round(&self) -> Option<Summary> {
        let started = Instant::now();
        println!("== building {}", self.dir.display());
        let out = std::process::Command::new("bash")
            .arg(self.dir.join("build.sh"))
            .current_dir(&self.dir)
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                // The compiler's own messages, as the build printed them.
                eprint!("{}", String::from_utf8_lossy(&o.stdout));
                eprint!("{}", String::from_utf8_lossy(&o.stderr));
                println!("build failed ({}); waiting for a change", o.status);
                return None;
            }
            Err(e) => {
                println!("cannot run build.sh: {e}; waiting for a change");
                return None;
            }
        }
        let built = started.elapsed();
        println!("== checking");
        let checked =
            crate::commands::check(Some(self.registry_path.clone()), self.cache_dir.clone());
        if let Err(e) = checked {
            println!("check failed: {e:#}; waiting for a change");
            return None;
        }
        println!("== backtesting over {} bars", self.events.len());
        // A failing bot would log every tick: the summary counts the failures instead.
        let quiet = tracing::subscriber::NoSubscriber::default();
        let result = tracing::subscriber::with_default(quiet, || {
            Registry::load(&self.registry_path)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .and_then(|r| {
                    run(
                        &r,
                        self.events.clone(),
                        self.params.clone(),
                        Some(self.cache_dir.clone()),
                        None,
                    )
                })
        });
        match result {
            Ok(out) => {
                let m = out
                    .report
                    .bots
                    .iter()
                    .find(|b| b.bot.as_str() == self.name)
                    .map(|b| Summary::from(&b.metrics))
                    .unwrap_or_else(|| Summary::from(&Metrics::default()));
                println!(
                    "summary: {} (build {:.1} s, round {:.1} s)",
                    m.line(),
                    built.as_secs_f64(),
                    started.elapsed().as_secs_f64()
                );
                if out.failures > 0 {
                    println!(
                        "{} bot calls failed; `flotilla backtest --config {} --data ...` logs why",
                        out.failures,
                        self.registry_path.display()
                    );
                }
                Some(m)
            }
            Err(e) => {
                println!("backtest failed: {e:#}; waiting for a change");
                None
            }
        }
    }
}

/// The sources' sizes and modification times, build output left out.
fn fingerprint(dir: &Path) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if ignored(&path) {
                continue;
            }
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(path),
                Ok(m) => out.push((path, m.len(), m.modified().ok())),
                Err(_) => {}
            }
        }
    }
    out.sort();
    out
}

/// Build output, dependencies, lockfiles and dot-files are not sources.
fn ignored(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.starts_with('.')
        || name.ends_with('~')
        || matches!(
            name,
            "target" | "node_modules" | "__pycache__" | "Cargo.lock" | "package-lock.json"
        )
        || path.extension().is_some_and(|e| e == "wasm")
}

/// `flotilla dev`.
pub fn command(args: DevArgs) -> Result<()> {
    let project = Project::new(&args)?;
    let (tx, rx) = mpsc::channel::<()>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if res.is_ok() {
            let _ = tx.send(());
        }
    })
    .context("starting the file watcher")?;
    watcher
        .watch(&project.dir, RecursiveMode::Recursive)
        .with_context(|| format!("watching {}", project.dir.display()))?;
    let mut seen = fingerprint(&project.dir);
    let mut last = project.round();
    let mut rounds = 1;
    println!("watching {} (Ctrl-C stops)", project.dir.display());
    while args.rounds.is_none_or(|n| rounds < n) {
        if rx.recv().is_err() {
            break;
        }
        // An editor's save is several events: wait until the directory is quiet.
        while rx.recv_timeout(Duration::from_millis(150)).is_ok() {}
        let now = fingerprint(&project.dir);
        if now == seen {
            continue;
        }
        seen = now;
        let saved = Instant::now();
        let summary = project.round();
        rounds += 1;
        if let (Some(before), Some(after)) = (&last, &summary) {
            println!("changed: {}", after.changes(before));
        }
        println!(
            "{:.1} s from save to summary; watching",
            saved.elapsed().as_secs_f64()
        );
        if summary.is_some() {
            last = summary;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_name_what_moved() {
        let a = Summary {
            trades: 12,
            total_return: Some(0.0123),
            sharpe: Some(0.85),
            max_drawdown: Some(0.02),
        };
        let b = Summary {
            trades: 15,
            total_return: Some(0.02),
            sharpe: Some(1.1),
            ..a.clone()
        };
        assert_eq!(
            b.changes(&a),
            "trades 12 -> 15 (+3), return 1.23% -> 2.00% (+0.77 pp), Sharpe 0.850 -> 1.100 (+0.25)"
        );
        assert_eq!(a.changes(&a), "no change in trades, return or Sharpe");
    }

    #[test]
    fn build_output_is_not_a_source() {
        for p in [
            "a/target",
            "a/x.wasm",
            "a/.git",
            "a/Cargo.lock",
            "a/node_modules",
        ] {
            assert!(ignored(Path::new(p)), "{p}");
        }
        for p in ["a/src", "a/app.py", "a/Cargo.toml", "a/build.sh"] {
            assert!(!ignored(Path::new(p)), "{p}");
        }
    }
}
