//! What a running fleet tells the outside world, and the one way the outside acts on it.
//!
//! - [`events`]: the fleet's event stream (fills, verdicts, order updates, state changes,
//!   reloads, quarantines, alerts), numbered so a reader can resume where it left off.
//! - [`metrics`]: the Prometheus metrics the fleet keeps up to date on its tick path.
//! - [`control`]: the controls (halt, pause a bot, flatten, cancel, reload) and the live
//!   view of the bots, as a trait the host implements.
//!
//! No HTTP and no I/O here: the web server, the alert channels and the fleet all depend on
//! this crate, never on each other.

pub mod control;
pub mod events;
pub mod metrics;

pub use control::{BotLive, Control, ControlError, FleetPort, FleetSnapshot, PositionLive};
pub use events::{EventData, EventHub, FleetEvent, Resume};
pub use metrics::FleetMetrics;

/// The fleet's event stream and metrics together: what the host holds and hands out.
#[derive(Debug, Default)]
pub struct Telemetry {
    /// The event stream.
    pub events: EventHub,
    /// The metrics.
    pub metrics: FleetMetrics,
}
