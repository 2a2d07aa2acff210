//! Validation of what a bot returns, at the trust boundary: nothing malformed passes on.

use crate::host::truncate;
use flotilla_domain::{
    BotId, Decimal, Intent, OrderAction, OrderType, ScaleOut, Symbol, TimeInForce, TrailDistance,
    TrailingStop,
};

/// Most scale-outs one intent may carry.
pub const MAX_SCALE_OUTS: usize = 8;

/// An order intent exactly as the bot returned it.
#[derive(Clone, Debug, PartialEq)]
pub struct RawIntent {
    /// Symbol text.
    pub symbol: String,
    /// What to do.
    pub action: RawAction,
    /// Claimed confidence.
    pub confidence: f64,
    /// Stop-loss price, if any.
    pub stop_loss: Option<f64>,
    /// Take-profit price, if any.
    pub take_profit: Option<f64>,
    /// Trailing stop, if any.
    pub trailing: Option<RawTrailing>,
    /// Partial exits, as given.
    pub scale_outs: Vec<ScaleOut>,
    /// Limit price, if any: then a limit order (contract 0.7.0; always `None` from 0.6.0).
    pub limit_price: Option<f64>,
    /// Time in force, if given; `None` is day.
    pub time_in_force: Option<TimeInForce>,
    /// Free tag.
    pub tag: String,
}

/// A trailing stop exactly as the bot returned it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RawTrailing {
    /// How far behind the best price.
    pub distance: RawTrail,
    /// Profit in R at which it starts.
    pub activate_at_r: Option<f64>,
}

/// The distance of a [`RawTrailing`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RawTrail {
    /// ATR multiple.
    Atr(f64),
    /// Fraction of the best price.
    Percent(f64),
    /// Price distance.
    Absolute(f64),
}

/// The action of a [`RawIntent`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RawAction {
    /// Buy units.
    Buy(f64),
    /// Sell units.
    Sell(f64),
    /// Hold a signed position.
    Target(f64),
}

/// Caps applied at the boundary.
#[derive(Clone, Debug)]
pub struct BoundaryLimits {
    /// Most intents accepted from one tick; more and the whole tick's intents are refused.
    pub max_intents: usize,
    /// Largest absolute quantity accepted.
    pub max_quantity: f64,
    /// Longest tag kept; longer tags are refused.
    pub max_tag_len: usize,
}

impl Default for BoundaryLimits {
    fn default() -> Self {
        Self {
            max_intents: 64,
            max_quantity: 1e9,
            max_tag_len: 256,
        }
    }
}

/// An intent refused at the boundary, with why.
#[derive(Clone, Debug, PartialEq)]
pub struct IntentRejection {
    /// The symbol as given (truncated).
    pub symbol: String,
    /// A stable reason code.
    pub code: &'static str,
    /// Human explanation with the offending values.
    pub message: String,
}

/// Splits a tick's raw intents into valid domain intents and boundary rejections.
pub fn validate_intents(
    bot: &BotId,
    grant: &[Symbol],
    raw: Vec<RawIntent>,
    limits: &BoundaryLimits,
) -> (Vec<Intent>, Vec<IntentRejection>) {
    if raw.len() > limits.max_intents {
        let reject = IntentRejection {
            symbol: "*".into(),
            code: "too_many_intents",
            message: format!(
                "{} intents in one tick (cap {}); all refused",
                raw.len(),
                limits.max_intents
            ),
        };
        return (Vec::new(), vec![reject]);
    }
    let mut ok = Vec::with_capacity(raw.len());
    let mut rejected = Vec::new();
    for r in raw {
        match validate_one(bot, grant, &r, limits) {
            Ok(i) => ok.push(i),
            Err((code, message)) => rejected.push(IntentRejection {
                symbol: truncate(&r.symbol, 64).to_string(),
                code,
                message,
            }),
        }
    }
    (ok, rejected)
}

fn validate_one(
    bot: &BotId,
    grant: &[Symbol],
    r: &RawIntent,
    limits: &BoundaryLimits,
) -> Result<Intent, (&'static str, String)> {
    let symbol = grant
        .iter()
        .find(|s| s.as_str() == r.symbol)
        .cloned()
        .ok_or_else(|| {
            (
                "ungranted_symbol",
                format!("symbol `{}` is not granted", truncate(&r.symbol, 64)),
            )
        })?;
    let (q, is_target) = match r.action {
        RawAction::Buy(q) | RawAction::Sell(q) => (q, false),
        RawAction::Target(q) => (q, true),
    };
    if !q.is_finite() {
        return Err(("invalid_quantity", format!("quantity {q} is not finite")));
    }
    if !is_target && q <= 0.0 {
        return Err(("invalid_quantity", format!("quantity {q} must be positive")));
    }
    if q.abs() > limits.max_quantity {
        return Err((
            "absurd_quantity",
            format!("quantity {q} exceeds {}", limits.max_quantity),
        ));
    }
    if !(0.0..=1.0).contains(&r.confidence) {
        return Err((
            "invalid_confidence",
            format!("confidence {} outside [0, 1]", r.confidence),
        ));
    }
    if r.tag.len() > limits.max_tag_len {
        return Err((
            "tag_too_long",
            format!("tag of {} bytes (cap {})", r.tag.len(), limits.max_tag_len),
        ));
    }
    let price = |p: Option<f64>, what: &str| -> Result<Option<Decimal>, (&'static str, String)> {
        match p {
            None => Ok(None),
            Some(v) if v.is_finite() && v > 0.0 => Ok(Some(to_decimal(v))),
            Some(v) => Err((
                "invalid_price",
                format!("{what} {v} must be a positive finite price"),
            )),
        }
    };
    let stop_loss = price(r.stop_loss, "stop-loss")?;
    let take_profit = price(r.take_profit, "take-profit")?;
    let limit_price = match r.limit_price {
        None => None,
        Some(v) if v.is_finite() && v > 0.0 => Some(to_decimal(v)),
        Some(v) => {
            return Err((
                "invalid_limit_price",
                format!("limit price {v} must be a positive finite price"),
            ));
        }
    };
    let trailing = r
        .trailing
        .map(|t| trailing(t, stop_loss.is_some()))
        .transpose()?;
    let scale_outs = scale_outs(&r.scale_outs, stop_loss.is_some())?;
    let qd = to_decimal(q);
    let action = match r.action {
        RawAction::Buy(_) => OrderAction::Buy(qd),
        RawAction::Sell(_) => OrderAction::Sell(qd),
        RawAction::Target(_) => OrderAction::Target(qd),
    };
    Ok(Intent {
        bot: bot.clone(),
        symbol,
        action,
        confidence: r.confidence,
        stop_loss,
        take_profit,
        trailing,
        scale_outs,
        // A limit price makes a limit order, whatever the action (a target too).
        order_type: if limit_price.is_some() {
            OrderType::Limit
        } else {
            OrderType::Market
        },
        limit_price,
        time_in_force: r.time_in_force.unwrap_or_default(),
        tag: r.tag.clone(),
    })
}

/// A refusal of an intent's exit plan.
fn bad_exit(message: String) -> (&'static str, String) {
    ("invalid_exit_plan", message)
}

/// Checks a trailing stop: a positive finite distance (a percentage below 1), and a
/// start in R only with a stop-loss to define R.
fn trailing(t: RawTrailing, has_stop: bool) -> Result<TrailingStop, (&'static str, String)> {
    let distance = match t.distance {
        RawTrail::Atr(k) if k.is_finite() && k > 0.0 => TrailDistance::Atr(k),
        RawTrail::Percent(p) if p.is_finite() && p > 0.0 && p < 1.0 => TrailDistance::Percent(p),
        RawTrail::Absolute(d) if d.is_finite() && d > 0.0 => TrailDistance::Absolute(to_decimal(d)),
        RawTrail::Atr(v) | RawTrail::Absolute(v) => {
            return Err(bad_exit(format!(
                "trailing distance {v} must be positive and finite"
            )));
        }
        RawTrail::Percent(p) => {
            return Err(bad_exit(format!("trailing percent {p} must be in (0, 1)")));
        }
    };
    match t.activate_at_r {
        Some(r) if !(r.is_finite() && r >= 0.0) => Err(bad_exit(format!(
            "trailing activate-at-r {r} must be finite and not negative"
        ))),
        Some(_) if !has_stop => Err(bad_exit(
            "trailing activate-at-r needs a stop-loss (R is the distance to it)".into(),
        )),
        activate_at_r => Ok(TrailingStop {
            distance,
            activate_at_r,
        }),
    }
}

/// Checks scale-outs: at most [`MAX_SCALE_OUTS`], at increasing positive R, fractions in
/// (0, 1] adding up to at most 1, and a stop-loss to define R.
fn scale_outs(given: &[ScaleOut], has_stop: bool) -> Result<Vec<ScaleOut>, (&'static str, String)> {
    if given.is_empty() {
        return Ok(Vec::new());
    }
    if given.len() > MAX_SCALE_OUTS {
        return Err(bad_exit(format!(
            "{} scale-outs (cap {MAX_SCALE_OUTS})",
            given.len()
        )));
    }
    if !has_stop {
        return Err(bad_exit(
            "scale-outs need a stop-loss (R is the distance to it)".into(),
        ));
    }
    let mut last_r = 0.0;
    let mut total = 0.0;
    for s in given {
        if !(s.at_r.is_finite() && s.at_r > last_r) {
            return Err(bad_exit(format!(
                "scale-out at {} R: levels must be finite, positive and increasing",
                s.at_r
            )));
        }
        if !(s.fraction.is_finite() && s.fraction > 0.0 && s.fraction <= 1.0) {
            return Err(bad_exit(format!(
                "scale-out fraction {} must be in (0, 1]",
                s.fraction
            )));
        }
        last_r = s.at_r;
        total += s.fraction;
    }
    // Slack for fractions like 1/3 written out in decimals.
    if total > 1.0 + 1e-9 {
        return Err(bad_exit(format!(
            "scale-out fractions add up to {total} (at most 1)"
        )));
    }
    Ok(given.to_vec())
}

/// Converts a finite guest `f64` to a decimal, keeping 8 decimal places.
pub(crate) fn to_decimal(v: f64) -> Decimal {
    Decimal::from_f64_retain(v)
        .unwrap_or_default()
        .round_dp(8)
        .normalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(symbol: &str, action: RawAction) -> RawIntent {
        RawIntent {
            symbol: symbol.into(),
            action,
            confidence: 0.5,
            stop_loss: None,
            take_profit: None,
            trailing: None,
            scale_outs: Vec::new(),
            limit_price: None,
            time_in_force: None,
            tag: String::new(),
        }
    }

    fn so(at_r: f64, fraction: f64) -> ScaleOut {
        ScaleOut { at_r, fraction }
    }

    #[test]
    fn exit_plans_pass_whole_or_are_refused_with_the_reason() {
        let bot = BotId::new("b");
        let grant = vec![Symbol::new("AAPL")];
        let with = |stop: Option<f64>, trail: Option<RawTrailing>, outs: Vec<ScaleOut>| {
            let mut r = raw("AAPL", RawAction::Buy(1.0));
            (r.stop_loss, r.trailing, r.scale_outs) = (stop, trail, outs);
            r
        };
        let atr = |k: f64, at: Option<f64>| {
            Some(RawTrailing {
                distance: RawTrail::Atr(k),
                activate_at_r: at,
            })
        };
        let pct = |p: f64| {
            Some(RawTrailing {
                distance: RawTrail::Percent(p),
                activate_at_r: None,
            })
        };
        let input = vec![
            // The example: 33% at 1R, 33% at 2R, the rest trailing at 1.5 ATR.
            with(
                Some(95.0),
                atr(1.5, Some(1.0)),
                vec![so(1.0, 0.33), so(2.0, 0.33)],
            ),
            with(None, pct(0.02), vec![]),
            with(None, atr(1.5, Some(1.0)), vec![]),
            with(None, None, vec![so(1.0, 0.5)]),
            with(Some(95.0), atr(f64::NAN, None), vec![]),
            with(Some(95.0), pct(1.5), vec![]),
            with(Some(95.0), None, vec![so(2.0, 0.5), so(1.0, 0.5)]),
            with(Some(95.0), None, vec![so(1.0, 0.7), so(2.0, 0.7)]),
            with(Some(95.0), None, vec![so(1.0, 0.0)]),
            with(Some(95.0), None, vec![so(1.0, 0.1); MAX_SCALE_OUTS + 1]),
        ];
        let (ok, rejected) = validate_intents(&bot, &grant, input, &BoundaryLimits::default());
        assert_eq!(ok.len(), 2);
        assert_eq!(
            ok[0].trailing,
            Some(TrailingStop {
                distance: TrailDistance::Atr(1.5),
                activate_at_r: Some(1.0)
            })
        );
        assert_eq!(ok[0].scale_outs, vec![so(1.0, 0.33), so(2.0, 0.33)]);
        assert_eq!(
            ok[1].trailing.map(|t| t.distance),
            Some(TrailDistance::Percent(0.02))
        );
        let messages: Vec<&str> = rejected.iter().map(|r| r.message.as_str()).collect();
        assert!(rejected.iter().all(|r| r.code == "invalid_exit_plan"));
        assert_eq!(
            messages,
            [
                "trailing activate-at-r needs a stop-loss (R is the distance to it)",
                "scale-outs need a stop-loss (R is the distance to it)",
                "trailing distance NaN must be positive and finite",
                "trailing percent 1.5 must be in (0, 1)",
                "scale-out at 1 R: levels must be finite, positive and increasing",
                "scale-out fractions add up to 1.4 (at most 1)",
                "scale-out fraction 0 must be in (0, 1]",
                "9 scale-outs (cap 8)",
            ]
        );
    }

    #[test]
    fn boundary_refuses_malformed_intents_with_reasons() {
        let bot = BotId::new("b");
        let grant = vec![Symbol::new("AAPL")];
        let mut bad_conf = raw("AAPL", RawAction::Buy(1.0));
        bad_conf.confidence = 5.0;
        let mut bad_stop = raw("AAPL", RawAction::Buy(1.0));
        bad_stop.stop_loss = Some(-3.0);
        let input = vec![
            raw("AAPL", RawAction::Buy(1.5)),
            raw("MSFT", RawAction::Buy(1.0)),
            raw("AAPL", RawAction::Buy(f64::NAN)),
            raw("AAPL", RawAction::Sell(-2.0)),
            raw("AAPL", RawAction::Target(1e12)),
            bad_conf,
            bad_stop,
            raw("AAPL", RawAction::Target(-2.0)),
        ];
        let (ok, rejected) = validate_intents(&bot, &grant, input, &BoundaryLimits::default());
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].action, OrderAction::Buy(Decimal::new(15, 1)));
        assert_eq!(ok[1].action, OrderAction::Target(Decimal::new(-2, 0)));
        let codes: Vec<_> = rejected.iter().map(|r| r.code).collect();
        assert_eq!(
            codes,
            [
                "ungranted_symbol",
                "invalid_quantity",
                "invalid_quantity",
                "absurd_quantity",
                "invalid_confidence",
                "invalid_price"
            ]
        );
    }

    #[test]
    fn limit_prices_make_limit_orders_and_bad_ones_are_refused() {
        let bot = BotId::new("b");
        let grant = vec![Symbol::new("AAPL")];
        let with = |action, limit: Option<f64>, tif: Option<TimeInForce>| {
            let mut r = raw("AAPL", action);
            (r.limit_price, r.time_in_force) = (limit, tif);
            r
        };
        let input = vec![
            with(RawAction::Buy(1.0), None, None),
            with(RawAction::Buy(1.0), Some(99.25), Some(TimeInForce::Gtc)),
            with(RawAction::Target(-3.0), Some(101.0), Some(TimeInForce::Ioc)),
            with(RawAction::Sell(1.0), None, Some(TimeInForce::Fok)),
            with(RawAction::Buy(1.0), Some(0.0), None),
            with(RawAction::Buy(1.0), Some(f64::NAN), None),
            with(RawAction::Buy(1.0), Some(-5.0), Some(TimeInForce::Day)),
            with(RawAction::Buy(1.0), Some(f64::INFINITY), None),
        ];
        let (ok, rejected) = validate_intents(&bot, &grant, input, &BoundaryLimits::default());
        let kinds: Vec<_> = ok
            .iter()
            .map(|i| (i.order_type, i.limit_price, i.time_in_force))
            .collect();
        assert_eq!(
            kinds,
            [
                (OrderType::Market, None, TimeInForce::Day),
                (
                    OrderType::Limit,
                    Some(Decimal::new(9925, 2)),
                    TimeInForce::Gtc
                ),
                (
                    OrderType::Limit,
                    Some(Decimal::new(101, 0)),
                    TimeInForce::Ioc
                ),
                (OrderType::Market, None, TimeInForce::Fok),
            ]
        );
        assert!(rejected.iter().all(|r| r.code == "invalid_limit_price"));
        let messages: Vec<&str> = rejected.iter().map(|r| r.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "limit price 0 must be a positive finite price",
                "limit price NaN must be a positive finite price",
                "limit price -5 must be a positive finite price",
                "limit price inf must be a positive finite price",
            ]
        );
    }

    #[test]
    fn a_flood_is_refused_whole() {
        let bot = BotId::new("b");
        let grant = vec![Symbol::new("AAPL")];
        let input = vec![raw("AAPL", RawAction::Buy(1.0)); 65];
        let (ok, rejected) = validate_intents(&bot, &grant, input, &BoundaryLimits::default());
        assert!(ok.is_empty());
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].code, "too_many_intents");
    }
}
