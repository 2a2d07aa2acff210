//! A fake Telegram Bot API: `sendMessage` (checks the HTML it is sent the way Telegram
//! does, roughly) and `getUpdates` long polling over updates the test injects.

use super::{Fault, Faults, Hit, Journal, json_of, serve};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

struct Inner {
    updates: VecDeque<Value>,
    next_update: i64,
    next_message: i64,
    faults: Faults,
}

struct St {
    token: String,
    inner: Mutex<Inner>,
    arrived: Notify,
    journal: Journal,
}

/// A fake Telegram Bot API on 127.0.0.1 that accepts one bot token.
pub struct FakeTelegram {
    base: String,
    st: Arc<St>,
    task: JoinHandle<()>,
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeTelegram {
    /// Starts the fake, accepting requests for `token` (others get 401).
    pub async fn start(token: &str) -> std::io::Result<Self> {
        let st = Arc::new(St {
            token: token.into(),
            inner: Mutex::new(Inner {
                updates: VecDeque::new(),
                next_update: 1000,
                next_message: 1,
                faults: Faults::default(),
            }),
            arrived: Notify::new(),
            journal: Journal::default(),
        });
        let app = Router::new()
            .route("/{bot}/{method}", post(handle))
            .with_state(st.clone());
        let (addr, task) = serve(app).await?;
        Ok(Self {
            base: format!("http://{addr}"),
            st,
            task,
        })
    }

    /// The API's base URL (`api_url` in `[fleet.alerts.telegram]`).
    pub fn url(&self) -> String {
        self.base.clone()
    }

    /// Injects a text message from `chat_id` for `getUpdates` to return.
    pub fn message_from(&self, chat_id: i64, text: &str) {
        {
            let mut i = self.st.inner.lock().unwrap_or_else(|p| p.into_inner());
            let id = i.next_update;
            i.next_update += 1;
            let update = json!({
                "update_id": id,
                "message": {
                    "message_id": id,
                    "date": 1_700_000_000,
                    "chat": {"id": chat_id, "type": "private"},
                    "from": {"id": chat_id, "is_bot": false, "first_name": "op"},
                    "text": text,
                },
            });
            i.updates.push_back(update);
        }
        self.st.arrived.notify_waiters();
    }

    /// The next `count` `sendMessage` requests get a 429 with `retry_after` seconds.
    pub fn storm(&self, count: usize, retry_after_s: u64) {
        let mut i = self.st.inner.lock().unwrap_or_else(|p| p.into_inner());
        i.faults.storm = Some((count, retry_after_s as f64));
    }

    /// The next `count` `sendMessage` requests get HTTP `status` (a 5xx, say).
    pub fn fail_next(&self, count: usize, status: u16) {
        let mut i = self.st.inner.lock().unwrap_or_else(|p| p.into_inner());
        i.faults.errors = Some((count, status));
    }

    /// Every request so far, in order of arrival.
    pub fn journal(&self) -> Vec<Hit> {
        self.st.journal.all()
    }

    /// The `sendMessage` bodies accepted so far.
    pub fn messages(&self) -> Vec<Value> {
        let hits = self.journal().into_iter();
        hits.filter(|h| h.method == "sendMessage" && h.status == 200)
            .map(|h| h.body)
            .collect()
    }

    /// Waits until `n` messages were accepted (or `within` passes) and returns them.
    pub async fn wait_messages(&self, n: usize, within: Duration) -> Vec<Value> {
        let hits = self.st.journal.wait_ok("sendMessage", n, within).await;
        hits.into_iter().map(|h| h.body).collect()
    }
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn error(code: u16, description: &str) -> (StatusCode, Value) {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        json!({"ok": false, "error_code": code, "description": description}),
    )
}

async fn handle(
    State(st): State<Arc<St>>,
    Path((bot, method)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let body = json_of(&body);
    let (status, out) = if bot.strip_prefix("bot") != Some(st.token.as_str()) {
        error(401, "Unauthorized")
    } else {
        match method.as_str() {
            "sendMessage" => send_message(&st, &body),
            "getUpdates" => {
                st.journal.push(&method, body.clone(), at, 200);
                return answer(StatusCode::OK, get_updates(&st, &body).await);
            }
            _ => error(404, "Not Found"),
        }
    };
    st.journal.push(&method, body, at, status.as_u16());
    answer(status, out)
}

fn send_message(st: &St, body: &Value) -> (StatusCode, Value) {
    let mut i = st.inner.lock().unwrap_or_else(|p| p.into_inner());
    match i.faults.next() {
        Some(Fault::TooMany(secs)) => {
            let s = secs.ceil() as u64;
            let body = json!({
                "ok": false,
                "error_code": 429,
                "description": format!("Too Many Requests: retry after {s}"),
                "parameters": {"retry_after": s},
            });
            return (StatusCode::TOO_MANY_REQUESTS, body);
        }
        Some(Fault::Status(code)) => return error(code, "Bad Gateway"),
        None => {}
    }
    let text = body["text"].as_str().unwrap_or("");
    if body["chat_id"].is_null() {
        return error(400, "Bad Request: chat_id is empty");
    }
    if text.trim().is_empty() {
        return error(400, "Bad Request: message text is empty");
    }
    if text.chars().count() > 4096 {
        return error(400, "Bad Request: message is too long");
    }
    if body["parse_mode"] == "HTML"
        && let Err(why) = check_html(text)
    {
        return error(400, &format!("Bad Request: can't parse entities: {why}"));
    }
    let id = i.next_message;
    i.next_message += 1;
    let msg = json!({"message_id": id, "chat": {"id": body["chat_id"]}, "date": 1_700_000_000, "text": text});
    (StatusCode::OK, json!({"ok": true, "result": msg}))
}

/// Telegram's HTML mode: only known tags, and `&` only as an entity.
fn check_html(text: &str) -> Result<(), String> {
    const TAGS: [&str; 8] = ["b", "/b", "i", "/i", "code", "/code", "pre", "/pre"];
    const ENTITIES: [&str; 4] = ["lt;", "gt;", "amp;", "quot;"];
    let mut rest = text;
    while let Some(p) = rest.find(['<', '&']) {
        let tail = &rest[p + 1..];
        if rest[p..].starts_with('<') {
            let end = tail.find('>').ok_or("unclosed start tag")?;
            if !TAGS.contains(&&tail[..end]) {
                return Err(format!("unsupported start tag {:?}", &tail[..end]));
            }
            rest = &tail[end + 1..];
        } else {
            let e = ENTITIES.iter().find(|e| tail.starts_with(**e));
            let e = e.ok_or("unsupported entity")?;
            rest = &tail[e.len()..];
        }
    }
    Ok(())
}

async fn get_updates(st: &St, body: &Value) -> Value {
    let offset = body["offset"].as_i64();
    let timeout = Duration::from_secs(body["timeout"].as_u64().unwrap_or(0).min(50));
    let until = Instant::now() + timeout;
    loop {
        // Registered before looking, so an update injected in between is not missed.
        let arrived = st.arrived.notified();
        tokio::pin!(arrived);
        arrived.as_mut().enable();
        let found: Vec<Value> = {
            let mut i = st.inner.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(o) = offset {
                // An offset confirms every update before it.
                while i
                    .updates
                    .front()
                    .is_some_and(|u| u["update_id"].as_i64() < Some(o))
                {
                    i.updates.pop_front();
                }
            }
            i.updates.iter().cloned().collect()
        };
        let now = Instant::now();
        if !found.is_empty() || now >= until {
            return json!({"ok": true, "result": found});
        }
        let _ = tokio::time::timeout(until - now, arrived).await;
    }
}

#[cfg(test)]
mod tests {
    use super::check_html;

    #[test]
    fn html_check_catches_what_telegram_refuses() {
        assert!(check_html("<b>a &lt; b</b> &amp; c").is_ok());
        assert!(check_html("a < b").is_err());
        assert!(check_html("a & b").is_err());
        assert!(check_html("<script>").is_err());
    }
}
