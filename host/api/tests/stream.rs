//! The event stream over real HTTP: live events, resuming from Last-Event-ID, the reset
//! after a gap, ticks left out, and the token.

mod support;

use flotilla_ledger::Ledger;
use flotilla_telemetry::EventData;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use support::*;

/// One SSE message: its id, event name and data.
#[derive(Debug, Clone, PartialEq)]
struct Msg {
    id: Option<u64>,
    event: String,
    data: serde_json::Value,
}

/// Reads SSE messages from a response (comments skipped).
struct Reader {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<Vec<u8>>>,
    buf: String,
}

impl Reader {
    fn new(r: reqwest::Response) -> Reader {
        Reader {
            body: r.bytes_stream().map(|c| c.map(|b| b.to_vec())).boxed(),
            buf: String::new(),
        }
    }

    async fn next(&mut self) -> Msg {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut msg = Msg {
                    id: None,
                    event: "message".into(),
                    data: serde_json::Value::Null,
                };
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        msg.id = Some(v.trim().parse().unwrap());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        msg.event = v.trim().into();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                msg.data = serde_json::from_str(&data).unwrap();
                return msg;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.body.next())
                .await
                .expect("no event within 10 s")
                .expect("stream ended")
                .unwrap();
            self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

fn notice(port: &TestPort, n: i64) -> u64 {
    port.hub.publish(
        n,
        None,
        EventData::Notice {
            what: "test".into(),
            message: format!("n{n}"),
        },
    )
}

async fn open(s: &Server, last: Option<u64>) -> reqwest::Response {
    let mut req = s
        .client
        .get(format!("{}/api/v1/stream", s.base))
        .bearer_auth(&s.token);
    if let Some(id) = last {
        req = req.header("last-event-id", id.to_string());
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    r
}

async fn server(keep: usize) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    populate(&mut Ledger::open(&path).unwrap());
    start_with(dir, Arc::new(TestPort::new(&path, 0, keep)), "", &[]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_events_arrive_in_order_and_a_control_shows_up() {
    let s = server(64).await;
    let mut r = Reader::new(open(&s, None).await);
    // Subscribed once the headers are back: these are live.
    let a = notice(&s.port, 2);
    let m = r.next().await;
    assert_eq!((m.id, m.event.as_str()), (Some(a), "notice"));
    assert_eq!(m.data["message"], "n2");
    let resp = s.post("/api/v1/fleet/halt", &s.token.clone(), None).await;
    assert_eq!(resp.status(), 200);
    let m = r.next().await;
    assert_eq!(m.event, "trading_state");
    assert_eq!(m.data["to"], "halted");
    assert_eq!(m.data["kind"], "trading_state");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_resumes_after_its_last_event_id_and_then_goes_live() {
    let s = server(64).await;
    let ids: Vec<u64> = (0..5).map(|i| notice(&s.port, i)).collect();
    let mut r = Reader::new(open(&s, Some(ids[1])).await);
    for want in &ids[2..] {
        assert_eq!(r.next().await.id, Some(*want));
    }
    let live = notice(&s.port, 9);
    let m = r.next().await;
    assert_eq!(m.id, Some(live));
    // Nothing older, nothing twice: resuming from the newest id gives only what follows.
    let mut r2 = Reader::new(open(&s, Some(live)).await);
    let after = notice(&s.port, 10);
    assert_eq!(r2.next().await.id, Some(after));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_too_far_behind_gets_a_reset_first() {
    let s = server(16).await;
    let ids: Vec<u64> = (0..40).map(|i| notice(&s.port, i)).collect();
    let mut r = Reader::new(open(&s, Some(ids[2])).await);
    let first = r.next().await;
    assert_eq!(first.event, "reset");
    assert_eq!(first.id, None);
    assert_eq!(first.data["oldest"], ids[24]);
    let m = r.next().await;
    assert_eq!(m.id, Some(ids[24]), "then every event still kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_needs_the_token() {
    let s = server(16).await;
    let r = s
        .client
        .get(format!("{}/api/v1/stream", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = s
        .client
        .get(format!("{}/api/v1/stream", s.base))
        .bearer_auth("not-a-token-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_ends_open_streams() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    populate(&mut Ledger::open(&path).unwrap());
    let port = Arc::new(TestPort::new(&path, 0, 16));
    let tokens_path = flotilla_api::default_token_path(&path);
    let (tokens, _) = flotilla_api::Tokens::load_or_create(&tokens_path).unwrap();
    let token = std::fs::read_to_string(&tokens_path)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("admin ").map(str::to_string))
        .unwrap();
    let state = flotilla_api::ApiState::new(port.clone(), tokens, &[]).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(flotilla_api::serve_until(listener, state, async {
        let _ = rx.await;
    }));
    let resp = reqwest::Client::new()
        .get(format!("http://{addr}/api/v1/stream"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    tx.send(()).unwrap();
    let done = tokio::time::timeout(Duration::from_secs(10), server).await;
    assert!(
        matches!(done, Ok(Ok(Ok(())))),
        "server did not stop: {done:?}"
    );
    // The stream ended rather than hanging.
    let mut body = resp.bytes_stream();
    let end = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = body.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(end.is_ok());
}
