//! The checks of `[fleet.api]` and `[fleet.alerts]`.

use super::{Checker, Place, ProblemKind};
use std::net::SocketAddr;

impl Checker<'_> {
    /// Checks the API and alert settings, each problem with its place.
    pub(super) fn ops_settings(&mut self, at: &Place) {
        let api = &self.reg.fleet.api;
        match api.listen.parse::<SocketAddr>() {
            Ok(addr) if !addr.ip().is_loopback() && !api.allow_non_loopback => {
                let why = format!(
                    "{addr} is not a loopback address: the API would face a network; set \
                     api.allow_non_loopback = true to mean it"
                );
                self.problem(at, "api.listen", ProblemKind::Invalid(why));
            }
            Ok(_) => {}
            Err(e) => {
                let why = format!("{:?} is not an address:port ({e})", api.listen);
                self.problem(at, "api.listen", ProblemKind::Invalid(why));
            }
        }
        for (i, o) in api.cors_origins.clone().iter().enumerate() {
            let field = format!("api.cors_origins[{i}]");
            if o.trim() == "*" {
                let why = "`*` would let any web page drive the fleet; list origins".into();
                self.problem(at, &field, ProblemKind::Invalid(why));
            } else if !(o.starts_with("http://") || o.starts_with("https://")) {
                let why = format!("{o:?} is not an origin like https://ops.example.com");
                self.problem(at, &field, ProblemKind::Invalid(why));
            }
        }
        let alerts = self.reg.fleet.alerts.clone();
        if let Some(t) = &alerts.telegram {
            let chat = t.chat_id.trim();
            if chat.is_empty() {
                self.problem(at, "alerts.telegram.chat_id", ProblemKind::Missing);
            } else if !(chat.starts_with('@')
                || chat.trim_start_matches('-').parse::<i64>().is_ok())
            {
                let why = format!("{chat:?} is not a chat id (a number, or @channel)");
                self.problem(at, "alerts.telegram.chat_id", ProblemKind::Invalid(why));
            }
            self.env_name(at, "alerts.telegram.token_env", &t.token_env);
            let url = t.api_url.as_str();
            if !url.starts_with("https://") && super::venue::loopback_url(url).is_err() {
                let why = format!("{url:?}: use https://, or http:// on a loopback host");
                self.problem(at, "alerts.telegram.api_url", ProblemKind::Invalid(why));
            }
        }
        if let Some(d) = &alerts.discord {
            self.env_name(at, "alerts.discord.webhook_env", &d.webhook_env);
        }
        if let Some(w) = &alerts.webhook {
            self.env_name(at, "alerts.webhook.url_env", &w.url_env);
        }
        self.range(at, "alerts.queue", alerts.queue as u64, (1, 1_000_000));
        self.range(
            at,
            "alerts.max_attempts",
            u64::from(alerts.max_attempts),
            (1, 100),
        );
        self.range(
            at,
            "alerts.max_retry_after_s",
            alerts.max_retry_after_s,
            (1, 3600),
        );
    }

    /// An environment variable's name: the secret itself never belongs in the registry.
    fn env_name(&mut self, at: &Place, field: &str, name: &str) {
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            let why = format!(
                "{name:?} is not an environment variable name (A-Z, 0-9, _): put the secret \
                 in the environment and its name here"
            );
            self.problem(at, field, ProblemKind::Invalid(why));
        }
    }
}
