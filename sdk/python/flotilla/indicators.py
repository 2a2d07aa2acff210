"""Indicator series over price lists (oldest first) with TA-Lib's definitions, aligned
like TA-Lib's output: `out[i]` belongs to `values[lookback + i]`.

The same definitions as the host's native indicators (host/indicators) and the Rust SDK
(sdk/src/indicators/series.rs): population standard deviation; EMA seeded with the SMA of
its first `period` values; Wilder's smoothing for RSI and ATR; RSI 0 when nothing moved;
ROC in percent, 0 when the old value is 0. The native mock host answers `indicator` with
these; bots holding their own data may use them too.
"""

from __future__ import annotations

import math
from typing import List, Sequence

from ._types import Bands, Bar, Macd, Spec


def sma(values: Sequence[float], period: int) -> List[float]:
    """Simple moving averages, by a running sum."""
    if period <= 0 or len(values) < period:
        return []
    total = sum(values[: period - 1])
    out = []
    for i in range(period - 1, len(values)):
        total += values[i]
        out.append(total / period)
        total -= values[i + 1 - period]
    return out


def ema(values: Sequence[float], period: int) -> List[float]:
    """Exponential moving averages (alpha = 2 / (period + 1)), SMA-seeded."""
    if period <= 0 or len(values) < period:
        return []
    alpha = 2.0 / (period + 1.0)
    acc = sum(values[:period]) / period
    out = [acc]
    for v in values[period:]:
        acc += alpha * (v - acc)
        out.append(acc)
    return out


def wma(values: Sequence[float], period: int) -> List[float]:
    """Linearly weighted moving averages (weights 1 oldest to `period` newest)."""
    if period <= 0:
        return []
    denom = period * (period + 1) / 2.0
    return [
        sum((w + 1) * v for w, v in enumerate(values[i : i + period])) / denom
        for i in range(len(values) - period + 1)
    ]


def stddev(values: Sequence[float], period: int) -> List[float]:
    """Rolling population standard deviations, two passes per window."""
    if period <= 0:
        return []
    out = []
    for i in range(len(values) - period + 1):
        window = values[i : i + period]
        mean = sum(window) / period
        out.append(math.sqrt(sum((v - mean) ** 2 for v in window) / period))
    return out


def roc(values: Sequence[float], period: int) -> List[float]:
    """Rates of change in percent over `period` values; 0 where the old value is 0."""
    if period <= 0:
        return []
    return [
        0.0 if values[i - period] == 0 else (values[i] / values[i - period] - 1.0) * 100.0
        for i in range(period, len(values))
    ]


def _wilder(xs: Sequence[float], n: int) -> List[float]:
    """Wilder's running average: the mean of the first `n` inputs, then
    (prev * (n - 1) + x) / n for each later one."""
    if len(xs) < n:
        return []
    avg = sum(xs[:n]) / n
    out = [avg]
    for x in xs[n:]:
        avg = (avg * (n - 1) + x) / n
        out.append(avg)
    return out


def _relative_strength(gain: float, loss: float) -> float:
    return 0.0 if gain + loss == 0.0 else 100.0 * (gain / (gain + loss))


def rsi(values: Sequence[float], period: int) -> List[float]:
    """Wilder RSI values in [0, 100]; 0 where nothing moved (TA-Lib)."""
    if period <= 0 or len(values) <= period:
        return []
    changes = [b - a for a, b in zip(values, values[1:])]
    gains = _wilder([max(c, 0.0) for c in changes], period)
    losses = _wilder([max(-c, 0.0) for c in changes], period)
    return [_relative_strength(g, l) for g, l in zip(gains, losses)]


def atr(high: Sequence[float], low: Sequence[float], close: Sequence[float], period: int) -> List[float]:
    """Average true ranges with Wilder's smoothing over aligned bars."""
    n = min(len(high), len(low), len(close))
    if period <= 0 or n <= period:
        return []
    ranges = [
        max(high[i] - low[i], abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1])) for i in range(1, n)
    ]
    return _wilder(ranges, period)


def macd_series(values: Sequence[float], fast: int, slow: int, signal: int) -> Macd:
    """MACD as TA-Lib computes it: the fast EMA starts where the slow one does (value
    `slow - 1`), seeded with the mean of the `fast` values ending there; the signal line is
    an SMA-seeded EMA of the MACD line. Empty unless 0 < fast < slow and signal > 0."""
    if fast <= 0 or signal <= 0 or slow <= fast or len(values) < slow:
        return Macd([], [], [])
    slow_line = ema(values, slow)
    fast_line = ema(values[slow - fast :], fast)
    line = [f - s for f, s in zip(fast_line, slow_line)]
    signal_line = ema(line, signal)
    line = line[len(line) - len(signal_line) :]
    return Macd(line, signal_line, [m - s for m, s in zip(line, signal_line)])


def bollinger_series(values: Sequence[float], period: int, deviations: float) -> Bands:
    """Bollinger bands: SMA middle, `deviations` population standard deviations either side."""
    middle = sma(values, period)
    sd = stddev(values, period)
    return Bands([m + deviations * s for m, s in zip(middle, sd)], middle, [m - deviations * s for m, s in zip(middle, sd)])


def compute(spec: Spec, bars: Sequence[Bar], count: int):
    """The last `count` values of `spec` over `bars`: a list, or `Macd`/`Bands` of lists."""
    close = [b.close for b in bars]

    def last(v):
        return v[max(len(v) - count, 0) :]

    kind, args = spec.kind, [int(a) for a in spec.args[:3]] if spec.kind != "bollinger" else None
    if kind == "macd":
        m = macd_series(close, *args)
        return Macd(last(m.macd), last(m.signal), last(m.histogram))
    if kind == "bollinger":
        b = bollinger_series(close, int(spec.args[0]), float(spec.args[1]))
        return Bands(last(b.upper), last(b.middle), last(b.lower))
    if kind == "atr":
        return last(atr([b.high for b in bars], [b.low for b in bars], close, args[0]))
    line = {"sma": sma, "ema": ema, "wma": wma, "rsi": rsi, "stddev": stddev, "roc": roc}[kind]
    return last(line(close, args[0]))
