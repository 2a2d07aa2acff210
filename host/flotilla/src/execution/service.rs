//! The service's thread: commands in order, the venue called without the fleet's lock,
//! what the venue reports booked under it, and the orders that wait (rate limited, held
//! by an open circuit, or in doubt after an ambiguous answer) retried on their own time.

use super::Latency;
use super::book::LOCAL_REFUSAL;
use crate::fleet::Fleet;
use anyhow::Result;
use flotilla_domain::{Bar, ClientOrderId, Symbol, Timestamp};
use flotilla_venue_paper::{
    CancelOutcome, Venue, VenueEvent, VenueEventKind, VenueFailure, VenueOrderRequest,
};
use std::sync::mpsc;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// What the service is asked to do, in order.
pub(super) enum Command {
    /// Send this order (queued at the instant given, for the latency figures).
    Submit {
        /// The order as the venue takes it.
        req: VenueOrderRequest,
        /// When it was created.
        now: Timestamp,
        /// When it was queued in this process.
        queued: Instant,
        /// Whether it is an exit (sent even while the venue's circuit is open).
        exit: bool,
    },
    /// Book this order as refused by the venue's filters; nothing is sent.
    Refuse(ClientOrderId, String, Timestamp),
    /// Cancel this order.
    Cancel(ClientOrderId, Timestamp),
    /// New bars: a simulated venue matches working orders and expires day orders.
    Bars(Vec<(Symbol, Bar)>, Timestamp),
    /// Finish what is queued and stop.
    Stop,
}

/// An order waiting for its own time.
enum Later {
    /// Not sent (rate limited): send at `at`, same client id (it was definitely not
    /// placed).
    Retry {
        req: VenueOrderRequest,
        now: Timestamp,
        exit: bool,
        at: Instant,
    },
    /// An entry held while the venue's circuit is open.
    Held {
        req: VenueOrderRequest,
        now: Timestamp,
    },
    /// Sent, outcome unknown: ask by client id; resend only once `since` is older than
    /// the grace period and the venue still does not know it.
    Doubt {
        client: ClientOrderId,
        since: Instant,
        check_at: Instant,
    },
    /// A cancel the venue could not be asked yet.
    Cancel {
        client: ClientOrderId,
        now: Timestamp,
        at: Instant,
        tries: u32,
    },
}

/// How often orders in doubt are asked about.
const DOUBT_CHECK: Duration = Duration::from_millis(500);
/// How often a remote venue's event log is read when no command comes.
const POLL: Duration = Duration::from_millis(20);

/// Everything the loop keeps between batches.
pub(super) struct Service {
    pub fleet: Weak<Fleet>,
    pub venue: Arc<dyn Venue>,
    pub rx: mpsc::Receiver<Command>,
    pub seq: u64,
    pub grace: Duration,
    later: Vec<Later>,
}

impl Service {
    /// A service over `venue` with the orders reconciliation left in doubt.
    pub fn new(
        fleet: Weak<Fleet>,
        venue: Arc<dyn Venue>,
        rx: mpsc::Receiver<Command>,
        seq: u64,
        grace: Duration,
        doubts: Vec<ClientOrderId>,
    ) -> Self {
        let now = Instant::now();
        let later = doubts
            .into_iter()
            .map(|client| Later::Doubt {
                client,
                since: now,
                check_at: now,
            })
            .collect();
        Self {
            fleet,
            venue,
            rx,
            seq,
            grace,
            later,
        }
    }

    /// The loop: the commands queued so far at a time, in order (a run of submits
    /// recorded as sent in one transaction first), then the waiting orders, then what the
    /// venue reported.
    pub fn run(mut self) {
        const BATCH: usize = 512;
        loop {
            let idle = self.later.is_empty() && self.venue.durable_events();
            let first = if idle {
                match self.rx.recv() {
                    Ok(c) => Some(c),
                    Err(_) => return,
                }
            } else {
                match self.rx.recv_timeout(POLL) {
                    Ok(c) => Some(c),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                }
            };
            let mut batch: Vec<Command> = first.into_iter().collect();
            while batch.len() < BATCH
                && let Ok(c) = self.rx.try_recv()
            {
                batch.push(c);
            }
            let stop = batch.iter().any(|c| matches!(c, Command::Stop));
            let Some(fleet) = self.fleet.upgrade() else {
                return;
            };
            let result = self.step(&fleet, batch);
            if let Err(e) = result {
                // The venue or the ledger failed: nothing is lost (the ledger holds every
                // order, the next start reconciles), but the operator must know.
                tracing::error!(error = %format!("{e:#}"), "execution service");
                // The time first: `now` takes the fleet's lock too.
                let now = fleet.now();
                let mut core = fleet.core();
                let _ = core.record_event(now, None, "execution_error", &format!("{e:#}"));
            }
            if stop {
                return;
            }
        }
    }

    fn step(&mut self, fleet: &Fleet, batch: Vec<Command>) -> Result<()> {
        let mut i = 0;
        while i < batch.len() {
            let run = batch[i..]
                .iter()
                .take_while(|c| matches!(c, Command::Submit { .. }))
                .count();
            if run > 0 {
                // Persist before sending: `submitted` is in the ledger before the venue
                // hears of the order.
                let sent: Vec<(ClientOrderId, Timestamp)> = batch[i..i + run]
                    .iter()
                    .filter_map(|c| match c {
                        Command::Submit { req, now, .. } => Some((req.client_id.clone(), *now)),
                        _ => None,
                    })
                    .collect();
                fleet.mark_submitted(&sent)?;
                for c in &batch[i..i + run] {
                    if let Command::Submit {
                        req,
                        now,
                        queued,
                        exit,
                    } = c
                    {
                        if let Some(e) = fleet.execution() {
                            let mut l = e.latency.lock().unwrap_or_else(|p| p.into_inner());
                            Latency::push(&mut l.to_venue_us, queued.elapsed());
                        }
                        self.submit(fleet, req.clone(), *now, *exit)?;
                    }
                }
                i += run;
                continue;
            }
            match &batch[i] {
                Command::Stop | Command::Submit { .. } => {}
                Command::Refuse(client, reason, now) => {
                    let ev = VenueEvent {
                        client_id: client.clone(),
                        kind: VenueEventKind::Rejected {
                            reason: format!("{LOCAL_REFUSAL}{reason}"),
                        },
                        time: *now,
                    };
                    fleet.apply_unnumbered(&[ev])?;
                }
                Command::Cancel(client, now) => self.cancel(fleet, client.clone(), *now, 0)?,
                Command::Bars(bars, now) => {
                    self.venue.on_bars(bars, *now)?;
                }
            }
            i += 1;
        }
        self.waiting(fleet)?;
        let events = self.venue.events_since(self.seq)?;
        if let Some((last, _)) = events.last() {
            self.seq = *last;
        }
        fleet.apply_venue_events(&events)?;
        let notices = self.venue.take_notices();
        if !notices.is_empty() {
            let now = fleet.now();
            let mut core = fleet.core();
            for n in notices {
                tracing::info!(venue = %self.venue.info().venue, "{n}");
                core.record_event(now, None, "venue_notice", &n)?;
            }
        }
        Ok(())
    }

    fn submit(
        &mut self,
        fleet: &Fleet,
        req: VenueOrderRequest,
        now: Timestamp,
        exit: bool,
    ) -> Result<()> {
        if !exit && !self.venue.accepting_entries() {
            let msg = format!("{}: held while the venue's circuit is open", req.client_id);
            record(fleet, "entry_held", &msg)?;
            self.later.push(Later::Held { req, now });
            return Ok(());
        }
        match self.venue.submit(&req, now) {
            // Every venue books its answer in its event log (a remote connection with the
            // venue's trade ids and fees), read after this batch: booking the answer here
            // too could only book it less exactly.
            Ok(_) => {}
            Err(VenueFailure::NotSent {
                reason,
                retry_after,
            }) => {
                let wait = retry_after.unwrap_or(Duration::from_secs(1));
                let msg = format!("{}: not sent ({reason}); again in {wait:?}", req.client_id);
                record(fleet, "submit_deferred", &msg)?;
                self.later.push(Later::Retry {
                    req,
                    now,
                    exit,
                    at: Instant::now() + wait,
                });
            }
            Err(VenueFailure::Ambiguous(why) | VenueFailure::Other(why)) => {
                let msg = format!(
                    "{}: outcome unknown ({why}); asking the venue",
                    req.client_id
                );
                record(fleet, "submit_unknown", &msg)?;
                let t = Instant::now();
                self.later.push(Later::Doubt {
                    client: req.client_id,
                    since: t,
                    check_at: t + DOUBT_CHECK,
                });
            }
        }
        Ok(())
    }

    fn cancel(
        &mut self,
        fleet: &Fleet,
        client: ClientOrderId,
        now: Timestamp,
        tries: u32,
    ) -> Result<()> {
        match self.venue.cancel(&client, now) {
            Ok(CancelOutcome::Canceled | CancelOutcome::Requested) => {}
            Ok(CancelOutcome::NotCancelable(state)) => {
                let msg = format!("{client}: not cancelable, already {state}");
                record(fleet, "cancel_refused", &msg)?;
            }
            Ok(CancelOutcome::Unknown) => {
                record(
                    fleet,
                    "cancel_refused",
                    &format!("{client}: unknown to the venue"),
                )?;
            }
            Err(e) if tries < 10 => {
                let wait = match &e {
                    VenueFailure::NotSent {
                        retry_after: Some(d),
                        ..
                    } => *d,
                    _ => Duration::from_secs(1),
                };
                self.later.push(Later::Cancel {
                    client,
                    now,
                    at: Instant::now() + wait,
                    tries: tries + 1,
                });
            }
            Err(e) => {
                record(fleet, "cancel_failed", &format!("{client}: {e}"))?;
            }
        }
        Ok(())
    }

    /// Runs the waiting orders whose time has come.
    fn waiting(&mut self, fleet: &Fleet) -> Result<()> {
        if self.later.is_empty() {
            return Ok(());
        }
        let t = Instant::now();
        let entries_ok = self.venue.accepting_entries();
        let (due, keep): (Vec<Later>, Vec<Later>) = std::mem::take(&mut self.later)
            .into_iter()
            .partition(|l| match l {
                Later::Retry { at, .. } | Later::Cancel { at, .. } => *at <= t,
                Later::Held { .. } => entries_ok,
                Later::Doubt { check_at, .. } => *check_at <= t,
            });
        self.later = keep;
        for l in due {
            match l {
                Later::Retry { req, now, exit, .. } => self.submit(fleet, req, now, exit)?,
                Later::Held { req, now } => self.submit(fleet, req, now, false)?,
                Later::Cancel {
                    client, now, tries, ..
                } => self.cancel(fleet, client, now, tries)?,
                Later::Doubt { client, since, .. } => self.resolve(fleet, client, since)?,
            }
        }
        Ok(())
    }

    /// Asks the venue about an order in doubt; resends it only once "not found" has
    /// lasted past the grace period.
    fn resolve(&mut self, fleet: &Fleet, client: ClientOrderId, since: Instant) -> Result<()> {
        let again = Later::Doubt {
            client: client.clone(),
            since,
            check_at: Instant::now() + DOUBT_CHECK,
        };
        match self.venue.order(&client) {
            Ok(Some(found)) => {
                let msg = format!("{client}: found at the venue, {}", found.state);
                record(fleet, "submit_resolved", &msg)?;
            }
            Ok(None) if since.elapsed() >= self.grace => {
                let Some((req, now, exit)) = fleet.working_request(&client) else {
                    return Ok(()); // done meanwhile
                };
                let msg = format!(
                    "{client}: not at the venue after {:?}: sent again",
                    self.grace
                );
                record(fleet, "submit_resent", &msg)?;
                self.submit(fleet, req, now, exit)?;
            }
            Ok(None) | Err(_) => self.later.push(again),
        }
        Ok(())
    }
}

fn record(fleet: &Fleet, kind: &str, msg: &str) -> Result<()> {
    tracing::warn!("{kind}: {msg}");
    let now = fleet.now();
    fleet.core().record_event(now, None, kind, msg)
}
