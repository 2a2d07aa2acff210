use super::*;
use crate::registry::BrokerKind;
use crate::{ConfigError, DEFAULT_REGISTRY, SOURCE_CONFIG_DIR};
use std::path::Path;
use std::time::Duration;

const NO_FILES: ValidateOptions = ValidateOptions { check_files: false };

/// 1-based line of the first line of `text` containing `marker`.
fn line(text: &str, marker: &str) -> Option<usize> {
    Some(text.lines().position(|l| l.contains(marker)).expect(marker) + 1)
}

fn touch(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, b"").unwrap();
}

#[test]
fn bundled_registry_passes_every_check_but_the_file_check() {
    let reg = Registry::bundled(SOURCE_CONFIG_DIR).unwrap();
    reg.validate_with(NO_FILES).unwrap();
    let bots = reg.bots().unwrap();
    assert_eq!(bots.len(), 8);
    let components: HashSet<_> = bots
        .iter()
        .map(|b| b.component.file_name().unwrap().to_str().unwrap())
        .collect();
    let expected = [
        "sma_crossover.wasm",
        "rsi_reversion.wasm",
        "bollinger_breakout.wasm",
        "momentum.wasm",
        "rsi_python.wasm",
        "macd_js.wasm",
    ];
    assert_eq!(components, expected.into_iter().collect());
    let dir = reg.components_dir();
    assert!(
        dir.is_absolute() && dir.ends_with("bots/target/wasm32-wasip2/release"),
        "{dir:?}"
    );
    assert!(
        bots.iter()
            .all(|b| b.enabled && b.component.starts_with(&dir))
    );
    let crons: Vec<_> = bots
        .iter()
        .filter(|b| matches!(b.schedule, Schedule::Cron { .. }))
        .collect();
    assert_eq!(crons.len(), 1);
    assert!(matches!(
        crons[0].schedule,
        Schedule::Cron {
            tz: chrono_tz::Tz::America__New_York,
            ..
        }
    ));
    let fleet = reg.fleet_spec().unwrap();
    assert_eq!(fleet.name, "demo");
    assert_eq!(fleet.market.symbols.len(), 6);
    // The start is a Monday 09:30 in New York; the session bot first fires at 10:00 EST.
    let first = crons[0].schedule.next_after(fleet.market.start).unwrap();
    assert_eq!(first.0 - fleet.market.start.0, 30 * 60_000);
}

#[test]
fn bundled_registry_validates_fully_when_components_exist() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::bundled(tmp.path().join("config")).unwrap();
    let missing = reg.validate().unwrap_err();
    assert_eq!(missing.len(), 8, "{missing}");
    assert!(
        missing
            .iter()
            .all(|p| matches!(p.kind, ProblemKind::ComponentMissing(_)))
    );
    for b in reg.bots().unwrap() {
        touch(&b.component);
    }
    reg.validate().unwrap();
    assert_eq!(
        Registry::parse(DEFAULT_REGISTRY, tmp.path().join("config/fleet.toml"))
            .unwrap()
            .validate(),
        Ok(())
    );
}

const MISTAKES: &str = r#"
[fleet]
name = "t"
components_dir = "wasm"
starting_cash = "12abc"         # m-cash

[fleet.market]
symbols = ["AAPL", "MSFT"]

[[bot]]
id = "ok"
component = "ok.wasm"
every = "1m"
symbols = ["AAPL"]

[[bot]]
id = "ok"                       # m-dup
component = "missing.wasm"      # m-file
every = "10x"                   # m-interval
symbols = ["AAPL"]

[[bot]]                         # m-b2
id = "bad id!"                  # m-id
component = "ok.wasm"
symbols = ["AAPL", "TSLA"]      # m-symbol
tz = "America/New_York"         # m-tz-alone

[[bot]]
id = "cronny"
component = "ok.wasm"
cron = "0 61 * * * *"           # m-cron
tz = "Mars/Olympus"             # m-badtz
symbols = []                    # m-empty
[bot.params]
fast = 10
list = [1, 2]                   # m-param
[bot.limits]
memory_mb = 0                   # m-memory
deadline_ms = 5000              # m-deadline

[[bot]]
id = "zero"
component = "ok.wasm"
every = "0s"                    # m-zero
cron = "*/5 * * * *"            # m-both
symbols = ["MSFT"]
"#;

#[test]
fn every_mistake_is_reported_with_its_place_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    touch(&tmp.path().join("wasm/ok.wasm"));
    let origin = tmp.path().join("fleet.toml");
    let errs = Registry::parse(MISTAKES, &origin)
        .unwrap()
        .validate()
        .unwrap_err();
    let bot = |index: usize, id: &str| Place::Bot {
        index,
        id: id.into(),
    };
    let t = MISTAKES;
    let interval = |s: &str| ScheduleError::InvalidInterval {
        text: s.into(),
        reason: humantime::parse_duration(s).unwrap_err().to_string(),
    };
    let cron_reason = match parse_cron("0 61 * * * *") {
        Err(ScheduleError::InvalidCron { reason, .. }) => reason,
        other => panic!("{other:?}"),
    };
    let decimal_reason = "12abc".parse::<Decimal>().unwrap_err().to_string();
    let expected = vec![
        (
            Place::Fleet,
            "starting_cash",
            line(t, "m-cash"),
            ProblemKind::InvalidDecimal {
                text: "12abc".into(),
                reason: decimal_reason,
            },
        ),
        (
            bot(1, "ok"),
            "id",
            line(t, "m-dup"),
            ProblemKind::DuplicateId {
                id: "ok".into(),
                first: 0,
            },
        ),
        (
            bot(1, "ok"),
            "component",
            line(t, "m-file"),
            ProblemKind::ComponentMissing(tmp.path().join("wasm/missing.wasm")),
        ),
        (
            bot(1, "ok"),
            "every",
            line(t, "m-interval"),
            interval("10x").into(),
        ),
        (
            bot(2, "bad id!"),
            "id",
            line(t, "m-id"),
            ProblemKind::InvalidId("bad id!".into()),
        ),
        (
            bot(2, "bad id!"),
            "tz",
            line(t, "m-tz-alone"),
            ProblemKind::TzWithoutCron,
        ),
        (
            bot(2, "bad id!"),
            "every",
            line(t, "m-b2"),
            ProblemKind::NoSchedule,
        ),
        (
            bot(2, "bad id!"),
            "symbols",
            line(t, "m-symbol"),
            ProblemKind::UnknownSymbol("TSLA".into()),
        ),
        (
            bot(3, "cronny"),
            "tz",
            line(t, "m-badtz"),
            ScheduleError::UnknownTimezone("Mars/Olympus".into()).into(),
        ),
        (
            bot(3, "cronny"),
            "cron",
            line(t, "m-cron"),
            ScheduleError::InvalidCron {
                expr: "0 61 * * * *".into(),
                reason: cron_reason,
            }
            .into(),
        ),
        (
            bot(3, "cronny"),
            "symbols",
            line(t, "m-empty"),
            ProblemKind::Empty,
        ),
        (
            bot(3, "cronny"),
            "params.list",
            line(t, "m-param"),
            ProblemKind::UnsupportedParam("array"),
        ),
        (
            bot(3, "cronny"),
            "limits.memory_mb",
            line(t, "m-memory"),
            ProblemKind::OutOfRange {
                value: 0,
                min: 1,
                max: 4096,
            },
        ),
        (
            bot(3, "cronny"),
            "limits.deadline_ms",
            line(t, "m-deadline"),
            ProblemKind::DeadlineAboveTimeout {
                deadline: 5000,
                timeout: 1000,
            },
        ),
        (
            bot(4, "zero"),
            "every",
            line(t, "m-zero"),
            ScheduleError::ZeroInterval("0s".into()).into(),
        ),
        (
            bot(4, "zero"),
            "cron",
            line(t, "m-both"),
            ProblemKind::BothSchedules,
        ),
    ];
    let expected: Vec<Problem> = expected
        .into_iter()
        .map(|(place, field, line, kind)| Problem {
            place,
            field: field.into(),
            line,
            kind,
        })
        .collect();
    assert_eq!(errs.problems, expected, "\n{errs}");

    // One problem per line, each `file:line: place field name: message`.
    let text = errs.to_string();
    assert_eq!(text.lines().count(), 16, "{text}");
    let want = format!(
        "{}:{}: bot \"ok\" (bot[1]) field every: invalid interval \"10x\": ",
        origin.display(),
        line(t, "m-interval").unwrap()
    );
    assert!(text.lines().nth(3).unwrap().starts_with(&want), "{text}");
    assert!(
        text.contains("bot \"bad id!\" (bot[2]) field every: neither `every` nor `cron` is set")
    );
    assert!(text.contains(": fleet field starting_cash: invalid decimal \"12abc\""));
    // The resolved views refuse an invalid registry with the same problems (minus files).
    let no_files = Registry::parse(MISTAKES, &origin)
        .unwrap()
        .bots()
        .unwrap_err();
    assert_eq!(no_files.len(), 15);
}

#[test]
fn fleet_level_mistakes_are_all_reported() {
    let text = r#"
[fleet]
name = " "
starting_cash = -5
[fleet.risk]
max_open_positions = 20000
[fleet.sandbox]
memory_mb = 8192
deadline_ms = 900
timeout_ms = 800
[fleet.broker]
fee_bps = "20000"
[fleet.market]
symbols = ["AAPL", "AAPL", "bad sym"]
start = "2026-13-01T00:00:00Z"
"#;
    let errs = Registry::parse(text, "f.toml")
        .unwrap()
        .validate()
        .unwrap_err();
    let fields: Vec<_> = errs.iter().map(|p| (p.field.as_str(), p.line)).collect();
    assert_eq!(
        fields,
        [
            ("name", Some(3)),
            ("starting_cash", Some(4)),
            ("broker.fee_bps", Some(12)),
            ("risk.max_open_positions", Some(6)),
            ("sandbox.memory_mb", Some(8)),
            ("sandbox.deadline_ms", Some(9)),
            ("market.symbols", Some(14)),
            ("market.symbols", Some(14)),
            ("market.start", Some(15)),
        ],
        "\n{errs}"
    );
    assert!(errs.iter().all(|p| p.place == Place::Fleet));
    assert_eq!(
        errs.problems[6].kind,
        ProblemKind::DuplicateSymbol("AAPL".into())
    );
    assert_eq!(
        errs.problems[7].kind,
        ProblemKind::InvalidSymbol("bad sym".into())
    );
}

#[test]
fn resolved_bots_merge_limits_and_render_params() {
    let text = r#"
[fleet]
name = "t"
components_dir = "/opt/wasm"
[fleet.risk]
max_open_positions = 5
[[bot]]
id = "b"
component = "../x/b.wasm"
cron = "0 9 * * MON"
symbols = ["SPY", "AAPL"]
enabled = false
[bot.params]
period = 14
k = 2.0
small = 1e-7
name = "fast"
long = true
[bot.limits]
max_open_positions = 2
timeout_ms = 400
"#;
    let reg = Registry::parse(text, "/etc/flotilla/fleet.toml").unwrap();
    reg.validate().unwrap(); // disabled: its missing component is fine
    let b = reg.bots().unwrap().remove(0);
    assert_eq!(b.id, BotId::new("b"));
    assert_eq!(b.component, PathBuf::from("/etc/x/b.wasm"));
    assert!(!b.enabled);
    assert_eq!(b.symbols, [Symbol::new("SPY"), Symbol::new("AAPL")]);
    let params: Vec<(&str, &str)> = b
        .params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        params,
        [
            ("k", "2.0"),
            ("long", "true"),
            ("name", "fast"),
            ("period", "14"),
            ("small", "1e-7")
        ]
    );
    let limits = EffectiveLimits {
        max_open_positions: 2,
        memory_mb: 64,
        deadline_ms: 50,
        timeout_ms: 400,
    };
    assert_eq!(b.limits, limits);
    assert_eq!(b.limits.memory_bytes(), 64 << 20);
    assert_eq!(
        b.schedule,
        Schedule::cron("0 9 * * MON", chrono_tz::Tz::UTC).unwrap()
    );
    assert_eq!(b.schedule.interval_hint(), Duration::from_secs(7 * 86_400));
    let fleet = reg.fleet_spec().unwrap();
    assert_eq!(fleet.starting_cash, Decimal::from(100_000));
    assert_eq!(
        fleet.broker,
        BrokerSpec {
            kind: BrokerKind::Paper,
            slippage_bps: 2.into(),
            fee_bps: 1.into(),
            partial_fill_fraction: None,
            latency_ms: 0,
            mode: crate::VenueMode::Paper,
            url: None,
            request_timeout: Duration::from_secs(10),
            rate_limit_per_minute: None,
            resend_grace: None,
        }
    );
    assert_eq!(fleet.market.start, Timestamp(1_767_623_400_000));
}

#[test]
fn session_closes_name_known_symbols_and_real_zones() {
    let text = r#"
[fleet]
name = "t"
[fleet.market]
symbols = ["AAPL", "BTC-USD"]
[fleet.market.session_close]
AAPL = { time = "16:00", tz = "America/New_York" }
NOPE = { time = "16:00", tz = "UTC" }
BTC-USD = { time = "25:00", tz = "Mars/Olympus" }
"#;
    let reg = Registry::parse(text, PathBuf::from("s.toml")).unwrap();
    let errors = reg.fleet_spec().unwrap_err().to_string();
    assert!(errors.contains("market.session_close.NOPE"), "{errors}");
    assert!(errors.contains("market.session_close.BTC-USD"), "{errors}");
    assert!(!errors.contains("market.session_close.AAPL"), "{errors}");
    let ok = text
        .replace("NOPE = { time = \"16:00\", tz = \"UTC\" }\n", "")
        .replace(
            "BTC-USD = { time = \"25:00\", tz = \"Mars/Olympus\" }\n",
            "",
        );
    let spec = Registry::parse(&ok, PathBuf::from("s.toml"))
        .unwrap()
        .fleet_spec()
        .unwrap();
    assert_eq!(
        spec.market.session_close[&Symbol::new("AAPL")].tz,
        "America/New_York"
    );
}

#[test]
fn the_paper_venue_settings_are_checked() {
    let text = r#"
[fleet]
name = "t"
[fleet.broker]
partial_fill_fraction = 1.5
latency_ms = 90000
"#;
    let reg = Registry::parse(text, PathBuf::from("v.toml")).unwrap();
    let errors = reg.fleet_spec().unwrap_err().to_string();
    assert!(errors.contains("broker.partial_fill_fraction"), "{errors}");
    assert!(errors.contains("broker.latency_ms"), "{errors}");
    let ok =
        "[fleet]\nname = \"t\"\n[fleet.broker]\npartial_fill_fraction = 0.25\nlatency_ms = 200\n";
    let spec = Registry::parse(ok, PathBuf::from("v.toml"))
        .unwrap()
        .fleet_spec()
        .unwrap();
    assert_eq!(spec.broker.partial_fill_fraction, Some(Decimal::new(25, 2)));
    assert_eq!(spec.broker.latency_ms, 200);
}

#[test]
fn other_bot_mistakes_are_caught() {
    let text = r#"
[fleet]
name = "t"
[[bot]]
component = ""
cron = "0 0 0 30 2 *"
every = "1500us"
symbols = ["AAPL", "AAPL"]
[bot.params]
when = 2026-01-01
big = inf
"" = 1
[bot.limits]
max_open_positions = 51
"#;
    let errs = Registry::parse(text, "f.toml")
        .unwrap()
        .validate_with(NO_FILES)
        .unwrap_err();
    let got: Vec<String> = errs
        .iter()
        .map(|p| format!("{} {}: {}", p.place, p.field, p.kind))
        .collect();
    let want = [
        "bot[0] id: missing (required)",
        "bot[0] component: missing (required)",
        "bot[0] every: interval \"1500us\" is not a whole number of milliseconds",
        "bot[0] cron: both `every` and `cron` are set; set exactly one",
        "bot[0] symbols: duplicate symbol \"AAPL\"",
        "bot[0] params.: empty parameter name",
        "bot[0] params.big: non-finite number inf",
        "bot[0] params.when: unsupported value type datetime (use a string, integer, float or boolean)",
        "bot[0] limits.max_open_positions: 51 exceeds fleet.risk.max_open_positions (50)",
    ];
    assert_eq!(got, want, "\n{errs}");
    // On its own, a cron that can never fire is reported too.
    let never = text.replace("every = \"1500us\"\n", "");
    let errs = Registry::parse(&never, "f.toml")
        .unwrap()
        .validate_with(NO_FILES)
        .unwrap_err();
    assert!(
        errs.iter()
            .any(|p| p.kind == ProblemKind::NeverFires("0 0 0 30 2 *".into())),
        "{errs}"
    );
}

#[test]
fn config_error_wraps_validation_errors() {
    let run = || -> Result<(), ConfigError> {
        let reg = Registry::parse("[fleet]\nname = \"\"\n", "f.toml")?;
        reg.validate()?;
        Ok(())
    };
    let err = run().unwrap_err();
    assert!(matches!(err, ConfigError::Invalid(_)));
    assert_eq!(
        err.to_string(),
        "f.toml:2: fleet field name: missing (required)"
    );
}

#[test]
fn venue_settings_are_checked_with_their_place() {
    let text = r#"
[fleet]
name = "t"
[fleet.broker]
kind = "paper"
mode = "live"
url = "https://api.alpaca.markets"
request_timeout_ms = 5
[fleet.market]
feed_timeframe = "7m"
stale_after_bars = 0.5
"#;
    let reg = Registry::parse(text, PathBuf::from("v.toml")).unwrap();
    let errors = reg.fleet_spec().unwrap_err().to_string();
    for field in [
        "broker.mode",
        "broker.url",
        "broker.request_timeout_ms",
        "market.feed_timeframe",
        "market.stale_after_bars",
    ] {
        assert!(errors.contains(field), "{field} missing in {errors}");
    }
    assert!(errors.contains("only a loopback address"), "{errors}");
    let ok = r#"
[fleet]
name = "t"
[fleet.broker]
kind = "binance"
url = "http://127.0.0.1:9200"
rate_limit_per_minute = 1200
[fleet.market]
source = "binance"
symbols = ["BTC-USDT"]
"#;
    let spec = Registry::parse(ok, PathBuf::from("v.toml"))
        .unwrap()
        .fleet_spec()
        .unwrap();
    assert_eq!(spec.broker.kind, BrokerKind::Binance);
    assert_eq!(spec.broker.mode, crate::VenueMode::Paper);
    assert_eq!(spec.broker.url.as_deref(), Some("http://127.0.0.1:9200"));
    assert_eq!(spec.broker.rate_limit_per_minute, Some(1200));
    assert_eq!(spec.market.source, crate::MarketSourceKind::Binance);
    assert_eq!(spec.market.feed_timeframe, flotilla_domain::Timeframe::M1);
    assert_eq!(spec.market.bar_wait, Duration::from_millis(2000));
}

#[test]
fn only_loopback_urls_are_taken() {
    for good in [
        "http://127.0.0.1:1",
        "http://localhost/x",
        "https://[::1]:8443",
    ] {
        assert!(super::venue::loopback_url(good).is_ok(), "{good}");
    }
    for bad in [
        "http://10.0.0.1",
        "ftp://127.0.0.1",
        "http://127.0.0.1.evil.com",
        "api",
    ] {
        assert!(super::venue::loopback_url(bad).is_err(), "{bad}");
    }
}
