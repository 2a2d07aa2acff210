//! The HTTP API over real HTTP on 127.0.0.1, a real ledger file and a test fleet port.

mod support;

use flotilla_telemetry::{Control, FleetPort};
use serde_json::{Value, json};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_endpoint_answers_from_the_ledger_and_the_live_fleet() {
    let s = start("", &[]).await;

    let health = s
        .client
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "healthz needs no token");

    let fleet = s.json("/api/v1/fleet").await;
    assert_eq!(fleet["name"], "test-fleet");
    assert_eq!(fleet["trading_state"], "active");
    assert_eq!(fleet["equity"], "10060");
    assert_eq!(
        fleet["bots"],
        json!({"total": 3, "running": 2, "paused": 0, "quarantined": 1})
    );
    assert_eq!(fleet["open_positions"], 2, "beta is flat");
    assert_eq!(fleet["working_orders"], 1);
    assert_eq!(fleet["peak_equity"], "10060");
    assert!(fleet["max_drawdown"].as_f64().unwrap() > 0.0);
    assert_eq!(fleet["now_ms"], 31 * 60_000);

    let bots = s.json("/api/v1/bots").await;
    assert_eq!(bots["total"], 3);
    let alpha = &bots["items"][0];
    assert_eq!(alpha["id"], "alpha");
    assert_eq!(alpha["trades"], FILLS);
    assert_eq!(alpha["ticks"], 30);
    assert_eq!(alpha["realized_pnl"], "15");
    assert_eq!(alpha["fees"], "0.30");
    assert_eq!(alpha["unrealized_pnl"], "0.5");
    assert_eq!(alpha["pnl"], "15.20");
    assert_eq!(alpha["schedule"], "every 1m");
    assert_eq!(alpha["allocation"], "3004");
    assert_eq!(alpha["lateness_ms"], 2);
    let beta = &bots["items"][1];
    assert_eq!(
        (beta["refused"].as_u64(), beta["intents"].as_u64()),
        (Some(30), Some(30))
    );
    let gamma = &bots["items"][2];
    assert_eq!(gamma["state"], "quarantined");
    assert_eq!(gamma["errors"], 3);
    assert_eq!(gamma["last_error"], "trap at tick 30");
    assert_eq!(
        s.json("/api/v1/bots?q=amm").await["items"][0]["id"],
        "gamma"
    );

    let one = s.json("/api/v1/bots/alpha").await;
    assert_eq!(one["bot"]["version"], "alpha 1.0.0");
    assert_eq!(one["positions"].as_array().unwrap().len(), 1);
    assert_eq!(s.get("/api/v1/bots/nobody").await.status(), 404);

    let pos = s.json("/api/v1/positions").await;
    assert_eq!(pos["total"], 2);
    assert_eq!(
        s.json("/api/v1/positions?bot=gamma").await["items"][0]["bot"],
        "gamma"
    );

    let working = s.json("/api/v1/orders").await;
    assert_eq!(working["items"].as_array().unwrap().len(), 1);
    assert_eq!(working["items"][0]["id"], WORKING_ORDER);
    let done = s.json("/api/v1/orders?status=done&limit=5").await;
    assert_eq!(done["items"][0]["id"], 30);
    assert_eq!(done["next"], 26);
    assert_eq!(
        s.json("/api/v1/orders?status=all&bot=gamma").await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(s.get("/api/v1/orders?status=bogus").await.status(), 400);
    let o = s.json("/api/v1/orders/3").await;
    assert_eq!(o["order"]["state"], "filled");
    assert!(!o["order"]["history"].as_array().unwrap().is_empty());
    assert_eq!(o["fills"][0]["price"], "102");
    assert_eq!(s.get("/api/v1/orders/12345").await.status(), 404);
    assert_eq!(s.get("/api/v1/orders/x").await.status(), 400);

    let fills = s.json("/api/v1/fills?bot=alpha&limit=2").await;
    assert_eq!(fills["items"][0]["order_id"], 30);
    assert_eq!(fills["items"][0]["trade_id"], "T30");
    let ranged = s.json("/api/v1/fills?from=120000&to=240000").await;
    assert_eq!(ranged["items"].as_array().unwrap().len(), 3);

    let eq = s.json("/api/v1/equity?points=10").await;
    assert_eq!(eq["basis"], "equity");
    assert_eq!(eq["rows"], 30);
    let pts = eq["points"].as_array().unwrap();
    assert!(pts.len() <= 10 && pts.len() >= 5, "{}", pts.len());
    assert_eq!(pts.last().unwrap()["time"], 30 * 60_000);
    let bot_eq = s.json("/api/v1/equity?bot=alpha").await;
    assert_eq!(bot_eq["basis"], "realized_pnl");
    assert_eq!(
        bot_eq["points"].as_array().unwrap().last().unwrap()["value"],
        "14.70"
    );

    let alloc = s.json("/api/v1/allocations?points=2").await;
    let seqs: Vec<i64> = alloc["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["sequence"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, vec![0, 0, 0, 4, 4, 4]);
    assert_eq!(alloc["items"][5]["budget"], "3004");

    let v = s
        .json("/api/v1/verdicts?verdict=refused&reason=max_exposure")
        .await;
    assert_eq!(v["items"].as_array().unwrap().len(), 10);
    assert_eq!(v["items"][0]["bot"], "beta");
    assert_eq!(v["items"][0]["detail"]["limit"], "5");
    let late = s.json("/api/v1/verdicts?bot=alpha&from=1500000").await;
    assert!(
        late["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["time"].as_i64().unwrap() >= 1_500_000)
    );
    assert_eq!(s.get("/api/v1/verdicts?verdict=maybe").await.status(), 400);
    let reasons = s.json("/api/v1/verdicts/reasons").await;
    assert_eq!(
        reasons["items"],
        json!([{"reason": "daily_loss", "count": 20}, {"reason": "max_exposure", "count": 10}])
    );
    let early = s.json("/api/v1/verdicts/reasons?to=180002").await;
    assert_eq!(
        early["items"],
        json!([{"reason": "daily_loss", "count": 2}, {"reason": "max_exposure", "count": 1}])
    );

    s.port.record("reload", None, "registry applied");
    let ev = s.json("/api/v1/events?kind=reload").await;
    assert_eq!(ev["items"][0]["message"], "registry applied");
    assert_eq!(
        s.json("/api/v1/events?kind=nothing").await["items"],
        json!([])
    );

    let state = s.json("/api/v1/state").await;
    assert_eq!(
        (state["state"].as_str(), state["set_by"].as_str()),
        (Some("active"), None)
    );
    assert_eq!(s.json("/api/v1/audit").await["items"], json!([]));

    assert_eq!(s.get("/api/v1/fills?limit=abc").await.status(), 400);
    assert_eq!(s.get("/api/v1/fills?unknown=1").await.status(), 400);
    let nf = s.get("/api/v1/nothing").await;
    assert_eq!(nf.status(), 404);
    assert!(nf.json::<Value>().await.unwrap()["error"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_walk_every_row_once_and_limits_are_clamped() {
    let s = start("", &[]).await;
    let mut ids = Vec::new();
    let mut url = "/api/v1/fills?limit=7".to_string();
    loop {
        let p = s.json(&url).await;
        let items = p["items"].as_array().unwrap();
        assert!(items.len() <= 7);
        ids.extend(items.iter().map(|f| f["id"].as_i64().unwrap()));
        match p["next"].as_i64() {
            Some(n) => url = format!("/api/v1/fills?limit=7&cursor={n}"),
            None => break,
        }
    }
    assert_eq!(ids.len(), FILLS);
    assert!(ids.windows(2).all(|w| w[0] > w[1]));

    let mut verdicts = 0;
    let mut url = "/api/v1/verdicts?limit=16".to_string();
    loop {
        let p = s.json(&url).await;
        verdicts += p["items"].as_array().unwrap().len();
        match p["next"].as_i64() {
            Some(n) => url = format!("/api/v1/verdicts?limit=16&cursor={n}"),
            None => break,
        }
    }
    assert_eq!(verdicts, 61, "30 alpha + 30 beta + gamma's working order");

    let b1 = s.json("/api/v1/bots?limit=2").await;
    let b2 = s.json("/api/v1/bots?limit=2&offset=2").await;
    assert_eq!(
        (b1["total"].as_u64(), b1["items"].as_array().unwrap().len()),
        (Some(3), 2)
    );
    assert_eq!(b2["items"][0]["id"], "gamma");
    assert_eq!(s.json("/api/v1/bots?limit=5000").await["limit"], 1000);
    assert_eq!(s.json("/api/v1/bots?limit=0").await["limit"], 100);
    let all_orders = s.json("/api/v1/orders?status=all&limit=100000").await;
    assert_eq!(all_orders["items"].as_array().unwrap().len(), 31);
}

/// Every routed path with its `{id}` filled in.
fn concrete(path: &str) -> String {
    path.replace("/bots/{id}", "/bots/alpha")
        .replace("/orders/{id}", &format!("/orders/{WORKING_ORDER}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_or_a_wrong_one_gets_401_everywhere_and_no_control_acts() {
    let s = start("ops 0123456789abcdef0123456789abcdef\n", &[]).await;
    let wrong = format!("{}x", s.token);
    let routes = flotilla_api::route_paths();
    assert!(routes.len() >= 26);
    for (method, path) in &routes {
        if *path == "/healthz" {
            continue;
        }
        let url = format!("{}{}", s.base, concrete(path));
        let tries: Vec<(&str, Option<String>)> = vec![
            ("none", None),
            ("wrong", Some(format!("Bearer {wrong}"))),
            ("prefix", Some(format!("Bearer {}", &s.token[..32]))),
            ("basic", Some(format!("Basic {}", s.token))),
            ("bare", Some(s.token.clone())),
            ("empty", Some("Bearer ".into())),
        ];
        for (what, header) in tries {
            let mut req = if *method == "post" {
                s.client.post(&url)
            } else {
                s.client.get(&url)
            };
            if let Some(h) = header {
                req = req.header("authorization", h);
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), 401, "{method} {path} with {what} token");
            assert_eq!(r.headers()["www-authenticate"], "Bearer");
            let body = r.text().await.unwrap();
            assert!(body.contains("\"error\""), "{body}");
            assert!(!body.contains(&s.token[..16]), "a token leaked: {body}");
        }
    }
    assert!(
        s.port.state.lock().unwrap().acted.is_empty(),
        "a control acted without a valid token"
    );
    assert_eq!(s.port.state.lock().unwrap().trading, "active");
    assert_eq!(s.json("/api/v1/audit").await["items"], json!([]));
    // The second token works, and acts under its own name.
    let r = s
        .post("/api/v1/reload", "0123456789abcdef0123456789abcdef", None)
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(s.json("/api/v1/audit").await["items"][0]["by"], "token:ops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controls_act_answer_and_are_audited_under_the_token_name() {
    let ops = "ops 0123456789abcdef0123456789abcdef";
    let s = start(&format!("{ops}\n"), &[]).await;
    let admin = s.token.clone();

    let r = s
        .post(
            "/api/v1/fleet/halt",
            &admin,
            Some(json!({"reason": "maintenance"})),
        )
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (body["ok"].as_bool(), body["control"].as_str()),
        (Some(true), Some("halt"))
    );
    assert_eq!(body["result"], "trading state active -> halted");
    let state = s.json("/api/v1/state").await;
    assert_eq!(
        (state["state"].as_str(), state["set_by"].as_str()),
        (Some("halted"), Some("token:admin"))
    );
    assert_eq!(state["history"][0]["reason"], "manual: maintenance");
    let fleet = s.json("/api/v1/fleet").await;
    assert_eq!(
        (fleet["trading_state"].as_str(), fleet["set_by"].as_str()),
        (Some("halted"), Some("token:admin"))
    );

    let r = s
        .post(
            "/api/v1/fleet/reduce",
            "0123456789abcdef0123456789abcdef",
            None,
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(s.json("/api/v1/state").await["set_by"], "token:ops");
    assert_eq!(
        s.post("/api/v1/fleet/resume", &admin, Some(json!({})))
            .await
            .status(),
        200
    );
    assert_eq!(
        s.post("/api/v1/fleet/halt", &admin, Some(json!({"why": 1})))
            .await
            .status(),
        400
    );
    assert_eq!(
        s.post("/api/v1/fleet/halt", &admin, Some(json!("x")))
            .await
            .status(),
        400
    );

    assert_eq!(
        s.post("/api/v1/bots/alpha/pause", &admin, None)
            .await
            .status(),
        200
    );
    assert_eq!(s.json("/api/v1/bots/alpha").await["bot"]["state"], "paused");
    let again = s.post("/api/v1/bots/alpha/pause", &admin, None).await;
    assert_eq!(again.status(), 409);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["ok"], false);
    assert!(again["error"].as_str().unwrap().contains("already paused"));
    assert_eq!(
        s.post("/api/v1/bots/alpha/resume", &admin, None)
            .await
            .status(),
        200
    );
    assert_eq!(
        s.post("/api/v1/bots/nobody/pause", &admin, None)
            .await
            .status(),
        404
    );
    assert_eq!(
        s.post("/api/v1/bots/beta/flatten", &admin, None)
            .await
            .status(),
        200
    );
    assert_eq!(
        s.post(
            &format!("/api/v1/orders/{WORKING_ORDER}/cancel"),
            &admin,
            None
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        s.post("/api/v1/orders/4242/cancel", &admin, None)
            .await
            .status(),
        404
    );
    assert_eq!(
        s.post("/api/v1/orders/abc/cancel", &admin, None)
            .await
            .status(),
        400
    );
    assert_eq!(s.post("/api/v1/reload", &admin, None).await.status(), 200);

    let acted: Vec<(Control, String)> = s.port.state.lock().unwrap().acted.clone();
    assert_eq!(acted.len(), 8);
    assert_eq!(
        acted[0],
        (
            Control::Halt {
                reason: "maintenance".into()
            },
            "token:admin".into()
        )
    );
    assert_eq!(acted[1].1, "token:ops");
    assert_eq!(
        acted[2].0,
        Control::Resume {
            reason: "via the HTTP API".into()
        }
    );
    assert_eq!(
        acted[6].0,
        Control::CancelOrder {
            order_id: WORKING_ORDER
        }
    );

    // The audit holds every control that reached the fleet, refusals too, newest first.
    let audit = s.json("/api/v1/audit?limit=100").await;
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 11);
    assert_eq!(items[0]["control"], "reload");
    assert_eq!(items.last().unwrap()["control"], "halt");
    assert_eq!(items.last().unwrap()["by"], "token:admin");
    let refused: Vec<&Value> = items.iter().filter(|i| i["ok"] == false).collect();
    assert_eq!(refused.len(), 3);
    assert_eq!(
        s.json("/api/v1/events?kind=control&bot=alpha").await["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_is_off_by_default_and_on_only_for_listed_origins() {
    let origin = "https://ops.example.com";
    let preflight = |s: &Server, origin: &str| {
        s.client
            .request(reqwest::Method::OPTIONS, format!("{}/api/v1/fleet", s.base))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let off = start("", &[]).await;
    let r = preflight(&off, origin).await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let r = off
        .client
        .get(format!("{}/api/v1/fleet", off.base))
        .bearer_auth(&off.token)
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("access-control-allow-origin").is_none());

    let on = start("", &[origin]).await;
    let r = preflight(&on, origin).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], origin);
    let allowed = r.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("authorization"), "{allowed}");
    let r = preflight(&on, "https://evil.example.com").await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let r = on
        .client
        .get(format!("{}/api/v1/fleet", on.base))
        .bearer_auth(&on.token)
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], origin);
    // CORS never replaces the token.
    let r = on
        .client
        .get(format!("{}/api/v1/fleet", on.base))
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let port = off.port.clone();
    let tokens =
        flotilla_api::Tokens::load_or_create(&flotilla_api::default_token_path(&port.path))
            .unwrap()
            .0;
    let err = flotilla_api::ApiState::new(port, tokens, &["*".into()]).unwrap_err();
    assert!(err.to_string().contains("not allowed"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_behind_the_token_and_parse() {
    let s = start("", &[]).await;
    s.port
        .metrics
        .tick("alpha", "ok", 0.002, 0.5, 1_700_000_000.0);
    s.port
        .metrics
        .verdict("beta", "refused", Some("daily_loss"));
    s.port.metrics.fill("alpha", false);
    let r = s.get("/metrics").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        flotilla_telemetry::metrics::CONTENT_TYPE
    );
    let text = r.text().await.unwrap();
    let mut samples = 0;
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            assert!(
                line.is_empty()
                    || line.starts_with("# HELP ")
                    || line.starts_with("# TYPE ")
                    || line == "# EOF",
                "{line}"
            );
            continue;
        }
        // name{labels} value
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        value
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("bad value in {line:?}"));
        let name = series.split('{').next().unwrap();
        assert!(name.starts_with("flotilla_"), "{line}");
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line}"
        );
        if let Some(labels) = series.strip_prefix(name) {
            assert!(
                labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
                "{line}"
            );
        }
        samples += 1;
    }
    assert!(samples > 5);
    assert!(
        text.contains("flotilla_ticks_total{bot=\"alpha\",outcome=\"ok\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("flotilla_refusals_total{bot=\"beta\",reason=\"daily_loss\"} 1"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_route() {
    let s = start("", &[]).await;
    let doc = s.json("/api/v1/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for (method, path) in flotilla_api::route_paths() {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} not documented"
        );
        // And the route is really there: anything but the router's 404.
        let url = format!("{}{}", s.base, concrete(path));
        if method == "get" && path != "/api/v1/stream" {
            let r = s
                .client
                .get(&url)
                .bearer_auth(&s.token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "GET {path}");
        }
    }
    assert_eq!(
        doc["paths"]["/api/v1/verdicts"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["type"],
        "http"
    );
    assert_eq!(doc["paths"]["/healthz"]["get"]["security"], json!([]));
}
