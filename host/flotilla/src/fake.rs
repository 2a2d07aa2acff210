//! `flotilla venue fake-alpaca|fake-binance`: a loopback fake venue for rehearsals and
//! tests, speaking the documented subset of the venue's API on one port.

use anyhow::{Context, Result, bail};
use flotilla_domain::Symbol;
use std::net::SocketAddr;

/// Which fake.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FakeKind {
    /// Alpaca's Trading API v2, its streams and market data.
    FakeAlpaca,
    /// Binance Spot: REST, signed requests, filters, kline streams.
    FakeBinance,
}

/// Options of `flotilla venue`.
#[derive(clap::Args, Debug, Clone)]
pub struct VenueArgs {
    /// Which fake venue.
    pub kind: FakeKind,
    /// Address to listen on; only loopback addresses are accepted.
    #[arg(long, default_value = "127.0.0.1:9100")]
    pub listen: SocketAddr,
    /// Fake seconds per real second of the venue's clock (the host follows it with the
    /// same `--speed`).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Seed of the fake's market.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Requests (Alpaca) or request weight (Binance) allowed per minute.
    #[arg(long)]
    pub rate_limit: Option<u32>,
    /// Symbols with their first prices, e.g. `AAPL=190,BTC-USD=60000` (Binance:
    /// `BTC-USDT=60000`); default: the fake's own list.
    #[arg(long, value_delimiter = ',')]
    pub symbols: Vec<String>,
}

fn parse_symbols(list: &[String]) -> Result<Vec<(String, f64)>> {
    list.iter()
        .map(|s| {
            let (sym, price) = s
                .split_once('=')
                .with_context(|| format!("--symbols {s:?}: write SYMBOL=PRICE"))?;
            let p: f64 = price
                .parse()
                .ok()
                .filter(|p: &f64| p.is_finite() && *p > 0.0)
                .with_context(|| format!("--symbols {s:?}: the price must be positive"))?;
            Ok((sym.trim().to_string(), p))
        })
        .collect()
}

/// Credentials the fake expects: the same environment variables the host reads, or the
/// fake's built-in test ones when they are unset (never printed: the operator set them).
fn env_or(name: &str, default: &str) -> (String, bool) {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => (v.trim().to_string(), true),
        _ => (default.to_string(), false),
    }
}

/// Runs the fake until Ctrl-C.
pub fn command(args: VenueArgs) -> Result<()> {
    if !args.listen.ip().is_loopback() {
        bail!(
            "--listen {}: a fake venue listens on loopback only",
            args.listen
        );
    }
    if !(args.speed.is_finite() && args.speed > 0.0) {
        bail!("--speed must be a positive number");
    }
    let symbols = parse_symbols(&args.symbols)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let base = format!("http://{}", listener.local_addr()?);
        let (key_var, secret_var, serve) = match args.kind {
            FakeKind::FakeAlpaca => {
                use flotilla_venue_fake::alpaca::{FakeAlpacaConfig, serve};
                let mut c = FakeAlpacaConfig::default();
                let (k, kset) = env_or(flotilla_venues::alpaca::KEY_ENV, &c.key_id);
                let (s, _) = env_or(flotilla_venues::alpaca::SECRET_ENV, &c.secret);
                c.key_id = k;
                c.secret = s;
                c.speed = args.speed;
                c.seed = args.seed;
                if let Some(n) = args.rate_limit {
                    c.rate_limit = n;
                }
                if !symbols.is_empty() {
                    c.symbols = symbols.iter().map(|(s, p)| (Symbol::new(s), *p)).collect();
                }
                let hint = (!kset).then(|| {
                    format!(
                        "export {}={} {}={}",
                        flotilla_venues::alpaca::KEY_ENV,
                        c.key_id,
                        flotilla_venues::alpaca::SECRET_ENV,
                        c.secret
                    )
                });
                let fut: std::pin::Pin<
                    Box<dyn std::future::Future<Output = std::io::Result<()>> + Send>,
                > = Box::pin(serve(c, listener));
                (hint, "alpaca", fut)
            }
            FakeKind::FakeBinance => {
                use flotilla_venue_fake::binance::{FakeBinance, FakeBinanceConfig, FakeSymbol};
                let mut c = FakeBinanceConfig::default();
                let (k, kset) = env_or(flotilla_venues::binance::KEY_ENV, &c.api_key);
                let (s, _) = env_or(flotilla_venues::binance::SECRET_ENV, &c.api_secret);
                c.api_key = k;
                c.api_secret = s;
                c.speed = args.speed;
                c.seed = args.seed;
                if let Some(n) = args.rate_limit {
                    c.weight_limit = n;
                }
                if !symbols.is_empty() {
                    c.symbols = symbols
                        .iter()
                        .map(|(s, p)| {
                            let (base, quote) = s.split_once('-').unwrap_or((s.as_str(), "USDT"));
                            FakeSymbol::new(base, quote, *p)
                        })
                        .collect();
                }
                let hint = (!kset).then(|| {
                    format!(
                        "export {}={} {}={}",
                        flotilla_venues::binance::KEY_ENV,
                        c.api_key,
                        flotilla_venues::binance::SECRET_ENV,
                        c.api_secret
                    )
                });
                let fut: std::pin::Pin<
                    Box<dyn std::future::Future<Output = std::io::Result<()>> + Send>,
                > = Box::pin(FakeBinance::serve(c, listener));
                (hint, "binance", fut)
            }
        };
        println!(
            "fake {secret_var} venue on {base} (clock {}x); Ctrl-C stops it",
            args.speed
        );
        match key_var {
            Some(hint) => {
                println!("no keys in the environment: it takes its built-in test keys; {hint}")
            }
            None => println!("it expects the keys in the environment"),
        }
        println!("registry: [fleet.broker] kind = \"{secret_var}\", url = \"{base}\"");
        tokio::select! {
            r = serve => r.context("the fake venue stopped")?,
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok(())
    })
}
