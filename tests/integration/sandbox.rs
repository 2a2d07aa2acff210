//! A misbehaving bot hurts only itself: hostile bots beside a healthy one.

use crate::support::{fleet, registry, run_for};

#[test]
fn hostile_bots_are_contained_while_a_healthy_bot_keeps_its_schedule() {
    let _serial = crate::support::timing();
    let dir = tempfile::tempdir().unwrap();
    let hostile = [
        "hostile_loop",
        "hostile_memory",
        "hostile_trap",
        "hostile_recursion",
    ];
    let mut body = String::from(
        r#"
[[bot]]
id = "healthy"
component = "fixed_order.wasm"
every = "100ms"
symbols = ["AAPL"]
[bot.params]
side = "target"
qty = 1
"#,
    );
    for h in hostile {
        body.push_str(&format!(
            "\n[[bot]]\nid = \"{h}\"\ncomponent = \"{h}.wasm\"\nevery = \"100ms\"\nsymbols = [\"AAPL\"]\n[bot.limits]\nmemory_mb = 16\ndeadline_ms = 50\n"
        ));
    }
    let reg = registry(dir.path(), &body);
    let fleet = fleet(dir.path(), &reg);
    assert_eq!(fleet.handles().len(), 5);
    // Three real seconds, 30 runs of every bot's schedule.
    let stats = run_for(&fleet, 1.0, 3_000);
    let core = fleet.core();
    let summaries = core.ledger.bot_summaries().unwrap();
    let get = |id: &str| {
        summaries
            .iter()
            .find(|s| s.bot.as_str() == id)
            .unwrap()
            .clone()
    };
    let healthy = get("healthy");
    assert!(
        healthy.ticks >= 28,
        "healthy bot kept its schedule: {healthy:?} {stats:?}"
    );
    assert_eq!(healthy.errors, 0);
    assert_eq!(
        stats[&flotilla_domain::BotId::new("healthy")].skipped,
        0,
        "the healthy bot never overran"
    );
    for h in hostile {
        let s = get(h);
        assert!(s.errors >= 3, "{h} failed and was recorded: {s:?}");
        assert_eq!(s.trades, 0);
    }
    // Three failures in a row quarantine a bot; the event names what went wrong.
    let events = core.ledger.events(100).unwrap();
    let quarantine = |id: &str| {
        events
            .iter()
            .find(|e| e.kind == "quarantine" && e.bot.as_ref().is_some_and(|b| b.as_str() == id))
            .map(|e| e.message.clone())
            .unwrap_or_else(|| panic!("{id} was not quarantined: {events:#?}"))
    };
    assert!(quarantine("hostile_loop").contains("deadline exceeded"));
    assert!(quarantine("hostile_memory").contains("memory limit exceeded"));
    let recursion = quarantine("hostile_recursion");
    // Rust guests keep their call stack in linear memory, so runaway recursion usually
    // hits the bottom of memory before wasmtime's own stack guard: either way, a trap.
    assert!(
        recursion.contains("stack overflow") || recursion.contains("out of bounds memory access"),
        "{recursion}"
    );
    assert!(quarantine("hostile_trap").contains("trap"));
    for h in hostile {
        assert_eq!(
            get(h).last_outcome.map(|o| o.to_string()).as_deref(),
            Some("quarantined")
        );
    }
    assert!(
        events
            .iter()
            .all(|e| e.bot.as_ref().is_none_or(|b| b.as_str() != "healthy"))
    );
}

#[test]
fn bad_outputs_and_greedy_imports_are_refused_at_the_boundary() {
    let _serial = crate::support::timing();
    let dir = tempfile::tempdir().unwrap();
    let bot = |id: &str, component: &str, params: &str| {
        format!(
            "\n[[bot]]\nid = \"{id}\"\ncomponent = \"{component}.wasm\"\nevery = \"100ms\"\nsymbols = [\"AAPL\"]\n[bot.limits]\nmemory_mb = 32\ndeadline_ms = 50\n[bot.params]\n{params}\n"
        )
    };
    let body = [
        bot("healthy", "fixed_order", "side = \"target\"\nqty = 1"),
        bot("flood", "hostile_flood", "count = 100"),
        bot(
            "bigstring",
            "hostile_flood",
            "mode = \"bigstring\"\nsize = 1000000",
        ),
        bot("nan", "hostile_nan", ""),
        bot("ungranted", "hostile_ungranted", ""),
        bot("spinner", "hostile_spin_imports", ""),
        bot("init-trap", "hostile_trap", "trap_in = \"init\""),
    ]
    .concat();
    let reg = crate::support::registry(dir.path(), &body);
    let fleet = fleet(dir.path(), &reg);
    // A bot that traps in init never joins; the others do.
    assert!(fleet.handle("init-trap").is_none());
    assert_eq!(fleet.handles().len(), 6);
    let stats = run_for(&fleet, 1.0, 2_000);
    let core = fleet.core();
    let summaries = core.ledger.bot_summaries().unwrap();
    let get = |id: &str| {
        summaries
            .iter()
            .find(|s| s.bot.as_str() == id)
            .unwrap()
            .clone()
    };
    let healthy = get("healthy");
    assert!(
        healthy.ticks >= 18 && healthy.errors == 0,
        "{healthy:?} {stats:?}"
    );
    let events = core.ledger.events(500).unwrap();
    let has = |bot: &str, kind: &str, text: &str| {
        events.iter().any(|e| {
            e.bot.as_ref().is_some_and(|b| b.as_str() == bot)
                && e.kind == kind
                && e.message.contains(text)
        })
    };
    assert!(
        has("flood", "intent_rejected", "too_many_intents"),
        "{events:#?}"
    );
    assert!(
        has("bigstring", "intent_rejected", "tag_too_long"),
        "{events:#?}"
    );
    assert!(has("nan", "intent_rejected", "invalid_quantity"));
    assert!(has("nan", "intent_rejected", "invalid_confidence"));
    assert!(has("ungranted", "sandbox_violation", "not granted"));
    assert!(has("ungranted", "intent_rejected", "ungranted_symbol"));
    assert!(has("spinner", "quarantine", "deadline exceeded"));
    assert!(
        has("init-trap", "load_failed", "init failed"),
        "{events:#?}"
    );
    for bot in ["flood", "bigstring", "nan", "ungranted", "spinner"] {
        assert_eq!(get(bot).trades, 0, "{bot} never traded");
    }
}
