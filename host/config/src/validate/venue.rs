//! The venue and live-market settings of `[fleet.broker]` and `[fleet.market]`.

use super::{Checker, Place, ProblemKind};
use crate::registry::{BrokerKind, VenueMode};
use rust_decimal::Decimal;

impl Checker<'_> {
    /// Checks the broker's venue settings and the market's live-feed settings, each
    /// problem with its place; returns the feed timeframe and staleness when valid.
    pub(super) fn venue_settings(
        &mut self,
        at: &Place,
    ) -> (Option<flotilla_domain::Timeframe>, Option<Decimal>) {
        let f = &self.reg.fleet;
        let b = &f.broker;
        self.range(
            at,
            "broker.request_timeout_ms",
            b.request_timeout_ms,
            (100, 120_000),
        );
        if let Some(ms) = b.resend_grace_ms {
            self.range(at, "broker.resend_grace_ms", ms, (0, 600_000));
        }
        if let Some(n) = b.rate_limit_per_minute {
            self.range(
                at,
                "broker.rate_limit_per_minute",
                u64::from(n),
                (1, 100_000),
            );
        }
        if let Some(url) = &b.url {
            if let Err(why) = loopback_url(url) {
                self.problem(at, "broker.url", ProblemKind::Invalid(why));
            }
            if b.kind == BrokerKind::Paper {
                let why = "the paper broker has no URL (it is the local paper venue)".into();
                self.problem(at, "broker.url", ProblemKind::Invalid(why));
            }
        }
        if b.mode == VenueMode::Live && b.kind == BrokerKind::Paper {
            let why = "mode = \"live\" needs a real venue: kind = \"alpaca\" or \"binance\"".into();
            self.problem(at, "broker.mode", ProblemKind::Invalid(why));
        }
        let m = &f.market;
        let feed_timeframe = match m.feed_timeframe.parse::<flotilla_domain::Timeframe>() {
            Ok(tf) => Some(tf),
            Err(e) => {
                self.problem(
                    at,
                    "market.feed_timeframe",
                    ProblemKind::Invalid(e.to_string()),
                );
                None
            }
        };
        let stale_after = self.decimal(
            "market.stale_after_bars",
            &m.stale_after_bars,
            |v| v >= Decimal::ONE && v <= Decimal::from(100),
            "1..=100",
        );
        self.range(
            at,
            "market.warm_up_bars",
            u64::from(m.warm_up_bars),
            (0, 10_000),
        );
        self.range(at, "market.bar_wait_ms", m.bar_wait_ms, (0, 60_000));
        (feed_timeframe, stale_after)
    }
}

/// `Ok` when `url` is an `http(s)://` URL on a loopback host (127.0.0.1, ::1, localhost):
/// a registry may point a venue only at a local fake, never at another real host.
pub(super) fn loopback_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("{url:?} is not an http:// or https:// URL"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    match host {
        "127.0.0.1" | "localhost" | "::1" => Ok(()),
        _ => Err(format!(
            "{url:?}: only a loopback address (127.0.0.1, localhost, ::1) may be set here, for a rehearsal against a fake venue; the real venues' URLs are built in"
        )),
    }
}
