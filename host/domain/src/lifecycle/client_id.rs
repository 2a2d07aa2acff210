//! Client order ids: the id the host gives an order at the venue, derived from the ledger's
//! order id so a restarted host recognises its own orders and a resend is not a new order.

use crate::OrderId;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::str::FromStr;

/// Longest client order id: common venues accept 32 characters or more.
const MAX_LEN: usize = 32;
/// Longest namespace kept by [`ClientOrderId::for_order`]: `fl-` + 12 + `-` + 16 hex digits
/// of a `u64` is exactly [`MAX_LEN`].
const MAX_NAMESPACE: usize = 12;
/// Marks the host's own orders at a venue shared with other clients.
const PREFIX: &str = "fl-";

/// An order id as sent to the venue: 1 to 32 characters of `A-Z a-z 0-9 _ -`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize)]
#[serde(transparent)]
pub struct ClientOrderId(String);

/// Why a string is not a client order id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientOrderIdError {
    /// No characters.
    #[error("client order id is empty")]
    Empty,
    /// More than 32 characters.
    #[error("client order id has {len} characters (at most {MAX_LEN})")]
    TooLong {
        /// Its length in characters.
        len: usize,
    },
    /// A character outside `A-Z a-z 0-9 _ -`.
    #[error("client order id has {found:?} at {at} (allowed: A-Z a-z 0-9 _ -)")]
    BadChar {
        /// The character.
        found: char,
        /// Its position, in characters.
        at: usize,
    },
}

impl ClientOrderId {
    /// Validates `s` as a client order id.
    pub fn parse(s: &str) -> Result<Self, ClientOrderIdError> {
        if let Some((at, found)) = s
            .chars()
            .enumerate()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
        {
            return Err(ClientOrderIdError::BadChar { found, at });
        }
        match s.len() {
            0 => Err(ClientOrderIdError::Empty),
            len if len > MAX_LEN => Err(ClientOrderIdError::TooLong { len }),
            _ => Ok(Self(s.to_string())),
        }
    }

    /// The client id of ledger order `id`: `fl-{namespace}-{id in lowercase hex}`.
    ///
    /// `namespace` tells ledgers sharing a venue account apart (see
    /// [`ClientOrderId::namespace_from_seed`]). Only its ASCII letters and digits are kept,
    /// at most 12, so the result is valid for every `u64`; two namespaces that agree on
    /// those produce the same ids. Hex rather than decimal keeps a 12-character namespace
    /// whole for `u64::MAX` (decimal would need 36 characters).
    pub fn for_order(namespace: &str, id: OrderId) -> ClientOrderId {
        let ns: String = namespace
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(MAX_NAMESPACE)
            .collect();
        Self(format!("{PREFIX}{ns}-{:x}", id.0))
    }

    /// The ledger order id this client id was made from with `namespace`, if it was.
    pub fn order_id(&self, namespace: &str) -> Option<OrderId> {
        let hex = self.0.rsplit_once('-')?.1;
        let id = OrderId(u64::from_str_radix(hex, 16).ok()?);
        // Only the exact text `for_order` writes (no `+`, no leading zeros, same namespace).
        (Self::for_order(namespace, id) == *self).then_some(id)
    }

    /// An 8-character lowercase hex namespace derived from `seed`, for a ledger to store
    /// once. The mix is SplitMix64's, fixed here so the namespace never changes with a
    /// library or compiler version.
    pub fn namespace_from_seed(seed: u64) -> String {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        format!("{:08x}", z >> 32)
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ClientOrderId {
    type Err = ClientOrderIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

// Written as a plain string, read back through `parse`, so no stored record can carry an
// id the venue would refuse.
impl<'de> Deserialize<'de> for ClientOrderId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn parse_accepts_the_venue_alphabet_only() {
        assert_eq!(
            ClientOrderId::parse("fl-ab_C9").unwrap().as_str(),
            "fl-ab_C9"
        );
        assert!(ClientOrderId::parse(&"a".repeat(32)).is_ok());
        assert_eq!(
            ClientOrderId::parse(&"a".repeat(33)),
            Err(ClientOrderIdError::TooLong { len: 33 })
        );
        assert_eq!(ClientOrderId::parse(""), Err(ClientOrderIdError::Empty));
        assert_eq!(
            ClientOrderId::parse("ab c"),
            Err(ClientOrderIdError::BadChar { found: ' ', at: 2 })
        );
        assert_eq!(
            ClientOrderId::parse("é"),
            Err(ClientOrderIdError::BadChar { found: 'é', at: 0 })
        );
        assert_eq!("x-1".parse::<ClientOrderId>().unwrap().to_string(), "x-1");
    }

    #[test]
    fn for_order_is_stable_valid_and_round_trips() {
        let a = ClientOrderId::for_order("ledger1", OrderId(42));
        assert_eq!(a.as_str(), "fl-ledger1-2a");
        assert_eq!(a, ClientOrderId::for_order("ledger1", OrderId(42)));
        assert_eq!(a.order_id("ledger1"), Some(OrderId(42)));
        assert_eq!(a.order_id("ledger2"), None);
        let max = ClientOrderId::for_order("abcdefghijkl", OrderId(u64::MAX));
        assert_eq!(max.as_str(), "fl-abcdefghijkl-ffffffffffffffff");
        assert_eq!(max.as_str().len(), 32);
        assert_eq!(ClientOrderId::parse(max.as_str()), Ok(max.clone()));
        assert_eq!(max.order_id("abcdefghijkl"), Some(OrderId(u64::MAX)));
        // Anything else in the namespace is dropped or cut, never making an invalid id.
        let messy = ClientOrderId::for_order("pröd ledger #7, very long indeed", OrderId(u64::MAX));
        assert_eq!(messy.as_str(), "fl-prdledger7ve-ffffffffffffffff");
        assert!(ClientOrderId::parse(messy.as_str()).is_ok());
        assert!(ClientOrderId::parse(ClientOrderId::for_order("", OrderId(0)).as_str()).is_ok());
        // Not the canonical text: leading zero.
        assert_eq!(
            ClientOrderId::parse("fl-ns-02a").unwrap().order_id("ns"),
            None
        );
    }

    #[test]
    fn distinct_ids_give_distinct_client_ids() {
        let ns = ClientOrderId::namespace_from_seed(7);
        let ids = (0..10_000u64).chain([u64::MAX - 1, u64::MAX, 1 << 63]);
        let mut seen = HashSet::new();
        for id in ids {
            let c = ClientOrderId::for_order(&ns, OrderId(id));
            assert!(ClientOrderId::parse(c.as_str()).is_ok(), "{c}");
            assert_eq!(c.order_id(&ns), Some(OrderId(id)));
            assert!(seen.insert(c), "{id}");
        }
    }

    #[test]
    fn namespaces_from_seeds_are_fixed_short_hex() {
        // Pinned values: a change would orphan every order a ledger has at its venue.
        assert_eq!(ClientOrderId::namespace_from_seed(0), "e220a839");
        assert_eq!(ClientOrderId::namespace_from_seed(1), "910a2dec");
        let mut seen = HashSet::new();
        for seed in 0..1000 {
            let ns = ClientOrderId::namespace_from_seed(seed);
            assert_eq!(ns.len(), 8);
            assert!(
                ns.chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
            );
            assert_eq!(ns, ClientOrderId::namespace_from_seed(seed));
            seen.insert(ns);
        }
        assert_eq!(seen.len(), 1000);
    }

    #[test]
    fn serde_is_a_plain_string_and_validates() {
        let c = ClientOrderId::for_order("ns", OrderId(255));
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"fl-ns-ff\"");
        assert_eq!(
            serde_json::from_str::<ClientOrderId>("\"fl-ns-ff\"").unwrap(),
            c
        );
        assert!(serde_json::from_str::<ClientOrderId>("\"has space\"").is_err());
    }
}
