//! The order lifecycle: order types and time in force, the states an order moves through
//! and the events that move it, client order ids, and the order as the host tracks it.

mod client_id;
mod order;
mod state;

pub use client_id::{ClientOrderId, ClientOrderIdError};
pub use order::{Applied, Order, OrderError, OrderSpec};
pub use state::{
    FillLevel, OrderEvent, OrderState, OrderType, TimeInForce, TransitionError, UnknownOrderState,
    UnknownOrderType, UnknownTimeInForce,
};
