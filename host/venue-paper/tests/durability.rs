//! The venue's file outlives its handle and its process: reopened, or after a kill -9.

mod common;

use common::*;
use flotilla_domain::{OrderState, Side, Symbol, TimeInForce, Timestamp};
use flotilla_venue_paper::{PaperVenue, VenueConfig, VenueEventKind, VenueOrderRequest};
use rust_decimal_macros::dec;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn aapl() -> Symbol {
    Symbol::new("AAPL")
}

#[test]
fn a_reopened_venue_carries_on_where_it_stopped() {
    let (_dir, path, v) = temp_venue(config(dec!(10_000)));
    let bought = VenueOrderRequest::market(id("a"), aapl(), Side::Buy, dec!(10));
    v.submit(&bought, Timestamp(0)).unwrap();
    v.on_bar(&aapl(), &bar(0, 100.0, 101.0, 99.0, 1000.0))
        .unwrap();
    let resting = VenueOrderRequest::limit(id("b"), aapl(), Side::Buy, dec!(5), dec!(90));
    v.submit(&resting, Timestamp(MINUTE)).unwrap();
    v.submit(&bought, Timestamp(MINUTE)).unwrap();
    let before = (
        v.order(&id("a")).unwrap(),
        v.order(&id("b")).unwrap(),
        v.position_details().unwrap(),
        v.cash().unwrap(),
        v.events_since(0).unwrap(),
        v.duplicate_submissions().unwrap(),
        v.submissions(&id("a")).unwrap(),
    );
    let last = v.last_event_seq().unwrap();
    drop(v);

    // Another starting cash in the config: an existing account keeps its own.
    let v = PaperVenue::open(&path, config(dec!(999_999))).unwrap();
    let after = (
        v.order(&id("a")).unwrap(),
        v.order(&id("b")).unwrap(),
        v.position_details().unwrap(),
        v.cash().unwrap(),
        v.events_since(0).unwrap(),
        v.duplicate_submissions().unwrap(),
        v.submissions(&id("a")).unwrap(),
    );
    assert_eq!(after, before);
    assert_eq!(v.starting_cash().unwrap(), dec!(10_000));
    assert_eq!(v.cash().unwrap(), dec!(10_000) - dec!(1001) - dec!(0.50));
    let open: Vec<_> = v
        .open_orders()
        .unwrap()
        .into_iter()
        .map(|o| o.client_id)
        .collect();
    assert_eq!(open, [id("b")]);
    // A resend after the restart is still the known order.
    assert_eq!(
        v.submit(&bought, Timestamp(2 * MINUTE))
            .unwrap()
            .fills
            .len(),
        1
    );
    assert_eq!(v.submissions(&id("a")).unwrap(), 3);

    // The resting order fills with the next trade id and the next event number.
    let events = v
        .on_bar(&aapl(), &bar(2 * MINUTE, 91.0, 92.0, 89.0, 1000.0))
        .unwrap();
    assert_eq!(events.len(), 1);
    let new = v.events_since(last).unwrap();
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].0, last + 1);
    match &new[0].1.kind {
        VenueEventKind::Fill { trade_id, .. } => assert_eq!(trade_id, "pv-2"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        v.order(&id("b")).unwrap().unwrap().state,
        OrderState::Filled
    );
    assert_eq!(v.positions().unwrap()[&aapl()], dec!(15));
    assert_eq!(check_books(&v), 2);
}

/// Set in the child process of the kill test: the venue file it trades in.
const CHILD_ENV: &str = "FLOTILLA_VENUE_PAPER_CRASH_CHILD";
/// The kill test's name, for the child to run it alone.
const KILL_TEST: &str = "a_killed_process_leaves_a_consistent_file";

fn crash_config() -> VenueConfig {
    VenueConfig {
        partial_fill_fraction: Some(0.3),
        ..config(dec!(1_000_000))
    }
}

/// The child: trades without pause until killed (or, as a backstop, for a minute).
fn trade_until_killed(path: &Path) -> ! {
    let v = PaperVenue::open(path, crash_config()).unwrap();
    let started = Instant::now();
    let mut n: u64 = 0;
    while started.elapsed() < Duration::from_secs(60) {
        let t = n as i64 * MINUTE;
        let side = if n % 3 == 2 { Side::Sell } else { Side::Buy };
        let req = VenueOrderRequest {
            time_in_force: if n.is_multiple_of(5) {
                TimeInForce::Ioc
            } else {
                TimeInForce::Gtc
            },
            ..VenueOrderRequest::market(id(&format!("c-{n}")), aapl(), side, dec!(7))
        };
        v.submit(&req, Timestamp(t)).unwrap();
        let limit = VenueOrderRequest::limit(
            id(&format!("l-{n}")),
            aapl(),
            Side::Buy,
            dec!(3),
            dec!(99.5),
        );
        v.submit(&limit, Timestamp(t)).unwrap();
        v.submit(&req, Timestamp(t)).unwrap(); // a resend
        let open = 100.0 + (n % 7) as f64 * 0.25;
        v.on_bar(&aapl(), &bar(t, open, open + 1.0, open - 1.0, 20.0))
            .unwrap();
        if n.is_multiple_of(4) {
            v.cancel(&id(&format!("l-{n}")), Timestamp(t + 1)).unwrap();
        }
        n += 1;
    }
    std::process::exit(0)
}

/// Events in the venue file at `path` so far; 0 while it is not set up yet.
fn events_written(path: &Path) -> u64 {
    use rusqlite::{Connection, OpenFlags};
    let Ok(conn) = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        return 0;
    };
    conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_or(0, |n| n as u64)
}

#[test]
fn a_killed_process_leaves_a_consistent_file() {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        trade_until_killed(Path::new(&path));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("venue.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([KILL_TEST, "--exact", "--test-threads=1"])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Let it write a few hundred events, then kill it mid-stride (SIGKILL). Watched
    // read-only: opening a venue would queue for the write lock the child keeps taking.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "the child wrote too little");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the child stopped early"
        );
        if events_written(&path) >= 300 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let v = PaperVenue::open(&path, crash_config()).unwrap();
    let fills = check_books(&v);
    eprintln!(
        "killed after {fills} fills, {} events",
        v.last_event_seq().unwrap()
    );
    assert!(fills > 10, "{fills}");
    let last = v.last_event_seq().unwrap();
    let dups = v.duplicate_submissions().unwrap();
    assert!(dups > 0);
    // It carries on: the next fill takes the next trade id and event number. (Another
    // symbol, so the child's resting orders stay out of it.)
    let msft = Symbol::new("MSFT");
    let req = VenueOrderRequest::market(id("after"), msft.clone(), Side::Buy, dec!(1));
    v.submit(&req, Timestamp(i64::MAX / 2)).unwrap();
    v.on_bar(&msft, &bar(i64::MAX / 2, 100.0, 100.0, 100.0, 100.0))
        .unwrap();
    let o = v.order(&id("after")).unwrap().unwrap();
    assert_eq!(o.fills[0].trade_id, format!("pv-{}", fills + 1));
    assert_eq!(v.events_since(last).unwrap()[0].0, last + 1);
    assert_eq!(check_books(&v), fills + 1);
}
