//! Alpaca: Trading API v2 (stocks and crypto) and its market data.
//!
//! [`Alpaca`] is one account: the REST client ([`rest`]) behind the blocking
//! [`Venue`] trait, the `trade_updates` stream ([`stream`]) booking order updates in an
//! [`EventLog`], reconciled over REST after every (re)connect. [`AlpacaBars`] ([`data`])
//! is its market data for the [`crate::LiveFeed`]. Paper is the default; the live URL is
//! only used with [`Mode::Live`].
//!
//! Orders are never sent twice: a POST is sent once, an ambiguous result (timeout, reset,
//! 5xx, unreadable answer) goes through [`submit_once`], which queries by client id. A
//! resend after the grace period keeps the same `client_order_id`: Alpaca keeps client
//! ids unique for ever, so if the first send did arrive after all, the resend is refused
//! as a duplicate ("client_order_id must be unique"), which makes us query again and find
//! the one order. That is strictly safer than a fresh suffix, which would place a second
//! order whenever the first was merely slow to show.
//!
//! The circuit breaker is fed by every REST call and exposed by
//! [`Venue::accepting_entries`]; [`Venue::submit`] does not refuse when it is open,
//! because the host marks exits and stops sending entries itself while entries are not
//! accepted, and exits must still go out.

pub mod config;
pub mod data;
pub mod mapping;
pub mod rest;
pub mod stream;

pub use config::AlpacaConfig;
pub use data::AlpacaBars;
pub use mapping::MarketClock;

use crate::common::{Attempt, ConnectError, EventLog, Io, Mode, RateBudget, Secret, submit_once};
use flotilla_broker::venue::{
    CancelOutcome, Venue, VenueEvent, VenueFailure, VenueInfo, VenueOrder, VenueOrderRequest,
};
use flotilla_domain::{ClientOrderId, Money, Quantity, Symbol, Timestamp};
use mapping::{WireAccount, WireClock, WireOrder, WirePosition, order_body, venue_order};
use rest::{Api, Rest, RestError};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The environment variable of the key id.
pub const KEY_ENV: &str = "APCA_API_KEY_ID";
/// The environment variable of the secret key.
pub const SECRET_ENV: &str = "APCA_API_SECRET_KEY";

/// What the connector knows of an order it has seen.
#[derive(Debug, Clone, Default)]
struct Known {
    /// Alpaca's id, once an answer named it.
    venue_id: Option<String>,
    /// Whether it may still change (so a reconcile asks for it).
    working: bool,
}

/// State shared by the connector, its stream task and its bars.
#[derive(Debug)]
pub(crate) struct Shared {
    config: AlpacaConfig,
    rest: Arc<Rest>,
    log: EventLog,
    known: Mutex<HashMap<ClientOrderId, Known>>,
    stream_connects: AtomicU64,
    /// The stock market's session as `/v2/clock` last said: 0 unknown, 1 open, 2 closed.
    session: std::sync::atomic::AtomicU8,
}

/// One Alpaca account as a [`Venue`].
pub struct Alpaca {
    shared: Arc<Shared>,
    info: VenueInfo,
    stream: tokio::task::JoinHandle<()>,
    // Last: the runtime shuts down after the stream task is aborted.
    io: Io,
}

impl std::fmt::Debug for Alpaca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alpaca")
            .field("info", &self.info)
            .field("rest", &self.shared.rest)
            .finish_non_exhaustive()
    }
}

impl Drop for Alpaca {
    fn drop(&mut self) {
        self.stream.abort();
    }
}

impl Alpaca {
    /// Connects with the keys from `APCA_API_KEY_ID` and `APCA_API_SECRET_KEY`.
    pub fn from_env(config: AlpacaConfig) -> Result<Self, ConnectError> {
        let key = Secret::from_env(KEY_ENV)?;
        let secret = Secret::from_env(SECRET_ENV)?;
        Self::connect(config, key, secret)
    }

    /// Checks the account (`GET /v2/account`), starts the `trade_updates` stream and
    /// waits (at most the request timeout) for it to listen; a stream that cannot
    /// connect yet keeps retrying in the background. Must be called outside a runtime.
    pub fn connect(
        config: AlpacaConfig,
        key: Secret,
        secret: Secret,
    ) -> Result<Self, ConnectError> {
        config.validate().map_err(ConnectError::Config)?;
        let io = Io::new("alpaca").map_err(|e| ConnectError::Config(format!("runtime: {e}")))?;
        let rest = Arc::new(Rest::new(&config, key, secret).map_err(ConnectError::Config)?);
        let account: WireAccount = io
            .block_on(rest.get(Api::Trading, "/v2/account", &[]))
            .map_err(|e| ConnectError::Venue(format!("GET /v2/account: {e}")))?;
        if account.trading_blocked {
            rest.notice(format!(
                "alpaca: trading is blocked on account {}",
                account.account_number
            ));
        }
        let info = VenueInfo {
            venue: "alpaca".into(),
            account: if account.account_number.is_empty() {
                account.id.clone()
            } else {
                account.account_number.clone()
            },
            mode: config.mode.as_str().into(),
            endpoint: config.trading_url.clone(),
        };
        let timeout = config.request_timeout;
        let shared = Arc::new(Shared {
            config,
            rest,
            log: EventLog::new(),
            known: Mutex::new(HashMap::new()),
            stream_connects: AtomicU64::new(0),
            session: std::sync::atomic::AtomicU8::new(0),
        });
        io.spawn(watch_session(Arc::downgrade(&shared)));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let stream = io.spawn(stream::run(Arc::downgrade(&shared), tx));
        let listening = io.block_on(async { tokio::time::timeout(timeout, rx).await });
        if !matches!(listening, Ok(Ok(()))) {
            shared.rest.notice(
                "alpaca trade_updates not listening yet; retrying in the background".into(),
            );
        }
        Ok(Self {
            shared,
            info,
            stream,
            io,
        })
    }

    /// The market clock (`GET /v2/clock`).
    pub fn clock(&self) -> Result<MarketClock, VenueFailure> {
        let c: WireClock = self
            .io
            .block_on(self.shared.rest.get(Api::Trading, "/v2/clock", &[]))
            .map_err(RestError::into_failure)?;
        mapping::clock(&c).map_err(VenueFailure::Other)
    }

    /// The account's market data, sharing its rate budget.
    pub fn bars(&self) -> AlpacaBars {
        AlpacaBars::with_rest(self.shared.config.clone(), self.shared.rest.clone())
    }

    /// The connector's runtime, for tasks that read its bars ([`crate::LiveFeed::start`]).
    pub fn handle(&self) -> &tokio::runtime::Handle {
        self.io.handle()
    }

    /// The account's rate budget.
    pub fn budget(&self) -> &RateBudget {
        &self.shared.rest.budget
    }

    /// Times the `trade_updates` stream listened (the first included).
    pub fn stream_connects(&self) -> u64 {
        self.shared.stream_connects.load(Ordering::Relaxed)
    }

    /// Tells the log that the host already booked `cumulative` units (worth `notional`)
    /// of this order (after a restart), so reports of them add nothing.
    pub fn seed(&self, client: &ClientOrderId, cumulative: Quantity, notional: Money) {
        self.shared.log.seed(client, cumulative, notional);
        self.shared.track(client);
    }

    /// The mode the connector runs in.
    pub fn mode(&self) -> Mode {
        self.shared.config.mode
    }
}

impl Shared {
    /// Remembers Alpaca's id and whether the order still works.
    fn remember(&self, venue_id: &str, order: &VenueOrder) {
        let mut k = self.known.lock().unwrap_or_else(|p| p.into_inner());
        k.insert(
            order.client_id.clone(),
            Known {
                venue_id: Some(venue_id.to_string()),
                working: order.is_working(),
            },
        );
    }

    /// Tracks a client id whose fate is not known yet (an ambiguous submit).
    fn track(&self, client: &ClientOrderId) {
        let mut k = self.known.lock().unwrap_or_else(|p| p.into_inner());
        k.entry(client.clone()).or_insert(Known {
            venue_id: None,
            working: true,
        });
    }

    fn venue_id(&self, client: &ClientOrderId) -> Option<String> {
        let k = self.known.lock().unwrap_or_else(|p| p.into_inner());
        k.get(client).and_then(|k| k.venue_id.clone())
    }

    fn working(&self) -> Vec<ClientOrderId> {
        let k = self.known.lock().unwrap_or_else(|p| p.into_inner());
        k.iter()
            .filter(|(_, k)| k.working)
            .map(|(c, _)| c.clone())
            .collect()
    }

    /// `GET /v2/orders:by_client_order_id`: `None` on 404.
    async fn fetch(&self, client: &ClientOrderId) -> Result<Option<VenueOrder>, RestError> {
        let q = [("client_order_id", client.as_str().to_string())];
        match self
            .rest
            .get::<WireOrder>(Api::Trading, "/v2/orders:by_client_order_id", &q)
            .await
        {
            Ok(w) => {
                let o = venue_order(&w).map_err(RestError::Decode)?;
                self.remember(&w.id, &o);
                Ok(Some(o))
            }
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /v2/orders?status=open&limit=500`, orders of ours only (another client's
    /// order may carry an id the host could not have made, such as a 36-character UUID).
    async fn open(&self) -> Result<Vec<VenueOrder>, RestError> {
        let q = [("status", "open".to_string()), ("limit", "500".to_string())];
        let wire: Vec<WireOrder> = self.rest.get(Api::Trading, "/v2/orders", &q).await?;
        let mut out = Vec::with_capacity(wire.len());
        for w in &wire {
            match venue_order(w) {
                Ok(o) => {
                    self.remember(&w.id, &o);
                    out.push(o);
                }
                Err(e) => tracing::debug!(target: "alpaca", error = %e, "open order skipped"),
            }
        }
        Ok(out)
    }

    /// Books the open orders and every tracked working order over REST: what the stream
    /// missed while it was down. Returns (orders read, events booked).
    async fn reconcile(&self) -> Result<(usize, usize), RestError> {
        let before = self.log.last_seq();
        let open = self.open().await?;
        let mut seen = HashSet::new();
        for o in &open {
            self.log.snapshot(o, o.updated_at);
            seen.insert(o.client_id.clone());
        }
        let mut n = open.len();
        for c in self.working() {
            if seen.contains(&c) {
                continue;
            }
            if let Some(o) = self.fetch(&c).await? {
                self.log.snapshot(&o, o.updated_at);
                n += 1;
            }
        }
        Ok((n, (self.log.last_seq() - before) as usize))
    }

    /// One `POST /v2/orders`, read as the submit policy needs it.
    async fn send(&self, req: &VenueOrderRequest, now: Timestamp) -> Attempt {
        let body = order_body(req);
        match self.rest.post::<_, WireOrder>("/v2/orders", &body).await {
            Ok(w) => match venue_order(&w) {
                Ok(o) => {
                    self.remember(&w.id, &o);
                    Attempt::Placed(o)
                }
                Err(e) => Attempt::Ambiguous(format!("placed, answer unreadable: {e}")),
            },
            Err(RestError::Decode(e)) => Attempt::Ambiguous(format!("answer unreadable: {e}")),
            Err(RestError::Ambiguous(e)) => Attempt::Ambiguous(e),
            Err(e @ RestError::RateLimited { retry_after }) => Attempt::NotSent {
                reason: e.to_string(),
                retry_after: Some(retry_after),
            },
            Err(e @ RestError::NotSent(_)) => Attempt::NotSent {
                reason: e.to_string(),
                retry_after: None,
            },
            Err(RestError::Status {
                status,
                code,
                message,
            }) => {
                let lower = message.to_ascii_lowercase();
                if lower.contains("client_order_id")
                    && (lower.contains("unique") || lower.contains("already"))
                {
                    // The id is taken: the order exists (an earlier send arrived).
                    Attempt::Ambiguous(format!("alpaca {status}: {message}"))
                } else if status == 401 || (status == 403 && code.is_none_or(|c| c == 40110000)) {
                    // Not authorized: nothing was placed.
                    Attempt::NotSent {
                        reason: format!("alpaca {status}: {message}"),
                        retry_after: None,
                    }
                } else {
                    // 403 40310000 (buying power), 422 (invalid order), other 4xx: a
                    // definite refusal, in the venue's words.
                    Attempt::Rejected(mapping::rejected(req, message, now))
                }
            }
        }
    }
}

impl Venue for Alpaca {
    fn session_open(&self, symbol: &Symbol) -> Option<bool> {
        if mapping::is_crypto(symbol) {
            return Some(true); // crypto trades around the clock
        }
        match self.shared.session.load(Ordering::Relaxed) {
            1 => Some(true),
            2 => Some(false),
            _ => None,
        }
    }

    fn resume(&self, req: &VenueOrderRequest, cumulative: Quantity, notional: Money) {
        self.seed(&req.client_id, cumulative, notional);
    }

    fn info(&self) -> VenueInfo {
        self.info.clone()
    }

    fn submit(&self, req: &VenueOrderRequest, now: Timestamp) -> Result<VenueOrder, VenueFailure> {
        let sh = &self.shared;
        let policy = sh.config.submit;
        let result = self.io.block_on(submit_once(
            &policy,
            |_| sh.send(req, now),
            || async {
                match sh.fetch(&req.client_id).await {
                    Ok(o) => Ok(o),
                    Err(e) => Err(e.into_failure()),
                }
            },
        ));
        match &result {
            Ok(o) => {
                sh.log.snapshot(o, now);
            }
            // Its fate is unknown: every reconcile asks for it until it is known.
            Err(VenueFailure::Ambiguous(_)) => sh.track(&req.client_id),
            Err(_) => {}
        }
        result
    }

    fn cancel(
        &self,
        client_id: &ClientOrderId,
        _now: Timestamp,
    ) -> Result<CancelOutcome, VenueFailure> {
        let sh = &self.shared;
        self.io.block_on(async {
            let id = match sh.venue_id(client_id) {
                Some(id) => id,
                None => match sh.fetch(client_id).await.map_err(RestError::into_failure)? {
                    None => return Ok(CancelOutcome::Unknown),
                    Some(o) if !o.is_working() => return Ok(CancelOutcome::NotCancelable(o.state)),
                    Some(_) => sh.venue_id(client_id).unwrap_or_default(),
                },
            };
            match sh.rest.delete(&format!("/v2/orders/{id}")).await {
                Ok(_) => Ok(CancelOutcome::Requested),
                Err(e) if e.status() == Some(404) => Ok(CancelOutcome::Unknown),
                Err(e) if e.status() == Some(422) => {
                    // No longer cancelable: say in what state.
                    match sh.fetch(client_id).await.map_err(RestError::into_failure)? {
                        Some(o) if o.state == flotilla_domain::OrderState::PendingCancel => {
                            Ok(CancelOutcome::Requested)
                        }
                        Some(o) => Ok(CancelOutcome::NotCancelable(o.state)),
                        None => Ok(CancelOutcome::Unknown),
                    }
                }
                Err(e) => Err(e.into_failure()),
            }
        })
    }

    fn order(&self, client_id: &ClientOrderId) -> Result<Option<VenueOrder>, VenueFailure> {
        let sh = &self.shared;
        let o = self
            .io
            .block_on(sh.fetch(client_id))
            .map_err(RestError::into_failure)?;
        if let Some(o) = &o {
            sh.log.snapshot(o, o.updated_at);
        }
        Ok(o)
    }

    fn open_orders(&self) -> Result<Vec<VenueOrder>, VenueFailure> {
        let sh = &self.shared;
        let open = self
            .io
            .block_on(sh.open())
            .map_err(RestError::into_failure)?;
        for o in &open {
            sh.log.snapshot(o, o.updated_at);
        }
        Ok(open)
    }

    fn events_since(&self, seq: u64) -> Result<Vec<(u64, VenueEvent)>, VenueFailure> {
        Ok(self.shared.log.since(seq))
    }

    fn last_event_seq(&self) -> Result<u64, VenueFailure> {
        Ok(self.shared.log.last_seq())
    }

    fn durable_events(&self) -> bool {
        false
    }

    fn positions(&self) -> Result<BTreeMap<Symbol, Quantity>, VenueFailure> {
        let rows: Vec<WirePosition> = self
            .io
            .block_on(self.shared.rest.get(Api::Trading, "/v2/positions", &[]))
            .map_err(RestError::into_failure)?;
        let mut out = BTreeMap::new();
        for p in &rows {
            let (s, q) = mapping::position(p).map_err(VenueFailure::Other)?;
            if !q.is_zero() {
                *out.entry(s).or_insert(Quantity::ZERO) += q;
            }
        }
        Ok(out)
    }

    fn cash(&self) -> Result<Money, VenueFailure> {
        let a: WireAccount = self
            .io
            .block_on(self.shared.rest.get(Api::Trading, "/v2/account", &[]))
            .map_err(RestError::into_failure)?;
        mapping::decimal("cash", &a.cash).map_err(VenueFailure::Other)
    }

    fn take_notices(&self) -> Vec<String> {
        self.shared.rest.take_notices()
    }

    fn accepting_entries(&self) -> bool {
        self.shared.rest.breaker.allows_entries()
    }
}

/// Reads the stock market's session from `/v2/clock` every `session_refresh`, so
/// [`Venue::session_open`] answers without a request (it is asked on the tick path).
async fn watch_session(shared: std::sync::Weak<Shared>) {
    loop {
        let Some(s) = shared.upgrade() else { return };
        let every = s.config.session_refresh;
        if let Ok(c) = s
            .rest
            .get::<WireClock>(Api::Trading, "/v2/clock", &[])
            .await
        {
            s.session
                .store(if c.is_open { 1 } else { 2 }, Ordering::Relaxed);
        }
        drop(s);
        tokio::time::sleep(every).await;
    }
}
