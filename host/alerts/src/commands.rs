//! Telegram commands through `getUpdates` long polling, accepted only from the configured
//! chat. Controls act through the fleet port on a blocking thread, audited as
//! `telegram:<chat_id>`; answers go back through the chat's delivery queue.

use crate::alert::{Alert, positions_text, summary_text};
use crate::channel::{Outcome, Secret, classify, request_error, scrub};
use crate::format::clip;
use crate::queue::{Queue, Shared};
use flotilla_telemetry::{Control, FleetPort};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Seconds Telegram holds a `getUpdates` open when there is nothing new.
pub(crate) const POLL_S: u64 = 25;

/// What the poller needs.
pub(crate) struct Poller {
    pub(crate) base: String,
    pub(crate) token: Secret,
    pub(crate) chat_id: String,
    pub(crate) replies: Arc<Queue>,
    pub(crate) shared: Arc<Shared>,
}

const HELP: &str = "Commands: /status, /positions, /halt [why], /reduce [why], /resume [why], \
                    /pause BOT, /resume BOT";

impl Poller {
    /// Polls until aborted; errors back off (a 429 for its `retry_after`).
    pub(crate) async fn run(self) {
        let url = format!(
            "{}/bot{}/getUpdates",
            self.base.trim_end_matches('/'),
            self.token.0
        );
        let secrets = [self.token.0.as_str()];
        let mut offset: Option<i64> = None;
        let mut failures = 0u32;
        loop {
            let mut body = json!({"timeout": POLL_S, "allowed_updates": ["message"]});
            if let Some(o) = offset {
                body["offset"] = Value::from(o);
            }
            let req = self.shared.client.post(&url).json(&body);
            let answer = req.timeout(Duration::from_secs(POLL_S + 10)).send().await;
            let outcome = match answer {
                Ok(resp) if resp.status() == StatusCode::OK => match resp.json::<Value>().await {
                    Ok(v) if v["ok"].as_bool() == Some(true) => {
                        failures = 0;
                        for u in v["result"].as_array().into_iter().flatten() {
                            if let Some(id) = u["update_id"].as_i64() {
                                offset = Some(offset.map_or(id + 1, |o| o.max(id + 1)));
                            }
                            self.handle(u).await;
                        }
                        continue;
                    }
                    Ok(v) => classify_tg(StatusCode::OK, &v),
                    Err(e) => request_error(e),
                },
                Ok(resp) => {
                    let status = resp.status();
                    let v = resp.json::<Value>().await.unwrap_or(Value::Null);
                    classify_tg(status, &v)
                }
                Err(e) => request_error(e),
            };
            failures += 1;
            let (wait, why) = match outcome {
                Outcome::RetryAfter(d, why) => (d.min(self.shared.max_retry_after), why),
                Outcome::Transient(why) | Outcome::Permanent(why) => {
                    (crate::channel::backoff(failures + 1), why)
                }
                Outcome::Delivered => (Duration::from_secs(1), String::new()),
            };
            let why = scrub(&why, &secrets);
            tracing::warn!("telegram getUpdates failed: {why}; again in {wait:?}");
            tokio::time::sleep(wait).await;
        }
    }

    async fn handle(&self, update: &Value) {
        let msg = &update["message"];
        let Some(text) = msg["text"].as_str() else {
            return;
        };
        let chat = &msg["chat"];
        let from_chat = chat["id"]
            .as_i64()
            .map(|i| i.to_string())
            .unwrap_or_default();
        let by_name = chat["username"]
            .as_str()
            .is_some_and(|u| self.chat_id.strip_prefix('@') == Some(u));
        if from_chat != self.chat_id && !by_name {
            let word = clip(text.split_whitespace().next().unwrap_or(""), 40);
            let detail = format!(
                "telegram: {word:?} from chat {from_chat} ignored (not the configured chat)"
            );
            tracing::warn!("{detail}");
            let port = self.shared.port.clone();
            let job = move || port.record("telegram_ignored", None, &detail);
            let _ = tokio::task::spawn_blocking(job).await;
            return;
        }
        let (title, answer) = self.answer(text).await;
        let now = self.shared.port.now_ms();
        self.replies.push(Alert::reply(&title, &answer, now));
    }

    /// The answer to one command: (title, text).
    async fn answer(&self, text: &str) -> (String, String) {
        let mut words = text.split_whitespace();
        let cmd = words.next().unwrap_or("");
        // `/halt@MyBot` in groups names the bot.
        let cmd = cmd.split('@').next().unwrap_or(cmd).to_ascii_lowercase();
        let rest: Vec<&str> = words.collect();
        let arg = rest.join(" ");
        let why = |verb: &str| {
            if arg.is_empty() {
                format!("{verb} from Telegram")
            } else {
                format!("{verb} from Telegram: {arg}")
            }
        };
        let control = match cmd.as_str() {
            "/status" => return ("Status".into(), self.view(summary_text).await),
            "/positions" => return ("Positions".into(), self.view(positions_text).await),
            "/halt" => Control::Halt {
                reason: why("halt"),
            },
            "/reduce" => Control::Reduce {
                reason: why("reduce"),
            },
            "/resume" if rest.len() == 1 && self.is_bot(rest[0]).await => Control::ResumeBot {
                bot: rest[0].to_string(),
            },
            "/resume" => Control::Resume {
                reason: why("resume"),
            },
            "/pause" if rest.len() == 1 => Control::PauseBot {
                bot: rest[0].to_string(),
            },
            "/pause" => return ("Usage".into(), "/pause BOT".into()),
            "/help" | "/start" => return ("Help".into(), HELP.into()),
            _ => return ("Unknown command".into(), HELP.into()),
        };
        let port = self.shared.port.clone();
        let by = format!("telegram:{}", self.chat_id);
        let name = control.name();
        let job = move || port.control(&control, &by);
        match tokio::task::spawn_blocking(job).await {
            Ok(Ok(summary)) => (format!("{name}: done"), summary),
            Ok(Err(e)) => (format!("{name}: not done"), e.to_string()),
            Err(e) => (
                format!("{name}: not done"),
                format!("the control failed: {e}"),
            ),
        }
    }

    async fn view(&self, f: fn(&flotilla_telemetry::FleetSnapshot) -> String) -> String {
        let port = self.shared.port.clone();
        tokio::task::spawn_blocking(move || f(&port.snapshot()))
            .await
            .unwrap_or_else(|e| format!("the fleet did not answer: {e}"))
    }

    /// Whether `/resume X` names a bot (otherwise it is the fleet's resume with a reason).
    async fn is_bot(&self, name: &str) -> bool {
        let port: Arc<dyn FleetPort> = self.shared.port.clone();
        let name = name.to_string();
        tokio::task::spawn_blocking(move || port.bots().iter().any(|b| b.id == name))
            .await
            .unwrap_or(false)
    }
}

fn classify_tg(status: StatusCode, v: &Value) -> Outcome {
    let t = crate::channel::Target::Telegram {
        base: String::new(),
        token: Secret(String::new()),
        chat_id: String::new(),
    };
    classify(&t, status, None, v)
}
