//! The real binary against each fake venue on 127.0.0.1: a 20-bot fleet streaming live
//! bars with faults injected (a lost answer, 5xx after placing, dropped streams), the
//! ledger checked order by order against the venue's book, secrets searched for in every
//! output, and `kill -9` at random points with nothing sent twice and no fill lost.

use flotilla_domain::{Decimal, OrderState, Side, Symbol};
use flotilla_ledger::Ledger;
use flotilla_venue_fake::{alpaca, binance, sim::Faults};
use flotilla_venue_paper::{ClientOrderId, PaperVenue};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Credentials only these tests use, distinctive enough to search for in every output.
const KEY: &str = "FLKEY9c1e7a5d";
const SECRET: &str = "FLSECRET-b83d2f-never-print-me";

/// The fake venue's clock speed, which the host follows (`--speed`).
const SPEED: f64 = 120.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    Alpaca,
    Binance,
}

enum Fake {
    Alpaca(alpaca::FakeServer),
    Binance(binance::FakeServer),
}

impl Fake {
    fn start(which: Which, rate: Option<(u32, Duration)>) -> Fake {
        let addr = "127.0.0.1:0".parse().unwrap();
        match which {
            Which::Alpaca => {
                let mut c = alpaca::FakeAlpacaConfig {
                    key_id: KEY.into(),
                    secret: SECRET.into(),
                    speed: SPEED,
                    ..Default::default()
                };
                if let Some((n, w)) = rate {
                    c.rate_limit = n;
                    c.rate_window = w;
                }
                Fake::Alpaca(alpaca::FakeAlpaca::spawn(c, addr).unwrap())
            }
            Which::Binance => {
                let c = binance::FakeBinanceConfig {
                    api_key: KEY.into(),
                    api_secret: SECRET.into(),
                    speed: SPEED,
                    ..Default::default()
                };
                Fake::Binance(binance::FakeBinance::spawn(c, addr).unwrap())
            }
        }
    }

    fn url(&self) -> String {
        match self {
            Fake::Alpaca(f) => f.base_url(),
            Fake::Binance(f) => f.base_url(),
        }
    }

    fn paper(&self) -> &PaperVenue {
        match self {
            Fake::Alpaca(f) => f.venue(),
            Fake::Binance(f) => f.paper(),
        }
    }

    fn faults(&self) -> &Faults {
        match self {
            Fake::Alpaca(f) => f.faults(),
            Fake::Binance(f) => f.faults(),
        }
    }

    fn drop_streams(&self, down: Duration) {
        match self {
            Fake::Alpaca(f) => f.drop_streams(down),
            Fake::Binance(f) => f.drop_streams_for(down),
        }
    }
}

/// The venue's name for a host symbol (the fakes key their books by it).
fn venue_symbol(which: Which, s: &Symbol) -> Symbol {
    match which {
        Which::Alpaca => s.clone(),
        Which::Binance => Symbol::new(s.as_str().replace('-', "")),
    }
}

/// A registry of `bots` bots (SMA crossovers and RSI reversions on short windows, so they
/// trade within minutes) on the fake at `url`.
fn registry(dir: &Path, which: Which, url: &str, bots: usize) -> PathBuf {
    let (kind, symbols): (&str, &[&str]) = match which {
        Which::Alpaca => ("alpaca", &["AAPL", "MSFT", "BTC-USD"]),
        Which::Binance => ("binance", &["BTC-USDT", "ETH-USDT"]),
    };
    let list = |s: &[&str]| {
        s.iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = format!(
        r#"
[fleet]
name = "venue-test"
components_dir = "{dir}"
starting_cash = "100000"
[fleet.risk]
max_open_positions = 100
[fleet.broker]
kind = "{kind}"
url = "{url}"
request_timeout_ms = 600
resend_grace_ms = 1500
[fleet.market]
source = "{kind}"
symbols = [{symbols}]
warm_up_bars = 60
bar_wait_ms = 500
"#,
        dir = crate::support::bots_dir().display(),
        symbols = list(symbols),
    );
    for i in 0..bots {
        let sym = symbols[i % symbols.len()];
        let body = if i % 2 == 0 {
            format!(
                "component = \"sma_crossover.wasm\"\n[bot.params]\nfast = {}\nslow = {}\n",
                2 + i % 3,
                5 + i % 4
            )
        } else {
            format!(
                "component = \"rsi_reversion.wasm\"\n[bot.params]\nperiod = {}\noversold = 45\noverbought = 55\n",
                4 + i % 3
            )
        };
        text.push_str(&format!(
            "\n[[bot]]\nid = \"b{i:02}\"\nevery = \"1m\"\nsymbols = [\"{sym}\"]\n{body}"
        ));
    }
    let path = dir.join("fleet.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `flotilla run` on the fake's clock with the test credentials in its environment.
fn flotilla_run(which: Which, reg: &Path, db: &Path, duration: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flotilla"));
    cmd.arg("run")
        .arg("--config")
        .arg(reg)
        .arg("--db")
        .arg(db)
        .args([
            "--speed",
            &SPEED.to_string(),
            "--duration",
            duration,
            "--no-watch",
        ])
        .arg("--cache-dir")
        .arg(crate::support::shared_cache())
        .env("FLOTILLA_LOG", "info");
    let (k, s) = match which {
        Which::Alpaca => ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY"),
        Which::Binance => ("BINANCE_API_KEY", "BINANCE_API_SECRET"),
    };
    cmd.env(k, KEY).env(s, SECRET).env_remove("FLOTILLA_LIVE");
    cmd
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every order the ledger holds, checked against the venue's record of it: an order
/// the ledger has done is done the same at the venue (filled quantity, notional and fees
/// equal); a working one has at least what the ledger booked; every venue order is one of
/// the ledger's, received once. Returns (orders, fills) compared.
fn assert_ledger_matches_venue(which: Which, db: &Path, fake: &Fake) -> (usize, usize) {
    let ledger = Ledger::open(db).unwrap();
    let orders = ledger
        .orders(&flotilla_ledger::OrderFilter::default())
        .unwrap();
    let fills = ledger.all_fills().unwrap();
    let mut booked: BTreeMap<flotilla_domain::OrderId, (Decimal, Decimal, Decimal)> =
        BTreeMap::new();
    for f in &fills {
        let e = booked.entry(f.order_id).or_default();
        e.0 += f.quantity;
        e.1 += f.quantity * f.price;
        e.2 += f.fee;
    }
    let venue = fake.paper();
    assert_eq!(
        venue.duplicate_submissions().unwrap(),
        0,
        "an order reached the venue twice"
    );
    let mut compared = 0;
    let mut venue_known = 0;
    for o in &orders {
        let client = ClientOrderId::parse(o.client_id.as_deref().unwrap()).unwrap();
        let (q, n, fee) = booked.get(&o.id).copied().unwrap_or_default();
        assert_eq!(q, o.filled_quantity, "order {} books its fills", o.id);
        let Some(v) = venue.order(&client).unwrap() else {
            // Never reached the venue: refused before sending, or never sent.
            assert!(
                matches!(o.state, OrderState::Rejected | OrderState::Created),
                "order {} ({:?}) is {} in the ledger but unknown to the venue",
                o.id,
                o.client_id,
                o.state
            );
            assert!(q.is_zero());
            continue;
        };
        venue_known += 1;
        assert_eq!(v.symbol, venue_symbol(which, &o.symbol), "order {}", o.id);
        let vq: Decimal = v.fills.iter().map(|f| f.quantity).sum();
        let vn: Decimal = v.fills.iter().map(|f| f.quantity * f.price).sum();
        let vf: Decimal = v.fills.iter().map(|f| f.fee).sum();
        if o.state.is_terminal() {
            assert_eq!(q, vq, "order {} filled quantity, ledger vs venue", o.id);
            // REST answers give an average price: a fill booked from one is exact to the
            // average's precision.
            assert!(
                (n - vn).abs() <= Decimal::new(1, 4) * q.max(Decimal::ONE),
                "order {} notional, ledger {n} vs venue {vn}",
                o.id
            );
            assert!(
                (fee - vf).abs() <= Decimal::new(1, 6),
                "order {} fees, ledger {fee} vs venue {vf}",
                o.id
            );
            compared += 1;
        } else {
            assert!(
                vq >= q,
                "order {}: the ledger books more than the venue",
                o.id
            );
        }
    }
    let venue_orders = venue.open_orders().unwrap().len();
    assert!(
        venue_known >= venue_orders,
        "the venue holds orders the ledger does not know"
    );
    // Net position per symbol from the ledger's fills equals the venue's, over the orders
    // both have settled (the others may still fill at the venue after the host stopped).
    let mut ledger_net: BTreeMap<Symbol, Decimal> = BTreeMap::new();
    for f in &fills {
        let sign = if f.side == Side::Buy { 1 } else { -1 };
        *ledger_net
            .entry(venue_symbol(which, &f.symbol))
            .or_default() += Decimal::from(sign) * f.quantity;
    }
    let all_settled = orders.iter().all(|o| o.state.is_terminal());
    if all_settled {
        let venue_net = venue.positions().unwrap();
        for (s, q) in &ledger_net {
            assert_eq!(
                venue_net.get(s).copied().unwrap_or_default(),
                *q,
                "{s}: ledger net vs venue"
            );
        }
    }
    (compared, fills.len())
}

/// Every output a run leaves: the run's own, status and orders in both forms, the ledger's
/// files byte for byte.
fn assert_no_secret_anywhere(run_output: &str, db: &Path) {
    let mut outputs = vec![("run".to_string(), run_output.as_bytes().to_vec())];
    for args in [
        vec!["status"],
        vec!["status", "--json"],
        vec!["orders", "--limit", "0"],
        vec!["orders", "--json", "--limit", "0"],
        vec!["allocations"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_flotilla"))
            .args(&args)
            .arg("--db")
            .arg(db)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        outputs.push((args.join(" "), text(&out).into_bytes()));
    }
    let dir = db.parent().unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            outputs.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
    for (what, bytes) in outputs {
        for needle in [KEY, SECRET] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{what} contains a secret"
            );
        }
    }
}

fn twenty_bots_stream_through_faults(which: Which) {
    let _t = crate::support::timing();
    let fake = Fake::start(which, None);
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path(), which, &fake.url(), 20);
    let db = dir.path().join("ledger.db");
    // 40 fake minutes at 120x: about 20 s.
    let child = flotilla_run(which, &reg, &db, "40m")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let f = fake.faults();
    // Answers lost past the client's timeout (orders placed), and the orders invisible
    // to queries for a while: the connector answers "unknown", the execution service asks
    // again without holding other orders, and finds them before its grace period ends.
    std::thread::sleep(Duration::from_secs(5));
    f.not_found_for_ms.store(1_200, Ordering::SeqCst);
    f.delay_after_accept_ms.store(1_500, Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(3));
    f.delay_after_accept_ms.store(0, Ordering::SeqCst);
    f.not_found_for_ms.store(0, Ordering::SeqCst);
    // 5xx after placing, twice.
    f.fail_5xx_after_place.store(1, Ordering::SeqCst);
    f.fail_5xx.store(2, Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(3));
    // Both streams drop for about 4 fake minutes.
    fake.drop_streams(Duration::from_secs(2));
    let out = child.wait_with_output().unwrap();
    let all = text(&out);
    assert!(out.status.success(), "flotilla run failed:\n{all}");
    let (compared, fills) = assert_ledger_matches_venue(which, &db, &fake);
    eprintln!("{which:?}: {compared} settled orders and {fills} fills match the venue");
    assert!(
        fills >= 10,
        "the fleet barely traded ({fills} fills):\n{all}"
    );
    // The dropped feed was backfilled: no minute is missing between the first and last
    // bar the bots were given (the ticks' record shows every minute ticked once).
    let ledger = Ledger::open(&db).unwrap();
    let events = ledger.events(10_000).unwrap();
    assert!(
        events.iter().any(|e| e.kind == "feed_notice"),
        "no feed notice recorded"
    );
    let resolved = events
        .iter()
        .filter(|e| e.kind == "submit_resolved")
        .count();
    eprintln!("{which:?}: {resolved} orders in doubt found again by the service");
    assert_no_secret_anywhere(&all, &db);
}

#[test]
fn twenty_bots_against_the_fake_alpaca_book_what_the_venue_did() {
    twenty_bots_stream_through_faults(Which::Alpaca);
}

#[test]
fn twenty_bots_against_the_fake_binance_book_what_the_venue_did() {
    twenty_bots_stream_through_faults(Which::Binance);
}

fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// `kill -9` at random points while orders are in flight; each restart reconciles with
/// the venue order by order. At the end every order reached the venue at most once and
/// the ledger's fills are the venue's.
fn kill_9_against(which: Which) {
    let _t = crate::support::timing();
    let kills: u32 = std::env::var("FLOTILLA_CHAOS_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let mut seed: u64 = 0x5eed_0000 + which as u64;
    let fake = Fake::start(which, None);
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path(), which, &fake.url(), 8);
    let db = dir.path().join("ledger.db");
    for round in 0..kills {
        let mut child = flotilla_run(which, &reg, &db, "1d")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(2_500 + next(&mut seed) % 3_000));
        assert!(
            child.try_wait().unwrap().is_none(),
            "round {round}: exited early"
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    // A last run that ends cleanly books whatever the venue did meanwhile.
    let out = flotilla_run(which, &reg, &db, "6m").output().unwrap();
    assert!(out.status.success(), "final run failed:\n{}", text(&out));
    let (compared, fills) = assert_ledger_matches_venue(which, &db, &fake);
    eprintln!("{which:?} chaos: {kills} kills, {compared} settled orders, {fills} fills");
    assert!(fills > 0, "nothing traded");
}

#[test]
fn kill_9_against_the_fake_alpaca_sends_nothing_twice_and_loses_no_fill() {
    kill_9_against(Which::Alpaca);
}

#[test]
fn kill_9_against_the_fake_binance_sends_nothing_twice_and_loses_no_fill() {
    kill_9_against(Which::Binance);
}

/// 50 bots send 500 orders in a burst against a fake Alpaca that allows far fewer per
/// window than the client's budget: once the venue says the window is spent (its rate
/// headers, or a 429), nothing goes out until its reset, and every order is in the end
/// placed or refused with a reason.
#[test]
fn a_burst_of_500_orders_waits_for_the_venues_reset_and_all_go_out() {
    let _t = crate::support::timing();
    let window = Duration::from_secs(4);
    let fake = Fake::start(Which::Alpaca, Some((120, window)));
    let dir = tempfile::tempdir().unwrap();
    let mut body = format!(
        r#"
[fleet]
name = "burst"
components_dir = "{dir}"
starting_cash = "10000000"
[fleet.risk]
max_open_positions = 1000
global_rate_limit = {{ max_orders = 10000, window_ms = 60000 }}
bot_rate_limit = {{ max_orders = 100, window_ms = 60000 }}
[fleet.broker]
kind = "alpaca"
url = "{url}"
rate_limit_per_minute = 6000
[fleet.market]
source = "alpaca"
symbols = ["AAPL", "MSFT"]
warm_up_bars = 30
bar_wait_ms = 300
"#,
        dir = crate::support::bots_dir().display(),
        url = fake.url()
    );
    for i in 0..50 {
        let sym = ["AAPL", "MSFT"][i % 2];
        body.push_str(&format!(
            "\n[[bot]]\nid = \"f{i:02}\"\ncomponent = \"fixed_order.wasm\"\nevery = \"1m\"\nsymbols = [\"{sym}\"]\n[bot.params]\nqty = 0.5\nlimit = 10\n"
        ));
    }
    let reg = dir.path().join("fleet.toml");
    std::fs::write(&reg, body).unwrap();
    let db = dir.path().join("ledger.db");
    let started = std::time::Instant::now();
    let child = flotilla_run(Which::Alpaca, &reg, &db, "40m")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Mid-burst, the venue also answers one request with a 429 and a 2 s Retry-After.
    std::thread::sleep(Duration::from_secs(4));
    fake.faults().retry_after_s.store(2, Ordering::SeqCst);
    fake.faults().rate_limited.store(1, Ordering::SeqCst);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let ledger = Ledger::open(&db).unwrap();
    let orders = ledger
        .orders(&flotilla_ledger::OrderFilter::default())
        .unwrap();
    assert_eq!(orders.len(), 500, "every bot's 10 intents became orders");
    let venue = fake.paper();
    let mut placed = 0;
    for o in &orders {
        let client = ClientOrderId::parse(o.client_id.as_deref().unwrap()).unwrap();
        match venue.order(&client).unwrap() {
            Some(_) => placed += 1,
            None => assert!(
                o.state == OrderState::Rejected && o.reason.is_some(),
                "order {} neither placed nor refused with a reason: {}",
                o.id,
                o.state
            ),
        }
    }
    assert_eq!(venue.duplicate_submissions().unwrap(), 0);
    // The venue's window: requests per window never beyond its limit by more than the
    // few already in flight when it said stop, and after each 429 nothing until reset.
    let journal = match &fake {
        Fake::Alpaca(f) => f.journal(),
        Fake::Binance(_) => unreachable!(),
    };
    let rest: Vec<_> = journal.iter().filter(|e| e.method != "WS").collect();
    let too_many: Vec<_> = rest.iter().filter(|e| e.status == 429).collect();
    let windows = started.elapsed().as_secs_f64() / window.as_secs_f64();
    assert!(
        (too_many.len() as f64) <= windows + 2.0,
        "{} 429s in {windows:.0} windows: the client kept sending into a spent window",
        too_many.len()
    );
    assert!(!too_many.is_empty(), "the injected 429 was never met");
    // A request already in flight when the 429 went out may still arrive just after it;
    // any that arrives later than that and before the Retry-After was sent into the pause.
    let in_flight = Duration::from_millis(200);
    for t in &too_many {
        let early: Vec<_> = rest
            .iter()
            .filter(|e| e.at > t.at + in_flight && e.at < t.at + Duration::from_millis(1_900))
            .map(|e| {
                (
                    e.at.duration_since(t.at),
                    e.method.as_str(),
                    e.path.as_str(),
                )
            })
            .collect();
        assert!(
            early.is_empty(),
            "requests sent before Retry-After: {early:?}"
        );
    }
    eprintln!(
        "burst: {placed} of 500 placed, {} REST requests, {} answered 429, in {:.1} s",
        rest.len(),
        too_many.len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(placed, 500, "every order was placed in the end");
}

/// The live feed goes silent (both streams down, reconnects refused) while a bot holds a
/// stopped position and keeps asking to buy more: its entries are refused as
/// `stale_feed`, its stop stays in the exit book, and the feed's health is in the events;
/// once bars come again (backfilled), entries go out again.
#[test]
fn a_stale_feed_refuses_entries_and_keeps_exits_armed() {
    let _t = crate::support::timing();
    let fake = Fake::start(Which::Alpaca, None);
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        r#"
[fleet]
name = "stale"
components_dir = "{dir}"
starting_cash = "100000"
[fleet.broker]
kind = "alpaca"
url = "{url}"
[fleet.market]
source = "alpaca"
symbols = ["AAPL"]
warm_up_bars = 30
bar_wait_ms = 200
stale_after_bars = 2

[[bot]]
id = "buyer"
component = "fixed_order.wasm"
every = "1m"
symbols = ["AAPL"]
[bot.params]
qty = 0.5
stop_loss = 0.05
"#,
        dir = crate::support::bots_dir().display(),
        url = fake.url()
    );
    let reg = dir.path().join("fleet.toml");
    std::fs::write(&reg, body).unwrap();
    let db = dir.path().join("ledger.db");
    let child = flotilla_run(Which::Alpaca, &reg, &db, "36m")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // After some fills, the feed is down for 6 s real: 12 fake minutes.
    std::thread::sleep(Duration::from_secs(5));
    fake.drop_streams(Duration::from_secs(6));
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let ledger = Ledger::open(&db).unwrap();
    let events = ledger.events(10_000).unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"feed_stale"), "{kinds:?}");
    assert!(kinds.contains(&"feed_fresh"), "{kinds:?}");
    let refusals = ledger.recent_refusals(10_000).unwrap();
    let stale = refusals
        .iter()
        .filter(|r| r.reason.as_deref() == Some("stale_feed"))
        .count();
    assert!(
        stale >= 3,
        "entries during the silence were refused as stale_feed: {stale}"
    );
    // Entries went out before and after the silence.
    let fills = ledger.all_fills().unwrap();
    let stale_from = events
        .iter()
        .find(|e| e.kind == "feed_stale")
        .map(|e| e.time)
        .unwrap();
    let fresh_at = events
        .iter()
        .find(|e| e.kind == "feed_fresh")
        .map(|e| e.time)
        .unwrap();
    assert!(fills.iter().any(|f| f.time < stale_from), "no fill before");
    assert!(
        fills.iter().any(|f| f.time > fresh_at),
        "no fill after the feed came back"
    );
    // The position's stop was armed all along and still is.
    let exits = ledger
        .load_host_state("exits")
        .unwrap()
        .expect("an exit book");
    assert!(
        exits.to_string().contains("AAPL"),
        "the stop of the AAPL position is gone: {exits}"
    );
    assert!(
        fills.iter().all(|f| f.side == Side::Buy),
        "a stop fired (unexpected at 5%): {fills:?}"
    );
}

/// Real money needs both opt-ins: `mode = "live"` in the registry alone refuses to start
/// (and nothing reaches the venue); `flotilla check` reads the venue, names a missing key
/// variable and never prints a key.
#[test]
fn live_mode_needs_both_opt_ins_and_check_reads_the_venue() {
    let fake = Fake::start(Which::Alpaca, None);
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path(), Which::Alpaca, &fake.url(), 1);
    let live = std::fs::read_to_string(&reg)
        .unwrap()
        .replace("kind = \"alpaca\"", "kind = \"alpaca\"\nmode = \"live\"");
    let live_reg = dir.path().join("live.toml");
    std::fs::write(&live_reg, live).unwrap();
    let db = dir.path().join("ledger.db");
    let out = flotilla_run(Which::Alpaca, &live_reg, &db, "2m")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let all = text(&out);
    assert!(
        all.contains("--live") && all.contains("FLOTILLA_LIVE"),
        "{all}"
    );
    let Fake::Alpaca(f) = &fake else {
        unreachable!()
    };
    assert!(
        f.journal().is_empty(),
        "a request reached the venue before both opt-ins"
    );
    // check: the venue answers, the account reads, the symbols have bars.
    let check = |secret: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_flotilla"));
        cmd.arg("check")
            .arg("--config")
            .arg(&reg)
            .arg("--cache-dir")
            .arg(crate::support::shared_cache())
            .env("APCA_API_KEY_ID", KEY)
            .env_remove("APCA_API_SECRET_KEY");
        if let Some(s) = secret {
            cmd.env("APCA_API_SECRET_KEY", s);
        }
        cmd.output().unwrap()
    };
    let ok = check(Some(SECRET));
    let ok_text = text(&ok);
    assert!(ok.status.success(), "{ok_text}");
    assert!(ok_text.contains("venue alpaca reachable"), "{ok_text}");
    assert!(ok_text.contains("symbol AAPL: market data ok"), "{ok_text}");
    let missing = check(None);
    let missing_text = text(&missing);
    assert!(!missing.status.success());
    assert!(
        missing_text.contains("APCA_API_SECRET_KEY is not set"),
        "{missing_text}"
    );
    for t in [&ok_text, &missing_text, &all] {
        assert!(
            !t.contains(KEY) && !t.contains(SECRET),
            "a key was printed: {t}"
        );
    }
}

/// The venue's clock says the stock market is closed: a bot on stocks does not tick (its
/// ticks are recorded as skipped), a crypto bot and a stock bot with `outside_hours` do;
/// once the market opens the stock bot trades.
#[test]
fn outside_the_session_a_stock_bot_does_not_tick_unless_it_says_so() {
    let _t = crate::support::timing();
    let fake = Fake::start(Which::Alpaca, None);
    fake.faults().market_closed.store(1, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let mut body = format!(
        r#"
[fleet]
name = "session"
components_dir = "{dir}"
[fleet.broker]
kind = "alpaca"
url = "{url}"
[fleet.market]
source = "alpaca"
symbols = ["AAPL", "BTC-USD"]
warm_up_bars = 30
bar_wait_ms = 200
"#,
        dir = crate::support::bots_dir().display(),
        url = fake.url()
    );
    for (id, sym, extra) in [
        ("stocks", "AAPL", ""),
        ("crypto", "BTC-USD", ""),
        ("stocks-always", "AAPL", "outside_hours = true\n"),
    ] {
        body.push_str(&format!(
            "\n[[bot]]\nid = \"{id}\"\ncomponent = \"fixed_order.wasm\"\nevery = \"1m\"\nsymbols = [\"{sym}\"]\n{extra}[bot.params]\nqty = 0.01\n"
        ));
    }
    let reg = dir.path().join("fleet.toml");
    std::fs::write(&reg, body).unwrap();
    let db = dir.path().join("ledger.db");
    let child = flotilla_run(Which::Alpaca, &reg, &db, "24m")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(6));
    let closed = Ledger::open(&db).unwrap().bot_summaries().unwrap();
    fake.faults().market_closed.store(0, Ordering::SeqCst);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let intents = |rows: &[flotilla_ledger::BotSummary], id: &str| {
        rows.iter()
            .find(|b| b.bot.as_str() == id)
            .map_or(0, |b| b.intents)
    };
    assert_eq!(
        intents(&closed, "stocks"),
        0,
        "a stock bot ticked while closed"
    );
    assert!(intents(&closed, "crypto") >= 3, "{closed:?}");
    assert!(intents(&closed, "stocks-always") >= 3, "{closed:?}");
    let after = Ledger::open(&db).unwrap().bot_summaries().unwrap();
    assert!(
        intents(&after, "stocks") >= 2,
        "the stock bot never ticked once the market opened: {after:?}"
    );
}
