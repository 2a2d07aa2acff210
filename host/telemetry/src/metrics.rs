//! The fleet's Prometheus metrics (`prometheus-client`), updated where things happen so a
//! scrape reads counters instead of querying the ledger.
//!
//! Conventions: every name starts with `flotilla_`, base units (seconds), counters end in
//! `_total`, timestamps rather than ages. Labels are at most a bot and a value from a fixed
//! list (outcome, verdict, reason, state); order ids never appear in labels.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// The content type of what [`FleetMetrics::encode`] writes.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `bot`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BotLabel {
    /// The bot's id.
    pub bot: String,
}

/// `bot` and `outcome`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// The bot's id.
    pub bot: String,
    /// `ok`, `error`, `timeout`, `skipped`, ...
    pub outcome: String,
}

/// `bot` and `verdict`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerdictLabels {
    /// The bot's id.
    pub bot: String,
    /// `approved`, `resized` or `refused`.
    pub verdict: String,
}

/// `bot` and `reason`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// The bot's id.
    pub bot: String,
    /// A refusal reason from the risk engine's fixed list.
    pub reason: String,
}

/// `bot` and `state`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    /// The bot's id.
    pub bot: String,
    /// An order state (created, submitted, accepted, partially_filled, filled, ...).
    pub state: String,
}

/// `result`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    /// `ok` or `error` (reloads); `delivered` or `failed` (alerts).
    pub result: String,
}

/// `channel` and `result`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabels {
    /// `telegram`, `discord` or `webhook`.
    pub channel: String,
    /// `delivered`, `retried` or `failed`.
    pub result: String,
}

/// `venue`, `endpoint` and `status` class.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VenueLabels {
    /// `alpaca`, `binance`, `paper`.
    pub venue: String,
    /// The endpoint's fixed name (`orders`, `account`, ...), never a path with ids.
    pub endpoint: String,
    /// `2xx`, `4xx`, `429`, `5xx` or `error` (no answer).
    pub status: String,
}

/// `venue`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VenueLabel {
    /// The venue.
    pub venue: String,
}

type Hist = Family<BotLabel, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    // 100 µs to ~100 s.
    Histogram::new(exponential_buckets(0.0001, 4.0, 11))
}

/// Running totals over the fleet since the host started, for the live summary (plain
/// atomics: reading them walks no metric family).
#[derive(Debug, Default)]
pub struct Totals {
    /// Bot ticks.
    pub ticks: AtomicU64,
    /// Ticks that failed (error, timeout, trap).
    pub failed: AtomicU64,
    /// Fills booked.
    pub fills: AtomicU64,
    /// Fills of host exits and other reducing orders the host sent.
    pub exit_fills: AtomicU64,
    /// Intents refused.
    pub refused: AtomicU64,
}

/// One bot's per-tick series, looked up once: a tick then costs no label allocation.
struct BotSeries {
    ok: Counter,
    duration: Histogram,
    lateness: Histogram,
    last_tick: Gauge<f64, AtomicU64>,
}

/// Every metric the fleet exports, and the registry that encodes them.
pub struct FleetMetrics {
    registry: Registry,
    bots: RwLock<HashMap<String, Arc<BotSeries>>>,
    /// Totals for the live summary.
    pub totals: Totals,
    /// `flotilla_ticks_total{bot,outcome}`.
    pub ticks: Family<OutcomeLabels, Counter>,
    /// `flotilla_tick_duration_seconds{bot}`.
    pub tick_duration: Hist,
    /// `flotilla_tick_lateness_seconds{bot}`.
    pub tick_lateness: Hist,
    /// `flotilla_intents_total{bot,verdict}`.
    pub intents: Family<VerdictLabels, Counter>,
    /// `flotilla_refusals_total{bot,reason}`.
    pub refusals: Family<ReasonLabels, Counter>,
    /// `flotilla_orders_total{bot,state}`: orders entering each state.
    pub orders: Family<StateLabels, Counter>,
    /// `flotilla_fills_total{bot}`.
    pub fills: Family<BotLabel, Counter>,
    /// `flotilla_fleet_equity`.
    pub equity: Gauge<f64, AtomicU64>,
    /// `flotilla_fleet_cash`.
    pub cash: Gauge<f64, AtomicU64>,
    /// `flotilla_fleet_exposure`: gross exposure at the last marks.
    pub exposure: Gauge<f64, AtomicU64>,
    /// `flotilla_trading_state`: 0 active, 1 reducing, 2 halted.
    pub trading_state: Gauge,
    /// `flotilla_bot_last_tick_timestamp_seconds{bot}`.
    pub last_tick: Family<BotLabel, Gauge<f64, AtomicU64>>,
    /// `flotilla_reloads_total{result}`.
    pub reloads: Family<ResultLabel, Counter>,
    /// `flotilla_bot_quarantined{bot}`: 1 while quarantined.
    pub quarantined: Family<BotLabel, Gauge>,
    /// `flotilla_bot_paused{bot}`: 1 while paused by hand.
    pub paused: Family<BotLabel, Gauge>,
    /// `flotilla_venue_requests_total{venue,endpoint,status}`.
    pub venue_requests: Family<VenueLabels, Counter>,
    /// `flotilla_venue_rate_limit_headroom{venue}`: requests left in the venue's window.
    pub rate_headroom: Family<VenueLabel, Gauge<f64, AtomicU64>>,
    /// `flotilla_feed_stale`: 1 while the live feed is stale.
    pub feed_stale: Gauge,
    /// `flotilla_feed_last_bar_timestamp_seconds`: the newest bar's close time.
    pub feed_last_bar: Gauge<f64, AtomicU64>,
    /// `flotilla_alerts_total{channel,result}`.
    pub alerts: Family<ChannelLabels, Counter>,
}

impl Default for FleetMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for FleetMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FleetMetrics")
    }
}

impl FleetMetrics {
    /// Every metric registered, at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("flotilla");
        let ticks = Family::<OutcomeLabels, Counter>::default();
        registry.register("ticks", "Bot ticks by outcome", ticks.clone());
        let tick_duration: Hist = Family::new_with_constructor(duration_histogram);
        registry.register(
            "tick_duration_seconds",
            "Wall time of a bot's tick",
            tick_duration.clone(),
        );
        let tick_lateness: Hist = Family::new_with_constructor(duration_histogram);
        registry.register(
            "tick_lateness_seconds",
            "How late a tick started against its schedule (fleet time)",
            tick_lateness.clone(),
        );
        let intents = Family::<VerdictLabels, Counter>::default();
        registry.register("intents", "Intents by risk verdict", intents.clone());
        let refusals = Family::<ReasonLabels, Counter>::default();
        registry.register("refusals", "Refused intents by reason", refusals.clone());
        let orders = Family::<StateLabels, Counter>::default();
        registry.register("orders", "Orders entering each state", orders.clone());
        let fills = Family::<BotLabel, Counter>::default();
        registry.register("fills", "Fills booked", fills.clone());
        let equity = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "fleet_equity",
            "Fleet equity at the last marks",
            equity.clone(),
        );
        let cash = Gauge::<f64, AtomicU64>::default();
        registry.register("fleet_cash", "Fleet cash", cash.clone());
        let exposure = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "fleet_exposure",
            "Gross exposure at the last marks",
            exposure.clone(),
        );
        let trading_state = Gauge::default();
        registry.register(
            "trading_state",
            "Trading state: 0 active, 1 reducing, 2 halted",
            trading_state.clone(),
        );
        let last_tick = Family::<BotLabel, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "bot_last_tick_timestamp_seconds",
            "When each bot last ticked (fleet time, Unix seconds)",
            last_tick.clone(),
        );
        let reloads = Family::<ResultLabel, Counter>::default();
        registry.register("reloads", "Reloads by result", reloads.clone());
        let quarantined = Family::<BotLabel, Gauge>::default();
        registry.register(
            "bot_quarantined",
            "1 while the bot is quarantined",
            quarantined.clone(),
        );
        let paused = Family::<BotLabel, Gauge>::default();
        registry.register("bot_paused", "1 while the bot is paused", paused.clone());
        let venue_requests = Family::<VenueLabels, Counter>::default();
        registry.register(
            "venue_requests",
            "Venue requests by endpoint and status class",
            venue_requests.clone(),
        );
        let rate_headroom = Family::<VenueLabel, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "venue_rate_limit_headroom",
            "Requests left in the venue's rate-limit window",
            rate_headroom.clone(),
        );
        let feed_stale = Gauge::default();
        registry.register(
            "feed_stale",
            "1 while the live feed is stale",
            feed_stale.clone(),
        );
        let feed_last_bar = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "feed_last_bar_timestamp_seconds",
            "Close time of the newest bar received",
            feed_last_bar.clone(),
        );
        let alerts = Family::<ChannelLabels, Counter>::default();
        registry.register(
            "alerts",
            "Alert deliveries by channel and result",
            alerts.clone(),
        );
        Self {
            registry,
            bots: RwLock::new(HashMap::new()),
            totals: Totals::default(),
            ticks,
            tick_duration,
            tick_lateness,
            intents,
            refusals,
            orders,
            fills,
            equity,
            cash,
            exposure,
            trading_state,
            last_tick,
            reloads,
            quarantined,
            paused,
            venue_requests,
            rate_headroom,
            feed_stale,
            feed_last_bar,
            alerts,
        }
    }

    fn series(&self, bot: &str) -> Arc<BotSeries> {
        if let Some(s) = self.bots.read().unwrap_or_else(|p| p.into_inner()).get(bot) {
            return s.clone();
        }
        let b = BotLabel { bot: bot.into() };
        let s = Arc::new(BotSeries {
            ok: self
                .ticks
                .get_or_create(&OutcomeLabels {
                    bot: bot.into(),
                    outcome: "ok".into(),
                })
                .clone(),
            duration: self.tick_duration.get_or_create(&b).clone(),
            lateness: self.tick_lateness.get_or_create(&b).clone(),
            last_tick: self.last_tick.get_or_create(&b).clone(),
        });
        self.bots
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(bot.to_string(), s.clone());
        s
    }

    /// One tick of `bot`.
    pub fn tick(&self, bot: &str, outcome: &str, duration_s: f64, lateness_s: f64, at_s: f64) {
        let s = self.series(bot);
        if outcome == "ok" {
            s.ok.inc();
        } else {
            self.ticks
                .get_or_create(&OutcomeLabels {
                    bot: bot.into(),
                    outcome: outcome.into(),
                })
                .inc();
        }
        s.duration.observe(duration_s);
        s.lateness.observe(lateness_s.max(0.0));
        s.last_tick.set(at_s);
        self.totals.ticks.fetch_add(1, Ordering::Relaxed);
        if !matches!(outcome, "ok" | "skipped") {
            self.totals.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One risk verdict on an intent of `bot`; `reason` counts refusals.
    pub fn verdict(&self, bot: &str, verdict: &str, reason: Option<&str>) {
        self.intents
            .get_or_create(&VerdictLabels {
                bot: bot.into(),
                verdict: verdict.into(),
            })
            .inc();
        if verdict == "refused" {
            self.totals.refused.fetch_add(1, Ordering::Relaxed);
            self.refusals
                .get_or_create(&ReasonLabels {
                    bot: bot.into(),
                    reason: reason.unwrap_or("unknown").into(),
                })
                .inc();
        }
    }

    /// An order of `bot` entered `state`.
    pub fn order(&self, bot: &str, state: &str) {
        self.orders
            .get_or_create(&StateLabels {
                bot: bot.into(),
                state: state.into(),
            })
            .inc();
    }

    /// A fill of `bot` booked (`exit`: of an order the host sent to reduce a position).
    pub fn fill(&self, bot: &str, exit: bool) {
        self.fills
            .get_or_create(&BotLabel { bot: bot.into() })
            .inc();
        self.totals.fills.fetch_add(1, Ordering::Relaxed);
        if exit {
            self.totals.exit_fills.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One venue request's outcome, by HTTP status (`None`: no answer).
    pub fn venue_request(&self, venue: &str, endpoint: &str, status: Option<u16>) {
        let status = match status {
            None => "error",
            Some(429) => "429",
            Some(s) if s < 300 => "2xx",
            Some(s) if s < 400 => "3xx",
            Some(s) if s < 500 => "4xx",
            Some(_) => "5xx",
        };
        self.venue_requests
            .get_or_create(&VenueLabels {
                venue: venue.into(),
                endpoint: endpoint.into(),
                status: status.into(),
            })
            .inc();
    }

    /// The metrics in the Prometheus text format (0.0.4).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_show_in_the_text_format() {
        let m = FleetMetrics::new();
        m.tick("sma", "ok", 0.002, 0.0, 1_700_000_000.0);
        m.tick("sma", "ok", 0.004, 1.5, 1_700_000_060.0);
        m.verdict("sma", "refused", Some("max_open_positions"));
        m.verdict("sma", "approved", None);
        m.venue_request("alpaca", "orders", Some(429));
        let text = m.encode();
        assert!(
            text.contains("flotilla_ticks_total{bot=\"sma\",outcome=\"ok\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("flotilla_tick_duration_seconds_count{bot=\"sma\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("flotilla_refusals_total{bot=\"sma\",reason=\"max_open_positions\"} 1")
        );
        assert!(text.contains("flotilla_intents_total{bot=\"sma\",verdict=\"approved\"} 1"));
        assert!(text.contains("flotilla_bot_last_tick_timestamp_seconds{bot=\"sma\"} 1700000060"));
        assert!(text.contains("status=\"429\""));
        assert!(
            !text.contains("# EOF"),
            "plain Prometheus text, not OpenMetrics"
        );
    }
}
