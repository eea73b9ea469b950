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

/// The longest a Transform or Verify invocation waits for its query before
/// it hands the wait to the state machine; query-runner's timeout is 60 s.
///
/// Waiting in the function is the cheaper of the two. A poll of the state
/// machine is 3 transitions (Wait, task, Choice: $0.000075 at $0.025 per
/// 1,000) and an invocation; query-runner (256 MB, $0.0000166667 per
/// GB-second) waits 18 s for that price. So a query that ends within
/// `query_wait_seconds` (default 15) costs a table no poll loop at all.
pub const MAX_INLINE_WAIT_SECONDS: u64 = 40;

/// The first pause between two polls inside one invocation; it doubles.
pub const FIRST_INLINE_PAUSE_MS: u64 = 250;

/// The longest wait between two polls of one query.
pub const MAX_WAIT_SECONDS: u64 = 300;

/// Tables in one Map child (the plan's batches: `batch_size` in the
/// module's `pipeline.tf`), sized for the history budget below.
pub const BATCH_SIZE: u64 = 5;

/// History events of one poll: a Wait, a Lambda task and a Choice.
pub const EVENTS_PER_POLL: u64 = 9;

/// History events of one table's path through a child besides its polls:
/// its states (PrepareTarget, Transform, Swap and Verify as Lambda tasks of
/// 5 events; the two Choices and the Pass of 2: 26), with room for retried
/// tasks and a second attempt. Polls start only after `query_wait_seconds`;
/// [`polls_for`] counts them as if they started at once.
pub const EVENTS_PER_TABLE: u64 = 80;

/// A child execution's history limit.
pub const HISTORY_LIMIT: u64 = 25_000;

/// Seconds to wait before the next poll of a query Athena took
/// `elapsed_seconds` ago (None when Athena did not say: the minimum).
pub fn next_wait(elapsed_seconds: Option<u64>, min_seconds: u64) -> u64 {
    let min = min_seconds.clamp(1, MAX_WAIT_SECONDS);
    elapsed_seconds.map_or(min, |e| (e / 4).clamp(min, MAX_WAIT_SECONDS))
}

/// The pause before the next poll inside one invocation: a quarter second,
/// doubling, never longer than the state machine's cadence for the query's
/// age (`cadence_seconds`, from [`next_wait`]).
pub fn inline_pause(previous_ms: Option<u64>, cadence_seconds: u64) -> u64 {
    let next = previous_ms.map_or(FIRST_INLINE_PAUSE_MS, |p| p.saturating_mul(2));
    next.min(cadence_seconds.max(1) * 1000)
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

    #[test]
    fn inline_pauses_double_from_a_quarter_second_up_to_the_cadence() {
        let mut pause = None;
        let mut seen = Vec::new();
        for _ in 0..7 {
            let next = inline_pause(pause, 10);
            seen.push(next);
            pause = Some(next);
        }
        assert_eq!(seen, [250, 500, 1000, 2000, 4000, 8000, 10_000]);
        assert_eq!(inline_pause(Some(800), 1), 1000, "never past the cadence");
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
        fn inline_pauses_grow_and_stay_within_the_cadence(previous in proptest::option::of(0u64..100_000), cadence in 0u64..600) {
            let pause = inline_pause(previous, cadence);
            prop_assert!(pause <= cadence.max(1) * 1000);
            if let Some(p) = previous {
                prop_assert!(pause >= p.saturating_mul(2).min(cadence.max(1) * 1000));
            }
        }

        #[test]
        fn waits_never_shrink_as_a_query_ages(a in 0u64..100_000, b in 0u64..100_000, min in 0u64..600) {
            let (young, old) = (a.min(b), a.max(b));
            prop_assert!(next_wait(Some(young), min) <= next_wait(Some(old), min));
            prop_assert!((1..=MAX_WAIT_SECONDS).contains(&next_wait(Some(old), min)));
        }
    }
}
