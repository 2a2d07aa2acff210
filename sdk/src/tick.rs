//! The per-tick context: market data, positions, logging and the intents being built.

use crate::host;
use crate::spec::{BandSeries, Indicator, IndicatorValues, MacdSeries};
use crate::types::{
    Action, Bar, Intent, LogLevel, Position, ScaleOut, TimeInForce, Timeframe, Timestamp, Trail,
    Trailing, WorkingOrder,
};
use std::cell::{Cell, OnceCell};

/// A series as `next-tick` names it: the symbol's index in the granted list, a timeframe.
pub(crate) type SeriesKey = (u32, Timeframe);

/// What a bot sees and does during one tick.
///
/// Reads go to the host on demand (bars are not pushed every tick, to keep ticks cheap);
/// orders are collected and handed to the host when `on_tick` returns `Ok`.
pub struct Tick<'a> {
    time: Timestamp,
    tick: u64,
    capital: f64,
    symbols: &'a [String],
    positions: OnceCell<Vec<Position>>,
    working: OnceCell<Vec<WorkingOrder>>,
    intents: Vec<Intent>,
    /// The newest bar of one series, handed in with the tick by `next-tick`.
    newest: Option<(SeriesKey, Bar)>,
    /// The first series this tick read with `bar_at(.., 0)` successfully: the one the
    /// runner asks `next-tick` to hand in with the next tick.
    watch: Cell<Option<SeriesKey>>,
}

impl<'a> Tick<'a> {
    /// A tick at `time` (ms), the `tick`-th of this instance, with `capital` and granted `symbols`.
    pub fn new(time: Timestamp, tick: u64, capital: f64, symbols: &'a [String]) -> Self {
        Tick {
            time,
            tick,
            capital,
            symbols,
            positions: OnceCell::new(),
            working: OnceCell::new(),
            intents: Vec::new(),
            newest: None,
            watch: Cell::new(None),
        }
    }

    /// [`Tick::new`] with the newest bar of one series already in hand, as `next-tick`
    /// gives it.
    pub(crate) fn with_newest(mut self, newest: Option<(SeriesKey, Bar)>) -> Self {
        self.newest = newest;
        self
    }

    /// The tick time, milliseconds since the Unix epoch (UTC).
    pub fn time(&self) -> Timestamp {
        self.time
    }

    /// 1 on this instance's first tick, then counting (restarts at 1 after a reload).
    pub fn tick(&self) -> u64 {
        self.tick
    }

    /// Capital allocated to the bot, in account currency.
    pub fn capital(&self) -> f64 {
        self.capital
    }

    /// The symbols the registry granted.
    pub fn symbols(&self) -> &'a [String] {
        self.symbols
    }

    /// The last `count` closed bars of a granted symbol, oldest first.
    pub fn bars(&self, symbol: &str, timeframe: Timeframe, count: u32) -> Result<Vec<Bar>, String> {
        host::bars(symbol, timeframe, count)
    }

    /// One closed bar of a granted symbol, `back` bars before the newest (0 is the
    /// newest); `None` if the host holds fewer. Cheaper than [`Tick::bars`] per call.
    ///
    /// In a run of ticks, the first series a tick reads newest-first is watched: the next
    /// tick arrives with its newest bar, and reading it costs no host call.
    pub fn bar_at(
        &self,
        symbol: &str,
        timeframe: Timeframe,
        back: u32,
    ) -> Result<Option<Bar>, String> {
        if back != 0 {
            return host::bar_at(symbol, timeframe, back);
        }
        // A short list of short names: a scan, cheaper than a call.
        let Some(index) = self.symbols.iter().position(|s| s == symbol) else {
            return host::bar_at(symbol, timeframe, back);
        };
        let index = index as u32;
        let bar = match self.newest {
            Some((key, bar)) if key == (index, timeframe) => Some(bar),
            _ => host::bar_at(symbol, timeframe, 0)?,
        };
        if bar.is_some() && self.watch.get().is_none() {
            self.watch.set(Some((index, timeframe)));
        }
        Ok(bar)
    }

    /// The closes of the last `count` bars, oldest first.
    pub fn closes(
        &self,
        symbol: &str,
        timeframe: Timeframe,
        count: u32,
    ) -> Result<Vec<f64>, String> {
        Ok(self
            .bars(symbol, timeframe, count)?
            .iter()
            .map(|b| b.close)
            .collect())
    }

    /// The last `count` values of a single-line indicator (all but MACD and Bollinger)
    /// over a granted symbol's closed bars, oldest first, computed by the host with
    /// TA-Lib's definitions: `tick.indicator(sym, Timeframe::M1, Indicator::Rsi(14), 1)`.
    ///
    /// Fewer values (or none) while the indicator warms up. MACD and Bollinger have three
    /// lines: use [`Tick::macd`] and [`Tick::bollinger`] (here they are an error).
    pub fn indicator(
        &self,
        symbol: &str,
        timeframe: Timeframe,
        spec: Indicator,
        count: u32,
    ) -> Result<Vec<f64>, String> {
        match host::indicator(symbol, timeframe, spec, count)? {
            IndicatorValues::Line(values) => Ok(values),
            _ => Err(format!(
                "{spec} has several lines: use Tick::macd or Tick::bollinger"
            )),
        }
    }

    /// The latest value of a single-line indicator, or `None` while it warms up.
    pub fn indicator_last(
        &self,
        symbol: &str,
        timeframe: Timeframe,
        spec: Indicator,
    ) -> Result<Option<f64>, String> {
        Ok(self.indicator(symbol, timeframe, spec, 1)?.pop())
    }

    /// Any indicator's values, as the host returns them.
    pub fn indicator_values(
        &self,
        symbol: &str,
        timeframe: Timeframe,
        spec: Indicator,
        count: u32,
    ) -> Result<IndicatorValues, String> {
        host::indicator(symbol, timeframe, spec, count)
    }

    /// The last `count` MACD values (line, signal, histogram), computed by the host.
    pub fn macd(
        &self,
        symbol: &str,
        timeframe: Timeframe,
        (fast, slow, signal): (u32, u32, u32),
        count: u32,
    ) -> Result<MacdSeries, String> {
        let spec = Indicator::Macd { fast, slow, signal };
        match host::indicator(symbol, timeframe, spec, count)? {
            IndicatorValues::Macd(m) => Ok(m),
            other => Err(format!("host answered {spec} with {other:?}")),
        }
    }

    /// The last `count` Bollinger bands (SMA of `period`, `deviations` population
    /// standard deviations either side), computed by the host.
    pub fn bollinger(
        &self,
        symbol: &str,
        timeframe: Timeframe,
        period: u32,
        deviations: f64,
        count: u32,
    ) -> Result<BandSeries, String> {
        let spec = Indicator::Bollinger { period, deviations };
        match host::indicator(symbol, timeframe, spec, count)? {
            IndicatorValues::Bands(b) => Ok(b),
            other => Err(format!("host answered {spec} with {other:?}")),
        }
    }

    /// The latest close of a granted symbol.
    pub fn last_price(&self, symbol: &str) -> Result<f64, String> {
        host::last_price(symbol)
    }

    /// The bot's open positions (fetched once per tick: they do not change mid-tick).
    pub fn positions(&self) -> &[Position] {
        self.positions.get_or_init(host::positions)
    }

    /// The bot's position in `symbol`, if any.
    pub fn position(&self, symbol: &str) -> Option<&Position> {
        self.positions().iter().find(|p| p.symbol == symbol)
    }

    /// The signed quantity held in `symbol` (0 when flat).
    pub fn position_qty(&self, symbol: &str) -> f64 {
        self.position(symbol).map_or(0.0, |p| p.quantity)
    }

    /// The bot's own orders still working, as they were when the tick started (fetched
    /// once per tick). Exits the host manages are not listed.
    pub fn working_orders(&self) -> &[WorkingOrder] {
        self.working.get_or_init(host::working_orders)
    }

    /// Asks the host to cancel the working order `id`: recorded with this tick, carried
    /// out after it (the order stays in [`Tick::working_orders`] until then). The outcome
    /// comes to [`Bot::on_order`](crate::Bot::on_order). An error when `id` is not one of
    /// the bot's working orders; asking twice is harmless.
    pub fn cancel(&self, id: u64) -> Result<(), String> {
        host::cancel_order(id)
    }

    /// Units worth `fraction` of capital at `price`; 0 when the price is unusable.
    pub fn units(&self, fraction: f64, price: f64) -> f64 {
        if price.is_finite() && price > 0.0 && self.capital.is_finite() {
            (self.capital * fraction / price).max(0.0)
        } else {
            0.0
        }
    }

    /// Asks to buy `qty` of `symbol`; refine with the returned [`Order`].
    pub fn buy(&mut self, symbol: impl Into<String>, qty: f64) -> Order<'_> {
        self.push(symbol.into(), Action::Buy(qty))
    }

    /// Asks to sell `qty` of `symbol`.
    pub fn sell(&mut self, symbol: impl Into<String>, qty: f64) -> Order<'_> {
        self.push(symbol.into(), Action::Sell(qty))
    }

    /// Asks to hold a signed position of `qty` in `symbol` (negative is short).
    pub fn target(&mut self, symbol: impl Into<String>, qty: f64) -> Order<'_> {
        self.push(symbol.into(), Action::Target(qty))
    }

    /// Asks to be flat in `symbol` (a target of zero).
    pub fn close(&mut self, symbol: impl Into<String>) -> Order<'_> {
        self.target(symbol, 0.0)
    }

    /// The intents emitted so far this tick.
    pub fn intents(&self) -> &[Intent] {
        &self.intents
    }

    /// Hands the intents over (the runner does this after `on_tick`).
    pub fn into_intents(self) -> Vec<Intent> {
        self.intents
    }

    /// The intents, and the series to watch on the next tick of a run.
    pub(crate) fn into_parts(self) -> (Vec<Intent>, Option<SeriesKey>) {
        (self.intents, self.watch.get())
    }

    /// Logs at `level` to the host.
    pub fn log(&self, level: LogLevel, message: impl AsRef<str>) {
        host::log(level, message.as_ref())
    }

    /// Logs at debug level.
    pub fn debug(&self, message: impl AsRef<str>) {
        self.log(LogLevel::Debug, message)
    }

    /// Logs at info level.
    pub fn info(&self, message: impl AsRef<str>) {
        self.log(LogLevel::Info, message)
    }

    /// Logs at warn level.
    pub fn warn(&self, message: impl AsRef<str>) {
        self.log(LogLevel::Warn, message)
    }

    /// Logs at error level.
    pub fn error(&self, message: impl AsRef<str>) {
        self.log(LogLevel::Error, message)
    }

    /// A value from the bot's persisted key-value store.
    pub fn kv_get(&self, key: &str) -> Option<Vec<u8>> {
        host::kv_get(key)
    }

    /// Stores a value in the bot's persisted key-value store.
    pub fn kv_set(&self, key: &str, value: impl AsRef<[u8]>) {
        host::kv_set(key, value.as_ref())
    }

    fn push(&mut self, symbol: String, action: Action) -> Order<'_> {
        self.intents.push(Intent {
            symbol,
            action,
            confidence: 1.0,
            stop_loss: None,
            take_profit: None,
            trailing: None,
            scale_outs: Vec::new(),
            limit_price: None,
            time_in_force: None,
            tag: String::new(),
        });
        let intent = self.intents.last_mut().expect("just pushed");
        Order { intent }
    }
}

/// An intent already queued for this tick; its methods refine it in place.
///
/// Defaults: a market order good for the day, confidence 1.0, no stop-loss, take-profit,
/// trailing stop or scale-outs, empty tag.
pub struct Order<'t> {
    intent: &'t mut Intent,
}

impl Order<'_> {
    /// Sets the confidence, meant to be in [0, 1] (the host sizes by it and rejects others).
    pub fn confidence(self, confidence: f64) -> Self {
        self.intent.confidence = confidence;
        self
    }

    /// Sets the price at which the host exits at a loss.
    pub fn stop_loss(self, price: f64) -> Self {
        self.intent.stop_loss = Some(price);
        self
    }

    /// Sets the price at which the host exits at a profit.
    pub fn take_profit(self, price: f64) -> Self {
        self.intent.take_profit = Some(price);
        self
    }

    /// Sets the stop-loss only when `price` is `Some`.
    pub fn stop_loss_opt(self, price: Option<f64>) -> Self {
        self.intent.stop_loss = price;
        self
    }

    /// Sets the take-profit only when `price` is `Some`.
    pub fn take_profit_opt(self, price: Option<f64>) -> Self {
        self.intent.take_profit = price;
        self
    }

    /// Has the host trail a stop `distance` behind the best price, from entry or, with
    /// `activate_at_r`, once the trade is that many R in profit (that needs a stop-loss).
    pub fn trailing(self, distance: Trail, activate_at_r: Option<f64>) -> Self {
        self.intent.trailing = Some(Trailing {
            distance,
            activate_at_r,
        });
        self
    }

    /// Has the host sell `fraction` of the entry once the trade is `at_r` R in profit
    /// (needs a stop-loss; call in increasing R). E.g. `.scale_out(1.0, 0.33)
    /// .scale_out(2.0, 0.33).trailing(Trail::Atr(1.5), Some(1.0))`.
    pub fn scale_out(self, at_r: f64, fraction: f64) -> Self {
        self.intent.scale_outs.push(ScaleOut { at_r, fraction });
        self
    }

    /// Makes it a limit order at `price`: a buy fills at or below it, a sell at or above.
    /// On a `target`, the limit applies to the order that moves the position there.
    pub fn limit(self, price: f64) -> Self {
        self.intent.limit_price = Some(price);
        self
    }

    /// Sets how long the order works (the default is [`TimeInForce::Day`]).
    pub fn time_in_force(self, tif: TimeInForce) -> Self {
        self.intent.time_in_force = Some(tif);
        self
    }

    /// Sets the free-text tag echoed back on fills.
    pub fn tag(self, tag: impl Into<String>) -> Self {
        self.intent.tag = tag.into();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_refines_queued_intent() {
        let syms = vec!["AAA".to_string()];
        let mut t = Tick::new(1_000, 1, 10_000.0, &syms);
        t.buy("AAA", 2.0)
            .confidence(0.7)
            .stop_loss(95.0)
            .tag("entry");
        t.close("AAA");
        let out = t.into_intents();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].action, Action::Buy(2.0));
        assert_eq!(out[0].confidence, 0.7);
        assert_eq!(out[0].stop_loss, Some(95.0));
        assert_eq!(out[0].take_profit, None);
        assert_eq!(out[0].tag, "entry");
        assert_eq!(out[1].action, Action::Target(0.0));
        assert_eq!(out[1].confidence, 1.0);
        assert_eq!((out[1].trailing, out[1].scale_outs.len()), (None, 0));
    }

    #[test]
    fn builder_carries_a_scaled_exit_plan() {
        let syms = vec!["AAA".to_string()];
        let mut t = Tick::new(1_000, 1, 10_000.0, &syms);
        t.target("AAA", 10.0)
            .stop_loss(95.0)
            .scale_out(1.0, 0.33)
            .scale_out(2.0, 0.33)
            .trailing(Trail::Atr(1.5), Some(1.0));
        let out = t.into_intents();
        assert_eq!(
            out[0].scale_outs,
            [
                ScaleOut {
                    at_r: 1.0,
                    fraction: 0.33
                },
                ScaleOut {
                    at_r: 2.0,
                    fraction: 0.33
                }
            ]
        );
        assert_eq!(
            out[0].trailing,
            Some(Trailing {
                distance: Trail::Atr(1.5),
                activate_at_r: Some(1.0)
            })
        );
    }

    #[test]
    fn builder_makes_limit_orders() {
        let syms = vec!["AAA".to_string()];
        let mut t = Tick::new(1_000, 1, 10_000.0, &syms);
        t.buy("AAA", 2.0)
            .limit(99.5)
            .time_in_force(TimeInForce::Gtc);
        t.sell("AAA", 1.0);
        let out = t.into_intents();
        assert_eq!(
            (out[0].limit_price, out[0].time_in_force),
            (Some(99.5), Some(TimeInForce::Gtc))
        );
        assert_eq!((out[1].limit_price, out[1].time_in_force), (None, None));
    }

    #[test]
    fn units_guard_bad_prices() {
        let syms = vec![];
        let t = Tick::new(0, 1, 1_000.0, &syms);
        assert_eq!(t.units(0.5, 10.0), 50.0);
        assert_eq!(t.units(0.5, 0.0), 0.0);
        assert_eq!(t.units(0.5, f64::NAN), 0.0);
    }
}
