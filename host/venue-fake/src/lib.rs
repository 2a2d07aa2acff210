//! Loopback fake venues.

pub mod alpaca;
pub mod binance;
pub mod sim;
