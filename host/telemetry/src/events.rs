//! The fleet's event stream: every event gets the next number, goes to every subscriber,
//! and the newest few thousand are kept so a reader that reconnects resumes from the
//! number it last saw (SSE's `Last-Event-ID`).

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Mutex;
use tokio::sync::broadcast;

/// Events kept for readers that resume (and buffered per live subscriber).
pub const DEFAULT_KEEP: usize = 4096;

/// One thing that happened in the fleet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FleetEvent {
    /// Its number: strictly increasing within one run of the host.
    pub id: u64,
    /// When it happened, in the fleet's time (Unix milliseconds).
    pub time_ms: i64,
    /// The bot it concerns (`None`: the fleet).
    pub bot: Option<String>,
    /// What happened.
    #[serde(flatten)]
    pub data: EventData,
}

impl FleetEvent {
    /// The event's kind as a short name (`fill`, `verdict`, ...), the SSE `event:` field.
    pub fn kind(&self) -> &'static str {
        self.data.kind()
    }
}

/// What happened, with its facts. Amounts are decimal strings, as in the ledger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventData {
    /// A fill booked.
    Fill {
        /// The host's order id.
        order_id: u64,
        /// Symbol.
        symbol: String,
        /// `buy` or `sell`.
        side: String,
        /// Quantity filled (decimal).
        quantity: String,
        /// Price (decimal).
        price: String,
        /// Fee (decimal).
        fee: String,
        /// Whether the order closed or reduced a position through a host exit or a reducing intent.
        exit: bool,
        /// Why the order was sent when the host sent it (stop, target, trail, scale_out, flatten).
        reason: Option<String>,
    },
    /// A risk verdict on one intent.
    Verdict {
        /// Symbol.
        symbol: String,
        /// `approved`, `resized` or `refused`.
        verdict: String,
        /// The typed reason, for resized and refused.
        reason: Option<String>,
        /// The numbers behind it.
        detail: Option<String>,
    },
    /// An order changed state.
    Order {
        /// The host's order id.
        order_id: u64,
        /// Symbol.
        symbol: String,
        /// The new state (created, submitted, accepted, ...).
        state: String,
        /// Why, when the venue or the host said.
        reason: Option<String>,
    },
    /// The fleet's trading state changed.
    TradingState {
        /// State before.
        from: String,
        /// State after.
        to: String,
        /// Why, including who asked.
        reason: String,
    },
    /// A bot was paused or resumed by hand.
    BotState {
        /// Whether it is paused now.
        paused: bool,
        /// Who did it.
        by: String,
    },
    /// A reload of the registry or of a component.
    Reload {
        /// Whether it applied.
        ok: bool,
        /// What changed, or what failed.
        detail: String,
    },
    /// A bot entered or left quarantine.
    Quarantine {
        /// Whether it is quarantined now.
        quarantined: bool,
        /// Why.
        reason: String,
    },
    /// An alert was delivered, or gave up.
    Alert {
        /// Channel (`telegram`, `discord`, `webhook`).
        channel: String,
        /// Delivered (true) or given up (false).
        delivered: bool,
        /// What it said, or why it failed.
        detail: String,
    },
    /// Any other audited event of the ledger (feed health, reconciliation, notices).
    Notice {
        /// The ledger's event kind (`feed_stale`, `reconcile_difference`, ...).
        what: String,
        /// Its message.
        message: String,
    },
}

impl EventData {
    /// The short name of this kind.
    pub fn kind(&self) -> &'static str {
        match self {
            EventData::Fill { .. } => "fill",
            EventData::Verdict { .. } => "verdict",
            EventData::Order { .. } => "order",
            EventData::TradingState { .. } => "trading_state",
            EventData::BotState { .. } => "bot_state",
            EventData::Reload { .. } => "reload",
            EventData::Quarantine { .. } => "quarantine",
            EventData::Alert { .. } => "alert",
            EventData::Notice { .. } => "notice",
        }
    }
}

/// What a reader that resumes gets.
#[derive(Debug)]
pub enum Resume {
    /// Every event after the one asked for, oldest first.
    From(Vec<Arc<FleetEvent>>),
    /// Some events after the one asked for are no longer kept: here is what is, with the
    /// number of the oldest kept (the reader should reload its view).
    Gap(Vec<Arc<FleetEvent>>),
}

/// The fleet's event stream. Cheap to publish to: one lock and one broadcast per event.
pub struct EventHub {
    tx: broadcast::Sender<Arc<FleetEvent>>,
    state: Mutex<HubState>,
    keep: usize,
}

struct HubState {
    next: u64,
    kept: VecDeque<Arc<FleetEvent>>,
}

impl Default for EventHub {
    fn default() -> Self {
        Self::new(DEFAULT_KEEP)
    }
}

impl std::fmt::Debug for EventHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventHub")
            .field("keep", &self.keep)
            .finish()
    }
}

impl EventHub {
    /// A hub keeping the newest `keep` events for readers that resume.
    pub fn new(keep: usize) -> Self {
        let (tx, _) = broadcast::channel(keep.max(16));
        Self {
            tx,
            state: Mutex::new(HubState {
                next: 1,
                kept: VecDeque::with_capacity(keep.min(1 << 16)),
            }),
            keep: keep.max(1),
        }
    }

    /// Publishes one event and returns its number. Never blocks on readers: a reader that
    /// falls behind loses events (and sees a lag it can resume from).
    pub fn publish(&self, time_ms: i64, bot: Option<&str>, data: EventData) -> u64 {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let id = st.next;
        st.next += 1;
        let ev = Arc::new(FleetEvent {
            id,
            time_ms,
            bot: bot.map(str::to_string),
            data,
        });
        if st.kept.len() == self.keep {
            st.kept.pop_front();
        }
        st.kept.push_back(ev.clone());
        // Sent under the lock so subscribers see numbers in order.
        let _ = self.tx.send(ev);
        id
    }

    /// A live subscription to every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<FleetEvent>> {
        self.tx.subscribe()
    }

    /// A live subscription and, atomically with it, the kept events after `after`: no
    /// event is missed between the two and none is in both.
    pub fn resume(&self, after: u64) -> (Resume, broadcast::Receiver<Arc<FleetEvent>>) {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let rx = self.tx.subscribe();
        let kept: Vec<Arc<FleetEvent>> = st.kept.iter().filter(|e| e.id > after).cloned().collect();
        let oldest = st.kept.front().map(|e| e.id).unwrap_or(st.next);
        let resume = if after + 1 < oldest && after + 1 < st.next {
            Resume::Gap(kept)
        } else {
            Resume::From(kept)
        };
        (resume, rx)
    }

    /// The newest `n` kept events, oldest first.
    pub fn recent(&self, n: usize) -> Vec<Arc<FleetEvent>> {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let skip = st.kept.len().saturating_sub(n);
        st.kept.iter().skip(skip).cloned().collect()
    }

    /// The number the next event will get.
    pub fn next_id(&self) -> u64 {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(hub: &EventHub, i: u64) -> u64 {
        hub.publish(
            i as i64,
            None,
            EventData::Notice {
                what: "n".into(),
                message: i.to_string(),
            },
        )
    }

    #[test]
    fn numbers_increase_and_resume_gives_what_came_after() {
        let hub = EventHub::new(10);
        for i in 0..5 {
            assert_eq!(notice(&hub, i), i + 1);
        }
        let (Resume::From(after), _) = hub.resume(3) else {
            panic!("nothing was dropped")
        };
        assert_eq!(after.iter().map(|e| e.id).collect::<Vec<_>>(), vec![4, 5]);
    }

    #[test]
    fn a_reader_too_far_behind_is_told_of_the_gap() {
        let hub = EventHub::new(3);
        for i in 0..10 {
            notice(&hub, i);
        }
        match hub.resume(2) {
            (Resume::Gap(kept), _) => {
                assert_eq!(
                    kept.iter().map(|e| e.id).collect::<Vec<_>>(),
                    vec![8, 9, 10]
                )
            }
            (r, _) => panic!("expected a gap, got {r:?}"),
        }
        assert!(matches!(hub.resume(7).0, Resume::From(v) if v.len() == 3));
        assert!(matches!(hub.resume(10).0, Resume::From(v) if v.is_empty()));
    }

    #[test]
    fn resume_then_live_misses_nothing_and_repeats_nothing() {
        let hub = EventHub::new(100);
        notice(&hub, 0);
        let (Resume::From(kept), mut rx) = hub.resume(0) else {
            panic!()
        };
        notice(&hub, 1);
        assert_eq!(kept.len(), 1);
        assert_eq!(rx.try_recv().unwrap().id, 2);
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn events_serialize_flat_with_their_kind() {
        let hub = EventHub::new(4);
        hub.publish(
            5,
            Some("sma"),
            EventData::BotState {
                paused: true,
                by: "token:ops".into(),
            },
        );
        let v = serde_json::to_value(&*hub.recent(1)[0]).unwrap();
        assert_eq!(v["kind"], "bot_state");
        assert_eq!(v["bot"], "sma");
        assert_eq!(v["paused"], true);
    }
}
