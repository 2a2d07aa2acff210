//! API latency with a big ledger: 1,000 bots and 1,000,000 fills, bulk-inserted, then
//! p50/p99 of `GET /api/v1/bots`, `/positions` and `/verdicts` over loopback.
//!
//! `cargo bench -p flotilla-api` (or `cargo run --release -p flotilla-api --bench api`
//! for a quicker build). `FLOTILLA_BENCH_FILLS` changes the number of fills.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

const BOTS: usize = 1000;
const REQUESTS: usize = 300;

/// Bulk-inserts the ledger in one transaction, straight into the schema the ledger made.
fn build(path: &std::path::Path, fills: usize) {
    drop(flotilla_ledger::Ledger::open(path).unwrap());
    let mut c = rusqlite::Connection::open(path).unwrap();
    c.pragma_update(None, "synchronous", "OFF").unwrap();
    let tx = c.transaction().unwrap();
    {
        let mut bot = tx
            .prepare("INSERT INTO bots (id, first_seen) VALUES (?1, 0)")
            .unwrap();
        let mut ver = tx
            .prepare(
                "INSERT INTO bot_versions (bot, version, content_hash, component_path, loaded_at, status) \
                 VALUES (?1, '1.0.0', 'h', 'p', 0, 'ok')",
            )
            .unwrap();
        for b in 0..BOTS {
            let id = bot_id(b);
            bot.execute([&id]).unwrap();
            ver.execute([&id]).unwrap();
        }
        let mut tick = tx
            .prepare(
                "INSERT INTO ticks (id, bot, seq, scheduled_at, started_at, lateness_ms, duration_us, outcome, n_intents) \
                 VALUES (?1, ?2, ?3, ?4, ?4, 1, 200, 'ok', 1)",
            )
            .unwrap();
        let mut intent = tx
            .prepare(
                "INSERT INTO intents (id, tick_id, bot, symbol, action, quantity, tag, verdict, reason, detail) \
                 VALUES (?1, ?2, ?3, 'BTCUSD', 'buy', '1', 't', ?4, ?5, '{}')",
            )
            .unwrap();
        let mut order = tx
            .prepare(
                "INSERT INTO orders (id, intent_id, bot, symbol, side, quantity, time, tag, status, state, filled_quantity) \
                 VALUES (?1, ?2, ?3, 'BTCUSD', ?4, '1', ?5, 't', 'filled', 'filled', '1')",
            )
            .unwrap();
        let mut fill = tx
            .prepare(
                "INSERT INTO fills (order_id, bot, symbol, side, quantity, price, fee, time, realized_pnl, tag) \
                 VALUES (?1, ?2, 'BTCUSD', ?3, '1', '100.25', '0.01', ?4, ?5, 't')",
            )
            .unwrap();
        let reasons = ["daily_loss", "max_exposure", "rate_limit", "max_positions"];
        // One tick per fill, and a refused intent every fourth tick.
        let mut intent_id = 0i64;
        for i in 0..fills as i64 {
            let b = bot_id(i as usize % BOTS);
            let t = i * 1000;
            tick.execute(rusqlite::params![i + 1, b, i / BOTS as i64, t])
                .unwrap();
            intent_id += 1;
            intent
                .execute(rusqlite::params![
                    intent_id,
                    i + 1,
                    b,
                    "approved",
                    None::<String>
                ])
                .unwrap();
            let side = if i % 2 == 0 { "buy" } else { "sell" };
            order
                .execute(rusqlite::params![i + 1, intent_id, b, side, t])
                .unwrap();
            let pnl = if i % 2 == 0 { "0" } else { "0.5" };
            fill.execute(rusqlite::params![i + 1, b, side, t, pnl])
                .unwrap();
            if i % 4 == 0 {
                intent_id += 1;
                intent
                    .execute(rusqlite::params![
                        intent_id,
                        i + 1,
                        b,
                        "refused",
                        Some(reasons[(i / 4) as usize % reasons.len()])
                    ])
                    .unwrap();
            }
        }
    }
    tx.commit().unwrap();
}

fn bot_id(i: usize) -> String {
    format!("bot{i:04}")
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn measure(s: &support::Server, path: &str) -> (Duration, Duration, Duration, usize) {
    // The first request folds the whole history into the reader's figures.
    let t = Instant::now();
    let first = s.get(path).await;
    assert_eq!(first.status(), 200, "{path}");
    let first_time = t.elapsed();
    let bytes = first.bytes().await.unwrap().len();
    let mut times = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let t = Instant::now();
        let r = s.get(path).await;
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    (first_time, pct(&times, 0.5), pct(&times, 0.99), bytes)
}

fn main() {
    let fills: usize = std::env::var("FLOTILLA_BENCH_FILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let t = Instant::now();
    build(&path, fills);
    let size = std::fs::metadata(&path).unwrap().len();
    println!(
        "ledger: {BOTS} bots, {fills} fills, {} MB, built in {:.1?}",
        size / 1_000_000,
        t.elapsed()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // The fixture's three bots plus BOTS - 3 more live bots, like a 1,000-bot fleet.
        let port = std::sync::Arc::new(support::TestPort::new(&path, BOTS - 3, 4096));
        let s = support::start_with(dir, port, "", &[]).await;
        println!("{REQUESTS} sequential requests each over loopback (after one warm-up):");
        for path in [
            "/api/v1/bots",
            "/api/v1/bots?limit=1000",
            "/api/v1/positions",
            "/api/v1/verdicts",
            "/api/v1/verdicts?verdict=refused&reason=rate_limit",
            "/api/v1/verdicts?bot=bot0500",
            "/api/v1/verdicts/reasons",
            "/api/v1/fills?bot=bot0007",
            "/api/v1/fleet",
        ] {
            let (first, p50, p99, bytes) = measure(&s, path).await;
            println!(
                "  GET {path:<52} first {first:>9.2?}  p50 {p50:>9.2?}  p99 {p99:>9.2?}  ({bytes} bytes)"
            );
        }
        s.task.abort();
    });
}
