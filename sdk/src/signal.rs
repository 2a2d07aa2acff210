//! Directional signals and per-symbol memory of the last one acted on, shared by strategies.

use crate::state::{Reader, Writer};

/// The position direction a strategy wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Hold a long position.
    Long,
    /// Hold nothing.
    Flat,
    /// Hold a short position.
    Short,
}

impl Signal {
    /// +1, 0 or -1: multiply an unsigned size to get a target.
    pub const fn sign(self) -> f64 {
        match self {
            Signal::Long => 1.0,
            Signal::Flat => 0.0,
            Signal::Short => -1.0,
        }
    }

    /// A protective stop `pct` away from `price` against the position; `None` when flat or pct <= 0.
    pub fn stop_at(self, price: f64, pct: f64) -> Option<f64> {
        (pct > 0.0 && self != Signal::Flat).then(|| price * (1.0 - self.sign() * pct))
    }

    /// A profit target `pct` away from `price` in the position's favour; `None` when flat or pct <= 0.
    pub fn take_at(self, price: f64, pct: f64) -> Option<f64> {
        (pct > 0.0 && self != Signal::Flat).then(|| price * (1.0 + self.sign() * pct))
    }

    /// Short lowercase name for tags and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Signal::Long => "long",
            Signal::Flat => "flat",
            Signal::Short => "short",
        }
    }

    fn code(self) -> u8 {
        match self {
            Signal::Long => 1,
            Signal::Flat => 0,
            Signal::Short => 2,
        }
    }

    fn from_code(code: u8) -> Result<Self, String> {
        match code {
            0 => Ok(Signal::Flat),
            1 => Ok(Signal::Long),
            2 => Ok(Signal::Short),
            c => Err(format!("snapshot: bad signal code {c}")),
        }
    }
}

/// The last signal acted on, per symbol; a strategy emits an intent only when it changes.
///
/// Emitting on change (not every tick) means a position the host closed by stop-loss
/// stays closed until the strategy sees a fresh signal.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Signals {
    // Few symbols per bot: a Vec is smaller in wasm than a map and as fast.
    last: Vec<(String, Signal)>,
}

impl Signals {
    /// The last signal recorded for `symbol`.
    pub fn get(&self, symbol: &str) -> Option<Signal> {
        self.last.iter().find(|(s, _)| s == symbol).map(|(_, g)| *g)
    }

    /// Records `signal` for `symbol`; true when the bot should act on it: it differs from
    /// the last one, except a first-ever `Flat`, which needs no order.
    pub fn transition(&mut self, symbol: &str, signal: Signal) -> bool {
        match self.last.iter_mut().find(|(s, _)| s == symbol) {
            Some((_, prev)) => core::mem::replace(prev, signal) != signal,
            None => {
                self.last.push((symbol.to_owned(), signal));
                signal != Signal::Flat
            }
        }
    }

    /// Appends the signals to a snapshot.
    pub fn write(&self, w: &mut Writer) {
        w.u64(self.last.len() as u64);
        for (sym, sig) in &self.last {
            w.str(sym).u8(sig.code());
        }
    }

    /// Reads signals written by [`Signals::write`].
    pub fn read(r: &mut Reader<'_>) -> Result<Self, String> {
        let n = r.u64()?;
        let mut last = Vec::new();
        for _ in 0..n {
            let sym = r.str()?;
            last.push((sym, Signal::from_code(r.u8()?)?));
        }
        Ok(Signals { last })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_fire_on_change_only() {
        let mut s = Signals::default();
        assert!(!s.transition("A", Signal::Flat));
        assert!(s.transition("B", Signal::Long));
        assert!(!s.transition("B", Signal::Long));
        assert!(s.transition("A", Signal::Short));
        assert!(s.transition("B", Signal::Flat));
        assert_eq!(s.get("A"), Some(Signal::Short));
        assert_eq!(s.get("C"), None);
    }

    #[test]
    fn stops_and_targets_sit_on_the_right_side() {
        assert_eq!(Signal::Long.stop_at(100.0, 0.02), Some(98.0));
        assert_eq!(Signal::Short.stop_at(100.0, 0.02), Some(102.0));
        assert_eq!(Signal::Long.take_at(100.0, 0.5), Some(150.0));
        assert_eq!(Signal::Short.take_at(100.0, 0.5), Some(50.0));
        assert_eq!(Signal::Flat.stop_at(100.0, 0.02), None);
        assert_eq!(Signal::Long.take_at(100.0, 0.0), None);
    }

    #[test]
    fn snapshot_round_trip() {
        let mut s = Signals::default();
        s.transition("A", Signal::Long);
        s.transition("B", Signal::Short);
        let mut w = Writer::new(1);
        s.write(&mut w);
        let bytes = w.finish();
        let mut r = Reader::new(&bytes, 1).unwrap();
        assert_eq!(Signals::read(&mut r).unwrap(), s);
        r.finish().unwrap();
    }
}
