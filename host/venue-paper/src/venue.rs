//! The paper venue behind the execution service's [`Venue`] shape.

use crate::{PaperVenue, VenueError};
use flotilla_broker::venue::{
    CancelOutcome, Venue, VenueEvent, VenueFailure, VenueInfo, VenueOrder, VenueOrderRequest,
};
use flotilla_domain::{Bar, ClientOrderId, Money, Quantity, Symbol, Timestamp};
use std::collections::BTreeMap;

fn other(e: VenueError) -> VenueFailure {
    VenueFailure::Other(e.to_string())
}

impl Venue for PaperVenue {
    fn info(&self) -> VenueInfo {
        VenueInfo {
            venue: "paper".into(),
            account: "local".into(),
            mode: "paper".into(),
            endpoint: self.lock().path().unwrap_or("memory").to_string(),
        }
    }

    fn submit(&self, req: &VenueOrderRequest, now: Timestamp) -> Result<VenueOrder, VenueFailure> {
        PaperVenue::submit(self, req, now).map_err(other)
    }

    fn cancel(
        &self,
        client_id: &ClientOrderId,
        now: Timestamp,
    ) -> Result<CancelOutcome, VenueFailure> {
        PaperVenue::cancel(self, client_id, now).map_err(other)
    }

    fn order(&self, client_id: &ClientOrderId) -> Result<Option<VenueOrder>, VenueFailure> {
        PaperVenue::order(self, client_id).map_err(other)
    }

    fn open_orders(&self) -> Result<Vec<VenueOrder>, VenueFailure> {
        PaperVenue::open_orders(self).map_err(other)
    }

    fn events_since(&self, seq: u64) -> Result<Vec<(u64, VenueEvent)>, VenueFailure> {
        PaperVenue::events_since(self, seq).map_err(other)
    }

    fn last_event_seq(&self) -> Result<u64, VenueFailure> {
        PaperVenue::last_event_seq(self).map_err(other)
    }

    fn durable_events(&self) -> bool {
        true
    }

    fn positions(&self) -> Result<BTreeMap<Symbol, Quantity>, VenueFailure> {
        PaperVenue::positions(self).map_err(other)
    }

    fn cash(&self) -> Result<Money, VenueFailure> {
        PaperVenue::cash(self).map_err(other)
    }

    fn on_bars(&self, bars: &[(Symbol, Bar)], now: Timestamp) -> Result<(), VenueFailure> {
        self.expire_due(now).map_err(other)?;
        for (symbol, bar) in bars {
            self.on_bar(symbol, bar).map_err(other)?;
        }
        Ok(())
    }
}
