//! Contract tests of the Binance connector against the fake Binance on 127.0.0.1: every
//! endpoint the connector uses and every error it maps, through its public API.

use flotilla_broker::venue::{
    CancelOutcome, Venue, VenueEventKind, VenueFailure, VenueOrderRequest,
};
use flotilla_domain::{ClientOrderId, OrderState, Side, Symbol, Timestamp};
use flotilla_venue_fake::binance::{FakeBinance, FakeBinanceConfig, FakeServer};
use flotilla_venues::binance::{Binance, BinanceConfig, sign};
use flotilla_venues::{FeedConfig, FeedEvent, LiveFeed, Secret, SubmitPolicy};
use rust_decimal_macros::dec;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const KEY: &str = "test-key-7f3a9c2e41b8";
const SECRET: &str = "test-secret-d41d8cd98f00b204e9800998ecf8427e";

fn fake(speed: f64) -> FakeServer {
    let cfg = FakeBinanceConfig {
        api_key: KEY.into(),
        api_secret: SECRET.into(),
        speed,
        ..Default::default()
    };
    FakeBinance::spawn(cfg, "127.0.0.1:0".parse().unwrap()).unwrap()
}

fn config(f: &FakeServer, speed: f64) -> BinanceConfig {
    let mut c = BinanceConfig::for_base(&f.base_url(), vec!["BTC-USDT".into(), "ETH-USDT".into()]);
    c.request_timeout = Duration::from_millis(600);
    c.poll_interval = Duration::from_millis(100);
    c.server_clock_speed = speed;
    c.recv_window_ms = 60_000;
    c.submit = SubmitPolicy {
        first_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        grace: Duration::from_millis(2500),
        give_up: Duration::from_secs(5),
        max_sends: 2,
    };
    c
}

fn connect(f: &FakeServer) -> Binance {
    Binance::connect(config(f, 1.0), Secret::new(KEY), Secret::new(SECRET)).unwrap()
}

fn cid(s: &str) -> ClientOrderId {
    ClientOrderId::parse(s).unwrap()
}

fn btc() -> Symbol {
    Symbol::new("BTC-USDT")
}

fn fills(b: &Binance, c: &ClientOrderId) -> Vec<VenueEventKind> {
    b.events_since(0)
        .unwrap()
        .into_iter()
        .filter(|(_, e)| &e.client_id == c && matches!(e.kind, VenueEventKind::Fill { .. }))
        .map(|(_, e)| e.kind)
        .collect()
}

#[test]
fn every_endpoint_round_trips() {
    let f = fake(1.0);
    let b = connect(&f);
    let info = b.info();
    assert_eq!(
        (info.venue.as_str(), info.mode.as_str()),
        ("binance", "testnet")
    );
    assert_eq!(info.account, "424242");
    assert!(b.weight_remaining().is_some());
    assert!(b.last_price(&btc()).is_some());
    // A market buy: FULL answer with fills, booked once.
    let req = b
        .prepare(&VenueOrderRequest::market(
            cid("fl-m-1"),
            btc(),
            Side::Buy,
            dec!(0.0123456),
        ))
        .unwrap();
    assert_eq!(req.quantity, dec!(0.01234));
    let o = b.submit(&req, Timestamp(0)).unwrap();
    assert_eq!(
        (o.state, o.filled_quantity),
        (OrderState::Filled, dec!(0.01234))
    );
    assert_eq!(o.fills.len(), 1);
    assert_eq!(fills(&b, &req.client_id).len(), 1);
    let q = b.order(&req.client_id).unwrap().unwrap();
    assert_eq!(
        (q.state, q.filled_quantity),
        (OrderState::Filled, dec!(0.01234))
    );
    // The query's cumulative figures (no trade ids) after the FULL answer's fills: the
    // fill is still booked once.
    assert_eq!(fills(&b, &req.client_id).len(), 1);
    assert_eq!(b.positions().unwrap().get(&btc()), Some(&dec!(0.01234)));
    let cash = b.cash().unwrap();
    assert!(cash < dec!(100000) && cash > dec!(98000), "{cash}");
    assert_eq!(f.balances()["USDT"], cash);
    // A resting limit far below: open, then canceled, then not cancelable.
    let px = b.last_price(&btc()).unwrap() * dec!(0.5);
    let lim = b
        .prepare(&VenueOrderRequest::limit(
            cid("fl-l-1"),
            btc(),
            Side::Buy,
            dec!(0.001),
            px,
        ))
        .unwrap();
    let o = b.submit(&lim, Timestamp(0)).unwrap();
    assert_eq!(o.state, OrderState::Accepted);
    let open = b.open_orders().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].client_id, lim.client_id);
    assert_eq!(
        b.cancel(&lim.client_id, Timestamp(0)).unwrap(),
        CancelOutcome::Canceled
    );
    assert_eq!(
        b.cancel(&lim.client_id, Timestamp(0)).unwrap(),
        CancelOutcome::NotCancelable(OrderState::Canceled)
    );
    assert_eq!(
        b.cancel(&cid("fl-never"), Timestamp(0)).unwrap(),
        CancelOutcome::Unknown
    );
    assert_eq!(b.order(&cid("fl-never")).unwrap(), None);
    assert!(b.open_orders().unwrap().is_empty());
    let kinds: Vec<&str> = b
        .events_since(0)
        .unwrap()
        .iter()
        .map(|(_, e)| e.kind.name())
        .collect();
    assert_eq!(kinds, ["accepted", "fill", "accepted", "canceled"]);
    // Every path the connector used, at the fake.
    let paths: std::collections::BTreeSet<String> = f
        .journal()
        .iter()
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    for p in [
        "GET /api/v3/time",
        "GET /api/v3/exchangeInfo",
        "GET /api/v3/account",
        "GET /api/v3/ticker/price",
        "POST /api/v3/order",
        "GET /api/v3/order",
        "DELETE /api/v3/order",
        "GET /api/v3/openOrders",
    ] {
        assert!(paths.contains(p), "{p} missing from {paths:?}");
    }
}

#[test]
fn definite_refusals_are_rejections_with_the_reason() {
    let f = fake(1.0);
    let b = connect(&f);
    // -2010: more than the cash.
    let px = b.last_price(&btc()).unwrap().round_dp(2);
    let o = b
        .submit(
            &VenueOrderRequest::limit(cid("fl-r-1"), btc(), Side::Buy, dec!(100), px),
            Timestamp(0),
        )
        .unwrap();
    assert_eq!(o.state, OrderState::Rejected);
    assert!(
        o.reason.as_deref().unwrap().contains("-2010"),
        "{:?}",
        o.reason
    );
    // -1013: the venue's filter refuses (its message names the filter).
    f.faults().filter_failures.store(1, Ordering::SeqCst);
    let o = b
        .submit(
            &VenueOrderRequest::market(cid("fl-r-2"), btc(), Side::Buy, dec!(0.001)),
            Timestamp(0),
        )
        .unwrap();
    assert_eq!(o.state, OrderState::Rejected);
    let r = o.reason.unwrap();
    assert!(r.contains("-1013") && r.contains("LOT_SIZE"), "{r}");
    // Refused before sending, the filter named; nothing reached the venue.
    let e = b
        .prepare(&VenueOrderRequest::market(
            cid("fl-r-3"),
            btc(),
            Side::Buy,
            dec!(0.00001),
        ))
        .unwrap_err();
    assert_eq!(e, "LOT_SIZE: quantity 0.00001 is below minQty 0.0001");
    let o = b
        .submit(
            &VenueOrderRequest::market(cid("fl-r-3"), btc(), Side::Buy, dec!(0.00001)),
            Timestamp(0),
        )
        .unwrap();
    assert_eq!(o.reason.as_deref(), Some(e.as_str()));
    assert_eq!(f.orders_received("fl-r-3"), 0);
    let rejected = b
        .events_since(0)
        .unwrap()
        .into_iter()
        .filter(|(_, e)| e.kind.name() == "rejected")
        .count();
    assert_eq!(rejected, 3);
}

#[test]
fn a_lost_answer_is_found_and_the_order_exists_once() {
    let f = fake(1.0);
    let b = connect(&f);
    // The fake places the order and answers after the client's 600 ms timeout.
    f.faults()
        .delay_after_accept_ms
        .store(1500, Ordering::SeqCst);
    let req = VenueOrderRequest::market(cid("fl-amb-1"), btc(), Side::Buy, dec!(0.002));
    let o = b.submit(&req, Timestamp(0)).unwrap();
    f.faults().delay_after_accept_ms.store(0, Ordering::SeqCst);
    assert_eq!(
        (o.state, o.filled_quantity),
        (OrderState::Filled, dec!(0.002))
    );
    assert_eq!(f.orders_received("fl-amb-1"), 1);
    // The poll runs meanwhile: still one fill of the whole quantity.
    std::thread::sleep(Duration::from_millis(400));
    let fl = fills(&b, &req.client_id);
    assert_eq!(fl.len(), 1, "{fl:?}");
    assert!(matches!(fl[0], VenueEventKind::Fill { quantity, .. } if quantity == dec!(0.002)));
}

#[test]
fn a_5xx_after_placing_and_not_found_for_a_while_send_nothing_twice() {
    let f = fake(1.0);
    let b = connect(&f);
    f.faults().fail_5xx_after_place.store(1, Ordering::SeqCst);
    f.faults().fail_5xx.store(1, Ordering::SeqCst);
    f.faults().not_found_for_ms.store(1000, Ordering::SeqCst);
    let req = VenueOrderRequest::market(cid("fl-5xx-1"), btc(), Side::Buy, dec!(0.002));
    let t = Instant::now();
    let o = b.submit(&req, Timestamp(0)).unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "found only once visible"
    );
    assert_eq!(o.state, OrderState::Filled);
    assert_eq!(f.orders_received("fl-5xx-1"), 1);
    assert_eq!(f.orders_placed(), 1);
    assert_eq!(fills(&b, &req.client_id).len(), 1);
    // A 5xx before placing: not found past the grace period, then sent again, once.
    f.faults().not_found_for_ms.store(0, Ordering::SeqCst);
    f.faults().fail_5xx_after_place.store(0, Ordering::SeqCst);
    f.faults().fail_5xx.store(1, Ordering::SeqCst);
    let req = VenueOrderRequest::market(cid("fl-5xx-2"), btc(), Side::Buy, dec!(0.002));
    let o = b.submit(&req, Timestamp(0)).unwrap();
    assert_eq!(o.state, OrderState::Filled);
    assert_eq!(f.orders_received("fl-5xx-2"), 1);
    let posts = f.journal().iter().filter(|e| e.method == "POST").count();
    assert_eq!(posts, 3);
}

fn rate_limited(status: u16) {
    let f = fake(1.0);
    let b = connect(&f);
    if status == 429 {
        f.faults().rate_limited.store(1, Ordering::SeqCst);
    } else {
        f.faults().banned.store(1, Ordering::SeqCst);
    }
    f.faults().retry_after_s.store(1, Ordering::SeqCst);
    let e = b.cash().unwrap_err();
    assert!(
        matches!(&e, VenueFailure::NotSent { retry_after: Some(d), .. } if *d == Duration::from_secs(1)),
        "{e:?}"
    );
    let o = b
        .submit(
            &VenueOrderRequest::market(cid("fl-rl-1"), btc(), Side::Buy, dec!(0.001)),
            Timestamp(0),
        )
        .unwrap();
    assert_eq!(o.state, OrderState::Filled);
    let j = f.journal();
    let hit = j.iter().position(|e| e.status == status).unwrap();
    let next = &j[hit + 1];
    let gap = next.at - j[hit].at;
    assert!(
        gap >= Duration::from_millis(950),
        "sent {gap:?} after the {status}"
    );
    assert!(
        b.take_notices()
            .iter()
            .any(|n| n.contains(&status.to_string()))
    );
}

#[test]
fn a_429_holds_every_request_until_retry_after() {
    rate_limited(429);
}

#[test]
fn a_418_holds_every_request_until_retry_after() {
    rate_limited(418);
}

#[test]
fn a_skewed_clock_is_resynced_on_1021() {
    let f = fake(1.0);
    let mut c = config(&f, 1.0);
    c.recv_window_ms = 5000;
    let b = Binance::connect(c, Secret::new(KEY), Secret::new(SECRET)).unwrap();
    f.clock().set_skew_ms(-20_000);
    assert!(b.cash().is_ok());
    let j = f.journal();
    let n = j.len();
    assert_eq!(
        j[n - 3..]
            .iter()
            .map(|e| (e.path.as_str(), e.status))
            .collect::<Vec<_>>(),
        [
            ("/api/v3/account", 400),
            ("/api/v3/time", 200),
            ("/api/v3/account", 200)
        ]
    );
    assert!(b.take_notices().iter().any(|n| n.contains("-1021")));
}

#[test]
fn bad_keys_are_refused_and_secrets_never_print() {
    let f = fake(1.0);
    let wrong = "wrong-secret-0c9a7be5d3f1";
    let e = Binance::connect(config(&f, 1.0), Secret::new(KEY), Secret::new(wrong)).unwrap_err();
    let text = format!("{e} {e:?}");
    assert!(text.contains("-1022"), "{text}");
    let e = Binance::connect(
        config(&f, 1.0),
        Secret::new("wrong-key-55aa"),
        Secret::new(SECRET),
    )
    .unwrap_err();
    let text2 = format!("{e} {e:?}");
    assert!(text2.contains("-2015"), "{text2}");
    let b = connect(&f);
    f.faults().fail_5xx.store(1, Ordering::SeqCst);
    let mut out = format!("{b:?} {:?} {text} {text2}", b.info());
    out += &format!(
        "{:?}",
        b.submit(
            &VenueOrderRequest::market(cid("fl-s-1"), btc(), Side::Buy, dec!(0.001)),
            Timestamp(0)
        )
    );
    out += &format!("{:?}", b.take_notices());
    for s in [KEY, SECRET, wrong] {
        assert!(!out.contains(s), "{s} leaked");
    }
    // The signing vector of Binance's docs, through the public function.
    assert_eq!(
        sign(
            "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
            "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
        ),
        "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    );
}

#[test]
fn the_poll_books_resting_fills_once_from_cumulative_figures() {
    // 600x: a one-minute bar every 100 ms.
    let f = fake(600.0);
    let b = Binance::connect(config(&f, 600.0), Secret::new(KEY), Secret::new(SECRET)).unwrap();
    // Partial fills: orders wait for bars and fill a small share of each bar's volume.
    f.faults().partial_fill_ppm.store(1, Ordering::SeqCst);
    let req = VenueOrderRequest::market(cid("fl-p-1"), btc(), Side::Buy, dec!(0.005));
    let o = b.submit(&req, Timestamp(0)).unwrap();
    assert_eq!(o.state, OrderState::Accepted);
    let t = Instant::now();
    while b.order(&req.client_id).unwrap().unwrap().state != OrderState::Filled {
        assert!(t.elapsed() < Duration::from_secs(6), "never filled");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    let fl = fills(&b, &req.client_id);
    assert!(fl.len() >= 2, "partial fills expected: {fl:?}");
    let total: rust_decimal::Decimal = fl
        .iter()
        .map(|k| match k {
            VenueEventKind::Fill { quantity, .. } => *quantity,
            _ => unreachable!(),
        })
        .sum();
    assert_eq!(total, dec!(0.005));
}

#[test]
fn the_kline_stream_survives_a_drop_of_five_bars() {
    // 300x: a one-minute bar every 200 ms.
    let f = fake(300.0);
    let b = Binance::connect(config(&f, 300.0), Secret::new(KEY), Secret::new(SECRET)).unwrap();
    let feed = LiveFeed::start(
        b.bars(),
        FeedConfig {
            symbols: vec![btc()],
            timeframe: flotilla_domain::Timeframe::M1,
            warm_up_bars: 5,
            stale_after_bars: 50.0,
            reconnect_backoff: Duration::from_millis(100),
        },
        b.handle(),
    );
    let mut bars = Vec::new();
    let collect = |bars: &mut Vec<flotilla_domain::Bar>, d: Duration| {
        let t = Instant::now();
        while t.elapsed() < d {
            for e in feed.drain() {
                if let FeedEvent::Bar(_, bar) = e {
                    bars.push(bar);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    collect(&mut bars, Duration::from_millis(1500));
    let before = bars.len();
    assert!(before >= 8, "warm-up and streamed bars: {before}");
    f.drop_streams_for(Duration::from_millis(1000));
    collect(&mut bars, Duration::from_millis(2500));
    assert!(feed.connects() >= 2);
    assert!(bars.len() >= before + 10, "{} then {}", before, bars.len());
    for w in bars.windows(2) {
        assert_eq!(
            w[1].time.0 - w[0].time.0,
            60_000,
            "every bar once, in order"
        );
    }
    // The bars are the venue's bars.
    let last = bars.last().unwrap();
    let venue = f.market().bars(
        &Symbol::new("BTCUSDT"),
        last.time,
        Timestamp(last.time.0 + 60_000),
    );
    assert_eq!(venue[0].close, last.close);
}
