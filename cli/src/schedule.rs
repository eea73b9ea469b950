//! Which instant stands for a day. `snaplake run --date D` and a backfill use
//! the time the daily schedule fires for D, so they compute the same logical
//! time as the schedule would, and with it the same export id and the same
//! curated version (a day the schedule already published is then a no-op).

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use snaplake::logical_time::LogicalTime;

use crate::failure::Failure;

/// A schedule that fires once a day at a fixed minute of a fixed hour.
#[derive(Debug, Clone)]
pub struct DailySchedule {
    pub expression: String,
    at: Time,
    zone: TimeZone,
}

impl DailySchedule {
    /// `cron(M H * * ? *)` in an IANA zone, as the Terraform module sets it.
    pub fn parse(expression: &str, zone: &str) -> Result<Self, Failure> {
        let bad = |why: &str| {
            Failure::Usage(format!(
                "the schedule expression {expression:?} {why}; snaplake run/backfill need a daily \
                 cron such as \"cron(0 4 * * ? *)\" (or pass --logical-time)"
            ))
        };
        let fields: Vec<&str> = expression
            .trim()
            .strip_prefix("cron(")
            .and_then(|rest| rest.strip_suffix(')'))
            .ok_or_else(|| bad("is not a cron expression"))?
            .split_whitespace()
            .collect();
        let [minute, hour, day_of_month, month, day_of_week, year] = fields[..] else {
            return Err(bad("does not have the 6 fields of an EventBridge cron"));
        };
        let every_day = matches!(
            (day_of_month, month, day_of_week, year),
            ("*" | "?", "*", "*" | "?", "*")
        );
        if !every_day {
            return Err(bad("does not fire every day"));
        }
        let (Ok(minute), Ok(hour)) = (minute.parse::<i8>(), hour.parse::<i8>()) else {
            return Err(bad("does not fire at one fixed hour and minute"));
        };
        let at = Time::new(hour, minute, 0, 0).map_err(|_| bad("has an hour or minute out of range"))?;
        let zone = TimeZone::get(zone)
            .map_err(|_| Failure::Usage(format!("the schedule's time zone {zone:?} is not an IANA zone name")))?;
        Ok(DailySchedule {
            expression: expression.to_string(),
            at,
            zone,
        })
    }

    /// The logical time of `day` counted in `day_zone` (SNAPLAKE_TIME_ZONE):
    /// the firing whose instant falls on that day there. The schedule's zone
    /// may differ, so the firing can be on the calendar day before or after.
    pub fn logical_time(&self, day: Date, day_zone: &TimeZone) -> Result<LogicalTime, Failure> {
        if !(1970..=2999).contains(&day.year()) {
            return Err(Failure::Usage(format!(
                "{day} is outside the years 1970 to 2999 a run may stand for; give the day of a snapshot"
            )));
        }
        [day.yesterday(), Ok(day), day.tomorrow()]
            .into_iter()
            .flatten()
            .filter_map(|d| d.to_datetime(self.at).to_zoned(self.zone.clone()).ok())
            .filter_map(|z| LogicalTime::at(z.timestamp()).ok())
            .find(|t| t.day(day_zone) == day)
            .ok_or_else(|| Failure::Usage(format!("the schedule {} never fires on {day}", self.expression)))
    }
}

/// Every day from `from` to `to`, both included.
pub fn days(from: Date, to: Date) -> Result<Vec<Date>, Failure> {
    if from > to {
        return Err(Failure::Usage(format!(
            "--from {from} is after --to {to}; give the earlier day first"
        )));
    }
    let mut out = vec![from];
    while let Some(&last) = out.last()
        && last < to
    {
        out.push(last.tomorrow().map_err(|e| Failure::Usage(e.to_string()))?);
    }
    Ok(out)
}

/// A `--date` argument: `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<Date, String> {
    text.trim()
        .parse::<Date>()
        .map_err(|_| format!("{text:?} is not a date; use YYYY-MM-DD, e.g. 2026-11-21"))
}

/// A day that has not begun where days are counted cannot have a snapshot.
pub fn check_not_future(day: Date, zone: &TimeZone, flag: &str) -> Result<(), Failure> {
    let today = jiff::Timestamp::now().to_zoned(zone.clone()).date();
    if day > today {
        return Err(Failure::Usage(format!(
            "{flag} {day} is in the future (today is {today} in {}); its snapshot cannot exist yet",
            zone.iana_name().unwrap_or("SNAPLAKE_TIME_ZONE")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn tokyo() -> TimeZone {
        TimeZone::get("Asia/Tokyo").unwrap()
    }

    #[test]
    fn a_day_is_the_instant_the_schedule_fires_on_it() {
        let s = DailySchedule::parse("cron(0 4 * * ? *)", "Asia/Tokyo").unwrap();
        let t = s.logical_time(date(2026, 11, 21), &tokyo()).unwrap();
        assert_eq!(t.to_string(), "2026-11-20T19:00:00Z");
    }

    #[test]
    fn days_at_the_ends_of_the_calendar_are_refused_not_a_panic() {
        let s = DailySchedule::parse("cron(0 4 * * ? *)", "Etc/GMT+12").unwrap();
        for day in [date(9999, 12, 31), date(-9999, 1, 1), date(1969, 12, 31)] {
            let err = s.logical_time(day, &tokyo()).unwrap_err();
            assert!(err.to_string().contains("1970 to 2999"), "{day}: {err}");
        }
    }

    #[test]
    fn a_schedule_in_another_zone_picks_the_firing_that_falls_on_the_day() {
        // 20:30 UTC is 05:30 the next day in Tokyo.
        let s = DailySchedule::parse("cron(30 20 * * ? *)", "UTC").unwrap();
        let t = s.logical_time(date(2026, 11, 21), &tokyo()).unwrap();
        assert_eq!(t.to_string(), "2026-11-20T20:30:00Z");
        assert_eq!(t.day(&tokyo()), date(2026, 11, 21));
    }

    #[test]
    fn schedules_that_are_not_daily_are_refused_with_the_reason() {
        for (expr, why) in [
            ("rate(1 day)", "not a cron"),
            ("cron(0 4 * *)", "6 fields"),
            ("cron(0 4 ? * MON *)", "every day"),
            ("cron(0 */6 * * ? *)", "fixed hour"),
            ("cron(0 25 * * ? *)", "out of range"),
        ] {
            let err = DailySchedule::parse(expr, "UTC").unwrap_err().to_string();
            assert!(err.contains(why) && err.contains("--logical-time"), "{expr}: {err}");
        }
        assert!(DailySchedule::parse("cron(0 4 * * ? *)", "Mars/Base").is_err());
    }

    #[test]
    fn days_are_inclusive_and_ordered() {
        let d = days(date(2026, 2, 27), date(2026, 3, 2)).unwrap();
        assert_eq!(d.len(), 4);
        assert_eq!(d[3], date(2026, 3, 2));
        assert_eq!(days(date(2026, 1, 1), date(2026, 1, 1)).unwrap().len(), 1);
        assert!(
            days(date(2026, 1, 2), date(2026, 1, 1))
                .unwrap_err()
                .to_string()
                .contains("after")
        );
    }

    #[test]
    fn dates_must_be_iso() {
        assert_eq!(parse_date("2026-11-21").unwrap(), date(2026, 11, 21));
        for bad in ["21/11/2026", "2026-13-01", "yesterday", ""] {
            assert!(parse_date(bad).unwrap_err().contains("YYYY-MM-DD"), "{bad}");
        }
    }

    #[test]
    fn future_days_are_refused() {
        let zone = tokyo();
        let today = jiff::Timestamp::now().to_zoned(zone.clone()).date();
        assert!(check_not_future(today, &zone, "--date").is_ok());
        let err = check_not_future(today.tomorrow().unwrap(), &zone, "--date").unwrap_err();
        assert!(err.to_string().contains("future"), "{err}");
    }
}
