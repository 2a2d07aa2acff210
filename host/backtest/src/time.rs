//! Reading and writing times: the date formats data files use, and the ISO form reports use.
//!
//! Every time is UTC. A plain date means 00:00 UTC of that date; a date-time without an
//! offset is read as UTC; one with `Z` or `±HH:MM` (or `±HHMM`, `±HH`) is converted to UTC.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use flotilla_domain::Timestamp;
use serde::Serializer;

/// A time read from a data file: the UTC instant and, for textual times, the calendar date
/// as written (before any offset is applied), which daily bars are stamped with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ParsedTime {
    /// The instant, UTC.
    pub utc: Timestamp,
    /// The date as written, for textual forms; `None` for epoch numbers.
    pub written_date: Option<NaiveDate>,
}

/// Reads one of the accepted forms: `2024-01-02` (or `2024/01/02`, `20240102`),
/// `2024-01-02 09:30[:00[.123]]` with a space or `T` and an optional `Z`/offset, epoch
/// seconds (10 digits) or epoch milliseconds (13 digits). `None` if it is none of them.
pub fn parse_time(text: &str) -> Option<ParsedTime> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return parse_digits(t);
    }
    let date = parse_date(t.get(..10)?)?;
    let rest = &t[10..];
    if rest.is_empty() {
        return Some(from_local(date.and_time(NaiveTime::MIN), 0, date));
    }
    let rest = rest.strip_prefix([' ', 'T', 't'])?;
    let (clock, offset) = split_offset(rest)?;
    let time = NaiveTime::parse_from_str(clock, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(clock, "%H:%M"))
        .ok()?;
    Some(from_local(date.and_time(time), offset, date))
}

fn parse_digits(t: &str) -> Option<ParsedTime> {
    let n: i64 = t.parse().ok()?;
    let (utc, written_date) = match t.len() {
        8 => {
            let date = NaiveDate::parse_from_str(t, "%Y%m%d").ok()?;
            return Some(from_local(date.and_time(NaiveTime::MIN), 0, date));
        }
        10 => (n.checked_mul(1000)?, None),
        13 => (n, None),
        _ => return None,
    };
    Some(ParsedTime {
        utc: Timestamp(utc),
        written_date,
    })
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%Y/%m/%d"))
        .ok()
}

/// Splits `09:30:00+05:30` into the clock and the offset in seconds east of UTC.
fn split_offset(s: &str) -> Option<(&str, i64)> {
    if let Some(clock) = s.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let Some(at) = s.rfind(['+', '-']) else {
        return Some((s, 0));
    };
    let (clock, off) = (&s[..at], &s[at..]);
    let sign = if off.starts_with('-') { -1 } else { 1 };
    let digits: String = off[1..].chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i64>().ok()?, 0),
        4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    Some((clock, sign * (h * 3600 + m * 60)))
}

fn from_local(local: NaiveDateTime, offset_secs: i64, date: NaiveDate) -> ParsedTime {
    let utc = local.and_utc().timestamp_millis() - offset_secs * 1000;
    ParsedTime {
        utc: Timestamp(utc),
        written_date: Some(date),
    }
}

/// Midnight UTC of `date`.
pub fn date_start(date: NaiveDate) -> Timestamp {
    Timestamp(date.and_time(NaiveTime::MIN).and_utc().timestamp_millis())
}

/// `2024-01-02T09:30:00Z`, with milliseconds only when there are some.
pub fn fmt_time(t: Timestamp) -> String {
    match DateTime::from_timestamp_millis(t.0) {
        Some(dt) if t.0.rem_euclid(1000) == 0 => dt.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => format!("{}ms", t.0),
    }
}

/// `2024-01-02` for a midnight, else `2024-01-02 09:30` (seconds when present): for tables,
/// so milliseconds are dropped (a window ending 1 ms after midnight shows as that date).
pub fn fmt_short(t: Timestamp) -> String {
    let t = Timestamp(t.0 - t.0.rem_euclid(1000));
    let Some(dt) = DateTime::from_timestamp_millis(t.0) else {
        return format!("{}ms", t.0);
    };
    if t.0.rem_euclid(86_400_000) == 0 {
        dt.format("%Y-%m-%d").to_string()
    } else if t.0.rem_euclid(60_000) == 0 {
        dt.format("%Y-%m-%d %H:%M").to_string()
    } else {
        dt.format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

/// A duration as `3d`, `2h`, `15m`, `30s` or `250ms` when exact, else in days with one
/// decimal (`12.5d`).
pub fn fmt_duration(ms: i64) -> String {
    const UNITS: [(i64, &str); 4] = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1000, "s"),
    ];
    if ms == 0 {
        return "0".to_string();
    }
    for (unit, name) in UNITS {
        if ms % unit == 0 {
            return format!("{}{name}", ms / unit);
        }
    }
    if ms.abs() >= 86_400_000 {
        format!("{:.1}d", ms as f64 / 86_400_000.0)
    } else {
        format!("{ms}ms")
    }
}

/// Serialises a timestamp as [`fmt_time`], for report fields.
pub(crate) fn ser_time<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&fmt_time(*t))
}

/// Serialises an optional timestamp as [`fmt_time`] or null.
pub(crate) fn ser_opt_time<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&fmt_time(*t)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> i64 {
        parse_time(s).unwrap_or_else(|| panic!("{s}")).utc.0
    }

    #[test]
    fn accepted_forms() {
        // 2024-01-02T00:00:00Z is 1_704_153_600 s after the epoch.
        let day = 1_704_153_600_000;
        let at_0930 = day + (9 * 60 + 30) * 60_000;
        assert_eq!(utc("2024-01-02"), day);
        assert_eq!(utc("2024/01/02"), day);
        assert_eq!(utc("20240102"), day);
        assert_eq!(utc(" 2024-01-02 "), day);
        assert_eq!(utc("2024-01-02 09:30:00"), at_0930);
        assert_eq!(utc("2024-01-02 09:30"), at_0930);
        assert_eq!(utc("2024-01-02T09:30:00Z"), at_0930);
        assert_eq!(utc("2024-01-02T09:30:00.250Z"), at_0930 + 250);
        assert_eq!(utc("2024-01-02 04:30:00-05:00"), at_0930);
        assert_eq!(utc("2024-01-02T15:00:00+0530"), at_0930);
        assert_eq!(utc("2024-01-02T11:30:00+02"), at_0930);
        assert_eq!(utc("1704153600"), day);
        assert_eq!(utc("1704153600000"), day);
        assert_eq!(parse_time("1704153600").unwrap().written_date, None);
        // Daily bars keep the date as written, whatever the offset.
        let p = parse_time("2024-01-02 00:00:00-05:00").unwrap();
        assert_eq!(p.utc.0, day + 5 * 3_600_000);
        assert_eq!(p.written_date, NaiveDate::from_ymd_opt(2024, 1, 2));
    }

    #[test]
    fn refused_forms() {
        for s in [
            "",
            "abc",
            "2024-13-01",
            "2024-01-32",
            "2024-01-02X09:30",
            "2024-01-02 25:00:00",
            "2024-01-02 09:30:00+25:00",
            "170415360",
            "17041536000",
            "2024-01-02 09:30:00 UTC",
        ] {
            assert_eq!(parse_time(s), None, "{s:?}");
        }
    }

    #[test]
    fn formats() {
        assert_eq!(
            fmt_time(Timestamp(1_704_153_600_000)),
            "2024-01-02T00:00:00Z"
        );
        assert_eq!(
            fmt_time(Timestamp(1_704_153_600_250)),
            "2024-01-02T00:00:00.250Z"
        );
        assert_eq!(fmt_short(Timestamp(1_704_153_600_000)), "2024-01-02");
        assert_eq!(fmt_short(Timestamp(1_704_187_800_000)), "2024-01-02 09:30");
        assert_eq!(
            fmt_short(Timestamp(1_704_187_801_999)),
            "2024-01-02 09:30:01"
        );
        assert_eq!(fmt_short(Timestamp(1_704_153_600_001)), "2024-01-02");
        assert_eq!(fmt_duration(3 * 86_400_000), "3d");
        assert_eq!(fmt_duration(7_200_000), "2h");
        assert_eq!(fmt_duration(86_400_000 + 43_200_000 + 1), "1.5d");
        assert_eq!(fmt_duration(1), "1ms");
        assert_eq!(fmt_duration(0), "0");
    }
}
