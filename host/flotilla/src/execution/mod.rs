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
//! The venue is any [`Venue`]: the paper venue beside the ledger, or a connector to a real
//! venue (`flotilla-venues`). Orders that cannot go at once wait in the service: rate
//! limited ones until the venue's reset, entries while the venue's circuit is open (exits
//! still go), and ambiguous ones are asked for by client id and resent only after a grace
//! period ([`service`]).
//!
//! On start, before any bot ticks, the ledger's working orders are reconciled with the
//! venue by client id ([`reconcile`]): what the host missed is booked (fills deduplicated
//! by trade id and cumulative quantity, [`book`]), an order that never left the host is
//! sent with the same id, and any difference between the venue's and the ledger's
//! positions and cash is recorded.

mod book;
mod reconcile;
mod service;

use crate::fleet::{Core, Fleet};
use anyhow::{Context, Result};
use flotilla_domain::{
    Bar, ClientOrderId, Decimal, Order, OrderEvent, OrderId, OrderSpec, OrderState, OrderType,
    Price, Symbol, Timestamp,
};
use flotilla_engine::Reservation;
use flotilla_venue_paper::{PaperVenue, Venue, VenueConfig, VenueOrderRequest};
use service::Command;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The running service of one account.
pub struct Execution {
    tx: mpsc::Sender<Command>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    venue: Arc<dyn Venue>,
    /// The paper venue, when that is the venue (tests read its account).
    paper: Option<Arc<PaperVenue>>,
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
    /// Why the venue's filters refuse it (it is booked rejected, never sent).
    pub refusal: Option<String>,
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
    /// Orders sent whose fate the venue could not tell yet (asked again, resent only
    /// after the grace period).
    pub in_doubt: usize,
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
    /// The venue this service owns.
    pub fn venue(&self) -> &dyn Venue {
        &*self.venue
    }

    /// The paper venue, when the service runs on it (tests read its account).
    pub fn paper(&self) -> Option<&PaperVenue> {
        self.paper.as_deref()
    }

    fn send(&self, c: Command) {
        // The thread only stops on `Stop`, after which nothing is sent.
        let _ = self.tx.send(c);
    }
}

impl Core {
    /// Queues an approved order for the execution service (sent after the tick's record
    /// commits) and reserves it in risk.
    pub(crate) fn queue_order(&mut self, order: Order, reference: Price, refusal: Option<String>) {
        self.by_client.insert(order.client_id.clone(), order.id);
        self.outbox.push(order.id);
        let queued = Some(Instant::now());
        self.working.insert(
            order.id,
            Working {
                order,
                reference,
                queued,
                refusal,
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

    /// Whether the venue's clock says the market of every one of `symbols` is closed
    /// (false when the venue does not say, or without a service).
    pub(crate) fn session_closed(&self, symbols: &[Symbol]) -> bool {
        let Some(e) = self.execution.get() else {
            return false;
        };
        !symbols.is_empty()
            && symbols
                .iter()
                .all(|s| e.venue.session_open(s) == Some(false))
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
        self.start_execution_on(venue.clone(), Some(venue))
    }

    /// Reconciles the ledger's working orders with `venue` and starts the execution
    /// service on it (a connector to a real venue, or the paper venue given as `paper`
    /// too). Call before any bot ticks.
    pub fn start_execution_on(
        self: &Arc<Self>,
        venue: Arc<dyn Venue>,
        paper: Option<Arc<PaperVenue>>,
    ) -> Result<Reconciliation> {
        let (tx, rx) = mpsc::channel();
        let execution = Execution {
            tx,
            thread: Mutex::new(None),
            venue: venue.clone(),
            paper,
            latency: Mutex::new(Latency::default()),
        };
        if self.execution.set(execution).is_err() {
            anyhow::bail!("the execution service is already running");
        }
        let (report, doubts) = self.reconcile(&*venue)?;
        let seq = self.core().venue_seq;
        let service = service::Service::new(
            Arc::downgrade(self),
            venue,
            rx,
            seq,
            self.spec.broker.grace(),
            doubts,
        );
        let thread = std::thread::Builder::new()
            .name("execution".into())
            .spawn(move || service.run())
            .context("starting the execution service")?;
        if let Some(e) = self.execution.get() {
            *e.thread.lock().unwrap_or_else(|p| p.into_inner()) = Some(thread);
        }
        Ok(report)
    }

    /// The order as the venue's filters take it, checked before it is recorded: its
    /// quantity and limit rounded to the venue's steps, or why the venue would refuse it
    /// (`None` without a service: a replay fills in process).
    pub(crate) fn prepare_spec(&self, spec: &mut OrderSpec) -> Option<String> {
        let e = self.execution.get()?;
        let req = VenueOrderRequest {
            client_id: spec.client_id.clone(),
            symbol: spec.symbol.clone(),
            side: spec.side,
            quantity: spec.quantity,
            order_type: spec.order_type,
            limit_price: spec.limit_price,
            time_in_force: spec.time_in_force,
            expires_at: spec.expires_at,
        };
        match e.venue.prepare(&req) {
            Ok(r) => {
                spec.quantity = r.quantity;
                spec.limit_price = r.limit_price;
                None
            }
            Err(why) => Some(why),
        }
    }

    /// A working order's venue request, creation time and exit flag, by client id.
    pub(crate) fn working_request(
        &self,
        client: &ClientOrderId,
    ) -> Option<(VenueOrderRequest, Timestamp, bool)> {
        let core = self.core();
        let id = core.by_client.get(client)?;
        let w = core.working.get(id)?;
        Some((request(&w.order), w.order.created_at, w.order.exit))
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
                if let Some(why) = &w.refusal {
                    e.send(Command::Refuse(w.order.client_id.clone(), why.clone(), now));
                    continue;
                }
                e.send(Command::Submit {
                    req: request(&w.order),
                    now: w.order.created_at,
                    queued: w.queued.unwrap_or_else(Instant::now),
                    exit: w.order.exit,
                });
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
            for (id, state, at, _) in &changes {
                if let Some(w) = core.working.get(id) {
                    let (bot, symbol) = (w.order.bot.clone(), w.order.symbol.clone());
                    core.observe_order(&bot, *id, &symbol, *state, *at, None);
                }
            }
        }
        Ok(())
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
