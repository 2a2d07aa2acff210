//! Domain types bots see, decoupled from the generated WIT bindings.

use core::fmt;
use core::str::FromStr;

/// Milliseconds since the Unix epoch, UTC.
pub type Timestamp = i64;

/// The length of one bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timeframe {
    /// One minute.
    M1,
    /// Five minutes.
    M5,
    /// Fifteen minutes.
    M15,
    /// One hour.
    H1,
    /// One day.
    D1,
}

impl Timeframe {
    /// Every timeframe the contract knows, shortest first.
    pub const ALL: [Timeframe; 5] = [
        Timeframe::M1,
        Timeframe::M5,
        Timeframe::M15,
        Timeframe::H1,
        Timeframe::D1,
    ];

    /// The bar length in milliseconds.
    pub const fn millis(self) -> i64 {
        const MIN: i64 = 60_000;
        match self {
            Timeframe::M1 => MIN,
            Timeframe::M5 => 5 * MIN,
            Timeframe::M15 => 15 * MIN,
            Timeframe::H1 => 60 * MIN,
            Timeframe::D1 => 24 * 60 * MIN,
        }
    }

    /// The short name used in params and logs: `1m`, `5m`, `15m`, `1h`, `1d`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Timeframe::M1 => "1m",
            Timeframe::M5 => "5m",
            Timeframe::M15 => "15m",
            Timeframe::H1 => "1h",
            Timeframe::D1 => "1d",
        }
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Timeframe {
    type Err = String;

    /// Accepts `1m`/`m1`, `5m`/`m5`, `15m`/`m15`, `1h`/`h1`/`60m`, `1d`/`d1`/`24h`, any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let tf = match s.trim().to_ascii_lowercase().as_str() {
            "1m" | "m1" => Timeframe::M1,
            "5m" | "m5" => Timeframe::M5,
            "15m" | "m15" => Timeframe::M15,
            "1h" | "h1" | "60m" => Timeframe::H1,
            "1d" | "d1" | "24h" => Timeframe::D1,
            _ => {
                return Err(format!(
                    "unknown timeframe {s:?} (use 1m, 5m, 15m, 1h or 1d)"
                ));
            }
        };
        Ok(tf)
    }
}

/// One closed OHLCV bar.
///
/// `repr(C)` with the same field order as the WIT record, so converting a list of
/// generated bars into these is a move, not a copy.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Bar {
    /// Open time of the bar.
    pub time: Timestamp,
    /// First price.
    pub open: f64,
    /// Highest price.
    pub high: f64,
    /// Lowest price.
    pub low: f64,
    /// Last price.
    pub close: f64,
    /// Traded volume.
    pub volume: f64,
}

/// Buy or sell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// Increases the position.
    Buy,
    /// Decreases the position.
    Sell,
}

impl Side {
    /// +1.0 for a buy, -1.0 for a sell: multiply a quantity to get its signed effect.
    pub const fn sign(self) -> f64 {
        match self {
            Side::Buy => 1.0,
            Side::Sell => -1.0,
        }
    }
}

/// An execution of one of the bot's orders.
#[derive(Clone, Debug, PartialEq)]
pub struct Fill {
    /// The host's id of the order that filled.
    pub order_id: u64,
    /// The traded symbol.
    pub symbol: String,
    /// Direction of the execution.
    pub side: Side,
    /// Unsigned executed amount.
    pub quantity: f64,
    /// Execution price.
    pub price: f64,
    /// Fee paid, in account currency.
    pub fee: f64,
    /// When it executed.
    pub time: Timestamp,
    /// The tag of the intent that caused it.
    pub tag: String,
}

/// The bot's holding in one symbol.
#[derive(Clone, Debug, PartialEq)]
pub struct Position {
    /// The held symbol.
    pub symbol: String,
    /// Signed: positive long, negative short.
    pub quantity: f64,
    /// Average entry price.
    pub avg_price: f64,
}

/// Severity of a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Very detailed tracing.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation.
    Info,
    /// Something odd but survivable.
    Warn,
    /// Something failed.
    Error,
}

/// What an intent asks for: an amount to trade, or a position to hold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Action {
    /// Buy this amount.
    Buy(f64),
    /// Sell this amount.
    Sell(f64),
    /// Hold this signed position (negative is short, zero is flat).
    Target(f64),
}

/// A wish to trade, handed to the host at the end of a tick.
///
/// The SDK does not validate or clamp anything: the host is the judge.
#[derive(Clone, Debug, PartialEq)]
pub struct Intent {
    /// The symbol to trade.
    pub symbol: String,
    /// Amount or target.
    pub action: Action,
    /// In [0, 1]; the host sizes by it.
    pub confidence: f64,
    /// Price at which the host should exit at a loss.
    pub stop_loss: Option<f64>,
    /// Price at which the host should exit at a profit.
    pub take_profit: Option<f64>,
    /// A stop the host moves behind the best price.
    pub trailing: Option<Trailing>,
    /// Partial exits the host takes at multiples of R (R = distance to the stop-loss).
    pub scale_outs: Vec<ScaleOut>,
    /// A limit order at this price (a buy at or below it, a sell at or above); `None` is
    /// a market order.
    pub limit_price: Option<f64>,
    /// How long the order works; `None` is [`TimeInForce::Day`].
    pub time_in_force: Option<TimeInForce>,
    /// Free text echoed back on fills and order updates.
    pub tag: String,
}

/// How long an order stays working.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TimeInForce {
    /// Until the end of the trading day (the default).
    #[default]
    Day,
    /// Good till canceled.
    Gtc,
    /// Immediate or cancel: what fills at once fills, the rest is canceled.
    Ioc,
    /// Fill or kill: all of it at once, or nothing.
    Fok,
}

/// Where a working order is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderState {
    /// Sent (or about to be), not acknowledged by the venue yet.
    Pending,
    /// Acknowledged, nothing filled.
    Accepted,
    /// Some of it filled, the rest is working.
    PartiallyFilled,
    /// A cancel was asked for and is not confirmed yet.
    PendingCancel,
}

/// One of the bot's own orders that can still trade (exits the host manages are not
/// listed).
#[derive(Clone, Debug, PartialEq)]
pub struct WorkingOrder {
    /// The host's order id; [`Tick::cancel`](crate::Tick::cancel) takes it.
    pub id: u64,
    /// The instrument.
    pub symbol: String,
    /// Buy or sell.
    pub side: Side,
    /// Units ordered, positive.
    pub quantity: f64,
    /// Units filled so far.
    pub filled: f64,
    /// The limit price; `None` for a market order.
    pub limit_price: Option<f64>,
    /// How long it works.
    pub time_in_force: TimeInForce,
    /// Where it is in its life.
    pub state: OrderState,
    /// When the host created it.
    pub time: Timestamp,
    /// The tag of the intent that placed it.
    pub tag: String,
}

/// What happened to one of the bot's orders.
#[derive(Clone, Debug, PartialEq)]
pub enum OrderEvent {
    /// The venue acknowledged it.
    Accepted,
    /// The host or the venue refused it, saying why.
    Rejected(String),
    /// Canceled, at the bot's request or by the venue.
    Canceled,
    /// Its time in force ran out.
    Expired,
    /// Part of it filled: the cumulative filled quantity (each execution is also a [`Fill`]).
    PartialFill(f64),
    /// All of it filled.
    Filled,
}

/// A change to one of the bot's orders, as [`Bot::on_order`](crate::Bot::on_order) hears it.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderUpdate {
    /// The host's order id, as in [`WorkingOrder::id`] and [`Fill::order_id`].
    pub order_id: u64,
    /// The instrument.
    pub symbol: String,
    /// What happened.
    pub event: OrderEvent,
    /// When it happened.
    pub time: Timestamp,
    /// The tag of the intent that placed the order.
    pub tag: String,
}

/// How far behind the best price a trailing stop follows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Trail {
    /// A multiple of the host's ATR(14) (Wilder's, the symbol's bars as they arrive).
    Atr(f64),
    /// A fraction of the best price, in (0, 1).
    Percent(f64),
    /// A fixed price distance.
    Absolute(f64),
}

/// A trailing stop: its distance, and the profit in R at which it starts (`None`: at once).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Trailing {
    /// Distance behind the best price.
    pub distance: Trail,
    /// Profit in R at which the trail starts; needs a stop-loss.
    pub activate_at_r: Option<f64>,
}

/// Take `fraction` of the entry quantity off once the profit reaches `at_r` R.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScaleOut {
    /// Profit level in R; levels increase.
    pub at_r: f64,
    /// Fraction of the entry quantity, in (0, 1]; an intent's fractions add up to at most 1.
    pub fraction: f64,
}
