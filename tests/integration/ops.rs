//! The operator's surface of a real running fleet, beyond the API's own test: alerts
//! reaching loopback fakes of Telegram and Discord (and Telegram commands taken only from
//! the configured chat), `/metrics` agreeing with the ledger, and the bot controls
//! (flatten, pause, resume, reduce) changing the fleet.

use crate::api::{api_of, flotilla, http, json};
use flotilla_alerts::fake::{FakeDiscord, FakeTelegram};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const CHAT: i64 = 4242;
const TG_TOKEN: &str = "123456:test-telegram-token-never-logged";

/// A registry of three quick bots on the simulator, with `extra` appended.
fn registry(dir: &Path, extra: &str) -> std::path::PathBuf {
    let body = format!(
        "{}\n[fleet.risk]\nmax_open_positions = 20\n{extra}\n\
         [[bot]]\nid = \"sma\"\ncomponent = \"sma_crossover.wasm\"\nevery = \"1m\"\n\
         symbols = [\"AAPL\", \"MSFT\"]\n[bot.params]\nfast = 3\nslow = 8\n\
         [[bot]]\nid = \"rsi\"\ncomponent = \"rsi_reversion.wasm\"\nevery = \"1m\"\n\
         symbols = [\"SPY\"]\n\
         [[bot]]\nid = \"mom\"\ncomponent = \"momentum.wasm\"\nevery = \"1m\"\n\
         symbols = [\"QQQ\"]\n\
         [[bot]]\nid = \"lim\"\ncomponent = \"fixed_order.wasm\"\nevery = \"1m\"\n\
         symbols = [\"AAPL\"]\n[bot.params]\nside = \"buy\"\nqty = 1\nlimit = 1\n\
         limit_price = 1.0\ntif = \"gtc\"\n",
        crate::support::fleet_header()
    );
    let path = dir.join("fleet.toml");
    std::fs::write(&path, body).unwrap();
    path
}

fn start(dir: &Path, config: &Path, envs: &[(&str, String)]) -> Child {
    let mut cmd = flotilla();
    cmd.args(["run", "--duration", "3d", "--speed", "120", "--no-watch"])
        .args(["--api-listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .arg("--db")
        .arg(dir.join("ops.db"))
        .arg("--cache-dir")
        .arg(crate::support::shared_cache())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

fn wait_until(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn post(addr: &str, path: &str, token: &str, body: &str) -> serde_json::Value {
    let (status, _, text) = http(addr, "POST", path, Some(token), body);
    assert_eq!(status, 200, "POST {path}: {text}");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn alerts_reach_telegram_and_discord_and_telegram_commands_come_only_from_the_chat() {
    let _serial = crate::support::timing();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tg = rt.block_on(FakeTelegram::start(TG_TOKEN)).unwrap();
    let dc = rt
        .block_on(FakeDiscord::start("discord-webhook-token"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "[fleet.alerts.telegram]\nchat_id = \"{CHAT}\"\napi_url = \"{}\"\n\
         [fleet.alerts.discord]\n",
        tg.url()
    );
    let config = registry(dir.path(), &extra);
    let mut child = start(
        dir.path(),
        &config,
        &[
            ("FLOTILLA_TELEGRAM_TOKEN", TG_TOKEN.to_string()),
            ("FLOTILLA_DISCORD_WEBHOOK", dc.url()),
        ],
    );
    let (addr, token, _) = api_of(&mut child);

    post(
        &addr,
        "/api/v1/fleet/halt",
        &token,
        r#"{"reason":"alert test"}"#,
    );
    let said = rt.block_on(tg.wait_messages(1, Duration::from_secs(20)));
    let text = |m: &serde_json::Value| m["text"].as_str().unwrap_or("").to_lowercase();
    assert!(
        said.iter().any(|m| text(m).contains("halted")),
        "Telegram heard no halt: {said:#?}"
    );
    assert_eq!(
        said[0]["chat_id"].to_string().trim_matches('"'),
        CHAT.to_string()
    );
    let embeds = rt.block_on(dc.wait_accepted(1, Duration::from_secs(20)));
    assert!(
        embeds
            .iter()
            .any(|m| m.to_string().to_lowercase().contains("halted")),
        "Discord heard no halt: {embeds:#?}"
    );

    // A stranger's /resume is ignored; the chat's is obeyed and audited under its name.
    tg.message_from(999, "/resume");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(json(&addr, "/api/v1/state", &token)["state"], "halted");
    tg.message_from(CHAT, "/resume all clear");
    wait_until("the chat's /resume", Duration::from_secs(20), || {
        json(&addr, "/api/v1/state", &token)["state"] == "active"
    });
    assert_eq!(
        json(&addr, "/api/v1/state", &token)["set_by"],
        format!("telegram:{CHAT}")
    );
    let events = json(&addr, "/api/v1/events?limit=1000", &token).to_string();
    assert!(
        events.contains("telegram_ignored"),
        "the stranger is on record"
    );
    assert!(events.contains("alert_sent"), "deliveries are on record");
    assert!(!events.contains(TG_TOKEN), "the Telegram token leaked");
    assert!(
        !events.contains("discord-webhook-token"),
        "the webhook leaked"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `name{labels} value` lines of the Prometheus text format, by series.
fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("series and value");
        let value: f64 = value.parse().unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(
            series.starts_with("flotilla_"),
            "not a flotilla metric: {line}"
        );
        out.insert(series.to_string(), value);
    }
    out
}

fn metric(m: &BTreeMap<String, f64>, series: &str) -> u64 {
    m.get(series).copied().unwrap_or(0.0) as u64
}

#[test]
fn metrics_agree_with_the_ledger_and_controls_change_the_fleet() {
    let _serial = crate::support::timing();
    let dir = tempfile::tempdir().unwrap();
    let config = registry(dir.path(), "");
    let mut child = start(dir.path(), &config, &[]);
    let (addr, token, _) = api_of(&mut child);
    let positions = |bot: &str| -> Vec<serde_json::Value> {
        json(&addr, "/api/v1/positions?limit=1000", &token)["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["bot"] == bot && p["quantity"].as_str().is_some_and(|q| q != "0"))
            .cloned()
            .collect()
    };
    // A resting limit order far below the market: cancel it.
    let mut working = serde_json::Value::Null;
    wait_until("the resting limit order", Duration::from_secs(60), || {
        working = json(&addr, "/api/v1/orders?status=working&bot=lim", &token)["items"][0].clone();
        working["state"] == "accepted"
    });
    let id = working["id"].as_u64().unwrap();
    let answer = post(&addr, &format!("/api/v1/orders/{id}/cancel"), &token, "");
    assert_eq!(answer["ok"], true, "{answer}");
    wait_until("the cancel", Duration::from_secs(30), || {
        json(&addr, &format!("/api/v1/orders/{id}"), &token)["order"]["state"] == "canceled"
    });
    // Wait for a bot that holds something, then flatten it.
    let mut held = None;
    wait_until("a bot with a position", Duration::from_secs(90), || {
        held = ["sma", "rsi", "mom"]
            .into_iter()
            .find(|b| !positions(b).is_empty());
        held.is_some()
    });
    let bot = held.unwrap();
    let answer = post(&addr, &format!("/api/v1/bots/{bot}/flatten"), &token, "");
    assert_eq!(answer["ok"], true, "{answer}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !positions(bot).is_empty() {
        assert!(
            Instant::now() < deadline,
            "{bot} still holds {:#?} after {answer}; its orders: {:#}",
            positions(bot),
            json(
                &addr,
                &format!("/api/v1/orders?status=all&bot={bot}&limit=5"),
                &token
            )
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        json(&addr, &format!("/api/v1/bots/{bot}"), &token)["bot"]["state"],
        "paused",
        "a flattened bot is paused so it does not buy straight back"
    );
    post(&addr, &format!("/api/v1/bots/{bot}/resume"), &token, "");
    assert_eq!(
        json(&addr, &format!("/api/v1/bots/{bot}"), &token)["bot"]["state"],
        "running"
    );
    post(&addr, "/api/v1/fleet/reduce", &token, "");
    assert_eq!(
        json(&addr, "/api/v1/fleet", &token)["trading_state"],
        "reducing"
    );

    // Quiesce: halt and pause every bot, wait for the working orders to end, then compare
    // two equal scrapes with the ledger read between them.
    post(&addr, "/api/v1/fleet/halt", &token, "");
    for b in ["sma", "rsi", "mom"] {
        post(&addr, &format!("/api/v1/bots/{b}/pause"), &token, "");
    }
    wait_until("no working orders", Duration::from_secs(30), || {
        json(&addr, "/api/v1/fleet", &token)["working_orders"] == 0
    });
    let scrape = || {
        let (status, _, body) = http(&addr, "GET", "/metrics", Some(&token), "");
        assert_eq!(status, 200);
        parse_metrics(&body)
    };
    let db = dir.path().join("ops.db");
    // Ticks go on being recorded (skipped, paused); decisions and fills do not.
    let decisions = |m: &BTreeMap<String, f64>| -> BTreeMap<String, f64> {
        m.iter()
            .filter(|(k, _)| {
                [
                    "fills_total",
                    "intents_total",
                    "refusals_total",
                    "orders_total",
                ]
                .iter()
                .any(|f| k.starts_with(&format!("flotilla_{f}{{")))
            })
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    };
    let mut agreed = false;
    for _ in 0..20 {
        let before = scrape();
        let ledger = flotilla_ledger::Ledger::open(&db).unwrap();
        let summaries = ledger.bot_summaries().unwrap();
        let fills = ledger.all_fills().unwrap();
        let after = scrape();
        if decisions(&before) != decisions(&after) {
            continue; // something was decided between the scrapes: read again
        }
        let sum = |family: &str, b: &str| -> u64 {
            before
                .iter()
                .filter(|(k, _)| {
                    k.starts_with(&format!("flotilla_{family}{{"))
                        && k.contains(&format!("bot=\"{b}\""))
                })
                .map(|(_, v)| *v as u64)
                .sum()
        };
        let mut all_equal = !summaries.is_empty();
        for s in &summaries {
            let b = s.bot.as_str();
            let booked = fills.iter().filter(|f| f.bot.as_str() == b).count() as u64;
            let m = |verdict: &str| {
                metric(
                    &before,
                    &format!("flotilla_intents_total{{bot=\"{b}\",verdict=\"{verdict}\"}}"),
                )
            };
            let row = (
                sum("fills_total", b),
                m("approved"),
                m("resized"),
                m("refused"),
                sum("refusals_total", b),
            );
            let want = (booked, s.approved, s.resized, s.refused, s.refused);
            if row != want {
                all_equal = false;
                eprintln!("{b}: metrics {row:?} ledger {want:?}");
            }
        }
        if all_equal {
            agreed = true;
            assert!(fills.len() > 1, "the run traded");
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(agreed, "the metrics never agreed with the ledger");
    let m = scrape();
    assert_eq!(metric(&m, "flotilla_trading_state"), 2, "halted");
    assert_eq!(
        metric(&m, &format!("flotilla_bot_paused{{bot=\"{bot}\"}}")),
        1
    );
    assert!(metric(&m, "flotilla_ticks_total{bot=\"sma\",outcome=\"ok\"}") > 0);
    child.kill().unwrap();
    child.wait().unwrap();
}
