//! Watches the registry file and the bots' component files, and reloads what changed.
//!
//! Events are debounced: a file being written produces several events, and the reload
//! waits until the file has been quiet for a moment, so it reads the finished bytes.

use crate::fleet::Fleet;
use anyhow::{Context, Result};
use notify::{EventKind, RecursiveMode, Watcher};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

/// How long a changed file must stay quiet before it is reloaded.
pub const QUIET: Duration = Duration::from_millis(40);

/// Keeps the watch alive; dropping it stops watching.
pub struct FileWatch {
    _watcher: notify::RecommendedWatcher,
}

/// Starts watching the registry and every bot's component directory.
pub fn watch(fleet: Arc<Fleet>) -> Result<FileWatch> {
    let (tx, rx) = mpsc::channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res
            && matches!(ev.kind, EventKind::Create(_) | EventKind::Modify(_))
        {
            for p in ev.paths {
                let _ = tx.send(p);
            }
        }
    })
    .context("starting the file watcher")?;
    for dir in watched_dirs(&fleet) {
        watcher
            .watch(&dir, RecursiveMode::NonRecursive)
            .with_context(|| format!("watching {}", dir.display()))?;
    }
    std::thread::Builder::new()
        .name("flotilla-reload".into())
        .spawn(move || reload_loop(&fleet, &rx))?;
    Ok(FileWatch { _watcher: watcher })
}

fn watched_dirs(fleet: &Fleet) -> BTreeSet<PathBuf> {
    let mut dirs = BTreeSet::new();
    let parent = |p: &Path| {
        p.parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    };
    dirs.insert(parent(fleet.registry_path()));
    for h in fleet.handles() {
        dirs.insert(parent(&h.spec().component));
    }
    dirs.into_iter().filter(|d| d.exists()).collect()
}

fn reload_loop(fleet: &Fleet, rx: &mpsc::Receiver<PathBuf>) {
    let registry = fleet
        .registry_path()
        .canonicalize()
        .unwrap_or_else(|_| fleet.registry_path().to_path_buf());
    while let Ok(first) = rx.recv() {
        let mut changed = BTreeSet::from([first]);
        loop {
            match rx.recv_timeout(QUIET) {
                Ok(p) => {
                    changed.insert(p);
                }
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        let is_registry = |p: &PathBuf| p.canonicalize().map(|c| c == registry).unwrap_or(false);
        if changed.iter().any(is_registry) {
            let r = fleet.reload_registry();
            tracing::info!(?r, "registry reloaded");
        }
        for p in changed
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        {
            let r = fleet.reload_component(p);
            if !r.is_empty() {
                tracing::info!(path = %p.display(), ?r, "component reloaded");
            }
        }
    }
}
