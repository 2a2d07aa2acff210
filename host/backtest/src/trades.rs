//! Turning a stream of fills into round-trip trades.
//!
//! A round trip runs from flat to flat in one (bot, symbol). Fills on the entry side add to
//! it, fills on the other side reduce it; the fill that brings the position back to zero
//! closes it. A fill that crosses zero (a flip) closes the round trip with the part it
//! needs and opens a new one, on its own side, with the rest; its fee is split between the
//! two in proportion to quantity.
//!
//! Entry and exit prices are volume-weighted averages of the opening and closing fills;
//! each closing fill is also kept as an exit leg with its own price, quantity and reason.
//! From flat to flat, the realised PnL does not depend on how lots are matched (FIFO and
//! average cost agree), so it is computed exactly as closing notional minus opening notional
//! (for a long; the opposite for a short), less every fee of the round trip.

use crate::input::{ExitLeg, TradeRecord};
use flotilla_domain::{BotId, Decimal, Fill, Side, Symbol, Timestamp};
use std::collections::BTreeMap;

/// Decimal places kept in averaged prices and split fees (PnL stays exact).
const PRICE_DP: u32 = 10;

/// One fill as the tracker needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackedFill {
    /// The bot the fill is for.
    pub bot: BotId,
    /// The instrument.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Units filled, positive.
    pub quantity: Decimal,
    /// Execution price.
    pub price: Decimal,
    /// Fee charged.
    pub fee: Decimal,
    /// Execution time.
    pub time: Timestamp,
    /// Why the order was sent; becomes the exit reason if this fill closes a round trip.
    pub reason: String,
}

impl From<&Fill> for TrackedFill {
    fn from(f: &Fill) -> Self {
        Self {
            bot: f.bot.clone(),
            symbol: f.symbol.clone(),
            side: f.side,
            quantity: f.quantity,
            price: f.price,
            fee: f.fee,
            time: f.time,
            reason: f.tag.clone(),
        }
    }
}

/// An open round trip.
#[derive(Clone, Debug)]
struct Open {
    side: Side,
    /// Units still open, positive.
    open: Decimal,
    entry_qty: Decimal,
    entry_notional: Decimal,
    exit_qty: Decimal,
    exit_notional: Decimal,
    fees: Decimal,
    entry_time: Timestamp,
    exits: Vec<ExitLeg>,
}

impl Open {
    fn new(side: Side, qty: Decimal, price: Decimal, fee: Decimal, time: Timestamp) -> Self {
        Self {
            side,
            open: qty,
            entry_qty: qty,
            entry_notional: qty * price,
            exit_qty: Decimal::ZERO,
            exit_notional: Decimal::ZERO,
            fees: fee,
            entry_time: time,
            exits: Vec::new(),
        }
    }

    fn close(self, bot: BotId, symbol: Symbol, time: Timestamp, reason: String) -> TradeRecord {
        let gross = (self.exit_notional - self.entry_notional) * self.side.sign();
        let avg = |notional: Decimal, qty: Decimal| (notional / qty).round_dp(PRICE_DP).normalize();
        TradeRecord {
            bot,
            symbol,
            side: self.side,
            entry_time: self.entry_time,
            entry_price: avg(self.entry_notional, self.entry_qty),
            exit_time: time,
            exit_price: avg(self.exit_notional, self.exit_qty),
            // Normalised: split fees leave trailing zeros that would make equal amounts
            // print differently.
            quantity: self.entry_qty.normalize(),
            pnl: (gross - self.fees).normalize(),
            fees: self.fees.normalize(),
            exit_reason: reason,
            exits: self.exits,
        }
    }
}

/// Builds round-trip [`TradeRecord`]s from fills; see the module docs.
#[derive(Clone, Debug, Default)]
pub struct TradeTracker {
    open: BTreeMap<(BotId, Symbol), Open>,
    fees: BTreeMap<BotId, Decimal>,
    closed: Vec<TradeRecord>,
}

impl TradeTracker {
    /// A tracker with no positions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies a fill; returns the round trip it closed, if any (also kept in
    /// [`TradeTracker::trades`]). A zero-quantity fill only adds its fee.
    pub fn record(&mut self, fill: TrackedFill) -> Option<TradeRecord> {
        let TrackedFill {
            bot,
            symbol,
            side,
            quantity,
            price,
            fee,
            time,
            reason,
        } = fill;
        *self.fees.entry(bot.clone()).or_default() += fee;
        let key = (bot, symbol);
        let Some(open) = self.open.get_mut(&key) else {
            if !quantity.is_zero() {
                self.open
                    .insert(key, Open::new(side, quantity, price, fee, time));
            }
            return None;
        };
        if side == open.side {
            open.open += quantity;
            open.entry_qty += quantity;
            open.entry_notional += quantity * price;
            open.fees += fee;
            return None;
        }
        let closing = quantity.min(open.open);
        let rest = quantity - closing;
        let close_fee = if rest.is_zero() {
            fee
        } else {
            (fee * closing / quantity).round_dp(PRICE_DP)
        };
        open.open -= closing;
        open.exit_qty += closing;
        open.exit_notional += closing * price;
        open.fees += close_fee;
        if !closing.is_zero() {
            open.exits.push(ExitLeg {
                time,
                price,
                quantity: closing.normalize(),
                fee: close_fee.normalize(),
                reason: reason.clone(),
            });
        }
        if !open.open.is_zero() {
            return None;
        }
        let Some(done) = self.open.remove(&key) else {
            unreachable!("looked up above")
        };
        let (bot, symbol) = key;
        let trade = done.close(bot.clone(), symbol.clone(), time, reason);
        if !rest.is_zero() {
            let flipped = Open::new(side, rest, price, fee - close_fee, time);
            self.open.insert((bot, symbol), flipped);
        }
        self.closed.push(trade.clone());
        Some(trade)
    }

    /// Applies a broker fill, with its tag as the reason.
    pub fn record_fill(&mut self, fill: &Fill) -> Option<TradeRecord> {
        self.record(fill.into())
    }

    /// Closes every open round trip whose symbol has a price in `marks`, as if by a fill
    /// at that price with no fee (e.g. at the end of the data, reason `end_of_data`).
    /// Returns the trades closed, in (bot, symbol) order.
    pub fn close_all(
        &mut self,
        time: Timestamp,
        marks: &BTreeMap<Symbol, Decimal>,
        reason: &str,
    ) -> Vec<TradeRecord> {
        let keys: Vec<(BotId, Symbol, Side, Decimal)> = self
            .open
            .iter()
            .filter(|((_, s), _)| marks.contains_key(s))
            .map(|((b, s), o)| (b.clone(), s.clone(), o.side, o.open))
            .collect();
        let mut out = Vec::with_capacity(keys.len());
        for (bot, symbol, side, qty) in keys {
            let price = marks[&symbol];
            let fill = TrackedFill {
                bot,
                symbol,
                side: side.opposite(),
                quantity: qty,
                price,
                fee: Decimal::ZERO,
                time,
                reason: reason.to_string(),
            };
            out.extend(self.record(fill));
        }
        out
    }

    /// Open positions as (bot, symbol, signed quantity), in (bot, symbol) order.
    pub fn open_positions(&self) -> impl Iterator<Item = (&BotId, &Symbol, Decimal)> {
        self.open
            .iter()
            .map(|((b, s), o)| (b, s, o.open * o.side.sign()))
    }

    /// Fees of every fill of `bot` so far, open round trips included.
    pub fn fees_paid(&self, bot: &BotId) -> Decimal {
        self.fees.get(bot).copied().unwrap_or_default()
    }

    /// The round trips closed so far, in the order they closed.
    pub fn trades(&self) -> &[TradeRecord] {
        &self.closed
    }

    /// The round trips closed, in the order they closed.
    pub fn into_trades(self) -> Vec<TradeRecord> {
        self.closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn fill(side: Side, qty: Decimal, price: Decimal, fee: Decimal, t: i64) -> TrackedFill {
        TrackedFill {
            bot: "b".into(),
            symbol: "X".into(),
            side,
            quantity: qty,
            price,
            fee,
            time: Timestamp(t),
            reason: format!("r{t}"),
        }
    }

    #[test]
    fn scale_in_and_out_makes_one_round_trip() {
        let mut t = TradeTracker::new();
        assert_eq!(
            t.record(fill(Side::Buy, dec!(10), dec!(100), dec!(1), 1)),
            None
        );
        assert_eq!(
            t.record(fill(Side::Sell, dec!(5), dec!(110), dec!(1), 2)),
            None
        );
        assert_eq!(
            t.record(fill(Side::Buy, dec!(5), dec!(120), dec!(1), 3)),
            None
        );
        let done = t
            .record(fill(Side::Sell, dec!(10), dec!(115), dec!(1), 4))
            .unwrap();
        // Opened 15 for 1000 + 600 = 1600, closed 15 for 550 + 1150 = 1700: gross +100,
        // the same as average cost (+50 on the first exit, +50 on the second). Fees 4.
        assert_eq!(done.quantity, dec!(15));
        assert_eq!(done.entry_price, dec!(106.6666666667));
        assert_eq!(done.exit_price, dec!(113.3333333333));
        assert_eq!((done.pnl, done.fees), (dec!(96), dec!(4)));
        assert_eq!(
            (done.entry_time, done.exit_time),
            (Timestamp(1), Timestamp(4))
        );
        assert_eq!((done.side, done.exit_reason.as_str()), (Side::Buy, "r4"));
        // Both reducing fills are legs, with their own price, quantity, fee and reason;
        // the scale-in between them is not.
        let legs: Vec<_> = done
            .exits
            .iter()
            .map(|l| (l.time, l.price, l.quantity, l.fee, l.reason.as_str()))
            .collect();
        assert_eq!(
            legs,
            vec![
                (Timestamp(2), dec!(110), dec!(5), dec!(1), "r2"),
                (Timestamp(4), dec!(115), dec!(10), dec!(1), "r4"),
            ]
        );
        assert_eq!(t.open_positions().count(), 0);
        assert_eq!(t.trades(), &[done]);
    }

    #[test]
    fn a_flip_closes_one_trade_and_opens_another() {
        let mut t = TradeTracker::new();
        t.record(fill(Side::Buy, dec!(10), dec!(100), dec!(2), 1));
        // Sell 15 at 90: closes the long 10 (gross -100) and opens 5 short; the fee of 3
        // splits 2 to the close (10/15) and 1 to the new short (5/15).
        let long = t
            .record(fill(Side::Sell, dec!(15), dec!(90), dec!(3), 2))
            .unwrap();
        assert_eq!((long.pnl, long.fees), (dec!(-104), dec!(4)));
        assert_eq!(long.exit_price, dec!(90));
        // The leg is the closing part of the fill only, with its share of the fee.
        let leg = &long.exits[..];
        assert_eq!(leg.len(), 1);
        assert_eq!((leg[0].quantity, leg[0].fee), (dec!(10), dec!(2)));
        let open: Vec<_> = t.open_positions().map(|(_, _, q)| q).collect();
        assert_eq!(open, vec![dec!(-5)]);
        // Buy back 5 at 80: the short made 5 x 10 = 50 less fees 1 + 0.5.
        let short = t
            .record(fill(Side::Buy, dec!(5), dec!(80), dec!(0.5), 3))
            .unwrap();
        assert_eq!(short.side, Side::Sell);
        assert_eq!((short.entry_price, short.exit_price), (dec!(90), dec!(80)));
        assert_eq!((short.pnl, short.fees), (dec!(48.5), dec!(1.5)));
        assert_eq!(short.entry_time, Timestamp(2));
        assert_eq!(t.fees_paid(&"b".into()), dec!(5.5));
        assert_eq!(t.fees_paid(&"other".into()), dec!(0));
        assert_eq!(t.into_trades().len(), 2);
    }

    #[test]
    fn bots_and_symbols_are_tracked_apart() {
        let mut t = TradeTracker::new();
        t.record(fill(Side::Buy, dec!(1), dec!(10), dec!(0), 1));
        let other_bot = TrackedFill {
            bot: "c".into(),
            ..fill(Side::Sell, dec!(1), dec!(12), dec!(0), 2)
        };
        assert_eq!(
            t.record(other_bot),
            None,
            "c opened a short, b is untouched"
        );
        let other_symbol = TrackedFill {
            symbol: "Y".into(),
            ..fill(Side::Sell, dec!(1), dec!(12), dec!(0), 3)
        };
        assert_eq!(t.record(other_symbol), None);
        assert_eq!(t.open_positions().count(), 3);
        let marks = BTreeMap::from([(Symbol::new("X"), dec!(11))]);
        let closed = t.close_all(Timestamp(9), &marks, "end_of_data");
        // b long 1 at 10 -> +1; c short 1 at 12 -> +1; Y has no mark and stays open.
        let got: Vec<_> = closed.iter().map(|c| (c.bot.to_string(), c.pnl)).collect();
        assert_eq!(
            got,
            vec![("b".to_string(), dec!(1)), ("c".to_string(), dec!(1))]
        );
        assert!(closed.iter().all(|c| c.exit_reason == "end_of_data"));
        assert_eq!(t.open_positions().count(), 1);
    }

    #[test]
    fn broker_fills_are_accepted() {
        let mut t = TradeTracker::new();
        let f = Fill {
            order_id: flotilla_domain::OrderId(1),
            bot: "b".into(),
            symbol: "X".into(),
            side: Side::Sell,
            quantity: dec!(2),
            price: dec!(50),
            fee: dec!(0.1),
            time: Timestamp(5),
            trade_id: String::new(),
            tag: "entry".into(),
        };
        assert_eq!(t.record_fill(&f), None);
        let back = Fill {
            side: Side::Buy,
            price: dec!(55),
            trade_id: String::new(),
            tag: "stop_loss".into(),
            time: Timestamp(6),
            ..f
        };
        let tr = t.record_fill(&back).unwrap();
        assert_eq!(
            (tr.pnl, tr.exit_reason.as_str()),
            (dec!(-10.2), "stop_loss")
        );
        // A zero fill changes nothing but fees.
        assert_eq!(
            t.record(fill(Side::Buy, dec!(0), dec!(1), dec!(0.3), 7)),
            None
        );
        assert_eq!(t.open_positions().count(), 0);
    }
}
