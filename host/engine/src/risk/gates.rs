//! The gates, in chain order. Each may lower the candidate's size or refuse it.

use super::{Candidate, RefusalReason, ResizeReason, RiskEngine, RiskInput, Scope};
use flotilla_domain::Side;

/// A gate: `Ok` to pass (possibly after resizing the candidate), `Err` to refuse.
pub(crate) type Gate =
    fn(&mut RiskEngine, &mut Candidate<'_>, &RiskInput<'_>) -> Result<(), RefusalReason>;

/// The chain, in order.
pub(crate) const CHAIN: &[Gate] = &[no_change, contradictory, max_open_positions, budget];

/// Zero-delta intents are refused.
fn no_change(
    _: &mut RiskEngine,
    c: &mut Candidate<'_>,
    _: &RiskInput<'_>,
) -> Result<(), RefusalReason> {
    if c.quantity.is_zero() {
        return Err(RefusalReason::NoChange { current: c.current });
    }
    Ok(())
}

/// Refuses ending on the opposite side of an underlying another bot holds.
fn contradictory(
    _: &mut RiskEngine,
    c: &mut Candidate<'_>,
    i: &RiskInput<'_>,
) -> Result<(), RefusalReason> {
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
fn max_open_positions(
    e: &mut RiskEngine,
    c: &mut Candidate<'_>,
    i: &RiskInput<'_>,
) -> Result<(), RefusalReason> {
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

/// Keeps the bot's gross notional (other symbols at cost, this one at `price`) within its budget.
fn budget(
    e: &mut RiskEngine,
    c: &mut Candidate<'_>,
    i: &RiskInput<'_>,
) -> Result<(), RefusalReason> {
    if c.is_reducing() {
        return Ok(());
    }
    let pf = i.portfolio;
    let this_cost = pf
        .position(c.bot(), &c.intent.symbol)
        .map_or(Default::default(), |p| p.quantity.abs() * p.avg_price);
    let used = pf.bot_gross_cost(c.bot()) - this_cost;
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
