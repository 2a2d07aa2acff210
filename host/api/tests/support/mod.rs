//! Test fixtures: a real ledger file written through the ledger's write API, a small
//! `FleetPort` that applies controls to its own state and audits them in that ledger
//! (as the fleet does), and the server on 127.0.0.1.

#![allow(dead_code)] // each test binary uses its own part of the fixtures

use flotilla_api::{ApiState, Tokens};
use flotilla_domain::{
    BotId, ClientOrderId, Decimal, Fill, Intent, OrderAction, OrderId, OrderRequest, Position,
    Side, Symbol, Timestamp,
};
use flotilla_ledger::{
    AllocationRow, BotVersionRecord, ControlRecord, IntentRecord, Ledger, LoadStatus, TickOutcome,
    TickRecord, VerdictKind, VerdictRecord,
};
use flotilla_telemetry::{
    BotLive, Control, ControlError, EventData, EventHub, FleetMetrics, FleetPort, FleetSnapshot,
    PositionLive,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tempfile::TempDir;

/// The working order the fixture leaves for cancel tests.
pub const WORKING_ORDER: u64 = 900;
/// Bots in the fixture.
pub const BOTS: [&str; 3] = ["alpha", "beta", "gamma"];
/// Fills in the fixture (alpha trades every tick).
pub const FILLS: usize = 30;

fn intent(bot: &str, symbol: &str, action: OrderAction) -> Intent {
    Intent {
        bot: BotId::new(bot),
        symbol: Symbol::new(symbol),
        action,
        confidence: 0.5,
        stop_loss: None,
        take_profit: None,
        trailing: None,
        scale_outs: Vec::new(),
        order_type: Default::default(),
        limit_price: None,
        time_in_force: Default::default(),
        tag: "t".into(),
    }
}

fn order(bot: &str, symbol: &str, side: Side, qty: Decimal, id: u64, at: i64) -> OrderRequest {
    OrderRequest {
        id: OrderId(id),
        client_id: ClientOrderId::for_order("test", OrderId(id)),
        bot: BotId::new(bot),
        symbol: Symbol::new(symbol),
        side,
        quantity: qty,
        time: Timestamp(at),
        tag: "t".into(),
        exit: false,
    }
}

/// An approved order, filled at `price` when `fill` (else left working).
#[allow(clippy::too_many_arguments)] // a fixture: spelling out the trade reads best
pub fn traded(
    bot: &str,
    side: Side,
    qty: Decimal,
    price: Decimal,
    id: u64,
    at: i64,
    realized: Decimal,
    fill: bool,
) -> IntentRecord {
    let action = match side {
        Side::Buy => OrderAction::Buy(qty),
        Side::Sell => OrderAction::Sell(qty),
    };
    IntentRecord {
        intent: intent(bot, "BTCUSD", action),
        verdict: VerdictRecord {
            kind: VerdictKind::Approved,
            reason: None,
            detail: serde_json::json!({}),
            quantity: Some(qty),
        },
        order: Some(order(bot, "BTCUSD", side, qty, id, at)),
        fill: fill.then(|| {
            (
                Fill {
                    order_id: OrderId(id),
                    bot: BotId::new(bot),
                    symbol: Symbol::new("BTCUSD"),
                    side,
                    quantity: qty,
                    price,
                    fee: Decimal::new(1, 2),
                    time: Timestamp(at),
                    trade_id: format!("T{id}"),
                    tag: "t".into(),
                },
                realized,
            )
        }),
        queued: false,
    }
}

/// A refused intent.
pub fn refused(bot: &str, reason: &str) -> IntentRecord {
    IntentRecord {
        intent: intent(bot, "ETHUSD", OrderAction::Buy(Decimal::ONE)),
        verdict: VerdictRecord {
            kind: VerdictKind::Refused,
            reason: Some(reason.into()),
            detail: serde_json::json!({ "limit": "5" }),
            quantity: None,
        },
        order: None,
        fill: None,
        queued: false,
    }
}

/// A tick of `bot` at `at`.
pub fn tick(bot: &str, seq: u64, at: i64, intents: Vec<IntentRecord>) -> TickRecord {
    let mut t = TickRecord::new(
        BotId::new(bot),
        Timestamp(at),
        Timestamp(at + 2),
        TickOutcome::Ok,
    );
    t.seq = seq;
    t.duration_us = 150;
    t.intents = intents;
    t
}

/// Writes the fixture: 30 ticks per bot from t = 60 000 ms, a minute apart. alpha buys
/// and sells (30 fills, +1 realised per sell), beta is refused (reasons alternate),
/// gamma's every tenth tick traps; equity marks, 5 rebalances, one working order.
pub fn populate(l: &mut Ledger) {
    for b in BOTS {
        l.record_bot_version(&BotVersionRecord {
            bot: BotId::new(b),
            version: format!("{b} 1.0.0"),
            content_hash: format!("hash-{b}"),
            component_path: format!("bots/{b}.wasm"),
            loaded_at: Timestamp(0),
            status: LoadStatus::Ok,
            error: None,
        })
        .unwrap();
    }
    for i in 0..30u64 {
        let at = 60_000 * (i as i64 + 1);
        let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
        let realized = if i % 2 == 0 {
            Decimal::ZERO
        } else {
            Decimal::ONE
        };
        let mut t = tick(
            "alpha",
            i + 1,
            at,
            vec![traded(
                "alpha",
                side,
                Decimal::ONE,
                Decimal::from(100 + i),
                i + 1,
                at,
                realized,
                true,
            )],
        );
        t.positions = vec![(
            Symbol::new("BTCUSD"),
            Position {
                quantity: if i % 2 == 0 {
                    Decimal::ONE
                } else {
                    Decimal::ZERO
                },
                avg_price: Decimal::from(100 + i),
                realized_pnl: Decimal::from(i / 2),
                fees: Decimal::ZERO,
            },
        )];
        l.record_tick(&t).unwrap();
        let reason = if i % 3 == 0 {
            "max_exposure"
        } else {
            "daily_loss"
        };
        l.record_tick(&tick("beta", i + 1, at, vec![refused("beta", reason)]))
            .unwrap();
        let mut g = tick("gamma", i + 1, at, Vec::new());
        if i % 10 == 9 {
            g.outcome = TickOutcome::Trap;
            g.error = Some(format!("trap at tick {}", i + 1));
        }
        l.record_tick(&g).unwrap();
        l.record_equity(
            Timestamp(at),
            Decimal::from(10_000),
            Decimal::from(10_000 + (i as i64 % 7) * 10),
        )
        .unwrap();
    }
    let t = tick(
        "gamma",
        31,
        31 * 60_000,
        vec![traded(
            "gamma",
            Side::Buy,
            Decimal::TWO,
            Decimal::from(50),
            WORKING_ORDER,
            31 * 60_000,
            Decimal::ZERO,
            false,
        )],
    );
    l.record_tick(&t).unwrap();
    for seq in 0..5u64 {
        let rows: Vec<AllocationRow> = BOTS
            .iter()
            .map(|b| AllocationRow {
                sequence: seq,
                time: Timestamp(seq as i64 * 360_000),
                bot: BotId::new(*b),
                weight: 1.0 / 3.0,
                p_best: 0.3,
                budget: Decimal::from(3000 + seq as i64),
                why: "share".into(),
                posterior: serde_json::json!({}),
            })
            .collect();
        l.record_allocation(&rows).unwrap();
    }
}

/// What the test fleet holds.
pub struct PortState {
    pub trading: String,
    pub reason: String,
    pub paused: BTreeSet<String>,
    /// Every control that acted, with who asked.
    pub acted: Vec<(Control, String)>,
    pub now: i64,
}

/// A `FleetPort` over the fixture's ledger: controls change its state, are audited in the
/// ledger under the caller's name (kind `control`) and published as events.
pub struct TestPort {
    pub hub: EventHub,
    pub metrics: FleetMetrics,
    pub path: PathBuf,
    pub ledger: Mutex<Ledger>,
    pub state: Mutex<PortState>,
    pub bots: Vec<BotLive>,
    pub positions: Vec<PositionLive>,
}

impl TestPort {
    /// A port over the ledger at `path` with `bots` live bots (the fixture's three first).
    pub fn new(path: &Path, extra_bots: usize, keep: usize) -> TestPort {
        let mut ids: Vec<String> = BOTS.iter().map(|s| s.to_string()).collect();
        ids.extend((0..extra_bots).map(|i| format!("bot{i:04}")));
        let bots = ids
            .iter()
            .map(|id| BotLive {
                id: id.clone(),
                state: if id == "gamma" {
                    "quarantined".into()
                } else {
                    "running".into()
                },
                quarantine: (id == "gamma").then(|| "3 traps in a row".into()),
                schedule: "every 1m".into(),
                next_run_ms: Some(31 * 60_000),
                version: format!("{id} 1.0.0"),
                hash: format!("hash-{id}"),
                allocation: Some("3004".into()),
                symbols: vec!["BTCUSD".into()],
            })
            .collect();
        let positions = ids
            .iter()
            .enumerate()
            .map(|(i, id)| PositionLive {
                bot: id.clone(),
                symbol: "BTCUSD".into(),
                quantity: if id == "beta" { "0".into() } else { "1".into() },
                avg_price: "100".into(),
                unrealized: format!("{}.5", i % 3),
            })
            .collect();
        TestPort {
            hub: EventHub::new(keep),
            metrics: FleetMetrics::new(),
            path: path.to_path_buf(),
            ledger: Mutex::new(Ledger::open(path).unwrap()),
            state: Mutex::new(PortState {
                trading: "active".into(),
                reason: "start".into(),
                paused: BTreeSet::new(),
                acted: Vec::new(),
                now: 31 * 60_000,
            }),
            bots,
            positions,
        }
    }

    fn set_trading(&self, st: &mut PortState, to: &str, reason: &str, by: &str) -> String {
        let from = std::mem::replace(&mut st.trading, to.into());
        st.reason = format!("{reason} ({by})");
        let cap = |s: &str| {
            let mut c = s.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        };
        self.ledger
            .lock()
            .unwrap()
            .record_event(
                Timestamp(st.now),
                None,
                "trading_state",
                &format!("{} -> {} (Manual): manual: {reason}", cap(&from), cap(to)),
            )
            .unwrap();
        self.hub.publish(
            st.now,
            None,
            EventData::TradingState {
                from: from.clone(),
                to: to.into(),
                reason: st.reason.clone(),
            },
        );
        format!("trading state {from} -> {to}")
    }

    fn apply(&self, c: &Control, by: &str) -> Result<String, ControlError> {
        let mut st = self.state.lock().unwrap();
        let known = |bot: &str| {
            if self.bots.iter().any(|b| b.id == bot) {
                Ok(())
            } else {
                Err(ControlError::UnknownBot(bot.into()))
            }
        };
        let out = match c {
            Control::Halt { reason } => self.set_trading(&mut st, "halted", reason, by),
            Control::Reduce { reason } => self.set_trading(&mut st, "reducing", reason, by),
            Control::Resume { reason } => self.set_trading(&mut st, "active", reason, by),
            Control::PauseBot { bot } => {
                known(bot)?;
                if !st.paused.insert(bot.clone()) {
                    return Err(ControlError::Refused(format!("{bot} is already paused")));
                }
                format!("{bot} paused")
            }
            Control::ResumeBot { bot } => {
                known(bot)?;
                if !st.paused.remove(bot) {
                    return Err(ControlError::Refused(format!("{bot} is not paused")));
                }
                format!("{bot} resumed")
            }
            Control::FlattenBot { bot } => {
                known(bot)?;
                format!("{bot}: 1 position closed")
            }
            Control::CancelOrder { order_id } => {
                if *order_id != WORKING_ORDER {
                    return Err(ControlError::UnknownOrder(*order_id));
                }
                format!("order {order_id} canceled")
            }
            Control::Reload => "nothing changed".into(),
        };
        st.acted.push((c.clone(), by.into()));
        Ok(out)
    }
}

impl FleetPort for TestPort {
    fn control(&self, c: &Control, by: &str) -> Result<String, ControlError> {
        let res = self.apply(c, by);
        let (bot, target) = match c {
            Control::PauseBot { bot }
            | Control::ResumeBot { bot }
            | Control::FlattenBot { bot } => (Some(BotId::new(bot)), Some(bot.clone())),
            Control::CancelOrder { order_id } => (None, Some(order_id.to_string())),
            Control::Halt { reason } | Control::Reduce { reason } | Control::Resume { reason } => {
                (None, Some(reason.clone()))
            }
            Control::Reload => (None, None),
        };
        let rec = ControlRecord {
            by: by.into(),
            control: c.name().into(),
            target,
            ok: res.is_ok(),
            result: match &res {
                Ok(s) => s.clone(),
                Err(e) => e.to_string(),
            },
        };
        let now = self.now_ms();
        // An unknown bot is audited fleet-wide (the ledger's events reference known bots).
        let bot = bot.filter(|b| self.bots.iter().any(|x| x.id == b.as_str()));
        self.ledger
            .lock()
            .unwrap()
            .record_control(Timestamp(now), bot.as_ref(), &rec)
            .unwrap();
        res
    }

    fn bots(&self) -> Vec<BotLive> {
        let st = self.state.lock().unwrap();
        self.bots
            .iter()
            .map(|b| {
                let mut b = b.clone();
                if st.paused.contains(&b.id) {
                    b.state = "paused".into();
                }
                b
            })
            .collect()
    }

    fn snapshot(&self) -> FleetSnapshot {
        let st = self.state.lock().unwrap();
        FleetSnapshot {
            name: "test-fleet".into(),
            trading_state: st.trading.clone(),
            state_reason: st.reason.clone(),
            equity: "10060".into(),
            cash: "10000".into(),
            positions: self.positions.clone(),
            bots: (self.bots.len(), st.paused.len(), 1),
        }
    }

    fn record(&self, kind: &str, bot: Option<&str>, message: &str) {
        let now = self.now_ms();
        self.ledger
            .lock()
            .unwrap()
            .record_event(Timestamp(now), bot.map(BotId::new).as_ref(), kind, message)
            .unwrap();
    }

    fn now_ms(&self) -> i64 {
        self.state.lock().unwrap().now
    }

    fn events(&self) -> &EventHub {
        &self.hub
    }

    fn metrics(&self) -> &FleetMetrics {
        &self.metrics
    }

    fn ledger_path(&self) -> &Path {
        &self.path
    }
}

/// A running server over a populated ledger.
pub struct Server {
    pub dir: TempDir,
    pub port: Arc<TestPort>,
    pub base: String,
    pub token: String,
    pub client: reqwest::Client,
    pub task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// GET `path` with the admin token.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    /// GET `path` with the admin token, expecting 200 JSON.
    pub async fn json(&self, path: &str) -> serde_json::Value {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    /// POST `path` with `token` and an optional JSON body.
    pub async fn post(
        &self,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }
}

/// Starts the server on 127.0.0.1:0 over a fixture ledger, with `extra_bots` more live
/// bots, the token file's extra lines and CORS origins.
pub async fn start(extra_tokens: &str, cors: &[&str]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    populate(&mut Ledger::open(&path).unwrap());
    let port = Arc::new(TestPort::new(&path, 0, 64));
    start_with(dir, port, extra_tokens, cors).await
}

/// Starts the server for `port`, whose ledger lives in `dir`.
pub async fn start_with(
    dir: TempDir,
    port: Arc<TestPort>,
    extra_tokens: &str,
    cors: &[&str],
) -> Server {
    let token_path = flotilla_api::default_token_path(&port.path);
    let (_, created) = Tokens::load_or_create(&token_path).unwrap();
    assert!(created);
    if !extra_tokens.is_empty() {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&token_path)
            .unwrap();
        f.write_all(extra_tokens.as_bytes()).unwrap();
    }
    let (tokens, created) = Tokens::load_or_create(&token_path).unwrap();
    assert!(!created);
    let text = std::fs::read_to_string(&token_path).unwrap();
    let token = text
        .lines()
        .find_map(|l| l.strip_prefix("admin "))
        .unwrap()
        .to_string();
    let cors: Vec<String> = cors.iter().map(|s| s.to_string()).collect();
    let state = ApiState::new(port.clone(), tokens, &cors).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        flotilla_api::serve(listener, state).await.unwrap();
    });
    Server {
        dir,
        port,
        base: format!("http://{addr}"),
        token,
        client: reqwest::Client::new(),
        task,
    }
}
