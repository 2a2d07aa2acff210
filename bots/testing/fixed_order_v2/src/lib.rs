//! fixed_order built again as version 0.2.0 (its `VERSION` is this crate's), so reload
//! tests can swap a running bot for a new version with the same state format.

#[path = "../../fixed_order/src/lib.rs"]
mod fixed_order;
