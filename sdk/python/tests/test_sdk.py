"""The Python SDK's bot API against the native mock host: params, ticks, intents with exit
plans, orders and cancels, snapshots, and state kept on `self`."""

import json

import pytest

import flotilla
from flotilla import BotError, HostError, ParamError, atr, percent, rsi
from flotilla.testing import Harness, MockHost, closes_to_bars


class Counter(flotilla.Bot):
    """Keeps its state on `self` only: buys on its 3rd tick, sells on its 6th."""

    name = "counter"
    state = ("seen", "bought")
    state_version = 2

    def init(self, config):
        self.every = self.param("every", int, 3)
        self.seen = 0
        self.bought = False

    def on_tick(self, tick):
        self.seen += 1
        if self.seen == self.every:
            tick.target("AAA", 1.0, tag="in")
            self.bought = True
        elif self.seen == 2 * self.every:
            tick.close("AAA", tag="out")


def test_state_on_self_survives_between_ticks_and_the_bot_trades():
    h = Harness(Counter, symbols=["AAA"])
    fills = h.replay("AAA", closes_to_bars([10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0]))
    assert [(f.side, f.quantity, f.price, f.tag) for f in fills] == [("buy", 1.0, 12.0, "in"), ("sell", 1.0, 15.0, "out")]
    assert h.bot.seen == 7 and h.bot.bought


def test_params_are_typed_with_defaults_and_errors_name_the_param():
    class P(flotilla.Bot):
        def init(self, config):
            self.n = self.param("n", int, 14)
            self.x = self.param("x", float, 0.5)
            self.flag = self.param("flag", bool, False)
            self.tf = self.param("tf", flotilla.timeframe, "1m")
            self.mode = self.param("mode", str, "fast", choices=("fast", "slow"))

        def on_tick(self, tick):
            pass

    bot = Harness(P, params={"n": "20", "flag": "yes", "tf": "1h", "x": ""}).bot
    assert (bot.n, bot.x, bot.flag, bot.tf, bot.mode) == (20, 0.5, True, "1h", "fast")
    for params, words in [
        ({"n": "abc"}, "param `n`: expected a whole number, got `abc`"),
        ({"n": "1.5"}, "param `n`: expected a whole number"),
        ({"x": "nan"}, "param `x`: expected a finite number"),
        ({"flag": "maybe"}, "param `flag`: expected true or false"),
        ({"tf": "2m"}, "param `tf`: expected a timeframe"),
        ({"mode": "medium"}, "param `mode`: expected one of fast, slow"),
    ]:
        with pytest.raises(ParamError) as e:
            Harness(P, params=params)
        assert words in str(e.value)


def test_a_required_param_and_unknown_params_are_reported():
    class R(flotilla.Bot):
        def init(self, config):
            self.key = self.param("key", str)

        def on_tick(self, tick):
            pass

    with pytest.raises(ParamError, match="param `key` is required"):
        Harness(R)
    host = MockHost()
    Harness(R, params={"key": "k", "perod": "14", "zz": "1"}, host=host)
    assert host.logs == [("warn", "ignoring unknown param `perod`"), ("warn", "ignoring unknown param `zz`")]


def test_tick_reads_bars_indicators_positions_and_capital():
    seen = {}

    class Reader(flotilla.Bot):
        def on_tick(self, tick):
            seen["bars"] = tick.bars("AAA", "1m", 3)
            seen["closes"] = tick.closes("AAA", "1m", 2)
            seen["newest"] = tick.bar_at("AAA", "1m")
            seen["rsi"] = tick.indicator("AAA", "1m", rsi(3))
            seen["rsi2"] = tick.indicator_series("AAA", "1m", rsi(3), 2)
            seen["macd"] = tick.indicator("AAA", "1m", flotilla.macd(2, 3, 2))
            seen["cold"] = tick.indicator("AAA", "1m", rsi(50))
            seen["pos"] = tick.position("AAA")
            seen["flat"] = tick.position("BBB")
            seen["capital"] = tick.capital
            seen["price"] = tick.last_price("AAA")

    host = MockHost(capital=5_000.0)
    host.set_closes("AAA", "1m", [1.0, 2.0, 3.0, 4.0, 5.0, 4.0, 3.0, 2.0, 3.0, 4.0])
    host.set_position("AAA", 3.0, 2.5)
    Harness(Reader, host=host).tick()
    assert [b.close for b in seen["bars"]] == [2.0, 3.0, 4.0] and seen["closes"] == [3.0, 4.0]
    assert seen["newest"].close == 4.0
    assert seen["rsi"] == pytest.approx(16700.0 / 243.0) and seen["rsi2"][-1] == seen["rsi"]
    assert isinstance(seen["macd"], flotilla.Macd) and seen["macd"].macd == pytest.approx(1753.0 / 486.0 - 3.4375)
    assert seen["cold"] is None
    assert seen["pos"].quantity == 3.0 and seen["flat"].quantity == 0.0
    assert (seen["capital"], seen["price"]) == (5_000.0, 4.0)


def test_a_target_carries_its_whole_exit_plan():
    class Planner(flotilla.Bot):
        def on_tick(self, tick):
            tick.target(
                "AAA", 10, confidence=0.7, stop=95, take=120, trail=atr(1.5), activate_at_r=1,
                scale_outs=[(1, 0.33), (2, 0.33)], tag="entry",
            )
            tick.buy("AAA", 2, limit=99.5, tif="gtc")
            tick.sell("AAA", 1, trail=percent(0.02))

    out = Harness(Planner).tick()
    a, b, c = out
    assert (a.action, a.quantity, a.confidence, a.stop_loss, a.take_profit) == ("target", 10.0, 0.7, 95.0, 120.0)
    assert (a.trail, a.activate_at_r, a.scale_outs, a.tag) == (atr(1.5), 1.0, [(1.0, 0.33), (2.0, 0.33)], "entry")
    assert (b.action, b.limit_price, b.time_in_force, b.stop_loss) == ("buy", 99.5, "gtc", None)
    assert (c.action, c.trail.kind, c.trail.args, c.limit_price) == ("sell", "percent", (0.02,), None)


@pytest.mark.parametrize(
    "plan, error",
    [
        ({"trail": rsi(14)}, TypeError),
        ({"trail": 1.5}, TypeError),
        ({"scale_outs": [1.0]}, TypeError),
        ({"tif": "week"}, ValueError),
        ({"activate_at_r": 1.0}, ValueError),
    ],
)
def test_a_malformed_plan_fails_the_tick_where_it_is_written(plan, error):
    class Bad(flotilla.Bot):
        def on_tick(self, tick):
            tick.target("AAA", 1, **plan)

    with pytest.raises(error):
        Harness(Bad).tick()


def test_limit_orders_and_cancels_go_through_the_host():
    class Canceller(flotilla.Bot):
        def on_tick(self, tick):
            for o in tick.working_orders():
                tick.cancel(o.id)
            with pytest.raises(HostError, match="not one of this bot's working orders"):
                tick.cancel(999)

    host = MockHost()
    host.set_closes("AAA", "1m", [100.0])
    h = Harness(Canceller, host=host)
    h.execute([flotilla.Intent("AAA", "buy", 1.0, limit_price=99.0, time_in_force="gtc")])
    assert [(o.side, o.limit_price, o.time_in_force) for o in host.working] == [("buy", 99.0, "gtc")]
    h.tick()
    h.tick()
    assert host.cancels == [host.working[0].id]


def test_fills_and_order_updates_reach_the_bot():
    class Listener(flotilla.Bot):
        def init(self, config):
            self.heard = []

        def on_tick(self, tick):
            pass

        def on_fill(self, fill):
            self.heard.append(("fill", fill.side, fill.quantity))

        def on_order(self, update):
            self.heard.append((update.event, update.reason))

    h = Harness(Listener)
    h.fill(flotilla.Fill(1, "AAA", "buy", 2.0, 10.0, 0.0, 0, "t"))
    h.order(flotilla.OrderUpdate(2, "AAA", "rejected", 0, "t", reason="too big"))
    assert h.bot.heard == [("fill", "buy", 2.0), ("rejected", "too big")]
    assert h.host.positions()[0].quantity == 2.0


def test_snapshot_and_restore_carry_declared_state_with_a_version_check():
    h = Harness(Counter)
    for _ in range(4):
        h.tick()
    blob = h.snapshot()
    assert json.loads(blob) == {"v": 2, "seen": 4, "bought": True}
    fresh = Harness(Counter)
    fresh.restore(blob)
    assert (fresh.bot.seen, fresh.bot.bought) == (4, True)
    fresh.restore(b"")  # nothing saved: nothing changes
    assert fresh.bot.seen == 4
    with pytest.raises(BotError, match="snapshot version 1, expected 2"):
        fresh.restore(b'{"v": 1, "seen": 99}')
    with pytest.raises(BotError, match="not JSON"):
        fresh.restore(b"\x00garbage")
    assert fresh.bot.seen == 4  # a refused snapshot changes nothing


def test_unsaveable_state_is_named():
    class Bad(Counter):
        def init(self, config):
            super().init(config)
            self.seen = object()

    with pytest.raises(BotError, match="state attribute `seen` cannot be saved"):
        Harness(Bad).snapshot()


def test_calls_before_init_and_bad_classes_are_refused():
    runner = flotilla.Runner(Counter)
    with pytest.raises(BotError, match="on-tick called before init succeeded"):
        runner.tick(0, 1, 1.0)
    with pytest.raises(TypeError):
        flotilla.Runner(object)

    class BadFrames(Counter):
        timeframes = ("2m",)

    with pytest.raises(ValueError, match="unknown timeframe"):
        flotilla.export(BadFrames)


def test_native_exports_refuse_calls():
    strategy, replay = flotilla.export(Counter)
    with pytest.raises(RuntimeError, match="runs in a component"):
        strategy().on_tick(None)
