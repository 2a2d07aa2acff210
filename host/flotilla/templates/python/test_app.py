"""{{name}}'s logic, natively on CPython against the SDK's mock host: `python -m pytest`."""

from flotilla.testing import Harness, closes_to_bars

from app import {{type}}


def test_buys_above_the_ema_and_sells_below():
    h = Harness({{type}}, symbols=["AAPL"], params={"period": 3})
    fills = h.replay("AAPL", closes_to_bars([10, 10, 10, 11, 12, 13, 12, 10, 9]))
    assert [f.side for f in fills] == ["buy", "sell"]
