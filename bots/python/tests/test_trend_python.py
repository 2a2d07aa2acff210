"""trend_python's logic, natively against the SDK's mock host: 5m EMA crosses traded only
when the 1h trend agrees, each entry with its full exit plan."""

from pathlib import Path

import pytest

from flotilla import ParamError, atr
from flotilla.testing import Harness, MockHost, closes_to_bars, load_bot

APP = load_bot(Path(__file__).resolve().parents[1] / "trend_python" / "app.py")
PARAMS = {"fast": 3, "slow": 6, "trend_period": 3}
# 5m closes: a slide, then a climb (the fast EMA crosses above the slow one), then a slide.
FIVE = [120 - i for i in range(20)] + [101 + 2 * i for i in range(12)] + [122 - 3 * i for i in range(10)]


def hours(closes):
    """Hourly bars that all closed before the first 5m bar (the last price is a 5m close)."""
    return closes_to_bars(closes, "1h", start=-len(closes) * 3_600_000)


def run(hourly, closes=FIVE, params=None):
    """Ticks after each 5m bar, the hourly bars fixed; market intents fill at the close."""
    host = MockHost()
    host.set_bars("AAA", "1h", hours(hourly))
    h = Harness(APP.TrendBot, symbols=["AAA"], params={**PARAMS, **(params or {})}, host=host)
    return h, h.replay("AAA", closes_to_bars(closes, "5m"), "5m")


def test_a_cross_up_is_traded_when_the_hourly_trend_is_up_and_closed_on_the_cross_down():
    h, fills = run(hourly=[100, 102, 104, 106, 108])
    assert [(f.side, f.tag) for f in fills] == [("buy", "trend_python:long"), ("sell", "trend_python:exit")]
    assert h.bot.entries == 1 and h.bot.vetoed == 0 and h.bot.sides == {"AAA": "flat"}


def test_the_hourly_trend_vetoes_a_cross_against_it():
    h, fills = run(hourly=[108, 106, 104, 102, 100])
    assert fills == []
    assert h.bot.entries == 0 and h.bot.vetoed == 1


def test_shorts_need_allow_short_and_a_falling_hour():
    _, fills = run(hourly=[108, 106, 104, 102, 100], params={"allow_short": "true"})
    assert [(f.side, f.tag) for f in fills] == [("sell", "trend_python:short")]


def test_an_entry_carries_stop_scale_outs_and_an_atr_trail():
    host = MockHost()
    host.set_bars("AAA", "1h", hours([100, 102, 104, 106, 108]))
    h = Harness(APP.TrendBot, symbols=["AAA"], params=PARAMS, host=host)
    bars = closes_to_bars(FIVE, "5m")
    intents = []
    for n in range(1, len(bars) + 1):
        host.set_bars("AAA", "5m", bars[:n])
        intents = h.tick()
        if intents:
            break
    (entry,) = intents
    price = bars[n - 1].close
    vol = host.indicator("AAA", "5m", atr(14), 1)[-1]
    assert entry.quantity == pytest.approx(100_000 / price) and entry.confidence == 0.8
    assert entry.stop_loss == pytest.approx(price - 2.0 * vol)
    assert (entry.scale_outs, entry.trail, entry.activate_at_r) == ([(1.0, 0.33), (2.0, 0.33)], atr(1.5), 1.0)


def test_it_acts_once_per_signal_bar_however_often_it_ticks():
    host = MockHost()
    host.set_bars("AAA", "1h", hours([108, 106, 104, 102, 100]))
    h = Harness(APP.TrendBot, symbols=["AAA"], params=PARAMS, host=host)
    for bar in closes_to_bars(FIVE, "5m"):
        host.set_bars("AAA", "5m", [b for b in closes_to_bars(FIVE, "5m") if b.time <= bar.time])
        for _ in range(5):  # ticking every minute: five ticks per 5m bar
            assert h.tick() == []
    assert h.bot.vetoed == 1 and h.bot.last_bar == {"AAA": closes_to_bars(FIVE, "5m")[-1].time}


def test_no_trade_while_the_hourly_ema_warms_up():
    h, fills = run(hourly=[100, 102])
    assert fills == [] and h.bot.vetoed == 1


def test_bad_params_name_themselves():
    with pytest.raises(ParamError, match="need 1 <= fast < slow"):
        Harness(APP.TrendBot, params={"fast": 30, "slow": 20})
    with pytest.raises(ParamError, match="param `signal_tf`: expected a timeframe"):
        Harness(APP.TrendBot, params={"signal_tf": "7m"})


def test_state_survives_a_snapshot():
    h, _ = run(hourly=[108, 106, 104, 102, 100])
    again = Harness(APP.TrendBot, symbols=["AAA"], params=PARAMS)
    again.restore(h.snapshot())
    assert (again.bot.vetoed, again.bot.entries, again.bot.sides) == (1, 0, {"AAA": "flat"})
