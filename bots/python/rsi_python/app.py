"""RSI mean reversion in Python, on the Flotilla Python SDK (sdk/python).

Buys a symbol when its RSI (Wilder, computed by the host) drops below `oversold` and holds
it until RSI climbs back above `exit`; with `allow_short = true` it mirrors that above
`overbought`. Each entry carries a stop `stop_pct` away from the price.

Params (all optional, text in the registry): `period` (14), `oversold` (30),
`overbought` (70), `exit` (50), `timeframe` (1m), `allow_short` (false), `fraction` of
capital per symbol (an equal share of the granted symbols), `stop_pct` (0.03, 0 = none),
`limit_pct` (0 = market entries): entries become limit orders this fraction below the
price (above it for a short), good for the day; a signal that goes flat cancels the
symbol's unfilled entries.

The same rule as `rsi_js` and the Rust `rsi_rust`, so the three can be benchmarked
against each other (host/runtime/benches/languages.rs).
"""

import flotilla
from flotilla import ParamError, rsi

FLAT, LONG, SHORT = "flat", "long", "short"
SIGN = {FLAT: 0.0, LONG: 1.0, SHORT: -1.0}


class RsiBot(flotilla.Bot):
    """The strategy; the SDK keeps this one object for the component's whole life."""

    name = "rsi_python"
    version = "0.1.0"
    # `describe` runs before `init`, and the timeframe is a param: declare them all.
    timeframes = flotilla.TIMEFRAMES
    # The last signal acted on per symbol survives reloads through snapshot/restore.
    state = ("ticks", "fills", "signals")
    state_version = 1

    def init(self, config):
        self.period = self.param("period", int, 14)
        self.oversold = self.param("oversold", float, 30.0)
        self.overbought = self.param("overbought", float, 70.0)
        self.exit = self.param("exit", float, 50.0)
        self.timeframe = self.param("timeframe", flotilla.timeframe, "1m")
        self.allow_short = self.param("allow_short", bool, False)
        self.fraction = self.param("fraction", float, 1.0 / max(len(config.symbols), 1))
        self.stop_pct = self.param("stop_pct", float, 0.03)
        self.limit_pct = self.param("limit_pct", float, 0.0)
        if self.period < 2:
            raise ParamError(f"param `period`: must be at least 2, got {self.period}")
        if not 0 < self.oversold < self.exit < self.overbought < 100:
            raise ParamError(
                "params: need 0 < oversold < exit < overbought < 100, got "
                f"{self.oversold}, {self.exit}, {self.overbought}"
            )
        if not 0 <= self.fraction <= 10:
            raise ParamError(f"param `fraction`: must be in [0, 10], got {self.fraction}")
        if not 0 <= self.stop_pct < 1:
            raise ParamError(f"param `stop_pct`: must be in [0, 1), got {self.stop_pct}")
        if not 0 <= self.limit_pct < 1:
            raise ParamError(f"param `limit_pct`: must be in [0, 1), got {self.limit_pct}")
        self.ticks = 0
        self.fills = 0
        self.signals = {}

    def check_state(self, state):
        if not all(s in SIGN for s in state.get("signals", {}).values()):
            raise flotilla.BotError("snapshot holds an unknown signal")

    def decide(self, prev, value):
        """Holds an open position until RSI crosses `exit`; otherwise enters on the extremes."""
        if prev == LONG and value <= self.exit:
            return LONG
        if prev == SHORT and value >= self.exit:
            return SHORT
        if value < self.oversold:
            return LONG
        if value > self.overbought:
            return SHORT if self.allow_short else FLAT
        return FLAT

    def on_tick(self, tick):
        self.ticks += 1
        for symbol in tick.symbols:
            try:
                value = tick.indicator(symbol, self.timeframe, rsi(self.period))
            except flotilla.HostError as e:
                self.warn(f"{symbol}: no RSI: {e}")
                continue
            if value is None:
                continue  # still warming up
            if value == 0.0 and self.flat_market(tick, symbol):
                value = 50.0
            prev = self.signals.get(symbol, FLAT)
            if prev != FLAT and tick.position(symbol).quantity == 0.0:
                # A stop the host executed, or an entry risk refused: we hold nothing, so
                # decide afresh instead of waiting for an exit that has no position.
                prev = FLAT
            signal = self.decide(prev, value)
            self.signals[symbol] = signal
            if signal == prev:
                continue
            if signal == FLAT and self.limit_pct > 0:
                self.cancel_entries(tick, symbol)
            self.order(tick, symbol, signal, value)

    def cancel_entries(self, tick, symbol):
        """Asks the host to cancel the symbol's unfilled limit entries (done after the tick)."""
        for o in tick.working_orders():
            if o.symbol == symbol and o.limit_price is not None and o.filled == 0.0:
                try:
                    tick.cancel(o.id)
                except flotilla.HostError as e:  # it filled or went meanwhile
                    self.debug(f"{symbol}: order {o.id} not canceled: {e}")

    def flat_market(self, tick, symbol):
        """TA-Lib's RSI is 0 both after nothing but losses and when nothing moved; only
        the first is oversold. True when the last `period + 1` closes are all equal."""
        try:
            closes = tick.closes(symbol, self.timeframe, self.period + 1)
        except flotilla.HostError:
            return False
        return len(closes) > 1 and all(c == closes[0] for c in closes)

    def order(self, tick, symbol, signal, value):
        """A target for `signal`: flat closes; long/short hold `fraction` of capital."""
        tag = f"{self.name}:{signal}"
        if signal == FLAT:
            tick.close(symbol, tag=tag)
            return
        price = tick.last_price(symbol)
        qty = SIGN[signal] * max(tick.capital * self.fraction / price, 0.0) if price > 0 else 0.0
        strength = (self.oversold - value) / 10.0 if signal == LONG else (value - self.overbought) / 10.0
        stop = price * (1.0 - SIGN[signal] * self.stop_pct) if self.stop_pct > 0 else None
        # A limit entry waits for the price to come `limit_pct` its way; None is a market order.
        limit = price * (1.0 - SIGN[signal] * self.limit_pct) if self.limit_pct > 0 else None
        tif = "day" if limit is not None else None
        tick.target(symbol, qty, confidence=flotilla.confidence(strength), stop=stop, limit=limit, tif=tif, tag=tag)

    def on_fill(self, fill):
        self.fills += 1

    def on_order(self, update):
        if update.event == "rejected":
            self.warn(f"{update.symbol}: order {update.order_id} rejected: {update.reason}")


Strategy, ReplayStrategy = flotilla.export(RsiBot)
