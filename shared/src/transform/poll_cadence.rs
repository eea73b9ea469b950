//! How long a table's poll loop waits before asking Athena again.
//!
//! Every poll is a Wait, a Lambda task and a Choice in the Map child's
//! history: 9 events (WaitStateEntered/Exited; TaskStateEntered,
//! LambdaFunctionScheduled/Started/Succeeded, TaskStateExited;
//! ChoiceStateEntered/Exited). A child execution keeps at most 25,000 events,
//! and a child publishes a batch of tables, each polling its transform and
//! its verification. At a fixed 10 s, two 30-minute queries are 360 polls,
//! 3,240 events: ten such tables in a batch pass the limit and the child
//! fails (`States.Runtime`, which no Catch catches).
//!
//! So the wait grows with the query's age: a quarter of the time since
//! Athena took the query, at least the configured minimum and at most
//! [`MAX_WAIT_SECONDS`]. A query is then polled about 20 times in its first
//! 20 minutes, then every 5 minutes: a 10-hour query (past Athena's longest
//! DML timeout) is about 140 polls. [`polls_for`] counts them, and the
//! tests check the budget a batch of [`BATCH_SIZE`] tables stays within.

/// The longest wait between two polls of one query.
pub const MAX_WAIT_SECONDS: u64 = 300;

/// Tables in one Map child (the plan's batches: `batch_size` in the
/// module's `pipeline.tf`), sized for the history budget below.
pub const BATCH_SIZE: u64 = 5;

/// History events of one poll: a Wait, a Lambda task and a Choice.
pub const EVENTS_PER_POLL: u64 = 9;

/// History events of one table's path through a child besides its polls:
/// its states (PrepareTarget, StartTransform, Swap, StartVerify,
/// CheckVerify, Gc as Lambda tasks of 5 events; the Choices and the Pass
/// of 2), with room for a retried task.
pub const EVENTS_PER_TABLE: u64 = 80;

/// A child execution's history limit.
pub const HISTORY_LIMIT: u64 = 25_000;

/// Seconds to wait before the next poll of a query Athena took
/// `elapsed_seconds` ago (None when Athena did not say: the minimum).
pub fn next_wait(elapsed_seconds: Option<u64>, min_seconds: u64) -> u64 {
    let min = min_seconds.clamp(1, MAX_WAIT_SECONDS);
    elapsed_seconds.map_or(min, |e| (e / 4).clamp(min, MAX_WAIT_SECONDS))
}

/// Polls of a query that runs `seconds`, the first one after `min_seconds`.
pub fn polls_for(seconds: u64, min_seconds: u64) -> u64 {
    let mut elapsed = min_seconds.max(1);
    let mut polls = 1;
    while elapsed < seconds {
        elapsed += next_wait(Some(elapsed), min_seconds);
        polls += 1;
    }
    polls
}

/// History events of a child whose every table runs two queries of `seconds`.
pub fn child_events(seconds: u64, min_seconds: u64, tables: u64) -> u64 {
    tables * (EVENTS_PER_TABLE + 2 * EVENTS_PER_POLL * polls_for(seconds, min_seconds))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_wait_grows_with_the_query_and_stays_within_bounds() {
        assert_eq!(next_wait(None, 10), 10);
        assert_eq!(next_wait(Some(5), 10), 10);
        assert_eq!(next_wait(Some(400), 10), 100);
        assert_eq!(next_wait(Some(36_000), 10), MAX_WAIT_SECONDS);
        assert_eq!(next_wait(Some(0), 0), 1, "never a zero wait");
    }

    /// The arithmetic README quotes: ten-hour queries, a batch of five.
    #[test]
    fn a_batch_of_ten_hour_queries_stays_under_the_history_limit() {
        let polls = polls_for(10 * 3600, 10);
        assert!(polls <= 150, "{polls} polls");
        let events = child_events(10 * 3600, 10, BATCH_SIZE);
        assert!(events < HISTORY_LIMIT, "{events} events");
        // What a fixed 10 s cadence did: 30-minute queries overflow a batch of ten.
        let fixed = 10 * (EVENTS_PER_TABLE + 2 * EVENTS_PER_POLL * (1800 / 10));
        assert!(fixed > HISTORY_LIMIT, "{fixed}");
    }

    proptest! {
        #[test]
        fn any_query_up_to_ten_hours_fits_a_batch(seconds in 1u64..=36_000, min in 1u64..=60) {
            prop_assert!(child_events(seconds, min, BATCH_SIZE) < HISTORY_LIMIT);
        }

        #[test]
        fn waits_never_shrink_as_a_query_ages(a in 0u64..100_000, b in 0u64..100_000, min in 0u64..600) {
            let (young, old) = (a.min(b), a.max(b));
            prop_assert!(next_wait(Some(young), min) <= next_wait(Some(old), min));
            prop_assert!((1..=MAX_WAIT_SECONDS).contains(&next_wait(Some(old), min)));
        }
    }
}
