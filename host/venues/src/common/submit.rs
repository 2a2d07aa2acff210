//! Never send an order twice: the one submit policy every connector follows.
//!
//! 1. The host has persisted the order with its client id before it gets here.
//! 2. A definite answer (placed, or a 4xx refusal) is final.
//! 3. 429 / 418 / an open breaker: not placed; the caller may send it later.
//! 4. Anything ambiguous (timeout, connection reset, 5xx, Binance -1007): ask for the
//!    order by client id, with backoff. Found: that is the answer.
//! 5. "Not found" is trusted only once the grace period has passed since the send,
//!    because reads lag writes on both venues. Only then is it sent again, and at most
//!    `max_sends` times in all; past that the answer stays ambiguous and the host keeps
//!    asking.

use flotilla_broker::venue::{VenueFailure, VenueOrder};
use std::future::Future;
use std::time::{Duration, Instant};

/// How one send attempt ended, as the connector read the venue's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// The venue has the order (accepted, or already filled).
    Placed(VenueOrder),
    /// The venue refused it for good (the record is in state rejected, with the reason).
    Rejected(VenueOrder),
    /// Definitely not placed (rate limited, breaker open, refused before sending).
    NotSent {
        /// Why.
        reason: String,
        /// When to try again, if the venue said.
        retry_after: Option<Duration>,
    },
    /// It may have been placed.
    Ambiguous(String),
}

/// The timings of the policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubmitPolicy {
    /// The first wait before asking for the order (doubles up to `max_backoff`).
    pub first_backoff: Duration,
    /// The longest wait between queries.
    pub max_backoff: Duration,
    /// How long after a send "not found" is still doubted.
    pub grace: Duration,
    /// How long to keep asking when queries themselves fail, before answering ambiguous.
    pub give_up: Duration,
    /// Sends at most, the first included.
    pub max_sends: u32,
}

impl Default for SubmitPolicy {
    fn default() -> Self {
        Self {
            first_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(2),
            grace: Duration::from_secs(5),
            give_up: Duration::from_secs(20),
            max_sends: 2,
        }
    }
}

/// Runs the policy: `send(n)` makes the `n`-th send (1-based), `query()` asks the venue
/// for the order by its client id.
pub async fn submit_once<S, SF, Q, QF>(
    policy: &SubmitPolicy,
    mut send: S,
    mut query: Q,
) -> Result<VenueOrder, VenueFailure>
where
    S: FnMut(u32) -> SF,
    SF: Future<Output = Attempt>,
    Q: FnMut() -> QF,
    QF: Future<Output = Result<Option<VenueOrder>, VenueFailure>>,
{
    let mut sends = 0;
    loop {
        sends += 1;
        let sent_at = Instant::now();
        let why = match send(sends).await {
            Attempt::Placed(o) | Attempt::Rejected(o) => return Ok(o),
            Attempt::NotSent {
                reason,
                retry_after,
            } => {
                return Err(VenueFailure::NotSent {
                    reason,
                    retry_after,
                });
            }
            Attempt::Ambiguous(why) => why,
        };
        tracing::warn!(reason = %why, attempt = sends, "ambiguous submit: asking the venue by client id");
        let mut delay = policy.first_backoff;
        loop {
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(policy.max_backoff);
            match query().await {
                Ok(Some(o)) => return Ok(o),
                Ok(None) if sent_at.elapsed() >= policy.grace => break,
                Ok(None) => {}
                Err(e) if sent_at.elapsed() >= policy.give_up => {
                    return Err(VenueFailure::Ambiguous(format!("{why}; then {e}")));
                }
                Err(_) => {}
            }
        }
        if sends >= policy.max_sends {
            return Err(VenueFailure::Ambiguous(format!(
                "{why}; not found after {sends} sends"
            )));
        }
        tracing::warn!(
            attempt = sends,
            "not found past the grace period: sending again"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_broker::venue::VenueOrderRequest;
    use flotilla_domain::{ClientOrderId, OrderState, Side, Symbol, Timestamp};
    use rust_decimal_macros::dec;
    use std::sync::Mutex;

    fn order() -> VenueOrder {
        let req = VenueOrderRequest::market(
            ClientOrderId::parse("fl-abcd-1").unwrap(),
            Symbol::new("AAPL"),
            Side::Buy,
            dec!(1),
        );
        VenueOrder::new(&req, OrderState::Accepted, Timestamp(0))
    }

    fn quick() -> SubmitPolicy {
        SubmitPolicy {
            first_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(10),
            grace: Duration::from_millis(60),
            give_up: Duration::from_millis(200),
            max_sends: 2,
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_lost_response_is_found_by_query_and_not_sent_again() {
        let sends = Mutex::new(0);
        let queries = Mutex::new(0);
        let got = submit_once(
            &quick(),
            |_| {
                *sends.lock().unwrap() += 1;
                async { Attempt::Ambiguous("timeout".into()) }
            },
            || {
                let mut q = queries.lock().unwrap();
                *q += 1;
                // Reads lag writes: "not found" twice, then there.
                let found = *q > 2;
                async move { Ok(found.then(order)) }
            },
        )
        .await
        .unwrap();
        assert_eq!(got.client_id.as_str(), "fl-abcd-1");
        assert_eq!(*sends.lock().unwrap(), 1);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn not_found_is_trusted_only_after_the_grace_period() {
        let sends = Mutex::new(Vec::new());
        let t = Instant::now();
        let r = submit_once(
            &quick(),
            |n| {
                sends.lock().unwrap().push((n, t.elapsed()));
                async move {
                    if n == 1 {
                        Attempt::Ambiguous("502".into())
                    } else {
                        Attempt::Placed(order())
                    }
                }
            },
            || async { Ok(None) },
        )
        .await;
        assert!(r.is_ok());
        let sends = sends.lock().unwrap();
        assert_eq!(sends.len(), 2);
        assert!(sends[1].1 >= Duration::from_millis(60), "{:?}", sends[1].1);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn rate_limits_are_not_sent_and_sends_are_capped() {
        let r = submit_once(
            &quick(),
            |_| async {
                Attempt::NotSent {
                    reason: "429".into(),
                    retry_after: Some(Duration::from_secs(1)),
                }
            },
            || async { Ok(None) },
        )
        .await;
        assert!(matches!(r, Err(VenueFailure::NotSent { .. })));
        let sends = Mutex::new(0);
        let r = submit_once(
            &quick(),
            |_| {
                *sends.lock().unwrap() += 1;
                async { Attempt::Ambiguous("timeout".into()) }
            },
            || async { Ok(None) },
        )
        .await;
        assert!(matches!(r, Err(VenueFailure::Ambiguous(_))));
        assert_eq!(*sends.lock().unwrap(), 2);
    }
}
