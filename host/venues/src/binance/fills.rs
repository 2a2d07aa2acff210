//! Fills with their fees: what an order answer shows beyond what the log holds is booked
//! from the order's executions (`GET /api/v3/myTrades`).
//!
//! `GET /api/v3/order` (and the DELETE answer) carry cumulative figures but no
//! commissions, and a FULL submit answer only the fills up to that moment. So when an
//! answer's executedQty is above what the [`crate::EventLog`] has booked, the order's
//! executions are fetched (signed, weight 20) and booked as [`CumulativeFill`]s: the
//! venue's trade id, the execution's own quantity and price, its commission in the quote
//! asset (converted as the FULL fills are) and the running sum in trade-id order as the
//! cumulative quantity. The log dedupes by trade id and by cumulative quantity, so the
//! FULL fills, myTrades and the cumulative figures never book one execution twice. An
//! answer whose executedQty is already booked costs no request.
//!
//! When myTrades cannot be had (an error, a 429, a list that does not yet reach the
//! order's executedQty, or a full page of [`PAGE`] executions, which may leave earlier
//! ones out), the rest is booked as before from the cumulative figures, with fee 0, and
//! a notice says which order's fee for how much quantity is not in the ledger. It is
//! never fetched again for that quantity: the log holds it as booked.

use super::Shared;
use super::error::BinanceError;
use super::mapping::{WireTrade, trade_fills};
use super::rest::{Method, weight};
use crate::common::CumulativeFill;
use flotilla_broker::venue::VenueOrder;
use flotilla_domain::{ClientOrderId, Money, Quantity, Symbol};

/// Executions asked for at once (Binance's maximum `limit`).
pub(super) const PAGE: usize = 1000;

impl Shared {
    pub(super) fn remember_order_id(&self, c: &ClientOrderId, id: i64) {
        self.order_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(c.clone(), id);
    }

    fn order_id(&self, c: &ClientOrderId) -> Option<i64> {
        self.order_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(c)
            .copied()
    }

    fn booked_quantity(&self, c: &ClientOrderId) -> Quantity {
        self.log.booked(c).map_or(Quantity::ZERO, |(q, _)| q)
    }

    /// Books what an order answer says: fills beyond what the log holds (from myTrades,
    /// else from the cumulative figures with a notice), then acceptance and end. Returns
    /// the events added.
    pub(super) async fn book(&self, o: &VenueOrder) -> usize {
        let c = &o.client_id;
        let mut n = 0;
        // A FULL answer's own fills carry their fees; the snapshot books them.
        if o.fills.is_empty() && o.filled_quantity > self.booked_quantity(c) {
            let why = match self.order_id(c) {
                Some(id) => match self.trades(&o.symbol, id).await {
                    Ok(trades) => {
                        n += self.book_trades(o, &trades);
                        if trades.len() >= PAGE {
                            format!("myTrades returned a full page of {PAGE} executions")
                        } else {
                            "myTrades does not show them yet".to_string()
                        }
                    }
                    Err(e) => format!("myTrades failed: {e}"),
                },
                None => "the venue's order id is unknown".to_string(),
            };
            let booked = self.booked_quantity(c);
            if o.filled_quantity > booked {
                let report = CumulativeFill {
                    trade_id: None,
                    cumulative: o.filled_quantity,
                    cumulative_notional: Some(o.filled_quantity * o.avg_price),
                    last: None,
                    fee: Money::ZERO,
                    time: o.updated_at,
                };
                if self.log.fill(c, &report) {
                    n += 1;
                    self.rest.notice(format!(
                        "binance: {c}: fill of {} booked from the order's cumulative figures \
                         with fee 0 ({why}); the venue's commission for it is not in the ledger",
                        (o.filled_quantity - booked).normalize()
                    ));
                }
            }
        }
        n + self.log.snapshot(o, o.updated_at)
    }

    /// Books an order's executions; returns the fills added. A page that may be
    /// incomplete is not booked (its running sums could be wrong).
    fn book_trades(&self, o: &VenueOrder, trades: &[WireTrade]) -> usize {
        if trades.len() >= PAGE {
            return 0;
        }
        let r = &self.rules[&o.symbol];
        let mut n = 0;
        for f in trade_fills(trades, &r.base, &r.quote) {
            if !self.log.fill(&o.client_id, &f) {
                continue;
            }
            n += 1;
            let third = trades
                .iter()
                .find(|t| Some(t.id.to_string()) == f.trade_id)
                .filter(|t| t.commission_asset != r.base && t.commission_asset != r.quote);
            if let Some(t) = third {
                // As for a FULL answer's fills: a third asset (BNB) is not converted.
                self.rest.notice(format!(
                    "binance: {}: trade {} paid {} {} in commission, booked as fee 0 (not converted)",
                    o.client_id, t.id, t.commission.normalize(), t.commission_asset
                ));
            }
        }
        n
    }

    /// `GET /api/v3/myTrades` of one order (symbol + orderId, limit [`PAGE`]).
    async fn trades(&self, symbol: &Symbol, order_id: i64) -> Result<Vec<WireTrade>, BinanceError> {
        let p = [
            ("symbol", self.rules[symbol].wire.clone()),
            ("orderId", order_id.to_string()),
            ("limit", PAGE.to_string()),
        ];
        let v = self
            .rest
            .signed(Method::Get, "/api/v3/myTrades", &p, weight::MY_TRADES)
            .await?;
        let trades: Vec<WireTrade> = serde_json::from_value(v)
            .map_err(|e| BinanceError::Decode(format!("myTrades: {e}")))?;
        Ok(trades
            .into_iter()
            .filter(|t| t.order_id == order_id)
            .collect())
    }
}
