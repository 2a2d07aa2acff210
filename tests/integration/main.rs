//! Integration tests: real compiled bots, a real SQLite file.
