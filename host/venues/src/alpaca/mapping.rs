//! Alpaca's wire format and the domain: orders, states, symbols, bars, exact decimals.
//!
//! Alpaca sends every decimal of the trading API as a JSON string; each is parsed exactly
//! with [`Decimal::from_str_exact`] (an unparsable one is an error, never a rounded value).
//! Bars of the data API carry plain JSON numbers, which the domain's `f64` bars take as is.

use flotilla_broker::venue::{VenueOrder, VenueOrderRequest};
use flotilla_domain::{
    Bar, ClientOrderId, Money, OrderState, OrderType, Price, Quantity, Side, Symbol, TimeInForce,
    Timeframe, Timestamp,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Quote currencies of Alpaca's crypto pairs: `BTC/USD`, `ETH/USDT`, `ETH/BTC`.
const CRYPTO_QUOTES: [&str; 4] = ["USD", "USDT", "USDC", "BTC"];

/// An order as Alpaca sends it (`POST /v2/orders`, the queries, `trade_updates`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct WireOrder {
    /// Alpaca's id (the one `DELETE /v2/orders/{id}` takes).
    pub id: String,
    /// Ours.
    pub client_order_id: String,
    /// `AAPL`, `BTC/USD`.
    pub symbol: String,
    /// Units ordered (absent for notional orders, which we never send).
    pub qty: Option<String>,
    /// Units filled so far.
    pub filled_qty: Option<String>,
    /// Average fill price, `null` before the first fill.
    pub filled_avg_price: Option<String>,
    /// `buy` | `sell`.
    pub side: String,
    /// `market` | `limit` | …
    #[serde(rename = "type")]
    pub order_type: String,
    /// `day` | `gtc` | `ioc` | `fok` | …
    pub time_in_force: String,
    /// The limit price of a limit order.
    pub limit_price: Option<String>,
    /// Alpaca's order status.
    pub status: String,
    /// RFC 3339.
    pub created_at: Option<String>,
    /// RFC 3339.
    pub updated_at: Option<String>,
    /// RFC 3339.
    pub submitted_at: Option<String>,
}

/// The body of `POST /v2/orders`: decimals as strings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OrderBody {
    /// Alpaca's symbol.
    pub symbol: String,
    /// Units.
    pub qty: String,
    /// `buy` | `sell`.
    pub side: String,
    /// `market` | `limit`.
    #[serde(rename = "type")]
    pub order_type: String,
    /// `day` | `gtc` | `ioc` | `fok`.
    pub time_in_force: String,
    /// Limit orders only.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub limit_price: Option<String>,
    /// Ours, unique for ever at Alpaca.
    pub client_order_id: String,
}

/// Alpaca's error body.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct WireError {
    /// Alpaca's code (40310000 insufficient buying power, 42210000 invalid, …).
    #[serde(default)]
    pub code: Option<i64>,
    /// The venue's words.
    #[serde(default)]
    pub message: String,
}

/// `GET /v2/account`, the fields used.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct WireAccount {
    /// Alpaca's account id.
    #[serde(default)]
    pub id: String,
    /// The account number shown to the user.
    #[serde(default)]
    pub account_number: String,
    /// `ACTIVE`, …
    #[serde(default)]
    pub status: String,
    /// Cash, a decimal string.
    pub cash: String,
    /// Whether trading is blocked.
    #[serde(default)]
    pub trading_blocked: bool,
}

/// `GET /v2/positions`, one row.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct WirePosition {
    /// `AAPL`, or `BTCUSD` for crypto (no slash in positions).
    pub symbol: String,
    /// Units, a decimal string (negative for a short at Alpaca).
    pub qty: String,
    /// `long` | `short`.
    #[serde(default)]
    pub side: String,
    /// `us_equity` | `crypto`.
    #[serde(default)]
    pub asset_class: String,
}

/// `GET /v2/clock`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct WireClock {
    /// The venue's time now, RFC 3339.
    pub timestamp: String,
    /// Whether the market is open.
    pub is_open: bool,
    /// RFC 3339.
    pub next_open: String,
    /// RFC 3339.
    pub next_close: String,
}

/// One bar of the data API (REST `t` is RFC 3339; numbers are JSON numbers).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct WireBar {
    /// Open time, RFC 3339.
    pub t: String,
    /// Open.
    pub o: f64,
    /// High.
    pub h: f64,
    /// Low.
    pub l: f64,
    /// Close.
    pub c: f64,
    /// Volume.
    pub v: f64,
}

/// A page of `GET /v2/stocks/bars` or `/v1beta3/crypto/us/bars`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
pub struct WireBarsPage {
    /// Bars per symbol (Alpaca's symbols).
    #[serde(default)]
    pub bars: std::collections::BTreeMap<String, Vec<WireBar>>,
    /// The next page, `null` on the last.
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// The market clock of `GET /v2/clock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketClock {
    /// Whether the market is open now.
    pub is_open: bool,
    /// The next open.
    pub next_open: Timestamp,
    /// The next close.
    pub next_close: Timestamp,
    /// The venue's time now.
    pub timestamp: Timestamp,
}

/// The `trade_updates` payload (`data` of a `trade_updates` message).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct WireTradeUpdate {
    /// `new`, `fill`, `partial_fill`, `canceled`, `expired`, `rejected`, …
    pub event: String,
    /// The execution's id (fills).
    #[serde(default)]
    pub execution_id: Option<String>,
    /// The order after the event.
    pub order: WireOrder,
    /// RFC 3339.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// The execution's price (fills).
    #[serde(default)]
    pub price: Option<String>,
    /// The execution's quantity (fills).
    #[serde(default)]
    pub qty: Option<String>,
}

/// A decimal string, exactly.
pub fn decimal(field: &str, s: &str) -> Result<Decimal, String> {
    Decimal::from_str_exact(s.trim()).map_err(|e| format!("{field} {s:?}: {e}"))
}

fn opt_decimal(field: &str, s: &Option<String>) -> Result<Decimal, String> {
    match s.as_deref() {
        None | Some("") => Ok(Decimal::ZERO),
        Some(v) => decimal(field, v),
    }
}

/// An RFC 3339 time as milliseconds.
pub fn timestamp(s: &str) -> Result<Timestamp, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| Timestamp(t.timestamp_millis()))
        .map_err(|e| format!("time {s:?}: {e}"))
}

/// Milliseconds as RFC 3339 (UTC, `Z`, millisecond precision).
pub fn rfc3339(t: Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(t.0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Whether a host symbol is a crypto pair (`BTC-USD`): a base, a dash, a known quote.
pub fn is_crypto(symbol: &Symbol) -> bool {
    symbol
        .as_str()
        .split_once('-')
        .is_some_and(|(b, q)| !b.is_empty() && CRYPTO_QUOTES.contains(&q))
}

/// The host's symbol as Alpaca spells it: `AAPL` stays, `BTC-USD` is `BTC/USD`.
pub fn to_alpaca_symbol(symbol: &Symbol) -> String {
    if is_crypto(symbol) {
        symbol.as_str().replacen('-', "/", 1)
    } else {
        symbol.as_str().to_string()
    }
}

/// Alpaca's symbol as the host spells it: `BTC/USD` is `BTC-USD`; so is `BTCUSD` when the
/// asset class is crypto (positions drop the slash).
pub fn from_alpaca_symbol(symbol: &str, asset_class: &str) -> Symbol {
    if let Some((b, q)) = symbol.split_once('/') {
        return Symbol::new(format!("{b}-{q}"));
    }
    if asset_class == "crypto" {
        // The longest quote first: `ETHUSDT` is ETH/USDT, not ETHU/SDT... or ETHUSD/T.
        let mut quotes = CRYPTO_QUOTES;
        quotes.sort_by_key(|q| std::cmp::Reverse(q.len()));
        for q in quotes {
            if let Some(b) = symbol.strip_suffix(q).filter(|b| !b.is_empty()) {
                return Symbol::new(format!("{b}-{q}"));
            }
        }
    }
    Symbol::new(symbol)
}

/// The timeframe as the data API names it.
pub fn timeframe(tf: Timeframe) -> &'static str {
    match tf {
        Timeframe::M1 => "1Min",
        Timeframe::M5 => "5Min",
        Timeframe::M15 => "15Min",
        Timeframe::H1 => "1Hour",
        Timeframe::D1 => "1Day",
    }
}

/// The request as Alpaca's order body.
pub fn order_body(req: &VenueOrderRequest) -> OrderBody {
    OrderBody {
        symbol: to_alpaca_symbol(&req.symbol),
        qty: req.quantity.normalize().to_string(),
        side: req.side.as_str().to_string(),
        order_type: req.order_type.as_str().to_string(),
        time_in_force: req.time_in_force.as_str().to_string(),
        limit_price: req.limit_price.map(|p| p.normalize().to_string()),
        client_order_id: req.client_id.as_str().to_string(),
    }
}

/// Alpaca's status as the domain's state. `filled` and `quantity` decide the states
/// Alpaca has no twin for:
///
/// - `new`, `accepted`, `pending_new`, `accepted_for_bidding`, `pending_review`, `held`:
///   accepted (working, nothing filled yet; or partially filled if it has fills);
/// - `pending_cancel`: pending cancel; `replaced`: canceled (the order is done; the host
///   never replaces orders, so a replacement is someone else's);
/// - `done_for_day`: expired (no more fills today), as `expired`;
/// - `pending_replace`, `stopped`, `suspended`, `calculated` and anything unknown: by the
///   fill level (accepted, partially filled, filled), as the order still stands.
pub fn state(status: &str, filled: Quantity, quantity: Quantity) -> OrderState {
    let by_fills = || {
        if filled <= Quantity::ZERO {
            OrderState::Accepted
        } else if filled < quantity {
            OrderState::PartiallyFilled
        } else {
            OrderState::Filled
        }
    };
    match status {
        "new" | "accepted" | "pending_new" | "accepted_for_bidding" | "pending_review" | "held" => {
            match by_fills() {
                OrderState::Filled => OrderState::PartiallyFilled,
                s => s,
            }
        }
        "partially_filled" => OrderState::PartiallyFilled,
        "filled" => OrderState::Filled,
        "canceled" | "replaced" => OrderState::Canceled,
        "expired" | "done_for_day" => OrderState::Expired,
        "rejected" => OrderState::Rejected,
        "pending_cancel" => OrderState::PendingCancel,
        _ => by_fills(),
    }
}

fn side(s: &str) -> Result<Side, String> {
    match s {
        "buy" => Ok(Side::Buy),
        "sell" => Ok(Side::Sell),
        _ => Err(format!("side {s:?}")),
    }
}

fn order_type(s: &str) -> Result<OrderType, String> {
    match s {
        "market" => Ok(OrderType::Market),
        "limit" => Ok(OrderType::Limit),
        _ => Err(format!(
            "order type {s:?} (the host sends only market and limit)"
        )),
    }
}

fn tif(s: &str) -> TimeInForce {
    match s {
        "gtc" => TimeInForce::Gtc,
        "ioc" => TimeInForce::Ioc,
        "fok" => TimeInForce::Fok,
        // `opg`, `cls` and `day` all end with a session.
        _ => TimeInForce::Day,
    }
}

/// Alpaca's order as the venue's record. REST lists no fills, only the cumulative
/// `filled_qty` and `filled_avg_price`, so `fills` is empty; Alpaca charges no
/// commission on stocks, so `fees` is 0.
pub fn venue_order(w: &WireOrder) -> Result<VenueOrder, String> {
    let client_id = ClientOrderId::parse(&w.client_order_id)
        .map_err(|e| format!("client_order_id {:?}: {e}", w.client_order_id))?;
    let quantity = opt_decimal("qty", &w.qty)?;
    let filled = opt_decimal("filled_qty", &w.filled_qty)?;
    let avg: Price = opt_decimal("filled_avg_price", &w.filled_avg_price)?;
    let limit_price = match w.limit_price.as_deref() {
        None | Some("") => None,
        Some(p) => Some(decimal("limit_price", p)?),
    };
    let created = w
        .submitted_at
        .as_deref()
        .or(w.created_at.as_deref())
        .map(timestamp)
        .transpose()?
        .unwrap_or_default();
    let updated = w
        .updated_at
        .as_deref()
        .map(timestamp)
        .transpose()?
        .unwrap_or(created);
    let state = state(&w.status, filled, quantity);
    let reason = match state {
        OrderState::Rejected => Some(format!("rejected by Alpaca ({})", w.status)),
        OrderState::Expired if w.status == "done_for_day" => Some("done for the day".into()),
        _ => None,
    };
    Ok(VenueOrder {
        client_id,
        symbol: from_alpaca_symbol(&w.symbol, ""),
        side: side(&w.side)?,
        quantity,
        order_type: order_type(&w.order_type)?,
        limit_price,
        time_in_force: tif(&w.time_in_force),
        expires_at: None,
        state,
        filled_quantity: filled,
        avg_price: avg,
        fees: Money::ZERO,
        fills: Vec::new(),
        reason,
        created_at: created,
        updated_at: updated,
    })
}

/// The record of a request the venue refused for good, with the venue's words.
pub fn rejected(req: &VenueOrderRequest, reason: String, now: Timestamp) -> VenueOrder {
    let mut o = VenueOrder::new(req, OrderState::Rejected, now);
    o.reason = Some(reason);
    o
}

/// A position row as a signed quantity of a host symbol.
pub fn position(p: &WirePosition) -> Result<(Symbol, Quantity), String> {
    let q = decimal("qty", &p.qty)?;
    let signed = if p.side == "short" { -q.abs() } else { q };
    Ok((from_alpaca_symbol(&p.symbol, &p.asset_class), signed))
}

/// A data API bar as the domain's bar.
pub fn bar(b: &WireBar) -> Result<Bar, String> {
    Ok(Bar {
        time: timestamp(&b.t)?,
        open: b.o,
        high: b.h,
        low: b.l,
        close: b.c,
        volume: b.v,
    })
}

/// The clock's answer as a [`MarketClock`].
pub fn clock(c: &WireClock) -> Result<MarketClock, String> {
    Ok(MarketClock {
        is_open: c.is_open,
        next_open: timestamp(&c.next_open)?,
        next_close: timestamp(&c.next_close)?,
        timestamp: timestamp(&c.timestamp)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn wire(status: &str, filled: &str, avg: Option<&str>) -> WireOrder {
        WireOrder {
            id: "61e69015-8549-4bfd-b9c3-01e75843f47d".into(),
            client_order_id: "fl-abc-1".into(),
            symbol: "BTC/USD".into(),
            qty: Some("0.0500".into()),
            filled_qty: Some(filled.into()),
            filled_avg_price: avg.map(str::to_string),
            side: "buy".into(),
            order_type: "limit".into(),
            time_in_force: "gtc".into(),
            limit_price: Some("30000.10".into()),
            status: status.into(),
            created_at: Some("2024-03-01T15:30:00.123456789Z".into()),
            updated_at: Some("2024-03-01T15:30:01.5-05:00".into()),
            submitted_at: None,
        }
    }

    #[test]
    fn orders_map_exactly() {
        let o = venue_order(&wire("partially_filled", "0.02", Some("29999.995"))).unwrap();
        assert_eq!(o.symbol.as_str(), "BTC-USD");
        assert_eq!((o.quantity, o.filled_quantity), (dec!(0.0500), dec!(0.02)));
        assert_eq!(o.avg_price.to_string(), "29999.995");
        assert_eq!(o.limit_price, Some(dec!(30000.10)));
        assert_eq!(o.state, OrderState::PartiallyFilled);
        assert_eq!(o.created_at, Timestamp(1_709_307_000_123));
        assert_eq!(o.updated_at, Timestamp(1_709_325_001_500));
        assert!(venue_order(&wire("new", "1e400", None)).is_err());
    }

    #[test]
    fn states_map_as_documented() {
        let q = dec!(10);
        let cases = [
            ("new", "0", OrderState::Accepted),
            ("accepted", "0", OrderState::Accepted),
            ("pending_new", "0", OrderState::Accepted),
            ("partially_filled", "3", OrderState::PartiallyFilled),
            ("filled", "10", OrderState::Filled),
            ("canceled", "3", OrderState::Canceled),
            ("expired", "0", OrderState::Expired),
            ("done_for_day", "2", OrderState::Expired),
            ("rejected", "0", OrderState::Rejected),
            ("pending_cancel", "0", OrderState::PendingCancel),
            ("replaced", "0", OrderState::Canceled),
            ("calculated", "10", OrderState::Filled),
            ("suspended", "4", OrderState::PartiallyFilled),
            ("held", "0", OrderState::Accepted),
            ("who_knows", "0", OrderState::Accepted),
        ];
        for (s, f, want) in cases {
            assert_eq!(state(s, decimal("f", f).unwrap(), q), want, "{s}");
        }
    }

    #[test]
    fn symbols_round_trip() {
        for (host, alpaca) in [
            ("AAPL", "AAPL"),
            ("BTC-USD", "BTC/USD"),
            ("ETH-USDT", "ETH/USDT"),
        ] {
            let s = Symbol::new(host);
            assert_eq!(to_alpaca_symbol(&s), alpaca);
            assert_eq!(from_alpaca_symbol(alpaca, ""), s);
        }
        assert!(!is_crypto(&Symbol::new("BRK-B")));
        assert_eq!(from_alpaca_symbol("ETHUSDT", "crypto").as_str(), "ETH-USDT");
        assert_eq!(from_alpaca_symbol("BTCUSD", "crypto").as_str(), "BTC-USD");
        assert_eq!(from_alpaca_symbol("AAPL", "us_equity").as_str(), "AAPL");
    }

    #[test]
    fn the_body_carries_decimals_as_strings() {
        let req = VenueOrderRequest::limit(
            ClientOrderId::parse("fl-x-2").unwrap(),
            Symbol::new("AAPL"),
            Side::Sell,
            dec!(1.50),
            dec!(187.2500),
        );
        let json = serde_json::to_value(order_body(&req)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"symbol":"AAPL","qty":"1.5","side":"sell","type":"limit",
                "time_in_force":"gtc","limit_price":"187.25","client_order_id":"fl-x-2"})
        );
        let m =
            VenueOrderRequest::market(req.client_id.clone(), "BTC-USD".into(), Side::Buy, dec!(1));
        let json = serde_json::to_value(order_body(&m)).unwrap();
        assert!(json.get("limit_price").is_none());
        assert_eq!(json["symbol"], "BTC/USD");
    }

    #[test]
    fn positions_are_signed_and_times_round_trip() {
        let p = WirePosition {
            symbol: "AAPL".into(),
            qty: "-3".into(),
            side: "short".into(),
            asset_class: "us_equity".into(),
        };
        assert_eq!(position(&p).unwrap(), (Symbol::new("AAPL"), dec!(-3)));
        let t = Timestamp(1_709_307_000_123);
        assert_eq!(timestamp(&rfc3339(t)).unwrap(), t);
    }
}
