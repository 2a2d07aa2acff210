//! The configuration a bot receives once, before its first tick, with typed params.

use crate::types::Timeframe;

/// What the registry gave this bot: its id, granted symbols and text params.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    bot_id: String,
    symbols: Vec<String>,
    params: Vec<(String, String)>,
}

impl Config {
    /// Builds a config by hand (tests, harnesses).
    pub fn new<K: Into<String>, V: Into<String>>(
        bot_id: impl Into<String>,
        symbols: impl IntoIterator<Item = impl Into<String>>,
        params: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Config {
            bot_id: bot_id.into(),
            symbols: symbols.into_iter().map(Into::into).collect(),
            params: params
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The id the registry knows this bot by.
    pub fn bot_id(&self) -> &str {
        &self.bot_id
    }

    /// The symbols the registry granted, in registry order.
    pub fn symbols(&self) -> &[String] {
        &self.symbols
    }

    /// Takes the granted symbols out (the runner keeps them for ticks).
    pub(crate) fn into_symbols(self) -> Vec<String> {
        self.symbols
    }

    /// All params as given, in registry order.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The raw text of a param; the last one wins if a key repeats.
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A typed param, or `default` when absent; a malformed value is an error naming the key.
    pub fn get<T: Param>(&self, key: &str, default: T) -> Result<T, String> {
        Ok(self.get_opt(key)?.unwrap_or(default))
    }

    /// A typed param that may be absent; an empty value counts as absent.
    pub fn get_opt<T: Param>(&self, key: &str) -> Result<Option<T>, String> {
        match self.raw(key).map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => T::parse_param(text)
                .map(Some)
                .ok_or_else(|| format!("param `{key}`: expected {}, got {text:?}", T::EXPECTED)),
        }
    }

    /// A typed param that must be present.
    pub fn require<T: Param>(&self, key: &str) -> Result<T, String> {
        self.get_opt(key)?
            .ok_or_else(|| format!("param `{key}` is required ({})", T::EXPECTED))
    }

    /// Keys that are not in `known`: bots log these, since a typo silently means a default.
    pub fn unknown_params<'a>(&'a self, known: &[&str]) -> Vec<&'a str> {
        self.params
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !known.contains(k))
            .collect()
    }

    /// The fraction of capital per symbol: param `fraction`, default an equal share.
    pub fn fraction(&self) -> Result<f64, String> {
        let default = 1.0 / self.symbols.len().max(1) as f64;
        let f: f64 = self.get("fraction", default)?;
        if !(0.0..=10.0).contains(&f) {
            return Err(format!("param `fraction`: must be in [0, 10], got {f}"));
        }
        Ok(f)
    }
}

/// A type a param can be parsed into.
pub trait Param: Sized {
    /// What a valid value looks like, for error messages.
    const EXPECTED: &'static str;
    /// Parses trimmed, non-empty text; `None` if it is not valid.
    fn parse_param(text: &str) -> Option<Self>;
}

impl Param for f64 {
    const EXPECTED: &'static str = "a finite number";
    fn parse_param(text: &str) -> Option<Self> {
        text.parse::<f64>().ok().filter(|v| v.is_finite())
    }
}

impl Param for f32 {
    const EXPECTED: &'static str = "a finite number";
    fn parse_param(text: &str) -> Option<Self> {
        text.parse::<f32>().ok().filter(|v| v.is_finite())
    }
}

macro_rules! int_param {
    ($($t:ty => $what:literal),* $(,)?) => {$(
        impl Param for $t {
            const EXPECTED: &'static str = $what;
            fn parse_param(text: &str) -> Option<Self> {
                text.parse().ok()
            }
        }
    )*};
}

int_param! {
    u32 => "a non-negative integer",
    u64 => "a non-negative integer",
    usize => "a non-negative integer",
    i32 => "an integer",
    i64 => "an integer",
}

impl Param for crate::Indicator {
    const EXPECTED: &'static str = "an indicator like rsi(14), macd(12, 26, 9) or bollinger(20, 2)";
    /// A param must also be valid: a zero period is refused at init, not at every tick.
    fn parse_param(text: &str) -> Option<Self> {
        text.parse::<Self>().ok().filter(|s| s.validate().is_ok())
    }
}

impl Param for crate::TimeInForce {
    const EXPECTED: &'static str = "day, gtc, ioc or fok";
    fn parse_param(text: &str) -> Option<Self> {
        use crate::TimeInForce as T;
        match text.to_ascii_lowercase().as_str() {
            "day" => Some(T::Day),
            "gtc" => Some(T::Gtc),
            "ioc" => Some(T::Ioc),
            "fok" => Some(T::Fok),
            _ => None,
        }
    }
}

impl Param for bool {
    const EXPECTED: &'static str = "true or false";
    fn parse_param(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Some(true),
            "false" | "no" | "off" | "0" => Some(false),
            _ => None,
        }
    }
}

impl Param for String {
    const EXPECTED: &'static str = "text";
    fn parse_param(text: &str) -> Option<Self> {
        Some(text.to_owned())
    }
}

impl Param for Timeframe {
    const EXPECTED: &'static str = "a timeframe (1m, 5m, 15m, 1h, 1d)";
    fn parse_param(text: &str) -> Option<Self> {
        text.parse().ok()
    }
}

/// A comma-separated list; blank items are dropped.
impl Param for Vec<String> {
    const EXPECTED: &'static str = "a comma-separated list";
    fn parse_param(text: &str) -> Option<Self> {
        Some(
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(params: &[(&str, &str)]) -> Config {
        Config::new("b1", ["AAA", "BBB"], params.iter().copied())
    }

    #[test]
    fn defaults_when_absent_or_blank() {
        let c = cfg(&[("fast", "  ")]);
        assert_eq!(c.get("fast", 10u32), Ok(10));
        assert_eq!(c.get("slow", 30.0), Ok(30.0));
        assert_eq!(c.get_opt::<f64>("stop"), Ok(None));
    }

    #[test]
    fn parses_typed_values() {
        let c = cfg(&[
            ("fast", " 12 "),
            ("k", "2.5"),
            ("short", "YES"),
            ("tf", "5m"),
            ("tf2", "H1"),
            ("syms", "a, b,,c"),
            ("neg", "-3"),
        ]);
        assert_eq!(c.get("fast", 0u32), Ok(12));
        assert_eq!(c.get("k", 0.0), Ok(2.5));
        assert_eq!(c.get("short", false), Ok(true));
        assert_eq!(c.get("tf", Timeframe::M1), Ok(Timeframe::M5));
        assert_eq!(c.get("tf2", Timeframe::M1), Ok(Timeframe::H1));
        assert_eq!(c.get("neg", 0i64), Ok(-3));
        let spec = cfg(&[("i", "macd(5, 35, 5)"), ("bad", "macd(35, 5, 5)")]);
        let macd = crate::Indicator::Macd {
            fast: 5,
            slow: 35,
            signal: 5,
        };
        assert_eq!(spec.get("i", crate::Indicator::Rsi(14)), Ok(macd));
        assert!(spec.get("bad", crate::Indicator::Rsi(14)).is_err());
        assert_eq!(
            c.require::<Vec<String>>("syms"),
            Ok(vec!["a".to_string(), "b".into(), "c".into()])
        );
    }

    #[test]
    fn errors_name_the_param() {
        let c = cfg(&[("fast", "ten"), ("k", "NaN"), ("n", "-1"), ("b", "maybe")]);
        let e = c.get("fast", 10u32).unwrap_err();
        assert!(e.contains("`fast`") && e.contains("\"ten\""), "{e}");
        assert!(c.get("k", 1.0).unwrap_err().contains("`k`"));
        assert!(c.get("n", 1u32).unwrap_err().contains("non-negative"));
        assert!(c.get("b", true).unwrap_err().contains("true or false"));
        assert!(
            c.require::<f64>("missing")
                .unwrap_err()
                .contains("`missing`")
        );
    }

    #[test]
    fn last_value_wins_and_unknown_keys_listed() {
        let c = cfg(&[("fast", "1"), ("fast", "2"), ("fsat", "3")]);
        assert_eq!(c.get("fast", 0u32), Ok(2));
        assert_eq!(c.unknown_params(&["fast", "slow"]), vec!["fsat"]);
    }

    #[test]
    fn fraction_defaults_to_equal_share() {
        assert_eq!(cfg(&[]).fraction(), Ok(0.5));
        assert_eq!(
            Config::new("b", Vec::<String>::new(), Vec::<(String, String)>::new()).fraction(),
            Ok(1.0)
        );
        assert_eq!(cfg(&[("fraction", "0.25")]).fraction(), Ok(0.25));
        assert!(cfg(&[("fraction", "-1")]).fraction().is_err());
    }
}
