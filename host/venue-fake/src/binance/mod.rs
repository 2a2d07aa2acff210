//! A fake Binance.
