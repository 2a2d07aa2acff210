//! Order intents from bots, the orders the host routes, fills and positions.

use crate::{
    BotId, ClientOrderId, Money, OrderId, OrderType, Price, Quantity, Symbol, TimeInForce,
    Timestamp,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Buy or sell.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Buy: increases a position.
    Buy,
    /// Sell: decreases a position (or opens a short).
    Sell,
}

impl Side {
    /// +1 for buy, -1 for sell.
    pub fn sign(self) -> Decimal {
        match self {
            Side::Buy => Decimal::ONE,
            Side::Sell => Decimal::NEGATIVE_ONE,
        }
    }
    /// The other side.
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
    /// `buy` or `sell`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}

/// What a bot asks for: an amount to trade, or the signed position it wants to hold.
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderAction {
    /// Buy this many units.
    Buy(Quantity),
    /// Sell this many units.
    Sell(Quantity),
    /// Hold this signed position (positive long, negative short, zero flat).
    Target(Quantity),
}

/// How far a trailing stop follows the best price.
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrailDistance {
    /// A multiple of the host's ATR (Wilder's, 14 bars of the symbol as they arrive).
    Atr(f64),
    /// A fraction of the best price.
    Percent(f64),
    /// A fixed price distance.
    Absolute(Price),
}

/// A trailing stop, optionally armed only once the trade is `activate_at_r` R in profit.
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
pub struct TrailingStop {
    /// Distance behind the best price.
    pub distance: TrailDistance,
    /// Profit in R at which the trail starts; `None` = from entry.
    pub activate_at_r: Option<f64>,
}

/// Take `fraction` of the initial quantity off when price reaches `at_r` R of profit.
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
pub struct ScaleOut {
    /// Profit level in R (R = |entry − stop|).
    pub at_r: f64,
    /// Fraction of the initial quantity to sell.
    pub fraction: f64,
}

/// A bot's validated wish to trade, before risk and sizing.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Intent {
    /// The bot that asked.
    pub bot: BotId,
    /// The instrument.
    pub symbol: Symbol,
    /// What to do.
    pub action: OrderAction,
    /// The bot's confidence in [0, 1].
    pub confidence: f64,
    /// Optional protective stop price.
    pub stop_loss: Option<Price>,
    /// Optional profit target price.
    pub take_profit: Option<Price>,
    /// Optional trailing stop (absent in records written before contract 0.4.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trailing: Option<TrailingStop>,
    /// Partial exits at R multiples (they need `stop_loss`), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scale_outs: Vec<ScaleOut>,
    /// Market (default) or limit at `limit_price` (contract 0.7.0).
    #[serde(default, skip_serializing_if = "is_market")]
    pub order_type: OrderType,
    /// The limit price of a limit order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_price: Option<Price>,
    /// How long the order stays working (default `day`).
    #[serde(default, skip_serializing_if = "is_day")]
    pub time_in_force: TimeInForce,
    /// A free tag the bot attaches, echoed on fills.
    pub tag: String,
}

fn is_market(t: &OrderType) -> bool {
    *t == OrderType::Market
}

fn is_day(t: &TimeInForce) -> bool {
    *t == TimeInForce::Day
}

impl Intent {
    /// The signed change of position this intent asks for, given the bot's current position.
    pub fn delta(&self, current: Quantity) -> Quantity {
        match self.action {
            OrderAction::Buy(q) => q,
            OrderAction::Sell(q) => -q,
            OrderAction::Target(t) => t - current,
        }
    }
}

/// A market order the host sends to a broker after risk approved it.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct OrderRequest {
    /// The host's order id.
    pub id: OrderId,
    /// The id the venue knows it by: derived from `id`, so a retry of the same order
    /// carries the same one.
    pub client_id: ClientOrderId,
    /// The bot the order is for.
    pub bot: BotId,
    /// The instrument.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Units, always positive.
    pub quantity: Quantity,
    /// When the host sent it.
    pub time: Timestamp,
    /// The bot's tag.
    pub tag: String,
    /// A host-managed exit (stop, target, trail, scale-out), not the bot's own order.
    #[serde(default)]
    pub exit: bool,
}

/// An execution reported by a broker.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Fill {
    /// The order that filled.
    pub order_id: OrderId,
    /// The bot the order was for.
    pub bot: BotId,
    /// The instrument.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Units filled, always positive.
    pub quantity: Quantity,
    /// Execution price, slippage included.
    pub price: Price,
    /// Fees charged.
    pub fee: Money,
    /// Execution time.
    pub time: Timestamp,
    /// The venue's id of this execution: a second fill of the same order with the same
    /// trade id is a duplicate and is ignored (empty in records from before the order
    /// lifecycle, which cannot be deduplicated).
    #[serde(default)]
    pub trade_id: String,
    /// The bot's tag.
    pub tag: String,
}

/// A bot's holding in one symbol.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
pub struct Position {
    /// Signed units: positive long, negative short.
    pub quantity: Quantity,
    /// Average entry price of the open quantity.
    pub avg_price: Price,
    /// Realised profit and loss so far, fees excluded.
    pub realized_pnl: Money,
    /// Fees paid so far.
    pub fees: Money,
}

impl Position {
    /// Applies a fill; returns the PnL it realised (fees excluded).
    pub fn apply(&mut self, side: Side, qty: Quantity, price: Price, fee: Money) -> Money {
        let delta = side.sign() * qty;
        self.fees += fee;
        let mut realized = Decimal::ZERO;
        if self.quantity.is_zero() || self.quantity.is_sign_positive() == delta.is_sign_positive() {
            // Opening or adding: the average price moves.
            let new_qty = self.quantity + delta;
            self.avg_price = (self.avg_price * self.quantity.abs() + price * qty) / new_qty.abs();
            self.quantity = new_qty;
        } else {
            // Reducing, closing or flipping.
            let closed = qty.min(self.quantity.abs());
            let dir = if self.quantity.is_sign_positive() {
                Decimal::ONE
            } else {
                Decimal::NEGATIVE_ONE
            };
            realized = (price - self.avg_price) * closed * dir;
            self.quantity += delta;
            if self.quantity.is_zero() {
                self.avg_price = Decimal::ZERO;
            } else if self.quantity.is_sign_positive() != dir.is_sign_positive() {
                self.avg_price = price; // flipped: the remainder opened at this price
            }
        }
        self.realized_pnl += realized;
        realized
    }

    /// Unrealised PnL at `mark`.
    pub fn unrealized(&self, mark: Price) -> Money {
        (mark - self.avg_price) * self.quantity
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn position_open_add_reduce_flip() {
        let mut p = Position::default();
        assert_eq!(p.apply(Side::Buy, dec!(10), dec!(100), dec!(1)), dec!(0));
        p.apply(Side::Buy, dec!(10), dec!(110), dec!(1));
        assert_eq!(p.avg_price, dec!(105));
        assert_eq!(p.apply(Side::Sell, dec!(5), dec!(120), dec!(1)), dec!(75));
        assert_eq!(p.quantity, dec!(15));
        // Flip: close 15 at 100 (loss 75), open 5 short at 100.
        assert_eq!(p.apply(Side::Sell, dec!(20), dec!(100), dec!(1)), dec!(-75));
        assert_eq!(p.quantity, dec!(-5));
        assert_eq!(p.avg_price, dec!(100));
        assert_eq!(p.unrealized(dec!(90)), dec!(50));
        assert_eq!(p.fees, dec!(4));
        assert_eq!(p.realized_pnl, dec!(0));
    }

    #[test]
    fn intent_delta_for_targets() {
        let i = Intent {
            bot: "b".into(),
            symbol: "X".into(),
            action: OrderAction::Target(dec!(-3)),
            confidence: 1.0,
            stop_loss: None,
            take_profit: None,
            trailing: None,
            scale_outs: Vec::new(),
            order_type: Default::default(),
            limit_price: None,
            time_in_force: Default::default(),
            tag: String::new(),
        };
        assert_eq!(i.delta(dec!(2)), dec!(-5));
    }
}
