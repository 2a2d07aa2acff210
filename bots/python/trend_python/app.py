"""Multi-timeframe trend following in Python, on the Flotilla Python SDK (sdk/python).

Trades crosses of a fast and a slow EMA on the signal timeframe (5m) only when the trend
timeframe (1h) agrees: a cross up counts while the last hourly close is above its EMA, a
cross down (with `allow_short`) while it is below. The opposite cross closes the position.
Each entry carries a whole exit plan the host watches: a stop `stop_atr` ATRs away, scale-
outs of a third at 1R and at 2R, and an ATR trailing stop from 1R on.

Params (all optional): `fast` (9), `slow` (21) EMA periods on `signal_tf` (5m);
`trend_period` (50) of the EMA on `trend_tf` (1h); `stop_atr` (2.0) and `trail_atr` (1.5)
ATR(14) multiples; `allow_short` (false); `fraction` of capital per symbol (an equal share).
"""

import flotilla
from flotilla import ParamError, atr, ema

FLAT, LONG, SHORT = "flat", "long", "short"


class TrendBot(flotilla.Bot):
    """EMA crosses on the signal timeframe, confirmed by the trend timeframe."""

    name = "trend_python"
    version = "0.1.0"
    timeframes = flotilla.TIMEFRAMES
    # Counters, each symbol's side and the last signal bar acted on survive reloads.
    state = ("sides", "last_bar", "entries", "vetoed", "fills")
    state_version = 1

    def init(self, config):
        self.fast = self.param("fast", int, 9)
        self.slow = self.param("slow", int, 21)
        self.signal_tf = self.param("signal_tf", flotilla.timeframe, "5m")
        self.trend_tf = self.param("trend_tf", flotilla.timeframe, "1h")
        self.trend_period = self.param("trend_period", int, 50)
        self.stop_atr = self.param("stop_atr", float, 2.0)
        self.trail_atr = self.param("trail_atr", float, 1.5)
        self.allow_short = self.param("allow_short", bool, False)
        self.fraction = self.param("fraction", float, 1.0 / max(len(config.symbols), 1))
        if not 1 <= self.fast < self.slow:
            raise ParamError(f"params: need 1 <= fast < slow, got {self.fast} and {self.slow}")
        if self.trend_period < 1:
            raise ParamError(f"param `trend_period`: must be at least 1, got {self.trend_period}")
        if self.stop_atr <= 0 or self.trail_atr <= 0:
            raise ParamError("params `stop_atr` and `trail_atr` must be positive")
        self.sides = {}
        self.last_bar = {}
        self.entries = 0
        self.vetoed = 0
        self.fills = 0

    def cross(self, tick, symbol):
        """+1 when the fast EMA crossed above the slow one on the last bar, -1 below, 0
        otherwise (or while they warm up)."""
        fast = tick.indicator_series(symbol, self.signal_tf, ema(self.fast), 2)
        slow = tick.indicator_series(symbol, self.signal_tf, ema(self.slow), 2)
        if len(fast) < 2 or len(slow) < 2:
            return 0
        before, now = fast[0] - slow[0], fast[1] - slow[1]
        if before <= 0 < now:
            return 1
        if before >= 0 > now:
            return -1
        return 0

    def trend(self, tick, symbol):
        """+1 when the last trend-timeframe close is above its EMA, -1 below, 0 unknown."""
        try:
            level = tick.indicator(symbol, self.trend_tf, ema(self.trend_period))
            last = tick.bar_at(symbol, self.trend_tf)
        except flotilla.HostError as e:
            self.warn(f"{symbol}: no {self.trend_tf} trend: {e}")
            return 0
        if level is None or last is None:
            return 0
        return (last.close > level) - (last.close < level)

    def on_tick(self, tick):
        for symbol in tick.symbols:
            try:
                newest = tick.bar_at(symbol, self.signal_tf)
                # Once per closed signal bar: the bot may tick more often than it closes.
                if newest is None or self.last_bar.get(symbol) == newest.time:
                    continue
                cross = self.cross(tick, symbol)
            except flotilla.HostError as e:
                self.warn(f"{symbol}: no EMAs: {e}")
                continue
            self.last_bar[symbol] = newest.time
            held = tick.position(symbol).quantity
            side = self.sides.get(symbol, FLAT) if held != 0 else FLAT
            if cross == 0:
                self.sides[symbol] = side
                continue
            wanted = LONG if cross > 0 else (SHORT if self.allow_short else FLAT)
            if side != FLAT and wanted != side:
                tick.close(symbol, tag=f"{self.name}:exit")
                side = FLAT
            if wanted != FLAT and side == FLAT:
                if self.trend(tick, symbol) != cross:
                    self.vetoed += 1
                else:
                    side = self.enter(tick, symbol, wanted)
            self.sides[symbol] = side

    def enter(self, tick, symbol, side):
        """Queues an entry with its exit plan; the side now held (flat if it cannot size)."""
        price = tick.last_price(symbol)
        vol = tick.indicator(symbol, self.signal_tf, atr(14))
        if not vol or price <= 0:
            return FLAT
        sign = 1.0 if side == LONG else -1.0
        tick.target(
            symbol,
            sign * tick.units(self.fraction, price),
            confidence=0.8,
            stop=price - sign * self.stop_atr * vol,
            scale_outs=[(1, 0.33), (2, 0.33)],
            trail=atr(self.trail_atr),
            activate_at_r=1.0,
            tag=f"{self.name}:{side}",
        )
        self.entries += 1
        return side

    def on_fill(self, fill):
        self.fills += 1

    def on_order(self, update):
        if update.event == "rejected":
            self.warn(f"{update.symbol}: order {update.order_id} rejected: {update.reason}")


Strategy, ReplayStrategy = flotilla.export(TrendBot)
