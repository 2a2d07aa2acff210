//! Mapping a symbol to its underlying, for the contradictory-position gate.

use flotilla_domain::Symbol;
use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One rule: a regex whose first capture group (or whole match) is the underlying.
#[derive(Clone, Debug)]
pub struct UnderlyingRule {
    regex: Regex,
}

impl UnderlyingRule {
    /// Compiles a rule from a regex pattern.
    pub fn new(pattern: &str) -> Result<Self, regex::Error> {
        Ok(Self {
            regex: Regex::new(pattern)?,
        })
    }
    /// The rule's pattern.
    pub fn pattern(&self) -> &str {
        self.regex.as_str()
    }
    /// The underlying this rule derives from `symbol`, if it matches.
    pub fn apply(&self, symbol: &str) -> Option<String> {
        let caps = self.regex.captures(symbol)?;
        let m = caps.get(1).or_else(|| caps.get(0))?;
        Some(m.as_str().to_string())
    }
}

impl PartialEq for UnderlyingRule {
    fn eq(&self, other: &Self) -> bool {
        self.pattern() == other.pattern()
    }
}

impl Serialize for UnderlyingRule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.pattern())
    }
}

impl<'de> Deserialize<'de> for UnderlyingRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let p = String::deserialize(d)?;
        Self::new(&p).map_err(serde::de::Error::custom)
    }
}

/// Ordered rules; the first that matches wins, and a symbol no rule matches is its own
/// underlying. Empty (the default) means underlying = exact symbol.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnderlyingRules(pub Vec<UnderlyingRule>);

impl UnderlyingRules {
    /// Rules from regex patterns, in priority order.
    pub fn from_patterns<S: AsRef<str>>(patterns: &[S]) -> Result<Self, regex::Error> {
        patterns
            .iter()
            .map(|p| UnderlyingRule::new(p.as_ref()))
            .collect::<Result<_, _>>()
            .map(Self)
    }
    /// The underlying of `symbol`.
    pub fn underlying(&self, symbol: &Symbol) -> Symbol {
        self.0
            .iter()
            .find_map(|r| r.apply(symbol.as_str()))
            .map_or_else(|| symbol.clone(), Symbol::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_capture_group_is_the_underlying() {
        let rules = UnderlyingRules::from_patterns(&[r"^(KX[A-Z]+-\d{2}[A-Z]{3}\d{2})-"]).unwrap();
        let a = rules.underlying(&"KXHIGHCHI-26FEB09-B38.5".into());
        let b = rules.underlying(&"KXHIGHCHI-26FEB09-B40.5".into());
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "KXHIGHCHI-26FEB09");
        assert_eq!(rules.underlying(&"AAPL".into()).as_str(), "AAPL");
        let whole = UnderlyingRules::from_patterns(&["^[A-Z]+"]).unwrap();
        assert_eq!(whole.underlying(&"BTC-USD".into()).as_str(), "BTC");
        assert_eq!(
            UnderlyingRules::default()
                .underlying(&"X-1".into())
                .as_str(),
            "X-1"
        );
    }
}
