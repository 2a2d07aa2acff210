//! What serving a fleet adds to its tick path: the same ticks and host duties run with
//! nobody watching, then with the event hub and metrics attached, the HTTP API serving,
//! one client reading the SSE stream and `/metrics` scraped every second.
//!
//! The fleet is 100 SMA bots on the simulator, each ticking every simulated minute, driven
//! directly (`run_tick`, then the minute's host duties) so the figure is the tick path's
//! own CPU, not the scheduler's sleeps. CPU is the whole process's (user + system), so the
//! server's and the stream reader's threads count against the watched run.
//!
//! Run: `./scripts/build-bots.sh && cargo bench -p flotilla --bench ops [-- --minutes N]`.

use flotilla::port::Port;
use flotilla::{Fleet, FleetOptions};
use flotilla_config::Registry;
use flotilla_domain::Timestamp;
use flotilla_telemetry::{FleetPort, Telemetry};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BOTS: usize = 100;
const RUNS: usize = 3;

fn main() -> anyhow::Result<()> {
    let arg = |name: &str| std::env::args().skip_while(|a| a != name).nth(1);
    let minutes: i64 = arg("--minutes")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(120);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let components = root.join("bots/target/wasm32-wasip2/release");
    anyhow::ensure!(
        components.join("sma_crossover.wasm").exists(),
        "no compiled bots in {}: run ./scripts/build-bots.sh first",
        components.display()
    );
    let cache = tempfile::tempdir()?;
    let mut text = format!(
        "[fleet]\nname = \"bench\"\ncomponents_dir = \"{}\"\nstarting_cash = \"10000000\"\n\
         [fleet.risk]\nmax_open_positions = 5000\nmax_open_positions_per_bot = 10\n\
         [fleet.market]\nseed = 11\nsymbols = [\"AAPL\", \"MSFT\", \"SPY\", \"QQQ\"]\n\
         start = \"2026-01-05T14:30:00Z\"\n",
        components.display()
    );
    for i in 0..BOTS {
        let sym = ["AAPL", "MSFT", "SPY", "QQQ"][i % 4];
        text.push_str(&format!(
            "[[bot]]\nid = \"s{i}\"\ncomponent = \"sma_crossover.wasm\"\nevery = \"1m\"\n\
             symbols = [\"{sym}\"]\n[bot.params]\nfast = 3\nslow = 8\n"
        ));
    }
    let registry = Registry::parse(&text, PathBuf::from("bench.toml"))?;
    println!(
        "tick path, {BOTS} bots x {minutes} simulated minutes, best of {RUNS} (CPU µs per bot tick)"
    );
    let (mut plain, mut counted, mut served) = (f64::MAX, f64::MAX, f64::MAX);
    let mut ticks = 0;
    for _ in 0..RUNS {
        // Interleaved, so a busy machine weighs on all alike.
        let (p, n) = one(&registry, cache.path(), minutes, Watch::None)?;
        let (c, _) = one(&registry, cache.path(), minutes, Watch::Hub)?;
        let (s, _) = one(&registry, cache.path(), minutes, Watch::Served)?;
        plain = plain.min(p);
        counted = counted.min(c);
        served = served.min(s);
        ticks = n;
    }
    let pct = |x: f64| (x / plain - 1.0) * 100.0;
    println!("  unwatched                                {plain:>8.1} µs  ({ticks} ticks)");
    println!(
        "  hub and metrics attached, nobody reading {counted:>8.1} µs  ({:+.1}%)",
        pct(counted)
    );
    println!(
        "  + API serving, an SSE reader, scrapes    {served:>8.1} µs  ({:+.1}%)",
        pct(served)
    );
    Ok(())
}

/// Who watches a run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Watch {
    /// Nobody: no hub, no metrics.
    None,
    /// The hub and metrics are attached; no server.
    Hub,
    /// The API serves, one client reads the stream, `/metrics` is scraped every second.
    Served,
}

/// One run; (CPU µs per tick, ticks).
fn one(
    registry: &Registry,
    cache: &Path,
    minutes: i64,
    watch: Watch,
) -> anyhow::Result<(f64, u64)> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("ledger.db");
    let options = FleetOptions::new(&db, Some(cache.to_path_buf()));
    let fleet = Arc::new(Fleet::build(registry, &options)?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let mut stop = None;
    if watch == Watch::Hub {
        Port::attach(fleet.clone(), Arc::new(Telemetry::default()), &db);
    }
    if watch == Watch::Served {
        let port = Port::attach(fleet.clone(), Arc::new(Telemetry::default()), &db);
        let port: Arc<dyn FleetPort> = port;
        let (tokens, _) = flotilla_api::Tokens::load_or_create(&dir.path().join("tokens"))?;
        let token = std::fs::read_to_string(dir.path().join("tokens"))?
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string();
        let state = flotilla_api::ApiState::new(port, tokens, &[])?;
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        rt.spawn(flotilla_api::serve(listener, state));
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        // One stream reader and a scraper, as a dashboard and Prometheus would be.
        let (d1, d2, t1, t2) = (done.clone(), done.clone(), token.clone(), token);
        let reader = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            write!(
                s,
                "GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t1}\r\n\r\n"
            )
            .unwrap();
            s.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let mut buf = [0u8; 65536];
            let mut bytes = 0usize;
            while !d1.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(n) = s.read(&mut buf) {
                    bytes += n;
                }
            }
            bytes
        });
        let scraper = std::thread::spawn(move || {
            while !d2.load(std::sync::atomic::Ordering::Relaxed) {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                write!(
                    s,
                    "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t2}\r\nConnection: close\r\n\r\n"
                )
                .unwrap();
                let mut out = String::new();
                let _ = s.read_to_string(&mut out);
                std::thread::sleep(Duration::from_secs(1));
            }
        });
        stop = Some((done, reader, scraper));
    }
    let handles = fleet.handles();
    let start = fleet.start();
    let (cpu0, wall0) = (cpu(), Instant::now());
    let mut ticks = 0u64;
    for m in 1..=minutes {
        let now = Timestamp(start.0 + m * 60_000);
        fleet.on_minute(now, m % 15 == 0)?;
        for h in &handles {
            fleet.run_tick(h, now, now)?;
            ticks += 1;
        }
    }
    let cpu_us = (cpu() - cpu0).as_secs_f64() * 1e6;
    let _ = wall0;
    if let Some((done, reader, scraper)) = stop {
        // Let the stream reader drain what the run published before stopping it.
        std::thread::sleep(Duration::from_millis(300));
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        let bytes = reader.join().unwrap();
        scraper.join().unwrap();
        assert!(bytes > 0, "the stream reader heard nothing");
    }
    drop(rt);
    Ok((cpu_us / ticks as f64, ticks))
}

/// User + system CPU time of this process so far.
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    Duration::from_millis(f.iter().sum::<u64>() * 10)
}
