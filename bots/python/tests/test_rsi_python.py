"""rsi_python's logic, natively on CPython against the SDK's mock host (no wasm build)."""

import json
from pathlib import Path

import pytest

from flotilla import BotError, ParamError
from flotilla import indicators as ind
from flotilla.testing import Harness, MockHost, closes_to_bars, load_bot

APP = load_bot(Path(__file__).resolve().parents[1] / "rsi_python" / "app.py")

# Flat, a slide (RSI(5) falls under 30), then a climb (RSI back above 50), then flat.
CLOSES = [100.0 + (i % 2) * 0.5 for i in range(12)] + [99 - 1.5 * i for i in range(8)] + [88 + 2 * i for i in range(8)]


def run(params, closes=CLOSES):
    h = Harness(APP.RsiBot, symbols=["AAA"], params={"period": 5, **params})
    return h, h.replay("AAA", closes_to_bars(closes))


def test_buys_when_rsi_falls_under_oversold_and_sells_above_exit():
    h, fills = run({})
    assert [(f.side, f.tag) for f in fills] == [("buy", "rsi_python:long"), ("sell", "rsi_python:flat")]
    rsis = ind.rsi(CLOSES, 5)
    # The entry comes on the first bar whose RSI is under 30, the exit on the first over 50.
    entry = next(i for i, v in enumerate(rsis) if v < 30) + 5
    exit_ = next(i for i, v in enumerate(rsis) if i + 5 > entry and v > 50) + 5
    assert (fills[0].price, fills[1].price) == (CLOSES[entry], CLOSES[exit_])
    # An equal share of 100 000 at the entry's price.
    assert fills[0].quantity == pytest.approx(100_000 / CLOSES[entry])
    assert h.bot.fills == 2 and h.bot.signals == {"AAA": "flat"}


def test_an_entry_carries_a_stop_and_a_confidence_from_the_rsi_distance():
    h, fills = run({}, CLOSES[:13])
    assert fills == []
    h.host.set_closes("AAA", "1m", CLOSES[:14])  # RSI(5) 21.1: 8.9 under oversold
    (intent,) = h.tick()
    assert (intent.action, intent.quantity) == ("target", pytest.approx(100_000 / 97.5))
    assert intent.stop_loss == pytest.approx(97.5 * 0.97)
    assert intent.confidence == pytest.approx(0.5 + 0.5 * (1 - 2.718281828459045 ** -((30 - ind.rsi(CLOSES[:14], 5)[-1]) / 10)))
    assert intent.limit_price is None and intent.time_in_force is None


def test_shorts_only_when_allowed():
    up = [100.0 + (i % 2) * 0.5 for i in range(12)] + [101 + 1.5 * i for i in range(8)]
    _, fills = run({}, up)
    assert fills == []
    _, fills = run({"allow_short": "true"}, up)
    assert [(f.side, f.tag) for f in fills] == [("sell", "rsi_python:short")]


def test_a_market_that_does_not_move_is_not_oversold():
    _, fills = run({}, [100.0] * 30)
    assert fills == []


def test_a_position_stopped_out_by_the_host_is_decided_afresh():
    h, fills = run({}, CLOSES[:14])
    assert [f.side for f in fills] == ["buy"]
    h.host.set_position("AAA", 0.0)  # the host executed the stop
    h.host.set_closes("AAA", "1m", CLOSES[:15])
    # Still oversold and holding nothing: the bot enters again rather than wait to exit.
    assert [(i.action, i.quantity > 0) for i in h.tick()] == [("target", True)]


def test_limit_entries_are_day_orders_and_going_flat_cancels_them():
    h = Harness(APP.RsiBot, symbols=["AAA"], params={"period": 5, "limit_pct": 0.01})
    bars = closes_to_bars(CLOSES)
    assert h.replay("AAA", bars[:14]) == []  # the mock leaves limit orders working
    (order,) = h.host.working
    assert (order.side, order.time_in_force, order.limit_price) == ("buy", "day", pytest.approx(97.5 * 0.99))
    # Part of the entry filled elsewhere; the rest still works when RSI crosses 50.
    h.host.set_position("AAA", 100.0, 96.5)
    fills = h.replay("AAA", bars[:23], warmup=15)
    assert [(f.side, f.quantity, f.price) for f in fills] == [("sell", 100.0, 92.0)]
    assert h.host.cancels == [order.id]


@pytest.mark.parametrize(
    "params, words",
    [
        ({"period": "1"}, "param `period`: must be at least 2"),
        ({"period": "x"}, "param `period`: expected a whole number"),
        ({"oversold": "60"}, "need 0 < oversold < exit < overbought < 100"),
        ({"stop_pct": "1.5"}, "param `stop_pct`: must be in [0, 1)"),
        ({"timeframe": "2h"}, "param `timeframe`: expected a timeframe"),
    ],
)
def test_bad_params_are_init_errors_naming_the_param(params, words):
    with pytest.raises(ParamError) as e:
        Harness(APP.RsiBot, params=params)
    assert words in str(e.value)


def test_unknown_params_are_warned_about():
    host = MockHost()
    Harness(APP.RsiBot, params={"perod": "5"}, host=host)
    assert host.logs == [("warn", "ignoring unknown param `perod`")]


def test_signals_survive_a_snapshot_and_bad_ones_are_refused():
    h, _ = run({}, CLOSES[:16])
    blob = h.snapshot()
    assert json.loads(blob) == {"v": 1, "ticks": 16, "fills": 1, "signals": {"AAA": "long"}}
    again = Harness(APP.RsiBot, symbols=["AAA"])
    again.restore(blob)
    assert again.bot.signals == {"AAA": "long"} and again.bot.ticks == 16
    with pytest.raises(BotError, match="unknown signal"):
        again.restore(b'{"v": 1, "signals": {"AAA": "sideways"}}')
    with pytest.raises(BotError, match="snapshot version 7, expected 1"):
        again.restore(b'{"v": 7}')
    assert again.bot.signals == {"AAA": "long"}


def test_describes_itself_with_every_timeframe():
    assert Harness(APP.RsiBot).describe() == ("rsi_python", "0.1.0", [], ["1m", "5m", "15m", "1h", "1d"])
