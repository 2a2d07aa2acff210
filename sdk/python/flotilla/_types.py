"""Plain values the SDK hands to bots and takes from them: bars, positions, fills, order
updates, indicator specs, exit-plan pieces and intents. None of them is a generated type."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import List, NamedTuple, Optional, Tuple

#: The timeframes the host serves, as bots name them.
TIMEFRAMES = ("1m", "5m", "15m", "1h", "1d")
#: A bar's length in milliseconds, per timeframe.
TIMEFRAME_MILLIS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000, "1d": 86_400_000}
#: How long an order stays working.
TIMES_IN_FORCE = ("day", "gtc", "ioc", "fok")
#: Log levels, quietest first.
LOG_LEVELS = ("trace", "debug", "info", "warn", "error")


class BotError(Exception):
    """An error the SDK reports to the host as the call's error text (not a trap)."""


class ParamError(BotError):
    """A param that is malformed or out of range; the message names it."""


class HostError(BotError):
    """The host refused a call (a symbol not granted, a bad indicator, an unknown order)."""


def check_timeframe(timeframe: str) -> str:
    """`timeframe` if the host knows it, else a `ValueError` listing the ones it does."""
    if timeframe not in TIMEFRAME_MILLIS:
        raise ValueError(f"unknown timeframe {timeframe!r}: expected one of {', '.join(TIMEFRAMES)}")
    return timeframe


class Bar(NamedTuple):
    """One closed OHLCV bar; `time` is its open, in ms since the Unix epoch (UTC)."""

    time: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class Position(NamedTuple):
    """The bot's holding in one symbol: signed quantity (negative is short)."""

    symbol: str
    quantity: float
    avg_price: float


class Fill(NamedTuple):
    """An execution of one of the bot's orders; `side` is "buy" or "sell"."""

    order_id: int
    symbol: str
    side: str
    quantity: float
    price: float
    fee: float
    time: int
    tag: str


class OrderUpdate(NamedTuple):
    """A change to one of the bot's orders.

    `event` is "accepted", "rejected", "canceled", "expired", "partial_fill" or "filled";
    `reason` is the rejection's text, `filled` the cumulative quantity of a partial fill.
    """

    order_id: int
    symbol: str
    event: str
    time: int
    tag: str
    reason: Optional[str] = None
    filled: Optional[float] = None


class WorkingOrder(NamedTuple):
    """One of the bot's own orders that can still trade (host-managed exits not listed).

    `state` is "pending", "accepted", "partially_filled" or "pending_cancel";
    `limit_price` is None for a market order.
    """

    id: int
    symbol: str
    side: str
    quantity: float
    filled: float
    limit_price: Optional[float]
    time_in_force: str
    state: str
    time: int
    tag: str


class Macd(NamedTuple):
    """MACD line, signal line and histogram (each a float, or aligned lists)."""

    macd: object
    signal: object
    histogram: object


class Bands(NamedTuple):
    """Bollinger bands (each a float, or aligned lists)."""

    upper: object
    middle: object
    lower: object


class Spec(NamedTuple):
    """An indicator the host computes, or a trailing-stop distance.

    `atr(14)` is the ATR indicator in `tick.indicator` and a distance of 14 ATRs in
    `trail=`; `percent` and `absolute` are distances only.
    """

    kind: str
    args: Tuple

    def __str__(self):
        return f"{self.kind}({', '.join(_num(a) for a in self.args)})"

    def validate(self) -> Optional[str]:
        """Why the host would refuse this as an indicator, or None when it is fine."""
        if self.kind in ("percent", "absolute"):
            return f"{self} is a trailing distance, not an indicator"
        names = {"macd": ("fast", "slow", "signal"), "bollinger": ("period",)}.get(self.kind, ("period",))
        for name, value in zip(names, self.args):
            if not isinstance(value, (int, float)) or value != int(value) or value < 1:
                return f"{self}: {name} must be a whole number of at least 1"
        if self.kind == "macd" and not self.args[0] < self.args[1]:
            return f"{self}: fast must be below slow"
        if self.kind == "bollinger" and not (math.isfinite(self.args[1]) and self.args[1] > 0):
            return f"{self}: deviations must be a positive number"
        return None

    def lookback(self) -> int:
        """Bars before the first value (TA-Lib's): period - 1 for SMA, EMA, WMA, STDDEV and
        Bollinger; period for RSI, ATR and ROC; slow + signal - 2 for MACD."""
        if self.kind == "macd":
            return max(int(self.args[1]) + int(self.args[2]) - 2, 0)
        period = int(self.args[0])
        return period if self.kind in ("rsi", "atr", "roc") else max(period - 1, 0)

    def history(self, count: int) -> int:
        """Bars the host reads for `count` values: count + lookback, plus 10 x the longest
        period for the recursive ones (EMA, RSI, ATR, MACD), so their seed has faded."""
        extra = 0
        if self.kind in ("ema", "rsi", "atr"):
            extra = 10 * int(self.args[0])
        elif self.kind == "macd":
            extra = 10 * int(max(self.args))
        return count + self.lookback() + extra


def _num(v) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def sma(period: int) -> Spec:
    """Simple moving average."""
    return Spec("sma", (period,))


def ema(period: int) -> Spec:
    """Exponential moving average, seeded with the SMA of its first `period` inputs."""
    return Spec("ema", (period,))


def wma(period: int) -> Spec:
    """Linearly weighted moving average."""
    return Spec("wma", (period,))


def rsi(period: int = 14) -> Spec:
    """Relative strength index with Wilder's smoothing, in [0, 100]."""
    return Spec("rsi", (period,))


def atr(n=14) -> Spec:
    """Average true range (Wilder) as an indicator; as `trail=`, a distance of `n` ATR(14)s."""
    return Spec("atr", (n,))


def stddev(period: int) -> Spec:
    """Rolling population standard deviation."""
    return Spec("stddev", (period,))


def roc(period: int) -> Spec:
    """Rate of change in percent."""
    return Spec("roc", (period,))


def macd(fast: int = 12, slow: int = 26, signal: int = 9) -> Spec:
    """MACD line, signal line and histogram (TA-Lib defaults 12, 26, 9)."""
    return Spec("macd", (fast, slow, signal))


def bollinger(period: int = 20, deviations: float = 2.0) -> Spec:
    """Bollinger bands around an SMA, `deviations` population standard deviations wide."""
    return Spec("bollinger", (period, float(deviations)))


def percent(fraction: float) -> Spec:
    """A trailing distance: a fraction of the best price, in (0, 1)."""
    return Spec("percent", (fraction,))


def absolute(distance: float) -> Spec:
    """A trailing distance: a fixed price distance."""
    return Spec("absolute", (distance,))


@dataclass
class Intent:
    """A wish to trade, as the host receives it; `action` is "buy", "sell" or "target"."""

    symbol: str
    action: str
    quantity: float
    confidence: float = 1.0
    stop_loss: Optional[float] = None
    take_profit: Optional[float] = None
    #: A distance from `atr`, `percent` or `absolute`; None: no trailing stop.
    trail: Optional[Spec] = None
    #: Profit in R at which the trail starts; None trails from entry.
    activate_at_r: Optional[float] = None
    #: (at_r, fraction) pairs, at increasing R.
    scale_outs: List[Tuple[float, float]] = field(default_factory=list)
    #: None: a market order.
    limit_price: Optional[float] = None
    #: None is "day".
    time_in_force: Optional[str] = None
    tag: str = ""
