//! A fake Discord webhook (`POST /api/webhooks/{id}/{token}`: 204, or the message with
//! `?wait=true`; 429 with `retry_after` in the body and `Retry-After`), and a generic
//! webhook receiver (`POST /hook/{token}`: 200; 429 with `Retry-After`).

use super::{Fault, Faults, Hit, Journal, json_of, serve};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

struct St {
    token: String,
    faults: Mutex<Faults>,
    journal: Journal,
    discord: bool,
}

/// A fake Discord webhook on 127.0.0.1.
pub struct FakeDiscord {
    url: String,
    st: Arc<St>,
    task: JoinHandle<()>,
}

/// A fake generic JSON webhook on 127.0.0.1.
pub struct FakeWebhook(FakeDiscord);

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeDiscord {
    /// Starts the fake webhook `/api/webhooks/4242/{token}`.
    pub async fn start(token: &str) -> std::io::Result<Self> {
        Self::start_as(token, true).await
    }

    async fn start_as(token: &str, discord: bool) -> std::io::Result<Self> {
        let st = Arc::new(St {
            token: token.into(),
            faults: Mutex::new(Faults::default()),
            journal: Journal::default(),
            discord,
        });
        let route = if discord {
            "/api/webhooks/{id}/{token}"
        } else {
            "/hook/{id}/{token}"
        };
        let app = Router::new()
            .route(route, post(handle))
            .with_state(st.clone());
        let (addr, task) = serve(app).await?;
        let url = if discord {
            format!("http://{addr}/api/webhooks/4242/{token}")
        } else {
            format!("http://{addr}/hook/1/{token}")
        };
        Ok(Self { url, st, task })
    }

    /// The webhook URL (a secret: it holds the token).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The next `count` posts get a 429 with `retry_after` seconds (a float, as Discord
    /// sends it; pass milliseconds to play Discord's occasional unit mix-up).
    pub fn storm(&self, count: usize, retry_after: f64) {
        self.st
            .faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .storm = Some((count, retry_after));
    }

    /// The next `count` posts get HTTP `status`.
    pub fn fail_next(&self, count: usize, status: u16) {
        self.st
            .faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .errors = Some((count, status));
    }

    /// Every post so far, in order of arrival.
    pub fn journal(&self) -> Vec<Hit> {
        self.st.journal.all()
    }

    /// The bodies accepted so far.
    pub fn accepted(&self) -> Vec<Value> {
        let hits = self.journal().into_iter();
        hits.filter(|h| (200..300).contains(&h.status))
            .map(|h| h.body)
            .collect()
    }

    /// Waits until `n` posts were accepted (or `within` passes) and returns them.
    pub async fn wait_accepted(&self, n: usize, within: Duration) -> Vec<Value> {
        let hits = self.st.journal.wait_ok("webhook", n, within).await;
        hits.into_iter().map(|h| h.body).collect()
    }
}

impl FakeWebhook {
    /// Starts the fake receiver at `/hook/1/{token}`.
    pub async fn start(token: &str) -> std::io::Result<Self> {
        FakeDiscord::start_as(token, false).await.map(Self)
    }

    /// The URL to post to (a secret).
    pub fn url(&self) -> String {
        self.0.url()
    }

    /// The next `count` posts get a 429 with `Retry-After: secs`.
    pub fn storm(&self, count: usize, retry_after_s: u64) {
        self.0.storm(count, retry_after_s as f64)
    }

    /// The next `count` posts get HTTP `status`.
    pub fn fail_next(&self, count: usize, status: u16) {
        self.0.fail_next(count, status)
    }

    /// Every post so far.
    pub fn journal(&self) -> Vec<Hit> {
        self.0.journal()
    }

    /// Waits until `n` posts were accepted (or `within` passes) and returns them.
    pub async fn wait_accepted(&self, n: usize, within: Duration) -> Vec<Value> {
        self.0.wait_accepted(n, within).await
    }
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

async fn handle(
    State(st): State<Arc<St>>,
    Path((id, token)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let body = json_of(&body);
    let (status, resp) = respond(
        &st,
        &token,
        &body,
        q.get("wait").is_some_and(|w| w == "true"),
    );
    st.journal.push("webhook", body, at, status.as_u16());
    let _ = id;
    resp
}

fn respond(st: &St, token: &str, body: &Value, wait: bool) -> (StatusCode, Response) {
    if token != st.token {
        let b = json!({"message": "Invalid Webhook Token", "code": 50027});
        return (
            StatusCode::UNAUTHORIZED,
            answer(StatusCode::UNAUTHORIZED, b),
        );
    }
    let fault = st.faults.lock().unwrap_or_else(|p| p.into_inner()).next();
    match fault {
        Some(Fault::TooMany(secs)) => {
            let s = StatusCode::TOO_MANY_REQUESTS;
            let mut r = if st.discord {
                let b = json!({"message": "You are being rate limited.", "retry_after": secs, "global": false});
                answer(s, b)
            } else {
                (s, "slow down").into_response()
            };
            let header = HeaderValue::from_str(&format!("{}", secs.ceil() as u64));
            r.headers_mut()
                .insert(header::RETRY_AFTER, header.expect("digits"));
            return (s, r);
        }
        Some(Fault::Status(code)) => {
            let s = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (
                s,
                answer(s, json!({"message": "upstream trouble", "code": 0})),
            );
        }
        None => {}
    }
    if !st.discord {
        return (
            StatusCode::OK,
            answer(StatusCode::OK, json!({"received": true})),
        );
    }
    let content = body["content"].as_str().unwrap_or("");
    let embeds = body["embeds"].as_array().map_or(0, Vec::len);
    if content.chars().count() > 2000 || embeds > 10 || (content.is_empty() && embeds == 0) {
        let b = json!({"message": "Invalid Form Body", "code": 50035});
        return (StatusCode::BAD_REQUEST, answer(StatusCode::BAD_REQUEST, b));
    }
    if wait {
        let msg = json!({"id": "1", "content": content, "embeds": body["embeds"]});
        return (StatusCode::OK, answer(StatusCode::OK, msg));
    }
    (
        StatusCode::NO_CONTENT,
        StatusCode::NO_CONTENT.into_response(),
    )
}
