//! A rolling window of closes that a bot keeps between ticks.
//!
//! Copying bars across the component boundary dominates a tick's cost, so a bot that reads
//! the same lookback every tick should not fetch it every tick. [`Closes`] asks the host
//! for the newest bar and, when it is new, checks that it follows the newest one held (one
//! period later, or else the host's bar before it is that one): then it appends one close;
//! otherwise (first tick, a restart, several bars since the last tick) it fetches the whole
//! window again. The result is always the last `len` closes, as a full fetch would give.
//! Inside a run of ticks the newest bar comes with the tick (see [`Tick::bar_at`]), so a
//! quiet tick makes no call of its own.

use crate::tick::Tick;
use crate::types::{Timeframe, Timestamp};

/// A window after [`Closes::advance`]: the closes, and by how many it moved (`None`:
/// fetched anew).
pub type Moved<'a> = (&'a [f64], Option<usize>);

/// The last `len` closes of each symbol at one timeframe, kept up to date cheaply.
#[derive(Clone, Debug)]
pub struct Closes {
    timeframe: Timeframe,
    len: usize,
    // Few symbols per bot: a scan of a Vec finds one in a single pass, where a map took
    // a lookup and then a second one to update it.
    series: Vec<(String, Series)>,
}

#[derive(Clone, Debug, Default)]
struct Series {
    last: Option<Timestamp>,
    /// Up to `2 * len` closes, oldest first; the window is the last `len`. Appending to a
    /// `Vec` and shifting it back once every `len` bars keeps the window contiguous
    /// without the per-tick rotation a full `VecDeque` needs.
    closes: Vec<f64>,
}

impl Series {
    /// Appends one close, first moving the last `len - 1` to the front when full.
    fn push(&mut self, close: f64, len: usize) {
        if self.closes.len() >= 2 * len {
            self.closes.drain(..self.closes.len() - (len - 1));
        }
        self.closes.push(close);
    }

    /// The last `len` closes (fewer while warming up).
    fn window(&self, len: usize) -> &[f64] {
        &self.closes[self.closes.len().saturating_sub(len)..]
    }
}

impl Closes {
    /// A window of `len` closes (at least 1) at `timeframe`.
    pub fn new(timeframe: Timeframe, len: usize) -> Self {
        Self {
            timeframe,
            len: len.max(1),
            series: Vec::new(),
        }
    }

    /// The window's length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the window is empty (never: `len` is at least 1); here for clippy's sake.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Brings `symbol`'s window up to the last closed bar. Returns the closes, oldest
    /// first, once `len` of them exist (`None` while warming up).
    pub fn update(&mut self, ctx: &Tick<'_>, symbol: &str) -> Result<Option<&[f64]>, String> {
        Ok(self.advance(ctx, symbol)?.map(|(window, _)| window))
    }

    /// [`Closes::update`], also saying how the window moved since the last update: by
    /// `Some(n)` closes appended (0: no new bar, 1: one), or `None` when it was fetched
    /// anew. A bot that keeps running sums over the window ([`Rolling`]) feeds them the
    /// one new close, or starts them again.
    ///
    /// [`Rolling`]: crate::indicators::Rolling
    pub fn advance(&mut self, ctx: &Tick<'_>, symbol: &str) -> Result<Option<Moved<'_>>, String> {
        // Single bars, not a list: nothing is allocated across the boundary.
        let Some(newest) = ctx.bar_at(symbol, self.timeframe, 0)? else {
            return Ok(None);
        };
        // The key is allocated once per symbol, not once per tick.
        let i = match self.series.iter().position(|(k, _)| k == symbol) {
            Some(i) => i,
            None => {
                self.series.push((symbol.to_owned(), Series::default()));
                self.series.len() - 1
            }
        };
        let s = &mut self.series[i].1;
        let step = self.timeframe.millis();
        // The host's bars of a timeframe start on multiples of it, so a newest bar one
        // period after the last one held has nothing between them: no second call needed.
        let follows = |s: &Series| -> Result<bool, String> {
            Ok(match s.last {
                Some(last) if newest.time == last + step => true,
                Some(last) => ctx.bar_at(symbol, self.timeframe, 1)?.map(|b| b.time) == Some(last),
                None => false,
            })
        };
        let moved = match () {
            _ if s.last == Some(newest.time) => Some(0),
            _ if follows(s)? => {
                s.push(newest.close, self.len);
                s.last = Some(newest.time);
                Some(1)
            }
            _ => {
                let bars = ctx.bars(symbol, self.timeframe, self.len as u32)?;
                s.closes.clear();
                s.closes.reserve(2 * self.len);
                s.closes.extend(bars.iter().map(|b| b.close));
                s.last = bars.last().map(|b| b.time);
                None
            }
        };
        let window = s.window(self.len);
        Ok((window.len() == self.len).then_some((window, moved)))
    }

    /// Forgets every symbol (the next update fetches whole windows).
    pub fn clear(&mut self) {
        self.series.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{reset, set_closes};

    fn tick() -> Tick<'static> {
        Tick::new(0, 1, 0.0, &[])
    }

    #[test]
    fn appends_one_bar_and_resyncs_after_a_jump() {
        reset();
        let up: Vec<f64> = (0..40).map(f64::from).collect();
        set_closes("AAA", Timeframe::M1, &up[..3]);
        let mut w = Closes::new(Timeframe::M1, 5);
        assert_eq!(w.update(&tick(), "AAA").unwrap(), None, "warming up");
        set_closes("AAA", Timeframe::M1, &up[..20]);
        assert_eq!(
            w.update(&tick(), "AAA").unwrap().unwrap(),
            &[15.0, 16.0, 17.0, 18.0, 19.0]
        );
        set_closes("AAA", Timeframe::M1, &up[..21]);
        assert_eq!(
            w.update(&tick(), "AAA").unwrap().unwrap(),
            &[16.0, 17.0, 18.0, 19.0, 20.0]
        );
        // Unchanged market: same window, nothing appended.
        assert_eq!(w.update(&tick(), "AAA").unwrap().unwrap()[4], 20.0);
        assert_eq!(w.advance(&tick(), "AAA").unwrap().unwrap().1, Some(0));
        // Three bars at once: a full fetch.
        set_closes("AAA", Timeframe::M1, &up[..24]);
        assert_eq!(
            w.advance(&tick(), "AAA").unwrap().unwrap(),
            (&[19.0, 20.0, 21.0, 22.0, 23.0][..], None)
        );
        assert!(
            w.update(&tick(), "ZZZ").is_err(),
            "the host's refusal passes through"
        );
        // One bar at a time, past several shifts of the buffer.
        for n in 25..=40 {
            set_closes("AAA", Timeframe::M1, &up[..n]);
            let moved = w.advance(&tick(), "AAA").unwrap().unwrap();
            assert_eq!(moved, (&up[n - 5..n], Some(1)));
        }
    }

    /// Bars at the given minutes, each closing at its minute number.
    fn minutes(at: &[i64]) -> Vec<crate::types::Bar> {
        at.iter()
            .map(|&m| {
                let c = m as f64;
                crate::types::Bar {
                    time: m * Timeframe::M1.millis(),
                    open: c,
                    high: c,
                    low: c,
                    close: c,
                    volume: 1.0,
                }
            })
            .collect()
    }

    #[test]
    fn follows_bars_across_calendar_gaps() {
        use crate::testing::set_bars;
        reset();
        let mut w = Closes::new(Timeframe::M1, 3);
        set_bars("AAA", Timeframe::M1, minutes(&[1, 2, 3]));
        assert_eq!(w.update(&tick(), "AAA").unwrap().unwrap(), &[1.0, 2.0, 3.0]);
        // A closed session: the next bar is many periods later but directly follows.
        set_bars("AAA", Timeframe::M1, minutes(&[1, 2, 3, 90]));
        assert_eq!(
            w.update(&tick(), "AAA").unwrap().unwrap(),
            &[2.0, 3.0, 90.0]
        );
        // One period later: appended.
        set_bars("AAA", Timeframe::M1, minutes(&[1, 2, 3, 90, 91]));
        assert_eq!(
            w.update(&tick(), "AAA").unwrap().unwrap(),
            &[3.0, 90.0, 91.0]
        );
        // Two bars arrived across a gap: the one before the newest is not held, refetch.
        set_bars("AAA", Timeframe::M1, minutes(&[1, 2, 3, 90, 91, 95, 96]));
        assert_eq!(
            w.update(&tick(), "AAA").unwrap().unwrap(),
            &[91.0, 95.0, 96.0]
        );
    }
}
