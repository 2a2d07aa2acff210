//! Newtype identifiers, so a bot id can never be passed where a symbol is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Eq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Arc<str>);

        // Equal, hashed and ordered by the text, as `str` is (so `Borrow<str>` lookups
        // agree), but a clone of the same id compares without reading it: many map lookups
        // on the per-bar path meet a clone of their own key, and `Arc`'s own pointer
        // shortcut needs a sized `T`.
        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
            }
        }
        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.0.hash(state);
            }
        }
        impl Ord for $name {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                if Arc::ptr_eq(&self.0, &other.0) {
                    std::cmp::Ordering::Equal
                } else {
                    self.0.cmp(&other.0)
                }
            }
        }
        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl $name {
            /// Wraps a string as this id.
            pub fn new(s: impl AsRef<str>) -> Self {
                Self(Arc::from(s.as_ref()))
            }
            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), &*self.0)
            }
        }
        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::new(s)
            }
        }
        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(Arc::from(s))
            }
        }
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

string_id!(
    /// The id of a bot, as written in the registry.
    BotId
);
string_id!(
    /// A tradable instrument's symbol, e.g. `AAPL` or `BTC-USD`.
    Symbol
);

/// The id of an order, unique within one ledger.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderId(pub u64);

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_compare_by_content_and_print_plainly() {
        let a = BotId::new("sma");
        assert_eq!(a, BotId::from("sma".to_string()));
        assert_eq!(a.to_string(), "sma");
        assert_eq!(format!("{a:?}"), "BotId(\"sma\")");
        assert_eq!(
            serde_json::to_string(&Symbol::new("AAPL")).unwrap(),
            "\"AAPL\""
        );
    }

    #[test]
    fn ids_order_by_text_whether_or_not_they_share_storage() {
        use std::cmp::Ordering::*;
        let (a, b) = (Symbol::new("AAPL"), Symbol::new("MSFT"));
        assert_eq!((a.cmp(&b), b.cmp(&a)), (Less, Greater));
        assert_eq!(a.cmp(&a.clone()), Equal);
        assert_eq!(a.cmp(&Symbol::new("AAPL")), Equal, "a separate copy");
        assert_eq!(a.partial_cmp(&b), Some(Less));
        let mut v = [b.clone(), Symbol::new("AAA"), a.clone()];
        v.sort();
        let sorted: Vec<&str> = v.iter().map(Symbol::as_str).collect();
        assert_eq!(sorted, ["AAA", "AAPL", "MSFT"]);
        // Equality agrees with the order, shared storage or not.
        assert!(a == a.clone() && a == Symbol::new("AAPL") && a != b);
        assert_ne!(BotId::new("x"), BotId::new("y"));
    }
}
