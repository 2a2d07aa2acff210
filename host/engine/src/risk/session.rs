//! Session boundaries (daily reset at a local time in a time zone) and equity watching.

use super::config::SessionReset;
use chrono::{DateTime, Duration, FixedOffset, LocalResult, NaiveTime, TimeZone, Utc};
use flotilla_domain::{Money, Timestamp};
use serde::{Deserialize, Serialize};

/// An invalid risk configuration.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RiskConfigError {
    /// `session_reset.time` is not `HH:MM`.
    #[error("bad session reset time `{0}` (expected HH:MM)")]
    BadTime(String),
    /// `session_reset.tz` is neither an IANA zone nor a `±HH:MM` offset.
    #[error("bad time zone `{0}` (expected an IANA name like America/New_York or ±HH:MM)")]
    BadTz(String),
    /// A fraction or count is out of range.
    #[error("bad value for `{field}`: {why}")]
    BadValue {
        /// The config key.
        field: &'static str,
        /// What is wrong.
        why: String,
    },
    /// A setting that shapes the open portfolio changed on a running engine.
    #[error("`{0}` cannot change while the fleet runs; it applies at the next start")]
    NeedsRestart(&'static str),
}

#[derive(Clone, Copy, Debug)]
enum Zone {
    Fixed(FixedOffset),
    Named(chrono_tz::Tz),
}

/// Computes the start of the session that contains a timestamp.
#[derive(Clone, Copy, Debug)]
pub struct SessionClock {
    time: NaiveTime,
    zone: Zone,
}

impl SessionClock {
    /// Parses the configured reset time and zone.
    pub fn new(cfg: &SessionReset) -> Result<Self, RiskConfigError> {
        let time = NaiveTime::parse_from_str(cfg.time.trim(), "%H:%M")
            .map_err(|_| RiskConfigError::BadTime(cfg.time.clone()))?;
        let tz = cfg.tz.trim();
        let zone = if tz.eq_ignore_ascii_case("utc") || tz == "Z" {
            Zone::Fixed(FixedOffset::east_opt(0).expect("zero offset"))
        } else if let Ok(named) = tz.parse::<chrono_tz::Tz>() {
            Zone::Named(named)
        } else {
            Zone::Fixed(parse_offset(tz).ok_or_else(|| RiskConfigError::BadTz(cfg.tz.clone()))?)
        };
        Ok(Self { time, zone })
    }

    /// The latest reset instant at or before `t`.
    pub fn session_start(&self, t: Timestamp) -> Timestamp {
        match self.zone {
            Zone::Fixed(z) => start_in(&z, self.time, t),
            Zone::Named(z) => start_in(&z, self.time, t),
        }
    }

    /// The first reset instant strictly after `t`.
    pub fn next_reset(&self, t: Timestamp) -> Timestamp {
        // A session is at most ~25 h (DST); step past the current start and look again.
        let start = self.session_start(t);
        let mut probe = start.plus_millis(20 * 3_600_000);
        loop {
            let s = self.session_start(probe);
            if s > start {
                return s;
            }
            probe = probe.plus_millis(3_600_000);
        }
    }
}

fn parse_offset(s: &str) -> Option<FixedOffset> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let secs = h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60;
    FixedOffset::east_opt(sign * secs)
}

fn start_in<Z: TimeZone>(zone: &Z, time: NaiveTime, t: Timestamp) -> Timestamp {
    let utc = DateTime::<Utc>::from_timestamp_millis(t.0).unwrap_or_default();
    let local = utc.with_timezone(zone);
    let mut date = local.date_naive();
    loop {
        let at = resolve(zone, date.and_time(time));
        if at.0 <= t.0 {
            return at;
        }
        date -= Duration::days(1);
    }
}

/// A local time to an instant; in a DST gap the first valid instant after it.
fn resolve<Z: TimeZone>(zone: &Z, mut naive: chrono::NaiveDateTime) -> Timestamp {
    for _ in 0..4 {
        match zone.from_local_datetime(&naive) {
            LocalResult::Single(d) | LocalResult::Ambiguous(d, _) => {
                return Timestamp(d.timestamp_millis());
            }
            LocalResult::None => naive += Duration::minutes(30),
        }
    }
    Timestamp(naive.and_utc().timestamp_millis())
}

/// Start-of-session equity and the running peak, for the daily-loss and drawdown gates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EquityWatch {
    /// Start of the current session, once equity was first marked.
    pub session: Option<Timestamp>,
    /// Equity at the first mark of the session.
    pub session_start_equity: Money,
    /// Highest equity seen (re-based when an operator resumes after a drawdown halt).
    pub peak: Money,
    /// Latest equity.
    pub last: Money,
    /// When the current session ends (computed once per session: zone maths per mark is
    /// a measurable share of a backtest step).
    #[serde(default)]
    pub session_end: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> Timestamp {
        Timestamp(DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis())
    }

    #[test]
    fn utc_midnight_and_fixed_offsets() {
        let c = SessionClock::new(&SessionReset::default()).unwrap();
        assert_eq!(
            c.session_start(ms("2026-02-09T13:00:00Z")),
            ms("2026-02-09T00:00:00Z")
        );
        assert_eq!(
            c.next_reset(ms("2026-02-09T13:00:00Z")),
            ms("2026-02-10T00:00:00Z")
        );
        let c = SessionClock::new(&SessionReset {
            time: "17:00".into(),
            tz: "-05:00".into(),
        })
        .unwrap();
        assert_eq!(
            c.session_start(ms("2026-02-09T21:59:00Z")),
            ms("2026-02-08T22:00:00Z")
        );
        assert_eq!(
            c.session_start(ms("2026-02-09T22:00:00Z")),
            ms("2026-02-09T22:00:00Z")
        );
    }

    #[test]
    fn named_zone_follows_dst() {
        let c = SessionClock::new(&SessionReset {
            time: "17:00".into(),
            tz: "America/New_York".into(),
        })
        .unwrap();
        // Winter: 17:00 EST = 22:00 UTC; summer: 17:00 EDT = 21:00 UTC.
        assert_eq!(
            c.session_start(ms("2026-01-15T23:00:00Z")),
            ms("2026-01-15T22:00:00Z")
        );
        assert_eq!(
            c.session_start(ms("2026-07-15T21:30:00Z")),
            ms("2026-07-15T21:00:00Z")
        );
        assert!(
            SessionClock::new(&SessionReset {
                time: "25:00".into(),
                tz: "UTC".into()
            })
            .is_err()
        );
        assert!(
            SessionClock::new(&SessionReset {
                time: "00:00".into(),
                tz: "Mars/Base".into()
            })
            .is_err()
        );
    }
}
