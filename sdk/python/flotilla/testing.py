"""Native testing: a mock host that serves bars, indicators (the host's TA-Lib
definitions, from `flotilla.indicators`), positions and working orders, and a harness that
drives a bot the way the Flotilla host does, so strategy logic runs under pytest on
CPython with no component build.

    from flotilla.testing import Harness, closes_to_bars

    def test_buys_a_dip():
        h = Harness(MyBot, symbols=["AAA"], params={"period": "14"})
        fills = h.replay("AAA", closes_to_bars([100, 99, 98, ...]))
        assert fills and fills[0].side == "buy"
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from . import indicators
from ._bot import Runner, check_level
from ._types import TIMEFRAME_MILLIS, Bar, Fill, HostError, Intent, OrderUpdate, Position, WorkingOrder, check_timeframe

#: The host caps a `bars` or `indicator` request at this many values.
MAX_COUNT = 5_000


def closes_to_bars(closes: Sequence[float], timeframe: str = "1m", start: int = 0) -> List[Bar]:
    """Bars from closes (open = high = low = close, volume 1), one `timeframe` apart."""
    step = TIMEFRAME_MILLIS[check_timeframe(timeframe)]
    return [Bar(start + i * step, c, c, c, c, 1.0) for i, c in enumerate(closes)]


class MockHost:
    """An in-memory stand-in for the host, answering every import as the host does."""

    def __init__(self, capital: float = 100_000.0):
        self.bars_by_series: Dict[Tuple[str, str], List[Bar]] = {}
        self.prices: Dict[str, float] = {}
        #: Positions by symbol.
        self.positions_by_symbol: Dict[str, Position] = {}
        #: What `working_orders` lists.
        self.working: List[WorkingOrder] = []
        #: The ids `cancel_order` recorded, each once, as the host records them.
        self.cancels: List[int] = []
        self.capital_value = capital
        self.kv: Dict[str, bytes] = {}
        #: (level, message) lines the bot logged.
        self.logs: List[Tuple[str, str]] = []

    # Setting the scene.

    def set_bars(self, symbol: str, timeframe: str, bars: Iterable[Bar]) -> None:
        """The bars served for `symbol` at `timeframe`, oldest first."""
        self.bars_by_series[(symbol, check_timeframe(timeframe))] = [Bar(*b) for b in bars]

    def set_closes(self, symbol: str, timeframe: str, closes: Sequence[float]) -> None:
        """Bars built from closes, one `timeframe` apart."""
        self.set_bars(symbol, timeframe, closes_to_bars(closes, timeframe))

    def set_price(self, symbol: str, price: float) -> None:
        """Overrides the last price (otherwise the newest bar's close)."""
        self.prices[symbol] = price

    def set_position(self, symbol: str, quantity: float, avg_price: float = 0.0) -> None:
        """Sets (or, with 0, clears) the position in `symbol`."""
        if quantity == 0:
            self.positions_by_symbol.pop(symbol, None)
        else:
            self.positions_by_symbol[symbol] = Position(symbol, quantity, avg_price)

    # The host's imports.

    def _series(self, symbol, timeframe):
        try:
            return self.bars_by_series[(symbol, timeframe)]
        except KeyError:
            raise HostError(f"symbol {symbol!r} not granted or no {timeframe} bars") from None

    def bars(self, symbol, timeframe, count):
        series = self._series(symbol, timeframe)
        return series[max(len(series) - min(count, MAX_COUNT), 0) :]

    def bar_at(self, symbol, timeframe, back):
        series = self._series(symbol, timeframe)
        return series[-1 - back] if back < len(series) else None

    def indicator(self, symbol, timeframe, spec, count):
        why = spec.validate()
        if why is not None:
            raise HostError(f"invalid indicator: {why}")
        count = min(count, MAX_COUNT)
        series = self._series(symbol, timeframe)
        window = series[max(len(series) - spec.history(count), 0) :]
        return indicators.compute(spec, window, count)

    def last_price(self, symbol):
        if symbol in self.prices:
            return self.prices[symbol]
        newest = [s[-1] for (sym, _), s in self.bars_by_series.items() if sym == symbol and s]
        if not newest:
            raise HostError(f"symbol {symbol!r} not granted")
        return max(newest, key=lambda b: b.time).close

    def positions(self):
        return list(self.positions_by_symbol.values())

    def capital(self):
        return self.capital_value

    def kv_get(self, key):
        return self.kv.get(key)

    def kv_set(self, key, value):
        self.kv[key] = bytes(value)

    def log(self, level, message):
        self.logs.append((check_level(level), message))

    def working_orders(self):
        return list(self.working)

    def cancel_order(self, order_id):
        order = next((o for o in self.working if o.id == order_id), None)
        if order is None:
            raise HostError(f"order #{order_id} is not one of this bot's working orders")
        if order.state != "pending_cancel" and order_id not in self.cancels:
            self.cancels.append(order_id)


class Harness:
    """Drives one bot through init, ticks, fills, order updates and snapshots against a
    `MockHost`, as the host would. Init errors raise `BotError` (or what the bot raised)."""

    def __init__(
        self,
        bot_class,
        symbols: Sequence[str] = ("AAA",),
        params: Optional[Mapping[str, object]] = None,
        host: Optional[MockHost] = None,
        bot_id: str = "test",
    ):
        self.host = host if host is not None else MockHost()
        self.runner = Runner(bot_class)
        self.ticks = 0
        #: Every fill the harness reported, in order.
        self.fills: List[Fill] = []
        self._order_ids = 0
        text = [(k, _param_text(v)) for k, v in (params or {}).items()]
        self.runner.init(self.host, bot_id, list(symbols), text)

    @property
    def bot(self):
        """The live bot, for asserting on its state."""
        return self.runner.bot

    def describe(self):
        """(name, version, symbols, timeframes) as `describe` reports them."""
        return self.runner.describe()

    def tick(self, time: Optional[int] = None, capital: Optional[float] = None) -> List[Intent]:
        """Runs the next tick; its intents."""
        self.ticks += 1
        if capital is not None:
            self.host.capital_value = capital
        return self.runner.tick(self.ticks * 60_000 if time is None else time, self.ticks, self.host.capital_value)

    def fill(self, fill: Fill) -> None:
        """Reports a fill to the bot and books it in the mock's positions."""
        held = self.host.positions_by_symbol.get(fill.symbol)
        qty, avg = (held.quantity, held.avg_price) if held else (0.0, 0.0)
        signed = fill.quantity if fill.side == "buy" else -fill.quantity
        new = qty + signed
        if abs(new) < 1e-12:
            new = 0.0
        # The average price moves only when the position grows, as a broker keeps it.
        if new != 0 and (qty == 0 or (qty > 0) == (signed > 0)):
            avg = (abs(qty) * avg + abs(signed) * fill.price) / abs(new)
        elif new != 0 and (qty > 0) != (new > 0):
            avg = fill.price
        self.host.set_position(fill.symbol, new, avg)
        self.fills.append(fill)
        self.runner.fill(fill)

    def order(self, update: OrderUpdate) -> None:
        """Reports an order update."""
        self.runner.order(update)

    def execute(self, intents: Iterable[Intent], time: int = 0) -> List[Fill]:
        """Fills the market intents at the last price, as a frictionless broker would, and
        reports each fill; limit intents become working orders (not filled here)."""
        done = []
        for i in intents:
            price = self.host.last_price(i.symbol)
            held = self.host.positions_by_symbol.get(i.symbol)
            qty = held.quantity if held else 0.0
            delta = {"buy": i.quantity, "sell": -i.quantity, "target": i.quantity - qty}[i.action]
            self._order_ids += 1
            if i.limit_price is not None:
                side = "buy" if delta > 0 else "sell"
                tif = i.time_in_force or "day"
                self.host.working.append(
                    WorkingOrder(self._order_ids, i.symbol, side, abs(delta), 0.0, i.limit_price, tif, "accepted", time, i.tag)
                )
                continue
            if delta == 0:
                continue
            f = Fill(self._order_ids, i.symbol, "buy" if delta > 0 else "sell", abs(delta), price, 0.0, time, i.tag)
            self.fill(f)
            done.append(f)
        return done

    def replay(self, symbol: str, bars: Sequence[Bar], timeframe: str = "1m", warmup: int = 0) -> List[Fill]:
        """Serves `bars` one at a time (the first `warmup` at once), ticking after each and
        filling the tick's market intents at that bar's close; the fills made."""
        fills = []
        for n in range(max(warmup, 1), len(bars) + 1):
            self.host.set_bars(symbol, timeframe, bars[:n])
            newest = bars[n - 1]
            time = newest.time + TIMEFRAME_MILLIS[timeframe]
            fills.extend(self.execute(self.tick(time), time))
        return fills

    def snapshot(self) -> bytes:
        """The bot's snapshot."""
        return self.runner.snapshot()

    def restore(self, blob: bytes) -> None:
        """Restores a snapshot into the bot."""
        self.runner.restore(blob)


def _param_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load_bot(path, module_name: Optional[str] = None):
    """Imports a bot's `app.py` by path under a unique module name (every bot's file is
    called app.py), so tests of several bots can run in one session."""
    path = Path(path).resolve()
    name = module_name or f"flotilla_bot_{path.parent.name}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
