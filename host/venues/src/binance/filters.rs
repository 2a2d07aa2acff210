//! `exchangeInfo` filters and the order as Binance will take it: quantity rounded down to
//! the step, limit price to the tick, minimums checked with the filter named.

use flotilla_broker::venue::VenueOrderRequest;
use flotilla_domain::{OrderType, Price, Quantity, Side};
use rust_decimal::Decimal;
use serde_json::Value;
use std::str::FromStr;

/// LOT_SIZE or MARKET_LOT_SIZE.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LotSize {
    /// Smallest quantity.
    pub min_qty: Quantity,
    /// Largest quantity (0: none).
    pub max_qty: Quantity,
    /// Quantity step (0: none).
    pub step_size: Quantity,
}

/// PRICE_FILTER.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PriceFilter {
    /// Lowest price (0: none).
    pub min_price: Price,
    /// Highest price (0: none).
    pub max_price: Price,
    /// Price step (0: none).
    pub tick_size: Price,
}

/// NOTIONAL or MIN_NOTIONAL.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Notional {
    /// Smallest quantity × price.
    pub min_notional: Decimal,
    /// Whether the minimum applies to market orders.
    pub apply_min_to_market: bool,
    /// Largest quantity × price (0: none; NOTIONAL only).
    pub max_notional: Decimal,
}

/// One symbol's trading rules.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SymbolRules {
    /// Binance's symbol (`BTCUSDT`).
    pub wire: String,
    /// Base asset (`BTC`).
    pub base: String,
    /// Quote asset (`USDT`).
    pub quote: String,
    /// LOT_SIZE.
    pub lot: Option<LotSize>,
    /// MARKET_LOT_SIZE.
    pub market_lot: Option<LotSize>,
    /// PRICE_FILTER.
    pub price: Option<PriceFilter>,
    /// NOTIONAL.
    pub notional: Option<Notional>,
    /// MIN_NOTIONAL (older symbols).
    pub min_notional: Option<Notional>,
}

fn dec(v: &Value, field: &str) -> Result<Decimal, String> {
    let s = v
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("filter field {field} missing"))?;
    Decimal::from_str(s).map_err(|e| format!("filter field {field}={s:?}: {e}"))
}

fn dec_or_zero(v: &Value, field: &str) -> Result<Decimal, String> {
    if v.get(field).is_none() {
        return Ok(Decimal::ZERO);
    }
    dec(v, field)
}

impl SymbolRules {
    /// Reads one entry of `exchangeInfo.symbols`. Unknown filters are ignored.
    pub fn parse(sym: &Value) -> Result<Self, String> {
        let text = |f: &str| {
            sym.get(f)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("exchangeInfo symbol field {f} missing"))
        };
        let mut r = SymbolRules {
            wire: text("symbol")?,
            base: text("baseAsset")?,
            quote: text("quoteAsset")?,
            ..Default::default()
        };
        let filters = sym
            .get("filters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for f in &filters {
            let lot = || -> Result<LotSize, String> {
                Ok(LotSize {
                    min_qty: dec(f, "minQty")?,
                    max_qty: dec_or_zero(f, "maxQty")?,
                    step_size: dec_or_zero(f, "stepSize")?,
                })
            };
            match f.get("filterType").and_then(Value::as_str) {
                Some("LOT_SIZE") => r.lot = Some(lot()?),
                Some("MARKET_LOT_SIZE") => r.market_lot = Some(lot()?),
                Some("PRICE_FILTER") => {
                    r.price = Some(PriceFilter {
                        min_price: dec_or_zero(f, "minPrice")?,
                        max_price: dec_or_zero(f, "maxPrice")?,
                        tick_size: dec_or_zero(f, "tickSize")?,
                    })
                }
                Some("NOTIONAL") => {
                    r.notional = Some(Notional {
                        min_notional: dec_or_zero(f, "minNotional")?,
                        apply_min_to_market: f
                            .get("applyMinToMarket")
                            .and_then(Value::as_bool)
                            .unwrap_or(true),
                        max_notional: dec_or_zero(f, "maxNotional")?,
                    })
                }
                Some("MIN_NOTIONAL") => {
                    r.min_notional = Some(Notional {
                        min_notional: dec(f, "minNotional")?,
                        apply_min_to_market: f
                            .get("applyToMarket")
                            .and_then(Value::as_bool)
                            .unwrap_or(true),
                        max_notional: Decimal::ZERO,
                    })
                }
                _ => {}
            }
        }
        Ok(r)
    }

    /// The order as Binance will take it, or why not, with the filter named.
    ///
    /// The quantity is rounded DOWN to LOT_SIZE's stepSize (never more than asked). A
    /// limit price is rounded to PRICE_FILTER's tickSize *away from the market*: down for
    /// a buy, up for a sell, so the limit is never worse for us than the bot asked (it
    /// may fill a little less often). A market order's notional is its quantity times
    /// `last_price` (the last trade the connector saw); without one, the notional minimum
    /// is left to the venue.
    pub fn prepare(
        &self,
        req: &VenueOrderRequest,
        last_price: Option<Price>,
    ) -> Result<VenueOrderRequest, String> {
        let mut out = req.clone();
        let market = req.order_type == OrderType::Market;
        if let Some(lot) = self.lot {
            out.quantity = check_lot("LOT_SIZE", &lot, out.quantity)?;
        }
        if market && let Some(lot) = self.market_lot {
            out.quantity = check_lot("MARKET_LOT_SIZE", &lot, out.quantity)?;
        }
        if !market {
            let Some(limit) = req.limit_price else {
                return Err("a limit order needs a limit price".into());
            };
            let mut p = limit;
            if let Some(pf) = self.price {
                if pf.tick_size > Decimal::ZERO {
                    p = match req.side {
                        Side::Buy => round_down(p, pf.tick_size),
                        Side::Sell => round_up(p, pf.tick_size),
                    };
                }
                if p <= Decimal::ZERO || (pf.min_price > Decimal::ZERO && p < pf.min_price) {
                    return Err(format!(
                        "PRICE_FILTER: price {} is below minPrice {}",
                        p.normalize(),
                        pf.min_price.normalize()
                    ));
                }
                if pf.max_price > Decimal::ZERO && p > pf.max_price {
                    return Err(format!(
                        "PRICE_FILTER: price {} is above maxPrice {}",
                        p.normalize(),
                        pf.max_price.normalize()
                    ));
                }
            }
            out.limit_price = Some(p.normalize());
        }
        let price = if market { last_price } else { out.limit_price };
        if let Some(price) = price {
            let notional = out.quantity * price;
            for (name, f) in [
                ("NOTIONAL", self.notional),
                ("MIN_NOTIONAL", self.min_notional),
            ] {
                let Some(f) = f else { continue };
                if (!market || f.apply_min_to_market) && notional < f.min_notional {
                    return Err(format!(
                        "{name}: notional {} is below minNotional {}",
                        notional.normalize(),
                        f.min_notional.normalize()
                    ));
                }
                if f.max_notional > Decimal::ZERO && notional > f.max_notional {
                    return Err(format!(
                        "{name}: notional {} is above maxNotional {}",
                        notional.normalize(),
                        f.max_notional.normalize()
                    ));
                }
            }
        }
        Ok(out)
    }
}

fn check_lot(name: &str, lot: &LotSize, q: Quantity) -> Result<Quantity, String> {
    let rounded = if lot.step_size > Decimal::ZERO {
        round_down(q, lot.step_size)
    } else {
        q
    };
    if rounded <= Decimal::ZERO || rounded < lot.min_qty {
        return Err(format!(
            "{name}: quantity {} is below minQty {}",
            q.normalize(),
            lot.min_qty.normalize()
        ));
    }
    if lot.max_qty > Decimal::ZERO && rounded > lot.max_qty {
        return Err(format!(
            "{name}: quantity {} is above maxQty {}",
            rounded.normalize(),
            lot.max_qty.normalize()
        ));
    }
    Ok(rounded.normalize())
}

/// `x` rounded down to a multiple of `step` (> 0), exactly.
pub fn round_down(x: Decimal, step: Decimal) -> Decimal {
    (x / step).floor() * step
}

/// `x` rounded up to a multiple of `step` (> 0), exactly.
pub fn round_up(x: Decimal, step: Decimal) -> Decimal {
    (x / step).ceil() * step
}

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_domain::ClientOrderId;
    use rust_decimal_macros::dec;
    use serde_json::json;

    fn rules() -> SymbolRules {
        SymbolRules::parse(&json!({
            "symbol": "BTCUSDT", "baseAsset": "BTC", "quoteAsset": "USDT",
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": "0.01000000", "maxPrice": "1000000.00000000", "tickSize": "0.01000000"},
                {"filterType": "LOT_SIZE", "minQty": "0.00010000", "maxQty": "9000.00000000", "stepSize": "0.00001000"},
                {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": "100.00000000", "stepSize": "0.00000000"},
                {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": true, "maxNotional": "9000000.00000000", "avgPriceMins": 5},
                {"filterType": "ICEBERG_PARTS", "limit": 10}
            ]
        }))
        .unwrap()
    }

    fn req(side: Side, q: Decimal, limit: Option<Decimal>) -> VenueOrderRequest {
        let id = ClientOrderId::parse("fl-t-1").unwrap();
        match limit {
            Some(p) => VenueOrderRequest::limit(id, "BTC-USDT".into(), side, q, p),
            None => VenueOrderRequest::market(id, "BTC-USDT".into(), side, q),
        }
    }

    #[test]
    fn filters_parse_exactly() {
        let r = rules();
        assert_eq!(r.lot.unwrap().step_size, dec!(0.00001));
        assert_eq!(r.price.unwrap().tick_size, dec!(0.01));
        assert_eq!(r.notional.unwrap().min_notional, dec!(5));
        assert_eq!(r.market_lot.unwrap().max_qty, dec!(100));
        assert_eq!((r.base.as_str(), r.quote.as_str()), ("BTC", "USDT"));
    }

    #[test]
    fn quantity_rounds_down_and_limits_round_away_from_the_market() {
        let r = rules();
        let buy = r
            .prepare(
                &req(Side::Buy, dec!(0.123456789), Some(dec!(50000.129))),
                None,
            )
            .unwrap();
        assert_eq!(buy.quantity, dec!(0.12345));
        assert_eq!(buy.limit_price, Some(dec!(50000.12)));
        let sell = r
            .prepare(
                &req(Side::Sell, dec!(0.123456789), Some(dec!(50000.121))),
                None,
            )
            .unwrap();
        assert_eq!(sell.limit_price, Some(dec!(50000.13)));
        // On the grid already: unchanged, and prepare is idempotent.
        let again = r.prepare(&buy, None).unwrap();
        assert_eq!(again, buy);
    }

    #[test]
    fn below_a_minimum_is_refused_with_the_filter_named() {
        let r = rules();
        let e = r
            .prepare(&req(Side::Buy, dec!(0.00001), Some(dec!(50000))), None)
            .unwrap_err();
        assert_eq!(e, "LOT_SIZE: quantity 0.00001 is below minQty 0.0001");
        let e = r
            .prepare(&req(Side::Buy, dec!(0.0001), Some(dec!(100))), None)
            .unwrap_err();
        assert_eq!(e, "NOTIONAL: notional 0.01 is below minNotional 5");
        // A market order is checked against the last price when there is one.
        let e = r
            .prepare(&req(Side::Buy, dec!(0.0001), None), Some(dec!(20000)))
            .unwrap_err();
        assert_eq!(e, "NOTIONAL: notional 2 is below minNotional 5");
        assert!(r.prepare(&req(Side::Buy, dec!(0.0001), None), None).is_ok());
        let e = r
            .prepare(&req(Side::Buy, dec!(101), None), None)
            .unwrap_err();
        assert_eq!(e, "MARKET_LOT_SIZE: quantity 101 is above maxQty 100");
        let e = r
            .prepare(&req(Side::Buy, dec!(1), Some(dec!(0.001))), None)
            .unwrap_err();
        assert!(e.starts_with("PRICE_FILTER"), "{e}");
    }

    #[test]
    fn rounding_is_exact_over_many_values() {
        // Property: for every step and value, the result is on the grid, not above the
        // value, and less than one step below it.
        for step in [dec!(0.00001), dec!(0.001), dec!(0.5), dec!(1), dec!(0.25)] {
            for i in 1..400i64 {
                let x = Decimal::new(i * 7919, 5);
                let d = round_down(x, step);
                let u = round_up(x, step);
                assert_eq!((d / step).fract(), Decimal::ZERO);
                assert_eq!((u / step).fract(), Decimal::ZERO);
                assert!(d <= x && x - d < step, "{x} {step} {d}");
                assert!(u >= x && u - x < step, "{x} {step} {u}");
            }
        }
    }
}
