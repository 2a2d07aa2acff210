//! Validation that reports every problem with its place, and the resolved view it produces.
//!
//! One pass both checks and resolves, so what [`Registry::validate`] accepts is exactly what
//! [`Registry::bots`] and [`Registry::fleet_spec`] can build.

use crate::registry::{BotConfig, DecimalText, Registry, TimeText};
use crate::schedule::{Schedule, ScheduleError, parse_cron, parse_interval, parse_tz};
use chrono::DateTime;
use flotilla_domain::{BotId, Symbol, Timestamp};
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;

mod ops;
mod spec;
mod venue;
pub use spec::{BotSpec, BrokerSpec, EffectiveLimits, FleetSpec, MarketSpec};

/// Sane range of `memory_mb`: wasm32 memories cannot exceed 4 GiB.
pub const MEMORY_MB_RANGE: (u64, u64) = (1, 4096);
/// Sane range of `deadline_ms`.
pub const DEADLINE_MS_RANGE: (u64, u64) = (1, 60_000);
/// Sane range of `timeout_ms`.
pub const TIMEOUT_MS_RANGE: (u64, u64) = (1, 600_000);
/// Sane range of `max_open_positions`.
pub const MAX_OPEN_POSITIONS_RANGE: (u64, u64) = (0, 10_000);

/// What to check besides the registry text itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidateOptions {
    /// Check that each enabled bot's component file exists (default true).
    pub check_files: bool,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        Self { check_files: true }
    }
}

/// Where in the registry a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// The `[fleet]` table or one of its sub-tables.
    Fleet,
    /// The `index`-th (0-based) `[[bot]]`, with its id as written (possibly empty).
    Bot {
        /// 0-based position among the `[[bot]]` entries.
        index: usize,
        /// The id as written.
        id: String,
    },
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Fleet => f.write_str("fleet"),
            Place::Bot { index, id } if id.is_empty() => write!(f, "bot[{index}]"),
            Place::Bot { index, id } => write!(f, "bot {id:?} (bot[{index}])"),
        }
    }
}

/// What is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProblemKind {
    /// A required value is absent or empty.
    #[error("missing (required)")]
    Missing,
    /// A list that must not be empty is.
    #[error("is empty (list at least one)")]
    Empty,
    /// Another bot already has this id.
    #[error("duplicate id {id:?}, first used by bot[{first}]")]
    DuplicateId {
        /// The id.
        id: String,
        /// Index of the bot that has it first.
        first: usize,
    },
    /// The id has characters or a length that ids may not have.
    #[error("invalid id {0:?}: use 1-64 of A-Z a-z 0-9 - _, starting with a letter or digit")]
    InvalidId(String),
    /// Neither `every` nor `cron` is set.
    #[error("neither `every` nor `cron` is set; set exactly one")]
    NoSchedule,
    /// Both `every` and `cron` are set.
    #[error("both `every` and `cron` are set; set exactly one")]
    BothSchedules,
    /// An interval, cron expression or time zone is invalid.
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    /// `tz` is set but there is no `cron` to apply it to.
    #[error("`tz` only applies to `cron`; remove it or use `cron`")]
    TzWithoutCron,
    /// The cron expression never fires after the market start.
    #[error("cron expression {0:?} never fires after the market start")]
    NeverFires(String),
    /// A symbol is malformed.
    #[error("invalid symbol {0:?}: use 1-32 of A-Z a-z 0-9 - . _ /")]
    InvalidSymbol(String),
    /// A symbol appears twice in one list.
    #[error("duplicate symbol {0:?}")]
    DuplicateSymbol(String),
    /// A bot's symbol is not in `fleet.market.symbols`.
    #[error("symbol {0:?} is not offered by fleet.market.symbols")]
    UnknownSymbol(String),
    /// The resolved component file does not exist.
    #[error("component file not found: {}", .0.display())]
    ComponentMissing(PathBuf),
    /// The resolved component path exists but is not a file.
    #[error("component is not a file: {}", .0.display())]
    ComponentNotFile(PathBuf),
    /// An integer is outside its sane range.
    #[error("{value} is out of range {min}..={max}")]
    OutOfRange {
        /// The value.
        value: u64,
        /// Smallest allowed.
        min: u64,
        /// Largest allowed.
        max: u64,
    },
    /// The effective epoch deadline is longer than the effective call timeout.
    #[error("deadline_ms {deadline} exceeds timeout_ms {timeout}")]
    DeadlineAboveTimeout {
        /// Effective `deadline_ms`.
        deadline: u64,
        /// Effective `timeout_ms`.
        timeout: u64,
    },
    /// A per-bot position limit above the fleet's.
    #[error("{value} exceeds fleet.risk.max_open_positions ({fleet})")]
    AboveFleetLimit {
        /// The bot's value.
        value: u32,
        /// The fleet's value.
        fleet: u32,
    },
    /// A setting the engine refuses (risk limits, allocator, interval), with its reason.
    #[error("{0}")]
    Invalid(String),
    /// A decimal does not parse.
    #[error("invalid decimal {text:?}: {reason}")]
    InvalidDecimal {
        /// The text as written.
        text: String,
        /// What the decimal parser said.
        reason: String,
    },
    /// A decimal parses but is outside its range.
    #[error("{value} is out of range: must be {expected}")]
    DecimalOutOfRange {
        /// The value.
        value: Decimal,
        /// The allowed range, in words.
        expected: &'static str,
    },
    /// A date-time does not parse as RFC 3339.
    #[error("invalid date-time {text:?}: {reason} (write e.g. 2026-01-05T14:30:00Z)")]
    InvalidTime {
        /// The text as written.
        text: String,
        /// What the parser said.
        reason: String,
    },
    /// A parameter has a value bots cannot receive as text.
    #[error("unsupported value type {0} (use a string, integer, float or boolean)")]
    UnsupportedParam(&'static str),
    /// A float parameter is infinite or NaN.
    #[error("non-finite number {0}")]
    NonFiniteParam(String),
    /// A parameter's name is empty.
    #[error("empty parameter name")]
    EmptyParamName,
}

/// One problem: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The fleet or the bot.
    pub place: Place,
    /// The field, relative to the place, e.g. `every`, `limits.memory_mb`, `market.start`.
    pub field: String,
    /// 1-based line in the registry file of the value (or of its table if absent).
    pub line: Option<usize>,
    /// What is wrong.
    pub kind: ProblemKind,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} field {}: {}", self.place, self.field, self.kind)
    }
}

/// Every problem found in a registry, in file order of the checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors {
    /// The registry file, for the `file:line:` prefix.
    pub origin: PathBuf,
    /// The problems; never empty.
    pub problems: Vec<Problem>,
}

impl ValidationErrors {
    /// The problems.
    pub fn iter(&self) -> std::slice::Iter<'_, Problem> {
        self.problems.iter()
    }
    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.problems.len()
    }
    /// Always false: a `ValidationErrors` holds at least one problem.
    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One problem per line: `file:line: bot "id" (bot[2]) field every: …`.
impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match p.line {
                Some(l) => write!(f, "{}:{l}: {p}", self.origin.display())?,
                None => write!(f, "{}: {p}", self.origin.display())?,
            }
        }
        Ok(())
    }
}

impl<'a> IntoIterator for &'a ValidationErrors {
    type Item = &'a Problem;
    type IntoIter = std::slice::Iter<'a, Problem>;
    fn into_iter(self) -> Self::IntoIter {
        self.problems.iter()
    }
}

impl Registry {
    /// Checks everything, including that enabled bots' component files exist; reports every
    /// problem found.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        self.validate_with(ValidateOptions::default())
    }

    /// [`Registry::validate`] with options, e.g. without touching the filesystem.
    pub fn validate_with(&self, opts: ValidateOptions) -> Result<(), ValidationErrors> {
        self.resolve(opts).map(drop)
    }

    /// Every bot (enabled or not) in file order, resolved: absolute component path, effective
    /// limits, params as text, schedule. Fails as validation does, minus the file check.
    pub fn bots(&self) -> Result<Vec<BotSpec>, ValidationErrors> {
        self.resolve(ValidateOptions { check_files: false })
            .map(|(_, bots)| bots)
    }

    /// The fleet settings resolved. Fails as validation does, minus the file check.
    pub fn fleet_spec(&self) -> Result<FleetSpec, ValidationErrors> {
        self.resolve(ValidateOptions { check_files: false })
            .map(|(fleet, _)| fleet)
    }

    fn resolve(
        &self,
        opts: ValidateOptions,
    ) -> Result<(FleetSpec, Vec<BotSpec>), ValidationErrors> {
        let mut c = Checker {
            reg: self,
            opts,
            problems: Vec::new(),
        };
        let fleet = c.fleet();
        let mut ids: HashMap<&str, usize> = HashMap::new();
        let bots: Vec<Option<BotSpec>> = (self.bot.iter().enumerate())
            .map(|(i, b)| c.bot(i, b, &mut ids, fleet.as_ref()))
            .collect();
        match (fleet, bots.into_iter().collect::<Option<Vec<_>>>()) {
            (Some(f), Some(b)) if c.problems.is_empty() => Ok((f, b)),
            _ => Err(ValidationErrors {
                origin: self.origin().to_path_buf(),
                problems: c.problems,
            }),
        }
    }
}

/// Collects problems while resolving; each check returns `None` after reporting.
struct Checker<'r> {
    reg: &'r Registry,
    opts: ValidateOptions,
    problems: Vec<Problem>,
}

/// Whether `id` is a well-formed bot id.
fn valid_id(id: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    id.len() <= 64 && id.starts_with(|c: char| c.is_ascii_alphanumeric()) && id.chars().all(ok_char)
}

/// Whether `s` is a well-formed symbol.
fn valid_symbol(s: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "-._/".contains(c);
    !s.is_empty() && s.len() <= 32 && s.chars().all(ok_char)
}

impl Checker<'_> {
    /// Records a problem; `path` is the dotted place of the value for the line lookup.
    fn report(&mut self, place: &Place, field: &str, path: &str, kind: ProblemKind) {
        let line = self.reg.line_of(path);
        self.problems.push(Problem {
            place: place.clone(),
            field: field.to_string(),
            line,
            kind,
        });
    }

    /// The file path of `field` at `place`.
    fn path(place: &Place, field: &str) -> String {
        match place {
            Place::Fleet => format!("fleet.{field}"),
            Place::Bot { index, .. } => format!("bot[{index}].{field}"),
        }
    }

    fn problem(&mut self, place: &Place, field: &str, kind: ProblemKind) {
        self.report(place, field, &Self::path(place, field), kind);
    }

    fn range(&mut self, place: &Place, field: &str, value: u64, (min, max): (u64, u64)) -> bool {
        let ok = (min..=max).contains(&value);
        if !ok {
            self.problem(place, field, ProblemKind::OutOfRange { value, min, max });
        }
        ok
    }

    fn decimal(
        &mut self,
        field: &str,
        text: &DecimalText,
        ok: impl Fn(Decimal) -> bool,
        expected: &'static str,
    ) -> Option<Decimal> {
        let kind = match text.value() {
            Ok(v) if ok(v) => return Some(v),
            Ok(value) => ProblemKind::DecimalOutOfRange { value, expected },
            Err(e) => ProblemKind::InvalidDecimal {
                text: text.0.clone(),
                reason: e.to_string(),
            },
        };
        self.problem(&Place::Fleet, field, kind);
        None
    }

    fn time(&mut self, field: &str, text: &TimeText) -> Option<Timestamp> {
        match DateTime::parse_from_rfc3339(text.0.trim()) {
            Ok(t) => Some(Timestamp(t.timestamp_millis())),
            Err(e) => {
                let kind = ProblemKind::InvalidTime {
                    text: text.0.clone(),
                    reason: e.to_string(),
                };
                self.problem(&Place::Fleet, field, kind);
                None
            }
        }
    }

    /// Checks a symbol list: non-empty, well-formed, unique and (for bots) offered.
    fn symbols(
        &mut self,
        place: &Place,
        field: &str,
        list: &[String],
        offered: Option<&[String]>,
    ) -> bool {
        let before = self.problems.len();
        if list.is_empty() {
            self.problem(place, field, ProblemKind::Empty);
        }
        let mut seen = HashSet::new();
        for (j, s) in list.iter().enumerate() {
            let path = format!("{}[{j}]", Self::path(place, field));
            let kind = if !valid_symbol(s) {
                ProblemKind::InvalidSymbol(s.clone())
            } else if !seen.insert(s.as_str()) {
                ProblemKind::DuplicateSymbol(s.clone())
            } else if offered.is_some_and(|o| !o.contains(s)) {
                ProblemKind::UnknownSymbol(s.clone())
            } else {
                continue;
            };
            self.report(place, field, &path, kind);
        }
        self.problems.len() == before
    }

    fn fleet(&mut self) -> Option<FleetSpec> {
        let f = &self.reg.fleet;
        let at = Place::Fleet;
        let before = self.problems.len();
        if f.name.trim().is_empty() {
            self.problem(&at, "name", ProblemKind::Missing);
        }
        let cash = self.decimal(
            "starting_cash",
            &f.starting_cash,
            |v| v > Decimal::ZERO,
            "greater than 0",
        );
        let bps_ok = |v: Decimal| v >= Decimal::ZERO && v <= Decimal::from(10_000);
        let slippage = self.decimal(
            "broker.slippage_bps",
            &f.broker.slippage_bps,
            bps_ok,
            "0..=10000",
        );
        let fee = self.decimal("broker.fee_bps", &f.broker.fee_bps, bps_ok, "0..=10000");
        let partial = match &f.broker.partial_fill_fraction {
            None => Some(None),
            Some(text) => self
                .decimal(
                    "broker.partial_fill_fraction",
                    text,
                    |v| v > Decimal::ZERO && v <= Decimal::ONE,
                    "in (0, 1]",
                )
                .map(Some),
        };
        self.range(&at, "broker.latency_ms", f.broker.latency_ms, (0, 60_000));
        let (feed_timeframe, stale_after) = self.venue_settings(&at);
        self.ops_settings(&at);
        let max_open = f.risk.max_open_positions as u64;
        if let Err(e) = flotilla_engine::RiskEngine::try_new(f.risk.clone()) {
            self.problem(&at, "risk", ProblemKind::Invalid(e.to_string()));
        }
        if let Err(e) = f.allocator.validate() {
            self.problem(&at, "allocator", ProblemKind::Invalid(e.to_string()));
        }
        let rebalance_every = match parse_interval(&f.rebalance_every) {
            Ok(d) => Some(d),
            Err(e) => {
                self.problem(&at, "rebalance_every", ProblemKind::Invalid(e.to_string()));
                None
            }
        };
        self.range(
            &at,
            "risk.max_open_positions",
            max_open,
            MAX_OPEN_POSITIONS_RANGE,
        );
        let s = &f.sandbox;
        self.range(
            &at,
            "sandbox.memory_mb",
            u64::from(s.memory_mb),
            MEMORY_MB_RANGE,
        );
        let d_ok = self.range(&at, "sandbox.deadline_ms", s.deadline_ms, DEADLINE_MS_RANGE);
        let t_ok = self.range(&at, "sandbox.timeout_ms", s.timeout_ms, TIMEOUT_MS_RANGE);
        if d_ok && t_ok && s.deadline_ms > s.timeout_ms {
            let kind = ProblemKind::DeadlineAboveTimeout {
                deadline: s.deadline_ms,
                timeout: s.timeout_ms,
            };
            self.problem(&at, "sandbox.deadline_ms", kind);
        }
        self.symbols(&at, "market.symbols", &f.market.symbols, None);
        let start = self.time("market.start", &f.market.start);
        let mut session_close = std::collections::BTreeMap::new();
        for (symbol, close) in &f.market.session_close {
            let field = format!("market.session_close.{symbol}");
            if !f.market.symbols.contains(symbol) {
                let why = format!("{symbol} is not one of market.symbols");
                self.problem(&at, &field, ProblemKind::Invalid(why));
                continue;
            }
            let reset = flotilla_engine::SessionReset {
                time: close.time.clone(),
                tz: close.tz.clone(),
            };
            match flotilla_engine::risk::SessionClock::new(&reset) {
                Ok(_) => {
                    session_close.insert(Symbol::new(symbol), reset);
                }
                Err(e) => self.problem(&at, &field, ProblemKind::Invalid(e.to_string())),
            }
        }
        if self.problems.len() > before {
            return None;
        }
        Some(FleetSpec {
            name: f.name.clone(),
            components_dir: self.reg.components_dir(),
            starting_cash: cash?,
            max_open_positions: f.risk.max_open_positions.min(u32::MAX as usize) as u32,
            risk: f.risk.clone(),
            allocator: f.allocator.clone(),
            rebalance_every: rebalance_every?,
            sandbox: s.clone(),
            broker: BrokerSpec {
                kind: f.broker.kind,
                slippage_bps: slippage?,
                fee_bps: fee?,
                partial_fill_fraction: partial?,
                latency_ms: f.broker.latency_ms,
                mode: f.broker.mode,
                url: f.broker.url.clone(),
                request_timeout: std::time::Duration::from_millis(f.broker.request_timeout_ms),
                rate_limit_per_minute: f.broker.rate_limit_per_minute,
                resend_grace: f
                    .broker
                    .resend_grace_ms
                    .map(std::time::Duration::from_millis),
            },
            api: f.api.clone(),
            alerts: f.alerts.clone(),
            market: MarketSpec {
                source: f.market.source,
                feed_timeframe: feed_timeframe?,
                stale_after_bars: {
                    use rust_decimal::prelude::ToPrimitive;
                    stale_after?.to_f64().unwrap_or(2.0)
                },
                warm_up_bars: f.market.warm_up_bars,
                bar_wait: std::time::Duration::from_millis(f.market.bar_wait_ms),
                seed: f.market.seed,
                symbols: f.market.symbols.iter().map(Symbol::new).collect(),
                start: start?,
                session_close,
            },
        })
    }

    fn bot<'r>(
        &mut self,
        index: usize,
        b: &'r BotConfig,
        ids: &mut HashMap<&'r str, usize>,
        fleet: Option<&FleetSpec>,
    ) -> Option<BotSpec> {
        let at = Place::Bot {
            index,
            id: b.id.clone(),
        };
        let before = self.problems.len();
        if b.id.is_empty() {
            self.problem(&at, "id", ProblemKind::Missing);
        } else if !valid_id(&b.id) {
            self.problem(&at, "id", ProblemKind::InvalidId(b.id.clone()));
        } else if let Some(&first) = ids.get(b.id.as_str()) {
            self.problem(
                &at,
                "id",
                ProblemKind::DuplicateId {
                    id: b.id.clone(),
                    first,
                },
            );
        } else {
            ids.insert(&b.id, index);
        }
        let component = self.component(&at, b);
        let schedule = self.schedule(&at, b, fleet.map(|f| f.market.start));
        let reg = self.reg;
        let offered = &reg.fleet.market.symbols;
        self.symbols(&at, "symbols", &b.symbols, Some(offered));
        let params = self.params(&at, b);
        let limits = self.limits(&at, b);
        if self.problems.len() > before {
            return None;
        }
        Some(BotSpec {
            id: BotId::new(&b.id),
            index,
            component: component?,
            schedule: schedule?,
            symbols: b.symbols.iter().map(Symbol::new).collect(),
            enabled: b.enabled,
            outside_hours: b.outside_hours,
            params,
            risk: flotilla_engine::BotRiskOverrides {
                max_open_positions: b
                    .risk
                    .max_open_positions
                    .or(b.limits.max_open_positions.map(|v| v as usize)),
                ..b.risk.clone()
            },
            limits: limits?,
        })
    }

    fn component(&mut self, at: &Place, b: &BotConfig) -> Option<PathBuf> {
        if b.component.trim().is_empty() {
            self.problem(at, "component", ProblemKind::Missing);
            return None;
        }
        let path = self.reg.component_path(b);
        if self.opts.check_files && b.enabled {
            // Disabled bots may point at components that are not built.
            if !path.exists() {
                self.problem(at, "component", ProblemKind::ComponentMissing(path));
                return None;
            }
            if !path.is_file() {
                self.problem(at, "component", ProblemKind::ComponentNotFile(path));
                return None;
            }
        }
        Some(path)
    }

    fn schedule(
        &mut self,
        at: &Place,
        b: &BotConfig,
        start: Option<Timestamp>,
    ) -> Option<Schedule> {
        let every = b.every.as_deref().map(parse_interval);
        let cron = b.cron.as_deref().map(parse_cron);
        let tz = match (&b.tz, &b.cron) {
            (None, _) => Some(chrono_tz::Tz::UTC),
            (Some(_), None) => {
                self.problem(at, "tz", ProblemKind::TzWithoutCron);
                None
            }
            (Some(name), Some(_)) => parse_tz(name)
                .map_err(|e| self.problem(at, "tz", e.into()))
                .ok(),
        };
        if let Some(Err(e)) = &every {
            self.problem(at, "every", e.clone().into());
        }
        if let Some(Err(e)) = &cron {
            self.problem(at, "cron", e.clone().into());
        }
        match (every, cron) {
            (None, None) => {
                self.problem(at, "every", ProblemKind::NoSchedule);
                None
            }
            (Some(_), Some(_)) => {
                self.problem(at, "cron", ProblemKind::BothSchedules);
                None
            }
            (Some(every), None) => every.ok().map(Schedule::Every),
            (None, Some(cron)) => {
                let schedule = Schedule::Cron {
                    schedule: Box::new(cron.ok()?),
                    tz: tz?,
                };
                // A cron that never fires (e.g. 30 February) would silently idle the bot.
                if schedule.next_after(start.unwrap_or_default()).is_none() {
                    let kind = ProblemKind::NeverFires(b.cron.clone().unwrap_or_default());
                    self.problem(at, "cron", kind);
                    return None;
                }
                Some(schedule)
            }
        }
    }

    fn params(&mut self, at: &Place, b: &BotConfig) -> Vec<(String, String)> {
        let mut out = Vec::with_capacity(b.params.len());
        for (k, v) in &b.params {
            let field = format!("params.{k}");
            let text = match v {
                _ if k.is_empty() => Err(ProblemKind::EmptyParamName),
                toml::Value::String(s) => Ok(s.clone()),
                toml::Value::Integer(i) => Ok(i.to_string()),
                toml::Value::Float(f) if f.is_finite() => Ok(format!("{f:?}")),
                toml::Value::Float(f) => Err(ProblemKind::NonFiniteParam(f.to_string())),
                toml::Value::Boolean(x) => Ok(x.to_string()),
                other => Err(ProblemKind::UnsupportedParam(other.type_str())),
            };
            match text {
                Ok(t) => out.push((k.clone(), t)),
                Err(kind) => self.problem(at, &field, kind),
            }
        }
        out
    }

    fn limits(&mut self, at: &Place, b: &BotConfig) -> Option<EffectiveLimits> {
        let before = self.problems.len();
        let (f, l) = (&self.reg.fleet, &b.limits);
        let fleet_max = f.risk.max_open_positions.min(u32::MAX as usize) as u32;
        if let Some(v) = l.max_open_positions.filter(|v| *v > fleet_max) {
            let kind = ProblemKind::AboveFleetLimit {
                value: v,
                fleet: fleet_max,
            };
            self.problem(at, "limits.max_open_positions", kind);
        }
        if let Some(v) = l.memory_mb {
            self.range(at, "limits.memory_mb", u64::from(v), MEMORY_MB_RANGE);
        }
        let d_ok = l
            .deadline_ms
            .is_none_or(|v| self.range(at, "limits.deadline_ms", v, DEADLINE_MS_RANGE));
        let t_ok = l
            .timeout_ms
            .is_none_or(|v| self.range(at, "limits.timeout_ms", v, TIMEOUT_MS_RANGE));
        let eff = EffectiveLimits {
            max_open_positions: l.max_open_positions.unwrap_or(fleet_max),
            memory_mb: l.memory_mb.unwrap_or(f.sandbox.memory_mb),
            deadline_ms: l.deadline_ms.unwrap_or(f.sandbox.deadline_ms),
            timeout_ms: l.timeout_ms.unwrap_or(f.sandbox.timeout_ms),
        };
        // Only when an override is involved: the fleet check covers the defaults.
        let overridden = l.deadline_ms.is_some() || l.timeout_ms.is_some();
        if overridden && d_ok && t_ok && eff.deadline_ms > eff.timeout_ms {
            let field = if l.deadline_ms.is_some() {
                "limits.deadline_ms"
            } else {
                "limits.timeout_ms"
            };
            let kind = ProblemKind::DeadlineAboveTimeout {
                deadline: eff.deadline_ms,
                timeout: eff.timeout_ms,
            };
            self.problem(at, field, kind);
        }
        (self.problems.len() == before).then_some(eff)
    }
}

#[cfg(test)]
mod tests;
