//! The SQLite ledger: every decision, order, fill and equity snapshot.
