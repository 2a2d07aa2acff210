//! The venue connectors over loopback, against the fake venues:
//!
//! - `roundtrip`: one market order at a time through a connector's `submit` (signed for
//!   Binance), request to the venue's answer: p50/p99 over `--orders` orders (default 300).
//! - `bars`: a 20-bot fleet on a fake Alpaca's live bars (its clock at 60x): from a bar's
//!   arrival from the stream to the start of a bot tick due at that bar's close, through
//!   the bar store (p50/p99), over `--secs` real seconds (default 30).
//!
//! Run: `./scripts/build-bots.sh && cargo bench -p flotilla --bench venues [-- --only roundtrip|bars] [--orders N] [--secs N]`.

use flotilla::clock::{ScaledClock, SchedClock};
use flotilla::execution::percentile;
use flotilla::{Fleet, FleetOptions, scheduler};
use flotilla_broker::venue::{Venue, VenueOrderRequest};
use flotilla_config::Registry;
use flotilla_domain::{ClientOrderId, OrderId, Side, Symbol, Timestamp};
use flotilla_venue_fake::{alpaca as fake_alpaca, binance as fake_binance};
use flotilla_venues::Secret;
use flotilla_venues::alpaca::{Alpaca, AlpacaConfig};
use flotilla_venues::binance::{Binance, BinanceConfig};
use rust_decimal::Decimal;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

const KEY: &str = "bench-key";
const SECRET: &str = "bench-secret";

fn main() -> anyhow::Result<()> {
    let arg = |name: &str| std::env::args().skip_while(|a| a != name).nth(1);
    let only = arg("--only").unwrap_or_default();
    let orders: u64 = arg("--orders")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(300);
    let secs: u64 = arg("--secs").map(|s| s.parse()).transpose()?.unwrap_or(30);
    if "roundtrip".contains(&only) {
        roundtrip_alpaca(orders)?;
        roundtrip_binance(orders)?;
    }
    if "bars".contains(&only) {
        bars(secs)?;
    }
    Ok(())
}

fn ms(v: &[u64], p: f64) -> String {
    percentile(v, p).map_or("-".into(), |x| format!("{:.2} ms", x as f64 / 1000.0))
}

fn report(what: &str, samples: &[u64]) {
    println!(
        "{what}: n {}, p50 {}, p99 {}, max {}",
        samples.len(),
        ms(samples, 50.0),
        ms(samples, 99.0),
        ms(samples, 100.0)
    );
}

fn timed(venue: &dyn Venue, symbol: &str, n: u64, qty: Decimal) -> Vec<u64> {
    let mut out = Vec::new();
    for i in 0..n {
        let req = VenueOrderRequest::market(
            ClientOrderId::for_order("bench", OrderId(i + 1)),
            Symbol::new(symbol),
            if i % 2 == 0 { Side::Buy } else { Side::Sell },
            qty,
        );
        let t = Instant::now();
        let r = venue.submit(&req, Timestamp(0));
        out.push(t.elapsed().as_micros() as u64);
        if let Err(e) = r {
            eprintln!("order {i}: {e}");
        }
    }
    out
}

fn roundtrip_alpaca(n: u64) -> anyhow::Result<()> {
    let fake = fake_alpaca::FakeAlpaca::spawn(
        fake_alpaca::FakeAlpacaConfig {
            key_id: KEY.into(),
            secret: SECRET.into(),
            rate_limit: 1_000_000,
            ..Default::default()
        },
        "127.0.0.1:0".parse()?,
    )?;
    let mut config = AlpacaConfig::for_base(&fake.base_url());
    config.requests_per_minute = 1_000_000;
    let venue = Alpaca::connect(config, Secret::new(KEY), Secret::new(SECRET))?;
    let samples = timed(&venue, "AAPL", n, Decimal::ONE);
    report("alpaca: POST /v2/orders round trip over loopback", &samples);
    drop(venue);
    Ok(())
}

fn roundtrip_binance(n: u64) -> anyhow::Result<()> {
    let fake = fake_binance::FakeBinance::spawn(
        fake_binance::FakeBinanceConfig {
            api_key: KEY.into(),
            api_secret: SECRET.into(),
            weight_limit: 10_000_000,
            ..Default::default()
        },
        "127.0.0.1:0".parse()?,
    )?;
    let mut config = BinanceConfig::for_base(&fake.base_url(), vec![Symbol::new("BTC-USDT")]);
    config.weight_per_minute = 10_000_000;
    let venue = Binance::connect(config, Secret::new(KEY), Secret::new(SECRET))?;
    let samples = timed(&venue, "BTC-USDT", n, Decimal::new(1, 3));
    report(
        "binance: signed POST /api/v3/order (FULL) round trip over loopback",
        &samples,
    );
    drop(venue);
    Ok(())
}

fn bars(secs: u64) -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let components = root.join("bots/target/wasm32-wasip2/release");
    anyhow::ensure!(
        components.join("sma_crossover.wasm").exists(),
        "no compiled bots in {}: run ./scripts/build-bots.sh first",
        components.display()
    );
    let speed = 60.0;
    let fake = fake_alpaca::FakeAlpaca::spawn(
        fake_alpaca::FakeAlpacaConfig {
            key_id: KEY.into(),
            secret: SECRET.into(),
            speed,
            ..Default::default()
        },
        "127.0.0.1:0".parse()?,
    )?;
    // SAFETY: set before any thread of this process reads the environment.
    unsafe {
        std::env::set_var("APCA_API_KEY_ID", KEY);
        std::env::set_var("APCA_API_SECRET_KEY", SECRET);
    }
    let dir = tempfile::tempdir()?;
    let mut text = format!(
        "[fleet]\nname = \"bench\"\ncomponents_dir = \"{}\"\n[fleet.broker]\nkind = \"alpaca\"\nurl = \"{}\"\n\
         [fleet.market]\nsource = \"alpaca\"\nsymbols = [\"AAPL\", \"MSFT\", \"BTC-USD\"]\nwarm_up_bars = 60\n",
        components.display(),
        fake.base_url()
    );
    for i in 0..20 {
        let sym = ["AAPL", "MSFT", "BTC-USD"][i % 3];
        text.push_str(&format!(
            "[[bot]]\nid = \"b{i}\"\ncomponent = \"sma_crossover.wasm\"\nevery = \"1m\"\nsymbols = [\"{sym}\"]\n"
        ));
    }
    let path = dir.path().join("fleet.toml");
    std::fs::write(&path, text)?;
    let registry = Registry::load(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let spec = registry.fleet_spec().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut conn = flotilla::connect::connect(&spec, false, speed)?;
    let mut options =
        FleetOptions::new(dir.path().join("ledger.db"), Some(dir.path().join("cache")));
    let (market, now) = conn.live.take().expect("a live market");
    options.live = Some((Arc::new(std::sync::Mutex::new(Some(market))), now));
    let fleet = Arc::new(Fleet::build(&registry, &options)?);
    fleet.start_execution_on(conn.venue.take().expect("a venue"), None)?;
    let start = fleet.start();
    let clock: Arc<dyn SchedClock> = Arc::new(ScaledClock::new(start, speed));
    let until = Timestamp(start.0 + (secs as f64 * speed * 1000.0) as i64);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let (_tx, rx) = tokio::sync::watch::channel(false);
        scheduler::run(fleet.clone(), clock, until, rx).await
    })?;
    fleet.stop_execution();
    report(
        "live bar from the stream → bar store → due bot tick (20 bots, fake clock 60x)",
        &fleet.bar_to_tick_us(),
    );
    Ok(())
}
