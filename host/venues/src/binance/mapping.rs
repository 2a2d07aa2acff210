//! Wire types <-> domain: symbols, order states, orders, fills, balances, klines, with
//! every decimal parsed exactly from the strings Binance sends.
//!
//! Symbols: the host writes `BASE-QUOTE` (`BTC-USDT`); Binance writes them together
//! (`BTCUSDT`, base `BTC`, quote `USDT`). The connector maps the configured symbols both
//! ways; `exchangeInfo`'s baseAsset/quoteAsset confirm the split.

use super::error::BinanceError;
use crate::common::CumulativeFill;
use flotilla_broker::venue::{VenueFill, VenueOrder};
use flotilla_domain::{
    Bar, ClientOrderId, Money, OrderState, OrderType, Price, Quantity, Side, Symbol, TimeInForce,
    Timestamp,
};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;
use serde_json::Value;
use std::str::FromStr;

/// `BTC-USDT` -> (`BTCUSDT`, `BTC`, `USDT`).
pub fn split_symbol(s: &Symbol) -> Result<(String, String, String), String> {
    let (base, quote) = s
        .as_str()
        .split_once('-')
        .filter(|(b, q)| !b.is_empty() && !q.is_empty())
        .ok_or_else(|| format!("binance symbol {s} is not BASE-QUOTE (such as BTC-USDT)"))?;
    let (b, q) = (base.to_ascii_uppercase(), quote.to_ascii_uppercase());
    Ok((format!("{b}{q}"), b, q))
}

/// A fill of a FULL order response.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireFill {
    /// Price.
    pub price: Decimal,
    /// Quantity.
    pub qty: Decimal,
    /// Commission.
    pub commission: Decimal,
    /// The commission's asset.
    pub commission_asset: String,
    /// Trade id.
    pub trade_id: i64,
}

/// An order as `POST`, `GET` and `DELETE /api/v3/order` and `openOrders` answer it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireOrder {
    /// The client id (on a cancel's answer: the cancel's own id).
    pub client_order_id: String,
    /// On a cancel's answer: the order's client id.
    #[serde(default)]
    pub orig_client_order_id: Option<String>,
    /// The limit price (0 for a market order).
    pub price: Decimal,
    /// Quantity ordered.
    pub orig_qty: Decimal,
    /// Quantity filled.
    pub executed_qty: Decimal,
    /// Quote filled (Binance's spelling).
    pub cummulative_quote_qty: Decimal,
    /// NEW, PARTIALLY_FILLED, FILLED, CANCELED, PENDING_CANCEL, REJECTED, EXPIRED, …
    pub status: String,
    /// GTC, IOC, FOK.
    pub time_in_force: String,
    /// MARKET, LIMIT, …
    #[serde(rename = "type")]
    pub order_type: String,
    /// BUY or SELL.
    pub side: String,
    /// Creation time (queries).
    #[serde(default)]
    pub time: Option<i64>,
    /// Last change (queries).
    #[serde(default)]
    pub update_time: Option<i64>,
    /// Transaction time (POST, DELETE).
    #[serde(default)]
    pub transact_time: Option<i64>,
    /// The venue's order id (`myTrades` asks by it).
    #[serde(default)]
    pub order_id: Option<i64>,
    /// FULL response fills.
    #[serde(default)]
    pub fills: Vec<WireFill>,
}

/// Binance's order status as a host state.
pub fn state(status: &str) -> Result<OrderState, BinanceError> {
    Ok(match status {
        "NEW" | "PENDING_NEW" => OrderState::Accepted,
        "PARTIALLY_FILLED" => OrderState::PartiallyFilled,
        "FILLED" => OrderState::Filled,
        "CANCELED" => OrderState::Canceled,
        "PENDING_CANCEL" => OrderState::PendingCancel,
        "REJECTED" => OrderState::Rejected,
        // EXPIRED includes partly filled market and IOC orders; EXPIRED_IN_MATCH is
        // self-trade prevention.
        "EXPIRED" | "EXPIRED_IN_MATCH" => OrderState::Expired,
        s => return Err(BinanceError::Decode(format!("unknown order status {s}"))),
    })
}

/// The host's time in force as Binance's: a `day` order is GTC there (the host expires
/// it at the session end by canceling it).
pub fn tif(t: TimeInForce) -> &'static str {
    match t {
        TimeInForce::Day | TimeInForce::Gtc => "GTC",
        TimeInForce::Ioc => "IOC",
        TimeInForce::Fok => "FOK",
    }
}

/// A commission in the quote asset: as is when charged in the quote, times the price
/// when charged in the base; other assets (BNB) are not converted and count 0.
fn fee_in_quote(commission: Decimal, asset: &str, price: Price, base: &str, quote: &str) -> Money {
    if asset == quote {
        commission
    } else if asset == base {
        commission * price
    } else {
        Money::ZERO
    }
}

/// One execution of `GET /api/v3/myTrades`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireTrade {
    /// Trade id (the same id as a FULL response's `tradeId`).
    pub id: i64,
    /// The order's venue id.
    pub order_id: i64,
    /// Price.
    pub price: Decimal,
    /// Quantity.
    pub qty: Decimal,
    /// price × qty.
    pub quote_qty: Decimal,
    /// Commission.
    pub commission: Decimal,
    /// The commission's asset.
    pub commission_asset: String,
    /// When it executed.
    pub time: i64,
}

/// An order's executions as cumulative fill reports, in trade-id order: each with its
/// trade id, its own quantity and price, its commission in the quote asset (as a FULL
/// response's fills are converted) and the running sums of quantities and quoteQty.
pub fn trade_fills(trades: &[WireTrade], base: &str, quote: &str) -> Vec<CumulativeFill> {
    let mut sorted: Vec<&WireTrade> = trades.iter().collect();
    sorted.sort_by_key(|t| t.id);
    sorted.dedup_by_key(|t| t.id);
    let mut cumulative = Quantity::ZERO;
    let mut notional = Money::ZERO;
    sorted
        .into_iter()
        .map(|t| {
            cumulative += t.qty;
            notional += t.quote_qty;
            CumulativeFill {
                trade_id: Some(t.id.to_string()),
                cumulative: cumulative.normalize(),
                cumulative_notional: Some(notional.normalize()),
                last: Some((t.qty.normalize(), t.price.normalize())),
                fee: fee_in_quote(t.commission, &t.commission_asset, t.price, base, quote),
                time: Timestamp(t.time),
            }
        })
        .collect()
}

/// The venue's order as the host's record.
pub fn to_venue_order(
    w: &WireOrder,
    symbol: &Symbol,
    base: &str,
    quote: &str,
) -> Result<VenueOrder, BinanceError> {
    let cid = w
        .orig_client_order_id
        .as_deref()
        .unwrap_or(&w.client_order_id);
    let client_id = ClientOrderId::parse(cid)
        .map_err(|e| BinanceError::Decode(format!("client id {cid:?}: {e}")))?;
    let order_type = match w.order_type.as_str() {
        "MARKET" => OrderType::Market,
        _ => OrderType::Limit,
    };
    let side = match w.side.as_str() {
        "BUY" => Side::Buy,
        "SELL" => Side::Sell,
        s => return Err(BinanceError::Decode(format!("unknown side {s}"))),
    };
    let time_in_force = match w.time_in_force.as_str() {
        "IOC" => TimeInForce::Ioc,
        "FOK" => TimeInForce::Fok,
        _ => TimeInForce::Gtc,
    };
    let created = Timestamp(w.time.or(w.transact_time).unwrap_or(0));
    let updated = Timestamp(w.update_time.or(w.transact_time).unwrap_or(created.0));
    let mut cumulative = Quantity::ZERO;
    let mut fees = Money::ZERO;
    let fills = w
        .fills
        .iter()
        .map(|f| {
            cumulative += f.qty;
            let fee = fee_in_quote(f.commission, &f.commission_asset, f.price, base, quote);
            fees += fee;
            VenueFill {
                trade_id: f.trade_id.to_string(),
                quantity: f.qty,
                price: f.price,
                fee,
                cumulative,
                time: updated,
            }
        })
        .collect();
    let avg_price = if w.executed_qty > Quantity::ZERO {
        (w.cummulative_quote_qty / w.executed_qty)
            .round_dp(10)
            .normalize()
    } else {
        Price::ZERO
    };
    Ok(VenueOrder {
        client_id,
        symbol: symbol.clone(),
        side,
        quantity: w.orig_qty.normalize(),
        order_type,
        limit_price: (order_type == OrderType::Limit).then(|| w.price.normalize()),
        time_in_force,
        expires_at: None,
        state: state(&w.status)?,
        filled_quantity: w.executed_qty.normalize(),
        avg_price,
        fees,
        fills,
        reason: None,
        created_at: created,
        updated_at: updated,
    })
}

/// One balance of `GET /api/v3/account`.
#[derive(Debug, Clone, Deserialize)]
pub struct Balance {
    /// Asset.
    pub asset: String,
    /// Available.
    pub free: Decimal,
    /// In open orders.
    pub locked: Decimal,
}

/// `GET /api/v3/account`, the parts the connector reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// The account's user id (newer API versions).
    #[serde(default)]
    pub uid: Option<u64>,
    /// `SPOT`.
    #[serde(default)]
    pub account_type: Option<String>,
    /// Whether the key may trade.
    #[serde(default = "yes")]
    pub can_trade: bool,
    /// Balances.
    pub balances: Vec<Balance>,
}

fn yes() -> bool {
    true
}

impl Account {
    /// free + locked of `asset`.
    pub fn total(&self, asset: &str) -> Decimal {
        self.balances
            .iter()
            .filter(|b| b.asset == asset)
            .map(|b| b.free + b.locked)
            .sum()
    }
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::String(s) => Decimal::from_str(s).ok()?.to_f64(),
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

/// A kline row `[openTime, open, high, low, close, volume, closeTime, …]`.
pub fn kline_row(row: &Value) -> Result<Bar, BinanceError> {
    let bad = || BinanceError::Decode(format!("kline row {row}"));
    let a = row.as_array().filter(|a| a.len() >= 6).ok_or_else(bad)?;
    Ok(Bar {
        time: Timestamp(a[0].as_i64().ok_or_else(bad)?),
        open: num(&a[1]).ok_or_else(bad)?,
        high: num(&a[2]).ok_or_else(bad)?,
        low: num(&a[3]).ok_or_else(bad)?,
        close: num(&a[4]).ok_or_else(bad)?,
        volume: num(&a[5]).ok_or_else(bad)?,
    })
}

/// A kline stream payload's `k`: the bar, and whether it is final (`x`).
pub fn kline_event(k: &Value) -> Result<(String, Bar, bool), BinanceError> {
    let bad = || BinanceError::Decode(format!("kline event {k}"));
    let f = |n: &str| k.get(n).and_then(num).ok_or_else(bad);
    Ok((
        k.get("s")
            .and_then(Value::as_str)
            .ok_or_else(bad)?
            .to_string(),
        Bar {
            time: Timestamp(k.get("t").and_then(Value::as_i64).ok_or_else(bad)?),
            open: f("o")?,
            high: f("h")?,
            low: f("l")?,
            close: f("c")?,
            volume: f("v")?,
        },
        k.get("x").and_then(Value::as_bool).ok_or_else(bad)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use serde_json::json;

    #[test]
    fn symbols_split_and_join() {
        let (w, b, q) = split_symbol(&Symbol::new("BTC-USDT")).unwrap();
        assert_eq!(
            (w.as_str(), b.as_str(), q.as_str()),
            ("BTCUSDT", "BTC", "USDT")
        );
        assert!(split_symbol(&Symbol::new("BTCUSDT")).is_err());
    }

    #[test]
    fn a_full_response_maps_exactly() {
        let w: WireOrder = serde_json::from_value(json!({
            "symbol": "BTCUSDT", "orderId": 28, "orderListId": -1,
            "clientOrderId": "fl-a-1", "transactTime": 1507725176595i64,
            "price": "0.00000000", "origQty": "0.30000000", "executedQty": "0.30000000",
            "cummulativeQuoteQty": "30000.02000000", "status": "FILLED", "timeInForce": "GTC",
            "type": "MARKET", "side": "BUY",
            "fills": [
                {"price": "100000.00000000", "qty": "0.10000000", "commission": "0.10000000", "commissionAsset": "USDT", "tradeId": 56},
                {"price": "100000.10000000", "qty": "0.20000000", "commission": "0.00001000", "commissionAsset": "BTC", "tradeId": 57}
            ]
        }))
        .unwrap();
        let o = to_venue_order(&w, &Symbol::new("BTC-USDT"), "BTC", "USDT").unwrap();
        assert_eq!(
            (o.state, o.quantity, o.filled_quantity),
            (OrderState::Filled, dec!(0.3), dec!(0.3))
        );
        assert_eq!(
            o.avg_price,
            (dec!(30000.02) / dec!(0.3)).round_dp(10).normalize()
        );
        assert_eq!(o.fills.len(), 2);
        assert_eq!(o.fills[1].cumulative, dec!(0.3));
        assert_eq!(o.fills[1].trade_id, "57");
        assert_eq!(o.fees, dec!(0.1) + dec!(0.00001) * dec!(100000.1));
        assert_eq!(o.limit_price, None);
    }

    #[test]
    fn trades_become_cumulative_fills_in_id_order_with_fees_in_the_quote() {
        let t: Vec<WireTrade> = serde_json::from_value(json!([
            {"symbol": "BTCUSDT", "id": 58, "orderId": 28, "orderListId": -1, "price": "100000.10000000",
             "qty": "0.20000000", "quoteQty": "20000.02000000", "commission": "0.00001000",
             "commissionAsset": "BTC", "time": 2, "isBuyer": true, "isMaker": false, "isBestMatch": true},
            {"symbol": "BTCUSDT", "id": 56, "orderId": 28, "orderListId": -1, "price": "100000.00000000",
             "qty": "0.10000000", "quoteQty": "10000.00000000", "commission": "0.10000000",
             "commissionAsset": "USDT", "time": 1, "isBuyer": true, "isMaker": false, "isBestMatch": true},
            {"symbol": "BTCUSDT", "id": 59, "orderId": 28, "orderListId": -1, "price": "100000.00000000",
             "qty": "0.10000000", "quoteQty": "10000.00000000", "commission": "0.00100000",
             "commissionAsset": "BNB", "time": 3, "isBuyer": true, "isMaker": false, "isBestMatch": true}
        ]))
        .unwrap();
        let f = trade_fills(&t, "BTC", "USDT");
        let ids: Vec<_> = f.iter().map(|f| f.trade_id.clone().unwrap()).collect();
        assert_eq!(ids, ["56", "58", "59"]);
        let cum: Vec<_> = f.iter().map(|f| f.cumulative).collect();
        assert_eq!(cum, [dec!(0.1), dec!(0.3), dec!(0.4)]);
        assert_eq!(f[1].last, Some((dec!(0.2), dec!(100000.1))));
        assert_eq!(f[1].cumulative_notional, Some(dec!(30000.02)));
        assert_eq!(f[0].fee, dec!(0.1));
        assert_eq!(f[1].fee, dec!(0.00001) * dec!(100000.1));
        // A third asset (BNB) is not converted, as for FULL fills.
        assert_eq!(f[2].fee, dec!(0));
        assert_eq!(f[2].time, Timestamp(3));
    }

    #[test]
    fn klines_parse() {
        let b = kline_row(&json!([
            1499040000000i64,
            "0.01634790",
            "0.80000000",
            "0.01575800",
            "0.01577100",
            "148976.11427815",
            1499644799999i64,
            "2434.19055334",
            308,
            "1756.87402397",
            "28.46694368",
            "0"
        ]))
        .unwrap();
        assert_eq!((b.time.0, b.close), (1499040000000, 0.015771));
        let (s, _, x) = kline_event(&json!({"t": 1, "s": "BTCUSDT", "o": "1", "h": "2", "l": "0.5", "c": "1.5", "v": "10", "x": false})).unwrap();
        assert_eq!((s.as_str(), x), ("BTCUSDT", false));
    }
}
