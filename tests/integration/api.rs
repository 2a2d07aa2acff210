//! The HTTP API of a real running fleet (`flotilla run --api-listen 127.0.0.1:0`): each
//! endpoint, the token, a control acting and audited under the token's name, and
//! `flotilla status` agreeing. Plain HTTP/1.1 over `TcpStream`, so the test binary needs
//! no HTTP client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) fn flotilla() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flotilla"))
}

/// One request with `Connection: close`: (status, headers, body).
pub(crate) fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, rest) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    // Bodies come with a length (JSON answers); a chunked one is not expected here.
    (status, head.to_string(), rest.to_string())
}

/// A GET that must answer 200 with JSON.
pub(crate) fn json(addr: &str, path: &str, token: &str) -> serde_json::Value {
    let (status, _, body) = http(addr, "GET", path, Some(token), "");
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

#[test]
fn the_api_of_a_running_fleet_reads_controls_and_audits() {
    let _serial = crate::support::timing();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("api.db");
    let mut child = flotilla()
        .args([
            "run",
            "--duration",
            "1d",
            "--speed",
            "60",
            "--no-watch",
            "--api-listen",
            "127.0.0.1:0",
            "--db",
        ])
        .arg(&db)
        .arg("--cache-dir")
        .arg(crate::support::shared_cache())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (addr, token, tokens) = api_of(&mut child);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&tokens).unwrap().permissions().mode() & 0o777,
        0o600
    );

    assert_eq!(http(&addr, "GET", "/healthz", None, "").0, 200);
    for path in [
        "/api/v1/fleet",
        "/api/v1/bots",
        "/metrics",
        "/api/v1/stream",
    ] {
        assert_eq!(http(&addr, "GET", path, None, "").0, 401, "{path}");
        assert_eq!(
            http(&addr, "GET", path, Some("wrong-token-0123456789"), "").0,
            401,
            "{path}"
        );
    }
    assert_eq!(http(&addr, "POST", "/api/v1/fleet/halt", None, "").0, 401);
    assert_eq!(
        json(&addr, "/api/v1/fleet", &token)["trading_state"],
        "active",
        "no token, no halt"
    );

    // Let it trade a little.
    let deadline = Instant::now() + Duration::from_secs(60);
    while json(&addr, "/api/v1/fills?limit=1", &token)["items"]
        .as_array()
        .unwrap()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "no fill within a minute");
        std::thread::sleep(Duration::from_millis(200));
    }
    let bots = json(&addr, "/api/v1/bots", &token);
    assert_eq!(bots["total"], 8, "{bots:#}");
    assert!(
        bots["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["state"] == "running" && b["hash"].is_string())
    );
    let fleet = json(&addr, "/api/v1/fleet", &token);
    assert_eq!(fleet["bots"]["total"], 8);
    assert!(
        json(&addr, "/api/v1/equity?points=50", &token)["points"]
            .as_array()
            .unwrap()
            .len()
            <= 50
    );
    for path in [
        "/api/v1/positions",
        "/api/v1/orders?status=all",
        "/api/v1/verdicts",
        "/api/v1/verdicts/reasons",
        "/api/v1/allocations",
        "/api/v1/events",
        "/api/v1/audit",
        "/api/v1/openapi.json",
    ] {
        json(&addr, path, &token);
    }
    // Pages of verdicts, newest first: the cursor walks on without overlap.
    let deadline = Instant::now() + Duration::from_secs(60);
    while json(&addr, "/api/v1/verdicts?limit=3", &token)["items"]
        .as_array()
        .unwrap()
        .len()
        < 3
    {
        assert!(
            Instant::now() < deadline,
            "fewer than 3 verdicts in a minute"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let first = json(&addr, "/api/v1/verdicts?limit=2", &token);
    let next = first["next"]
        .as_i64()
        .expect("more than one page of verdicts");
    let second = json(
        &addr,
        &format!("/api/v1/verdicts?limit=2&cursor={next}"),
        &token,
    );
    let ids = |v: &serde_json::Value| -> Vec<i64> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&first).len(), 2);
    assert!(
        ids(&second)
            .iter()
            .all(|i| *i < *ids(&first).iter().min().unwrap()),
        "{first:#} then {second:#}"
    );
    let page = json(&addr, "/api/v1/bots?limit=3&offset=3", &token);
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    assert_eq!(page["total"], 8);
    let (status, head, metrics) = http(&addr, "GET", "/metrics", Some(&token), "");
    assert_eq!(status, 200);
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4")
    );
    assert!(metrics.contains("flotilla_ticks_total{"), "{metrics}");

    // A control acts, answers, and the ledger shows who.
    let (status, _, body) = http(
        &addr,
        "POST",
        "/api/v1/fleet/halt",
        Some(&token),
        r#"{"reason":"api test"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let state = json(&addr, "/api/v1/state", &token);
    assert_eq!(
        (state["state"].as_str(), state["set_by"].as_str()),
        (Some("halted"), Some("token:admin")),
        "{state:#}"
    );
    let some_bot = bots["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        http(
            &addr,
            "POST",
            &format!("/api/v1/bots/{some_bot}/pause"),
            Some(&token),
            ""
        )
        .0,
        200
    );
    assert_eq!(
        json(&addr, &format!("/api/v1/bots/{some_bot}"), &token)["bot"]["state"],
        "paused"
    );
    assert_eq!(
        http(&addr, "POST", "/api/v1/bots/nobody/pause", Some(&token), "").0,
        404
    );
    assert_eq!(
        http(
            &addr,
            "POST",
            "/api/v1/orders/999999999/cancel",
            Some(&token),
            ""
        )
        .0,
        404
    );
    assert_eq!(
        http(&addr, "POST", "/api/v1/reload", Some(&token), "").0,
        200
    );
    let audit = json(&addr, "/api/v1/audit", &token);
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["control"] == "halt" && a["by"] == "token:admin"),
        "{audit:#}"
    );

    child.kill().unwrap();
    child.wait().unwrap();
    let out = flotilla()
        .args(["status", "--json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["trading_state"]["state"], "halted", "{v:#}");
    assert_eq!(v["trading_state"]["set_by"], "token:admin");
    assert!(
        v["audit"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["by"] == "token:admin" && a["control"] == "pause_bot")
    );
}

/// Reads where a starting fleet serves its API from its stderr (`flotilla: API on
/// http://ADDR (tokens in PATH)`), then keeps draining stderr; (address, admin token,
/// token file).
pub(crate) fn api_of(child: &mut std::process::Child) -> (String, String, std::path::PathBuf) {
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(90);
    let (addr, tokens) = loop {
        assert!(
            Instant::now() < deadline,
            "the fleet never said where its API is"
        );
        let line = lines.next().expect("stderr closed").unwrap();
        if let Some(rest) = line.strip_prefix("flotilla: API on http://") {
            let (addr, rest) = rest.split_once(' ').unwrap();
            let path = rest.trim_start_matches("(tokens in ").trim_end_matches(')');
            break (addr.to_string(), std::path::PathBuf::from(path));
        }
    };
    // Keep draining stderr so the fleet never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let text = std::fs::read_to_string(&tokens).unwrap();
    let token = text
        .lines()
        .find_map(|l| l.strip_prefix("admin "))
        .unwrap()
        .to_string();
    (addr, token, tokens)
}
