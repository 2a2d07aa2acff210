//! Risk chain, sizing, capital allocation and portfolio accounting. No I/O.
