//! What the engine learns between intents: equity marks, prices, fills and manual states.

use super::session::EquityWatch;
use super::{RiskEngine, StateCause, StateChange, StateEntry, TradingState};
use crate::portfolio::FillOutcome;
use crate::sizing::TradeStats;
use flotilla_domain::{Bar, BotId, Fill, Money, Price, Symbol, Timeframe, Timestamp};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

impl RiskEngine {
    /// Marks fleet equity at `now`: rolls the session, lifts a daily-loss state at the reset,
    /// and trips the daily-loss or drawdown state. Returns the automatic state changes.
    pub fn mark_equity(&mut self, now: Timestamp, equity: Money) -> Vec<StateChange> {
        // Most marks land inside the session, below the peak and above every limit: then
        // the mark changes nothing but the last equity, known from two comparisons.
        if self.is_quiet_mark(now, equity) {
            self.equity.last = equity;
            return Vec::new();
        }
        let changes = self.mark_equity_fully(now, equity);
        self.trips_at = Some(self.trip_level());
        changes
    }

    /// Whether a mark of `equity` at `now` can only update the last equity: same session,
    /// no new peak, above [`Self::trip_level`] as of the last full mark.
    fn is_quiet_mark(&self, now: Timestamp, equity: Money) -> bool {
        #[cfg(test)]
        if self.full_marks {
            return false;
        }
        let w = &self.equity;
        match (w.session, w.session_end, self.trips_at) {
            (Some(start), Some(end), Some(trips_at)) => {
                start <= now
                    && now < end
                    && trips_at < equity
                    && equity <= w.peak
                    && !w.peak.is_zero()
            }
            _ => false,
        }
    }

    /// The highest equity at which [`Self::mark_equity_fully`] trips a limit, given the
    /// current start-of-session equity and peak (`Decimal::MIN` when no limit is set,
    /// `Decimal::MAX`, which no mark exceeds, when a level does not fit a decimal). Each
    /// test `base − equity ≥ amount` there is `equity ≤ base − amount` here.
    fn trip_level(&mut self) -> Decimal {
        let (sod, peak) = (self.equity.session_start_equity, self.equity.peak);
        let mut at = Decimal::MIN;
        let mut trips = |base: Decimal, amount: Decimal| {
            at = at.max(base.checked_sub(amount).unwrap_or(Decimal::MAX));
        };
        if let Some(l) = self.config.daily_loss_limit {
            trips(sod, l);
        }
        if let Some(p) = self.pcts.daily_loss.filter(|_| sod > Decimal::ZERO) {
            trips(sod, self.daily_loss_at.of(sod, p).max(Decimal::ZERO));
        }
        if let Some(dd) = self.pcts.drawdown.filter(|_| peak > Decimal::ZERO) {
            trips(peak, self.drawdown_at.of(peak, dd).max(Decimal::ZERO));
        }
        at
    }

    /// [`Self::mark_equity`] without the shortcut.
    fn mark_equity_fully(&mut self, now: Timestamp, equity: Money) -> Vec<StateChange> {
        let mut changes = Vec::new();
        let start = match (self.equity.session, self.equity.session_end) {
            (Some(s), Some(end)) if s <= now && now < end => s,
            _ => {
                let start = self.session.session_start(now);
                self.equity.session_end = Some(self.session.next_reset(now));
                start
            }
        };
        if self.equity.session != Some(start) {
            if self.equity.session.is_some_and(|s| s > start) {
                return changes; // a mark from an older session: ignore
            }
            let fleet = self.states.fleet();
            if fleet.cause == StateCause::DailyLoss && fleet.state != TradingState::Active {
                let why = format!("session reset at {start}");
                changes.push(self.states.set(
                    None,
                    TradingState::Active,
                    StateCause::SessionReset,
                    why,
                    now,
                ));
            }
            self.equity.session = Some(start);
            self.equity.session_start_equity = equity;
        }
        if self.equity.peak < equity || self.equity.peak.is_zero() {
            self.equity.peak = equity;
        }
        self.equity.last = equity;

        // State and cause only: cloning the entry allocates its reason on every mark.
        let (fleet_state, fleet_cause) = {
            let f = self.states.fleet();
            (f.state, f.cause)
        };
        let sod = self.equity.session_start_equity;
        let loss = sod - equity;
        let by_abs = self.config.daily_loss_limit.filter(|l| loss >= *l);
        let daily_loss_at = &mut self.daily_loss_at;
        let by_pct = self.pcts.daily_loss.filter(|p| {
            sod > Decimal::ZERO && loss >= Decimal::ZERO && loss >= daily_loss_at.of(sod, *p)
        });
        let target = self.config.daily_loss_state;
        if (by_abs.is_some() || by_pct.is_some()) && fleet_state < target {
            let why = match (by_abs, by_pct) {
                (Some(l), _) => format!("daily loss {loss} ≥ limit {l} (start {sod})"),
                (None, Some(p)) => format!("daily loss {loss} ≥ {p} of start equity {sod}"),
                _ => unreachable!(),
            };
            changes.push(
                self.states
                    .set(None, target, StateCause::DailyLoss, why, now),
            );
        }

        let peak = self.equity.peak;
        if let Some(dd) = self.pcts.drawdown {
            let sticky = matches!(
                (fleet_state, fleet_cause),
                (
                    TradingState::Halted,
                    StateCause::Drawdown | StateCause::Manual
                )
            );
            let under = peak - equity;
            if peak > Decimal::ZERO
                && under >= Decimal::ZERO
                && under >= self.drawdown_at.of(peak, dd)
                && !sticky
            {
                let why = format!("drawdown {} from peak {peak} ≥ {dd}", peak - equity);
                let c = self
                    .states
                    .set(None, TradingState::Halted, StateCause::Drawdown, why, now);
                changes.push(c);
            }
        }
        changes
    }

    /// Sets the fleet state manually; returns the audit record. Resuming after an automatic
    /// halt re-bases the limit that tripped (peak or start-of-session equity) on the last
    /// equity, so the operator's decision sticks.
    pub fn set_state(&mut self, state: TradingState, reason: &str, now: Timestamp) -> StateChange {
        let prev = self.states.fleet().cause;
        // A resume re-bases a limit: the trip level must be worked out again.
        self.trips_at = None;
        if state == TradingState::Active {
            match prev {
                StateCause::Drawdown => self.equity.peak = self.equity.last,
                StateCause::DailyLoss => self.equity.session_start_equity = self.equity.last,
                _ => {}
            }
        }
        self.states
            .set(None, state, StateCause::Manual, reason, now)
    }

    /// Sets one bot's state manually (e.g. after it crashed); returns the audit record.
    pub fn set_bot_state(
        &mut self,
        bot: &BotId,
        state: TradingState,
        reason: &str,
        now: Timestamp,
    ) -> StateChange {
        self.states
            .set(Some(bot), state, StateCause::Manual, reason, now)
    }

    /// The fleet's state and why.
    pub fn state(&self) -> &StateEntry {
        self.states.fleet()
    }

    /// The state binding `bot`: the stricter of the fleet's and its own.
    pub fn bot_state(&self, bot: &BotId) -> TradingState {
        let own = self
            .states
            .bot(bot)
            .map_or(TradingState::Active, |b| b.state);
        own.max(self.states.fleet().state)
    }

    /// State changes (manual and automatic) since the last call, for the ledger.
    pub fn drain_state_changes(&mut self) -> Vec<StateChange> {
        self.states.drain()
    }

    /// What the engine learned (states, equity watch, trade stats, last exits), to persist.
    pub fn snapshot(&self) -> RiskMemory {
        let mut stats: Vec<_> = self
            .stats
            .iter()
            .map(|(b, s)| (b.clone(), s.clone()))
            .collect();
        stats.sort_by(|a, b| a.0.cmp(&b.0));
        let mut exits: Vec<_> = self
            .exits
            .iter()
            .flat_map(|(b, m)| m.iter().map(move |(s, t)| (b.clone(), s.clone(), *t)))
            .collect();
        exits.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        RiskMemory {
            fleet: self.states.fleet().clone(),
            bots: self.states.bots(),
            equity: self.equity.clone(),
            stats,
            exits,
        }
    }

    /// Restores a [`RiskMemory`] (after a restart). Rate windows and prices start empty.
    pub fn restore(&mut self, memory: RiskMemory) {
        self.states.restore(memory.fleet, memory.bots);
        self.equity = memory.equity;
        self.trips_at = None;
        self.stats = memory.stats.into_iter().collect();
        self.exits.clear();
        for (b, s, t) in memory.exits {
            self.exits.entry(b).or_default().insert(s, t);
        }
    }

    /// Records a close of `symbol` at `t`: the staleness clock, the price band's reference
    /// and a return for the correlation tracker. Non-positive prices mark the symbol bad.
    pub fn observe_price(&mut self, symbol: &Symbol, t: Timestamp, price: Price) {
        use rust_decimal::prelude::ToPrimitive;
        let f = price.to_f64().unwrap_or(f64::NAN);
        self.observe_price_with(symbol, t, price, f);
    }

    /// [`observe_price`](Self::observe_price) with the price also as the f64 it came from,
    /// for the return (a statistic: f64 division is exact enough and far cheaper).
    fn observe_price_with(&mut self, symbol: &Symbol, t: Timestamp, price: Price, f: f64) {
        // One lookup per bar; the symbol is cloned into the map only the first time.
        let track = match self.prices.get_mut(symbol) {
            Some(track) => track,
            None => self.prices.entry(symbol.clone()).or_default(),
        };
        if price <= Decimal::ZERO {
            track.bad = Some(format!("non-positive price {price}"));
            return;
        }
        track.bad = None;
        match track.last {
            Some((lt, _)) if lt == t => track.last = Some((t, price)),
            Some((lt, _)) if lt > t => return,
            Some((lt, lp)) => {
                track.prev = Some((lt, lp));
                track.last = Some((t, price));
                let r = f / track.last_f64 - 1.0;
                if r.is_finite() {
                    self.correlation.observe(symbol, t, r);
                }
            }
            None => track.last = Some((t, price)),
        }
        track.last_f64 = f;
    }

    /// Records a closed bar of `symbol` at timeframe `tf`; an invalid bar marks the symbol
    /// bad (its intents are refused) until a valid one arrives.
    pub fn observe_bar(&mut self, symbol: &Symbol, bar: &Bar, tf: Timeframe) {
        match Decimal::try_from(bar.close) {
            Ok(close) => self.observe_bar_at(symbol, bar, tf, close),
            Err(e) => self.prices.entry(symbol.clone()).or_default().bad = Some(e.to_string()),
        }
    }

    /// [`observe_bar`](Self::observe_bar) with the close already converted by the caller
    /// (the host converts each close once per bar and shares it).
    pub fn observe_bar_at(&mut self, symbol: &Symbol, bar: &Bar, tf: Timeframe, close: Price) {
        let closed_at = bar.time.plus_millis(tf.millis());
        match bar.validate() {
            Ok(()) => self.observe_price_with(symbol, closed_at, close, bar.close),
            Err(e) => self.prices.entry(symbol.clone()).or_default().bad = Some(e.to_string()),
        }
    }

    /// Feeds a return directly to the correlation tracker.
    pub fn observe_return(&mut self, symbol: &Symbol, t: Timestamp, r: f64) {
        self.correlation.observe(symbol, t, r);
    }

    /// Learns from a fill applied to the portfolio: exits start the re-entry cooldown and
    /// closed trades feed the loss streak and the payoff ratio.
    pub fn on_fill(&mut self, fill: &Fill, outcome: &FillOutcome) {
        let after = outcome.position_after;
        let before = after - fill.side.sign() * fill.quantity;
        let exited = !before.is_zero()
            && (after.is_zero() || after.is_sign_positive() != before.is_sign_positive());
        if exited {
            self.exits
                .entry(fill.bot.clone())
                .or_default()
                .insert(fill.symbol.clone(), fill.time);
        }
        if let Some(t) = &outcome.closed_trade {
            self.stats.entry(t.bot.clone()).or_default().record(t);
        }
    }

    pub(super) fn record_order(&mut self, bot: &BotId, now: Timestamp) {
        if self.config.rate_limit_for(bot).is_some() {
            self.rates_bot
                .entry(bot.clone())
                .or_default()
                .push_back(now);
        }
        if self.config.global_rate_limit.is_some() {
            self.rates_global.push_back(now);
        }
    }
}

/// The engine's persistent memory, for the ledger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RiskMemory {
    /// The fleet's state.
    pub fleet: StateEntry,
    /// Bots with a state of their own.
    pub bots: Vec<(BotId, StateEntry)>,
    /// Start-of-session equity and peak.
    pub equity: EquityWatch,
    /// Closed-trade statistics per bot.
    pub stats: Vec<(BotId, TradeStats)>,
    /// Last exit per (bot, symbol), for the re-entry cooldown.
    pub exits: Vec<(BotId, Symbol, Timestamp)>,
}

/// `base × fraction` for the last `base` seen: start-of-session equity and the peak change
/// rarely, while equity is marked on every bar, so most marks skip the multiplication.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ScaledLimit {
    /// The base and fraction as stored (their exact representation) and their product.
    last: Option<([u8; 16], [u8; 16], Decimal)>,
}

impl ScaledLimit {
    /// `base * fraction`, exactly as computed afresh.
    pub(crate) fn of(&mut self, base: Decimal, fraction: Decimal) -> Decimal {
        // Keyed on the representation, not the value: 1.0 and 1.00 are equal but their
        // products may differ in scale.
        let key = (base.serialize(), fraction.serialize());
        match self.last {
            Some((b, f, v)) if (b, f) == key => v,
            _ => {
                let v = base * fraction;
                self.last = Some((key.0, key.1, v));
                v
            }
        }
    }
}

#[cfg(test)]
mod scaled_limit_tests {
    use super::ScaledLimit;
    use rust_decimal_macros::dec;

    #[test]
    fn the_cached_product_is_the_fresh_product() {
        let mut c = ScaledLimit::default();
        let f = dec!(0.05);
        for base in [
            dec!(1000),
            dec!(1000),
            dec!(1000.00),
            dec!(987.654321),
            dec!(1000),
        ] {
            let got = c.of(base, f);
            assert_eq!(got.serialize(), (base * f).serialize(), "{base}");
        }
        // Same value, another scale: recomputed, so the scale follows the base.
        assert_eq!(c.of(dec!(1000.0000), f).to_string(), "50.000000");
        assert_eq!(c.of(dec!(1000), dec!(0.1)), dec!(100));
    }
}
