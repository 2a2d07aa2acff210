"""The bridge to the bindings componentize-py generates (`wit_world`, contract
flotilla:bot@0.7.0): the host's imports behind the SDK's host interface, and the
`strategy` / `replay-strategy` exports driving a `Runner`. Imported only inside a
component build, where `wit_world` exists."""

from __future__ import annotations

from componentize_py_types import Err
from wit_world.exports import ReplayStrategy as _ReplayStrategyProtocol
from wit_world.exports import Strategy as _StrategyProtocol
from wit_world.imports import host as _host
from wit_world.imports import replay as _replay
from wit_world.imports import types as t

from ._bot import Runner, message
from ._types import Bands, Bar, Fill, HostError, Macd, OrderUpdate, Position, Spec, WorkingOrder

_TIMEFRAMES = {"1m": t.Timeframe.M1, "5m": t.Timeframe.M5, "15m": t.Timeframe.M15, "1h": t.Timeframe.H1, "1d": t.Timeframe.D1}
_LEVELS = {
    "trace": t.LogLevel.TRACE,
    "debug": t.LogLevel.DEBUG,
    "info": t.LogLevel.INFO,
    "warn": t.LogLevel.WARN,
    "error": t.LogLevel.ERROR,
}
_TIF = {"day": t.TimeInForce.DAY, "gtc": t.TimeInForce.GTC, "ioc": t.TimeInForce.IOC, "fok": t.TimeInForce.FOK}
_TIF_NAMES = {v: k for k, v in _TIF.items()}
_SIDES = {t.Side.BUY: "buy", t.Side.SELL: "sell"}
_STATES = {
    t.OrderState.PENDING: "pending",
    t.OrderState.ACCEPTED: "accepted",
    t.OrderState.PARTIALLY_FILLED: "partially_filled",
    t.OrderState.PENDING_CANCEL: "pending_cancel",
}
_LINES = {
    "sma": t.Indicator_Sma,
    "ema": t.Indicator_Ema,
    "wma": t.Indicator_Wma,
    "rsi": t.Indicator_Rsi,
    "atr": t.Indicator_Atr,
    "stddev": t.Indicator_Stddev,
    "roc": t.Indicator_Roc,
}
_TRAILS = {"atr": t.TrailDistance_Atr, "percent": t.TrailDistance_Percent, "absolute": t.TrailDistance_Absolute}
_ACTIONS = {"buy": t.OrderAction_Buy, "sell": t.OrderAction_Sell, "target": t.OrderAction_Target}


def _bar(b) -> Bar:
    return Bar(b.time, b.open, b.high, b.low, b.close, b.volume)


# Specs already checked and converted: a bot asks for the same few on every tick.
_SPECS: dict = {}


def _spec(spec: Spec):
    wit = _SPECS.get(spec)
    if wit is None:
        wit = _SPECS[spec] = _convert(spec)
    return wit


def _convert(spec: Spec):
    why = spec.validate()
    if why is not None:
        raise HostError(f"invalid indicator: {why}")
    if spec.kind == "macd":
        return t.Indicator_Macd(t.MacdSpec(*(int(a) for a in spec.args)))
    if spec.kind == "bollinger":
        return t.Indicator_Bollinger(t.BandsSpec(int(spec.args[0]), float(spec.args[1])))
    return _LINES[spec.kind](int(spec.args[0]))


class WitHost:
    """The SDK's host interface over the real imports; host errors become `HostError`."""

    def bars(self, symbol, timeframe, count):
        try:
            return [_bar(b) for b in _host.bars(symbol, _TIMEFRAMES[timeframe], count)]
        except Err as e:
            raise HostError(e.value) from None

    def bar_at(self, symbol, timeframe, back):
        try:
            b = _host.bar_at(symbol, _TIMEFRAMES[timeframe], back)
        except Err as e:
            raise HostError(e.value) from None
        return None if b is None else _bar(b)

    def indicator(self, symbol, timeframe, spec, count):
        try:
            values = _host.indicator(symbol, _TIMEFRAMES[timeframe], _spec(spec), count)
        except Err as e:
            raise HostError(e.value) from None
        if isinstance(values, t.IndicatorValues_Line):
            return values.value
        v = values.value
        if isinstance(values, t.IndicatorValues_Macd):
            return Macd(v.macd, v.signal, v.histogram)
        return Bands(v.upper, v.middle, v.lower)

    def last_price(self, symbol):
        try:
            return _host.last_price(symbol)
        except Err as e:
            raise HostError(e.value) from None

    def positions(self):
        return [Position(p.symbol, p.quantity, p.avg_price) for p in _host.positions()]

    def capital(self):
        return _host.capital()

    def kv_get(self, key):
        return _host.kv_get(key)

    def kv_set(self, key, value):
        _host.kv_set(key, value)

    def log(self, level, message):
        _host.log(_LEVELS[level], message)

    def working_orders(self):
        return [
            WorkingOrder(
                o.id,
                o.symbol,
                _SIDES[o.side],
                o.quantity,
                o.filled,
                o.limit_price,
                _TIF_NAMES[o.time_in_force],
                _STATES[o.state],
                o.time,
                o.tag,
            )
            for o in _host.working_orders()
        ]

    def cancel_order(self, order_id):
        try:
            _host.cancel_order(order_id)
        except Err as e:
            raise HostError(e.value) from None


def _intent(i) -> t.OrderIntent:
    trailing = None
    if i.trail is not None:
        trailing = t.TrailingStop(_TRAILS[i.trail.kind](float(i.trail.args[0])), i.activate_at_r)
    return t.OrderIntent(
        i.symbol,
        _ACTIONS[i.action](i.quantity),
        i.confidence,
        i.stop_loss,
        i.take_profit,
        trailing,
        [t.ScaleOut(r, f) for r, f in i.scale_outs],
        i.limit_price,
        None if i.time_in_force is None else _TIF[i.time_in_force],
        i.tag,
    )


def _update(u) -> OrderUpdate:
    ev = u.event
    if isinstance(ev, t.OrderEvent_Rejected):
        return OrderUpdate(u.order_id, u.symbol, "rejected", u.time, u.tag, reason=ev.value)
    if isinstance(ev, t.OrderEvent_PartialFill):
        return OrderUpdate(u.order_id, u.symbol, "partial_fill", u.time, u.tag, filled=ev.value)
    name = {
        t.OrderEvent_Accepted: "accepted",
        t.OrderEvent_Canceled: "canceled",
        t.OrderEvent_Expired: "expired",
        t.OrderEvent_Filled: "filled",
    }[type(ev)]
    return OrderUpdate(u.order_id, u.symbol, name, u.time, u.tag)


def exports(runner: Runner):
    """The `Strategy` and `ReplayStrategy` classes componentize-py looks for in the app
    module. componentize-py makes a new object per call, so they hold nothing: the bot
    lives in `runner`."""
    host = WitHost()

    def tick(ctx):
        try:
            return [_intent(i) for i in runner.tick(ctx.time, ctx.tick, ctx.capital)]
        except Exception as e:  # reported as the tick's error, not a trap
            raise Err(message(e)) from None

    class Strategy(_StrategyProtocol):
        """The `strategy` export."""

        def describe(self):
            name, version, symbols, timeframes = runner.describe()
            return t.Description(name, version, symbols, [_TIMEFRAMES[tf] for tf in timeframes])

        def init(self, config):
            try:
                runner.init(host, config.bot_id, config.symbols, [(p.key, p.value) for p in config.params])
            except Exception as e:
                raise Err(message(e)) from None

        def on_tick(self, ctx):
            return tick(ctx)

        def on_fill(self, fill):
            f = Fill(fill.order_id, fill.symbol, _SIDES[fill.side], fill.quantity, fill.price, fill.fee, fill.time, fill.tag)
            try:
                runner.fill(f)
            except Exception as e:  # the WIT has no way to report it: log, do not trap
                host.log("error", f"on_fill: {message(e)}")

        def on_order(self, update):
            try:
                runner.order(_update(update))
            except Exception as e:
                host.log("error", f"on_order: {message(e)}")

        def snapshot(self):
            return runner.snapshot()

        def restore(self, state):
            try:
                runner.restore(state)
            except Exception as e:
                raise Err(message(e)) from None

    class ReplayStrategy(_ReplayStrategyProtocol):
        """The `replay-strategy` export: a backtest's quiet ticks in one call."""

        def on_ticks(self, ctx):
            # Stop at the first tick that has intents, as the contract asks.
            while True:
                intents = tick(ctx)
                nxt = None if intents else _replay.next_tick(None)
                if nxt is None:
                    return intents
                ctx = nxt.ctx

    return Strategy, ReplayStrategy
