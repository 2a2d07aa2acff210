//! The fake's JSON: orders, fills, balances, filters, error bodies.

use super::{Meta, State};
use flotilla_broker::venue::{VenueFill, VenueOrder};
use flotilla_domain::{OrderState, OrderType, Side, TimeInForce};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Binance's 8-decimal spelling; a figure with more decimals (the paper venue's slipped
/// prices and cash) is written whole, so balances are exact.
pub fn d8(x: Decimal) -> String {
    if x.normalize().scale() <= 8 {
        format!("{x:.8}")
    } else {
        x.normalize().to_string()
    }
}

/// Binance's status of a paper order.
pub fn status(s: OrderState) -> &'static str {
    match s {
        OrderState::Created | OrderState::Submitted | OrderState::Accepted => "NEW",
        OrderState::PartiallyFilled => "PARTIALLY_FILLED",
        OrderState::Filled => "FILLED",
        OrderState::PendingCancel => "PENDING_CANCEL",
        OrderState::Canceled => "CANCELED",
        OrderState::Rejected => "REJECTED",
        OrderState::Expired => "EXPIRED",
    }
}

/// A trade id from the paper venue's `pv-{n}`.
pub fn trade_id(s: &str) -> i64 {
    s.trim_start_matches("pv-").parse().unwrap_or(0)
}

/// An order as Binance answers it; `full` adds the fills (newOrderRespType=FULL).
pub fn order(o: &VenueOrder, m: &Meta, quote: &str, full: bool) -> Value {
    let quote_qty: Decimal = o.fills.iter().map(|f| f.quantity * f.price).sum();
    let mut v = json!({
        "symbol": m.symbol,
        "orderId": m.order_id,
        "orderListId": -1,
        "clientOrderId": o.client_id.as_str(),
        "transactTime": o.updated_at.0,
        "time": m.created_ms,
        "updateTime": o.updated_at.0,
        "price": d8(o.limit_price.unwrap_or_default()),
        "origQty": d8(o.quantity),
        "executedQty": d8(o.filled_quantity),
        "cummulativeQuoteQty": d8(quote_qty),
        "status": status(o.state),
        "timeInForce": match o.time_in_force { TimeInForce::Ioc => "IOC", TimeInForce::Fok => "FOK", _ => "GTC" },
        "type": if o.order_type == OrderType::Market { "MARKET" } else { "LIMIT" },
        "side": if o.side == Side::Buy { "BUY" } else { "SELL" },
        "isWorking": o.is_working(),
        "workingTime": m.created_ms,
        "selfTradePreventionMode": "EXPIRE_MAKER",
    });
    if full {
        v["fills"] = o
            .fills
            .iter()
            .map(|f| {
                json!({
                    "price": d8(f.price),
                    "qty": d8(f.quantity),
                    "commission": d8(f.fee),
                    "commissionAsset": quote,
                    "tradeId": trade_id(&f.trade_id),
                })
            })
            .collect();
    }
    v
}

/// One execution as `GET /api/v3/myTrades` lists it: the id is the FULL answer's
/// `tradeId` of the same fill, the commission the paper fee in the quote asset.
pub fn trade(o: &VenueOrder, f: &VenueFill, m: &Meta, quote: &str) -> Value {
    json!({
        "symbol": m.symbol,
        "id": trade_id(&f.trade_id),
        "orderId": m.order_id,
        "orderListId": -1,
        "price": d8(f.price),
        "qty": d8(f.quantity),
        "quoteQty": d8(f.quantity * f.price),
        "commission": d8(f.fee),
        "commissionAsset": quote,
        "time": f.time.0,
        "isBuyer": o.side == Side::Buy,
        "isMaker": o.order_type == OrderType::Limit,
        "isBestMatch": true,
    })
}

/// Balances per asset: the quote assets hold the paper cash, base assets its positions.
pub fn balances(st: &State) -> BTreeMap<String, Decimal> {
    let mut out = BTreeMap::new();
    let cash = st.paper.cash().unwrap_or_default();
    let positions = st.paper.positions().unwrap_or_default();
    for s in &st.config.symbols {
        out.insert(s.quote.clone(), cash);
        let q = positions
            .iter()
            .find(|(k, _)| k.as_str() == s.symbol)
            .map(|(_, q)| *q)
            .unwrap_or_default();
        *out.entry(s.base.clone()).or_default() += q;
    }
    out
}

/// `exchangeInfo` of the listed symbols (all when `only` is empty).
pub fn exchange_info(st: &State, only: &[String], now: i64) -> Value {
    let symbols: Vec<Value> = st
        .config
        .symbols
        .iter()
        .filter(|s| only.is_empty() || only.contains(&s.symbol))
        .map(|s| {
            json!({
                "symbol": s.symbol, "status": "TRADING",
                "baseAsset": s.base, "baseAssetPrecision": 8,
                "quoteAsset": s.quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
                "orderTypes": ["LIMIT", "MARKET"],
                "isSpotTradingAllowed": true,
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": d8(s.tick_size), "maxPrice": d8(Decimal::new(1_000_000, 0)), "tickSize": d8(s.tick_size)},
                    {"filterType": "LOT_SIZE", "minQty": d8(s.min_qty), "maxQty": d8(s.max_qty), "stepSize": d8(s.step_size)},
                    {"filterType": "MARKET_LOT_SIZE", "minQty": d8(Decimal::ZERO), "maxQty": d8(s.max_qty), "stepSize": d8(Decimal::ZERO)},
                    {"filterType": "NOTIONAL", "minNotional": d8(s.min_notional), "applyMinToMarket": true, "maxNotional": d8(Decimal::new(9_000_000, 0)), "applyMaxToMarket": false, "avgPriceMins": 5},
                    {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200}
                ],
                "permissions": [], "permissionSets": [["SPOT"]],
            })
        })
        .collect();
    json!({
        "timezone": "UTC", "serverTime": now,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": st.config.weight_limit},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100}
        ],
        "exchangeFilters": [], "symbols": symbols,
    })
}
