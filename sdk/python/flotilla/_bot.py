"""The bot API: `Bot` (what authors subclass), `Config` (typed params), `Tick` (market
data and orders during one tick) and `Runner`, which owns the one bot instance of a
component so state kept on `self` lives as long as the instance does."""

from __future__ import annotations

import json
import math
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from ._types import (
    LOG_LEVELS,
    TIMES_IN_FORCE,
    Bar,
    BotError,
    Fill,
    HostError,
    Intent,
    OrderUpdate,
    ParamError,
    Position,
    Spec,
    WorkingOrder,
    check_timeframe,
)

_MISSING = object()
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def _parse_int(text: str) -> int:
    value = float(text)
    if not math.isfinite(value) or value != int(value):
        raise ValueError
    return int(value)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError
    return value


def _parse_bool(text: str) -> bool:
    low = text.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError


def timeframe(text: str) -> str:
    """A param type: one of 1m, 5m, 15m, 1h, 1d."""
    return check_timeframe(text)


# What each param type parses with, and what a valid value looks like.
_PARSERS: Dict[Any, Tuple[Callable[[str], Any], str]] = {
    int: (_parse_int, "a whole number"),
    float: (_parse_float, "a finite number"),
    bool: (_parse_bool, "true or false"),
    str: (str, "text"),
    timeframe: (timeframe, "a timeframe (1m, 5m, 15m, 1h, 1d)"),
}


class Config:
    """What the registry gave the bot: its id, granted symbols and text params."""

    def __init__(self, bot_id: str, symbols: Sequence[str], params: Iterable[Tuple[str, str]]):
        self.bot_id = bot_id
        self.symbols = list(symbols)
        # The last one wins when a key repeats, as in the Rust SDK.
        self.params: Dict[str, str] = dict(params)
        self._asked: set = set()

    def raw(self, key: str) -> Optional[str]:
        """A param's text, or None when absent."""
        self._asked.add(key)
        return self.params.get(key)

    def param(self, key: str, kind: Any = str, default: Any = _MISSING, *, choices: Optional[Sequence] = None):
        """A typed param (`int`, `float`, `bool`, `str`, `flotilla.timeframe` or any
        callable that parses text), or `default` when absent or empty. Without a default
        the param is required. A malformed value raises `ParamError` naming the param."""
        text = self.raw(key)
        if text is None or not text.strip():
            if default is _MISSING:
                raise ParamError(f"param `{key}` is required ({_expected(kind)})")
            return default
        text = text.strip()
        parse = _PARSERS.get(kind, (kind, None))[0]
        try:
            value = parse(text)
        except (ValueError, TypeError) as e:
            why = _expected(kind) if kind in _PARSERS else str(e) or _expected(kind)
            raise ParamError(f"param `{key}`: expected {why}, got `{text}`") from None
        if choices is not None and value not in choices:
            raise ParamError(f"param `{key}`: expected one of {', '.join(map(str, choices))}, got `{text}`")
        return value

    def unknown(self) -> List[str]:
        """Keys no `param` call asked for: a typo there silently means a default."""
        return sorted(k for k in self.params if k not in self._asked)


def _expected(kind) -> str:
    if kind in _PARSERS:
        return _PARSERS[kind][1]
    return getattr(kind, "__name__", "a valid value")


class _Logs:
    """Logging to the host, for bots and ticks alike (both hold the host as `_host`)."""

    _host: Any

    def log(self, level: str, message: str) -> None:
        """Writes to the host's log at `level` (trace, debug, info, warn, error)."""
        self._host.log(check_level(level), message)

    def debug(self, message: str) -> None:
        """Logs at debug level."""
        self.log("debug", message)

    def info(self, message: str) -> None:
        """Logs at info level."""
        self.log("info", message)

    def warn(self, message: str) -> None:
        """Logs at warn level."""
        self.log("warn", message)

    def error(self, message: str) -> None:
        """Logs at error level."""
        self.log("error", message)


class Bot(_Logs):
    """A trading strategy. Subclass it, set `name` and `version`, implement `on_tick`,
    and export it with `Strategy, ReplayStrategy = flotilla.export(MyBot)`.

    One instance lives as long as the component instance: `init` runs once, then every
    tick and fill reaches the same object, so state kept on `self` survives. Raising from
    a callback reports the message to the host as the call's error.
    """

    #: The name the bot reports to the host.
    name: str = "bot"
    #: The bot's own version (not the contract's).
    version: str = "0.1.0"
    #: Symbols the bot needs; empty means whatever the registry grants.
    symbols: Sequence[str] = ()
    #: Timeframes the bot reads; `describe` runs before `init`, so not from params.
    timeframes: Sequence[str] = ("1m",)
    #: Names of the attributes `snapshot` saves and `restore` brings back (JSON values).
    state: Sequence[str] = ()
    #: Bump when the saved state's layout changes: `restore` refuses other versions.
    state_version: int = 1

    config: Config

    def init(self, config: Config) -> None:
        """Reads params (`self.param`) and prepares state; raising keeps the bot from running."""

    def on_tick(self, tick: "Tick") -> None:
        """Decides what to trade now, with `tick.target`, `tick.buy`, `tick.sell`."""
        raise NotImplementedError(f"{type(self).__name__}.on_tick")

    def on_fill(self, fill: Fill) -> None:
        """Learns of an execution of one of its orders."""

    def on_order(self, update: OrderUpdate) -> None:
        """Learns what happened to one of its orders (accepted, rejected, canceled, ...)."""

    def check_state(self, state: Dict[str, Any]) -> None:
        """Checks restored state before any of it is applied; raise to refuse it."""

    def param(self, key: str, kind: Any = str, default: Any = _MISSING, *, choices: Optional[Sequence] = None):
        """A typed param from the registry; see `Config.param`."""
        return self.config.param(key, kind, default, choices=choices)

    def snapshot(self) -> bytes:
        """The declared `state` attributes as JSON, tagged with `state_version`."""
        data = {"v": self.state_version}
        for name in self.state:
            if name == "v":
                raise BotError("state attribute `v` is reserved for the version")
            try:
                value = getattr(self, name)
                json.dumps(value, allow_nan=True)
            except AttributeError:
                raise BotError(f"state attribute `{name}` is not set") from None
            except (TypeError, ValueError) as e:
                raise BotError(f"state attribute `{name}` cannot be saved as JSON: {e}") from None
            data[name] = value
        return json.dumps(data, sort_keys=True).encode()

    def restore(self, blob: bytes) -> None:
        """Brings back a `snapshot`: refuses another version or bad JSON and then changes
        nothing; attributes the snapshot lacks keep their `init` values."""
        if not blob:
            return
        try:
            data = json.loads(bytes(blob))
        except ValueError as e:
            raise BotError(f"snapshot is not JSON: {e}") from None
        version = data.get("v") if isinstance(data, dict) else None
        if version != self.state_version:
            raise BotError(f"snapshot version {version if version is not None else '?'}, expected {self.state_version}")
        values = {k: data[k] for k in self.state if k in data}
        self.check_state(values)
        for k, v in values.items():
            setattr(self, k, v)


class Tick(_Logs):
    """What a bot sees and does during one tick. Reads go to the host on demand;
    intents are collected and handed over when `on_tick` returns."""

    def __init__(self, host, time: int, number: int, capital: float, symbols: Sequence[str]):
        self._host = host
        #: The tick time, ms since the Unix epoch (UTC).
        self.time = time
        #: 1 on this instance's first tick, then counting.
        self.number = number
        #: Capital allocated to the bot, in account currency.
        self.capital = capital
        #: The symbols the registry granted.
        self.symbols = symbols
        #: The intents queued so far this tick.
        self.intents: List[Intent] = []
        self._positions: Optional[List[Position]] = None
        self._working: Optional[List[WorkingOrder]] = None

    # Market data.

    def bars(self, symbol: str, timeframe: str, count: int) -> List[Bar]:
        """The last `count` closed bars of a granted symbol, oldest first."""
        return self._host.bars(symbol, check_timeframe(timeframe), count)

    def closes(self, symbol: str, timeframe: str, count: int) -> List[float]:
        """The closes of the last `count` bars, oldest first."""
        return [b.close for b in self.bars(symbol, timeframe, count)]

    def bar_at(self, symbol: str, timeframe: str, back: int = 0) -> Optional[Bar]:
        """One closed bar, `back` bars before the newest (0); None if the host holds fewer."""
        return self._host.bar_at(symbol, check_timeframe(timeframe), back)

    def indicator(self, symbol: str, timeframe: str, spec: Spec):
        """The latest value of `spec` (e.g. `rsi(14)`) over a granted symbol's bars,
        computed by the host with TA-Lib's definitions; None while it warms up. MACD and
        Bollinger give a `Macd` / `Bands` of floats."""
        values = self.indicator_series(symbol, timeframe, spec, 1)
        if isinstance(values, tuple):
            if not values[0]:
                return None
            return type(values)(*(v[-1] for v in values))
        return values[-1] if values else None

    def indicator_series(self, symbol: str, timeframe: str, spec: Spec, count: int):
        """The last `count` values of `spec`, oldest first (fewer while it warms up): a
        list, or a `Macd` / `Bands` of aligned lists."""
        if not isinstance(spec, Spec):
            raise TypeError(f"expected an indicator like flotilla.rsi(14), got {spec!r}")
        return self._host.indicator(symbol, check_timeframe(timeframe), spec, count)

    def last_price(self, symbol: str) -> float:
        """The latest close of a granted symbol."""
        return self._host.last_price(symbol)

    # The bot's book.

    def positions(self) -> List[Position]:
        """The bot's open positions (asked once per tick: they do not change mid-tick)."""
        if self._positions is None:
            self._positions = list(self._host.positions())
        return self._positions

    def position(self, symbol: str) -> Position:
        """The bot's position in `symbol`; quantity 0 when flat."""
        for p in self.positions():
            if p.symbol == symbol:
                return p
        return Position(symbol, 0.0, 0.0)

    def working_orders(self) -> List[WorkingOrder]:
        """The bot's orders still working as the tick started (asked once per tick)."""
        if self._working is None:
            self._working = list(self._host.working_orders())
        return self._working

    def cancel(self, order_id: int) -> None:
        """Asks the host to cancel a working order after this tick; the outcome comes to
        `on_order`. `HostError` when `order_id` is not one of the bot's working orders."""
        self._host.cancel_order(order_id)

    def units(self, fraction: float, price: float) -> float:
        """Units worth `fraction` of capital at `price`; 0 when the price is unusable."""
        if math.isfinite(price) and price > 0 and math.isfinite(self.capital):
            return max(self.capital * fraction / price, 0.0)
        return 0.0

    # Orders.

    def target(self, symbol: str, quantity: float, **plan) -> Intent:
        """Asks to hold a signed position of `quantity` (negative is short). Keywords:
        `confidence` (1.0), `stop`, `take`, `trail` (`atr(1.5)`, `percent(0.02)`,
        `absolute(2.0)`), `activate_at_r`, `scale_outs` ([(at_r, fraction), ...]),
        `limit` (a limit price; none: market), `tif` (day, gtc, ioc, fok), `tag`."""
        return self._push(symbol, "target", quantity, plan)

    def buy(self, symbol: str, quantity: float, **plan) -> Intent:
        """Asks to buy `quantity`; keywords as `target`."""
        return self._push(symbol, "buy", quantity, plan)

    def sell(self, symbol: str, quantity: float, **plan) -> Intent:
        """Asks to sell `quantity`; keywords as `target`."""
        return self._push(symbol, "sell", quantity, plan)

    def close(self, symbol: str, **plan) -> Intent:
        """Asks to be flat in `symbol` (a target of zero)."""
        return self._push(symbol, "target", 0.0, plan)

    def _push(self, symbol, action, quantity, plan) -> Intent:
        intent = make_intent(symbol, action, quantity, **plan)
        self.intents.append(intent)
        return intent

    # The key-value store (logging comes from `_Logs`).

    def kv_get(self, key: str) -> Optional[bytes]:
        """A value from the bot's persisted key-value store."""
        return self._host.kv_get(key)

    def kv_set(self, key: str, value: bytes) -> None:
        """Stores a value in the bot's persisted key-value store."""
        self._host.kv_set(key, bytes(value))


def make_intent(
    symbol: str,
    action: str,
    quantity: float,
    *,
    confidence: float = 1.0,
    stop: Optional[float] = None,
    take: Optional[float] = None,
    trail: Optional[Spec] = None,
    activate_at_r: Optional[float] = None,
    scale_outs: Iterable[Tuple[float, float]] = (),
    limit: Optional[float] = None,
    tif: Optional[str] = None,
    tag: str = "",
) -> Intent:
    """An intent with its exit plan; a malformed plan is a `TypeError`/`ValueError` here,
    where the bot's author sees it, rather than a rejection later."""
    if trail is not None and not (isinstance(trail, Spec) and trail.kind in ("atr", "percent", "absolute")):
        raise TypeError(f"trail: expected flotilla.atr(k), percent(f) or absolute(d), got {trail!r}")
    if activate_at_r is not None and trail is None:
        raise ValueError("activate_at_r needs a trail")
    outs = []
    for out in scale_outs:
        try:
            at_r, fraction = out
        except (TypeError, ValueError):
            raise TypeError(f"scale_outs: expected (at_r, fraction) pairs, got {out!r}") from None
        outs.append((float(at_r), float(fraction)))
    if tif is not None and tif not in TIMES_IN_FORCE:
        raise ValueError(f"tif: expected one of {', '.join(TIMES_IN_FORCE)}, got {tif!r}")
    return Intent(
        symbol=symbol,
        action=action,
        quantity=float(quantity),
        confidence=float(confidence),
        stop_loss=None if stop is None else float(stop),
        take_profit=None if take is None else float(take),
        trail=trail,
        activate_at_r=None if activate_at_r is None else float(activate_at_r),
        scale_outs=outs,
        limit_price=None if limit is None else float(limit),
        time_in_force=tif,
        tag=tag,
    )


def message(e: BaseException) -> str:
    """The text a failed call reports: a `BotError`'s own words, else the type and words."""
    if isinstance(e, BotError):
        return str(e)
    return f"{type(e).__name__}: {e}"


class Runner:
    """Owns the bot instance of one component instance and drives it as the host calls."""

    def __init__(self, cls):
        if not (isinstance(cls, type) and issubclass(cls, Bot)):
            raise TypeError(f"flotilla.export expects a flotilla.Bot subclass, got {cls!r}")
        for attr in ("name", "version"):
            if not isinstance(getattr(cls, attr), str):
                raise TypeError(f"{cls.__name__}.{attr} must be text")
        for tf in cls.timeframes:
            check_timeframe(tf)
        self.cls = cls
        self.bot: Optional[Bot] = None
        self.host = None
        self.symbols: List[str] = []

    def describe(self) -> Tuple[str, str, List[str], List[str]]:
        """Name, version, needed symbols and timeframes, from the class."""
        return self.cls.name, self.cls.version, list(self.cls.symbols), list(self.cls.timeframes)

    def init(self, host, bot_id: str, symbols: Sequence[str], params: Iterable[Tuple[str, str]]) -> None:
        """Creates the bot and runs its `init`; a failure leaves no bot behind."""
        self.bot = None
        config = Config(bot_id, symbols, params)
        bot = self.cls()
        bot.config = config
        bot._host = host
        bot.init(config)
        for key in config.unknown():
            host.log("warn", f"ignoring unknown param `{key}`")
        self.host, self.symbols, self.bot = host, config.symbols, bot

    def _live(self, call: str) -> Bot:
        if self.bot is None:
            raise BotError(f"{call} called before init succeeded")
        return self.bot

    def tick(self, time: int, number: int, capital: float) -> List[Intent]:
        """Runs one tick; its intents."""
        bot = self._live("on-tick")
        tick = Tick(self.host, time, number, capital, self.symbols)
        bot.on_tick(tick)
        return tick.intents

    def fill(self, fill: Fill) -> None:
        """Reports an execution."""
        self._live("on-fill").on_fill(fill)

    def order(self, update: OrderUpdate) -> None:
        """Reports an order update."""
        self._live("on-order").on_order(update)

    def snapshot(self) -> bytes:
        """The bot's saved state (empty before init)."""
        return b"" if self.bot is None else self.bot.snapshot()

    def restore(self, blob: bytes) -> None:
        """Restores saved state into the live bot."""
        self._live("restore").restore(blob)


def check_level(level: str) -> str:
    """`level` if it is a log level, else a `ValueError`."""
    if level not in LOG_LEVELS:
        raise ValueError(f"unknown log level {level!r}: expected one of {', '.join(LOG_LEVELS)}")
    return level


__all__ = ["Bot", "Config", "Tick", "Runner", "make_intent", "message", "timeframe", "HostError"]
