//! When a bot runs: fixed intervals aligned to the epoch, or cron expressions in a time zone.

use chrono::{DateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use flotilla_domain::Timestamp;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The longest accepted `every` interval: a leap year.
pub const MAX_INTERVAL: Duration = Duration::from_secs(366 * 86_400);

/// Fallback for [`Schedule::interval_hint`] when a cron expression fires fewer than twice.
const DEGENERATE_HINT: Duration = Duration::from_secs(86_400);

/// How many consecutive cron fires [`Schedule::interval_hint`] inspects.
const HINT_SAMPLES: usize = 64;

/// When a bot is called.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// At every multiple of this interval since the Unix epoch (so `5m` runs at :00, :05, …).
    Every(Duration),
    /// At every fire of a cron expression, evaluated as wall-clock time in `tz`.
    Cron {
        /// The parsed expression (boxed: it is much larger than an interval).
        schedule: Box<cron::Schedule>,
        /// The zone the expression's fields are read in.
        tz: Tz,
    },
}

/// Why an interval, cron expression or time zone was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The interval text is not a duration such as `10s`, `1m`, `1h 30m`.
    #[error("invalid interval {text:?}: {reason} (write e.g. 100ms, 10s, 1m, 5m, 1h, 1d)")]
    InvalidInterval {
        /// The text as written.
        text: String,
        /// What the duration parser said.
        reason: String,
    },
    /// The interval is zero.
    #[error("interval {0:?} is zero")]
    ZeroInterval(String),
    /// The interval is not a whole number of milliseconds (timestamps are milliseconds).
    #[error("interval {0:?} is not a whole number of milliseconds")]
    SubMillisecond(String),
    /// The interval exceeds [`MAX_INTERVAL`].
    #[error("interval {0:?} is longer than 366 days")]
    TooLong(String),
    /// The cron expression does not parse.
    #[error("invalid cron expression {expr:?}: {reason}")]
    InvalidCron {
        /// The expression as written.
        expr: String,
        /// What the cron parser said.
        reason: String,
    },
    /// A 5-field (crontab-style) expression uses day-of-week numbers, which mean a different
    /// day here (1 = Sunday) than in crontab (1 = Monday).
    #[error(
        "cron expression {0:?} numbers its day-of-week field; crontab counts 0 = Sunday but \
         this scheduler counts 1 = Sunday, so write names such as MON-FRI"
    )]
    NumericWeekday(String),
    /// The time zone is not an IANA name known to chrono-tz.
    #[error("unknown time zone {0:?} (use an IANA name such as America/New_York or UTC)")]
    UnknownTimezone(String),
}

/// Parses an `every` interval: humantime syntax (`100ms`, `10s`, `1m`, `5m`, `1h`, `1d`,
/// `1h 30m`), non-zero, a whole number of milliseconds, at most [`MAX_INTERVAL`].
pub fn parse_interval(text: &str) -> Result<Duration, ScheduleError> {
    let d = humantime::parse_duration(text.trim()).map_err(|e| ScheduleError::InvalidInterval {
        text: text.to_string(),
        reason: e.to_string(),
    })?;
    if d.is_zero() {
        return Err(ScheduleError::ZeroInterval(text.to_string()));
    }
    if d.subsec_nanos() % 1_000_000 != 0 {
        return Err(ScheduleError::SubMillisecond(text.to_string()));
    }
    if d > MAX_INTERVAL {
        return Err(ScheduleError::TooLong(text.to_string()));
    }
    Ok(d)
}

/// Parses a cron expression in the cron crate's syntax (6 fields with seconds, optional 7th
/// for years, or `@hourly`-style shorthands); a 5-field crontab line gets `0` seconds.
pub fn parse_cron(expr: &str) -> Result<cron::Schedule, ScheduleError> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let invalid = |reason: String| ScheduleError::InvalidCron {
        expr: expr.to_string(),
        reason,
    };
    let shorthand = fields.len() == 1 && fields[0].starts_with('@');
    if !shorthand && !(5..=7).contains(&fields.len()) {
        return Err(invalid(format!(
            "expected 5, 6 or 7 fields, found {}",
            fields.len()
        )));
    }
    let full = if fields.len() == 5 {
        // Crontab numbers weekdays from 0 = Sunday, the cron crate from 1 = Sunday: refuse
        // rather than silently run on the wrong days.
        let numbered = fields[4]
            .split(',')
            .map(|part| part.split('/').next().unwrap_or(part)) // `/2` is a step, not a day
            .any(|days| days.chars().any(|c| c.is_ascii_digit()));
        if numbered {
            return Err(ScheduleError::NumericWeekday(expr.to_string()));
        }
        format!("0 {}", fields.join(" "))
    } else {
        fields.join(" ")
    };
    cron::Schedule::from_str(&full).map_err(|e| {
        // The parser's message may echo the expression with a caret line; keep the
        // explanation so problems stay one per line.
        let msg = e.to_string();
        let explains = |l: &&str| l.trim() != full && l.chars().any(char::is_alphanumeric);
        if let Some(reason) = msg.lines().rfind(explains) {
            return invalid(reason.trim().to_string());
        }
        match msg
            .lines()
            .find_map(|l| (l.trim() == "^").then(|| l.find('^')).flatten())
        {
            Some(col) if col < full.len() => {
                invalid(format!("cannot parse from {:?}", &full[col..]))
            }
            _ => invalid("unexpected end of expression".into()),
        }
    })
}

/// Parses an IANA time zone name such as `America/New_York` or `UTC`.
pub fn parse_tz(name: &str) -> Result<Tz, ScheduleError> {
    Tz::from_str(name.trim()).map_err(|_| ScheduleError::UnknownTimezone(name.to_string()))
}

impl Schedule {
    /// An interval schedule from `every` text, see [`parse_interval`].
    pub fn every(text: &str) -> Result<Self, ScheduleError> {
        parse_interval(text).map(Schedule::Every)
    }

    /// A cron schedule from an expression (see [`parse_cron`]) evaluated in `tz`.
    pub fn cron(expr: &str, tz: Tz) -> Result<Self, ScheduleError> {
        Ok(Schedule::Cron {
            schedule: Box::new(parse_cron(expr)?),
            tz,
        })
    }

    /// The first run strictly after `t`, or `None` if there is none (a cron expression that
    /// never fires again, or a time beyond the representable range).
    ///
    /// Intervals land on multiples of the interval since the epoch. Cron fires are computed
    /// in local time of `tz`: a fire inside a spring-forward gap is skipped, and one inside a
    /// fall-back overlap happens at both instants (as the cron crate's iterator does).
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        match self {
            Schedule::Every(d) => {
                // Whole milliseconds without `as_millis`' u128 arithmetic (a replay asks
                // for every tick).
                let millis = d.as_secs().checked_mul(1_000)? + u64::from(d.subsec_millis());
                let step = i64::try_from(millis).ok().filter(|s| *s > 0)?;
                t.0.div_euclid(step)
                    .checked_add(1)?
                    .checked_mul(step)
                    .map(Timestamp)
            }
            Schedule::Cron { schedule, tz } => cron_next_after(schedule, *tz, t),
        }
    }

    /// The typical time between runs: the interval itself, or for cron the shortest gap
    /// between consecutive fires in a sample from 2001-01-01 (one day if it fires less often
    /// than twice there). For sizing timeouts and bar history, not for scheduling.
    pub fn interval_hint(&self) -> Duration {
        match self {
            Schedule::Every(d) => *d,
            Schedule::Cron { .. } => {
                let mut t = Timestamp(978_307_200_000); // 2001-01-01T00:00:00Z
                let mut best: Option<i64> = None;
                let mut prev: Option<i64> = None;
                for _ in 0..HINT_SAMPLES {
                    let Some(next) = self.next_after(t) else {
                        break;
                    };
                    if let Some(p) = prev {
                        best = Some(best.map_or(next.0 - p, |b| b.min(next.0 - p)));
                    }
                    prev = Some(next.0);
                    t = next;
                }
                best.and_then(|ms| u64::try_from(ms).ok())
                    .map_or(DEGENERATE_HINT, Duration::from_millis)
            }
        }
    }
}

/// The first fire of `schedule` in `tz` strictly after `t`.
fn cron_next_after(schedule: &cron::Schedule, tz: Tz, t: Timestamp) -> Option<Timestamp> {
    // Cron has one-second resolution: search from the containing second; every candidate is
    // then at least a second later, hence strictly after `t`.
    let from = DateTime::<Utc>::from_timestamp(t.0.div_euclid(1000), 0)?;
    let wall = schedule
        .after(&from.with_timezone(&tz))
        .map(|dt| dt.timestamp_millis())
        // In a fall-back overlap the iterator yields the earlier instant of an ambiguous wall
        // time first, which precedes `t` when `t` is in the repeated hour.
        .find(|ms| *ms > t.0);
    // The cron crate searches forward in wall time, so from inside the first pass of a
    // fall-back overlap it misses the repeat of wall times already passed. Those fires are
    // exactly the post-transition-offset matches at or after the transition.
    let offset_at = |dt: &DateTime<Utc>| tz.offset_from_utc_datetime(&dt.naive_utc()).fix();
    let before = offset_at(&from);
    let after = offset_at(&(from + chrono::Duration::hours(3)));
    if after.local_minus_utc() >= before.local_minus_utc() {
        return wall.map(Timestamp);
    }
    let repeat = schedule
        .after(&from.with_timezone(&after))
        .map(|dt| dt.with_timezone(&Utc))
        .take_while(|dt| wall.is_none_or(|w| dt.timestamp_millis() < w))
        .find(|dt| offset_at(dt) == after)
        .map(|dt| dt.timestamp_millis());
    repeat.or(wall).map(Timestamp)
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Every(d) => write!(f, "every {}", humantime::format_duration(*d)),
            Schedule::Cron { schedule, tz } => {
                write!(f, "cron {:?} in {}", schedule.source(), tz.name())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Timestamp {
        Timestamp(
            Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
                .unwrap()
                .timestamp_millis(),
        )
    }

    fn ny() -> Tz {
        parse_tz("America/New_York").unwrap()
    }

    #[test]
    fn intervals_parse_in_humantime_syntax() {
        let ok = [
            ("100ms", 100),
            ("10s", 10_000),
            ("1m", 60_000),
            ("5m", 300_000),
            ("1h", 3_600_000),
            ("1d", 86_400_000),
            ("1h 30m", 5_400_000),
        ];
        for (text, ms) in ok {
            assert_eq!(
                parse_interval(text),
                Ok(Duration::from_millis(ms)),
                "{text}"
            );
        }
        assert!(matches!(
            parse_interval("10x"),
            Err(ScheduleError::InvalidInterval { .. })
        ));
        assert!(matches!(
            parse_interval(""),
            Err(ScheduleError::InvalidInterval { .. })
        ));
        assert_eq!(
            parse_interval("0s"),
            Err(ScheduleError::ZeroInterval("0s".into()))
        );
        assert_eq!(
            parse_interval("1500us"),
            Err(ScheduleError::SubMillisecond("1500us".into()))
        );
        assert_eq!(
            parse_interval("400d"),
            Err(ScheduleError::TooLong("400d".into()))
        );
    }

    #[test]
    fn every_aligns_to_multiples_since_epoch() {
        let five = Schedule::every("5m").unwrap();
        // 14:32:10 -> 14:35:00, and a time exactly on a boundary moves to the next one.
        assert_eq!(
            five.next_after(utc(2026, 1, 5, 14, 32, 10)),
            Some(utc(2026, 1, 5, 14, 35, 0))
        );
        assert_eq!(
            five.next_after(utc(2026, 1, 5, 14, 35, 0)),
            Some(utc(2026, 1, 5, 14, 40, 0))
        );
        let hour = Schedule::every("1h").unwrap();
        assert_eq!(
            hour.next_after(utc(2026, 1, 5, 23, 59, 59)),
            Some(utc(2026, 1, 6, 0, 0, 0))
        );
        let fast = Schedule::every("100ms").unwrap();
        assert_eq!(fast.next_after(Timestamp(1_234)), Some(Timestamp(1_300)));
        assert_eq!(fast.next_after(Timestamp(-50)), Some(Timestamp(0)));
        assert_eq!(fast.next_after(Timestamp(i64::MAX - 1)), None);
        assert_eq!(five.interval_hint(), Duration::from_secs(300));
    }

    #[test]
    fn five_field_cron_gets_a_seconds_field() {
        let five = parse_cron("*/15 10-15 * * MON-FRI").unwrap();
        assert_eq!(five, parse_cron("0 */15 10-15 * * MON-FRI").unwrap());
        assert!(
            parse_cron("0 0 9 * * Mon 2030").is_ok(),
            "7 fields with years"
        );
        assert!(parse_cron("@hourly").is_ok());
        assert!(matches!(
            parse_cron("*/15 9-16 * * 1-5"),
            Err(ScheduleError::NumericWeekday(_))
        ));
        let numbered = parse_cron("0 9 * * MON,3");
        assert!(matches!(numbered, Err(ScheduleError::NumericWeekday(_))));
        assert!(
            parse_cron("0 9 * * */2").is_ok(),
            "a step is not a weekday number"
        );
        assert!(matches!(
            parse_cron("0 61 * * * *"),
            Err(ScheduleError::InvalidCron { .. })
        ));
        for bad in [
            "every day",
            "0 0 25 * * *",
            "* * *",
            "0 0 9 * * FUNDAY",
            "0 0 9 * * 1-",
        ] {
            let Err(ScheduleError::InvalidCron { reason, .. }) = parse_cron(bad) else {
                panic!("{bad}")
            };
            assert!(
                !reason.contains('\n') && !reason.is_empty(),
                "{bad}: {reason}"
            );
        }
    }

    #[test]
    fn cron_in_new_york_follows_the_spring_dst_change() {
        // 2026-03-08: clocks go from 02:00 EST to 03:00 EDT; 09:30 moves from 14:30Z to 13:30Z.
        let open = Schedule::cron("30 9 * * MON-FRI", ny()).unwrap();
        let thu = utc(2026, 3, 5, 14, 30, 0); // Thu 09:30 EST
        let fri = open.next_after(thu).unwrap();
        assert_eq!(fri, utc(2026, 3, 6, 14, 30, 0));
        assert_eq!(
            open.next_after(fri),
            Some(utc(2026, 3, 9, 13, 30, 0)),
            "Mon 09:30 EDT"
        );
        // Hourly across the gap: 01:00 EST, then 03:00 EDT (02:00 does not exist).
        let hourly = Schedule::cron("0 0 * * * *", ny()).unwrap();
        let t = utc(2026, 3, 8, 6, 0, 0); // 01:00 EST
        assert_eq!(
            hourly.next_after(t),
            Some(utc(2026, 3, 8, 7, 0, 0)),
            "03:00 EDT"
        );
        assert_eq!(open.interval_hint(), Duration::from_secs(86_400));
        assert_eq!(hourly.interval_hint(), Duration::from_secs(3_600));
    }

    #[test]
    fn cron_in_new_york_fires_strictly_after_t_through_the_fall_overlap() {
        // 2026-11-01: 01:00-02:00 happens twice, first EDT (05:00Z) then EST (06:00Z).
        let s = Schedule::cron("0 30 * * * *", ny()).unwrap();
        let mut t = utc(2026, 11, 1, 4, 0, 0); // 00:00 EDT
        let mut fires = Vec::new();
        for _ in 0..4 {
            t = s.next_after(t).unwrap();
            fires.push(t);
        }
        let expected = [(4, 30), (5, 30), (6, 30), (7, 30)].map(|(h, m)| utc(2026, 11, 1, h, m, 0));
        assert_eq!(
            fires, expected,
            "00:30 EDT, 01:30 EDT, 01:30 EST, 02:30 EST"
        );
        // Every ten minutes: from 01:05 EDT the next is 01:10 EDT; from 01:55 EDT it is the
        // repeated 01:00 (EST), not 02:00 EST.
        let ten = Schedule::cron("0 */10 * * * *", ny()).unwrap();
        assert_eq!(
            ten.next_after(utc(2026, 11, 1, 5, 5, 0)),
            Some(utc(2026, 11, 1, 5, 10, 0))
        );
        assert_eq!(
            ten.next_after(utc(2026, 11, 1, 5, 55, 0)),
            Some(utc(2026, 11, 1, 6, 0, 0))
        );
        assert_eq!(
            ten.next_after(utc(2026, 11, 1, 6, 55, 0)),
            Some(utc(2026, 11, 1, 7, 0, 0))
        );
        // From inside the second 01:xx, the earlier 01:30 (EDT) is in the past: skip it.
        assert_eq!(
            s.next_after(utc(2026, 11, 1, 6, 10, 0)),
            Some(utc(2026, 11, 1, 6, 30, 0))
        );
        // Sub-second times still move strictly forward.
        let at = utc(2026, 11, 1, 7, 30, 0);
        assert_eq!(
            s.next_after(at.plus_millis(500)),
            Some(utc(2026, 11, 1, 8, 30, 0))
        );
    }

    #[test]
    fn cron_defaults_to_utc_and_displays() {
        let s = Schedule::cron("0 0 12 * * *", Tz::UTC).unwrap();
        assert_eq!(
            s.next_after(utc(2026, 1, 5, 12, 0, 0)),
            Some(utc(2026, 1, 6, 12, 0, 0))
        );
        assert_eq!(s.to_string(), "cron \"0 0 12 * * *\" in UTC");
        assert_eq!(Schedule::every("90s").unwrap().to_string(), "every 1m 30s");
        assert!(parse_tz("Mars/Olympus").is_err());
    }
}
