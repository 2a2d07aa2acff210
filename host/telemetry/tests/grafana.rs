//! The bundled Grafana dashboard (`config/grafana/flotilla.json`) only queries metrics and
//! labels the fleet really exports, so a renamed metric breaks this test, not a dashboard.

use flotilla_telemetry::FleetMetrics;
use flotilla_telemetry::metrics::{BotLabel, ChannelLabels, ResultLabel, VenueLabel};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

const DASHBOARD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../config/grafana/flotilla.json"
);

fn dashboard() -> Value {
    let text = std::fs::read_to_string(DASHBOARD).expect("read config/grafana/flotilla.json");
    serde_json::from_str(&text).expect("config/grafana/flotilla.json is valid JSON")
}

/// Every family touched once, so each shows samples (a labelled family without a child
/// prints only its HELP and TYPE lines).
fn touched_metrics() -> FleetMetrics {
    let m = FleetMetrics::new();
    m.tick("sma", "ok", 0.002, 0.1, 1_700_000_000.0);
    m.verdict("sma", "refused", Some("max_open_positions"));
    m.verdict("sma", "approved", None);
    m.order("sma", "filled");
    m.fill("sma", false);
    m.venue_request("alpaca", "orders", Some(200));
    m.reloads
        .get_or_create(&ResultLabel {
            result: "ok".into(),
        })
        .inc();
    let bot = BotLabel { bot: "sma".into() };
    m.quarantined.get_or_create(&bot).set(1);
    m.paused.get_or_create(&bot).set(0);
    m.rate_headroom
        .get_or_create(&VenueLabel {
            venue: "alpaca".into(),
        })
        .set(150.0);
    m.alerts
        .get_or_create(&ChannelLabels {
            channel: "telegram".into(),
            result: "delivered".into(),
        })
        .inc();
    m
}

/// Sample name (`flotilla_x_total`, `flotilla_y_seconds_bucket`, ...) to its label names.
fn exported_samples(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let end = line.find(['{', ' ']).unwrap_or(line.len());
        let labels = out.entry(line[..end].to_string()).or_default();
        if line[end..].starts_with('{') {
            let close = line.find('}').expect("closed label set");
            for pair in line[end + 1..close].split(',') {
                labels.insert(pair.split('=').next().unwrap_or("").trim().to_string());
            }
        }
    }
    out
}

/// Families declared by `# TYPE` lines.
fn exported_families(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// `(where, expr)` for every panel target (rows' nested panels too) and every templating
/// query.
fn queries(dash: &Value) -> Vec<(String, String)> {
    fn walk(panels: &[Value], out: &mut Vec<(String, String)>) {
        for p in panels {
            let title = p["title"].as_str().unwrap_or("?");
            for t in p["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = t["expr"].as_str() {
                    let place = format!("panel {title:?} target {}", t["refId"]);
                    out.push((place, expr.to_string()));
                }
            }
            walk(p["panels"].as_array().map_or(&[], |v| v), out);
        }
    }
    let mut out = Vec::new();
    walk(dash["panels"].as_array().expect("panels"), &mut out);
    for v in dash["templating"]["list"].as_array().into_iter().flatten() {
        let q = &v["query"];
        if let Some(q) = q.as_str().or_else(|| q["query"].as_str()) {
            out.push((format!("variable {}", v["name"]), q.to_string()));
        }
    }
    out
}

/// Each `flotilla_[a-z_]+` name in `expr`, with the label names of the selector right
/// after it (`{bot=~"$bot"}`).
fn metric_uses(expr: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find("flotilla_") {
        let boundary = rest[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        let len = rest[i..]
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(rest.len() - i);
        let name = &rest[i..i + len];
        rest = &rest[i + len..];
        if !boundary {
            continue;
        }
        let mut labels = Vec::new();
        if let Some(sel) = rest.strip_prefix('{') {
            let close = sel.find('}').expect("closed selector");
            for m in sel[..close].split(',').filter(|m| !m.trim().is_empty()) {
                let end = m.find(['=', '!']).unwrap_or(m.len());
                labels.push(m[..end].trim().to_string());
            }
        }
        out.push((name.to_string(), labels));
    }
    out
}

/// Label names in `by (...)` and `without (...)` clauses.
fn grouping_labels(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    for kw in ["by (", "without ("] {
        for (i, _) in expr.match_indices(kw) {
            let inner = &expr[i + kw.len()..];
            let close = inner.find(')').expect("closed grouping");
            out.extend(inner[..close].split(',').map(|l| l.trim().to_string()));
        }
    }
    out
}

/// What the dashboard queries that the fleet does not export, one line per problem.
fn problems(dash: &Value, text: &str) -> Vec<String> {
    let samples = exported_samples(text);
    let mut out = Vec::new();
    for (place, expr) in queries(dash) {
        let mut known = BTreeSet::new();
        for (name, labels) in metric_uses(&expr) {
            let Some(have) = samples.get(&name) else {
                out.push(format!("{place}: no metric {name} in `{expr}`"));
                continue;
            };
            known.extend(have.iter().cloned());
            for l in labels.iter().filter(|l| !have.contains(*l)) {
                out.push(format!("{place}: {name} has no label {l:?}"));
            }
        }
        for l in grouping_labels(&expr)
            .iter()
            .filter(|l| !known.contains(*l))
        {
            out.push(format!(
                "{place}: grouping by {l:?}, which none of its metrics has"
            ));
        }
    }
    out
}

#[test]
fn every_query_uses_exported_metrics_and_labels() {
    let dash = dashboard();
    let text = touched_metrics().encode();
    let found = problems(&dash, &text);
    assert!(
        found.is_empty(),
        "{}\n\nexported:\n{text}",
        found.join("\n")
    );
    let used: usize = queries(&dash)
        .iter()
        .map(|(_, e)| metric_uses(e).len())
        .sum();
    assert!(
        used >= 20,
        "only {used} metric uses found: the scan is broken"
    );
}

#[test]
fn every_exported_family_has_a_panel() {
    let dash = dashboard();
    let text = touched_metrics().encode();
    let used: BTreeSet<String> = queries(&dash)
        .iter()
        .flat_map(|(_, e)| metric_uses(e))
        .map(|(name, _)| name)
        .collect();
    let families = exported_families(&text);
    assert!(families.len() >= 20, "{families:?}");
    let missing: Vec<_> = families
        .iter()
        .filter(|f| {
            !used
                .iter()
                .any(|u| *u == **f || u.starts_with(&format!("{f}_")))
        })
        .collect();
    assert!(missing.is_empty(), "families without a panel: {missing:?}");
}

#[test]
fn a_query_on_a_missing_metric_or_label_is_reported() {
    let mut dash = dashboard();
    let panels = dash["panels"].as_array_mut().unwrap();
    panels.push(json!({
        "type": "timeseries",
        "title": "broken",
        "targets": [
            {"refId": "A", "expr": "sum(rate(flotilla_tick_total[5m]))"},
            // A histogram is queried through its _bucket/_sum/_count series only.
            {"refId": "B", "expr": "flotilla_tick_duration_seconds{bot=\"x\"}"},
            {"refId": "C", "expr": "sum by (symbol) (rate(flotilla_fills_total{venue=\"a\"}[5m]))"},
        ]
    }));
    let found: Vec<String> = problems(&dash, &touched_metrics().encode())
        .into_iter()
        .filter(|p| p.starts_with("panel \"broken\""))
        .collect();
    let joined = found.join("\n");
    assert_eq!(found.len(), 4, "{joined}");
    assert!(joined.contains("no metric flotilla_tick_total"), "{joined}");
    assert!(
        joined.contains("no metric flotilla_tick_duration_seconds in"),
        "{joined}"
    );
    assert!(
        joined.contains("flotilla_fills_total has no label \"venue\""),
        "{joined}"
    );
    assert!(joined.contains("grouping by \"symbol\""), "{joined}");
}

#[test]
fn untouched_families_are_not_exported_as_samples() {
    // Why the test touches every family: a labelled family with no child has no samples,
    // so the check above would wrongly call its metric missing.
    let found = problems(&dashboard(), &FleetMetrics::new().encode());
    assert!(
        found
            .iter()
            .any(|p| p.contains("no metric flotilla_ticks_total")),
        "{found:?}"
    );
}

#[test]
fn datasource_bot_variable_and_state_mappings() {
    let dash = dashboard();
    let samples = exported_samples(&touched_metrics().encode());
    assert!(dash["schemaVersion"].as_u64().unwrap() >= 36);
    let vars = dash["templating"]["list"].as_array().unwrap();
    let ds = vars.iter().find(|v| v["name"] == "DS_PROMETHEUS").unwrap();
    assert_eq!(ds["type"], "datasource");
    assert_eq!(ds["query"], "prometheus");
    let bot = vars.iter().find(|v| v["name"] == "bot").unwrap();
    assert_eq!(bot["query"], "label_values(flotilla_ticks_total, bot)");
    assert_eq!(bot["multi"], true);
    assert_eq!(bot["includeAll"], true);

    let mut ids = BTreeSet::new();
    for p in dash["panels"].as_array().unwrap() {
        assert!(
            ids.insert(p["id"].as_u64().unwrap()),
            "duplicate id {}",
            p["id"]
        );
        if p["type"] == "row" {
            continue;
        }
        assert_eq!(p["datasource"]["uid"], "${DS_PROMETHEUS}", "{}", p["title"]);
        for t in p["targets"].as_array().unwrap() {
            assert_eq!(t["datasource"]["uid"], "${DS_PROMETHEUS}", "{}", p["title"]);
            let expr = t["expr"].as_str().unwrap();
            // A per-bot metric must follow the bot picker.
            for (name, labels) in metric_uses(expr) {
                let per_bot = samples.get(&name).is_some_and(|l| l.contains("bot"));
                assert!(
                    !per_bot || labels.iter().any(|l| l == "bot"),
                    "{}: {name} ignores $bot",
                    p["title"]
                );
            }
        }
    }

    let state = dash["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == "Trading state")
        .unwrap();
    assert_eq!(state["type"], "stat");
    assert_eq!(state["targets"][0]["expr"], "flotilla_trading_state");
    let m = &state["fieldConfig"]["defaults"]["mappings"][0]["options"];
    for (value, text, color) in [
        ("0", "ACTIVE", "green"),
        ("1", "REDUCING", "orange"),
        ("2", "HALTED", "red"),
    ] {
        assert_eq!(m[value]["text"], text);
        assert_eq!(m[value]["color"], color);
    }
}
