//! How long a run waits between two looks at its export, once the task-token
//! wait (`export_wait_seconds`) is over.
//!
//! Every look is a Wait, a Lambda task and a Choice in the run's own
//! history: 9 events (WaitStateEntered/Exited; TaskStateEntered,
//! LambdaFunctionScheduled/Started/Succeeded, TaskStateExited;
//! ChoiceStateEntered/Exited). An execution keeps at most 25,000 events; at
//! a fixed minute, an export still running after about 46 hours (a
//! multi-terabyte database) took its run past the limit, which fails it
//! with no Catch: no failure notice, no lock released, every day the same.
//!
//! So the wait grows with the export's age: a tenth of the time since RDS
//! started it, at least the configured minimum and at most
//! [`MAX_WAIT_SECONDS`]. A 72-hour export is then about 300 looks, a
//! 14-day one about 1,400 (past about 27 days the limit is reached again);
//! [`looks_for`] counts them and the tests hold the run's whole history to
//! the limit. An export that ends is noticed at most a tenth of its age
//! (15 minutes) late, when RDS's and S3's events did not end the wait first.

/// The longest wait between two looks at one export.
pub const MAX_WAIT_SECONDS: u64 = 900;

/// History events of one look: a Wait, a Lambda task and a Choice.
pub const EVENTS_PER_LOOK: u64 = 9;

/// An execution's history limit.
pub const HISTORY_LIMIT: u64 = 25_000;

/// Seconds to wait before the next look at an export RDS started
/// `age_seconds` ago (None when RDS did not say: the minimum).
pub fn next_wait(age_seconds: Option<u64>, min_seconds: u64) -> u64 {
    let min = min_seconds.clamp(1, MAX_WAIT_SECONDS);
    age_seconds.map_or(min, |age| (age / 10).clamp(min, MAX_WAIT_SECONDS))
}

/// The looks at an export that runs `export_seconds`, the first after
/// `first_after` seconds (the task-token wait), each wait as [`next_wait`].
pub fn looks_for(export_seconds: u64, first_after: u64, min_seconds: u64) -> u64 {
    let (mut age, mut looks) = (first_after, 1);
    while age < export_seconds {
        age += next_wait(Some(age), min_seconds);
        looks += 1;
    }
    looks
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The run's history besides its looks: about 20 states before and after
    /// the export (each Lambda task 5 events, a Map's run 6 more), with room
    /// for every task's retries.
    const EVENTS_BESIDES_LOOKS: u64 = 1_000;

    const HOUR: u64 = 3_600;
    /// The module's defaults: export_wait_seconds and export_poll_seconds.
    const FIRST_LOOK_AFTER: u64 = 900;
    const MIN_WAIT: u64 = 60;

    #[test]
    fn a_seventy_two_hour_export_keeps_the_run_far_under_the_history_limit() {
        let looks = looks_for(72 * HOUR, FIRST_LOOK_AFTER, MIN_WAIT);
        let events = looks * EVENTS_PER_LOOK + EVENTS_BESIDES_LOOKS;
        assert!(events < HISTORY_LIMIT / 5, "{looks} looks, {events} events");
        // At a fixed minute the same export passed the limit.
        let fixed = (72 * HOUR - FIRST_LOOK_AFTER) / MIN_WAIT;
        assert!(
            fixed * EVENTS_PER_LOOK + EVENTS_BESIDES_LOOKS > HISTORY_LIMIT,
            "{fixed}"
        );
    }

    #[test]
    fn even_a_fourteen_day_export_stays_under_the_limit() {
        let looks = looks_for(14 * 24 * HOUR, 0, MIN_WAIT);
        assert!(
            looks * EVENTS_PER_LOOK + EVENTS_BESIDES_LOOKS < HISTORY_LIMIT,
            "{looks}"
        );
    }

    #[test]
    fn the_wait_grows_with_the_age_between_the_minimum_and_fifteen_minutes() {
        assert_eq!(next_wait(None, 60), 60);
        assert_eq!(next_wait(Some(30), 60), 60);
        assert_eq!(next_wait(Some(HOUR), 60), 360);
        assert_eq!(next_wait(Some(72 * HOUR), 60), MAX_WAIT_SECONDS);
        assert_eq!(next_wait(Some(0), 0), 1, "never a busy loop");
        assert_eq!(
            next_wait(Some(0), 5_000),
            MAX_WAIT_SECONDS,
            "a minimum above the cap is capped"
        );
    }
}
