//! What every connector shares.

mod breaker;
mod budget;
mod feed;
mod io;
mod log;
pub(crate) mod observe;
mod secret;
mod submit;

pub use breaker::{Breaker, BreakerConfig, BreakerState};
pub use budget::RateBudget;
pub use feed::{BarSource, BarStream, FeedConfig, FeedEvent, LiveFeed, SourceFuture};
pub use io::Io;
pub use log::{CumulativeFill, EventLog};
pub use observe::{RequestObserver, observe_requests};
pub use secret::{Secret, redact};
pub use submit::{Attempt, SubmitPolicy, submit_once};

/// Paper/testnet or real money. Real money needs two opt-ins: `mode = "live"` in the
/// registry and `--live` (or `FLOTILLA_LIVE=1`); without both, connectors only ever talk
/// to paper or testnet URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// The venue's paper account (Alpaca) or testnet (Binance).
    #[default]
    Paper,
    /// Real money.
    Live,
}

impl Mode {
    /// `paper` or `live`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Paper => "paper",
            Mode::Live => "live",
        }
    }
}

/// Why a connector could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// A required environment variable (a key) is missing or empty; the name is given,
    /// never a value.
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    /// The settings are unusable.
    #[error("{0}")]
    Config(String),
    /// The venue could not be reached or refused the account.
    #[error("{0}")]
    Venue(String),
}
