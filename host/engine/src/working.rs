//! Working orders in risk: an order that has been approved but has not filled yet still
//! reserves its notional, exposure, position slot and cash. Risk sees them through a
//! projection of the book in which every working order has filled, so the same gates that
//! hold for positions hold for positions plus working orders.

use crate::Portfolio;
use flotilla_domain::{BotId, Decimal, Fill, OrderId, Price, Quantity, Side, Symbol, Timestamp};

/// What one working order still reserves: its unfilled quantity at its limit price (or,
/// for a market order, the price it was approved at).
#[derive(Clone, Debug, PartialEq)]
pub struct Reservation {
    /// The order.
    pub order: OrderId,
    /// Its bot.
    pub bot: BotId,
    /// Its symbol.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// The quantity not filled yet.
    pub quantity: Quantity,
    /// The price it would fill at.
    pub price: Price,
}

/// `portfolio` as it would be if every reservation filled now (no fees): what risk
/// evaluates a new intent against while orders are working.
pub fn project<'a>(
    portfolio: &Portfolio,
    reservations: impl IntoIterator<Item = &'a Reservation>,
) -> Portfolio {
    let mut projected = portfolio.clone();
    for r in reservations {
        if r.quantity <= Decimal::ZERO || r.price <= Decimal::ZERO {
            continue;
        }
        projected.apply_fill(&Fill {
            order_id: r.order,
            bot: r.bot.clone(),
            symbol: r.symbol.clone(),
            side: r.side,
            quantity: r.quantity,
            price: r.price,
            fee: Decimal::ZERO,
            time: Timestamp(0),
            trade_id: String::new(),
            tag: String::new(),
        });
    }
    projected
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn a_working_buy_reserves_cash_position_and_a_slot() {
        let book = Portfolio::new(dec!(1000));
        let r = Reservation {
            order: OrderId(1),
            bot: "a".into(),
            symbol: "X".into(),
            side: Side::Buy,
            quantity: dec!(3),
            price: dec!(100),
        };
        let p = project(&book, [&r]);
        assert_eq!(p.cash(), dec!(700));
        assert_eq!(p.quantity(&"a".into(), &"X".into()), dec!(3));
        assert_eq!(p.open_positions(), 1);
        assert_eq!(book.open_positions(), 0, "the book itself is untouched");
        // A filled reservation (nothing left) reserves nothing.
        let done = Reservation {
            quantity: dec!(0),
            ..r
        };
        assert_eq!(project(&book, [&done]).cash(), dec!(1000));
    }
}
