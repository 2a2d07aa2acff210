"""RSI mean reversion in Python, built into a component by componentize-py.

Buys a symbol when its RSI (Wilder, computed by the host's `indicator` import) drops below
`oversold` and holds it until RSI climbs back above `exit`; with `allow_short = true` it
mirrors that above `overbought`. Each entry carries a stop `stop_pct` away from the price.

Params (all optional, text in the registry): `period` (14), `oversold` (30),
`overbought` (70), `exit` (50), `timeframe` (1m), `allow_short` (false), `fraction` of
capital per symbol (an equal share of the granted symbols), `stop_pct` (0.03, 0 = none),
`limit_pct` (0 = market entries): entries become limit orders this fraction below the
price (above it for a short), good for the day; a signal that goes flat cancels the
symbol's unfilled entries (`host.working_orders`, `host.cancel_order`).

The same rule as `rsi_js` and the Rust `rsi_rust`, so the three can be benchmarked
against each other (host/runtime/benches/languages.rs).
"""

import json
import math

from componentize_py_types import Err
from wit_world.exports import ReplayStrategy as ReplayStrategyProtocol
from wit_world.exports import Strategy as StrategyProtocol
from wit_world.imports import host, replay
from wit_world.imports.types import (
    BotConfig,
    Description,
    Fill,
    Indicator_Rsi,
    IndicatorValues_Line,
    LogLevel,
    OrderAction_Target,
    OrderEvent_Rejected,
    OrderIntent,
    OrderUpdate,
    TickContext,
    TimeInForce,
    Timeframe,
)

NAME = "rsi_python"
VERSION = "0.1.0"
# Bump when the snapshot layout changes; restore refuses other versions.
SNAPSHOT_VERSION = 1

TIMEFRAMES = {
    "1m": Timeframe.M1,
    "5m": Timeframe.M5,
    "15m": Timeframe.M15,
    "1h": Timeframe.H1,
    "1d": Timeframe.D1,
}
KNOWN_PARAMS = {"period", "oversold", "overbought", "exit", "timeframe", "allow_short", "fraction", "stop_pct", "limit_pct"}

FLAT, LONG, SHORT = "flat", "long", "short"
SIGN = {FLAT: 0.0, LONG: 1.0, SHORT: -1.0}


def _number(params, key, default):
    """A finite float param, or `default` when absent; a bad value is an init error."""
    text = params.get(key)
    if text is None or not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        raise Err(f"param `{key}`: expected a finite number, got `{text}`")
    if not math.isfinite(value):
        raise Err(f"param `{key}`: expected a finite number, got `{text}`")
    return value


def _flag(params, key, default):
    text = params.get(key)
    if text is None or not text.strip():
        return default
    value = text.strip().lower()
    if value in ("true", "yes", "1", "on"):
        return True
    if value in ("false", "no", "0", "off"):
        return False
    raise Err(f"param `{key}`: expected true or false, got `{text}`")


def confidence(strength):
    """0.5 at the threshold, rising towards 1 the further RSI is beyond it (as the Rust SDK)."""
    if math.isfinite(strength) and strength > 0:
        return 0.5 + 0.5 * (1.0 - math.exp(-strength))
    return 0.5


class RsiBot:
    """The strategy and its state; one lives as long as the component instance."""

    def __init__(self):
        self.symbols = []
        self.ticks = 0
        self.fills = 0
        # The last signal acted on per symbol; survives reloads through snapshot/restore.
        self.signals = {}

    @staticmethod
    def describe():
        # `describe` runs before `init`, and the timeframe is a param: declare them all.
        return Description(NAME, VERSION, [], list(TIMEFRAMES.values()))

    def init(self, config: BotConfig):
        params = {p.key: p.value for p in config.params}
        self.symbols = list(config.symbols)
        period = _number(params, "period", 14)
        if period != int(period):
            raise Err(f"param `period`: expected a whole number, got {period}")
        self.period = int(period)
        self.oversold = _number(params, "oversold", 30.0)
        self.overbought = _number(params, "overbought", 70.0)
        self.exit = _number(params, "exit", 50.0)
        self.allow_short = _flag(params, "allow_short", False)
        self.fraction = _number(params, "fraction", 1.0 / max(len(self.symbols), 1))
        self.stop_pct = _number(params, "stop_pct", 0.03)
        self.limit_pct = _number(params, "limit_pct", 0.0)
        tf = params.get("timeframe", "1m").strip()
        if tf not in TIMEFRAMES:
            raise Err(f"param `timeframe`: expected one of {', '.join(TIMEFRAMES)}, got `{tf}`")
        self.timeframe = TIMEFRAMES[tf]
        if self.period < 2:
            raise Err(f"param `period`: must be at least 2, got {self.period}")
        if not (0 < self.oversold < self.exit < self.overbought < 100):
            raise Err(
                "params: need 0 < oversold < exit < overbought < 100, got "
                f"{self.oversold}, {self.exit}, {self.overbought}"
            )
        if not 0 <= self.fraction <= 10:
            raise Err(f"param `fraction`: must be in [0, 10], got {self.fraction}")
        if not 0 <= self.stop_pct < 1:
            raise Err(f"param `stop_pct`: must be in [0, 1), got {self.stop_pct}")
        if not 0 <= self.limit_pct < 1:
            raise Err(f"param `limit_pct`: must be in [0, 1), got {self.limit_pct}")
        for key in sorted(set(params) - KNOWN_PARAMS):
            host.log(LogLevel.WARN, f"ignoring unknown param `{key}`")

    def decide(self, prev, rsi):
        """Holds an open position until RSI crosses `exit`; otherwise enters on the extremes."""
        if prev == LONG and rsi <= self.exit:
            return LONG
        if prev == SHORT and rsi >= self.exit:
            return SHORT
        if rsi < self.oversold:
            return LONG
        if rsi > self.overbought:
            return SHORT if self.allow_short else FLAT
        return FLAT

    def on_tick(self, ctx: TickContext):
        self.ticks += 1
        held = {p.symbol: p.quantity for p in host.positions()}
        intents = []
        for symbol in self.symbols:
            try:
                values = host.indicator(symbol, self.timeframe, Indicator_Rsi(self.period), 1)
            except Err as e:
                host.log(LogLevel.WARN, f"{symbol}: no RSI: {e.value}")
                continue
            if not isinstance(values, IndicatorValues_Line) or not values.value:
                continue  # still warming up
            rsi = values.value[-1]
            if rsi == 0.0 and self.flat_market(symbol):
                rsi = 50.0
            prev = self.signals.get(symbol, FLAT)
            if prev != FLAT and held.get(symbol, 0.0) == 0.0:
                # A stop the host executed, or an entry risk refused: we hold nothing, so
                # decide afresh instead of waiting for an exit that has no position.
                prev = FLAT
            signal = self.decide(prev, rsi)
            self.signals[symbol] = signal
            if signal == prev:
                continue
            if signal == FLAT and self.limit_pct > 0:
                self.cancel_entries(symbol)
            intents.append(self.order(ctx, symbol, signal, rsi))
        return intents

    def cancel_entries(self, symbol):
        """Asks the host to cancel the symbol's unfilled limit entries (done after the tick)."""
        for o in host.working_orders():
            if o.symbol == symbol and o.limit_price is not None and o.filled == 0.0:
                try:
                    host.cancel_order(o.id)
                except Err as e:  # it filled or went meanwhile
                    host.log(LogLevel.DEBUG, f"{symbol}: order {o.id} not canceled: {e.value}")

    def flat_market(self, symbol):
        """TA-Lib's RSI is 0 both after nothing but losses and when nothing moved; only
        the first is oversold. True when the last `period + 1` closes are all equal."""
        try:
            closes = [b.close for b in host.bars(symbol, self.timeframe, self.period + 1)]
        except Err:
            return False
        return len(closes) > 1 and all(c == closes[0] for c in closes)

    def order(self, ctx, symbol, signal, rsi):
        """A target intent for `signal`: flat closes; long/short hold `fraction` of capital."""
        tag = f"{NAME}:{signal}"
        if signal == FLAT:
            return OrderIntent(symbol, OrderAction_Target(0.0), 1.0, None, None, None, [], None, None, tag)
        price = host.last_price(symbol)
        qty = SIGN[signal] * max(ctx.capital * self.fraction / price, 0.0) if price > 0 else 0.0
        if signal == LONG:
            strength = (self.oversold - rsi) / 10.0
        else:
            strength = (rsi - self.overbought) / 10.0
        stop = None
        if self.stop_pct > 0:
            stop = price * (1.0 - SIGN[signal] * self.stop_pct)
        # A limit entry waits for the price to come `limit_pct` its way; None is a market order.
        limit, tif = None, None
        if self.limit_pct > 0:
            limit, tif = price * (1.0 - SIGN[signal] * self.limit_pct), TimeInForce.DAY
        return OrderIntent(symbol, OrderAction_Target(qty), confidence(strength), stop, None, None, [], limit, tif, tag)

    def on_fill(self, fill: Fill):
        self.fills += 1

    def on_order(self, update: OrderUpdate):
        if isinstance(update.event, OrderEvent_Rejected):
            host.log(LogLevel.WARN, f"{update.symbol}: order {update.order_id} rejected: {update.event.value}")

    def snapshot(self):
        state = {"v": SNAPSHOT_VERSION, "ticks": self.ticks, "fills": self.fills, "signals": self.signals}
        return json.dumps(state, sort_keys=True).encode()

    def restore(self, state: bytes):
        if not state:
            return
        try:
            data = json.loads(state)
        except ValueError as e:
            raise Err(f"snapshot is not JSON: {e}")
        if not isinstance(data, dict) or data.get("v") != SNAPSHOT_VERSION:
            raise Err(f"snapshot version {data.get('v') if isinstance(data, dict) else '?'}, expected {SNAPSHOT_VERSION}")
        signals = data.get("signals", {})
        if not all(s in SIGN for s in signals.values()):
            raise Err("snapshot holds an unknown signal")
        self.ticks = int(data.get("ticks", 0))
        self.fills = int(data.get("fills", 0))
        self.signals = dict(signals)


BOT = RsiBot()


class Strategy(StrategyProtocol):
    """The `strategy` export. componentize-py makes a new `Strategy` for every call, so
    instance attributes would be lost between calls: state lives in the module's `BOT`."""

    def describe(self):
        return RsiBot.describe()

    def init(self, config: BotConfig):
        BOT.init(config)

    def on_tick(self, ctx: TickContext):
        return BOT.on_tick(ctx)

    def on_fill(self, fill: Fill):
        BOT.on_fill(fill)

    def on_order(self, update: OrderUpdate):
        BOT.on_order(update)

    def snapshot(self):
        return BOT.snapshot()

    def restore(self, state: bytes):
        BOT.restore(state)


class ReplayStrategy(ReplayStrategyProtocol):
    """The `replay-strategy` export: a backtest's run of ticks in one call."""

    def on_ticks(self, ctx: TickContext):
        # Stop at the first tick that has intents, as the contract asks.
        while True:
            intents = BOT.on_tick(ctx)
            # No series to watch: this bot reads indicators, not single bars.
            nxt = None if intents else replay.next_tick(None)
            if nxt is None:
                return intents
            ctx = nxt.ctx
