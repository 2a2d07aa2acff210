//! Keys that never print.

use std::fmt;

/// A key or secret read from the environment. `Debug` and `Display` print `***`; only
/// [`Secret::expose`] gives the value, at the point it goes on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value (tests; connectors read [`Secret::from_env`]).
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value of the environment variable `name`; an error naming the variable (and
    /// nothing else) when it is missing or empty.
    pub fn from_env(name: &str) -> Result<Self, super::ConnectError> {
        match std::env::var(name) {
            Ok(v) if !v.trim().is_empty() => Ok(Self(v.trim().to_string())),
            _ => Err(super::ConnectError::MissingEnv(name.to_string())),
        }
    }

    /// The value, for the request that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// `text` with every occurrence of each secret replaced by `***`: for messages built from
/// a venue's or a library's text, which could echo what was sent.
pub fn redact(text: &str, secrets: &[&Secret]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if s.0.len() >= 4 {
            out = out.replace(&s.0, "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_formats_its_value() {
        let s = Secret::new("sk-very-secret");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
        assert_eq!(s.expose(), "sk-very-secret");
        assert_eq!(redact("bad key sk-very-secret!", &[&s]), "bad key ***!");
    }

    #[test]
    fn a_missing_variable_is_named() {
        let e = Secret::from_env("FLOTILLA_TEST_SURELY_UNSET").unwrap_err();
        assert_eq!(
            e.to_string(),
            "environment variable FLOTILLA_TEST_SURELY_UNSET is not set"
        );
    }
}
