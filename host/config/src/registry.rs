//! The registry file as written: serde structs with their defaults, and loading/parsing.
//!
//! These structs mirror the TOML one to one and accept anything well-typed; the semantic
//! checks live in [`crate::validate`], which also produces the resolved view.

pub use flotilla_engine::{BotRiskOverrides, RiskConfig, ThompsonConfig};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use std::collections::HashMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

/// The bundled default registry, `config/fleet.toml` at the repository root.
pub const DEFAULT_REGISTRY: &str = include_str!("../../../config/fleet.toml");

/// The repository's `config/` directory as seen at build time: the natural base directory
/// for [`DEFAULT_REGISTRY`] when running from a source checkout.
pub const SOURCE_CONFIG_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config");

/// Why a registry could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read registry {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The text is not valid TOML, or does not fit the registry's shape (unknown field,
    /// wrong type, missing `[fleet]`).
    #[error("{}: {message}", at(origin, *line, *column))]
    Parse {
        /// The file the text came from.
        origin: PathBuf,
        /// 1-based line of the error, when known.
        line: Option<usize>,
        /// 1-based column (in characters) of the error, when known.
        column: Option<usize>,
        /// The TOML parser's message, e.g. ``unknown field `evry`, expected one of …``.
        message: String,
    },
    /// The registry parsed but is not valid.
    #[error(transparent)]
    Invalid(#[from] crate::ValidationErrors),
}

/// `file:line:column`, omitting what is unknown.
fn at(origin: &Path, line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("{}:{l}:{c}", origin.display()),
        (Some(l), None) => format!("{}:{l}", origin.display()),
        _ => origin.display().to_string(),
    }
}

/// The whole registry file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    /// `[fleet]`: fleet-wide settings (required).
    pub fleet: FleetConfig,
    /// `[[bot]]`: the bots, in file order (default: none).
    #[serde(default)]
    pub bot: Vec<BotConfig>,
    /// The file this was read from (for messages).
    #[serde(skip)]
    origin: PathBuf,
    /// Absolute directory relative paths are resolved against: the file's directory.
    #[serde(skip)]
    base_dir: PathBuf,
    /// Line of each value, by path such as `bot[2].every`.
    #[serde(skip)]
    lines: HashMap<String, usize>,
}

/// `[fleet]`: fleet-wide settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetConfig {
    /// Name of the fleet, shown in logs and the ledger (required, non-empty).
    #[serde(default)]
    pub name: String,
    /// Directory holding bot components; relative to the registry file's directory
    /// (default `.`, the registry's own directory).
    #[serde(default = "default_components_dir")]
    pub components_dir: PathBuf,
    /// Cash the account starts with, in account currency; a decimal string or a number
    /// (default `"100000"`; must be positive).
    #[serde(default = "default_starting_cash")]
    pub starting_cash: DecimalText,
    /// `[fleet.risk]`: the risk chain's limits; every field and default is documented on
    /// [`RiskConfig`] (the engine's own config, so the registry and engine never drift).
    #[serde(default)]
    pub risk: RiskConfig,
    /// `[fleet.allocator]`: the Thompson-sampling capital allocator (see [`ThompsonConfig`]).
    #[serde(default)]
    pub allocator: ThompsonConfig,
    /// How often capital is reallocated, as an interval (default `1h`).
    #[serde(default = "default_rebalance_every")]
    pub rebalance_every: String,
    /// `[fleet.sandbox]`: default sandbox limits for every bot.
    #[serde(default)]
    pub sandbox: SandboxConfig,
    /// `[fleet.broker]`: where orders go.
    #[serde(default)]
    pub broker: BrokerConfig,
    /// `[fleet.market]`: the embedded market simulator.
    #[serde(default)]
    pub market: MarketConfig,
    /// `[fleet.api]`: the HTTP API, dashboard and metrics (see [`crate::ApiConfig`]).
    #[serde(default)]
    pub api: crate::ApiConfig,
    /// `[fleet.alerts]`: alert channels and per-event settings (see [`crate::AlertsConfig`]).
    #[serde(default)]
    pub alerts: crate::AlertsConfig,
}

fn default_rebalance_every() -> String {
    "1h".into()
}

fn default_components_dir() -> PathBuf {
    PathBuf::from(".")
}

fn default_starting_cash() -> DecimalText {
    DecimalText("100000".into())
}

/// `[fleet.sandbox]`: sandbox limits every bot gets unless its `[bot.limits]` overrides them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxConfig {
    /// Linear memory cap per bot instance, MiB (default 64; 1..=4096).
    pub memory_mb: u32,
    /// Per-call CPU budget enforced by wasmtime epoch interruption, ms (default 50;
    /// 1..=60000; at most `timeout_ms`).
    pub deadline_ms: u64,
    /// Wall-clock tokio timeout around each call, ms (default 1000; 1..=600000).
    pub timeout_ms: u64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            memory_mb: 64,
            deadline_ms: 50,
            timeout_ms: 1000,
        }
    }
}

/// `[fleet.broker]`: where approved orders are sent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrokerConfig {
    /// Which broker (default `paper`: the local paper venue beside the ledger; `alpaca`
    /// and `binance` reach those venues, on their paper account or testnet unless `mode`
    /// is `live`).
    pub kind: BrokerKind,
    /// `paper` (default) or `live`. Real money needs this *and* `flotilla run --live` (or
    /// `FLOTILLA_LIVE=1`); with either missing the host only talks to paper or testnet.
    pub mode: VenueMode,
    /// The venue's base URL, for a rehearsal against a fake venue
    /// (`flotilla venue fake-alpaca`); only loopback addresses are allowed (default: the
    /// venue's own paper/testnet or live URL).
    pub url: Option<String>,
    /// How long a venue request may take before its outcome counts as unknown, ms
    /// (default 10000; 100..=120000).
    pub request_timeout_ms: u64,
    /// The account's request budget per minute, shared by every bot (default: the venue's
    /// documented limit: Alpaca 200 requests, Binance 6000 weight; 1..=100000).
    pub rate_limit_per_minute: Option<u32>,
    /// After an ambiguous submit, how long "not found" is doubted before the order may be
    /// sent again, ms (default: Alpaca 10000, Binance 30000, which dedupes only open
    /// orders; 0..=600000).
    pub resend_grace_ms: Option<u64>,
    /// Slippage applied against the order, basis points; decimal (default 2; 0..=10000).
    pub slippage_bps: DecimalText,
    /// Fee charged on notional, basis points; decimal (default 1; 0..=10000).
    pub fee_bps: DecimalText,
    /// Paper venue: at most this fraction of a bar's volume fills per order per bar, in
    /// (0, 1]; decimal (default none: an order fills whole).
    pub partial_fill_fraction: Option<DecimalText>,
    /// Paper venue: how long it takes to answer an order, in milliseconds (default 0;
    /// at most 60000). Orders wait; bots do not.
    pub latency_ms: u64,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        Self {
            kind: BrokerKind::Paper,
            slippage_bps: DecimalText("2".into()),
            fee_bps: DecimalText("1".into()),
            partial_fill_fraction: None,
            latency_ms: 0,
            mode: VenueMode::Paper,
            url: None,
            request_timeout_ms: 10_000,
            rate_limit_per_minute: None,
            resend_grace_ms: None,
        }
    }
}

/// Paper (or testnet) or real money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VenueMode {
    /// The venue's paper account or testnet.
    #[default]
    Paper,
    /// Real money (also needs `--live` or `FLOTILLA_LIVE=1`).
    Live,
}

/// Where bars come from in `flotilla run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MarketSourceKind {
    /// The embedded simulator.
    #[default]
    Sim,
    /// Alpaca's market data (REST backfill, WebSocket bars).
    Alpaca,
    /// Binance's market data (klines backfill, kline streams).
    Binance,
}

/// The kind of broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BrokerKind {
    /// The local paper venue: simulated fills on the host's market, slippage and fees.
    #[default]
    Paper,
    /// Alpaca's Trading API v2 (paper account unless live).
    Alpaca,
    /// Binance Spot (testnet unless live).
    Binance,
}

impl BrokerKind {
    /// The name as written in the registry.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Paper => "paper",
            Self::Alpaca => "alpaca",
            Self::Binance => "binance",
        }
    }
}

/// `[fleet.market]`: where bars come from, and the symbols offered.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MarketConfig {
    /// `sim` (default: the embedded simulator), `alpaca` or `binance` (the venue's live
    /// bars; keys from the environment as for the broker).
    pub source: MarketSourceKind,
    /// The live feed's bar timeframe (default `1m`).
    pub feed_timeframe: String,
    /// A live symbol is stale once no bar came for this many bar intervals past its
    /// close; decimal (default 2; 1..=100). Stale symbols take no new entries.
    pub stale_after_bars: DecimalText,
    /// Bars backfilled per symbol when a live feed first connects (default 300; 0..=10000).
    pub warm_up_bars: u32,
    /// How long a due bot waits for the bars that close at its tick to arrive from a
    /// live feed, ms (default 2000; 0..=60000).
    pub bar_wait_ms: u64,
    /// Random seed, so a run replays exactly (default 42).
    pub seed: u64,
    /// The symbols the simulator offers; bots may only trade these (default `AAPL`, `MSFT`,
    /// `SPY`, `QQQ`, `BTC-USD`, `ETH-USD`; non-empty, unique).
    pub symbols: Vec<String>,
    /// Simulated start time, RFC 3339 (a TOML date-time or a string; default
    /// `2026-01-05T14:30:00Z`, a Monday's New York open).
    pub start: TimeText,
    /// When each symbol's trading day ends, for orders good for the day, e.g.
    /// `AAPL = { time = "16:00", tz = "America/New_York" }`; a symbol not listed trades
    /// around the clock and its day ends at 00:00 UTC (default: none listed).
    pub session_close: std::collections::BTreeMap<String, SessionClose>,
}

/// The end of a symbol's trading day: a local time of day in a time zone.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionClose {
    /// Local time of day, `HH:MM`.
    pub time: String,
    /// IANA zone (`America/New_York`) or fixed offset (`+02:00`, `UTC`).
    pub tz: String,
}

/// The simulator's default symbols.
pub const DEFAULT_SYMBOLS: [&str; 6] = ["AAPL", "MSFT", "SPY", "QQQ", "BTC-USD", "ETH-USD"];

impl Default for MarketConfig {
    fn default() -> Self {
        Self {
            source: MarketSourceKind::Sim,
            feed_timeframe: "1m".into(),
            stale_after_bars: DecimalText("2".into()),
            warm_up_bars: 300,
            bar_wait_ms: 2000,
            seed: 42,
            symbols: DEFAULT_SYMBOLS.iter().map(|s| s.to_string()).collect(),
            start: TimeText("2026-01-05T14:30:00Z".into()),
            session_close: Default::default(),
        }
    }
}

/// One `[[bot]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotConfig {
    /// Unique id: 1-64 of `A-Z a-z 0-9 - _`, starting with a letter or digit (required).
    #[serde(default)]
    pub id: String,
    /// The component file: absolute, `./`- or `../`-relative to the registry file, or else
    /// relative to `fleet.components_dir` (required).
    #[serde(default)]
    pub component: String,
    /// Run at every multiple of this interval since the epoch: `100ms`, `10s`, `1m`, `5m`,
    /// `1h`, `1d`, … (exactly one of `every` and `cron` is required).
    pub every: Option<String>,
    /// Run at the fires of this cron expression: 6 fields with seconds (7 with years), or a
    /// 5-field crontab line that gets seconds `0`; weekdays by name (`MON-FRI`).
    pub cron: Option<String>,
    /// IANA time zone `cron` is read in (default `UTC`; only with `cron`).
    pub tz: Option<String>,
    /// Symbols the bot trades, each offered by `[fleet.market]` (required, non-empty,
    /// unique).
    #[serde(default)]
    pub symbols: Vec<String>,
    /// Whether the bot runs (default true). Disabled bots are still validated, except that
    /// their component file need not exist.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Tick outside the market's session too: with a venue that reports market hours
    /// (Alpaca's stocks), a bot whose symbols are all closed skips its ticks unless this
    /// is true (default false; crypto never closes).
    #[serde(default)]
    pub outside_hours: bool,
    /// `[bot.params]`: free keys with string, integer, float or boolean values, passed to the
    /// bot as text (default empty).
    #[serde(default)]
    pub params: toml::Table,
    /// `[bot.limits]`: per-bot overrides of the fleet defaults (default none).
    #[serde(default)]
    pub limits: BotLimits,
    /// `[bot.risk]`: per-bot overrides of `[fleet.risk]` (default none).
    #[serde(default)]
    pub risk: BotRiskOverrides,
}

fn yes() -> bool {
    true
}

/// `[bot.limits]`: per-bot overrides; an absent field takes the fleet value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotLimits {
    /// Most positions this bot may hold open (default and maximum:
    /// `fleet.risk.max_open_positions`).
    pub max_open_positions: Option<u32>,
    /// Overrides `fleet.sandbox.memory_mb`.
    pub memory_mb: Option<u32>,
    /// Overrides `fleet.sandbox.deadline_ms`.
    pub deadline_ms: Option<u64>,
    /// Overrides `fleet.sandbox.timeout_ms`.
    pub timeout_ms: Option<u64>,
}

/// A decimal as written: a TOML string (exact) or number. Checked by validation, so a bad
/// value is reported alongside every other problem rather than aborting the parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecimalText(pub String);

impl DecimalText {
    /// The value, parsed exactly (scientific notation accepted).
    pub fn value(&self) -> Result<Decimal, rust_decimal::Error> {
        let s = self.0.trim();
        match Decimal::from_str(s) {
            Err(_) if s.contains(['e', 'E']) => Decimal::from_scientific(s),
            r => r,
        }
    }
}

impl<'de> Deserialize<'de> for DecimalText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match toml::Value::deserialize(d)? {
            toml::Value::String(s) => Ok(Self(s)),
            toml::Value::Integer(i) => Ok(Self(i.to_string())),
            // `{:?}` prints the shortest text that reads back as the same float.
            toml::Value::Float(f) => Ok(Self(format!("{f:?}"))),
            other => Err(serde::de::Error::custom(format!(
                "expected a decimal string or number, found {}",
                other.type_str()
            ))),
        }
    }
}

impl fmt::Display for DecimalText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A date-time as written: a TOML date-time or an RFC 3339 string. Checked by validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeText(pub String);

impl<'de> Deserialize<'de> for TimeText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match toml::Value::deserialize(d)? {
            toml::Value::String(s) => Ok(Self(s)),
            toml::Value::Datetime(dt) => Ok(Self(dt.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "expected an RFC 3339 date-time, found {}",
                other.type_str()
            ))),
        }
    }
}

impl fmt::Display for TimeText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Registry {
    /// Reads and parses the registry at `path` (not validated: call [`Registry::validate`]).
    pub fn load(path: impl AsRef<Path>) -> Result<Registry, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses registry text that was read from `origin_path`; relative paths in it resolve
    /// against that file's directory (not validated: call [`Registry::validate`]).
    pub fn parse(text: &str, origin_path: impl AsRef<Path>) -> Result<Registry, ConfigError> {
        let origin = origin_path.as_ref().to_path_buf();
        let parse_error = |e: toml::de::Error| {
            let pos = e.span().map(|s| line_col(text, s.start));
            ConfigError::Parse {
                origin: origin.clone(),
                line: pos.map(|p| p.0),
                column: pos.map(|p| p.1),
                message: e.message().trim_end().to_string(),
            }
        };
        let mut reg: Registry = toml::from_str(text).map_err(parse_error)?;
        let doc = toml::de::DeTable::parse(text).map_err(parse_error)?;
        let mut lines = HashMap::new();
        for (k, v) in doc.get_ref() {
            index_lines(text, k.get_ref(), v, &mut lines);
        }
        let dir = match origin.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        reg.base_dir = normalize(&std::path::absolute(dir).unwrap_or_else(|_| dir.into()));
        reg.origin = origin;
        reg.lines = lines;
        Ok(reg)
    }

    /// Parses [`DEFAULT_REGISTRY`] as if it were `fleet.toml` in `base_dir` (use
    /// [`SOURCE_CONFIG_DIR`] to find the repository's built components).
    pub fn bundled(base_dir: impl AsRef<Path>) -> Result<Registry, ConfigError> {
        Self::parse(DEFAULT_REGISTRY, base_dir.as_ref().join("fleet.toml"))
    }

    /// The file this registry was read from, as given.
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// The absolute directory relative paths resolve against (the registry file's directory).
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    /// `fleet.components_dir`, resolved to an absolute path.
    pub fn components_dir(&self) -> PathBuf {
        normalize(&self.base_dir.join(&self.fleet.components_dir))
    }

    /// A bot's component file resolved to an absolute path: absolute as written, `./` or
    /// `../` relative to the registry file, anything else relative to `components_dir`.
    pub fn component_path(&self, bot: &BotConfig) -> PathBuf {
        let p = Path::new(&bot.component);
        let file_relative = matches!(
            p.components().next(),
            Some(Component::CurDir | Component::ParentDir)
        );
        if p.is_absolute() {
            normalize(p)
        } else if file_relative {
            normalize(&self.base_dir.join(p))
        } else {
            normalize(&self.components_dir().join(p))
        }
    }

    /// The 1-based line of the value at `path` (e.g. `bot[2].every`), or of the nearest
    /// enclosing table that is written in the file.
    pub fn line_of(&self, path: &str) -> Option<usize> {
        let mut p = path;
        loop {
            if let Some(l) = self.lines.get(p) {
                return Some(*l);
            }
            p = &p[..p.rfind(['.', '['])?];
        }
    }
}

/// Records the line of `value` and everything inside it under `path`.
fn index_lines(
    text: &str,
    path: &str,
    value: &toml::Spanned<toml::de::DeValue<'_>>,
    out: &mut HashMap<String, usize>,
) {
    out.insert(path.to_string(), line_col(text, value.span().start).0);
    match value.get_ref() {
        toml::de::DeValue::Table(t) => {
            for (k, v) in t {
                index_lines(text, &format!("{path}.{}", k.get_ref()), v, out);
            }
        }
        toml::de::DeValue::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                index_lines(text, &format!("{path}[{i}]"), v, out);
            }
        }
        _ => {}
    }
}

/// 1-based line and character column of byte offset `at`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Removes `.` and folds `..` lexically, so resolved paths read cleanly in messages.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "[fleet]\nname = \"t\"\n\n[[bot]]\nid = \"a\"\ncomponent = \"a.wasm\"\nevery = \"1m\"\nsymbols = [\"AAPL\"]\n";

    #[test]
    fn defaults_fill_everything_optional() {
        let r = Registry::parse(MINIMAL, "/srv/fleet/fleet.toml").unwrap();
        assert_eq!(r.fleet.components_dir, PathBuf::from("."));
        assert_eq!(
            r.fleet.starting_cash.value().unwrap(),
            Decimal::from(100_000)
        );
        assert_eq!(r.fleet.risk, RiskConfig::default());
        assert_eq!(r.fleet.allocator, ThompsonConfig::default());
        assert_eq!(r.fleet.rebalance_every, "1h");
        assert_eq!(
            r.fleet.sandbox,
            SandboxConfig {
                memory_mb: 64,
                deadline_ms: 50,
                timeout_ms: 1000
            }
        );
        assert_eq!(r.fleet.broker, BrokerConfig::default());
        assert_eq!(r.fleet.market, MarketConfig::default());
        let b = &r.bot[0];
        assert!(b.enabled && b.params.is_empty() && b.cron.is_none() && b.tz.is_none());
        assert_eq!(b.limits, BotLimits::default());
        assert_eq!(r.base_dir(), Path::new("/srv/fleet"));
    }

    #[test]
    fn unknown_field_is_rejected_with_its_name_and_line() {
        let text = MINIMAL.replace("every = ", "evry = ");
        let err = Registry::parse(&text, "f.toml").unwrap_err();
        let ConfigError::Parse {
            line,
            column,
            message,
            ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!((*line, *column), (Some(7), Some(1)));
        assert!(message.contains("unknown field `evry`"), "{message}");
        assert!(
            err.to_string()
                .starts_with("f.toml:7:1: unknown field `evry`"),
            "{err}"
        );
        let nested = "[fleet]\nname = \"t\"\n[fleet.sandbox]\nmemory = 3\n";
        let err = Registry::parse(nested, "f.toml").unwrap_err().to_string();
        assert!(
            err.starts_with("f.toml:4:1: unknown field `memory`"),
            "{err}"
        );
    }

    #[test]
    fn syntax_errors_report_line_and_column() {
        let err = Registry::parse("[fleet]\nname = \"t\"\n[[bot]\n", "f.toml").unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Parse {
                    line: Some(3),
                    column: Some(7),
                    ..
                }
            ),
            "{err:?}"
        );
        let err = Registry::parse("[fleet]\nname = \n", "f.toml").unwrap_err();
        assert!(
            matches!(err, ConfigError::Parse { line: Some(2), .. }),
            "{err:?}"
        );
        let err = Registry::load("/definitely/not/here.toml").unwrap_err();
        assert!(matches!(err, ConfigError::Io { .. }));
    }

    #[test]
    fn decimals_and_times_accept_strings_and_toml_values() {
        let text = "[fleet]\nname = \"t\"\nstarting_cash = 2500.5\n[fleet.broker]\nfee_bps = \"0.25\"\n\
                    slippage_bps = 3\n[fleet.market]\nstart = 2026-02-02T14:30:00Z\n";
        let r = Registry::parse(text, "f.toml").unwrap();
        assert_eq!(
            r.fleet.starting_cash.value().unwrap(),
            Decimal::new(25005, 1)
        );
        assert_eq!(r.fleet.broker.fee_bps.value().unwrap(), Decimal::new(25, 2));
        assert_eq!(
            r.fleet.broker.slippage_bps.value().unwrap(),
            Decimal::from(3)
        );
        assert_eq!(r.fleet.market.start.0, "2026-02-02T14:30:00Z");
        let bad = Registry::parse("[fleet]\nname = \"t\"\nstarting_cash = true\n", "f.toml");
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("expected a decimal string or number")
        );
    }

    #[test]
    fn paths_resolve_against_the_file_and_components_dir() {
        let text = MINIMAL.replace("[fleet]\n", "[fleet]\ncomponents_dir = \"../bots/out\"\n");
        let r = Registry::parse(&text, "/srv/cfg/fleet.toml").unwrap();
        assert_eq!(r.components_dir(), PathBuf::from("/srv/bots/out"));
        let mut b = r.bot[0].clone();
        assert_eq!(r.component_path(&b), PathBuf::from("/srv/bots/out/a.wasm"));
        b.component = "./local/b.wasm".into();
        assert_eq!(r.component_path(&b), PathBuf::from("/srv/cfg/local/b.wasm"));
        b.component = "/opt/c.wasm".into();
        assert_eq!(r.component_path(&b), PathBuf::from("/opt/c.wasm"));
        // A relative origin still yields an absolute base.
        assert!(
            Registry::parse(MINIMAL, "fleet.toml")
                .unwrap()
                .base_dir()
                .is_absolute()
        );
    }

    #[test]
    fn lines_are_indexed_by_path() {
        let r = Registry::parse(MINIMAL, "f.toml").unwrap();
        assert_eq!(r.line_of("fleet.name"), Some(2));
        assert_eq!(r.line_of("bot[0]"), Some(4));
        assert_eq!(r.line_of("bot[0].every"), Some(7));
        assert_eq!(r.line_of("bot[0].symbols[0]"), Some(8));
        assert_eq!(
            r.line_of("bot[0].cron"),
            Some(4),
            "absent: falls back to the table"
        );
        assert_eq!(r.line_of("fleet.sandbox.memory_mb"), Some(1));
        assert_eq!(r.line_of("nothing"), None);
    }
}
