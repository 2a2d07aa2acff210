//! Alpaca: Trading API v2 (stocks and crypto) and its market data.
