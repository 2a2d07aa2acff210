//! The registry and fleet config: serde structs, defaults, validation, schedules.
//!
//! A registry is a TOML file (see `config/README.md` for the format) that lists the fleet's
//! settings and its bots. Typical use:
//!
//! ```no_run
//! let reg = flotilla_config::Registry::load("config/fleet.toml")?;
//! reg.validate()?; // every problem at once, one per line
//! for bot in reg.bots()? {
//!     println!("{} runs {} from {}", bot.id, bot.schedule, bot.component.display());
//! }
//! # Ok::<(), flotilla_config::ConfigError>(())
//! ```

#![warn(missing_docs)]

pub mod ops;
pub mod registry;
pub mod schedule;
pub mod validate;

pub use ops::{
    AlertEvents, AlertLevel, AlertsConfig, ApiConfig, DiscordConfig, TelegramConfig, WebhookConfig,
};
pub use registry::{
    BotConfig, BotLimits, BotRiskOverrides, BrokerConfig, BrokerKind, ConfigError,
    DEFAULT_REGISTRY, DEFAULT_SYMBOLS, DecimalText, FleetConfig, MarketConfig, MarketSourceKind,
    Registry, RiskConfig, SOURCE_CONFIG_DIR, SandboxConfig, ThompsonConfig, TimeText, VenueMode,
};
pub use schedule::{Schedule, ScheduleError, parse_cron, parse_interval, parse_tz};
pub use validate::{
    BotSpec, BrokerSpec, EffectiveLimits, FleetSpec, MarketSpec, Place, Problem, ProblemKind,
    ValidateOptions, ValidationErrors,
};
