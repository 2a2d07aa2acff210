"""{{name}}: a Flotilla bot. Long while a symbol's close is above its EMA, flat otherwise.

Params (text in the registry, all optional): `period` (20) bars of the EMA, computed by the
host; `fraction` of capital per symbol (an equal share); `stop_pct` (0.03).
"""

import wit_world
from componentize_py_types import Err
from wit_world.exports import ReplayStrategy as ReplayStrategyProtocol
from wit_world.exports import Strategy as StrategyProtocol
from wit_world.imports import host, replay
from wit_world.imports.types import (
    BotConfig,
    Description,
    Indicator_Ema,
    IndicatorValues_Line,
    LogLevel,
    OrderAction_Target,
    OrderIntent,
    TickContext,
    Timeframe,
)


class WitWorld(wit_world.WitWorld):
    """The world exports nothing of its own; componentize-py still looks for this class."""


# componentize-py makes a new Strategy object for every call: state lives in the module.
STATE = {"symbols": [], "period": 20, "fraction": 1.0, "stop_pct": 0.03}


class Strategy(StrategyProtocol):
    """The `strategy` export."""

    def describe(self):
        return Description("{{name}}", "0.1.0", [], [Timeframe.M1])

    def init(self, config: BotConfig):
        params = {p.key: p.value for p in config.params}
        symbols = list(config.symbols)
        try:
            period = int(params.get("period", "20"))
            fraction = float(params.get("fraction", 1.0 / max(len(symbols), 1)))
            stop_pct = float(params.get("stop_pct", "0.03"))
        except ValueError as e:
            raise Err(f"params: {e}")
        if period < 2:
            raise Err(f"param `period`: must be at least 2, got {period}")
        STATE.update(symbols=symbols, period=period, fraction=fraction, stop_pct=stop_pct)

    def on_tick(self, ctx: TickContext):
        held = {p.symbol: p.quantity for p in host.positions()}
        intents = []
        for symbol in STATE["symbols"]:
            values = host.indicator(symbol, Timeframe.M1, Indicator_Ema(STATE["period"]), 1)
            if not isinstance(values, IndicatorValues_Line) or not values.value:
                continue  # the EMA is warming up
            price = host.last_price(symbol)
            long = price > values.value[-1]
            if long == (held.get(symbol, 0.0) > 0.0):
                continue  # already where it wants to be
            units = ctx.capital * STATE["fraction"] / price if long else 0.0
            stop = price * (1.0 - STATE["stop_pct"]) if long and STATE["stop_pct"] > 0 else None
            # The two Nones before the tag: a limit price (None: a market order) and a
            # time in force (None: day), e.g. `price * 0.999, TimeInForce.GTC`.
            intents.append(OrderIntent(symbol, OrderAction_Target(units), 1.0, stop, None, None, [], None, None, "{{name}}"))
        return intents

    def on_fill(self, fill):
        host.log(LogLevel.INFO, f"filled {fill.quantity} {fill.symbol} at {fill.price}")

    def on_order(self, update):
        pass  # accepted, rejected, canceled, expired, partly filled, filled

    def snapshot(self):
        return b""

    def restore(self, state):
        pass


class ReplayStrategy(ReplayStrategyProtocol):
    """The `replay-strategy` export: a backtest's run of ticks in one call."""

    def on_ticks(self, ctx: TickContext):
        # Stop at the first tick that has intents, as the contract asks.
        strategy = Strategy()
        while True:
            intents = strategy.on_tick(ctx)
            # No series to watch: this bot reads indicators, not single bars.
            nxt = None if intents else replay.next_tick(None)
            if nxt is None:
                return intents
            ctx = nxt.ctx
