//! Broker routing: the Broker trait, the paper broker, venue connectors.
