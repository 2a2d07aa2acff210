//! Working orders in risk: an order that has been approved but has not filled yet still
//! reserves its notional, exposure, position slot and cash. Risk sees them through a
//! projection of the book in which every working order has filled, so the same gates that
//! hold for positions hold for positions plus working orders.

use crate::Portfolio;
use flotilla_domain::{
    BotId, Decimal, Fill, Intent, OrderAction, OrderId, Price, Quantity, Side, Symbol, Timestamp,
};

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

/// The book risk evaluates a new order against while orders are working: each position
/// at its worst end, so that whichever working orders fill, in part or whole, and
/// whichever are canceled, every limit checked against it still holds.
///
/// A position with working orders may end anywhere between all its working sells filled
/// (and no buys) and all its buys filled (and no sells). The position the new order is for
/// (`focus`: bot, symbol and the order's side) stands at the end the order moves it from:
/// a buy is checked from all working buys filled, a sell from all working sells filled.
/// Every other position stands at the end farther from flat. A working close therefore
/// frees nothing until it fills: its cancel could leave the position open.
pub fn project(
    portfolio: &Portfolio,
    reservations: &[Reservation],
    focus: Option<(&BotId, &Symbol, Side)>,
) -> Portfolio {
    let mut projected = portfolio.clone();
    let mut pairs: Vec<(&BotId, &Symbol)> =
        reservations.iter().map(|r| (&r.bot, &r.symbol)).collect();
    pairs.sort();
    pairs.dedup();
    for (bot, symbol) in pairs {
        let of = |side: Side| {
            reservations.iter().filter(move |r| {
                &r.bot == bot
                    && &r.symbol == symbol
                    && r.side == side
                    && r.quantity > Decimal::ZERO
                    && r.price > Decimal::ZERO
            })
        };
        let sum = |side: Side| of(side).map(|r| r.quantity).sum::<Decimal>();
        let side = match focus {
            Some((b, s, side)) if b == bot && s == symbol => side,
            _ => {
                let held = portfolio.quantity(bot, symbol);
                if (held + sum(Side::Buy)).abs() >= (held - sum(Side::Sell)).abs() {
                    Side::Buy
                } else {
                    Side::Sell
                }
            }
        };
        for r in of(side) {
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
    }
    projected
}

/// The signed position the bot is headed to: held plus every working order filled.
pub fn net_position(
    portfolio: &Portfolio,
    reservations: &[Reservation],
    bot: &BotId,
    symbol: &Symbol,
) -> Quantity {
    portfolio.quantity(bot, symbol)
        + reservations
            .iter()
            .filter(|r| &r.bot == bot && &r.symbol == symbol)
            .map(|r| r.side.sign() * r.quantity)
            .sum::<Decimal>()
}

/// `intent` as risk evaluates it while orders work, with the book to evaluate it against
/// ([`project`], focused on its side). A target is measured from where the working orders
/// are taking the position ([`net_position`]), so an order that is already on its way is
/// not sent twice, and rewritten as the target that asks for that change from the
/// projected position.
pub fn against_working(
    intent: &Intent,
    portfolio: &Portfolio,
    reservations: &[Reservation],
) -> (Intent, Portfolio) {
    let (bot, symbol) = (&intent.bot, &intent.symbol);
    let (side, delta) = match intent.action {
        OrderAction::Buy(_) => (Side::Buy, None),
        OrderAction::Sell(_) => (Side::Sell, None),
        OrderAction::Target(t) => {
            let delta = t - net_position(portfolio, reservations, bot, symbol);
            let side = if delta.is_sign_negative() && !delta.is_zero() {
                Side::Sell
            } else {
                Side::Buy
            };
            (side, Some(delta))
        }
    };
    let projected = project(portfolio, reservations, Some((bot, symbol, side)));
    let mut intent = intent.clone();
    if let Some(delta) = delta {
        intent.action = OrderAction::Target(projected.quantity(bot, symbol) + delta);
    }
    (intent, projected)
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
        let p = project(&book, std::slice::from_ref(&r), None);
        assert_eq!(p.cash(), dec!(700));
        assert_eq!(p.quantity(&"a".into(), &"X".into()), dec!(3));
        assert_eq!(p.open_positions(), 1);
        assert_eq!(book.open_positions(), 0, "the book itself is untouched");
        // A filled reservation (nothing left) reserves nothing.
        let done = Reservation {
            quantity: dec!(0),
            ..r.clone()
        };
        assert_eq!(project(&book, &[done], None).cash(), dec!(1000));
        // A working sell on a long position frees nothing until it fills; a sell is
        // checked from it, a buy from the position as held.
        let mut held = Portfolio::new(dec!(1000));
        held.apply_fill(&Fill {
            order_id: OrderId(9),
            bot: "a".into(),
            symbol: "X".into(),
            side: Side::Buy,
            quantity: dec!(5),
            price: dec!(100),
            fee: dec!(0),
            time: Timestamp(0),
            trade_id: String::new(),
            tag: String::new(),
        });
        let sell = Reservation {
            side: Side::Sell,
            quantity: dec!(5),
            ..r
        };
        let (a, x) = (BotId::new("a"), Symbol::new("X"));
        let sells = std::slice::from_ref(&sell);
        assert_eq!(project(&held, sells, None).quantity(&a, &x), dec!(5));
        assert_eq!(
            project(&held, sells, Some((&a, &x, Side::Buy))).quantity(&a, &x),
            dec!(5)
        );
        assert_eq!(
            project(&held, sells, Some((&a, &x, Side::Sell))).quantity(&a, &x),
            dec!(0)
        );
        assert_eq!(net_position(&held, sells, &a, &x), dec!(0));
    }
}
