//! The paper broker: fills market orders at the reference price plus slippage, charges fees.

use crate::{Broker, BrokerError};
use flotilla_domain::{Decimal, Fill, Money, OrderRequest, Price, Symbol, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Paper execution costs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaperConfig {
    /// Slippage in basis points, against the order (buys pay more, sells get less). Default 2.
    pub slippage_bps: Decimal,
    /// Fee in basis points of notional. Default 1.
    pub fee_bps: Decimal,
    /// Smallest fee per fill. Default 0.
    pub min_fee: Money,
}

impl Default for PaperConfig {
    fn default() -> Self {
        Self {
            slippage_bps: Decimal::from(2),
            fee_bps: Decimal::ONE,
            min_fee: Decimal::ZERO,
        }
    }
}

/// A simulated account: cash and net positions, filled immediately.
pub struct PaperBroker {
    config: PaperConfig,
    cash: Money,
    positions: HashMap<Symbol, Decimal>,
}

impl PaperBroker {
    /// An account with `cash`.
    pub fn new(config: PaperConfig, cash: Money) -> Self {
        Self {
            config,
            cash,
            positions: HashMap::new(),
        }
    }

    /// Cash after the market orders this broker filled (a replay's resting orders fill
    /// through the matching model, not here: the fleet's book is the account).
    pub fn cash(&self) -> Price {
        self.cash
    }

    /// Net position per symbol.
    pub fn positions(&self) -> &HashMap<Symbol, Decimal> {
        &self.positions
    }
}

impl Broker for PaperBroker {
    fn name(&self) -> &str {
        "paper"
    }

    fn submit(
        &mut self,
        order: &OrderRequest,
        reference_price: f64,
        now: Timestamp,
    ) -> Result<Fill, BrokerError> {
        if !reference_price.is_finite() || reference_price <= 0.0 {
            return Err(BrokerError::BadPrice {
                symbol: order.symbol.to_string(),
                price: reference_price,
            });
        }
        if order.quantity <= Decimal::ZERO {
            return Err(BrokerError::Rejected(format!(
                "quantity {} must be positive",
                order.quantity
            )));
        }
        let reference = Decimal::from_f64_retain(reference_price)
            .ok_or_else(|| BrokerError::BadPrice {
                symbol: order.symbol.to_string(),
                price: reference_price,
            })?
            .round_dp(6);
        // The matching model's prices and fees, so paper, the paper venue and backtests
        // charge alike.
        let price = self.config.slipped(reference, order.side);
        let notional = price * order.quantity;
        let fee = self.config.fee(notional);
        self.cash -= order.side.sign() * notional + fee;
        *self.positions.entry(order.symbol.clone()).or_default() +=
            order.side.sign() * order.quantity;
        Ok(Fill {
            order_id: order.id,
            bot: order.bot.clone(),
            symbol: order.symbol.clone(),
            side: order.side,
            quantity: order.quantity,
            price,
            fee,
            time: now,
            trade_id: format!("paper-{}", order.client_id),
            tag: order.tag.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_domain::{OrderId, Side};
    use rust_decimal_macros::dec;

    fn order(side: Side, qty: Decimal) -> OrderRequest {
        OrderRequest {
            id: OrderId(1),
            client_id: flotilla_domain::ClientOrderId::for_order("t", OrderId(1)),
            bot: "b".into(),
            symbol: "AAPL".into(),
            side,
            quantity: qty,
            time: Timestamp(0),
            tag: "t".into(),
            exit: false,
        }
    }

    #[test]
    fn fills_with_slippage_and_fees_exactly() {
        let mut b = PaperBroker::new(
            PaperConfig {
                slippage_bps: dec!(10),
                fee_bps: dec!(5),
                min_fee: dec!(0),
            },
            dec!(10000),
        );
        let f = b
            .submit(&order(Side::Buy, dec!(10)), 100.0, Timestamp(5))
            .unwrap();
        assert_eq!(f.price, dec!(100.1));
        assert_eq!(f.fee, dec!(0.50));
        assert_eq!(b.cash(), dec!(10000) - dec!(1001) - dec!(0.5));
        let f = b
            .submit(&order(Side::Sell, dec!(10)), 100.0, Timestamp(6))
            .unwrap();
        assert_eq!(f.price, dec!(99.9));
        assert_eq!(b.positions()[&Symbol::new("AAPL")], dec!(0));
        assert_eq!(b.cash(), dec!(10000) - dec!(2) - dec!(0.5) - dec!(0.50));
    }

    #[test]
    fn refuses_bad_prices_and_quantities() {
        let mut b = PaperBroker::new(PaperConfig::default(), dec!(1000));
        for p in [f64::NAN, 0.0, -1.0, f64::INFINITY] {
            assert!(matches!(
                b.submit(&order(Side::Buy, dec!(1)), p, Timestamp(0)),
                Err(BrokerError::BadPrice { .. })
            ));
        }
        assert!(matches!(
            b.submit(&order(Side::Buy, dec!(0)), 10.0, Timestamp(0)),
            Err(BrokerError::Rejected(_))
        ));
        assert_eq!(b.cash(), dec!(1000));
    }
}
