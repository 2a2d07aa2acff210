"""The indicators the mock host serves follow TA-Lib's definitions: the same hand-worked
values as the Rust SDK's (sdk/src/indicators/series.rs) and host/indicators' tests."""

import pytest

from flotilla import indicators as ind
from flotilla import macd, rsi, sma
from flotilla.testing import MockHost, closes_to_bars

C = [1.0, 2.0, 3.0, 4.0, 5.0, 4.0, 3.0, 2.0, 3.0, 4.0]


def near(got, want):
    assert len(got) == len(want), (got, want)
    for g, w in zip(got, want):
        assert g == pytest.approx(w, abs=1e-12), (got, want)


def test_hand_checked_series():
    near(ind.sma(C, 3), [2.0, 3.0, 4.0, 13.0 / 3.0, 4.0, 3.0, 8.0 / 3.0, 3.0])
    near(ind.ema(C, 3), [2.0, 3.0, 4.0, 4.0, 3.5, 2.75, 2.875, 3.4375])
    near(ind.wma(C, 3), [v / 3.0 for v in [7.0, 10.0, 13.0, 13.0, 11.0, 8.0, 8.0, 10.0]])
    near(ind.rsi(C, 3), [100.0, 100.0, 200.0 / 3.0, 400.0 / 9.0, 800.0 / 27.0, 4300.0 / 81.0, 16700.0 / 243.0])
    near(ind.roc(C, 2), [200.0, 100.0, 200.0 / 3.0, 0.0, -40.0, -50.0, 0.0, 100.0])
    m = ind.macd_series(C, 2, 3, 2)
    m9 = 1753.0 / 486.0 - 3.4375
    s9 = (m9 + 95.0 / 972.0) * 2.0 / 3.0 - 95.0 / 972.0
    near(m.macd, [0.5, 0.5, 1.0 / 6.0, -1.0 / 9.0, -31.0 / 108.0, -35.0 / 648.0, m9])
    near(m.signal, [0.5, 0.5, 5.0 / 18.0, 1.0 / 54.0, -5.0 / 27.0, -95.0 / 972.0, s9])
    near(m.histogram, [a - b for a, b in zip(m.macd, m.signal)])


def test_atr_and_bands_by_hand():
    h = [10.0, 11.0, 12.0, 11.0, 13.0, 12.0, 10.0]
    lo = [8.0, 9.0, 10.0, 9.0, 10.0, 11.0, 9.0]
    c = [9.0, 10.0, 11.0, 9.5, 12.0, 11.5, 9.0]
    near(ind.atr(h, lo, c, 3), [2.0, 2.5, 2.0, 13.0 / 6.0])
    near(ind.atr(h, lo, c, 1), [2.0, 2.0, 2.0, 3.5, 1.0, 2.5])
    b = ind.bollinger_series([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], 8, 1.5)
    assert (b.upper, b.middle, b.lower) == ([8.0], [5.0], [2.0])


def test_warm_up_and_degenerate_periods():
    assert ind.sma(C, 11) == [] and ind.ema(C, 0) == [] and ind.rsi(C, 10) == []
    assert len(ind.rsi(C, 9)) == 1
    assert len(ind.macd_series(C, 2, 3, 2).macd) == 10 - 3
    assert ind.macd_series(C, 3, 3, 2).macd == []
    assert ind.ema(C, 1) == C
    assert ind.stddev(C, 1) == [0.0] * 10
    assert ind.rsi([5.0] * 6, 2) == [0.0] * 4


def test_the_mock_reads_the_hosts_window_and_refuses_bad_specs():
    host = MockHost()
    closes = [100 + (i % 7) - (i % 3) for i in range(400)]
    host.set_bars("AAA", "1m", closes_to_bars(closes))
    # RSI(14) over count + 14 + 140 bars, as the host reads them: not the whole history.
    window = closes[-(2 + 14 + 140) :]
    assert host.indicator("AAA", "1m", rsi(14), 2) == ind.rsi(window, 14)[-2:]
    assert host.indicator("AAA", "1m", sma(5), 3) == ind.sma(closes, 5)[-3:]
    m = host.indicator("AAA", "1m", macd(), 1)
    assert len(m.macd) == len(m.signal) == len(m.histogram) == 1
    with pytest.raises(Exception, match="invalid indicator"):
        host.indicator("AAA", "1m", macd(26, 12, 9), 1)
    with pytest.raises(Exception, match="not granted"):
        host.indicator("BBB", "1m", rsi(14), 1)
