//! Bar store and the embedded market simulator (seeded GBM with regime switches).
