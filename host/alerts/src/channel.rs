//! One HTTP request per delivery to a channel, and what its answer means for a retry.
//! Secrets (the Telegram token, webhook URLs) live only in [`Secret`], whose `Debug` hides
//! them, and every error text is scrubbed of them before it goes anywhere.

use crate::alert::Alert;
use crate::format;
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use std::time::Duration;

/// A secret string: the token or webhook URL. Its `Debug` and `Display` never show it.
#[derive(Clone)]
pub(crate) struct Secret(pub(crate) String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where a channel delivers.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    /// Telegram Bot API: `{base}/bot{token}/sendMessage` to `chat_id`.
    Telegram {
        base: String,
        token: Secret,
        chat_id: String,
    },
    /// A Discord webhook URL.
    Discord { url: Secret },
    /// A generic JSON webhook URL.
    Webhook { url: Secret },
}

/// What one delivery attempt came to.
#[derive(Debug, PartialEq)]
pub(crate) enum Outcome {
    /// Accepted.
    Delivered,
    /// 429: wait this long (as the channel said, before clamping) and try again.
    RetryAfter(Duration, String),
    /// A 5xx, a timeout or a broken connection: back off and try again.
    Transient(String),
    /// Refused for good (4xx other than 408 and 429).
    Permanent(String),
}

impl Target {
    /// The channel's name, as in metrics and records.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Target::Telegram { .. } => "telegram",
            Target::Discord { .. } => "discord",
            Target::Webhook { .. } => "webhook",
        }
    }

    /// How many alerts one request can carry.
    pub(crate) fn batch_max(&self) -> usize {
        match self {
            Target::Discord { .. } => format::DISCORD_MAX_EMBEDS,
            _ => 1,
        }
    }

    /// The secrets error texts must never contain.
    pub(crate) fn secrets(&self) -> Vec<&str> {
        match self {
            Target::Telegram { token, .. } => vec![token.0.as_str()],
            Target::Discord { url } | Target::Webhook { url } => vec![url.0.as_str()],
        }
    }

    /// Sends a batch (one request) and classifies the answer.
    pub(crate) async fn send(&self, client: &Client, batch: &[Alert]) -> Outcome {
        let (url, body) = match self {
            Target::Telegram {
                base,
                token,
                chat_id,
            } => (
                format!("{}/bot{}/sendMessage", base.trim_end_matches('/'), token.0),
                format::telegram_message(chat_id, &batch[0]),
            ),
            Target::Discord { url } => (url.0.clone(), format::discord_message(batch)),
            Target::Webhook { url } => (url.0.clone(), format::webhook_body(&batch[0])),
        };
        let outcome = match client.post(&url).json(&body).send().await {
            Ok(resp) => self.classify(resp).await,
            Err(e) => request_error(e),
        };
        scrub_outcome(outcome, &self.secrets())
    }

    async fn classify(&self, resp: Response) -> Outcome {
        let status = resp.status();
        let header = retry_after_header(&resp);
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        classify(self, status, header, &body)
    }
}

/// The answer's meaning, from its status, `Retry-After` header (seconds) and JSON body.
pub(crate) fn classify(
    target: &Target,
    status: StatusCode,
    header: Option<f64>,
    body: &Value,
) -> Outcome {
    let telegram = matches!(target, Target::Telegram { .. });
    // Telegram answers 200 with `ok: true`; a 200 with `ok: false` is a refusal.
    if status.is_success() && (!telegram || body["ok"].as_bool() == Some(true)) {
        return Outcome::Delivered;
    }
    let said = describe(status, body);
    if status == StatusCode::TOO_MANY_REQUESTS {
        let secs = match target {
            Target::Telegram { .. } => body["parameters"]["retry_after"].as_f64().or(header),
            Target::Discord { .. } => body["retry_after"].as_f64().or(header),
            Target::Webhook { .. } => header,
        };
        // No hint at all: a second is the least a rate limiter expects.
        let secs = secs.filter(|s| s.is_finite() && *s >= 0.0).unwrap_or(1.0);
        return Outcome::RetryAfter(Duration::from_secs_f64(secs.min(1e6)), said);
    }
    if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
        Outcome::Transient(said)
    } else {
        Outcome::Permanent(said)
    }
}

/// `HTTP 400: <the API's own description>` (never the URL).
fn describe(status: StatusCode, body: &Value) -> String {
    let text = body["description"]
        .as_str()
        .or_else(|| body["message"].as_str())
        .map(|d| format!(": {}", format::clip(d, 200)))
        .unwrap_or_default();
    format!("HTTP {}{text}", status.as_u16())
}

/// `Retry-After` in seconds (the delta form; an HTTP date falls back to the default).
fn retry_after_header(resp: &Response) -> Option<f64> {
    resp.headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
}

/// A request that got no answer: timeouts and connection failures are worth a retry.
pub(crate) fn request_error(e: reqwest::Error) -> Outcome {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        text.push_str(": ");
        text.push_str(&s.to_string());
        src = s.source();
    }
    if e.is_builder() {
        Outcome::Permanent(text)
    } else if e.is_timeout() {
        Outcome::Transient(format!("timeout ({text})"))
    } else {
        Outcome::Transient(text)
    }
}

/// Replaces every secret in `text` (a safety net behind `without_url`).
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(s, "<redacted>");
    }
    out
}

fn scrub_outcome(o: Outcome, secrets: &[&str]) -> Outcome {
    match o {
        Outcome::Delivered => Outcome::Delivered,
        Outcome::RetryAfter(d, t) => Outcome::RetryAfter(d, scrub(&t, secrets)),
        Outcome::Transient(t) => Outcome::Transient(scrub(&t, secrets)),
        Outcome::Permanent(t) => Outcome::Permanent(scrub(&t, secrets)),
    }
}

/// The wait before retry number `attempt` (1-based) after a failure with no hint:
/// 0.5 s, 1 s, 2 s, ... at most 30 s.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let ms = 500u64.saturating_mul(1u64 << attempt.saturating_sub(1).min(16));
    Duration::from_millis(ms.min(30_000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tg() -> Target {
        Target::Telegram {
            base: "http://127.0.0.1:1".into(),
            token: Secret("123:SECRET".into()),
            chat_id: "1".into(),
        }
    }
    fn dc() -> Target {
        Target::Discord {
            url: Secret("http://127.0.0.1:1/api/webhooks/1/SECRET".into()),
        }
    }

    #[test]
    fn retry_after_comes_from_where_each_api_puts_it() {
        let s429 = StatusCode::TOO_MANY_REQUESTS;
        let tg429 = json!({"ok": false, "error_code": 429, "parameters": {"retry_after": 35}});
        assert!(
            matches!(classify(&tg(), s429, None, &tg429), Outcome::RetryAfter(d, _) if d == Duration::from_secs(35))
        );
        let dc429 = json!({"retry_after": 1.5, "global": false});
        assert!(
            matches!(classify(&dc(), s429, Some(2.0), &dc429), Outcome::RetryAfter(d, _) if d == Duration::from_millis(1500))
        );
        assert!(
            matches!(classify(&dc(), s429, Some(2.0), &Value::Null), Outcome::RetryAfter(d, _) if d == Duration::from_secs(2))
        );
        let wh = Target::Webhook {
            url: Secret("x".into()),
        };
        assert!(
            matches!(classify(&wh, s429, None, &Value::Null), Outcome::RetryAfter(d, _) if d == Duration::from_secs(1))
        );
    }

    #[test]
    fn five_hundreds_retry_and_four_hundreds_do_not() {
        let bad =
            json!({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"});
        assert_eq!(
            classify(&tg(), StatusCode::BAD_REQUEST, None, &bad),
            Outcome::Permanent("HTTP 400: Bad Request: chat not found".into())
        );
        assert!(matches!(
            classify(&dc(), StatusCode::BAD_GATEWAY, None, &Value::Null),
            Outcome::Transient(_)
        ));
        assert_eq!(
            classify(&dc(), StatusCode::NO_CONTENT, None, &Value::Null),
            Outcome::Delivered
        );
        // Telegram's 200 needs `ok: true`.
        assert!(matches!(
            classify(&tg(), StatusCode::OK, None, &json!({"ok": false})),
            Outcome::Permanent(_)
        ));
    }

    #[test]
    fn secrets_never_show() {
        assert!(!format!("{:?}", tg()).contains("SECRET"));
        assert!(!format!("{:?}", dc()).contains("SECRET"));
        assert_eq!(
            scrub("GET /bot123:SECRET/x failed", &["123:SECRET"]),
            "GET /bot<redacted>/x failed"
        );
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(3), Duration::from_secs(2));
        assert_eq!(backoff(40), Duration::from_secs(30));
    }
}
