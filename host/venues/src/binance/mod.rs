//! Binance Spot (testnet by default).
