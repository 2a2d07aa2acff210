//! One matching model for the paper venue and backtests: whether, how much and at what price
//! an order fills against a bar or a tick. Pure (no I/O, no clock): the caller books the
//! outcome on the order as [`flotilla_domain::OrderEvent`]s.
//!
//! Prices are compared and filled as ledger prices (6 decimals, [`to_price`]), as the
//! paper broker does.

use crate::PaperConfig;
use flotilla_domain::{
    Bar, Decimal, Money, Order, OrderType, Price, Quantity, Side, TimeInForce, Timestamp, to_price,
};
use rust_decimal::RoundingStrategy;
use rust_decimal::prelude::FromPrimitive;

/// Execution costs: the paper broker's config itself, so paper fills and backtest fills
/// cannot be priced by two different sets of numbers.
pub type Costs = PaperConfig;

/// One basis point is 1/10,000.
const BPS: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);

impl PaperConfig {
    /// The fee on a fill of `notional`: `fee_bps` of it to the cent, at least `min_fee`.
    pub fn fee(&self, notional: Money) -> Money {
        (notional * self.fee_bps / BPS)
            .round_dp(2)
            .max(self.min_fee)
    }

    /// `reference` moved `slippage_bps` against `side` (buys pay more), to 6 decimals.
    pub fn slipped(&self, reference: Price, side: Side) -> Price {
        let slip = reference * self.slippage_bps / BPS;
        match side {
            Side::Buy => reference + slip,
            Side::Sell => reference - slip,
        }
        .round_dp(6)
    }
}

/// An execution the model decided on.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Execution {
    /// Units, positive.
    pub quantity: Quantity,
    /// Price, slippage included.
    pub price: Price,
    /// Fee, by [`PaperConfig::fee`].
    pub fee: Money,
}

/// What becomes of the order's unfilled rest.
#[derive(Clone, PartialEq, Debug)]
pub enum Remainder {
    /// Nothing is left: the order filled completely.
    Filled,
    /// It keeps working, for a later bar or tick.
    Rest,
    /// It expires: an IOC's rest, a FOK that could not fill whole, either after its bar.
    Expire {
        /// Why, for the log.
        reason: String,
    },
    /// The model cannot match the order as given (done, or malformed).
    Reject {
        /// Why, for the log.
        reason: String,
    },
}

/// The result of matching one order against one bar or tick: an optional fill, then what
/// becomes of the rest (an IOC can partly fill and expire at once).
#[derive(Clone, PartialEq, Debug)]
pub struct MatchOutcome {
    /// The execution, if any.
    pub fill: Option<Execution>,
    /// What happens to the unfilled rest.
    pub then: Remainder,
}

impl MatchOutcome {
    /// No fill; the order keeps working.
    fn rest() -> Self {
        Self {
            fill: None,
            then: Remainder::Rest,
        }
    }
    /// No fill; the order expires.
    fn expire(reason: String) -> Self {
        Self {
            fill: None,
            then: Remainder::Expire { reason },
        }
    }
}

/// Matches `order`'s remaining quantity against one closed bar, the backtest and paper bar
/// model:
///
/// - market: fills at the bar's open, slipped against the order;
/// - limit buy: fills if the low reaches the limit, at the limit, or at the open if the bar
///   opened at or below it (it gapped through: a better price); a sell mirrors it with the
///   high. No slippage: the limit already bounds the price, and a resting order is the
///   passive side;
/// - `ioc` / `fok`: matched on the `first_bar` only (afterwards they expire); an IOC's
///   unfilled rest expires, a FOK fills whole or expires with nothing;
/// - `day` / `gtc`: the rest keeps working; the caller expires day orders by `expires_at`;
/// - `max_fraction_of_volume`: at most that fraction (capped at 1) of the bar's volume
///   fills, rounded down to the remaining quantity's decimals but at least one unit of
///   them when the bar traded that much; a NaN or non-positive fraction fills nothing.
///   `None` fills the whole remainder.
///
/// A bar that fails [`Bar::validate`] (NaN, infinite or non-positive prices, high below
/// low), or whose prices round to zero, leaves the order resting, whatever its time in
/// force: a broken bar is no price to trade at, and counts as no bar. An order that is done
/// or has no positive limit price when it needs one is rejected.
pub fn match_on_bar(
    order: &Order,
    bar: &Bar,
    first_bar: bool,
    costs: &Costs,
    max_fraction_of_volume: Option<f64>,
) -> MatchOutcome {
    if let Some(reason) = unmatchable(order) {
        return MatchOutcome {
            fill: None,
            then: Remainder::Reject { reason },
        };
    }
    let tif = order.time_in_force;
    let immediate = matches!(tif, TimeInForce::Ioc | TimeInForce::Fok);
    if immediate && !first_bar {
        return MatchOutcome::expire(format!("{tif} order past its first bar"));
    }
    if bar.validate().is_err() {
        return MatchOutcome::rest();
    }
    let positive = |p: f64| to_price(p).filter(|d| *d > Price::ZERO);
    let (Some(open), Some(high), Some(low)) =
        (positive(bar.open), positive(bar.high), positive(bar.low))
    else {
        return MatchOutcome::rest();
    };
    let Some(price) = fill_price(order, open, high, low, costs) else {
        return match tif {
            TimeInForce::Ioc | TimeInForce::Fok => {
                MatchOutcome::expire(format!("{tif} limit not reached"))
            }
            TimeInForce::Day | TimeInForce::Gtc => MatchOutcome::rest(),
        };
    };
    let remaining = order.remaining();
    let available =
        max_fraction_of_volume.map_or(remaining, |f| volume_cap(f, bar.volume, remaining));
    let quantity = match tif {
        TimeInForce::Fok if available < remaining => {
            return MatchOutcome::expire(format!("fok: {available} of {remaining} available"));
        }
        _ => available,
    };
    if quantity <= Quantity::ZERO {
        return match tif {
            TimeInForce::Day | TimeInForce::Gtc => MatchOutcome::rest(),
            _ => MatchOutcome::expire(format!("{tif}: no volume to fill")),
        };
    }
    let then = if quantity == remaining {
        Remainder::Filled
    } else if tif == TimeInForce::Ioc {
        Remainder::Expire {
            reason: format!("ioc: {} of {remaining} unfilled", remaining - quantity),
        }
    } else {
        Remainder::Rest
    };
    MatchOutcome {
        fill: Some(Execution {
            quantity,
            price,
            fee: costs.fee(price * quantity),
        }),
        then,
    }
}

/// Matches `order` against a live tick at `price`, the paper venue's model: a bar whose
/// prices are all `price`, considered first (an IOC or FOK fills whole or expires), with no
/// volume limit. A market order fills at `price` slipped, exactly as
/// [`crate::PaperBroker`] fills it; a limit order fills at `price` once it reaches the
/// limit. An unusable price leaves the order resting.
pub fn match_at_price(order: &Order, price: f64, costs: &Costs) -> MatchOutcome {
    let tick = Bar {
        time: Timestamp(0),
        open: price,
        high: price,
        low: price,
        close: price,
        volume: 0.0,
    };
    match_on_bar(order, &tick, true, costs, None)
}

/// Why the model cannot match `order` at all, if it cannot.
fn unmatchable(order: &Order) -> Option<String> {
    if !order.is_working() {
        return Some(format!("order is {}", order.state));
    }
    if order.remaining() <= Quantity::ZERO {
        return Some("nothing remains to fill".into());
    }
    match (order.order_type, order.limit_price) {
        (OrderType::Limit, Some(p)) if p > Price::ZERO => None,
        (OrderType::Limit, _) => Some("limit order without a positive limit price".into()),
        (OrderType::Market, _) => None,
    }
}

/// The price `order` fills at on a bar with these prices, if it fills.
fn fill_price(order: &Order, open: Price, high: Price, low: Price, costs: &Costs) -> Option<Price> {
    let limit = match order.order_type {
        OrderType::Market => return Some(costs.slipped(open, order.side)),
        OrderType::Limit => order.limit_price?,
    };
    match order.side {
        Side::Buy => (low <= limit).then(|| open.min(limit)),
        Side::Sell => (high >= limit).then(|| open.max(limit)),
    }
}

/// The units a bar of `volume` lets fill at `fraction` of it, at most `remaining`.
fn volume_cap(fraction: f64, volume: f64, remaining: Quantity) -> Quantity {
    let Some(fraction) = Decimal::from_f64(fraction).filter(|f| *f > Decimal::ZERO) else {
        return Quantity::ZERO;
    };
    if volume.is_nan() || volume <= 0.0 {
        return Quantity::ZERO;
    }
    // `from_f64` drops the binary noise (0.1 is 0.1), so 0.3 × 3 is 0.9, not 0.8999….
    let Some(volume) = Decimal::from_f64(volume) else {
        return remaining; // beyond a decimal's range: plenty
    };
    let scale = remaining.scale();
    let Some(cap) = fraction.min(Decimal::ONE).checked_mul(volume) else {
        return remaining;
    };
    let cap = cap.round_dp_with_strategy(scale, RoundingStrategy::ToZero);
    // A thin bar still moves the order by one unit, if it traded at least that.
    let unit = Decimal::new(1, scale);
    let cap = if cap < unit && volume >= unit {
        unit
    } else {
        cap
    };
    cap.min(remaining)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Broker, PaperBroker};
    use flotilla_domain::{
        ClientOrderId, OrderEvent, OrderId, OrderRequest, OrderSpec, OrderState,
    };
    use rust_decimal_macros::dec;

    fn costs() -> Costs {
        Costs {
            slippage_bps: dec!(10),
            fee_bps: dec!(5),
            min_fee: dec!(0),
        }
    }

    fn order(side: Side, quantity: Quantity, limit: Option<Price>, tif: TimeInForce) -> Order {
        Order::new(OrderSpec {
            id: OrderId(1),
            client_id: ClientOrderId::for_order("t", OrderId(1)),
            bot: "b".into(),
            symbol: "AAPL".into(),
            side,
            quantity,
            order_type: if limit.is_some() {
                OrderType::Limit
            } else {
                OrderType::Market
            },
            limit_price: limit,
            time_in_force: tif,
            created_at: Timestamp(0),
            expires_at: None,
            tag: String::new(),
            exit: false,
        })
        .unwrap()
    }

    fn bar(open: f64, high: f64, low: f64, close: f64, volume: f64) -> Bar {
        Bar {
            time: Timestamp(60_000),
            open,
            high,
            low,
            close,
            volume,
        }
    }

    /// Matches with the test costs.
    fn on(o: &Order, b: &Bar, first_bar: bool, fraction: Option<f64>) -> MatchOutcome {
        match_on_bar(o, b, first_bar, &costs(), fraction)
    }

    /// Expired with nothing filled.
    fn expired_empty(out: &MatchOutcome) -> bool {
        out.fill.is_none() && matches!(out.then, Remainder::Expire { .. })
    }

    fn filled(quantity: Quantity, price: Price, fee: Money) -> MatchOutcome {
        MatchOutcome {
            fill: Some(Execution {
                quantity,
                price,
                fee,
            }),
            then: Remainder::Filled,
        }
    }

    #[test]
    fn a_buy_limit_gapped_through_fills_at_the_open() {
        let o = order(Side::Buy, dec!(10), Some(dec!(99)), TimeInForce::Gtc);
        let b = bar(97.0, 98.0, 96.0, 97.5, 1000.0);
        // 970 × 5 bps = 0.485 → 0.48 (half to even); no slippage on a limit fill.
        assert_eq!(
            on(&o, &b, false, None),
            filled(dec!(10), dec!(97), dec!(0.48))
        );
    }

    #[test]
    fn a_buy_limit_touched_fills_at_the_limit() {
        let o = order(Side::Buy, dec!(10), Some(dec!(99)), TimeInForce::Day);
        let b = bar(101.0, 101.5, 98.5, 100.0, 1000.0);
        // 990 × 5 bps = 0.495 → 0.50.
        assert_eq!(
            on(&o, &b, true, None),
            filled(dec!(10), dec!(99), dec!(0.50))
        );
        let missed = bar(101.0, 101.5, 99.01, 100.0, 1000.0);
        assert_eq!(on(&o, &missed, true, None), MatchOutcome::rest());
        // Exactly at the limit is reached.
        let at = bar(101.0, 101.5, 99.0, 100.0, 1000.0);
        assert_eq!(on(&o, &at, true, None).fill.unwrap().price, dec!(99));
    }

    #[test]
    fn a_sell_limit_mirrors_the_buy() {
        let o = order(Side::Sell, dec!(2), Some(dec!(101)), TimeInForce::Gtc);
        let gap_up = bar(103.0, 104.0, 102.5, 103.5, 1000.0);
        // 206 × 5 bps = 0.103 → 0.10.
        assert_eq!(
            on(&o, &gap_up, false, None),
            filled(dec!(2), dec!(103), dec!(0.10))
        );
        let touch = bar(100.0, 101.2, 99.0, 100.5, 1000.0);
        assert_eq!(on(&o, &touch, false, None).fill.unwrap().price, dec!(101));
        let below = bar(100.0, 100.9, 99.0, 100.5, 1000.0);
        assert_eq!(on(&o, &below, false, None), MatchOutcome::rest());
    }

    #[test]
    fn market_orders_fill_at_the_open_slipped_against_them() {
        let b = bar(100.0, 105.0, 95.0, 102.0, 1000.0);
        let buy = order(Side::Buy, dec!(10), None, TimeInForce::Day);
        // 100 + 10 bps = 100.1; 1001 × 5 bps = 0.5005 → 0.50.
        assert_eq!(
            on(&buy, &b, true, None),
            filled(dec!(10), dec!(100.1), dec!(0.50))
        );
        let sell = order(Side::Sell, dec!(10), None, TimeInForce::Gtc);
        let min_fee = Costs {
            min_fee: dec!(1),
            ..costs()
        };
        assert_eq!(
            match_on_bar(&sell, &b, false, &min_fee, None),
            filled(dec!(10), dec!(99.9), dec!(1))
        );
    }

    #[test]
    fn ioc_fills_what_the_volume_allows_and_the_rest_expires() {
        let o = order(Side::Buy, dec!(10), Some(dec!(99)), TimeInForce::Ioc);
        let b = bar(98.0, 99.5, 97.0, 98.5, 30.0);
        // 10% of 30 = 3 units at the open 98; 294 × 5 bps = 0.147 → 0.15.
        let out = on(&o, &b, true, Some(0.1));
        assert_eq!(
            out.fill,
            Some(Execution {
                quantity: dec!(3),
                price: dec!(98),
                fee: dec!(0.15)
            })
        );
        assert!(matches!(out.then, Remainder::Expire { .. }), "{out:?}");
        // Booked on the order, the outcome is a legal sequence.
        let mut o = o;
        for e in [OrderEvent::Submitted, OrderEvent::Accepted] {
            o.apply(&e).unwrap();
        }
        let f = out.fill.unwrap();
        o.apply(&OrderEvent::Fill {
            trade_id: "p1".into(),
            quantity: f.quantity,
            price: f.price,
            fee: f.fee,
        })
        .unwrap();
        o.apply(&OrderEvent::Expired).unwrap();
        assert_eq!((o.state, o.filled_quantity), (OrderState::Expired, dec!(3)));
        // Not reached, or after its first bar: expires with nothing.
        let high = bar(100.0, 101.0, 99.5, 100.0, 30.0);
        let fresh = order(Side::Buy, dec!(10), Some(dec!(99)), TimeInForce::Ioc);
        assert!(expired_empty(&on(&fresh, &high, true, None)));
        assert!(expired_empty(&on(&fresh, &b, false, None)));
    }

    #[test]
    fn fok_fills_whole_or_not_at_all() {
        let o = order(Side::Buy, dec!(10), None, TimeInForce::Fok);
        let b = bar(100.0, 101.0, 99.0, 100.0, 30.0);
        assert_eq!(
            on(&o, &b, true, Some(0.1)),
            MatchOutcome::expire("fok: 3 of 10 available".into())
        );
        let deep = bar(100.0, 101.0, 99.0, 100.0, 100.0);
        assert_eq!(
            on(&o, &deep, true, Some(0.1)),
            filled(dec!(10), dec!(100.1), dec!(0.50))
        );
        assert_eq!(on(&o, &deep, true, None).then, Remainder::Filled);
        assert!(expired_empty(&on(&o, &deep, false, None)));
    }

    #[test]
    fn partial_fills_round_down_to_the_quantitys_decimals() {
        let b = |volume| bar(100.0, 101.0, 99.0, 100.0, volume);
        let gtc = |q| order(Side::Buy, q, None, TimeInForce::Gtc);
        let qty = |o: &Order, v, f| on(o, &b(v), true, Some(f)).fill.map(|e| e.quantity);
        let (whole, tenths) = (gtc(dec!(10)), gtc(dec!(10.0)));
        assert_eq!(qty(&whole, 9.0, 0.25), Some(dec!(2))); // 2.25
        assert_eq!(qty(&tenths, 9.0, 0.25), Some(dec!(2.2)));
        assert_eq!(qty(&tenths, 3.0, 0.3), Some(dec!(0.9))); // not 0.8 from binary noise
        assert_eq!(qty(&whole, 50.0, 0.01), Some(dec!(1))); // 0.5: at least one unit
        assert_eq!(qty(&whole, 0.5, 0.5), None); // the bar traded less than a unit
        assert_eq!(qty(&whole, 0.0, 0.5), None);
        assert_eq!(qty(&whole, 100.0, 2.0), Some(dec!(10))); // capped at 1, then the rest
        assert_eq!(qty(&whole, 100.0, f64::NAN), None);
        assert_eq!(qty(&whole, 100.0, -0.1), None);
        let out = on(&gtc(dec!(10)), &b(9.0), true, Some(0.25));
        assert_eq!(out.then, Remainder::Rest, "a gtc's rest keeps working");
        assert_eq!(
            on(&gtc(dec!(10)), &b(0.0), true, Some(0.5)),
            MatchOutcome::rest()
        );
    }

    #[test]
    fn broken_bars_and_prices_never_fill() {
        let buy = order(Side::Buy, dec!(1), None, TimeInForce::Ioc);
        for b in [
            bar(f64::NAN, 101.0, 99.0, 100.0, 10.0),
            bar(100.0, f64::INFINITY, 99.0, 100.0, 10.0),
            bar(100.0, 101.0, 0.0, 100.0, 10.0),
            bar(-1.0, 101.0, -2.0, 100.0, 10.0),
            bar(100.0, 99.0, 101.0, 100.0, 10.0),
            bar(100.0, 101.0, 99.0, 100.0, f64::NAN),
            bar(1e-7, 1e-7, 1e-7, 1e-7, 10.0),
        ] {
            assert_eq!(on(&buy, &b, true, None), MatchOutcome::rest(), "{b:?}");
        }
        for p in [f64::NAN, 0.0, -1.0, f64::NEG_INFINITY, 1e-7] {
            assert_eq!(
                match_at_price(&buy, p, &costs()),
                MatchOutcome::rest(),
                "{p}"
            );
        }
    }

    #[test]
    fn done_or_malformed_orders_are_rejected() {
        let mut o = order(Side::Buy, dec!(1), None, TimeInForce::Gtc);
        o.apply(&OrderEvent::Rejected { reason: "x".into() })
            .unwrap();
        let b = bar(100.0, 101.0, 99.0, 100.0, 10.0);
        assert_eq!(
            on(&o, &b, true, None).then,
            Remainder::Reject {
                reason: "order is rejected".into()
            }
        );
        let mut limitless = order(Side::Buy, dec!(1), Some(dec!(99)), TimeInForce::Gtc);
        limitless.limit_price = None;
        assert!(matches!(
            match_at_price(&limitless, 98.0, &costs()).then,
            Remainder::Reject { .. }
        ));
    }

    #[test]
    fn ticks_fill_limits_at_the_tick_and_markets_like_the_paper_broker() {
        let buy = order(Side::Buy, dec!(5), Some(dec!(99)), TimeInForce::Gtc);
        // 493.5 × 5 bps = 0.24675 → 0.25.
        assert_eq!(
            match_at_price(&buy, 98.7, &costs()),
            filled(dec!(5), dec!(98.7), dec!(0.25))
        );
        assert_eq!(match_at_price(&buy, 99.2, &costs()), MatchOutcome::rest());
        let ioc = order(Side::Sell, dec!(5), Some(dec!(101)), TimeInForce::Ioc);
        assert!(expired_empty(&match_at_price(&ioc, 100.0, &costs())));

        let configs = [
            costs(),
            Costs::default(),
            Costs {
                min_fee: dec!(2.5),
                ..costs()
            },
        ];
        for config in configs {
            let mut paper = PaperBroker::new(config.clone(), dec!(1_000_000));
            for (price, qty) in [
                (100.0, dec!(10)),
                (123.456789, dec!(3.5)),
                (0.3, dec!(1000)),
                (57_321.1, dec!(0.013)),
            ] {
                for side in [Side::Buy, Side::Sell] {
                    let request = OrderRequest {
                        id: OrderId(1),
                        client_id: flotilla_domain::ClientOrderId::for_order("t", OrderId(1)),
                        exit: false,
                        bot: "b".into(),
                        symbol: "AAPL".into(),
                        side,
                        quantity: qty,
                        time: Timestamp(0),
                        tag: String::new(),
                    };
                    let paper_fill = paper.submit(&request, price, Timestamp(0)).unwrap();
                    let out =
                        match_at_price(&order(side, qty, None, TimeInForce::Day), price, &config);
                    assert_eq!(
                        out,
                        filled(paper_fill.quantity, paper_fill.price, paper_fill.fee),
                        "{price} {qty} {side:?}"
                    );
                    // Same scale too, so ledgers and reports print the same text.
                    assert_eq!(
                        out.fill.unwrap().price.to_string(),
                        paper_fill.price.to_string()
                    );
                }
            }
        }
    }
}
