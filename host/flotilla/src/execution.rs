//! The execution service of the broker account: one thread owns the venue and sends
//! orders; what the venue reports comes back as events that update the book, risk, exits,
//! allocator, ledger and the bot (at its next tick).
//!
//! The tick path ends when an order is approved and recorded as `created`: the order goes
//! to the service after its tick's transaction commits. The service records `submitted`
//! before the venue hears of it, and the fleet's lock is never held across a venue call,
//! so a stalled venue delays no bot. Market data reaches the venue through the same queue,
//! after the orders sent before it (a market order fills at the next bar's open).
//!
//! On start, before any bot ticks, the ledger's working orders are reconciled with the
//! venue by client id: the venue's events the host missed are booked (fills deduplicated
//! by trade id), an order the venue never received is sent again with the same id, and
//! any difference between the venue's and the ledger's positions and cash is recorded.

use crate::fleet::{Core, Fleet};
use anyhow::{Context, Result};
use flotilla_domain::{
    Applied, Bar, ClientOrderId, Decimal, Fill, Order, OrderEvent, OrderId, OrderSpec, OrderState,
    OrderType, Price, Symbol, TimeInForce, Timestamp,
};
use flotilla_engine::Reservation;
use flotilla_venue_paper::{
    PaperVenue, VenueConfig, VenueEvent, VenueEventKind, VenueOrderRequest,
};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

/// What the service is asked to do, in order.
enum Command {
    /// Send this order (queued at the instant given, for the latency figures).
    Submit(VenueOrderRequest, Timestamp, Instant),
    /// Cancel this order.
    Cancel(ClientOrderId, Timestamp),
    /// New bars: match working orders, expire day orders.
    Bars(Vec<(Symbol, Bar)>, Timestamp),
    /// Finish what is queued and stop.
    Stop,
}

/// The running service of one account.
pub struct Execution {
    tx: mpsc::Sender<Command>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    venue: Arc<PaperVenue>,
    /// Latencies measured on the way (benchmarks and status read them).
    pub latency: Mutex<Latency>,
}

/// Latency samples of the order path, in microseconds (the last [`Latency::KEEP`] each).
#[derive(Clone, Debug, Default)]
pub struct Latency {
    /// From an order's approval (recorded, queued) to the service handing it to the
    /// venue, `submitted` recorded first.
    pub to_venue_us: Vec<u64>,
    /// From the service receiving a venue fill to the bot's `on-fill` (booked in the
    /// ledger in between; the bot hears of it at its next tick).
    pub fill_to_bot_us: Vec<u64>,
}

impl Latency {
    /// Samples kept per measure.
    pub const KEEP: usize = 100_000;

    fn push(v: &mut Vec<u64>, d: std::time::Duration) {
        if v.len() < Self::KEEP {
            v.push(d.as_micros() as u64);
        }
    }
}

/// The `p`-th percentile (0-100) of `samples`, nearest rank; `None` when empty.
pub fn percentile(samples: &[u64], p: f64) -> Option<u64> {
    let mut v = samples.to_vec();
    v.sort_unstable();
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v.get(rank.clamp(1, v.len().max(1)) - 1).copied()
}

/// An order the host is waiting on, with the price it reserves in risk.
#[derive(Clone, Debug)]
pub struct Working {
    /// The order as booked so far.
    pub order: Order,
    /// The price it reserves at: its limit, or the price it was approved at.
    pub reference: Price,
    /// When it was queued in this process (`None` for one restored from the ledger).
    pub queued: Option<Instant>,
}

/// What reconciliation on start found and did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reconciliation {
    /// Venue events booked that the host had missed.
    pub events_booked: usize,
    /// Orders the venue had never received, sent again with the same client id.
    pub resent: usize,
    /// Orders still working after reconciliation.
    pub working: usize,
    /// Differences between the venue's account and the ledger's, one line each.
    pub differences: Vec<String>,
}

/// Where the paper venue of the ledger at `db` keeps its account.
pub fn venue_path(db: &Path) -> std::path::PathBuf {
    let stem = db
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "flotilla".into());
    db.with_file_name(format!("{stem}.paper-venue.db"))
}

impl Working {
    /// Whether it holds a place in risk. A backtest's market order waiting for the next
    /// open does not: it fills at that bar, before any later tick of its bot, and replays
    /// have always evaluated the orders of one tick without it (so reports stay the same).
    pub fn reserves(&self) -> bool {
        self.queued.is_some() || self.order.order_type == OrderType::Limit
    }
}

impl Execution {
    /// The venue this service owns (tests and status read its account).
    pub fn venue(&self) -> &PaperVenue {
        &self.venue
    }

    fn send(&self, c: Command) {
        // The thread only stops on `Stop`, after which nothing is sent.
        let _ = self.tx.send(c);
    }
}

impl Core {
    /// Queues an approved order for the execution service (sent after the tick's record
    /// commits) and reserves it in risk.
    pub(crate) fn queue_order(&mut self, order: Order, reference: Price) {
        self.by_client.insert(order.client_id.clone(), order.id);
        self.outbox.push(order.id);
        let queued = Some(Instant::now());
        self.working.insert(
            order.id,
            Working {
                order,
                reference,
                queued,
            },
        );
    }

    /// The bot's working orders as its tick lists them (contract 0.7.0 `working-orders`).
    pub(crate) fn working_views(
        &self,
        bot: &flotilla_domain::BotId,
    ) -> Arc<[flotilla_runtime::WorkingOrderView]> {
        if self.working.is_empty() && self.resting.is_empty() {
            return self.no_working.clone();
        }
        let views: Vec<_> = self
            .working
            .values()
            .chain(self.resting.iter().map(|(w, _)| w))
            .filter(|w| &w.order.bot == bot)
            .filter_map(|w| flotilla_runtime::WorkingOrderView::of(&w.order))
            .collect();
        if views.is_empty() {
            self.no_working.clone()
        } else {
            views.into()
        }
    }

    /// Tells the order's bot what `event` did to it, at its next tick.
    pub(crate) fn notify(&mut self, order: &Order, event: &OrderEvent, time: Timestamp) {
        // A market order filled whole by one execution: its on-fill says it all (and a
        // replay's most common trade then costs no second call into the bot).
        let single_fill = matches!(event, OrderEvent::Fill { .. })
            && order.order_type == OrderType::Market
            && order.state == OrderState::Filled
            && order.trade_ids.len() == 1;
        if single_fill {
            return;
        }
        if let Some(u) = flotilla_runtime::OrderUpdateView::of(order, event, time) {
            self.order_notices
                .entry(order.bot.clone())
                .or_default()
                .push(u);
        }
    }

    /// What working orders (and a replay's resting limit orders) reserve, for risk.
    pub(crate) fn reservations(&self) -> Vec<Reservation> {
        self.working
            .values()
            .chain(self.resting.iter().map(|(w, _)| w).filter(|w| w.reserves()))
            .filter(|w| w.order.is_working())
            .map(|w| Reservation {
                order: w.order.id,
                bot: w.order.bot.clone(),
                symbol: w.order.symbol.clone(),
                side: w.order.side,
                quantity: w.order.remaining(),
                price: w.reference,
            })
            .collect()
    }
}

impl Fleet {
    /// Whether orders go through an execution service (live and paper runs started with
    /// [`Fleet::start_execution`]) rather than filling in process within the tick.
    pub(crate) fn executes(&self) -> bool {
        self.execution.get().is_some()
    }

    /// The execution service, once started.
    pub fn execution(&self) -> Option<&Execution> {
        self.execution.get()
    }

    /// Opens the paper venue at `path`, reconciles the ledger's working orders with it and
    /// starts the execution service. Call before any bot ticks.
    pub fn start_execution(self: &Arc<Self>, path: &Path) -> Result<Reconciliation> {
        self.start_execution_with(path, None)
    }

    /// [`Fleet::start_execution`] with a venue that stalls every submit (tests).
    pub fn start_execution_with(
        self: &Arc<Self>,
        path: &Path,
        stall: Option<std::time::Duration>,
    ) -> Result<Reconciliation> {
        let config = VenueConfig {
            costs: flotilla_broker::PaperConfig {
                slippage_bps: self.spec.broker.slippage_bps,
                fee_bps: self.spec.broker.fee_bps,
                min_fee: Decimal::ZERO,
            },
            starting_cash: self.spec.starting_cash,
            partial_fill_fraction: self.spec.broker.partial_fill_fraction.map(to_f64),
            stall: stall.or_else(|| {
                let ms = self.spec.broker.latency_ms;
                (ms > 0).then(|| std::time::Duration::from_millis(ms))
            }),
            ..VenueConfig::default()
        };
        let venue = Arc::new(
            PaperVenue::open(path, config)
                .with_context(|| format!("opening the paper venue {}", path.display()))?,
        );
        let (tx, rx) = mpsc::channel();
        let execution = Execution {
            tx,
            thread: Mutex::new(None),
            venue: venue.clone(),
            latency: Mutex::new(Latency::default()),
        };
        if self.execution.set(execution).is_err() {
            anyhow::bail!("the execution service is already running");
        }
        let report = self.reconcile(&venue)?;
        let weak = Arc::downgrade(self);
        let seq = self.core().venue_seq;
        let thread = std::thread::Builder::new()
            .name("execution".into())
            .spawn(move || serve(weak, venue, rx, seq))
            .context("starting the execution service")?;
        if let Some(e) = self.execution.get() {
            *e.thread.lock().unwrap_or_else(|p| p.into_inner()) = Some(thread);
        }
        Ok(report)
    }

    /// Finishes what the service has queued and stops it (on shutdown).
    pub fn stop_execution(&self) {
        if let Some(e) = self.execution.get() {
            e.send(Command::Stop);
            if let Some(t) = e.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
                let _ = t.join();
            }
        }
    }

    /// Hands the orders queued by the last tick to the service (after they were recorded).
    pub(crate) fn flush_outbox(&self, core: &mut Core) {
        let Some(e) = self.execution.get() else {
            core.outbox.clear();
            core.cancel_outbox.clear();
            return;
        };
        let now = core
            .last_bar
            .values()
            .max()
            .copied()
            .unwrap_or(self.start());
        for client in std::mem::take(&mut core.cancel_outbox) {
            e.send(Command::Cancel(client, now));
        }
        for id in std::mem::take(&mut core.outbox) {
            if let Some(w) = core.working.get(&id) {
                let queued = w.queued.unwrap_or_else(Instant::now);
                e.send(Command::Submit(
                    request(&w.order),
                    w.order.created_at,
                    queued,
                ));
            }
        }
    }

    /// A bot asked to cancel its order `id` (checked by the runtime to be one of its
    /// working orders): a replay's resting order is canceled at once; a working one is
    /// recorded as `pending_cancel` and the venue asked once the tick's record commits.
    pub(crate) fn request_cancel(
        &self,
        core: &mut Core,
        id: OrderId,
        now: Timestamp,
    ) -> Result<()> {
        if let Some(i) = core.resting.iter().position(|(w, _)| w.order.id == id) {
            let (mut w, _) = core.resting.remove(i);
            w.order.apply(&OrderEvent::Canceled)?;
            core.notify(&w.order, &OrderEvent::Canceled, now);
            return core.set_order_state(id, OrderState::Canceled, now, "canceled by the bot");
        }
        let Some(w) = core.working.get_mut(&id) else {
            return Ok(()); // done meanwhile: nothing to cancel
        };
        if w.order.apply(&OrderEvent::CancelRequested).is_err() {
            return Ok(()); // already pending cancel
        }
        let client = w.order.client_id.clone();
        let detail = serde_json::json!({ "reason": "canceled by the bot" });
        core.ledger
            .set_order_state(id, OrderState::PendingCancel, now, &detail, &[])?;
        core.cancel_outbox.push(client);
        Ok(())
    }

    /// Sends new bars to the venue (matching happens on the service's thread).
    pub(crate) fn send_bars(&self, bars: Vec<(Symbol, Bar)>, now: Timestamp) {
        if let Some(e) = self.execution.get()
            && !bars.is_empty()
        {
            e.send(Command::Bars(bars, now));
        }
    }

    /// Asks the venue to cancel a working order.
    pub fn cancel_order(&self, id: OrderId, now: Timestamp) -> Result<()> {
        let client = {
            let core = self.core();
            let w = core
                .working
                .get(&id)
                .with_context(|| format!("order {id} is not working"))?;
            w.order.client_id.clone()
        };
        let e = self
            .execution
            .get()
            .context("no execution service running")?;
        e.send(Command::Cancel(client, now));
        Ok(())
    }

    /// Records `submitted` for orders about to go to the venue (persist before sending),
    /// in one transaction.
    fn mark_submitted(&self, orders: &[(ClientOrderId, Timestamp)]) -> Result<()> {
        let mut core = self.core();
        let mut changes = Vec::new();
        for (client, now) in orders {
            let Some(id) = core.by_client.get(client).copied() else {
                continue;
            };
            let Some(w) = core.working.get_mut(&id) else {
                continue;
            };
            if w.order.state != OrderState::Created {
                continue; // a resend after a restart: already recorded
            }
            w.order.apply(&OrderEvent::Submitted)?;
            let detail = serde_json::json!({ "client_id": client.as_str() });
            changes.push((id, OrderState::Submitted, *now, detail));
        }
        if !changes.is_empty() {
            core.ledger.set_order_states(&changes)?;
        }
        Ok(())
    }

    /// Books what the venue reported, in order; each event is booked once (a fill by its
    /// trade id, a state change by the state it leads to), so replaying events is safe.
    pub(crate) fn apply_venue_events(&self, events: &[(u64, VenueEvent)]) -> Result<usize> {
        let mut core = self.core();
        let mut booked = 0;
        for (seq, ev) in events {
            if *seq <= core.venue_seq {
                continue;
            }
            core.venue_seq = *seq;
            if self.apply_one(&mut core, *seq, ev)? {
                booked += 1;
            }
        }
        Ok(booked)
    }

    fn apply_one(&self, core: &mut Core, seq: u64, ev: &VenueEvent) -> Result<bool> {
        let received = Instant::now();
        let seq_state = [("venue_seq", serde_json::json!(seq))];
        let Some(id) = core.by_client.get(&ev.client_id).copied() else {
            // Not ours, or done long ago: nothing to book, only where we are in the log.
            core.ledger
                .save_host_state(ev.time, "venue_seq", &seq_state[0].1)?;
            return Ok(false);
        };
        let Some(w) = core.working.get_mut(&id) else {
            return Ok(false);
        };
        // The venue only reports orders it received: a report settles that it was sent.
        if w.order.state == OrderState::Created {
            w.order.apply(&OrderEvent::Submitted)?;
        }
        let event = ev.kind.to_order_event();
        let from = w.order.state;
        let to = match w.order.apply(&event) {
            Ok(Applied::DuplicateFill) => return Ok(false),
            Ok(Applied::Changed { to, .. }) => to,
            Err(e) => {
                // Booked before a crash (the state already shows it) or a report that
                // makes no sense for the order: recorded, never forced.
                if !from.is_terminal() && !matches!(ev.kind, VenueEventKind::Accepted) {
                    let bot = w.order.bot.clone();
                    let msg = format!("{} ({}): {e}", id, ev.client_id);
                    core.record_event(ev.time, Some(&bot), "venue_event_refused", &msg)?;
                }
                return Ok(false);
            }
        };
        let order = w.order.clone();
        core.notify(&order, &event, ev.time);
        if let VenueEventKind::Fill {
            trade_id,
            quantity,
            price,
            fee,
            ..
        } = &ev.kind
        {
            let fill = Fill {
                order_id: id,
                bot: order.bot.clone(),
                symbol: order.symbol.clone(),
                side: order.side,
                quantity: *quantity,
                price: *price,
                fee: *fee,
                time: ev.time,
                trade_id: trade_id.clone(),
                tag: order.tag.clone(),
            };
            let (realized, row) = core.book_fill(&fill);
            let mut state = self.changed_host_state(core, true)?;
            state.push(seq_state[0].clone());
            core.ledger
                .record_fill_with(&fill, realized, &row, Some(to), &state)?;
            core.notice_since
                .entry(fill.bot.clone())
                .or_insert(received);
            core.fill_notices
                .entry(fill.bot.clone())
                .or_default()
                .push(fill);
        } else {
            let detail = match &ev.kind {
                VenueEventKind::Rejected { reason } => serde_json::json!({ "reason": reason }),
                _ => serde_json::json!({ "venue": ev.kind.name() }),
            };
            core.ledger
                .set_order_state(id, to, ev.time, &detail, &seq_state)?;
            if order.exit && to.is_terminal() && to != OrderState::Filled {
                // The exit did not happen: the book issues it again on the next bar.
                core.exits.exit_failed(&order.bot, &order.symbol);
            }
            if matches!(ev.kind, VenueEventKind::Rejected { .. }) {
                let msg = format!("{id} ({}): {}", ev.client_id, detail["reason"]);
                core.record_event(ev.time, Some(&order.bot), "broker_rejected", &msg)?;
            }
        }
        if to.is_terminal() {
            core.working.remove(&id);
            core.by_client.remove(&order.client_id);
        }
        Ok(true)
    }

    /// Loads the ledger's working orders, books the venue's events since the last one
    /// booked, resends what the venue never received, and compares the accounts.
    fn reconcile(&self, venue: &PaperVenue) -> Result<Reconciliation> {
        let now = self.start();
        let mut report = Reconciliation::default();
        {
            let mut core = self.core();
            core.venue_seq = core
                .ledger
                .load_host_state("venue_seq")?
                .and_then(|v| v.as_u64())
                .unwrap_or(0);
            let filter = flotilla_ledger::OrderFilter {
                working_only: true,
                ..Default::default()
            };
            for view in core.ledger.orders(&filter)? {
                let order = restore_order(&core.ledger, &view)?;
                let reference = view
                    .limit_price
                    .or_else(|| core.marks.get(&view.symbol).copied())
                    .or_else(|| self.mark(&view.symbol))
                    .unwrap_or_default();
                core.by_client.insert(order.client_id.clone(), order.id);
                let queued = None;
                core.working.insert(
                    order.id,
                    Working {
                        order,
                        reference,
                        queued,
                    },
                );
            }
        }
        let seq = self.core().venue_seq;
        let missed = venue.events_since(seq)?;
        report.events_booked = self.apply_venue_events(&missed)?;
        // What is still working and unknown to the venue was never received: send it
        // again, with the same client id (the venue would answer a duplicate with the
        // order it has, never a second one).
        let pending: Vec<Order> = self
            .core()
            .working
            .values()
            .map(|w| w.order.clone())
            .collect();
        for order in pending {
            if venue.order(&order.client_id)?.is_none() {
                report.resent += 1;
                let mut core = self.core();
                core.outbox.push(order.id);
                let msg = format!(
                    "{} ({}) never reached the venue: sent again",
                    order.id, order.client_id
                );
                core.record_event(now, Some(&order.bot), "reconcile_resend", &msg)?;
            }
        }
        let mut core = self.core();
        report.working = core.working.len();
        let mut ledger_net: BTreeMap<Symbol, Decimal> = BTreeMap::new();
        for (_, s, p) in core.portfolio.positions() {
            *ledger_net.entry(s.clone()).or_default() += p.quantity;
        }
        let venue_net = venue.positions()?;
        let symbols: std::collections::BTreeSet<&Symbol> =
            ledger_net.keys().chain(venue_net.keys()).collect();
        for s in symbols {
            let (l, v) = (
                ledger_net.get(s).copied().unwrap_or_default(),
                venue_net.get(s).copied().unwrap_or_default(),
            );
            if l != v {
                report
                    .differences
                    .push(format!("{s}: ledger holds {l}, the venue {v}"));
            }
        }
        let (lc, vc) = (core.portfolio.cash(), venue.cash()?);
        if lc != vc {
            report
                .differences
                .push(format!("cash: ledger {lc}, the venue {vc}"));
        }
        for d in &report.differences {
            tracing::warn!("reconciliation: {d}");
            core.record_event(now, None, "reconcile_difference", d)?;
        }
        let summary = format!(
            "{} venue events booked, {} orders sent again, {} working, {} differences",
            report.events_booked,
            report.resent,
            report.working,
            report.differences.len()
        );
        core.record_event(now, None, "reconciled", &summary)?;
        self.flush_outbox(&mut core);
        Ok(report)
    }
}

fn to_f64(d: Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    d.to_f64().unwrap_or(1.0)
}

/// The venue request for `order`.
fn request(order: &Order) -> VenueOrderRequest {
    VenueOrderRequest {
        client_id: order.client_id.clone(),
        symbol: order.symbol.clone(),
        side: order.side,
        quantity: order.quantity,
        order_type: order.order_type,
        limit_price: order.limit_price,
        time_in_force: order.time_in_force,
        expires_at: order.expires_at,
    }
}

/// A working order as the ledger recorded it, with the trade ids already booked.
fn restore_order(
    ledger: &flotilla_ledger::Ledger,
    view: &flotilla_ledger::OrderView,
) -> Result<Order> {
    let client = view
        .client_id
        .as_deref()
        .with_context(|| format!("working order {} has no client id", view.id))?;
    let order_type: OrderType = view
        .order_type
        .parse()
        .map_err(|e| anyhow::anyhow!("order {}: {e}", view.id))?;
    let tif: TimeInForce = view
        .time_in_force
        .parse()
        .map_err(|e| anyhow::anyhow!("order {}: {e}", view.id))?;
    let mut order = Order::new(OrderSpec {
        id: view.id,
        client_id: ClientOrderId::parse(client)?,
        bot: view.bot.clone(),
        symbol: view.symbol.clone(),
        side: view.side,
        quantity: view.quantity,
        order_type,
        limit_price: view.limit_price,
        time_in_force: tif,
        created_at: view.time,
        expires_at: None,
        tag: view.tag.clone(),
        exit: view.exit,
    })?;
    // Replay the booked fills so the order's totals and trade ids are the ledger's.
    if view.state != OrderState::Created {
        order.apply(&OrderEvent::Submitted)?;
    }
    for f in ledger.fills_of_order(view.id)? {
        order.apply(&OrderEvent::Fill {
            trade_id: f
                .trade_id
                .clone()
                .unwrap_or_else(|| format!("ledger-{}", f.time.0)),
            quantity: f.quantity,
            price: f.price,
            fee: f.fee,
        })?;
    }
    if matches!(view.state, OrderState::Accepted | OrderState::PendingCancel) {
        let _ = order.apply(&OrderEvent::Accepted);
    }
    if view.state == OrderState::PendingCancel {
        let _ = order.apply(&OrderEvent::CancelRequested);
    }
    Ok(order)
}

/// The service's loop: the commands queued so far at a time, in order (a run of submits
/// recorded as sent in one transaction), the venue called without the fleet's lock, then
/// what the venue reported booked under it.
fn serve(fleet: Weak<Fleet>, venue: Arc<PaperVenue>, rx: mpsc::Receiver<Command>, mut seq: u64) {
    const BATCH: usize = 512;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH
            && let Ok(c) = rx.try_recv()
        {
            batch.push(c);
        }
        let stop = batch.iter().any(|c| matches!(c, Command::Stop));
        let Some(fleet) = fleet.upgrade() else { return };
        let result = (|| -> Result<()> {
            let mut i = 0;
            while i < batch.len() {
                let run = batch[i..]
                    .iter()
                    .take_while(|c| matches!(c, Command::Submit(..)))
                    .count();
                if run > 0 {
                    let sent: Vec<(ClientOrderId, Timestamp)> = batch[i..i + run]
                        .iter()
                        .filter_map(|c| match c {
                            Command::Submit(req, now, _) => Some((req.client_id.clone(), *now)),
                            _ => None,
                        })
                        .collect();
                    fleet.mark_submitted(&sent)?;
                    for c in &batch[i..i + run] {
                        if let Command::Submit(req, now, queued) = c {
                            if let Some(e) = fleet.execution() {
                                let mut l = e.latency.lock().unwrap_or_else(|p| p.into_inner());
                                Latency::push(&mut l.to_venue_us, queued.elapsed());
                            }
                            venue.submit(req, *now)?;
                        }
                    }
                    i += run;
                    continue;
                }
                match &batch[i] {
                    Command::Stop | Command::Submit(..) => {}
                    Command::Cancel(client, now) => {
                        venue.cancel(client, *now)?;
                    }
                    Command::Bars(bars, now) => {
                        venue.expire_due(*now)?;
                        for (symbol, bar) in bars {
                            venue.on_bar(symbol, bar)?;
                        }
                    }
                }
                i += 1;
            }
            let events = venue.events_since(seq)?;
            if let Some((last, _)) = events.last() {
                seq = *last;
            }
            fleet.apply_venue_events(&events)?;
            Ok(())
        })();
        if let Err(e) = result {
            // The venue or the ledger failed: nothing is lost (both are durable and the
            // next start reconciles), but the operator must know.
            tracing::error!(error = %format!("{e:#}"), "execution service");
            let mut core = fleet.core();
            let now = fleet.now();
            let _ = core.record_event(now, None, "execution_error", &format!("{e:#}"));
        }
        if stop {
            return;
        }
    }
}
