//! The fake Alpaca's state: the paper venue that matches and books, Alpaca's ids and
//! wire format around it, the broadcasts its streams read.

use super::FakeAlpacaConfig;
use crate::sim::{FakeClock, FakeMarket, Faults, Journal, MINUTE, RateWindow};
use flotilla_broker::venue::{VenueEvent, VenueEventKind, VenueOrder};
use flotilla_domain::{Bar, ClientOrderId, OrderState, Symbol, Timestamp};
use flotilla_venue_paper::{PaperVenue, VenueConfig};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;
use tokio::sync::broadcast;

/// What the fake knows of an order beyond the paper venue's record.
#[derive(Debug, Clone)]
pub struct Meta {
    /// Alpaca's id.
    pub id: String,
    /// When it was created (real time: the "not found for a while" fault).
    pub created: Instant,
}

/// Alpaca's ids of the orders placed, and the POSTs received per client id.
#[derive(Debug, Default)]
pub struct Orders {
    /// By client id.
    pub by_client: HashMap<String, Meta>,
    /// Client id by Alpaca's id.
    pub by_id: HashMap<String, String>,
    /// POSTs carrying each client id (refused duplicates included).
    pub received: HashMap<String, u32>,
    next: u64,
}

/// Everything the handlers and tasks share.
#[derive(Debug)]
pub struct State {
    /// The settings.
    pub config: FakeAlpacaConfig,
    /// The fake's clock.
    pub clock: FakeClock,
    /// Its market.
    pub market: FakeMarket,
    /// The matching engine and book.
    pub venue: PaperVenue,
    /// Injected faults.
    pub faults: Faults,
    /// Every request.
    pub journal: Journal,
    /// The rate limit.
    pub rate: RateWindow,
    /// Ids and counts.
    pub orders: Mutex<Orders>,
    /// `trade_updates` messages, as sent.
    pub updates: broadcast::Sender<String>,
    /// Closed one-minute bars, one batch per minute.
    pub bars: broadcast::Sender<Vec<(Symbol, Bar)>>,
    /// When the fake started (real time).
    pub started: Instant,
}

impl State {
    /// A new fake with an empty book.
    pub fn new(config: FakeAlpacaConfig) -> std::io::Result<Self> {
        // Fills are capped by a scaled bar volume (the partial-fill fault), so the
        // venue's own cap is "all of the volume given".
        let venue_config = VenueConfig {
            costs: config.costs.clone(),
            starting_cash: config.starting_cash,
            partial_fill_fraction: Some(1.0),
            cash_account: true,
            stall: None,
        };
        let venue = PaperVenue::open_in_memory(venue_config).map_err(std::io::Error::other)?;
        let market_start = Timestamp(config.clock_start.0 - config.history_minutes * MINUTE);
        let market = FakeMarket::new(config.seed, market_start, &config.symbols);
        let clock = FakeClock::new(config.clock_start, config.speed);
        let rate = RateWindow::new(config.rate_limit, config.rate_window);
        Ok(Self {
            clock,
            market,
            venue,
            faults: Faults::default(),
            journal: Journal::default(),
            rate,
            orders: Mutex::new(Orders::default()),
            updates: broadcast::channel(4096).0,
            bars: broadcast::channel(1024).0,
            started: Instant::now(),
            config,
        })
    }

    /// The ids and counts.
    pub fn orders(&self) -> std::sync::MutexGuard<'_, Orders> {
        self.orders.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `symbol` (Alpaca's spelling) is traded here; the host's symbol if so.
    pub fn symbol(&self, wire: &str) -> Option<Symbol> {
        let host = Symbol::new(wire.replacen('/', "-", 1));
        self.config
            .symbols
            .iter()
            .any(|(s, _)| *s == host)
            .then_some(host)
    }

    /// Counts a POST of `client`; the count so far.
    pub fn count_received(&self, client: &str) -> u32 {
        let mut o = self.orders();
        let n = o.received.entry(client.to_string()).or_default();
        *n += 1;
        *n
    }

    /// Gives a placed order its Alpaca id.
    pub fn register(&self, client: &str) -> Meta {
        let mut o = self.orders();
        o.next += 1;
        let id = format!(
            "{:08x}-f00d-4a1c-8000-{:012x}",
            self.config.seed as u32, o.next
        );
        let meta = Meta {
            id: id.clone(),
            created: Instant::now(),
        };
        o.by_client.insert(client.to_string(), meta.clone());
        o.by_id.insert(id, client.to_string());
        meta
    }

    /// The meta of a placed order.
    pub fn meta(&self, client: &str) -> Option<Meta> {
        self.orders().by_client.get(client).cloned()
    }

    /// The order as Alpaca's JSON.
    pub fn order_json(&self, o: &VenueOrder) -> Value {
        let id = self
            .meta(o.client_id.as_str())
            .map(|m| m.id)
            .unwrap_or_default();
        order_json(&id, o)
    }

    /// Publishes a `trade_updates` message for a venue event.
    pub fn publish(&self, ev: &VenueEvent) {
        let Ok(Some(order)) = self.venue.order(&ev.client_id) else {
            return;
        };
        let mut data = json!({
            "event": "",
            "order": self.order_json(&order),
            "timestamp": rfc3339(ev.time),
        });
        let event = match &ev.kind {
            VenueEventKind::Accepted => "new",
            VenueEventKind::Fill {
                trade_id,
                quantity,
                price,
                cumulative,
                ..
            } => {
                data["execution_id"] = json!(trade_id);
                data["price"] = json!(price.normalize().to_string());
                data["qty"] = json!(quantity.normalize().to_string());
                let held = self
                    .venue
                    .positions()
                    .ok()
                    .and_then(|p| p.get(&order.symbol).copied())
                    .unwrap_or_default();
                data["position_qty"] = json!(held.normalize().to_string());
                if *cumulative >= order.quantity {
                    "fill"
                } else {
                    "partial_fill"
                }
            }
            VenueEventKind::Canceled => "canceled",
            VenueEventKind::Rejected { .. } => "rejected",
            VenueEventKind::Expired => "expired",
        };
        data["event"] = json!(event);
        let msg = json!({"stream": "trade_updates", "data": data}).to_string();
        // No subscriber is fine: Alpaca does not replay either.
        let _ = self.updates.send(msg);
    }
}

/// Milliseconds as RFC 3339 (UTC, `Z`).
pub fn rfc3339(t: Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(t.0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Alpaca's status for a state.
fn status(s: OrderState) -> &'static str {
    match s {
        OrderState::Created | OrderState::Submitted => "pending_new",
        OrderState::Accepted => "new",
        OrderState::PartiallyFilled => "partially_filled",
        OrderState::Filled => "filled",
        OrderState::PendingCancel => "pending_cancel",
        OrderState::Canceled => "canceled",
        OrderState::Rejected => "rejected",
        OrderState::Expired => "expired",
    }
}

/// A host symbol as Alpaca spells it (`BTC-USD` is `BTC/USD`).
pub fn wire_symbol(s: &Symbol) -> String {
    s.as_str().replacen('-', "/", 1)
}

/// Whether a host symbol is a crypto pair here (the fake lists pairs with a dash).
pub fn is_crypto(s: &Symbol) -> bool {
    s.as_str().contains('-')
}

/// An order as Alpaca's JSON, every decimal a string.
pub fn order_json(id: &str, o: &VenueOrder) -> Value {
    let dec = |d: rust_decimal::Decimal| d.normalize().to_string();
    let filled = !o.filled_quantity.is_zero();
    let at = |state: OrderState| (o.state == state).then(|| rfc3339(o.updated_at));
    json!({
        "id": id,
        "client_order_id": o.client_id.as_str(),
        "created_at": rfc3339(o.created_at),
        "updated_at": rfc3339(o.updated_at),
        "submitted_at": rfc3339(o.created_at),
        "filled_at": at(OrderState::Filled),
        "expired_at": at(OrderState::Expired),
        "canceled_at": at(OrderState::Canceled),
        "failed_at": at(OrderState::Rejected),
        "asset_id": format!("asset-{}", o.symbol.as_str().to_lowercase()),
        "symbol": wire_symbol(&o.symbol),
        "asset_class": if is_crypto(&o.symbol) { "crypto" } else { "us_equity" },
        "notional": null,
        "qty": dec(o.quantity),
        "filled_qty": dec(o.filled_quantity),
        "filled_avg_price": filled.then(|| dec(o.avg_price)),
        "order_class": "",
        "order_type": o.order_type.as_str(),
        "type": o.order_type.as_str(),
        "side": o.side.as_str(),
        "time_in_force": o.time_in_force.as_str(),
        "limit_price": o.limit_price.map(dec),
        "stop_price": null,
        "status": status(o.state),
        "extended_hours": false,
    })
}

/// Parses a client id as the fake keys orders.
pub fn client_id(s: &str) -> Option<ClientOrderId> {
    ClientOrderId::parse(s).ok()
}
