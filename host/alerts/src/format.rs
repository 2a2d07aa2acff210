//! How each channel renders alerts: Telegram HTML, Discord embeds, the generic JSON.

use crate::alert::Alert;
use serde_json::{Value, json};

/// Telegram's limit on a message's text, in characters.
pub const TELEGRAM_MAX_TEXT: usize = 4096;
/// Discord's limit on `content`, in characters.
pub const DISCORD_MAX_CONTENT: usize = 2000;
/// Discord's limit on embeds per message.
pub const DISCORD_MAX_EMBEDS: usize = 10;
const EMBED_MAX_TITLE: usize = 256;
const EMBED_MAX_DESCRIPTION: usize = 4096;

/// Escapes text for Telegram's HTML parse mode (`<`, `>`, `&` are the only specials).
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters of `s` (an ellipsis marks a cut).
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The text of a Telegram message (HTML parse mode), within Telegram's limit.
pub fn telegram_text(a: &Alert) -> String {
    let mut head = String::new();
    if !a.title.is_empty() {
        head = format!("{} <b>{}</b>\n", a.severity.marker(), html_escape(&a.title));
    }
    // Clip the plain text before escaping so no entity is cut in half.
    let room = TELEGRAM_MAX_TEXT.saturating_sub(head.chars().count());
    let mut body = clip(&a.text, room);
    while html_escape(&body).chars().count() > room && !body.is_empty() {
        body = clip(&body, body.chars().count() * 9 / 10);
    }
    head + &html_escape(&body)
}

/// The `sendMessage` request body.
pub fn telegram_message(chat_id: &str, a: &Alert) -> Value {
    // A numeric chat id goes as a number, `@channel` as a string.
    let chat: Value = chat_id
        .parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(chat_id));
    json!({
        "chat_id": chat,
        "text": telegram_text(a),
        "parse_mode": "HTML",
        "disable_notification": a.silent,
        "link_preview_options": {"is_disabled": true},
    })
}

fn iso_time(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.to_rfc3339())
}

/// One Discord embed for one alert.
pub fn discord_embed(a: &Alert) -> Value {
    let mut e = json!({
        "title": clip(&a.title, EMBED_MAX_TITLE),
        "description": clip(&a.text, EMBED_MAX_DESCRIPTION),
        "color": a.severity.colour(),
        "footer": {"text": format!("flotilla · {}", a.event)},
    });
    if let Some(t) = iso_time(a.time_ms) {
        e["timestamp"] = Value::from(t);
    }
    if let Some(bot) = &a.bot {
        e["fields"] = json!([{"name": "bot", "value": clip(bot, 1024), "inline": true}]);
    }
    e
}

/// The webhook body for up to ten alerts: one embed each, the titles as `content` (for
/// notifications), mentions disabled. Discord has no silent flag for webhooks other than
/// `flags: 4096` (SUPPRESS_NOTIFICATIONS), set when every alert in it is silent.
pub fn discord_message(batch: &[Alert]) -> Value {
    let batch = &batch[..batch.len().min(DISCORD_MAX_EMBEDS)];
    let titles: Vec<&str> = batch.iter().map(|a| a.title.as_str()).collect();
    let mut m = json!({
        "content": clip(&titles.join("\n"), DISCORD_MAX_CONTENT),
        "embeds": batch.iter().map(discord_embed).collect::<Vec<_>>(),
        "allowed_mentions": {"parse": []},
    });
    if batch.iter().all(|a| a.silent) {
        m["flags"] = Value::from(4096);
    }
    m
}

/// The generic webhook's body: the alert, with the fleet event behind it.
pub fn webhook_body(a: &Alert) -> Value {
    let mut v = serde_json::to_value(a).unwrap_or_else(|_| json!({}));
    if let Some(t) = iso_time(a.time_ms) {
        v["time"] = Value::from(t);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Severity;

    fn alert(title: &str, text: &str) -> Alert {
        let mut a = Alert::reply(title, text, 1_700_000_000_000);
        a.severity = Severity::Critical;
        a.bot = Some("sma<1>".into());
        a
    }

    #[test]
    fn telegram_html_is_escaped_and_clipped() {
        let a = alert("Fleet <halted> & done", "a < b");
        assert_eq!(
            telegram_text(&a),
            "🔴 <b>Fleet &lt;halted&gt; &amp; done</b>\na &lt; b"
        );
        let long = alert("t", &"<".repeat(5000));
        let t = telegram_text(&long);
        assert!(
            t.chars().count() <= TELEGRAM_MAX_TEXT,
            "{}",
            t.chars().count()
        );
        assert!(
            !t.ends_with("&l") && !t.ends_with("&lt"),
            "no entity cut in half"
        );
        let m = telegram_message("-100123", &a);
        assert_eq!(m["chat_id"], -100123);
        assert_eq!(telegram_message("@ops", &a)["chat_id"], "@ops");
    }

    #[test]
    fn discord_keeps_to_its_limits() {
        let batch: Vec<Alert> = (0..12)
            .map(|i| alert(&"x".repeat(300), &i.to_string()))
            .collect();
        let m = discord_message(&batch);
        assert_eq!(m["embeds"].as_array().unwrap().len(), DISCORD_MAX_EMBEDS);
        assert!(m["content"].as_str().unwrap().chars().count() <= DISCORD_MAX_CONTENT);
        assert_eq!(
            m["embeds"][0]["title"].as_str().unwrap().chars().count(),
            256
        );
        assert_eq!(m["embeds"][0]["color"], 0xE74C3C);
        assert_eq!(m["embeds"][0]["fields"][0]["value"], "sma<1>");
        assert!(m.get("flags").is_none());
    }
}
