//! Merging several symbols' bars, each on its own calendar, into one stream in time order.

use crate::csv::{DataError, LoadedSeries};
use flotilla_domain::{Bar, Symbol, Timeframe, Timestamp};

/// One bar becoming known: at its close time, for its symbol and native timeframe.
#[derive(Clone, Debug, PartialEq)]
pub struct BarEvent {
    /// When the bar closes (its start plus its timeframe): the time the driver pushes it.
    pub close_time: Timestamp,
    /// The bar's symbol.
    pub symbol: Symbol,
    /// The bar's native timeframe.
    pub timeframe: Timeframe,
    /// The bar, stamped with its start.
    pub bar: Bar,
}

/// The merged stream: bars in order of close time, ties in order of symbol name.
#[derive(Clone, Debug)]
pub struct Merged<'a> {
    /// Each series with the index of its next bar, sorted by symbol so the first minimum
    /// found breaks ties by name.
    cursors: Vec<(&'a LoadedSeries, usize)>,
}

/// Merges `series` into one stream; see [`Merged`]. Refuses two series of one symbol, whose
/// bars the store would see out of order.
pub fn merge(series: &[LoadedSeries]) -> Result<Merged<'_>, DataError> {
    let mut cursors: Vec<(&LoadedSeries, usize)> = series.iter().map(|s| (s, 0)).collect();
    cursors.sort_by(|a, b| a.0.symbol.cmp(&b.0.symbol));
    if let Some(w) = cursors.windows(2).find(|w| w[0].0.symbol == w[1].0.symbol) {
        // Name the files in the order they were given.
        let (a, b) = (w[0].0, w[1].0);
        let pos = |s: &LoadedSeries| series.iter().position(|x| std::ptr::eq(x, s));
        let (first, second) = if pos(a) < pos(b) { (a, b) } else { (b, a) };
        return Err(DataError::DuplicateSymbol {
            symbol: a.symbol.clone(),
            first: first.path.clone(),
            second: second.path.clone(),
        });
    }
    Ok(Merged { cursors })
}

/// The span the series cover together: the earliest bar start to the latest bar close.
pub fn span(series: &[LoadedSeries]) -> Option<(Timestamp, Timestamp)> {
    series
        .iter()
        .filter_map(LoadedSeries::span)
        .reduce(|(a0, a1), (b0, b1)| (a0.min(b0), a1.max(b1)))
}

impl Iterator for Merged<'_> {
    type Item = BarEvent;

    fn next(&mut self) -> Option<BarEvent> {
        // A handful of symbols: a linear scan beats a heap and keeps ties trivially stable.
        let mut best: Option<(usize, Timestamp)> = None;
        for (i, (s, next)) in self.cursors.iter().enumerate() {
            if let Some(bar) = s.bars.get(*next) {
                let close = bar.time.plus_millis(s.timeframe.millis());
                if best.is_none_or(|(_, t)| close < t) {
                    best = Some((i, close));
                }
            }
        }
        let (i, close_time) = best?;
        let (s, next) = &mut self.cursors[i];
        let bar = s.bars[*next];
        *next += 1;
        Some(BarEvent {
            close_time,
            symbol: s.symbol.clone(),
            timeframe: s.timeframe,
            bar,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.cursors.iter().map(|(s, i)| s.bars.len() - i).sum();
        (n, Some(n))
    }
}

impl ExactSizeIterator for Merged<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    fn series(symbol: &str, tf: Timeframe, starts: &[i64]) -> LoadedSeries {
        LoadedSeries {
            path: format!("{symbol}.csv"),
            symbol: Symbol::new(symbol),
            timeframe: tf,
            bars: starts
                .iter()
                .map(|t| Bar {
                    time: Timestamp(*t),
                    open: 1.0,
                    high: 1.0,
                    low: 1.0,
                    close: 1.0,
                    volume: 0.0,
                })
                .collect(),
            skipped: vec![],
        }
    }

    #[test]
    fn merges_by_close_time_then_symbol() {
        // A daily series and an hourly one with a gap; ties at the day's close go by name.
        let all = [
            series("ZZZ", Timeframe::H1, &[0, 22 * H, 23 * H, 24 * H]),
            series("AAA", Timeframe::D1, &[0, 24 * H]),
        ];
        let got: Vec<(i64, String)> = merge(&all)
            .unwrap()
            .map(|e| (e.close_time.0 / H, e.symbol.to_string()))
            .collect();
        let want = [
            (1, "ZZZ"),
            (23, "ZZZ"),
            (24, "AAA"),
            (24, "ZZZ"),
            (25, "ZZZ"),
            (48, "AAA"),
        ];
        let want: Vec<(i64, String)> = want.iter().map(|(t, s)| (*t, s.to_string())).collect();
        assert_eq!(got, want);
        let m = merge(&all).unwrap();
        assert_eq!(m.len(), 6);
        let first = merge(&all).unwrap().nth(2).unwrap();
        assert_eq!(
            (first.timeframe, first.bar.time),
            (Timeframe::D1, Timestamp(0))
        );
        assert_eq!(span(&all), Some((Timestamp(0), Timestamp(48 * H))));
        assert_eq!(span(&[]), None);
    }

    #[test]
    fn refuses_a_symbol_twice() {
        let all = [
            series("AAA", Timeframe::D1, &[0]),
            series("BBB", Timeframe::D1, &[0]),
            LoadedSeries {
                path: "aaa_2.csv".into(),
                ..series("AAA", Timeframe::H1, &[0])
            },
        ];
        assert_eq!(
            merge(&all).unwrap_err().to_string(),
            "symbol AAA is in both AAA.csv and aaa_2.csv"
        );
    }
}
