//! Loading components: bad bytes and foreign contract versions are refused clearly.

use crate::support::bot;
use flotilla_runtime::{Runtime, RuntimeConfig, RuntimeError};

#[test]
fn bytes_that_are_not_a_component_are_refused() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    let err = rt.load_bytes(b"not wasm at all", "junk.wasm").unwrap_err();
    assert!(matches!(err, RuntimeError::Compile { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("junk.wasm is not a valid WebAssembly component"),
        "{err}"
    );
}

#[test]
fn a_component_built_for_another_contract_version_is_refused_by_name() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    let bytes = std::fs::read(bot("sma_crossover")).unwrap();
    // Same length, so the binary stays well-formed: only the version differs.
    let from = b"flotilla:bot/strategy@0.7.0";
    let to = b"flotilla:bot/strategy@0.0.9";
    let mut patched = bytes.clone();
    let mut n = 0;
    for i in 0..patched.len() - from.len() {
        if &patched[i..i + from.len()] == from {
            patched[i..i + from.len()].copy_from_slice(to);
            n += 1;
        }
    }
    assert!(n > 0, "the component names its contract");
    let err = rt.load_bytes(&patched, "old.wasm").unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, RuntimeError::ContractMismatch { .. }),
        "{text}"
    );
    assert!(
        text.contains("flotilla:bot@0.0.9")
            && text.contains("`flotilla:bot@0.7.0` and `flotilla:bot@0.6.0`"),
        "{text}"
    );
}

#[test]
fn the_compilation_cache_serves_a_second_load() {
    let dir = tempfile::tempdir().unwrap();
    let config = RuntimeConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let rt = Runtime::new(config.clone()).unwrap();
    let first = rt.load_file(&bot("rsi_reversion")).unwrap();
    assert!(!first.from_cache);
    let rt2 = Runtime::new(config).unwrap();
    let second = rt2.load_file(&bot("rsi_reversion")).unwrap();
    assert!(second.from_cache);
    assert_eq!(first.hash, second.hash);
}

/// `bytes` with a custom section appended: the same bot, different content hash.
pub fn distinct_copy(bytes: &[u8], n: usize) -> Vec<u8> {
    let name = format!("flotilla-test-copy-{n}");
    let mut section = vec![name.len() as u8];
    section.extend_from_slice(name.as_bytes());
    let mut out = bytes.to_vec();
    out.push(0); // custom section id
    out.push(section.len() as u8); // LEB128 length (< 128)
    out.extend_from_slice(&section);
    out
}

#[test]
fn a_warm_cache_loads_fifty_bots_much_faster_than_a_cold_start() {
    let _serial = crate::support::timing();
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(bot("sma_crossover")).unwrap();
    let paths: Vec<_> = (0..50)
        .map(|i| {
            let p = dir.path().join(format!("bot{i}.wasm"));
            std::fs::write(&p, distinct_copy(&bytes, i)).unwrap();
            p
        })
        .collect();
    let config = RuntimeConfig {
        cache_dir: Some(dir.path().join("cache")),
        ..Default::default()
    };
    let load_all = || {
        let rt = Runtime::new(config.clone()).unwrap();
        let start = std::time::Instant::now();
        let loaded: Vec<_> = paths.iter().map(|p| rt.load_file(p).unwrap()).collect();
        (start.elapsed(), loaded)
    };
    let (cold, first) = load_all();
    let (warm, second) = load_all();
    println!("50 bots: cold start {cold:?}, warm cache {warm:?}");
    assert!(first.iter().all(|c| !c.from_cache));
    assert!(second.iter().all(|c| c.from_cache));
    assert_eq!(
        first
            .iter()
            .map(|c| &c.hash)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        50
    );
    assert!(warm * 3 < cold, "warm {warm:?} vs cold {cold:?}");
}

/// A quiet tick of a run costs one host call: `next-tick` hands in the newest bar of the
/// series the bot read last tick (contract 0.5.0), so the SDK's window needs no `bar-at`.
#[test]
fn a_quiet_tick_of_a_run_is_one_host_call() {
    use flotilla_domain::Timeframe;
    use flotilla_domain::{Bar, BotId, Symbol, Timestamp};
    use flotilla_market::{BarStore, SharedBars};
    use flotilla_runtime::{BotInstance, HostIo, NextTick, SandboxLimits, Ticks};
    use std::sync::Arc;

    const MINUTE: i64 = 60_000;
    let sym = Symbol::new("AAA");
    // A flat price: the SMA bot never crosses, so no tick has intents and the run goes on.
    fn bar(i: i64) -> Bar {
        Bar {
            time: Timestamp(i * MINUTE),
            open: 100.0,
            high: 100.0,
            low: 100.0,
            close: 100.0,
            volume: 1.0,
        }
    }
    let mut store = BarStore::new();
    for i in 0..40 {
        store.push_m1(&sym, bar(i)).unwrap();
    }
    let market = SharedBars::new(store);
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    let component = rt.load_file(&bot("sma_crossover")).unwrap();
    let io = HostIo::new(
        BotId::new("sma"),
        vec![sym.clone()],
        Arc::new(market.clone()),
    );
    let mut inst = BotInstance::new(&rt, &component, io, SandboxLimits::default(), 7).unwrap();
    let params = [("fast", "5"), ("slow", "10")].map(|(k, v)| (k.to_string(), v.to_string()));
    inst.init(&params).unwrap();

    // Each tick the source hands out, the market first gains that minute's bar.
    const MORE: i64 = 50;
    let (feed, mut next) = (market.clone(), 40);
    let source = Box::new(move || {
        if next >= 40 + MORE {
            return None;
        }
        feed.write()
            .push_m1(&Symbol::new("AAA"), bar(next))
            .unwrap();
        next += 1;
        let time = Timestamp(next * MINUTE);
        Some(NextTick {
            scheduled: time,
            time,
            capital: 1_000.0,
            positions: Arc::from([]),
        })
    });
    let out = inst.run(Timestamp(40 * MINUTE), 1_000.0, Some(source));
    let result = out.result.unwrap();
    assert_eq!(out.ticks, 1 + MORE as u64, "one run handled every tick");
    assert!(result.intents.is_empty() && result.violations.is_empty());
    // The first tick reads its newest bar and fetches the window (2 calls); each later
    // tick is its `next-ticks` alone (this source plans no batch); the last says none.
    assert_eq!(result.host_calls, 2 + MORE as u64 + 1);

    // A source that plans: the same ticks come in batches, a few calls in all.
    struct Planned {
        feed: SharedBars,
        next: i64,
        end: i64,
    }
    impl Ticks for Planned {
        fn next(&mut self) -> Option<NextTick> {
            if self.next >= self.end {
                return None;
            }
            let sym = Symbol::new("AAA");
            self.feed.write().push_m1(&sym, bar(self.next)).unwrap();
            self.next += 1;
            let time = Timestamp(self.next * MINUTE);
            Some(NextTick {
                scheduled: time,
                time,
                capital: 1_000.0,
                positions: Arc::from([]),
            })
        }
        fn plan(&mut self, _: &Symbol, _: Timeframe, max: usize, out: &mut Vec<(Timestamp, Bar)>) {
            let ahead = (self.next..self.end).take(max);
            out.extend(ahead.map(|i| (Timestamp((i + 1) * MINUTE), bar(i))));
        }
    }
    let end = 40 + 2 * MORE;
    let planned = Planned {
        feed: market.clone(),
        next: 40 + MORE,
        end,
    };
    let out = inst.run(
        Timestamp((40 + MORE) * MINUTE),
        1_000.0,
        Some(Box::new(planned)),
    );
    let result = out.result.unwrap();
    assert_eq!(out.ticks, 1 + MORE as u64, "every planned tick ran");
    assert_eq!(
        out.last.map(|(_, t)| t),
        Some(Timestamp(end * MINUTE)),
        "the host caught up"
    );
    let newest = market.read().last_price(&sym).unwrap();
    assert_eq!(
        newest.1,
        Timestamp(end * MINUTE),
        "and moved the market to the last one"
    );
    // The first tick's read, batches of at most 2 s / 50 ms = 40 ticks, then none.
    assert_eq!(result.host_calls, 1 + (MORE as u64).div_ceil(40) + 1);
}
