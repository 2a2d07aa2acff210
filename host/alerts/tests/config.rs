//! The `[fleet.alerts]` example of config/README.md parses to what the alerts expect.

use flotilla_config::{AlertLevel, Registry};

#[test]
fn the_documented_example_parses() {
    let text = r#"
[fleet.alerts.telegram]
chat_id = "-1001234567890"

[fleet.alerts.discord]

[fleet.alerts.events]
entry_fill = "off"
exit_fill = "silent"
"#;
    let reg = Registry::parse(text, "fleet.toml").unwrap();
    let a = &reg.fleet.alerts;
    let t = a.telegram.as_ref().unwrap();
    assert_eq!(
        (t.chat_id.as_str(), t.token_env.as_str()),
        ("-1001234567890", "FLOTILLA_TELEGRAM_TOKEN")
    );
    assert_eq!(t.api_url, "https://api.telegram.org");
    assert!(t.commands);
    assert_eq!(
        a.discord.as_ref().unwrap().webhook_env,
        "FLOTILLA_DISCORD_WEBHOOK"
    );
    assert!(a.webhook.is_none());
    assert_eq!(a.events.entry_fill, AlertLevel::Off);
    assert_eq!(a.events.exit_fill, AlertLevel::Silent);
    assert_eq!(a.events.trading_state, AlertLevel::On);
    assert_eq!(
        (a.queue, a.max_attempts, a.max_retry_after_s),
        (1000, 5, 60)
    );
}
