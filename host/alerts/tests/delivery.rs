//! Alerts reach real HTTP fakes of Telegram and Discord on 127.0.0.1, per the event
//! settings, with 429s honoured, 5xx retried, and no secret anywhere.

mod common;

use common::*;
use flotilla_alerts::fake::{FakeDiscord, FakeTelegram, FakeWebhook, Hit};
use flotilla_config::AlertLevel;
use flotilla_telemetry::EventData;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

async fn fakes() -> (FakeTelegram, FakeDiscord) {
    let tg = FakeTelegram::start(TG_TOKEN).await.unwrap();
    let dc = FakeDiscord::start(DC_TOKEN).await.unwrap();
    (tg, dc)
}

fn env(tg: &FakeTelegram, dc: &FakeDiscord) -> Vec<(&'static str, String)> {
    let _ = tg;
    vec![
        ("TEST_TG_TOKEN", TG_TOKEN.to_string()),
        ("TEST_DISCORD_WEBHOOK", dc.url()),
    ]
}

fn sends(j: &[Hit], method: &str) -> Vec<Hit> {
    j.iter().filter(|h| h.method == method).cloned().collect()
}

/// Every gap between consecutive requests that followed a 429 is at least `min`.
fn assert_waited(hits: &[Hit], min: Duration) {
    for w in hits.windows(2) {
        if w[0].status == 429 {
            let gap = w[1].at - w[0].at;
            assert!(gap >= min, "retried {gap:?} after a 429 that said {min:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_halt_reaches_telegram_and_discord() {
    let (tg, dc) = fakes().await;
    let port = TestPort::new();
    let cfg = config(Some(&tg.url()), true, false);
    let alerts = start(&cfg, &port, &env(&tg, &dc)).unwrap();
    port.set_state("halted", "daily loss 5.2% < limit & more");

    let m = tg.wait_messages(1, WAIT).await;
    assert_eq!(m.len(), 1, "{:?}", tg.journal());
    assert_eq!(m[0]["chat_id"], CHAT);
    assert_eq!(m[0]["parse_mode"], "HTML");
    assert_eq!(m[0]["disable_notification"], false);
    let text = m[0]["text"].as_str().unwrap();
    assert_eq!(
        text,
        "🔴 <b>Fleet halted</b>\nactive → halted: daily loss 5.2% &lt; limit &amp; more"
    );

    let d = dc.wait_accepted(1, WAIT).await;
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["content"], "Fleet halted");
    let embeds = d[0]["embeds"].as_array().unwrap();
    assert_eq!(embeds.len(), 1);
    assert_eq!(embeds[0]["title"], "Fleet halted");
    assert_eq!(embeds[0]["color"], 0xE74C3C);
    assert_eq!(
        embeds[0]["description"],
        "active → halted: daily loss 5.2% < limit & more"
    );

    // Each delivery recorded in the ledger, published on the hub, counted.
    wait_for("two alert_sent records", WAIT, || {
        port.records_of("alert_sent").len() == 2
    })
    .await;
    let mut sent: Vec<String> = port
        .records_of("alert_sent")
        .into_iter()
        .map(|r| r.message)
        .collect();
    sent.sort();
    assert_eq!(sent, ["discord: Fleet halted", "telegram: Fleet halted"]);
    // Recorded first, then published: wait for both publications.
    wait_for("two delivered alerts on the hub", WAIT, || {
        port.hub
            .recent(100)
            .iter()
            .filter(|e| {
                matches!(
                    &e.data,
                    EventData::Alert {
                        delivered: true,
                        ..
                    }
                )
            })
            .count()
            == 2
    })
    .await;
    assert_eq!(port.counter("telegram", "delivered"), 1);
    assert_eq!(port.counter("discord", "delivered"), 1);
    // The records it published itself sent nothing more.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(tg.messages().len(), 1);
    assert_eq!(dc.accepted().len(), 1);
    drop(alerts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_sends_quietly_and_off_sends_nothing() {
    let (tg, dc) = fakes().await;
    let port = TestPort::new();
    let mut cfg = config(Some(&tg.url()), true, false);
    cfg.events.entry_fill = AlertLevel::Silent;
    cfg.events.exit_fill = AlertLevel::Off;
    cfg.events.reconcile = AlertLevel::Off;
    let _alerts = start(&cfg, &port, &env(&tg, &dc)).unwrap();
    let fill = |exit: bool| EventData::Fill {
        order_id: 9,
        symbol: "BTCUSDT".into(),
        side: if exit { "sell" } else { "buy" }.into(),
        quantity: "0.02".into(),
        price: "50000".into(),
        fee: "0.5".into(),
        exit,
        reason: exit.then(|| "stop".into()),
    };
    port.hub.publish(1, Some("sma"), fill(false));
    port.hub.publish(2, Some("sma"), fill(true));
    let notice = EventData::Notice {
        what: "reconcile_difference".into(),
        message: "BTCUSDT: venue 0.03, book 0.02".into(),
    };
    port.hub.publish(3, None, notice);
    port.set_state("reducing", "by hand");

    // Delivered in order: what is off would have come before the last one.
    let m = tg.wait_messages(2, WAIT).await;
    assert_eq!(m.len(), 2, "{:?}", tg.journal());
    assert!(
        m[0]["text"]
            .as_str()
            .unwrap()
            .contains("Entry fill: buy 0.02 BTCUSDT @ 50000 — sma")
    );
    assert_eq!(m[0]["disable_notification"], true);
    assert!(
        m[1]["text"]
            .as_str()
            .unwrap()
            .contains("Fleet reducing only")
    );
    assert_eq!(m[1]["disable_notification"], false);
    // Discord may carry both in one message (up to ten embeds each).
    wait_for("two embeds", WAIT, || {
        let n: usize = dc
            .accepted()
            .iter()
            .map(|b| b["embeds"].as_array().unwrap().len())
            .sum();
        n == 2
    })
    .await;
    let d = dc.accepted();
    let embeds: Vec<&str> = d
        .iter()
        .flat_map(|b| b["embeds"].as_array().unwrap())
        .map(|e| e["title"].as_str().unwrap())
        .collect();
    assert!(embeds[0].starts_with("Entry fill") && embeds[1] == "Fleet reducing only");
    // A message that is all silent alerts suppresses notifications; one loud alert wins.
    for b in &d {
        let all_silent = b["embeds"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["title"] != "Fleet reducing only");
        assert_eq!(b.get("flags").is_some(), all_silent, "{b}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(tg.messages().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_is_waited_out_per_retry_after() {
    let (tg, dc) = fakes().await;
    let port = TestPort::new();
    let mut cfg = config(Some(&tg.url()), true, false);
    cfg.max_attempts = 10;
    let _alerts = start(&cfg, &port, &env(&tg, &dc)).unwrap();
    tg.storm(3, 1);
    dc.storm(3, 0.4);
    let started = Instant::now();
    port.set_state("halted", "storm");
    port.set_state("active", "storm over");
    port.set_state("halted", "again");

    let m = tg.wait_messages(3, WAIT).await;
    assert_eq!(m.len(), 3, "{:?}", tg.journal());
    let titles: Vec<&str> = m.iter().map(|b| b["text"].as_str().unwrap()).collect();
    assert!(
        titles[0].contains("storm")
            && titles[1].contains("storm over")
            && titles[2].contains("again")
    );
    let hits = sends(&tg.journal(), "sendMessage");
    let statuses: Vec<u16> = hits.iter().map(|h| h.status).collect();
    assert_eq!(statuses, [429, 429, 429, 200, 200, 200]);
    assert_waited(&hits, Duration::from_secs(1));
    assert!(started.elapsed() >= Duration::from_secs(3));

    // Discord's float seconds; its queue batches what waited into one message.
    let d = dc.wait_accepted(1, WAIT).await;
    assert!(!d.is_empty());
    let dhits = dc.journal();
    assert_eq!(
        &dhits.iter().map(|h| h.status).collect::<Vec<_>>()[..3],
        [429, 429, 429]
    );
    assert_waited(&dhits, Duration::from_millis(400));
    let mut embeds = 0;
    wait_for("three embeds", WAIT, || {
        embeds = dc
            .accepted()
            .iter()
            .map(|b| b["embeds"].as_array().unwrap().len())
            .sum();
        embeds == 3
    })
    .await;
    assert_eq!(port.counter("telegram", "retried"), 3);
    assert_eq!(port.counter("discord", "retried"), 3);
    assert_eq!(port.counter("telegram", "failed"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_in_milliseconds_is_clamped() {
    let (tg, dc) = fakes().await;
    let port = TestPort::new();
    let mut cfg = config(None, true, false);
    cfg.max_retry_after_s = 1;
    let _alerts = start(&cfg, &port, &env(&tg, &dc)).unwrap();
    // 1500 "seconds" that were meant as milliseconds: waited for 1 s, not 25 minutes.
    dc.storm(1, 1500.0);
    port.set_state("halted", "x");
    let d = dc.wait_accepted(1, Duration::from_secs(5)).await;
    assert_eq!(d.len(), 1, "{:?}", dc.journal());
    let j = dc.journal();
    let gap = j[1].at - j[0].at;
    assert!(
        gap >= Duration::from_secs(1) && gap < Duration::from_secs(3),
        "{gap:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generic_webhook_gets_the_event_retries_5xx_and_not_4xx() {
    let wh = FakeWebhook::start(WH_TOKEN).await.unwrap();
    let port = TestPort::new();
    let cfg = config(None, false, true);
    let env = [("TEST_WEBHOOK_URL", wh.url())];
    let _alerts = start(&cfg, &port, &env).unwrap();

    wh.fail_next(2, 503);
    port.set_state("halted", "x");
    let b = wh.wait_accepted(1, WAIT).await;
    assert_eq!(b.len(), 1);
    assert_eq!(b[0]["event"], "trading_state");
    assert_eq!(b[0]["severity"], "critical");
    assert_eq!(b[0]["fleet_event"]["kind"], "trading_state");
    assert_eq!(b[0]["fleet_event"]["to"], "halted");
    let j = wh.journal();
    assert_eq!(
        j.iter().map(|h| h.status).collect::<Vec<_>>(),
        [503, 503, 200]
    );
    // Exponential backoff: 0.5 s, then 1 s.
    assert!(j[1].at - j[0].at >= Duration::from_millis(500));
    assert!(j[2].at - j[1].at >= Duration::from_millis(1000));

    // Retry-After on the generic webhook too.
    wh.storm(1, 1);
    port.set_state("active", "y");
    wh.wait_accepted(2, WAIT).await;
    let j = wh.journal();
    assert_eq!(j[3].status, 429);
    assert!(j[4].at - j[3].at >= Duration::from_secs(1));

    // A 400 is final: one request, one failure recorded.
    wh.fail_next(1, 400);
    port.set_state("halted", "z");
    wait_for("a failure record", WAIT, || {
        port.records_of("alert_failed").len() == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(wh.journal().len(), 6);
    let failed = &port.records_of("alert_failed")[0].message;
    assert!(
        failed.starts_with("webhook: Fleet halted: HTTP 400"),
        "{failed}"
    );
    assert_eq!(port.counter("webhook", "failed"), 1);
    let gave_up = port.hub.recent(200).iter().any(|e| {
        matches!(&e.data, EventData::Alert { channel, delivered: false, .. } if channel == "webhook")
    });
    assert!(gave_up);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_never_blocks_the_publisher_and_counts_what_it_drops() {
    let tg = FakeTelegram::start(TG_TOKEN).await.unwrap();
    let port = TestPort::new();
    let mut cfg = config(Some(&tg.url()), false, false);
    cfg.queue = 5;
    cfg.max_retry_after_s = 2;
    let alerts = start(&cfg, &port, &[("TEST_TG_TOKEN", TG_TOKEN.to_string())]).unwrap();
    // The channel is stuck in a 429 while the fleet publishes 2,000 alerts.
    tg.storm(1, 2);
    port.set_state("halted", "first");
    wait_for("the first 429", WAIT, || !tg.journal().is_empty()).await;
    let t = Instant::now();
    for i in 0..2000 {
        let to = if i % 2 == 0 { "active" } else { "halted" };
        port.set_state(to, &format!("flip {i}"));
    }
    let publishing = t.elapsed();
    assert!(
        publishing < Duration::from_millis(500),
        "publishing took {publishing:?}"
    );

    wait_for("every alert delivered or dropped", WAIT, || {
        tg.messages().len() as u64 + alerts.dropped("telegram") == 2001
    })
    .await;
    let dropped = alerts.dropped("telegram");
    assert!(dropped >= 1990, "dropped {dropped}");
    assert_eq!(port.counter("telegram", "dropped"), dropped);
    // The oldest were dropped: the newest arrived.
    let last = tg.messages().last().unwrap()["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(last.contains("flip 1999"), "{last}");
    let recorded: u64 = port
        .records_of("alert_dropped")
        .iter()
        .map(|r| {
            r.message
                .split_whitespace()
                .nth(1)
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(recorded, dropped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_reset_sends_a_daily_summary_with_the_fleet_snapshot() {
    let tg = FakeTelegram::start(TG_TOKEN).await.unwrap();
    let port = TestPort::new();
    let cfg = config(Some(&tg.url()), false, false);
    let _alerts = start(&cfg, &port, &[("TEST_TG_TOKEN", TG_TOKEN.to_string())]).unwrap();
    let data = EventData::Notice {
        what: "session_reset".into(),
        message: "Session closed: 12 trades, realised +35.2".into(),
    };
    port.hub.publish(port_now(), None, data);
    let exit = EventData::Notice {
        what: "exit".into(),
        message: "stop sell 0.02 BTCUSDT at trigger 49000: filled".into(),
    };
    port.hub.publish(port_now(), Some("sma"), exit);
    let m = tg.wait_messages(2, WAIT).await;
    assert_eq!(m.len(), 2, "{:?}", tg.journal());
    let text = m[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("🔵 <b>Daily summary</b>\nSession closed: 12 trades, realised +35.2"),
        "{text}"
    );
    assert!(
        text.contains("Equity 10012.5 · cash 9000") && text.contains("sma BTCUSDT 0.02 @ 50000"),
        "{text}"
    );
    let text = m[1]["text"].as_str().unwrap();
    assert_eq!(
        text,
        "🟠 <b>Host exit (stop) — sma</b>\nstop sell 0.02 BTCUSDT at trigger 49000: filled"
    );
}

fn port_now() -> i64 {
    1_765_000_000_000
}
