"""{{name}}: a Flotilla bot. Long while a symbol's close is above its EMA, flat otherwise.

Params (text in the registry, all optional): `period` (20) bars of the EMA, computed by the
host; `fraction` of capital per symbol (an equal share); `stop_pct` (0.03).

Written on the Flotilla Python SDK (the `flotilla` package beside this file); test it
natively with `flotilla.testing` (see test_app.py).
"""

import flotilla
from flotilla import ParamError, ema


class {{type}}(flotilla.Bot):
    name = "{{name}}"
    version = "0.1.0"
    timeframes = ("1m",)

    def init(self, config):
        self.period = self.param("period", int, 20)
        self.fraction = self.param("fraction", float, 1.0 / max(len(config.symbols), 1))
        self.stop_pct = self.param("stop_pct", float, 0.03)
        if self.period < 2:
            raise ParamError(f"param `period`: must be at least 2, got {self.period}")

    def on_tick(self, tick):
        for symbol in tick.symbols:
            level = tick.indicator(symbol, "1m", ema(self.period))
            if level is None:
                continue  # the EMA is warming up
            price = tick.last_price(symbol)
            long = price > level
            if long == (tick.position(symbol).quantity > 0):
                continue  # already where it wants to be
            if not long:
                tick.close(symbol, tag="{{name}}")
                continue
            stop = price * (1.0 - self.stop_pct) if self.stop_pct > 0 else None
            # More of the exit plan: take=, trail=flotilla.atr(1.5), activate_at_r=1.0,
            # scale_outs=[(1, 0.33), (2, 0.33)]; limit=price * 0.999, tif="gtc".
            tick.target(symbol, tick.units(self.fraction, price), stop=stop, tag="{{name}}")

    def on_fill(self, fill):
        self.info(f"filled {fill.quantity} {fill.symbol} at {fill.price}")


Strategy, ReplayStrategy = flotilla.export({{type}})
