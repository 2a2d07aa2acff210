//! The gates, in chain order. Each may lower the candidate's size or refuse it.
//!
//! Refusing gates come first (cheap, and a refusal is final); size caps follow. Every cap
//! is a ceiling on the same quantity, so the final size is the minimum of the caps and the
//! reason reported is the last (binding) gate that cut it.

use super::{
    Candidate, ClusterCost, RefusalReason, ResizeReason, RiskEngine, RiskInput, Scope, TradingState,
};
use crate::sizing::kelly;
use flotilla_domain::Side;
use rust_decimal::Decimal;

/// A gate: `Ok` to pass (possibly after resizing the candidate), `Err` to refuse.
pub type Gate =
    fn(&mut RiskEngine, &mut Candidate<'_>, &RiskInput<'_>) -> Result<(), RefusalReason>;

/// The gates' names, in chain order.
pub const GATE_ORDER: &[&str] = &[
    "no_change",
    "data_sanity",
    "trading_state",
    "rate_limit",
    "cooldown",
    "contradictory_position",
    "max_open_positions",
    "kelly",
    "loss_streak",
    "order_notional",
    "symbol_notional",
    "gross_exposure",
    "correlation",
    "budget",
];

/// The chain, in the order of [`GATE_ORDER`].
pub const CHAIN: &[Gate] = &[
    no_change,
    data_sanity,
    trading_state,
    rate_limit,
    cooldown,
    contradictory,
    max_open_positions,
    kelly_size,
    loss_streak,
    order_notional,
    symbol_notional,
    gross_exposure,
    correlation,
    budget,
];

type R = Result<(), RefusalReason>;

fn cap_or(c: &mut Candidate<'_>, max_abs: Decimal, reason: ResizeReason) -> R {
    if c.cap_position(max_abs, reason.clone()) {
        Ok(())
    } else {
        Err(RefusalReason::CapExhausted { cap: reason })
    }
}

/// Zero-delta intents are refused.
fn no_change(_: &mut RiskEngine, c: &mut Candidate<'_>, _: &RiskInput<'_>) -> R {
    if c.quantity.is_zero() {
        return Err(RefusalReason::NoChange { current: c.current });
    }
    Ok(())
}

/// NaN / non-positive prices and unusable bars always; stale prices and band breaks for bots.
fn data_sanity(e: &mut RiskEngine, c: &mut Candidate<'_>, i: &RiskInput<'_>) -> R {
    if let Some(raw) = i.raw_price
        && (!raw.is_finite() || raw <= 0.0)
    {
        return Err(RefusalReason::BadPrice {
            price: raw.to_string(),
        });
    }
    if i.price <= Decimal::ZERO {
        return Err(RefusalReason::BadPrice {
            price: i.price.to_string(),
        });
    }
    let track = e.prices.get(&c.intent.symbol);
    if let Some(why) = track.and_then(|t| t.bad.as_ref()) {
        return Err(RefusalReason::BadBar { why: why.clone() });
    }
    if c.host_exit {
        return Ok(());
    }
    if e.stale_feeds.contains(&c.intent.symbol) && !c.is_reducing() {
        return Err(RefusalReason::StaleFeed {
            symbol: c.intent.symbol.clone(),
        });
    }
    let last = track.and_then(|t| t.last);
    let price_time = i.price_time.or(last.map(|l| l.0));
    if let (Some(pt), Some(max_age_ms)) = (price_time, e.config.data.max_price_age_ms)
        && i.now.0 - pt.0 > max_age_ms
    {
        return Err(RefusalReason::StalePrice {
            price_time: pt,
            now: i.now,
            max_age_ms,
        });
    }
    let reference = i.reference_price.or_else(|| {
        let t = track?;
        // The latest close is the price itself unless the price is newer than it.
        match (t.last, price_time) {
            (Some((lt, lp)), Some(pt)) if lt < pt => Some(lp),
            _ => t.prev.map(|p| p.1),
        }
    });
    if let (Some(reference), Some(band)) = (reference, e.config.data.price_band_pct) {
        let b = e.pcts.band.unwrap_or(Decimal::MAX);
        if reference > Decimal::ZERO && (i.price - reference).abs() > reference * b {
            return Err(RefusalReason::PriceOutOfBand {
                price: i.price,
                reference,
                band,
            });
        }
    }
    Ok(())
}

/// REDUCING (fleet or bot): only reducing bot orders, a flip is cut to a close.
/// HALTED: no bot orders at all. Host exits pass in any state but must reduce.
fn trading_state(e: &mut RiskEngine, c: &mut Candidate<'_>, _: &RiskInput<'_>) -> R {
    let fleet = e.states.fleet();
    let bot = e.states.bot(c.bot());
    let (state, scope, why) = match bot {
        Some(b) if b.state > fleet.state => (b.state, Scope::Bot, &b.reason),
        _ => (fleet.state, Scope::Global, &fleet.reason),
    };
    let reduce_only = c.host_exit || state == TradingState::Reducing;
    if state == TradingState::Active && !c.host_exit {
        return Ok(());
    }
    if state == TradingState::Halted && !c.host_exit {
        return Err(RefusalReason::TradingState {
            state,
            scope,
            why: why.clone(),
        });
    }
    debug_assert!(reduce_only);
    if c.is_reducing() {
        return Ok(());
    }
    if c.against() {
        c.quantity = c.current.abs();
        c.resized = Some(ResizeReason::TradingState { state });
        return Ok(());
    }
    if c.host_exit {
        return Err(RefusalReason::NotReducing { current: c.current });
    }
    Err(RefusalReason::TradingState {
        state,
        scope,
        why: why.clone(),
    })
}

/// Approved bot orders per sliding window, per bot and fleet-wide; host exits are exempt.
fn rate_limit(e: &mut RiskEngine, c: &mut Candidate<'_>, i: &RiskInput<'_>) -> R {
    if c.host_exit {
        return Ok(());
    }
    if let Some(l) = e.config.rate_limit_for(c.bot()) {
        let q = e.rates_bot.get_mut(c.bot());
        if q.is_some_and(|q| count_in_window(q, i.now, l.window_ms) >= l.max_orders as usize) {
            let (limit, window_ms) = (l.max_orders, l.window_ms);
            return Err(RefusalReason::RateLimited {
                scope: Scope::Bot,
                limit,
                window_ms,
            });
        }
    }
    if let Some(l) = e.config.global_rate_limit
        && count_in_window(&mut e.rates_global, i.now, l.window_ms) >= l.max_orders as usize
    {
        let (limit, window_ms) = (l.max_orders, l.window_ms);
        return Err(RefusalReason::RateLimited {
            scope: Scope::Global,
            limit,
            window_ms,
        });
    }
    Ok(())
}

fn count_in_window(
    q: &mut std::collections::VecDeque<flotilla_domain::Timestamp>,
    now: flotilla_domain::Timestamp,
    window_ms: i64,
) -> usize {
    while q.front().is_some_and(|t| t.0 <= now.0 - window_ms) {
        q.pop_front();
    }
    q.len()
}

/// No re-entry into a symbol until the cooldown after the bot's last exit has passed.
fn cooldown(e: &mut RiskEngine, c: &mut Candidate<'_>, i: &RiskInput<'_>) -> R {
    let cd = e.config.cooldown_for(c.bot());
    if !c.opens() || cd <= 0 {
        return Ok(());
    }
    if let Some(&exited_at) = e.exits.get(c.bot()).and_then(|m| m.get(&c.intent.symbol)) {
        let until = exited_at.plus_millis(cd);
        if i.now < until {
            return Err(RefusalReason::Cooldown { exited_at, until });
        }
    }
    Ok(())
}

/// Refuses ending on the opposite side of an underlying another bot holds.
fn contradictory(_: &mut RiskEngine, c: &mut Candidate<'_>, i: &RiskInput<'_>) -> R {
    let new = c.new_position();
    // Only the side the bot ends up holding matters; going flat contradicts nobody.
    if new.is_zero() || c.is_reducing() {
        return Ok(());
    }
    let held = if new.is_sign_positive() {
        Side::Buy
    } else {
        Side::Sell
    };
    if let Some(other) = i
        .portfolio
        .other_bot_holds(&c.underlying, held.opposite(), c.bot())
    {
        return Err(RefusalReason::ContradictoryPosition {
            underlying: c.underlying.clone(),
            other_bot: other,
            side: held,
        });
    }
    Ok(())
}

/// Caps the number of open positions, fleet-wide and per bot, for opening intents.
fn max_open_positions(e: &mut RiskEngine, c: &mut Candidate<'_>, i: &RiskInput<'_>) -> R {
    if !c.opens() {
        return Ok(());
    }
    let limit = e.config.max_open_positions;
    let open = i.portfolio.open_positions();
    if open >= limit {
        return Err(RefusalReason::MaxOpenPositions {
            scope: Scope::Global,
            limit,
            open,
        });
    }
    let limit = e.config.max_open_positions_for(c.bot());
    let open = i.portfolio.bot_open_positions(c.bot());
    if open >= limit {
        return Err(RefusalReason::MaxOpenPositions {
            scope: Scope::Bot,
            limit,
            open,
        });
    }
    Ok(())
}

/// Position notional ≤ fraction × kelly(confidence, payoff ratio) × budget; no edge, no trade.
fn kelly_size(e: &mut RiskEngine, c: &mut Candidate<'_>, i: &RiskInput<'_>) -> R {
    let k = &e.config.kelly;
    if !k.enabled || c.is_reducing() {
        return Ok(());
    }
    let payoff_ratio = e.stats.get(c.bot()).map_or(k.prior_payoff, |s| {
        s.payoff_ratio(k.prior_payoff, k.prior_trades)
    });
    let confidence = c.intent.confidence;
    let full = kelly(confidence, payoff_ratio);
    if full <= 0.0 {
        return Err(RefusalReason::NoEdge {
            confidence,
            payoff_ratio,
            kelly: full,
        });
    }
    let fraction = (e.config.kelly_fraction_for(c.bot()) * full).min(k.max_fraction);
    // Rounded to 8 places so float noise (0.2 → 0.19999…) does not leak into money.
    let f = Decimal::try_from(fraction)
        .unwrap_or(Decimal::ZERO)
        .round_dp(8);
    let notional = i.budget * f;
    let max_abs = e.units(notional, i.price);
    cap_or(c, max_abs, ResizeReason::Kelly { fraction, notional })
}

/// After N losses in a row the risk-increasing part of the order is multiplied by the factor.
fn loss_streak(e: &mut RiskEngine, c: &mut Candidate<'_>, _: &RiskInput<'_>) -> R {
    let cfg = e.config.loss_streak_for(c.bot());
    let losses = e.stats.get(c.bot()).map_or(0, |s| s.consecutive_losses);
    if cfg.after == 0 || losses < cfg.after || c.is_reducing() {
        return Ok(());
    }
    let factor = cfg.factor;
    let reducing = c.reducing_part();
    let increase = c.quantity - reducing;
    let cut = e.round_qty(increase * Decimal::try_from(factor).unwrap_or(Decimal::ZERO));
    let reason = ResizeReason::LossStreak { losses, factor };
    if cut.is_zero() && reducing.is_zero() {
        return Err(RefusalReason::CapExhausted { cap: reason });
    }
    c.quantity = reducing + cut;
    c.resized = Some(reason);
    Ok(())
}

/// The risk-increasing part of one order stays within the per-order notional cap.
fn order_notional(e: &mut RiskEngine, c: &mut Candidate<'_>, i: &RiskInput<'_>) -> R {
    let Some(limit) = e.config.max_order_notional_for(c.bot()) else {
        return Ok(());
    };
    if c.is_reducing() {
        return Ok(());
    }
    let max_q = c.reducing_part() + e.units(limit, i.price);
    let reason = ResizeReason::OrderNotional { limit };
    if c.cap_quantity(max_q, reason.clone()) {
        Ok(())
    } else {
        Err(RefusalReason::CapExhausted { cap: reason })
    }
}

/// Fleet gross notional in the symbol (all bots, at `price`) stays within the cap.
fn symbol_notional(e: &mut RiskEngine, c: &mut Candidate<'_>, i: &RiskInput<'_>) -> R {
    let Some(limit) = e.config.max_symbol_notional else {
        return Ok(());
    };
    if c.is_reducing() {
        return Ok(());
    }
    let others = i
        .portfolio
        .symbol_exposure(&c.intent.symbol)
        .map_or(Decimal::ZERO, |s| s.gross_qty)
        - c.current.abs();
    let used = others * i.price;
    let max_abs = e.units(limit - used, i.price);
    cap_or(c, max_abs, ResizeReason::SymbolNotional { limit, used })
}

/// Fleet gross exposure (other positions at cost, this one at `price`) ≤ share × equity.
fn gross_exposure(e: &mut RiskEngine, c: &mut Candidate<'_>, i: &RiskInput<'_>) -> R {
    let Some(pct) = e.pcts.gross else {
        return Ok(());
    };
    if c.is_reducing() {
        return Ok(());
    }
    let limit = c.equity.max(Decimal::ZERO) * pct;
    let used = i.portfolio.gross_cost() - own_cost(c, i);
    let max_abs = e.units(limit - used, i.price);
    cap_or(c, max_abs, ResizeReason::GrossExposure { limit, used })
}

/// Gross exposure of the symbol plus the symbols correlated with it ≤ share × equity.
fn correlation(e: &mut RiskEngine, c: &mut Candidate<'_>, i: &RiskInput<'_>) -> R {
    let Some(pct) = e.pcts.cluster else {
        return Ok(());
    };
    if c.is_reducing() {
        return Ok(());
    }
    let threshold = e.config.correlation.threshold;
    let pf = i.portfolio;
    // The cluster's cost only changes with new returns or fills: cache it per symbol.
    let key = (e.correlation.generation(), pf.version());
    let cached = e
        .cluster_cache
        .get(&c.intent.symbol)
        .filter(|cc| cc.key == key);
    let (members, mut used) = match cached {
        Some(cc) => (cc.members, cc.cost),
        None => {
            let members = e.correlation.cluster(&c.intent.symbol, threshold);
            let cost: Decimal = members
                .iter()
                .filter_map(|s| pf.symbol_exposure(s))
                .map(|x| x.gross_cost)
                .sum();
            let cc = ClusterCost {
                key,
                members: members.len(),
                cost,
            };
            e.cluster_cache.insert(c.intent.symbol.clone(), cc);
            (members.len(), cost)
        }
    };
    if members == 0 {
        return Ok(());
    }
    let this = pf
        .symbol_exposure(&c.intent.symbol)
        .map_or(Decimal::ZERO, |s| s.gross_qty);
    used += (this - c.current.abs()) * i.price;
    let cluster = members + 1;
    let limit = c.equity.max(Decimal::ZERO) * pct;
    let max_abs = e.units(limit - used, i.price);
    cap_or(
        c,
        max_abs,
        ResizeReason::Correlation {
            limit,
            used,
            cluster,
        },
    )
}

/// Keeps the bot's gross notional (other symbols at cost, this one at `price`) within its budget.
fn budget(e: &mut RiskEngine, c: &mut Candidate<'_>, i: &RiskInput<'_>) -> R {
    if c.is_reducing() {
        return Ok(());
    }
    let used = i.portfolio.bot_gross_cost(c.bot()) - own_cost(c, i);
    let max_abs = e.units(i.budget - used, i.price);
    let reason = ResizeReason::Budget {
        budget: i.budget,
        used,
    };
    if !c.cap_position(max_abs, reason) {
        return Err(RefusalReason::BudgetExhausted {
            budget: i.budget,
            used,
            price: i.price,
        });
    }
    Ok(())
}

/// Cost (|qty| × avg) of the bot's current position in the symbol.
fn own_cost(c: &Candidate<'_>, i: &RiskInput<'_>) -> Decimal {
    i.portfolio
        .position(c.bot(), &c.intent.symbol)
        .map_or(Decimal::ZERO, |p| p.quantity.abs() * p.avg_price)
}

const _: () = assert!(GATE_ORDER.len() == CHAIN.len());
