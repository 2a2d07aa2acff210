//! Hot reload while the fleet runs: a bot's component, a broken component, the registry.

use crate::support::{bot, fleet, registry, run_for, run_until};
use flotilla::fleet::BotHandle;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A registry entry for a bot that only counts its ticks (it trades every 10^6th tick).
fn counter(id: &str, component: &Path, every: &str) -> String {
    format!(
        "\n[[bot]]\nid = \"{id}\"\ncomponent = \"{}\"\nevery = \"{every}\"\nsymbols = [\"AAPL\"]\n[bot.params]\nevery = 1000000\n",
        component.display()
    )
}

fn version(h: &BotHandle) -> String {
    h.slot().description().version.clone()
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
    start.elapsed()
}

#[test]
fn fifty_bots_keep_their_schedule_while_one_is_replaced_live() {
    let _serial = crate::support::timing();
    let dir = tempfile::tempdir().unwrap();
    let swapped = dir.path().join("swapped.wasm");
    std::fs::copy(bot("fixed_order"), &swapped).unwrap();
    let mut body = counter("swapped", &swapped, "100ms");
    for i in 0..49 {
        body.push_str(&counter(
            &format!("bot-{i:02}"),
            &bot("fixed_order"),
            "100ms",
        ));
    }
    let reg = registry(dir.path(), &body);
    let fleet = fleet(dir.path(), &reg);
    assert_eq!(fleet.handles().len(), 50);
    let _watch = flotilla::watch::watch(fleet.clone()).unwrap();
    // The fleet runs until a second after the new version serves, however long the swap
    // takes on a loaded machine (it compiles the new component cold), so the schedule is
    // checked across the whole swap.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let runner = {
        let f = fleet.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            (run_until(&f, 1.0, 60_000, stopped), started.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(1_500));
    let h = fleet.handle("swapped").unwrap();
    assert_eq!(version(&h), "0.1.0");
    let new_bytes = std::fs::read(bot("fixed_order_v2")).unwrap();
    std::fs::write(&swapped, new_bytes).unwrap();
    // A bound for a swap that never happens, not a speed target (the figure is printed).
    let latency = wait_for("new version serving", Duration::from_secs(30), || {
        version(&h) == "0.2.0"
    });
    println!("reload latency (file write -> new version serving): {latency:?}");
    std::thread::sleep(Duration::from_secs(1));
    stop.send(true).unwrap();
    let (stats, ran) = runner.join().unwrap();
    // One tick per 100 ms of the run, less a few for start-up and shutdown.
    let due = ran.as_millis() as u64 / 100;
    let floor = due - due / 20 - 2;

    // The bot's in-memory tick count came through snapshot/restore: it counts every tick.
    let snapshot = h
        .slot()
        .take_snapshot()
        .map(|s| String::from_utf8(s.to_vec()).unwrap());
    let ticks = h.slot().stats.ticks;
    assert_eq!(snapshot, Some(ticks.to_string()), "state carried over");
    for (id, s) in &stats {
        assert_eq!(s.skipped, 0, "{id} skipped a run: {s:?}");
        assert!(s.ticks >= floor, "{id} missed ticks in {ran:?}: {s:?}");
    }
    let events = fleet.core().ledger.events(200).unwrap();
    assert!(
        events.iter().any(|e| e.kind == "reload"
            && e.message.contains("0.1.0")
            && e.message.contains("0.2.0"))
    );
}

#[test]
fn a_broken_component_keeps_the_old_version_serving() {
    let _serial = crate::support::timing();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("victim.wasm");
    std::fs::copy(bot("fixed_order"), &target).unwrap();
    let reg = registry(dir.path(), &counter("victim", &target, "100ms"));
    let fleet = fleet(dir.path(), &reg);
    let _watch = flotilla::watch::watch(fleet.clone()).unwrap();
    let runner = {
        let f = fleet.clone();
        std::thread::spawn(move || run_for(&f, 1.0, 2_000))
    };
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(&target, b"\0asm garbage that is no component").unwrap();
    let h = fleet.handle("victim").unwrap();
    wait_for("the failure is recorded", Duration::from_secs(10), || {
        fleet
            .core()
            .ledger
            .events(20)
            .unwrap()
            .iter()
            .any(|e| e.kind == "load_failed")
    });
    let stats = runner.join().unwrap();
    assert_eq!(version(&h), "0.1.0", "old version still serving");
    let s = &stats[&flotilla_domain::BotId::new("victim")];
    assert!(s.ticks >= 18, "kept ticking: {s:?}");
    let summaries = fleet.core().ledger.bot_summaries().unwrap();
    assert_eq!(summaries[0].errors, 0);
    let failed = fleet.core().ledger.events(20).unwrap();
    let msg = &failed
        .iter()
        .find(|e| e.kind == "load_failed")
        .unwrap()
        .message;
    assert!(
        msg.contains("is not a valid WebAssembly component")
            && msg.contains("keeping the running version"),
        "{msg}"
    );
}

#[test]
fn registry_edits_apply_live_and_a_bad_edit_is_rejected_whole() {
    let _serial = crate::support::timing();
    let dir = tempfile::tempdir().unwrap();
    let fo = bot("fixed_order");
    let reg = registry(
        dir.path(),
        &[
            counter("keep", &fo, "1s"),
            counter("slow", &fo, "10s"),
            counter("gone", &fo, "1s"),
        ]
        .concat(),
    );
    let fleet = fleet(dir.path(), &reg);
    let _watch = flotilla::watch::watch(fleet.clone()).unwrap();
    let runner = {
        let f = fleet.clone();
        std::thread::spawn(move || run_for(&f, 1.0, 5_000))
    };
    std::thread::sleep(Duration::from_millis(300));
    let path = dir.path().join("fleet.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let head = &text[..text.find("[[bot]]").unwrap()];
    let edited = [
        head,
        &counter("keep", &fo, "1s"),
        &counter("slow", &fo, "1s"),
        &counter("new", &fo, "1s"),
    ]
    .concat();
    std::fs::write(&path, &edited).unwrap();
    wait_for("registry applied", Duration::from_secs(10), || {
        fleet.handle("new").is_some() && fleet.handle("gone").is_none()
    });
    assert_eq!(
        fleet.handle("slow").unwrap().spec().schedule.to_string(),
        flotilla_config::Schedule::every("1s").unwrap().to_string()
    );
    // A broken edit is refused whole; the fleet keeps running as it was.
    std::fs::write(
        &path,
        format!("{edited}\n[[bot]]\nid = \"bad\"\nevery = \"soon\"\n"),
    )
    .unwrap();
    wait_for("bad registry rejected", Duration::from_secs(10), || {
        fleet
            .core()
            .ledger
            .events(50)
            .unwrap()
            .iter()
            .any(|e| e.kind == "registry_rejected")
    });
    let stats = runner.join().unwrap();
    let ids: Vec<String> = fleet.handles().iter().map(|h| h.id.to_string()).collect();
    assert_eq!(ids, ["keep", "new", "slow"]);
    // Rescheduled from 10 s to 1 s: it ran every second after the edit, not once.
    let slow = &stats[&flotilla_domain::BotId::new("slow")];
    assert!(slow.ticks >= 3, "{slow:?}");
    let new = &stats[&flotilla_domain::BotId::new("new")];
    assert!(new.ticks >= 3, "{new:?}");
    let _ = Arc::strong_count(&fleet);
}

#[test]
fn registry_reload_applies_risk_limits_to_the_running_engine() {
    let dir = tempfile::tempdir().unwrap();
    let fo = bot("fixed_order");
    let reg = registry(dir.path(), &counter("a", &fo, "1s"));
    let fleet = fleet(dir.path(), &reg);
    let a = flotilla_domain::BotId::new("a");
    let b = flotilla_domain::BotId::new("b");
    assert_eq!(fleet.core().risk.config().max_open_positions_for(&a), 10);
    let path = dir.path().join("fleet.toml");
    let write = |fleet_risk: &str, bots: &str| {
        let header = crate::support::fleet_header()
            .replace("starting_cash = \"100000\"", "starting_cash = \"250000\"");
        std::fs::write(&path, format!("{header}{fleet_risk}\n{bots}")).unwrap();
    };

    // A bot's [bot.risk] edited, a bot added with its own, [fleet.risk] edited.
    let with_limits = [
        counter("a", &fo, "1s"),
        "[bot.risk]\nmax_open_positions = 1\n".into(),
        counter("b", &fo, "1s"),
        "[bot.risk]\nmax_order_notional = \"500\"\n".into(),
    ]
    .concat();
    write("[fleet.risk]\ndaily_loss_pct = 0.03\n", &with_limits);
    let r = fleet.reload_registry();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(r.risk_updated);
    assert_eq!(r.added, std::slice::from_ref(&b));
    assert!(
        r.replaced.is_empty() && r.rescheduled.is_empty(),
        "new limits alone leave the instance as it is: {r:?}"
    );
    assert_eq!(r.restart_needed, ["starting_cash"]);
    {
        let core = fleet.core();
        let cfg = core.risk.config();
        assert_eq!(cfg.max_open_positions_for(&a), 1);
        assert_eq!(
            cfg.overrides(&b).unwrap().max_order_notional,
            Some(rust_decimal::Decimal::from(500))
        );
        assert_eq!(cfg.daily_loss_pct, Some(0.03));
        let events = core.ledger.events(20).unwrap();
        assert!(events.iter().any(|e| e.kind == "risk_limits"), "{events:?}");
    }

    // A fleet setting that shapes the portfolio is refused with its reason; the bots'
    // overrides still follow the registry, on the running fleet limits.
    let loosened = with_limits.replace("max_open_positions = 1", "max_open_positions = 2");
    write(
        "[fleet.risk]\ndaily_loss_pct = 0.04\nquantity_decimals = 2\n",
        &loosened,
    );
    let r = fleet.reload_registry();
    assert!(r.risk_updated);
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert!(
        r.errors[0].contains("quantity_decimals") && r.errors[0].contains("next start"),
        "{}",
        r.errors[0]
    );
    let core = fleet.core();
    assert_eq!(core.risk.config().max_open_positions_for(&a), 2);
    assert_eq!(core.risk.config().daily_loss_pct, Some(0.03));
    assert_eq!(core.risk.config().quantity_decimals, 6);
}
