//! Validation of what a bot returns, at the trust boundary: nothing malformed passes on.

use crate::host::truncate;
use flotilla_domain::{BotId, Decimal, Intent, OrderAction, Symbol};

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
    /// Free tag.
    pub tag: String,
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
        tag: r.tag.clone(),
    })
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
            tag: String::new(),
        }
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
