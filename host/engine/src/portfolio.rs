//! Portfolio accounting: cash, per-(bot, symbol) positions and incremental aggregates.
//!
//! Every aggregate the risk chain needs (net and gross quantity per symbol, holders per
//! underlying, gross cost per bot and fleet-wide, position counts) is updated on each fill,
//! so a risk check never walks the positions.

use crate::underlying::UnderlyingRules;
use flotilla_domain::{BotId, Fill, Money, Position, Price, Quantity, Side, Symbol, Timestamp};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
// Fx-hashed: looked up per bot and symbol on every bar (equity curves), keyed by registry
// ids (not adversarial); sums over them do not depend on the iteration order.
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// One bot's book: its positions and running totals.
#[derive(Clone, Debug, Default)]
pub struct BotBook {
    positions: HashMap<Symbol, Position>,
    /// Realised PnL summed over every symbol, fees excluded.
    pub realized_pnl: Money,
    /// Fees paid summed over every symbol.
    pub fees: Money,
    open: usize,
    gross_cost: Money,
}

impl BotBook {
    /// Number of non-flat positions of the bot.
    pub fn open_positions(&self) -> usize {
        self.open
    }
    /// Sum of |quantity| × average price over the bot's positions.
    pub fn gross_cost(&self) -> Money {
        self.gross_cost
    }
}

/// Fleet-wide aggregates for one symbol.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SymbolExposure {
    /// Signed sum of the bots' quantities.
    pub net_qty: Quantity,
    /// Sum of |quantity| over bots.
    pub gross_qty: Quantity,
    /// Sum of |quantity| × average price over bots.
    pub gross_cost: Money,
}

/// Which bots hold an underlying long and short (count of their symbols on each side).
#[derive(Clone, Debug, Default)]
// BTreeMap: the bot reported in a refusal must not depend on hash order (determinism).
struct UnderlyingHolders {
    long: BTreeMap<BotId, u32>,
    short: BTreeMap<BotId, u32>,
}

/// A round trip that ended: the position went flat or flipped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClosedTrade {
    /// The bot that traded.
    pub bot: BotId,
    /// The instrument.
    pub symbol: Symbol,
    /// The side of the position that was closed (buy = it was long).
    pub side: Side,
    /// Realised PnL of the round trip, net of all its fees.
    pub pnl: Money,
    /// Largest cost of the position while open (|qty| × avg price), the return's base.
    pub entry_notional: Money,
    /// `pnl / entry_notional`, for statistics.
    pub ret: f64,
    /// When the position opened.
    pub opened_at: Timestamp,
    /// When it closed.
    pub closed_at: Timestamp,
}

/// What one fill did to the book.
#[derive(Clone, Debug, PartialEq)]
pub struct FillOutcome {
    /// PnL realised by the fill, fees excluded.
    pub realized: Money,
    /// The round trip the fill completed, if any.
    pub closed_trade: Option<ClosedTrade>,
    /// The bot's position in the symbol after the fill.
    pub position_after: Quantity,
}

/// Running accumulator of an open round trip.
#[derive(Clone, Debug)]
struct OpenTrade {
    pnl: Money,
    max_cost: Money,
    opened_at: Timestamp,
}

/// Identifies one portfolio value (a clone gets a new id), for caches keyed by its version.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PortfolioId(u64);

impl PortfolioId {
    fn fresh() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl Clone for PortfolioId {
    fn clone(&self) -> Self {
        // A clone diverges from the original, so it must not share cached aggregates.
        Self::fresh()
    }
}

/// Cash, positions and aggregates of the whole fleet.
#[derive(Clone, Debug)]
pub struct Portfolio {
    id: PortfolioId,
    version: u64,
    starting_cash: Money,
    cash: Money,
    bots: HashMap<BotId, BotBook>,
    symbols: HashMap<Symbol, SymbolExposure>,
    holders: HashMap<Symbol, UnderlyingHolders>,
    underlying_of: HashMap<Symbol, Symbol>,
    rules: UnderlyingRules,
    trades: HashMap<(BotId, Symbol), OpenTrade>,
    open: usize,
    gross_cost: Money,
    net_cost: Money,
}

impl Portfolio {
    /// An empty portfolio with `starting_cash`; underlying = exact symbol.
    pub fn new(starting_cash: Money) -> Self {
        Self::with_underlying_rules(starting_cash, UnderlyingRules::default())
    }

    /// An empty portfolio whose underlyings are derived by `rules`.
    pub fn with_underlying_rules(starting_cash: Money, rules: UnderlyingRules) -> Self {
        Self {
            id: PortfolioId::fresh(),
            version: 0,
            starting_cash,
            cash: starting_cash,
            bots: HashMap::default(),
            symbols: HashMap::default(),
            holders: HashMap::default(),
            underlying_of: HashMap::default(),
            rules,
            trades: HashMap::default(),
            open: 0,
            gross_cost: Decimal::ZERO,
            net_cost: Decimal::ZERO,
        }
    }

    /// This portfolio's identity and how many fills it has applied: equal pairs mean
    /// equal contents, so derived sums can be cached.
    pub fn version(&self) -> (u64, u64) {
        (self.id.0, self.version)
    }

    /// The cash the portfolio started with.
    pub fn starting_cash(&self) -> Money {
        self.starting_cash
    }

    /// Cash now: starting cash minus purchases plus sales minus fees.
    pub fn cash(&self) -> Money {
        self.cash
    }

    /// The rules that map a symbol to its underlying.
    pub fn underlying_rules(&self) -> &UnderlyingRules {
        &self.rules
    }

    /// The underlying of `symbol` (cached for symbols that were traded).
    pub fn underlying(&self, symbol: &Symbol) -> Symbol {
        match self.underlying_of.get(symbol) {
            Some(u) => u.clone(),
            None => self.rules.underlying(symbol),
        }
    }

    /// Applies a fill; returns the PnL it realised (fees excluded).
    pub fn apply_fill(&mut self, fill: &Fill) -> Money {
        self.apply_fill_detailed(fill).realized
    }

    /// Applies a fill and reports the realised PnL and any round trip it completed.
    pub fn apply_fill_detailed(&mut self, fill: &Fill) -> FillOutcome {
        self.version += 1;
        let underlying = self.underlying_or_insert(&fill.symbol);
        let book = self.bots.entry(fill.bot.clone()).or_default();
        let pos = book.positions.entry(fill.symbol.clone()).or_default();
        let before_qty = pos.quantity;
        let before_cost = pos.quantity.abs() * pos.avg_price;
        let before_signed = pos.quantity * pos.avg_price;

        let realized = pos.apply(fill.side, fill.quantity, fill.price, fill.fee);
        let after_qty = pos.quantity;
        let after_cost = pos.quantity.abs() * pos.avg_price;
        let after_signed = pos.quantity * pos.avg_price;

        book.realized_pnl += realized;
        book.fees += fill.fee;
        book.gross_cost += after_cost - before_cost;
        let was_open = !before_qty.is_zero();
        let is_open = !after_qty.is_zero();
        match (was_open, is_open) {
            (false, true) => book.open += 1,
            (true, false) => book.open -= 1,
            _ => {}
        }
        if !is_open {
            book.positions.remove(&fill.symbol);
        }
        match (was_open, is_open) {
            (false, true) => self.open += 1,
            (true, false) => self.open -= 1,
            _ => {}
        }

        self.cash -= fill.side.sign() * fill.quantity * fill.price + fill.fee;
        self.gross_cost += after_cost - before_cost;
        self.net_cost += after_signed - before_signed;

        let sym = self.symbols.entry(fill.symbol.clone()).or_default();
        sym.net_qty += after_qty - before_qty;
        sym.gross_qty += after_qty.abs() - before_qty.abs();
        sym.gross_cost += after_cost - before_cost;

        if sign(before_qty) != sign(after_qty) {
            let h = self.holders.entry(underlying.clone()).or_default();
            if before_qty.is_sign_positive() && was_open {
                dec_holder(&mut h.long, &fill.bot);
            } else if was_open {
                dec_holder(&mut h.short, &fill.bot);
            }
            if after_qty.is_sign_positive() && is_open {
                *h.long.entry(fill.bot.clone()).or_default() += 1;
            } else if is_open {
                *h.short.entry(fill.bot.clone()).or_default() += 1;
            }
        }

        let closed_trade = self.track_trade(fill, realized, before_qty, after_qty, after_cost);
        FillOutcome {
            realized,
            closed_trade,
            position_after: after_qty,
        }
    }

    fn track_trade(
        &mut self,
        fill: &Fill,
        realized: Money,
        before: Quantity,
        after: Quantity,
        after_cost: Money,
    ) -> Option<ClosedTrade> {
        let key = (fill.bot.clone(), fill.symbol.clone());
        let flipped_or_closed = !before.is_zero() && sign(before) != sign(after);
        let mut closed = None;
        if flipped_or_closed {
            if let Some(t) = self.trades.remove(&key) {
                // The whole fee is charged to the closing trade; a flip's opening leg starts clean.
                let pnl = t.pnl + realized - fill.fee;
                let ret = if t.max_cost.is_zero() {
                    0.0
                } else {
                    f64::try_from(pnl / t.max_cost).unwrap_or(0.0)
                };
                closed = Some(ClosedTrade {
                    bot: fill.bot.clone(),
                    symbol: fill.symbol.clone(),
                    side: if before.is_sign_positive() {
                        Side::Buy
                    } else {
                        Side::Sell
                    },
                    pnl,
                    entry_notional: t.max_cost,
                    ret,
                    opened_at: t.opened_at,
                    closed_at: fill.time,
                });
            }
        } else if let Some(t) = self.trades.get_mut(&key) {
            t.pnl += realized - fill.fee;
            t.max_cost = t.max_cost.max(after_cost);
        }
        if !after.is_zero() && (before.is_zero() || flipped_or_closed) {
            let pnl = if before.is_zero() {
                -fill.fee
            } else {
                Decimal::ZERO
            };
            self.trades.insert(
                key,
                OpenTrade {
                    pnl,
                    max_cost: after_cost,
                    opened_at: fill.time,
                },
            );
        }
        closed
    }

    fn underlying_or_insert(&mut self, symbol: &Symbol) -> Symbol {
        if let Some(u) = self.underlying_of.get(symbol) {
            return u.clone();
        }
        let u = self.rules.underlying(symbol);
        self.underlying_of.insert(symbol.clone(), u.clone());
        u
    }

    /// The bot's position in `symbol`, if it is not flat.
    pub fn position(&self, bot: &BotId, symbol: &Symbol) -> Option<&Position> {
        self.bots.get(bot)?.positions.get(symbol)
    }

    /// The bot's signed quantity in `symbol` (zero when flat).
    pub fn quantity(&self, bot: &BotId, symbol: &Symbol) -> Quantity {
        self.position(bot, symbol)
            .map_or(Decimal::ZERO, |p| p.quantity)
    }

    /// The bot's open positions.
    pub fn bot_positions(&self, bot: &BotId) -> impl Iterator<Item = (&Symbol, &Position)> + '_ {
        self.bots
            .get(bot)
            .into_iter()
            .flat_map(|b| b.positions.iter())
    }

    /// Every open position, by bot and symbol.
    pub fn positions(&self) -> impl Iterator<Item = (&BotId, &Symbol, &Position)> + '_ {
        self.bots
            .iter()
            .flat_map(|(b, book)| book.positions.iter().map(move |(s, p)| (b, s, p)))
    }

    /// The bot's book (positions, realised PnL, fees), if it ever traded.
    pub fn bot(&self, bot: &BotId) -> Option<&BotBook> {
        self.bots.get(bot)
    }

    /// Realised PnL of the bot, fees excluded.
    pub fn bot_realized(&self, bot: &BotId) -> Money {
        self.bots.get(bot).map_or(Decimal::ZERO, |b| b.realized_pnl)
    }

    /// The bot's equity on `base` capital: `base` plus realised PnL, less fees, plus its
    /// open positions marked by `mark` (a position without a mark counts nothing). One
    /// lookup for all of it: the replay asks for it for every bot on every bar.
    pub fn bot_equity(
        &self,
        bot: &BotId,
        base: Money,
        mut mark: impl FnMut(&Symbol) -> Option<Price>,
    ) -> Money {
        let Some(b) = self.bots.get(bot) else {
            return base;
        };
        // Added one by one onto the booked part: a sum from zero costs one more add.
        let mut equity = base + b.realized_pnl - b.fees;
        for (s, p) in &b.positions {
            if let Some(m) = mark(s) {
                equity += p.unrealized(m);
            }
        }
        equity
    }

    /// Fees the bot paid.
    pub fn bot_fees(&self, bot: &BotId) -> Money {
        self.bots.get(bot).map_or(Decimal::ZERO, |b| b.fees)
    }

    /// Number of open positions of the bot.
    pub fn bot_open_positions(&self, bot: &BotId) -> usize {
        self.bots.get(bot).map_or(0, |b| b.open)
    }

    /// Gross cost (|qty| × avg price) of the bot's positions.
    pub fn bot_gross_cost(&self, bot: &BotId) -> Money {
        self.bots.get(bot).map_or(Decimal::ZERO, |b| b.gross_cost)
    }

    /// Number of open (bot, symbol) positions in the fleet.
    pub fn open_positions(&self) -> usize {
        self.open
    }

    /// Fleet aggregates of `symbol`, if it was ever traded.
    pub fn symbol_exposure(&self, symbol: &Symbol) -> Option<&SymbolExposure> {
        self.symbols.get(symbol)
    }

    /// Fleet net quantity of `symbol`.
    pub fn net_quantity(&self, symbol: &Symbol) -> Quantity {
        self.symbols
            .get(symbol)
            .map_or(Decimal::ZERO, |s| s.net_qty)
    }

    /// Gross cost (|qty| × avg price) over every position.
    pub fn gross_cost(&self) -> Money {
        self.gross_cost
    }

    /// Equity valuing every position at its average price; O(1), a fallback when no marks.
    pub fn equity_at_cost(&self) -> Money {
        self.cash + self.net_cost
    }

    /// Whether a bot other than `bot` holds `underlying` on `side` (buy = long).
    pub fn other_bot_holds(&self, underlying: &Symbol, side: Side, bot: &BotId) -> Option<BotId> {
        let h = self.holders.get(underlying)?;
        let map = match side {
            Side::Buy => &h.long,
            Side::Sell => &h.short,
        };
        // Usually zero or one holder, so this scan is short.
        map.keys().find(|b| *b != bot).cloned()
    }

    /// Cash plus positions valued at `marks` (average price when a mark is missing).
    pub fn equity(&self, marks: impl Fn(&Symbol) -> Option<Decimal>) -> Money {
        let mut eq = self.cash;
        for (sym, agg) in &self.symbols {
            if agg.net_qty.is_zero() {
                continue;
            }
            match marks(sym) {
                Some(m) => eq += agg.net_qty * m,
                None => {
                    eq += self
                        .bots
                        .values()
                        .filter_map(|b| b.positions.get(sym))
                        .map(|p| p.quantity * p.avg_price)
                        .sum::<Decimal>()
                }
            }
        }
        eq
    }
}

fn sign(q: Quantity) -> i8 {
    if q.is_zero() {
        0
    } else if q.is_sign_positive() {
        1
    } else {
        -1
    }
}

fn dec_holder(map: &mut BTreeMap<BotId, u32>, bot: &BotId) {
    if let Some(n) = map.get_mut(bot) {
        *n -= 1;
        if *n == 0 {
            map.remove(bot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_domain::OrderId;
    use rust_decimal_macros::dec;

    fn fill(bot: &str, sym: &str, side: Side, q: Decimal, p: Decimal, fee: Decimal) -> Fill {
        Fill {
            order_id: OrderId(1),
            bot: bot.into(),
            symbol: sym.into(),
            side,
            quantity: q,
            price: p,
            fee,
            time: Timestamp(0),
            trade_id: String::new(),
            tag: String::new(),
        }
    }

    #[test]
    fn fills_update_cash_positions_and_aggregates() {
        let mut pf = Portfolio::new(dec!(10000));
        assert_eq!(
            pf.apply_fill(&fill("a", "X", Side::Buy, dec!(10), dec!(100), dec!(1))),
            dec!(0)
        );
        pf.apply_fill(&fill("b", "X", Side::Buy, dec!(5), dec!(110), dec!(1)));
        assert_eq!(pf.cash(), dec!(10000) - dec!(1000) - dec!(550) - dec!(2));
        assert_eq!(pf.open_positions(), 2);
        assert_eq!(pf.net_quantity(&"X".into()), dec!(15));
        assert_eq!(pf.equity(|_| Some(dec!(120))), pf.cash() + dec!(1800));
        assert_eq!(pf.equity(|_| None), pf.equity_at_cost());
        let r = pf.apply_fill(&fill("a", "X", Side::Sell, dec!(10), dec!(120), dec!(1)));
        assert_eq!(r, dec!(200));
        assert_eq!(pf.bot_realized(&"a".into()), dec!(200));
        assert_eq!(pf.bot_fees(&"a".into()), dec!(2));
        assert_eq!(pf.open_positions(), 1);
        assert!(pf.position(&"a".into(), &"X".into()).is_none());
        assert_eq!(pf.bot_positions(&"b".into()).count(), 1);
        assert_eq!(pf.gross_cost(), dec!(550));
        assert_eq!(pf.symbol_exposure(&"X".into()).unwrap().gross_qty, dec!(5));
    }

    #[test]
    fn round_trip_reports_closed_trade_net_of_fees() {
        let mut pf = Portfolio::new(dec!(10000));
        pf.apply_fill(&fill("a", "X", Side::Sell, dec!(10), dec!(100), dec!(1)));
        let out = pf.apply_fill_detailed(&fill("a", "X", Side::Buy, dec!(10), dec!(90), dec!(1)));
        let t = out.closed_trade.unwrap();
        assert_eq!(t.pnl, dec!(98));
        assert_eq!(t.side, Side::Sell);
        assert_eq!(t.entry_notional, dec!(1000));
        assert!((t.ret - 0.098).abs() < 1e-12);
    }

    #[test]
    fn holders_track_sides_per_underlying() {
        let mut pf = Portfolio::new(dec!(10000));
        pf.apply_fill(&fill("a", "X", Side::Buy, dec!(1), dec!(10), dec!(0)));
        let x: Symbol = "X".into();
        assert_eq!(
            pf.other_bot_holds(&x, Side::Buy, &"b".into()),
            Some("a".into())
        );
        assert_eq!(pf.other_bot_holds(&x, Side::Buy, &"a".into()), None);
        pf.apply_fill(&fill("a", "X", Side::Sell, dec!(2), dec!(10), dec!(0)));
        assert_eq!(pf.other_bot_holds(&x, Side::Buy, &"b".into()), None);
        assert_eq!(
            pf.other_bot_holds(&x, Side::Sell, &"b".into()),
            Some("a".into())
        );
    }
}
