//! On-disk cache of compiled components, so a restart does not recompile every bot.
//!
//! Keyed by the SHA-256 of the component bytes and the engine's compatibility hash, so a
//! different wasmtime version or configuration never loads a stale artifact.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Hex SHA-256 of `bytes`.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub(crate) struct ComponentCache {
    dir: PathBuf,
    engine: Engine,
    compat: String,
}

impl ComponentCache {
    pub(crate) fn new(dir: PathBuf, engine: &Engine) -> Self {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        Self {
            dir,
            engine: engine.clone(),
            compat: format!("{:016x}", h.finish()),
        }
    }

    fn path(&self, hash: &str) -> PathBuf {
        self.dir.join(format!("{hash}-{}.cwasm", self.compat))
    }

    pub(crate) fn get(&self, hash: &str) -> Option<Component> {
        let path = self.path(hash);
        if !path.exists() {
            return None;
        }
        // SAFETY: the file was written by `put` below from a component this engine
        // compiled; the name binds it to the exact bytes and engine configuration. A file
        // that fails to deserialise is ignored and recompiled.
        match unsafe { Component::deserialize_file(&self.engine, &path) } {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring unreadable cache entry");
                None
            }
        }
    }

    pub(crate) fn put(&self, hash: &str, component: &Component) {
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&self.dir)?;
            let bytes = component.serialize().map_err(std::io::Error::other)?;
            // Unique per write: threads of one process may compile the same bytes at once
            // (e.g. two bots on one component, or tests sharing a cache).
            static WRITES: AtomicU64 = AtomicU64::new(0);
            let n = WRITES.fetch_add(1, Ordering::Relaxed);
            let tmp = self
                .dir
                .join(format!(".{hash}.{}.{n}.tmp", std::process::id()));
            std::fs::write(&tmp, bytes)?;
            // Rename is atomic: a reader never sees a half-written artifact.
            std::fs::rename(tmp, self.path(hash))
        };
        if let Err(e) = write() {
            tracing::warn!(dir = %self.dir.display(), error = %e, "cannot write the component cache");
        }
    }
}
