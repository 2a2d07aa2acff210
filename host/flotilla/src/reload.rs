//! Hot reload: a bot's component or the whole registry, applied while the fleet runs.
//!
//! A new component is compiled off the scheduler, instantiated, initialised and given the
//! old instance's snapshot before it replaces the old one between two ticks. Anything that
//! fails keeps the old version running and is recorded. A registry is applied only if it
//! validates whole; then it is diffed bot by bot.

use crate::fleet::{BotHandle, Fleet, risk_config};
use anyhow::{Result, anyhow};
use flotilla_config::{BotSpec, FleetSpec, Registry};
use flotilla_domain::BotId;
use flotilla_engine::RiskConfig;
use flotilla_runtime::LoadedComponent;
use std::path::Path;
use std::sync::Arc;

/// What one reload did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReloadReport {
    /// Bots added.
    pub added: Vec<BotId>,
    /// Bots removed or disabled.
    pub removed: Vec<BotId>,
    /// Bots whose code or settings were swapped.
    pub replaced: Vec<BotId>,
    /// Bots whose schedule alone changed.
    pub rescheduled: Vec<BotId>,
    /// Whether the risk engine took new limits (`[fleet.risk]` or a bot's `[bot.risk]`).
    pub risk_updated: bool,
    /// `[fleet]` settings that changed but apply only at the next start.
    pub restart_needed: Vec<String>,
    /// Problems; the affected bots kept their old version.
    pub errors: Vec<String>,
}

impl ReloadReport {
    /// Whether nothing changed and nothing failed.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl Fleet {
    /// Reloads every bot whose component file is `path` and whose bytes changed.
    pub fn reload_component(&self, path: &Path) -> ReloadReport {
        let mut report = ReloadReport::default();
        let users: Vec<Arc<BotHandle>> = self
            .handles()
            .into_iter()
            .filter(|h| same_file(&h.spec().component, path))
            .collect();
        if users.is_empty() {
            return report;
        }
        let component = match self.runtime.load_file(path) {
            Ok(c) => c,
            Err(e) => {
                let msg = e.to_string();
                for h in &users {
                    let _ = self.record_load(
                        &h.spec(),
                        Err(anyhow!("{msg}; keeping the running version")),
                    );
                    report.errors.push(format!("bot \"{}\": {msg}", h.id));
                }
                return report;
            }
        };
        for h in users {
            if h.slot().component().hash == component.hash {
                continue; // Same bytes (e.g. a touch): nothing to do.
            }
            let spec = h.spec();
            match self.swap(&h, &spec, component.clone()) {
                Ok(()) => report.replaced.push(h.id.clone()),
                Err(e) => report.errors.push(format!("bot \"{}\": {e:#}", h.id)),
            }
        }
        report
    }

    /// Reloads the registry file and applies it, or keeps the running one if it is invalid.
    pub fn reload_registry(&self) -> ReloadReport {
        let registry = match Registry::load(self.registry_path()) {
            Ok(r) => r,
            Err(e) => return self.rejected(format!("{e}")),
        };
        if let Err(e) = registry.validate() {
            return self.rejected(e.to_string());
        }
        match registry
            .fleet_spec()
            .and_then(|f| Ok((f, registry.bots()?)))
        {
            Ok((fleet, specs)) => {
                let mut report = self.apply_with(Some(&fleet.risk), specs);
                report.restart_needed = self.restart_needed(&fleet);
                for name in &report.restart_needed {
                    tracing::warn!("[fleet] {name} changed; it applies at the next start");
                }
                report
            }
            Err(e) => self.rejected(e.to_string()),
        }
    }

    /// The `[fleet]` settings in `new` that differ from the running ones and cannot change
    /// live. The risk limits apply live, and the sandbox defaults and components directory
    /// reach the bots through their own specs.
    fn restart_needed(&self, new: &FleetSpec) -> Vec<String> {
        let old = &self.spec;
        [
            ("name", old.name != new.name),
            ("starting_cash", old.starting_cash != new.starting_cash),
            ("allocator", old.allocator != new.allocator),
            (
                "rebalance_every",
                old.rebalance_every != new.rebalance_every,
            ),
            ("broker", old.broker != new.broker),
            ("market", old.market != new.market),
        ]
        .into_iter()
        .filter(|(_, changed)| *changed)
        .map(|(name, _)| name.to_string())
        .collect()
    }

    fn rejected(&self, errors: String) -> ReloadReport {
        tracing::error!("registry rejected; the fleet keeps the last good one:\n{errors}");
        let _ = self
            .core()
            .ledger
            .record_event(self.start(), None, "registry_rejected", &errors);
        ReloadReport {
            errors: errors.lines().map(str::to_string).collect(),
            ..Default::default()
        }
    }

    /// Diffs `specs` against the running bots and applies the differences, with the
    /// running `[fleet.risk]`.
    pub fn apply(&self, specs: Vec<BotSpec>) -> ReloadReport {
        self.apply_with(None, specs)
    }

    /// [`Fleet::apply`], then the risk limits: `fleet_risk` (the running ones when `None`)
    /// with the `[bot.risk]` of every bot in `specs`. Limits are the registry's word: they
    /// apply even to a bot whose new code failed to load and kept its old version.
    pub fn apply_with(&self, fleet_risk: Option<&RiskConfig>, specs: Vec<BotSpec>) -> ReloadReport {
        let mut report = ReloadReport::default();
        let wanted: Vec<&BotSpec> = specs.iter().filter(|s| s.enabled).collect();
        for h in self.handles() {
            if !wanted.iter().any(|s| s.id == h.id) {
                match self.remove_bot(&h.id) {
                    Ok(()) => report.removed.push(h.id.clone()),
                    Err(e) => report.errors.push(format!("bot \"{}\": {e:#}", h.id)),
                }
            }
        }
        for spec in wanted {
            let Some(h) = self.handle(spec.id.as_str()) else {
                let id = spec.id.clone();
                match self.add_bot(spec.clone()) {
                    Ok(_) => report.added.push(id),
                    Err(e) => report.errors.push(format!("bot \"{id}\": {e:#}")),
                }
                continue;
            };
            let old = h.spec();
            if old == *spec {
                continue;
            }
            // The schedule and the risk limits change without touching the instance (the
            // limits reach the risk engine below).
            let in_place = BotSpec {
                schedule: old.schedule.clone(),
                index: old.index,
                risk: old.risk.clone(),
                ..spec.clone()
            } == old;
            if in_place {
                h.set_spec(spec.clone());
                if spec.schedule.to_string() != old.schedule.to_string() {
                    h.schedule.send_replace(spec.schedule.clone());
                    report.rescheduled.push(spec.id.clone());
                }
                continue;
            }
            let component = if old.component == spec.component {
                Ok(h.slot().component().clone())
            } else {
                self.runtime
                    .load_file(&spec.component)
                    .map_err(anyhow::Error::from)
            };
            match component.and_then(|c| self.swap(&h, spec, c)) {
                Ok(()) => {
                    h.schedule.send_if_modified(|s| {
                        let changed = s.to_string() != spec.schedule.to_string();
                        *s = spec.schedule.clone();
                        changed
                    });
                    report.replaced.push(spec.id.clone());
                }
                Err(e) => report.errors.push(format!("bot \"{}\": {e:#}", spec.id)),
            }
        }
        self.update_risk(fleet_risk, &specs, &mut report);
        if !report.added.is_empty() || !report.removed.is_empty() {
            self.rebalance();
        }
        let summary = format!(
            "added {:?}, removed {:?}, replaced {:?}, rescheduled {:?}, risk limits {}, {} error(s)",
            report.added,
            report.removed,
            report.replaced,
            report.rescheduled,
            if report.risk_updated {
                "updated"
            } else {
                "unchanged"
            },
            report.errors.len()
        );
        tracing::info!("registry applied: {summary}");
        let _ = self
            .core()
            .ledger
            .record_event(self.start(), None, "registry_applied", &summary);
        report
    }

    /// Gives the risk engine `fleet_risk` (or its running fleet limits) with the overrides
    /// of `specs`. A fleet change the engine refuses (one that needs a restart) is
    /// reported, and the bots' overrides still apply with the running limits.
    fn update_risk(
        &self,
        fleet_risk: Option<&RiskConfig>,
        specs: &[BotSpec],
        report: &mut ReloadReport,
    ) {
        let mut core = self.core();
        let running = core.risk.config().clone();
        let mut attempts = vec![risk_config(fleet_risk.unwrap_or(&running), specs)];
        if fleet_risk.is_some() {
            attempts.push(risk_config(&running, specs));
        }
        for cfg in attempts {
            if cfg == running {
                return;
            }
            match core.risk.reconfigure(cfg) {
                Ok(()) => {
                    report.risk_updated = true;
                    tracing::info!("risk limits updated from the registry");
                    let _ = core.ledger.record_event(
                        self.start(),
                        None,
                        "risk_limits",
                        "risk limits updated from the registry",
                    );
                    return;
                }
                Err(e) => report
                    .errors
                    .push(format!("fleet.risk: {e}; the running value stays")),
            }
        }
    }

    /// Replaces a bot's instance with one built from `spec` and `component`, carrying its
    /// state over; waits for the tick in flight. On failure the old instance stays.
    fn swap(&self, h: &BotHandle, spec: &BotSpec, component: Arc<LoadedComponent>) -> Result<()> {
        let mut slot = h.slot();
        let snapshot = slot.take_snapshot().map(<[u8]>::to_vec);
        let new = self.start_slot(spec, component, snapshot);
        let mut new = self.record_load(spec, new)?;
        new.inherit(&slot);
        let msg = format!(
            "{} {} -> {} {} ({})",
            slot.description().version,
            &slot.component().hash[..12],
            new.description().version,
            &new.component().hash[..12],
            spec.component.display()
        );
        *slot = new;
        drop(slot);
        h.set_spec(spec.clone());
        tracing::info!(bot = %h.id, "reloaded: {msg}");
        self.core()
            .ledger
            .record_event(self.start(), Some(&h.id), "reload", &msg)
            .map_err(|e| anyhow!(e))?;
        Ok(())
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b
        || a.canonicalize()
            .ok()
            .zip(b.canonicalize().ok())
            .is_some_and(|(x, y)| x == y)
}
