//! Telegram commands through `getUpdates` long polling against the fake, accepted only
//! from the configured chat; startup errors; no secret in records, errors or `Debug`.

mod common;

use common::*;
use flotilla_alerts::AlertsError;
use flotilla_alerts::fake::{FakeDiscord, FakeTelegram};
use flotilla_telemetry::Control;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

fn env() -> Vec<(&'static str, String)> {
    vec![("TEST_TG_TOKEN", TG_TOKEN.to_string())]
}

async fn with_commands() -> (
    FakeTelegram,
    std::sync::Arc<TestPort>,
    flotilla_alerts::Alerts,
) {
    let tg = FakeTelegram::start(TG_TOKEN).await.unwrap();
    let port = TestPort::new();
    let mut cfg = config(Some(&tg.url()), false, false);
    cfg.telegram.as_mut().unwrap().commands = true;
    let alerts = start(&cfg, &port, &env()).unwrap();
    (tg, port, alerts)
}

fn texts(tg: &FakeTelegram) -> Vec<String> {
    tg.messages()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn halt_is_taken_only_from_the_configured_chat() {
    let (tg, port, _alerts) = with_commands().await;
    tg.message_from(999, "/halt now");
    wait_for("the ignored command recorded", WAIT, || {
        !port.records_of("telegram_ignored").is_empty()
    })
    .await;
    let ignored = &port.records_of("telegram_ignored")[0].message;
    assert!(
        ignored.contains("\"/halt\" from chat 999 ignored"),
        "{ignored}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(port.controls().is_empty(), "a stranger's /halt acted");
    assert!(tg.messages().is_empty(), "a stranger got an answer");

    tg.message_from(CHAT, "/halt now");
    wait_for("the halt", WAIT, || port.controls().len() == 1).await;
    let (control, by) = port.controls()[0].clone();
    assert_eq!(
        control,
        Control::Halt {
            reason: "halt from Telegram: now".into()
        }
    );
    assert_eq!(by, format!("telegram:{CHAT}"));
    // The answer, and the halt's own alert (the fleet published the state change).
    tg.wait_messages(2, WAIT).await;
    let t = texts(&tg);
    assert!(
        t.iter()
            .any(|m| m.contains("<b>halt: done</b>\nhalt applied")),
        "{t:?}"
    );
    assert!(
        t.iter()
            .any(|m| m.contains("<b>Fleet halted</b>") && m.contains("(by telegram:4242)")),
        "{t:?}"
    );
    assert!(tg.messages().iter().all(|m| m["chat_id"] == CHAT));

    // Each update is confirmed by the next offset.
    let offsets: Vec<Option<i64>> = tg
        .journal()
        .iter()
        .filter(|h| h.method == "getUpdates")
        .map(|h| h.body["offset"].as_i64())
        .collect();
    assert_eq!(offsets[0], None);
    assert!(
        offsets.contains(&Some(1001)) && offsets.contains(&Some(1002)),
        "{offsets:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_positions_pause_resume_and_reduce() {
    let (tg, port, _alerts) = with_commands().await;
    let mut expected = 0;
    let mut ask = async |cmd: &str, answers: usize| {
        tg.message_from(CHAT, cmd);
        expected += answers;
        let got = tg.wait_messages(expected, WAIT).await.len();
        assert_eq!(got, expected, "after {cmd}: {:?}", texts(&tg));
        texts(&tg)
    };
    let t = ask("/status", 1).await;
    assert!(
        t[0].contains("Fleet test: active") && t[0].contains("Equity 10012.5"),
        "{t:?}"
    );
    let t = ask("/positions@FlotillaBot", 1).await;
    assert!(
        t[1].contains("sma BTCUSDT 0.02 @ 50000 (unrealised 12.5)"),
        "{t:?}"
    );
    let t = ask("/pause sma", 1).await;
    assert!(t[2].contains("pause_bot: done"), "{t:?}");
    let t = ask("/pause ghost", 1).await;
    assert!(
        t[3].contains("pause_bot: not done") && t[3].contains("no bot &quot;ghost&quot;"),
        "{t:?}"
    );
    let t = ask("/resume sma", 1).await;
    assert!(t[4].contains("resume_bot: done"), "{t:?}");
    // Fleet controls also alert their state change: two messages each.
    ask("/reduce", 2).await;
    ask("/resume", 2).await;
    let t = ask("/pause", 1).await;
    assert!(t[9].contains("/pause BOT"), "{t:?}");
    let t = ask("/frobnicate", 1).await;
    assert!(t[10].contains("Unknown command"), "{t:?}");
    let by = format!("telegram:{CHAT}");
    let controls: Vec<(Control, String)> = port.controls();
    assert_eq!(
        controls,
        vec![
            (Control::PauseBot { bot: "sma".into() }, by.clone()),
            (
                Control::PauseBot {
                    bot: "ghost".into()
                },
                by.clone()
            ),
            (Control::ResumeBot { bot: "sma".into() }, by.clone()),
            (
                Control::Reduce {
                    reason: "reduce from Telegram".into()
                },
                by.clone()
            ),
            (
                Control::Resume {
                    reason: "resume from Telegram".into()
                },
                by.clone()
            ),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_bad_secret_is_a_clear_error_that_shows_no_secret() {
    let port = TestPort::new();
    let cfg = config(Some("http://127.0.0.1:9"), true, false);
    let e = start(&cfg, &port, &env()).unwrap_err();
    assert!(matches!(&e, AlertsError::MissingEnv { var, .. } if var == "TEST_DISCORD_WEBHOOK"));
    assert_eq!(
        e.to_string(),
        "discord alerts: environment variable TEST_DISCORD_WEBHOOK is not set (it holds the webhook URL)"
    );
    let e = start(&cfg, &port, &[]).unwrap_err();
    assert!(e.to_string().contains("TEST_TG_TOKEN is not set"), "{e}");
    let bad = format!("not a url {DC_TOKEN}");
    let e = start(
        &cfg,
        &port,
        &[
            ("TEST_TG_TOKEN", TG_TOKEN.into()),
            ("TEST_DISCORD_WEBHOOK", bad),
        ],
    )
    .unwrap_err();
    for shown in [e.to_string(), format!("{e:?}")] {
        assert!(
            shown.contains("TEST_DISCORD_WEBHOOK") && !shown.contains("SECRET"),
            "{shown}"
        );
    }
    let plain = format!("http://discord.example.com/api/webhooks/1/{DC_TOKEN}");
    let env = [
        ("TEST_TG_TOKEN", TG_TOKEN.into()),
        ("TEST_DISCORD_WEBHOOK", plain),
    ];
    let e = start(&cfg, &port, &env).unwrap_err().to_string();
    assert!(
        e.contains("does not hold an https:// URL") && !e.contains("SECRET"),
        "{e}"
    );
    // Outside a runtime.
    let e = std::thread::spawn(move || {
        let port = TestPort::new();
        start(&config(None, false, false), &port, &[])
            .unwrap_err()
            .to_string()
    })
    .join()
    .unwrap();
    assert!(e.contains("tokio runtime"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_records_events_errors_or_debug() {
    // Telegram on a port where nothing listens, Discord that refuses with a 404.
    let dc = FakeDiscord::start(DC_TOKEN).await.unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let port = TestPort::new();
    let mut cfg = config(Some(&dead), true, false);
    cfg.max_attempts = 2;
    let wrong = dc.url().replace(DC_TOKEN, "SECRET-wrong-token");
    let env = [
        ("TEST_TG_TOKEN", TG_TOKEN.to_string()),
        ("TEST_DISCORD_WEBHOOK", wrong),
    ];
    let alerts = start(&cfg, &port, &env).unwrap();
    port.set_state("halted", "x");
    wait_for("both failures", WAIT, || {
        port.records_of("alert_failed").len() == 2
    })
    .await;

    let mut seen = format!("{alerts:?}");
    for r in port.records() {
        seen.push_str(&format!("{r:?}\n"));
    }
    for e in port.hub.recent(1000) {
        seen.push_str(&serde_json::to_string(&*e).unwrap());
    }
    assert!(!seen.contains("SECRET"), "a secret leaked: {seen}");
    assert!(
        !seen.contains("777000"),
        "the token's bot id leaked: {seen}"
    );
    let failed: Vec<String> = port
        .records_of("alert_failed")
        .into_iter()
        .map(|r| r.message)
        .collect();
    assert!(
        failed
            .iter()
            .any(|m| m.starts_with("telegram: Fleet halted: gave up after 2 attempt(s)")),
        "{failed:?}"
    );
    assert!(
        failed
            .iter()
            .any(|m| m.starts_with("discord: Fleet halted: HTTP 401: Invalid Webhook Token")),
        "{failed:?}"
    );
    assert_eq!(port.counter("telegram", "retried"), 1);
}
