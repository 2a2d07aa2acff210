//! Contract tests of the Alpaca connector against the fake Alpaca over real loopback HTTP
//! and WebSocket: every endpoint the connector uses and every error it maps.

use flotilla_broker::venue::{
    CancelOutcome, Venue, VenueEventKind, VenueFailure, VenueOrderRequest,
};
use flotilla_domain::{ClientOrderId, OrderState, Side, Symbol, Timeframe, Timestamp};
use flotilla_venue_fake::alpaca::{FakeAlpaca, FakeAlpacaConfig, FakeServer};
use flotilla_venues::alpaca::{Alpaca, AlpacaBars, AlpacaConfig};
use flotilla_venues::common::BarSource;
use flotilla_venues::{FeedConfig, FeedEvent, LiveFeed, Secret, SubmitPolicy};
use rust_decimal_macros::dec;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const KEY: &str = "PKTESTKEY0123456789";
const SECRET: &str = "sk-flotilla-known-fake-secret-7f3a";

fn fake_with(speed: f64, tweak: impl FnOnce(&mut FakeAlpacaConfig)) -> FakeServer {
    let mut c = FakeAlpacaConfig {
        key_id: KEY.into(),
        secret: SECRET.into(),
        speed,
        ..Default::default()
    };
    tweak(&mut c);
    FakeAlpaca::spawn(c, "127.0.0.1:0".parse().unwrap()).unwrap()
}

fn fake(speed: f64) -> FakeServer {
    fake_with(speed, |_| {})
}

fn config(f: &FakeServer) -> AlpacaConfig {
    let mut c = AlpacaConfig::for_base(&f.base_url());
    c.request_timeout = Duration::from_secs(2);
    c.reconnect_backoff = Duration::from_millis(100);
    c.clock_refresh = Duration::from_millis(500);
    c.submit = SubmitPolicy {
        first_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        grace: Duration::from_secs(3),
        give_up: Duration::from_secs(6),
        max_sends: 2,
    };
    c
}

fn connect(c: AlpacaConfig) -> Alpaca {
    Alpaca::connect(c, Secret::new(KEY), Secret::new(SECRET)).unwrap()
}

fn id(s: &str) -> ClientOrderId {
    ClientOrderId::parse(s).unwrap()
}

fn market(client: &str, symbol: &str, side: Side, qty: rust_decimal::Decimal) -> VenueOrderRequest {
    VenueOrderRequest::market(id(client), Symbol::new(symbol), side, qty)
}

/// Polls `f` every 20 ms until it gives a value, for at most `within`.
fn wait_for<T>(within: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let t = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(t.elapsed() < within, "timed out after {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The fill events of `client` so far.
fn fills(a: &Alpaca, client: &str) -> Vec<VenueEventKind> {
    a.events_since(0)
        .unwrap()
        .into_iter()
        .filter(|(_, e)| e.client_id.as_str() == client)
        .map(|(_, e)| e.kind)
        .filter(|k| matches!(k, VenueEventKind::Fill { .. }))
        .collect()
}

fn kinds(a: &Alpaca, client: &str) -> Vec<&'static str> {
    a.events_since(0)
        .unwrap()
        .into_iter()
        .filter(|(_, e)| e.client_id.as_str() == client)
        .map(|(_, e)| e.kind.name())
        .collect()
}

#[test]
fn connect_names_the_account_and_the_clock_follows_the_fake() {
    let f = fake(60.0);
    let a = connect(config(&f));
    let info = a.info();
    assert_eq!(
        (
            info.venue.as_str(),
            info.account.as_str(),
            info.mode.as_str()
        ),
        ("alpaca", "PA-FAKE-0001", "paper")
    );
    assert_eq!(info.endpoint, f.base_url());
    assert_eq!(a.stream_connects(), 1);
    assert!(!a.durable_events());
    let c = a.clock().unwrap();
    assert!(c.is_open && c.next_close > c.timestamp);
    assert!((c.timestamp.0 - f.now().0).abs() < 5_000, "{c:?}");
    assert_eq!(a.cash().unwrap(), dec!(100000));
    assert!(a.positions().unwrap().is_empty());
    let paths: Vec<String> = f
        .journal()
        .into_iter()
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    assert!(paths.contains(&"GET /v2/account".to_string()), "{paths:?}");
    assert!(paths.contains(&"WS /stream".to_string()), "{paths:?}");
}

#[test]
fn a_resting_limit_order_is_listed_and_canceled() {
    let f = fake(60.0);
    let a = connect(config(&f));
    let req =
        VenueOrderRequest::limit(id("fl-t-1"), "AAPL".into(), Side::Buy, dec!(2), dec!(100.5));
    let o = a.submit(&req, Timestamp(0)).unwrap();
    assert_eq!(
        (o.state, o.limit_price),
        (OrderState::Accepted, Some(dec!(100.5)))
    );
    assert_eq!(a.order(&req.client_id).unwrap().unwrap().quantity, dec!(2));
    let open = a.open_orders().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].client_id, req.client_id);
    assert_eq!(
        a.cancel(&req.client_id, Timestamp(0)).unwrap(),
        CancelOutcome::Requested
    );
    // The stream's `canceled` update ends it in the log.
    wait_for(Duration::from_secs(3), || {
        kinds(&a, "fl-t-1").contains(&"canceled").then_some(())
    });
    assert_eq!(kinds(&a, "fl-t-1"), vec!["accepted", "canceled"]);
    // 422 from DELETE: no longer cancelable, and in what state.
    assert_eq!(
        a.cancel(&req.client_id, Timestamp(0)).unwrap(),
        CancelOutcome::NotCancelable(OrderState::Canceled)
    );
    assert_eq!(
        a.cancel(&id("fl-never"), Timestamp(0)).unwrap(),
        CancelOutcome::Unknown
    );
    assert_eq!(a.order(&id("fl-never")).unwrap(), None);
    assert!(a.open_orders().unwrap().is_empty());
    assert!(
        f.journal()
            .iter()
            .any(|e| e.method == "DELETE" && e.status == 204)
    );
    assert!(
        f.journal()
            .iter()
            .any(|e| e.method == "DELETE" && e.status == 422)
    );
}

#[test]
fn a_market_order_fills_once_and_the_account_agrees() {
    let f = fake(600.0);
    let a = connect(config(&f));
    let o = a
        .submit(&market("fl-t-2", "AAPL", Side::Buy, dec!(5)), Timestamp(0))
        .unwrap();
    assert_eq!(o.state, OrderState::Accepted);
    let fill = wait_for(Duration::from_secs(5), || fills(&a, "fl-t-2").pop());
    let at_fake = f.order("fl-t-2").unwrap();
    let VenueEventKind::Fill {
        quantity,
        price,
        cumulative,
        trade_id,
        ..
    } = fill
    else {
        unreachable!()
    };
    assert_eq!((quantity, cumulative), (dec!(5), dec!(5)));
    assert_eq!(price, at_fake.avg_price);
    assert_eq!(trade_id, at_fake.fills[0].trade_id, "the execution id");
    // A reconcile's REST view of the same fill adds nothing.
    let rest = a.order(&id("fl-t-2")).unwrap().unwrap();
    assert_eq!(
        (rest.state, rest.filled_quantity),
        (OrderState::Filled, dec!(5))
    );
    assert_eq!(fills(&a, "fl-t-2").len(), 1);
    assert_eq!(
        a.positions().unwrap().get(&Symbol::new("AAPL")),
        Some(&dec!(5))
    );
    assert_eq!(a.cash().unwrap(), f.cash());
    assert_eq!(f.cash(), dec!(100000) - dec!(5) * price);
    // Crypto: BTC-USD is BTC/USD at Alpaca and BTCUSD in its positions.
    a.submit(
        &market("fl-t-3", "BTC-USD", Side::Buy, dec!(0.01)),
        Timestamp(0),
    )
    .unwrap();
    wait_for(Duration::from_secs(5), || fills(&a, "fl-t-3").pop());
    assert_eq!(
        a.positions().unwrap().get(&Symbol::new("BTC-USD")),
        Some(&dec!(0.01))
    );
    assert_eq!(f.received("fl-t-2") + f.received("fl-t-3"), 2);
}

#[test]
fn definite_refusals_are_rejections_with_the_venues_words() {
    let f = fake(60.0);
    let a = connect(config(&f));
    let big = VenueOrderRequest::limit(
        id("fl-r-1"),
        "AAPL".into(),
        Side::Buy,
        dec!(100000),
        dec!(190),
    );
    let o = a.submit(&big, Timestamp(7)).unwrap();
    assert_eq!(o.state, OrderState::Rejected);
    assert_eq!(o.reason.as_deref(), Some("insufficient buying power"));
    let unknown = market("fl-r-2", "ZZZZ", Side::Buy, dec!(1));
    let o = a.submit(&unknown, Timestamp(7)).unwrap();
    assert_eq!(o.state, OrderState::Rejected);
    assert_eq!(o.reason.as_deref(), Some("asset \"ZZZZ\" not found"));
    let statuses: Vec<u16> = f
        .journal()
        .iter()
        .filter(|e| e.method == "POST")
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, vec![403, 422]);
    // The log tells the host, as it does of every answer.
    assert!(matches!(
        a.events_since(0).unwrap()[0].1.kind,
        VenueEventKind::Rejected { .. }
    ));
    assert_eq!(f.order_count(), 0);
}

#[test]
fn a_resend_of_a_known_client_id_finds_the_one_order() {
    let f = fake(60.0);
    let a = connect(config(&f));
    let req = VenueOrderRequest::limit(id("fl-d-1"), "MSFT".into(), Side::Buy, dec!(1), dec!(200));
    let first = a.submit(&req, Timestamp(0)).unwrap();
    // Alpaca refuses the id ("client_order_id must be unique"): the connector queries.
    let again = a.submit(&req, Timestamp(0)).unwrap();
    assert_eq!(again.client_id, first.client_id);
    assert_eq!(again.state, OrderState::Accepted);
    assert_eq!(
        (f.received("fl-d-1"), f.placed("fl-d-1"), f.order_count()),
        (2, 1, 1)
    );
    assert_eq!(kinds(&a, "fl-d-1"), vec!["accepted"]);
}

#[test]
fn the_ambiguous_post_places_one_order_and_books_its_fill_once() {
    let f = fake(600.0);
    let mut c = config(&f);
    c.request_timeout = Duration::from_millis(400);
    let a = connect(c);
    // The fake places the order, then answers after the client gave up.
    f.faults()
        .delay_after_accept_ms
        .store(1_500, Ordering::SeqCst);
    let o = a
        .submit(&market("fl-a-1", "AAPL", Side::Buy, dec!(3)), Timestamp(0))
        .unwrap();
    f.faults().delay_after_accept_ms.store(0, Ordering::SeqCst);
    assert_eq!(o.client_id.as_str(), "fl-a-1");
    assert_eq!((f.received("fl-a-1"), f.placed("fl-a-1")), (1, 1));
    wait_for(Duration::from_secs(5), || fills(&a, "fl-a-1").pop());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(fills(&a, "fl-a-1").len(), 1);
    assert_eq!(a.positions().unwrap()[&Symbol::new("AAPL")], dec!(3));
    let queries = f
        .journal()
        .iter()
        .filter(|e| e.path == "/v2/orders:by_client_order_id")
        .count();
    assert!(queries >= 1);
}

#[test]
fn a_5xx_after_placing_is_settled_by_the_query() {
    let f = fake(60.0);
    let a = connect(config(&f));
    f.faults().fail_5xx_after_place.store(1, Ordering::SeqCst);
    f.faults().fail_5xx.store(1, Ordering::SeqCst);
    let req = VenueOrderRequest::limit(id("fl-5-1"), "AAPL".into(), Side::Buy, dec!(1), dec!(150));
    let o = a.submit(&req, Timestamp(0)).unwrap();
    assert_eq!(o.state, OrderState::Accepted);
    assert_eq!((f.received("fl-5-1"), f.placed("fl-5-1")), (1, 1));
    let posts: Vec<u16> = f
        .journal()
        .iter()
        .filter(|e| e.method == "POST")
        .map(|e| e.status)
        .collect();
    assert_eq!(posts, vec![502]);
}

#[test]
fn not_found_for_a_while_is_not_trusted_and_nothing_is_sent_again() {
    let f = fake(60.0);
    let mut c = config(&f);
    c.request_timeout = Duration::from_millis(300);
    let a = connect(c);
    f.faults()
        .delay_after_accept_ms
        .store(1_000, Ordering::SeqCst);
    f.faults().not_found_for_ms.store(1_500, Ordering::SeqCst);
    let req = VenueOrderRequest::limit(id("fl-n-1"), "AAPL".into(), Side::Buy, dec!(1), dec!(150));
    let t = Instant::now();
    let o = a.submit(&req, Timestamp(0)).unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(1_400),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(o.state, OrderState::Accepted);
    assert_eq!((f.received("fl-n-1"), f.placed("fl-n-1")), (1, 1));
    let misses = f
        .journal()
        .iter()
        .filter(|e| e.path == "/v2/orders:by_client_order_id" && e.status == 404)
        .count();
    assert!(misses >= 2, "{misses}");
}

#[test]
fn after_a_429_nothing_goes_out_before_the_reset() {
    let f = fake(60.0);
    let a = connect(config(&f));
    f.faults().retry_after_s.store(1, Ordering::SeqCst);
    f.faults().rate_limited.store(1, Ordering::SeqCst);
    let req = VenueOrderRequest::limit(id("fl-l-1"), "AAPL".into(), Side::Buy, dec!(1), dec!(150));
    match a.submit(&req, Timestamp(0)) {
        Err(VenueFailure::NotSent { retry_after, .. }) => {
            assert!(retry_after.unwrap() >= Duration::from_millis(900));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(f.received("fl-l-1"), 0, "a 429 is not placed");
    assert!(a.budget().paused_for().is_some());
    // The next call waits for the reset, then goes.
    let o = a.submit(&req, Timestamp(0)).unwrap();
    assert_eq!(o.state, OrderState::Accepted);
    let j = f.journal();
    let limited = j.iter().position(|e| e.status == 429).unwrap();
    let next = &j[limited + 1];
    assert!(
        next.at.duration_since(j[limited].at) >= Duration::from_secs(1),
        "{:?}",
        next.at.duration_since(j[limited].at)
    );
    assert_eq!(f.placed("fl-l-1"), 1);
}

#[test]
fn a_fill_while_the_stream_is_down_arrives_once_through_the_reconcile() {
    let f = fake(600.0);
    let a = connect(config(&f));
    f.drop_streams(Duration::from_millis(800));
    a.submit(&market("fl-s-1", "AAPL", Side::Buy, dec!(4)), Timestamp(0))
        .unwrap();
    // It fills within two fake minutes (0.2 s), while the stream is down.
    wait_for(Duration::from_secs(3), || {
        (f.order("fl-s-1").unwrap().state == OrderState::Filled).then_some(())
    });
    let fill = wait_for(Duration::from_secs(5), || fills(&a, "fl-s-1").pop());
    // Booked from the REST reconcile (the stream missed it), so its id is the log's own.
    assert!(
        matches!(&fill, VenueEventKind::Fill { quantity, trade_id, .. }
            if *quantity == dec!(4) && trade_id.contains("-cum-")),
        "{fill:?}"
    );
    wait_for(Duration::from_secs(3), || {
        (a.stream_connects() >= 2).then_some(())
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(fills(&a, "fl-s-1").len(), 1);
    let notices = a.take_notices();
    assert!(
        notices.iter().any(|n| n.contains("reconnected")),
        "{notices:?}"
    );
}

#[test]
fn a_backfill_follows_every_page() {
    let f = fake(60.0);
    let mut c = config(&f);
    c.bars_page_limit = 100;
    let bars = AlpacaBars::new(c, Secret::new(KEY), Secret::new(SECRET)).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Five-minute aligned, so both timeframes ask for whole bars.
    let base = (f.market().start().0 / 300_000 + 2) * 300_000;
    for sym in ["AAPL", "BTC-USD"] {
        let s = Symbol::new(sym);
        let (from, to) = (Timestamp(base), Timestamp(base + 60_000 * 350));
        let got = rt
            .block_on(bars.fetch(&s, Timeframe::M1, from, to))
            .unwrap();
        assert_eq!(got, f.market().bars(&s, from, to), "{sym}");
        assert_eq!(got.len(), 350);
        let five = rt
            .block_on(bars.fetch(&s, Timeframe::M5, from, to))
            .unwrap();
        assert_eq!(five.len(), 70);
        assert_eq!(five, f.market().bars_at(&s, Timeframe::M5, from, to));
    }
    let pages = |p: &str| f.journal().iter().filter(|e| e.path == p).count();
    assert_eq!(pages("/v2/stocks/bars"), 4 + 1);
    assert_eq!(pages("/v1beta3/crypto/us/bars"), 4 + 1);
}

#[test]
fn the_live_feed_sees_every_bar_once_in_order_across_a_dropped_stream() {
    // 600×: a one-minute bar every 100 ms.
    let f = fake(600.0);
    let c = config(&f);
    let bars = Arc::new(AlpacaBars::new(c, Secret::new(KEY), Secret::new(SECRET)).unwrap());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let symbols = vec![Symbol::new("AAPL"), Symbol::new("BTC-USD")];
    let feed = LiveFeed::start(
        bars.clone(),
        FeedConfig {
            symbols: symbols.clone(),
            timeframe: Timeframe::M1,
            warm_up_bars: 5,
            stale_after_bars: 20.0,
            reconnect_backoff: Duration::from_millis(100),
        },
        rt.handle(),
    );
    let mut events = Vec::new();
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(1_000) {
        events.extend(feed.drain());
        std::thread::sleep(Duration::from_millis(20));
    }
    // Down for ~5 bars.
    f.drop_streams(Duration::from_millis(500));
    while t.elapsed() < Duration::from_millis(2_800) {
        events.extend(feed.drain());
        std::thread::sleep(Duration::from_millis(20));
    }
    events.extend(feed.drain());
    assert!(feed.connects() >= 2, "reconnected");
    let now = bars.now();
    assert!(
        (now.0 - f.now().0).abs() < 30_000,
        "the clock follows the fast fake: {now:?} vs {:?}",
        f.now()
    );
    for s in &symbols {
        let got: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                FeedEvent::Bar(sym, b) if sym == s => Some(*b),
                _ => None,
            })
            .collect();
        assert!(got.len() >= 20, "{s}: {} bars", got.len());
        for w in got.windows(2) {
            assert_eq!(
                w[1].time.0 - w[0].time.0,
                60_000,
                "{s}: every bar once, in order"
            );
        }
        let (first, last) = (got[0].time, got[got.len() - 1].time);
        assert_eq!(
            got,
            f.market().bars(s, first, Timestamp(last.0 + 1)),
            "{s}: the venue's bars"
        );
    }
    assert!(!events.iter().any(|e| matches!(e, FeedEvent::Stale(_))));
}

#[test]
fn an_unreachable_venue_opens_the_breaker_and_secrets_never_print() {
    let f = fake(60.0);
    let c = config(&f);
    // Wrong credentials: refused, and the error names no key.
    let e = Alpaca::connect(
        c.clone(),
        Secret::new(KEY),
        Secret::new("sk-wrong-secret-zzz"),
    )
    .unwrap_err();
    let msg = format!("{e} {e:?}");
    assert!(msg.contains("401"), "{msg}");
    assert!(
        !msg.contains("sk-wrong-secret-zzz") && !msg.contains(KEY),
        "{msg}"
    );
    let a = connect(c.clone());
    let bars = a.bars();
    let mut outputs = vec![format!("{a:?}"), format!("{bars:?}"), format!("{c:?}")];
    drop(f);
    // Every call fails to connect: not sent, and the breaker opens.
    for _ in 0..5 {
        // Refused connections (not sent); a pooled connection the fake closed may read
        // as a failure of another kind first.
        match a.cash() {
            Err(e) => outputs.push(format!("{e} {e:?}")),
            Ok(c) => panic!("{c}"),
        }
    }
    assert!(!a.accepting_entries());
    let r = a.submit(&market("fl-b-1", "AAPL", Side::Buy, dec!(1)), Timestamp(0));
    outputs.push(format!("{r:?}"));
    assert!(matches!(r, Err(VenueFailure::NotSent { .. })), "{r:?}");
    std::thread::sleep(Duration::from_millis(400));
    let notices = a.take_notices();
    assert!(
        notices.iter().any(|n| n.contains("circuit open")),
        "{notices:?}"
    );
    outputs.extend(notices);
    for o in &outputs {
        assert!(!o.contains(SECRET) && !o.contains(KEY), "a key leaked: {o}");
    }
}

#[test]
fn from_env_names_the_missing_variable() {
    if std::env::var_os("APCA_API_KEY_ID").is_some() {
        return;
    }
    let e = Alpaca::from_env(AlpacaConfig::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "environment variable APCA_API_KEY_ID is not set"
    );
}

#[test]
fn partial_fills_are_booked_as_deltas_of_the_cumulative_quantity() {
    let f = fake(600.0);
    let a = connect(config(&f));
    // At most 0.2 % of a bar's volume (1,000-2,000) per bar: 2-4 units a bar.
    f.faults().partial_fill_ppm.store(2_000, Ordering::SeqCst);
    a.submit(&market("fl-p-1", "AAPL", Side::Buy, dec!(10)), Timestamp(0))
        .unwrap();
    wait_for(Duration::from_secs(5), || {
        (f.order("fl-p-1").unwrap().state == OrderState::Filled).then_some(())
    });
    let got = wait_for(Duration::from_secs(3), || {
        let fs = fills(&a, "fl-p-1");
        let last = fs.last().cloned();
        matches!(last, Some(VenueEventKind::Fill { cumulative, .. }) if cumulative == dec!(10))
            .then_some(fs)
    });
    assert!(got.len() >= 2, "{got:?}");
    let mut total = dec!(0);
    for k in &got {
        let VenueEventKind::Fill {
            quantity,
            cumulative,
            ..
        } = k
        else {
            unreachable!()
        };
        total += *quantity;
        assert_eq!(
            *cumulative, total,
            "each fill is the delta of the cumulative figure"
        );
    }
    let at_fake = f.order("fl-p-1").unwrap();
    assert_eq!(at_fake.fills.len(), got.len());
    assert_eq!(a.positions().unwrap()[&Symbol::new("AAPL")], dec!(10));
}
