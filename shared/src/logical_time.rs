//! Logical time: the instant a run stands for (the schedule's scheduled time),
//! never the wall clock. A backfill of an old date and a late retry of today's
//! run both compute the same day, the same ids and the same locations.

use std::fmt;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;

/// The scheduled instant of a run, parsed from RFC 3339 as EventBridge
/// Scheduler's `<aws.scheduler.scheduled-time>` and EventBridge events' `time`
/// give it (`2026-11-20T19:00:00Z`). An offset other than `Z` is accepted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogicalTime(Timestamp);

impl LogicalTime {
    pub fn parse(text: &str) -> Result<Self, Error> {
        let t = text.trim().parse::<Timestamp>().map_err(|e| {
            Error::invalid_input(
                "logical_time",
                format!(
                    "{text:?} is not an RFC 3339 time ({e}); expected the schedule's \
                     scheduled time, e.g. \"2026-11-20T19:00:00Z\""
                ),
            )
        })?;
        Self::at(t)
    }

    /// A logical time from an instant, refused near the ends of the
    /// calendar, where a day has no start or end in some zones (and no
    /// snapshot was ever taken).
    pub fn at(t: Timestamp) -> Result<Self, Error> {
        if !(Timestamp::UNIX_EPOCH..Self::LATEST).contains(&t) {
            return Err(Error::invalid_input(
                "logical_time",
                format!("{t} is outside the years 1970 to 2999 a run may stand for; give the day of a snapshot"),
            ));
        }
        Ok(Self(t))
    }

    /// The first instant no run may stand for: 3000-01-01T00:00:00Z.
    const LATEST: Timestamp = Timestamp::constant(32_503_680_000, 0);

    pub fn timestamp(self) -> Timestamp {
        self.0
    }

    /// The calendar day this run stands for, in the operator's time zone.
    pub fn day(self, zone: &TimeZone) -> Date {
        self.0.to_zoned(zone.clone()).date()
    }

    /// The start (inclusive) and end (exclusive) of the run's logical day as
    /// instants: the window in which its snapshot must have been created.
    pub fn day_window(self, zone: &TimeZone) -> (Timestamp, Timestamp) {
        day_window(self.day(zone), zone)
    }
}

/// Start (inclusive) and end (exclusive) of a calendar day in a zone. Days
/// are not always 24 hours long (DST), so both ends come from the zone.
pub fn day_window(day: Date, zone: &TimeZone) -> (Timestamp, Timestamp) {
    let start = zoned_start(day, zone);
    let next = day
        .tomorrow()
        .map(|d| zoned_start(d, zone).timestamp())
        .unwrap_or(Timestamp::MAX);
    (start.timestamp(), next)
}

fn zoned_start(day: Date, zone: &TimeZone) -> Zoned {
    day.to_zoned(zone.clone())
        .expect("every civil day in the supported range has a start")
}

/// Parses an IANA zone name (`Asia/Tokyo`, `UTC`) from the bundled database,
/// so the answer does not depend on the machine's zoneinfo files.
pub fn parse_time_zone(field: &str, name: &str) -> Result<TimeZone, Error> {
    TimeZone::get(name.trim()).map_err(|_| {
        Error::invalid_input(
            field,
            format!("{name:?} is not an IANA time zone name; use e.g. \"Asia/Tokyo\" or \"UTC\""),
        )
    })
}

impl fmt::Display for LogicalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for LogicalTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for LogicalTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;
    use jiff::civil::date;

    fn tokyo() -> TimeZone {
        parse_time_zone("time_zone", "Asia/Tokyo").unwrap()
    }

    #[test]
    fn scheduler_time_at_four_in_tokyo_is_that_tokyo_day() {
        // 04:00 JST on the 21st is 19:00 UTC on the 20th.
        let t = LogicalTime::parse("2026-11-20T19:00:00Z").unwrap();
        assert_eq!(t.day(&tokyo()), date(2026, 11, 21));
        assert_eq!(t.day(&TimeZone::UTC), date(2026, 11, 20));
    }

    #[test]
    fn day_boundary_is_midnight_in_the_zone() {
        let zone = tokyo();
        let before = LogicalTime::parse("2026-11-20T14:59:59Z").unwrap();
        let after = LogicalTime::parse("2026-11-20T15:00:00Z").unwrap();
        assert_eq!(before.day(&zone), date(2026, 11, 20));
        assert_eq!(after.day(&zone), date(2026, 11, 21));
    }

    #[test]
    fn offsets_other_than_z_are_understood() {
        let t = LogicalTime::parse("2026-11-21T04:00:00+09:00").unwrap();
        assert_eq!(t, LogicalTime::parse("2026-11-20T19:00:00Z").unwrap());
    }

    #[test]
    fn window_spans_the_zone_day() {
        let t = LogicalTime::parse("2026-11-20T19:00:00Z").unwrap();
        let (start, end) = t.day_window(&tokyo());
        assert_eq!(start.to_string(), "2026-11-20T15:00:00Z");
        assert_eq!(end.to_string(), "2026-11-21T15:00:00Z");
    }

    #[test]
    fn dst_days_are_23_and_25_hours_long() {
        let ny = parse_time_zone("time_zone", "America/New_York").unwrap();
        let (s, e) = day_window(date(2026, 3, 8), &ny);
        assert_eq!(e.as_second() - s.as_second(), 23 * 3600);
        let (s, e) = day_window(date(2026, 11, 1), &ny);
        assert_eq!(e.as_second() - s.as_second(), 25 * 3600);
    }

    #[test]
    fn year_end_in_a_zone_behind_utc() {
        let la = parse_time_zone("time_zone", "America/Los_Angeles").unwrap();
        let t = LogicalTime::parse("2027-01-01T05:00:00Z").unwrap();
        assert_eq!(t.day(&la), date(2026, 12, 31));
    }

    #[test]
    fn bad_times_name_the_field_and_the_expected_shape() {
        for bad in [
            "",
            "yesterday",
            "2026-11-20",
            "2026-11-20 19:00:00",
            "2026-13-01T00:00:00Z",
        ] {
            let err = LogicalTime::parse(bad).unwrap_err().to_string();
            assert!(
                err.contains("logical_time") && err.contains("RFC 3339"),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn bad_zone_is_refused() {
        let err = parse_time_zone("SNAPLAKE_TIME_ZONE", "Mars/Olympus")
            .unwrap_err()
            .to_string();
        assert!(err.contains("SNAPLAKE_TIME_ZONE") && err.contains("IANA"), "{err}");
        assert!(parse_time_zone("SNAPLAKE_TIME_ZONE", "UTC").is_ok());
    }

    #[test]
    fn serde_round_trip_and_error() {
        let t: LogicalTime = serde_json::from_str("\"2026-11-20T19:00:00Z\"").unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"2026-11-20T19:00:00Z\"");
        let err = serde_json::from_str::<LogicalTime>("\"now\"").unwrap_err().to_string();
        assert!(err.contains("logical_time"), "{err}");
    }

    #[test]
    fn times_at_the_ends_of_the_calendar_are_refused_not_a_panic() {
        for text in [
            "9999-12-31T23:59:59Z",
            "9999-12-31T00:00:00Z",
            "-009999-01-01T00:00:00Z",
            "0001-01-01T00:00:00Z",
        ] {
            let err = LogicalTime::parse(text).unwrap_err();
            assert!(err.to_string().contains("`logical_time`"), "{text}: {err}");
        }
    }

    /// Whatever time parses has a day and a window in every zone, the
    /// hours at both ends of the accepted range included.
    #[test]
    fn every_accepted_time_has_a_day_in_every_zone() {
        let around = |at: Timestamp| (-96..96).map(move |h| at + SignedDuration::from_hours(h));
        let mut accepted = 0;
        for t in around(LogicalTime::LATEST).chain(around(Timestamp::UNIX_EPOCH)) {
            let Ok(t) = LogicalTime::parse(&t.to_string()) else {
                continue;
            };
            accepted += 1;
            for zone in ["Pacific/Kiritimati", "Etc/GMT+12", "Asia/Tokyo", "America/Los_Angeles"] {
                let zone = parse_time_zone("time_zone", zone).unwrap();
                let (start, end) = t.day_window(&zone);
                assert!(start <= t.timestamp() && t.timestamp() < end, "{t} in {zone:?}");
            }
        }
        assert_eq!(accepted, 2 * 96, "the hours before 3000 and from 1970 on are accepted");
    }
}
