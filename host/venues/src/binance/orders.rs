//! Orders: submit through the one submit policy, query, cancel, list, and the poll that
//! turns order changes into events.
//!
//! Order updates are polled (the fallback the issue allows): the user-data stream of the
//! WebSocket API needs a logon with an Ed25519 key or a session, and the old listenKey
//! streams are deprecated. Every `poll_interval` each order the connector tracks that is
//! not done is asked for by client id (`GET /api/v3/order`, weight 4, within the shared
//! budget); when its executedQty is above what the log holds, its executions are fetched
//! from `GET /api/v3/myTrades` and booked with their trade ids and commissions (see
//! [`super::fills`]); the [`crate::EventLog`] books only what is beyond what it holds, so
//! a FULL response's fills, myTrades and a later poll never book a fill twice.

use super::Shared;
use super::error::BinanceError;
use super::mapping::{WireOrder, tif, to_venue_order};
use super::rest::{Method, weight};
use crate::common::{Attempt, submit_once};
use flotilla_broker::venue::{CancelOutcome, VenueFailure, VenueOrder, VenueOrderRequest};
use flotilla_domain::{ClientOrderId, OrderState, OrderType, Symbol, Timestamp};
use std::sync::Weak;
use std::time::Duration;

/// A failure as the host's [`VenueFailure`].
pub(super) fn failure(e: BinanceError) -> VenueFailure {
    match e {
        BinanceError::RateLimited { retry_after, .. } => VenueFailure::NotSent {
            reason: e.to_string(),
            retry_after: Some(retry_after),
        },
        BinanceError::Connect(_) => VenueFailure::NotSent {
            reason: e.to_string(),
            retry_after: None,
        },
        e if e.is_ambiguous() => VenueFailure::Ambiguous(e.to_string()),
        e => VenueFailure::Other(e.to_string()),
    }
}

impl Shared {
    fn decode(&self, v: serde_json::Value, symbol: &Symbol) -> Result<VenueOrder, BinanceError> {
        let w: WireOrder =
            serde_json::from_value(v).map_err(|e| BinanceError::Decode(e.to_string()))?;
        let r = &self.rules[symbol];
        let mut o = to_venue_order(&w, symbol, &r.base, &r.quote)?;
        if let Some(id) = w.order_id {
            self.remember_order_id(&o.client_id, id);
        }
        // The host's own fields Binance does not keep (a day order is GTC there).
        if let Some(req) = self.requests().get(&o.client_id) {
            o.time_in_force = req.time_in_force;
            o.expires_at = req.expires_at;
        }
        Ok(o)
    }

    /// `POST /api/v3/order` once, read as an [`Attempt`].
    async fn send_order(&self, req: &VenueOrderRequest) -> Attempt {
        let r = &self.rules[&req.symbol];
        let mut p = vec![
            ("symbol", r.wire.clone()),
            (
                "side",
                if req.side.as_str() == "buy" {
                    "BUY"
                } else {
                    "SELL"
                }
                .to_string(),
            ),
        ];
        match req.order_type {
            OrderType::Market => p.push(("type", "MARKET".into())),
            OrderType::Limit => {
                p.push(("type", "LIMIT".into()));
                p.push(("timeInForce", tif(req.time_in_force).into()));
            }
        }
        p.push(("quantity", req.quantity.normalize().to_string()));
        if let (OrderType::Limit, Some(px)) = (req.order_type, req.limit_price) {
            p.push(("price", px.normalize().to_string()));
        }
        p.push(("newClientOrderId", req.client_id.as_str().to_string()));
        p.push(("newOrderRespType", "FULL".into()));
        // The send. Binance dedupes newClientOrderId only among OPEN orders: a resend of a
        // market order that already filled would execute a second time. So a lost answer
        // is never resent blind: `submit_once` asks for the order by client id first and
        // trusts "not found" only after the policy's grace period, which for Binance is
        // long by default (30 s, `BinanceConfig::submit`).
        match self
            .rest
            .signed(Method::Post, "/api/v3/order", &p, weight::LIGHT)
            .await
        {
            Ok(v) => match self.decode(v, &req.symbol) {
                Ok(o) => Attempt::Placed(o),
                // A 2xx we cannot read: the order is there; the query will say how.
                Err(e) => Attempt::Ambiguous(e.to_string()),
            },
            Err(e) if e.is_ambiguous() => Attempt::Ambiguous(e.to_string()),
            Err(e @ (BinanceError::RateLimited { .. } | BinanceError::Connect(_))) => {
                match failure(e) {
                    VenueFailure::NotSent {
                        reason,
                        retry_after,
                    } => Attempt::NotSent {
                        reason,
                        retry_after,
                    },
                    f => Attempt::Ambiguous(f.to_string()),
                }
            }
            // -1021 twice (the resync did not help): refused, may go later.
            Err(e @ BinanceError::Timestamp(_)) => Attempt::NotSent {
                reason: e.to_string(),
                retry_after: None,
            },
            // -2010, -1013, -1022, -2015, other 4xx: refused for good.
            Err(e) => Attempt::Rejected(self.rejected(req, e.to_string())),
        }
    }

    fn rejected(&self, req: &VenueOrderRequest, reason: String) -> VenueOrder {
        let mut o = VenueOrder::new(
            req,
            OrderState::Rejected,
            Timestamp(self.rest.clock.now_ms()),
        );
        o.reason = Some(reason);
        o
    }

    /// Submits `req` under the submit policy; books what the answer shows.
    pub(super) async fn submit(&self, req: &VenueOrderRequest) -> Result<VenueOrder, VenueFailure> {
        if let Some(refused) = self.refuse(req) {
            self.log.snapshot(&refused, refused.updated_at);
            return Ok(refused);
        }
        self.track(req);
        let o = submit_once(
            &self.policy,
            |_| self.send_order(req),
            || async { self.query(&req.client_id, Some(&req.symbol)).await },
        )
        .await;
        match &o {
            Ok(o) => {
                self.book(o).await;
                if !o.is_working() {
                    self.untrack(&o.client_id);
                }
            }
            Err(VenueFailure::NotSent { .. }) => self.untrack(&req.client_id),
            Err(_) => {}
        }
        o
    }

    /// The refusal of an order that is not sent at all: unknown symbol, below a filter's
    /// minimum, or off the grid.
    fn refuse(&self, req: &VenueOrderRequest) -> Option<VenueOrder> {
        let Some(rules) = self.rules.get(&req.symbol) else {
            return Some(self.rejected(
                req,
                format!("symbol {} is not configured for binance", req.symbol),
            ));
        };
        // The host prepares orders before it records them; an order off the grid here
        // would be changed on the way, so it is refused instead.
        match rules.prepare(req, self.price(&req.symbol)) {
            Err(reason) => Some(self.rejected(req, reason)),
            Ok(p) if p.quantity != req.quantity || p.limit_price != req.limit_price => {
                Some(self.rejected(
                    req,
                    format!(
                        "not on the venue's grid (quantity {} price {:?}; prepare gives {} {:?})",
                        req.quantity, req.limit_price, p.quantity, p.limit_price
                    ),
                ))
            }
            Ok(_) => None,
        }
    }

    /// `GET /api/v3/order` by origClientOrderId; -2013 is `None`. Without a symbol, each
    /// configured symbol is asked in turn.
    pub(super) async fn query(
        &self,
        client: &ClientOrderId,
        symbol: Option<&Symbol>,
    ) -> Result<Option<VenueOrder>, VenueFailure> {
        let symbols: Vec<Symbol> = match symbol.cloned().or_else(|| self.symbol_of(client)) {
            Some(s) => vec![s],
            None => self.config.symbols.clone(),
        };
        for s in symbols {
            let p = [
                ("symbol", self.rules[&s].wire.clone()),
                ("origClientOrderId", client.as_str().to_string()),
            ];
            match self
                .rest
                .signed(Method::Get, "/api/v3/order", &p, weight::QUERY_ORDER)
                .await
            {
                Ok(v) => return self.decode(v, &s).map(Some).map_err(failure),
                Err(BinanceError::NoSuchOrder) => continue,
                Err(e) => return Err(failure(e)),
            }
        }
        Ok(None)
    }

    /// `DELETE /api/v3/order`.
    pub(super) async fn cancel(
        &self,
        client: &ClientOrderId,
    ) -> Result<CancelOutcome, VenueFailure> {
        let Some(symbol) = self
            .symbol_of(client)
            .or(match self.query(client, None).await? {
                Some(o) => Some(o.symbol),
                None => return Ok(CancelOutcome::Unknown),
            })
        else {
            return Ok(CancelOutcome::Unknown);
        };
        let p = [
            ("symbol", self.rules[&symbol].wire.clone()),
            ("origClientOrderId", client.as_str().to_string()),
        ];
        match self
            .rest
            .signed(Method::Delete, "/api/v3/order", &p, weight::LIGHT)
            .await
        {
            Ok(v) => {
                let o = self.decode(v, &symbol).map_err(failure)?;
                self.book(&o).await;
                Ok(match o.state {
                    OrderState::Canceled => {
                        self.untrack(client);
                        CancelOutcome::Canceled
                    }
                    _ => CancelOutcome::Requested,
                })
            }
            // -2011 (not cancelable, or unknown) and -2013: what is the order now?
            Err(BinanceError::CancelRejected(_) | BinanceError::NoSuchOrder) => {
                match self.query(client, Some(&symbol)).await? {
                    Some(o) => {
                        self.book(&o).await;
                        if o.is_working() {
                            Err(VenueFailure::Other(format!(
                                "cancel refused (-2011) while the order is {}",
                                o.state
                            )))
                        } else {
                            self.untrack(client);
                            Ok(CancelOutcome::NotCancelable(o.state))
                        }
                    }
                    None => Ok(CancelOutcome::Unknown),
                }
            }
            Err(e) => Err(failure(e)),
        }
    }

    /// `GET /api/v3/openOrders` per configured symbol (weight 6 each, against 80 for all).
    pub(super) async fn open_orders(&self) -> Result<Vec<VenueOrder>, VenueFailure> {
        let mut out = Vec::new();
        for s in &self.config.symbols {
            let p = [("symbol", self.rules[s].wire.clone())];
            let v = self
                .rest
                .signed(Method::Get, "/api/v3/openOrders", &p, weight::OPEN_ORDERS)
                .await
                .map_err(failure)?;
            let arr = v
                .as_array()
                .ok_or_else(|| VenueFailure::Other("openOrders: not an array".into()))?;
            for o in arr {
                out.push(self.decode(o.clone(), s).map_err(failure)?);
            }
        }
        Ok(out)
    }

    /// One round of the order poll.
    async fn poll_once(&self) {
        for (client, symbol) in self.tracked() {
            // Not visible yet (reads lag writes), or the venue is unwell: next round.
            if let Ok(Some(o)) = self.query(&client, Some(&symbol)).await {
                self.book(&o).await;
                if !o.is_working() {
                    self.untrack(&client);
                }
            }
        }
    }
}

/// The poll task: runs until the connector is dropped.
pub(super) async fn poll(shared: Weak<Shared>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let Some(s) = shared.upgrade() else { return };
        s.poll_once().await;
    }
}
