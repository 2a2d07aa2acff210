//! The registry and fleet config: serde structs, defaults, validation, schedules.
