//! Contract tests of the Binance connector against the fake Binance on 127.0.0.1: every
//! endpoint the connector uses and every error it maps, through its public API.

use flotilla_broker::venue::{
    CancelOutcome, Venue, VenueEventKind, VenueFailure, VenueOrderRequest,
};
use flotilla_domain::{ClientOrderId, OrderState, Side, Symbol, Timestamp};
use flotilla_venue_fake::binance::{FakeBinance, FakeBinanceConfig, FakeServer};
use flotilla_venues::binance::{Binance, BinanceConfig, sign};
use flotilla_venues::{FeedConfig, FeedEvent, LiveFeed, Secret, SubmitPolicy};
use rust_decimal::Decimal;
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

/// (trade id, quantity, price, fee) of each fill event of an order.
fn fill_parts(b: &Binance, c: &ClientOrderId) -> Vec<(String, Decimal, Decimal, Decimal)> {
    fills(b, c)
        .into_iter()
        .map(|k| match k {
            VenueEventKind::Fill {
                trade_id,
                quantity,
                price,
                fee,
                ..
            } => (trade_id, quantity, price, fee),
            _ => unreachable!(),
        })
        .collect()
}

/// The same, from the fake's paper venue (its record of what executed), with the paper
/// trade ids `pv-N` as Binance's `N`.
fn venue_fills(f: &FakeServer, c: &ClientOrderId) -> Vec<(String, Decimal, Decimal, Decimal)> {
    f.paper()
        .order(c)
        .unwrap()
        .unwrap()
        .fills
        .iter()
        .map(|x| {
            (
                x.trade_id.trim_start_matches("pv-").to_string(),
                x.quantity,
                x.price,
                x.fee,
            )
        })
        .collect()
}

fn my_trades_calls(f: &FakeServer) -> usize {
    f.journal()
        .iter()
        .filter(|e| e.method == "GET" && e.path == "/api/v3/myTrades")
        .count()
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
    // fill is still booked once, and nothing beyond it needed myTrades.
    assert_eq!(fills(&b, &req.client_id).len(), 1);
    assert_eq!(my_trades_calls(&f), 0);
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
    // A resting limit that fills before a query sees it: the query shows executedQty
    // beyond what is booked, so its executions come from myTrades with their fees.
    let up = b
        .prepare(&VenueOrderRequest::limit(
            cid("fl-l-2"),
            btc(),
            Side::Buy,
            dec!(0.01),
            b.last_price(&btc()).unwrap() * dec!(0.5),
        ))
        .unwrap();
    assert_eq!(
        b.submit(&up, Timestamp(0)).unwrap().state,
        OrderState::Accepted
    );
    let sym = Symbol::new("BTCUSDT");
    let px = f.market().last_price(&sym, f.clock().now()).unwrap();
    f.paper().on_price(&sym, px * 0.4, f.clock().now()).unwrap();
    let q = b.order(&up.client_id).unwrap().unwrap();
    assert_eq!(q.state, OrderState::Filled);
    assert_eq!(
        fill_parts(&b, &up.client_id),
        venue_fills(&f, &up.client_id)
    );
    assert!(venue_fills(&f, &up.client_id)[0].3 > dec!(0));
    let kinds: Vec<&str> = b
        .events_since(0)
        .unwrap()
        .iter()
        .map(|(_, e)| e.kind.name())
        .collect();
    assert_eq!(
        kinds,
        [
            "accepted", "fill", "accepted", "canceled", "accepted", "fill"
        ]
    );
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
        "GET /api/v3/myTrades",
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
    // Found by a query (no fills in it): the execution, its id and its fee came from
    // myTrades, and the late FULL answer and the polls booked nothing more.
    assert_eq!(
        fill_parts(&b, &req.client_id),
        venue_fills(&f, &req.client_id)
    );
}

#[test]
fn a_full_fill_then_polls_book_the_fee_once() {
    let f = fake(1.0);
    let b = connect(&f);
    let req = VenueOrderRequest::market(cid("fl-ff-1"), btc(), Side::Buy, dec!(0.003));
    let o = b.submit(&req, Timestamp(0)).unwrap();
    assert_eq!(o.state, OrderState::Filled);
    assert_eq!(o.fills.len(), 1);
    for _ in 0..3 {
        b.order(&req.client_id).unwrap().unwrap();
        std::thread::sleep(Duration::from_millis(150));
    }
    let mine = fill_parts(&b, &req.client_id);
    assert_eq!(mine, venue_fills(&f, &req.client_id));
    let fee: Decimal = mine.iter().map(|x| x.3).sum();
    assert_eq!(fee, f.paper().order(&req.client_id).unwrap().unwrap().fees);
    assert!(fee > dec!(0));
    // The FULL answer's fill id is the paper trade's number, as myTrades would give it.
    assert_eq!(o.fills[0].trade_id, mine[0].0);
    assert_eq!(my_trades_calls(&f), 0, "nothing beyond the booked quantity");
}

#[test]
fn poll_fills_of_a_resting_limit_carry_the_venues_trade_ids_and_fees() {
    // 600x: a one-minute bar every 100 ms.
    let f = fake(600.0);
    let b = Binance::connect(config(&f, 600.0), Secret::new(KEY), Secret::new(SECRET)).unwrap();
    f.faults().partial_fill_ppm.store(1, Ordering::SeqCst);
    // A buy limit above the market rests until bars come, each filling a small share.
    let req = b
        .prepare(&VenueOrderRequest::limit(
            cid("fl-pl-1"),
            btc(),
            Side::Buy,
            dec!(0.005),
            b.last_price(&btc()).unwrap() * dec!(1.05),
        ))
        .unwrap();
    let o = b.submit(&req, Timestamp(0)).unwrap();
    assert_eq!(
        (o.state, o.filled_quantity),
        (OrderState::Accepted, dec!(0))
    );
    // Only the poll reads the order from here.
    let t = Instant::now();
    while fill_parts(&b, &req.client_id)
        .iter()
        .map(|x| x.1)
        .sum::<Decimal>()
        < dec!(0.005)
    {
        assert!(t.elapsed() < Duration::from_secs(8), "never filled");
        std::thread::sleep(Duration::from_millis(50));
    }
    let calls = my_trades_calls(&f);
    std::thread::sleep(Duration::from_millis(500));
    let mine = fill_parts(&b, &req.client_id);
    let venue = venue_fills(&f, &req.client_id);
    assert!(venue.len() >= 2, "partial fills expected: {venue:?}");
    assert_eq!(
        mine, venue,
        "the venue's trade ids, quantities, prices and fees"
    );
    assert!(mine.iter().all(|x| !x.0.contains("-cum-")));
    let fee: Decimal = mine.iter().map(|x| x.3).sum();
    assert_eq!(fee, f.paper().order(&req.client_id).unwrap().unwrap().fees);
    assert!(fee > dec!(0));
    // Once filled (untracked), and between fills, polls cost no myTrades.
    assert!(
        calls >= 1 && calls <= venue.len() + 1,
        "{calls} myTrades calls"
    );
    assert_eq!(my_trades_calls(&f), calls);
    assert!(b.take_notices().iter().all(|n| !n.contains("fee 0")));
}

#[test]
fn a_failed_my_trades_falls_back_to_cumulative_figures_with_a_notice() {
    let f = fake(600.0);
    let b = Binance::connect(config(&f, 600.0), Secret::new(KEY), Secret::new(SECRET)).unwrap();
    f.faults().partial_fill_ppm.store(1, Ordering::SeqCst);
    f.faults().retry_after_s.store(1, Ordering::SeqCst);
    f.fail_my_trades(1);
    let req = b
        .prepare(&VenueOrderRequest::limit(
            cid("fl-mt-1"),
            btc(),
            Side::Buy,
            dec!(0.005),
            b.last_price(&btc()).unwrap() * dec!(1.05),
        ))
        .unwrap();
    b.submit(&req, Timestamp(0)).unwrap();
    let t = Instant::now();
    while fill_parts(&b, &req.client_id)
        .iter()
        .map(|x| x.1)
        .sum::<Decimal>()
        < dec!(0.005)
    {
        assert!(t.elapsed() < Duration::from_secs(10), "never filled");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let mine = fill_parts(&b, &req.client_id);
    // The first fill came from the cumulative figures, fee 0; the rest from myTrades.
    assert!(
        mine[0].0.contains("-cum-") && mine[0].3 == dec!(0),
        "{mine:?}"
    );
    let total: Decimal = mine.iter().map(|x| x.1).sum();
    assert_eq!(total, dec!(0.005), "nothing booked twice: {mine:?}");
    let notices = b.take_notices();
    assert!(
        notices
            .iter()
            .any(|n| n.contains("fl-mt-1") && n.contains("fee 0") && n.contains("429")),
        "{notices:?}"
    );
    assert!(
        f.journal()
            .iter()
            .any(|e| e.path == "/api/v3/myTrades" && e.status == 429)
    );
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

#[test]
fn a_1007_after_placing_is_asked_for_and_not_sent_again() {
    let f = fake(1.0);
    let b = connect(&f);
    f.faults().timeout_1007.store(1, Ordering::SeqCst);
    let req = VenueOrderRequest::market(cid("fl-1007-1"), btc(), Side::Buy, dec!(0.002));
    let o = b.submit(&req, Timestamp(0)).unwrap();
    assert_eq!(o.state, OrderState::Filled);
    assert_eq!(f.orders_received("fl-1007-1"), 1, "sent once");
    assert_eq!(f.orders_placed(), 1);
    assert_eq!(fills(&b, &req.client_id).len(), 1, "its fill booked once");
    let journal = f.journal();
    assert!(
        journal
            .iter()
            .any(|e| e.method == "POST" && e.status == 408)
    );
    assert!(
        journal
            .iter()
            .any(|e| e.method == "GET" && e.path == "/api/v3/order"),
        "asked for by client id"
    );
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
