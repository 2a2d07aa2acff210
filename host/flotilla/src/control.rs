//! The control socket: `flotilla reload` (and SIGHUP) talk to a running fleet through it.
//!
//! One command per connection, one line in, the answer out. The socket sits next to the
//! ledger (`<db>.sock`), so the CLI finds it from the same `--db`.

use crate::fleet::Fleet;
use crate::port::Port;
use anyhow::{Context, Result};
use flotilla_engine::TradingState;
use flotilla_telemetry::{Control, FleetPort};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// The control socket of the fleet whose ledger is `db`.
pub fn socket_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_os_string();
    s.push(".sock");
    PathBuf::from(s)
}

/// Serves commands on `path` until the task is dropped; controls go through `port`, which
/// audits them as done by `cli`.
pub async fn serve(port: Arc<Port>, path: PathBuf) -> Result<()> {
    let fleet = port.fleet().clone();
    let _ = std::fs::remove_file(&path); // a stale socket from a crashed run
    let listener =
        UnixListener::bind(&path).with_context(|| format!("binding {}", path.display()))?;
    loop {
        let (stream, _) = listener.accept().await?;
        let (fleet, port) = (fleet.clone(), port.clone());
        tokio::spawn(async move {
            if let Err(e) = handle(fleet, port, stream).await {
                tracing::warn!(error = %e, "control connection failed");
            }
        });
    }
}

async fn handle(fleet: Arc<Fleet>, port: Arc<Port>, stream: UnixStream) -> Result<()> {
    let (r, mut w) = stream.into_split();
    let mut line = String::new();
    BufReader::new(r).read_line(&mut line).await?;
    let answer = match line.trim() {
        "reload" => {
            let f = fleet.clone();
            tokio::task::spawn_blocking(move || reload_all(&f)).await?
        }
        "ping" => "pong\n".to_string(),
        cmd if cmd.starts_with("state ") => {
            let mut parts = cmd.splitn(3, ' ').skip(1);
            let state = match parts.next() {
                Some("halt") => Some(TradingState::Halted),
                Some("reduce") => Some(TradingState::Reducing),
                Some("resume") => Some(TradingState::Active),
                _ => None,
            };
            let reason = parts.next().unwrap_or("from the CLI").to_string();
            match state {
                Some(state) => {
                    let control = match state {
                        TradingState::Halted => Control::Halt { reason },
                        TradingState::Reducing => Control::Reduce { reason },
                        TradingState::Active => Control::Resume { reason },
                    };
                    tokio::task::spawn_blocking(move || match port.control(&control, "cli") {
                        Ok(text) => format!("{text}\n"),
                        Err(e) => format!("error: {e}\n"),
                    })
                    .await?
                }
                None => "error: state must be halt, reduce or resume\n".to_string(),
            }
        }
        other => format!("error: unknown command {other:?} (known: reload, state, ping)\n"),
    };
    w.write_all(answer.as_bytes()).await?;
    w.shutdown().await?;
    Ok(())
}

/// Reloads the registry, then every component; returns a human summary.
pub fn reload_all(fleet: &Fleet) -> String {
    let mut out = String::new();
    let r = fleet.reload_registry();
    out.push_str(&format!(
        "registry: added {:?}, removed {:?}, replaced {:?}, rescheduled {:?}\n",
        r.added, r.removed, r.replaced, r.rescheduled
    ));
    if r.risk_updated {
        out.push_str("risk limits: updated from the registry\n");
    }
    for name in &r.restart_needed {
        out.push_str(&format!(
            "[fleet] {name} changed: it applies at the next start\n"
        ));
    }
    let mut errors = r.errors;
    let mut paths: Vec<PathBuf> = fleet.handles().iter().map(|h| h.spec().component).collect();
    paths.sort();
    paths.dedup();
    for p in paths {
        let c = fleet.reload_component(&p);
        if !c.replaced.is_empty() {
            out.push_str(&format!(
                "component {}: replaced {:?}\n",
                p.display(),
                c.replaced
            ));
        }
        errors.extend(c.errors);
    }
    for e in &errors {
        out.push_str(&format!("error: {e}\n"));
    }
    out
}

/// Sends one command to a running fleet and returns its answer.
pub fn send(db: &Path, command: &str) -> Result<String> {
    use std::io::{Read, Write};
    let path = socket_path(db);
    let mut s = std::os::unix::net::UnixStream::connect(&path).with_context(|| {
        format!(
            "no running fleet answers on {} (is `flotilla run --db {}` running?)",
            path.display(),
            db.display()
        )
    })?;
    s.write_all(format!("{command}\n").as_bytes())?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}
