//! Transform and Verify as the state machine runs them: each step's query
//! is started and waited for in one invocation, up to `wait_seconds`, so a
//! query that ends in that time costs its table no poll loop (the price of
//! each is in `transform::poll_cadence`). A query still running is answered
//! `running`, with the wait before the state machine sends the answer back
//! as `resume`; a resume only waits, it never starts a query again.
//!
//! A retried Transform or Verify starts nothing twice either: the queries'
//! idempotency tokens (run, step, table) give back the query already started.

use std::time::{Duration, Instant};

use tracing::info;

use super::{empty, query, start};
use crate::contract::catalog_swap::{PrepareOutcome, SwapOutcome};
use crate::contract::query_runner::{
    Polled, Progress, TransformProgress, TransformRequest, VerifyProgress, VerifyRequest,
};
use crate::contract::snapshot_export::PolicyRef;
use crate::env::Env;
use crate::error::Error;
use crate::transform::poll_cadence::{self, MAX_INLINE_WAIT_SECONDS};

/// The default of `query_wait_seconds` (the module's variable).
pub const DEFAULT_WAIT_SECONDS: u64 = 15;

/// How long an invocation waits for its query, and the state machine after it.
#[derive(Debug, Clone, Copy)]
pub struct Waiting {
    pub scan_budget_bytes: Option<i64>,
    pub wait_seconds: u64,
    pub min_wait_seconds: Option<u64>,
}

impl Waiting {
    pub fn new(
        scan_budget_bytes: Option<i64>,
        wait_seconds: Option<u64>,
        min_wait_seconds: Option<u64>,
    ) -> Result<Self, Error> {
        let wait_seconds = wait_seconds.unwrap_or(DEFAULT_WAIT_SECONDS);
        if wait_seconds > MAX_INLINE_WAIT_SECONDS {
            return Err(Error::invalid_input(
                "wait_seconds",
                format!(
                    "is {wait_seconds}; query-runner's timeout is 60 s, so wait at most \
                     {MAX_INLINE_WAIT_SECONDS} (set query_wait_seconds lower)"
                ),
            ));
        }
        Ok(Self {
            scan_budget_bytes,
            wait_seconds,
            min_wait_seconds,
        })
    }
}

pub async fn transform(env: &Env, request: TransformRequest) -> Result<TransformProgress, Error> {
    let waiting = Waiting::new(
        request.scan_budget_bytes,
        request.wait_seconds,
        request.min_wait_seconds,
    )?;
    let policy = PolicyRef {
        policy: request.policy.clone(),
        policy_digest: request.policy_digest.clone(),
    };
    let progress = match request.resume {
        Some(resume) => TransformProgress {
            polls: resume.polls + 1,
            ..resume
        },
        None if request.target.current => return Ok(already_published(&request)),
        None => {
            let started = start::start_transform(
                env,
                request.run_id,
                request.logical_time,
                policy.clone(),
                request.table.clone(),
                request.target.location,
            )
            .await?;
            TransformProgress {
                status: if started.skipped {
                    Progress::Skipped
                } else {
                    Progress::Running
                },
                table: started.table,
                query_execution_id: started.query_execution_id,
                new_location: started.new_location,
                dropped_unlisted: started.dropped_unlisted,
                max_row_drop_percent: started.max_row_drop_percent,
                table_format: started.table_format,
                scanned_bytes: 0,
                wait_seconds: 0,
                polls: 0,
            }
        }
    };
    let (Progress::Running, Some(id)) = (progress.status, progress.query_execution_id.clone()) else {
        return Ok(progress);
    };
    let polled = wait_for(env, &id, "transform", waiting).await?;
    if polled.done
        && let Some(location) = &progress.new_location
    {
        empty::write_if_empty(env, &policy, &request.table, location).await?;
    }
    Ok(TransformProgress {
        status: if polled.done { Progress::Done } else { Progress::Running },
        scanned_bytes: polled.data_scanned_bytes,
        wait_seconds: polled.wait_seconds,
        ..progress
    })
}

/// PrepareTarget found this run's version, or a newer run's, published.
fn already_published(request: &TransformRequest) -> TransformProgress {
    TransformProgress {
        status: match request.target.outcome {
            PrepareOutcome::Superseded => Progress::Superseded,
            PrepareOutcome::Unchanged | PrepareOutcome::Prepared => Progress::Unchanged,
        },
        table: request.table.name.clone(),
        query_execution_id: None,
        new_location: Some(request.target.location.clone()),
        dropped_unlisted: Vec::new(),
        max_row_drop_percent: None,
        table_format: None,
        scanned_bytes: 0,
        wait_seconds: 0,
        polls: 0,
    }
}

pub async fn verify(env: &Env, request: VerifyRequest) -> Result<VerifyProgress, Error> {
    let waiting = Waiting::new(
        request.scan_budget_bytes,
        request.wait_seconds,
        request.min_wait_seconds,
    )?;
    let (unpublished, candidate) = match request.staged {
        SwapOutcome::Superseded => (Some(Progress::Superseded), false),
        SwapOutcome::Held => (Some(Progress::Held), false),
        SwapOutcome::Staged => (None, true),
        // The curated table already points at this run's version, which
        // was audited before it was published: checked again where it is.
        SwapOutcome::Unchanged => (None, false),
        other @ (SwapOutcome::Created | SwapOutcome::Swapped | SwapOutcome::RolledBack) => {
            return Err(Error::invalid_input(
                "staged",
                format!(
                    "is {other:?} for {}; Verify audits what Stage answered (staged, unchanged, held, superseded)",
                    request.table.name
                ),
            ));
        }
    };
    if let Some(status) = unpublished {
        return Ok(VerifyProgress {
            status,
            table: request.table.name,
            query_execution_id: None,
            rows_in: None,
            rows_out: None,
            wait_seconds: 0,
            scanned_bytes: 0,
            polls: 0,
        });
    }
    let polls = request.resume.as_ref().map_or(0, |r| r.polls + 1);
    let id = match request.resume.and_then(|r| r.query_execution_id) {
        Some(id) => id,
        None => {
            let policy = PolicyRef {
                policy: request.policy,
                policy_digest: request.policy_digest,
            };
            let started = start::start_verify(env, request.run_id, policy, request.table.clone(), candidate).await?;
            started.query_execution_id.ok_or_else(|| {
                // Fail closed: a version the pinned policy no longer names is
                // not published; the state machine discards it.
                Error::invalid_input(
                    "table",
                    format!(
                        "{} was written but the run's policy does not name {}; \
                         it is not published: check the policy the run pinned",
                        request.table.name, request.table.source
                    ),
                )
            })?
        }
    };
    let polled = wait_for(env, &id, "verify", waiting).await?;
    if !polled.done {
        return Ok(VerifyProgress {
            status: Progress::Running,
            table: request.table.name,
            query_execution_id: Some(id),
            rows_in: None,
            rows_out: None,
            wait_seconds: polled.wait_seconds,
            scanned_bytes: polled.data_scanned_bytes,
            polls,
        });
    }
    let verified = query::check_verify(env, &id, request.table).await?;
    Ok(VerifyProgress {
        status: Progress::Done,
        table: verified.table,
        query_execution_id: Some(id),
        rows_in: verified.rows_in,
        rows_out: verified.rows_out,
        wait_seconds: 0,
        scanned_bytes: polled.data_scanned_bytes,
        polls,
    })
}

/// Polls a query until it is done or `wait_seconds` have passed, pausing
/// as `poll_cadence::inline_pause` says. A failed query, or one past its
/// scan budget, is the poll's error.
async fn wait_for(env: &Env, id: &str, purpose: &str, waiting: Waiting) -> Result<Polled, Error> {
    let deadline = Instant::now() + Duration::from_secs(waiting.wait_seconds);
    let mut pause = None;
    loop {
        let polled = query::poll(env, id, purpose, waiting.scan_budget_bytes, waiting.min_wait_seconds).await?;
        let next = poll_cadence::inline_pause(pause, polled.wait_seconds);
        if polled.done || Instant::now() + Duration::from_millis(next) > deadline {
            if !polled.done {
                info!(query_execution_id = id, purpose, state = %polled.state,
                      wait_seconds = polled.wait_seconds, "still running; the state machine waits");
            }
            return Ok(polled);
        }
        tokio::time::sleep(Duration::from_millis(next)).await;
        pause = Some(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invocation_waits_at_most_forty_seconds() {
        assert_eq!(
            Waiting::new(None, None, None).unwrap().wait_seconds,
            DEFAULT_WAIT_SECONDS
        );
        assert_eq!(Waiting::new(None, Some(0), None).unwrap().wait_seconds, 0);
        assert_eq!(Waiting::new(None, Some(40), None).unwrap().wait_seconds, 40);
        let err = Waiting::new(None, Some(41), None).unwrap_err();
        assert_eq!(err.name(), "InvalidInput");
        let text = err.to_string();
        assert!(
            text.contains("wait_seconds") && text.contains("query_wait_seconds"),
            "{text}"
        );
    }
}
