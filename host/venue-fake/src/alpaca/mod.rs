//! A fake Alpaca.
