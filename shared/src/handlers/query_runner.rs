//! query-runner: the Athena side of Transform and Verify.
//!
//! A run uses it as: `validate` once (the masking policy against every raw
//! table, before any query runs); per table `transform` (the masking
//! UNLOAD, started and waited for up to `query_wait_seconds`; resumed after
//! a Wait while it runs longer), then, after the swap, `verify` the same
//! way. `start_transform`, `start_verify`, `poll` and `check_verify` are
//! their steps one call each, for operators and tests.

use super::parse;
use crate::aws::athena;
use crate::contract::query_runner::*;
use crate::contract::snapshot_export::PolicyRef;
use crate::env::Env;
use crate::error::Error;
use crate::transform::ops::{progress, query, start, validate};

pub async fn handle(env: &Env, input: serde_json::Value) -> Result<QueryResponse, Error> {
    let request: QueryRequest = parse("query-runner input", input)?;
    run(env, request).await
}

pub async fn run(env: &Env, request: QueryRequest) -> Result<QueryResponse, Error> {
    Ok(match request {
        QueryRequest::Validate {
            policy,
            policy_digest,
            tables,
            plan,
            max_names,
        } => {
            let policy = PolicyRef { policy, policy_digest };
            let validated = validate::validate(env, policy, tables, plan).await?;
            QueryResponse::Validated(validate::bounded(validated, max_names))
        }
        QueryRequest::Transform(request) => QueryResponse::Transform(progress::transform(env, request).await?),
        QueryRequest::Verify(request) => QueryResponse::Verify(progress::verify(env, request).await?),
        QueryRequest::StartTransform {
            run_id,
            logical_time,
            policy,
            policy_digest,
            table,
            new_location,
        } => {
            let policy = PolicyRef { policy, policy_digest };
            let started = start::start_transform(env, run_id, logical_time, policy, table, new_location).await?;
            QueryResponse::TransformStarted(started)
        }
        QueryRequest::StartVerify {
            run_id,
            policy,
            policy_digest,
            table,
        } => {
            let policy = PolicyRef { policy, policy_digest };
            QueryResponse::VerifyStarted(start::start_verify(env, run_id, policy, table, false).await?)
        }
        QueryRequest::Poll {
            query_execution_id,
            purpose,
            scan_budget_bytes,
            min_wait_seconds,
        } => {
            let purpose = purpose.as_deref().unwrap_or("query");
            let polled = query::poll(env, &query_execution_id, purpose, scan_budget_bytes, min_wait_seconds).await?;
            QueryResponse::Polled(polled)
        }
        QueryRequest::CheckVerify {
            query_execution_id,
            table,
        } => QueryResponse::Verified(query::check_verify(env, &query_execution_id, table).await?),
        QueryRequest::Results { query_execution_id } => {
            QueryResponse::Rows(query::results(env, &query_execution_id).await?)
        }
        QueryRequest::Stop { query_execution_id } => {
            athena::stop(&env.clients.athena, &query_execution_id).await?;
            QueryResponse::Stopped(Stopped {
                stopped: query_execution_id,
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_event_parses() {
        for (name, text) in [
            ("validate", include_str!("../../../events/query-runner-validate.json")),
            (
                "start-transform",
                include_str!("../../../events/query-runner-start-transform.json"),
            ),
            ("poll", include_str!("../../../events/query-runner-poll.json")),
            ("transform", include_str!("../../../events/query-runner-transform.json")),
            ("verify", include_str!("../../../events/query-runner-verify.json")),
            (
                "start-verify",
                include_str!("../../../events/query-runner-start-verify.json"),
            ),
            (
                "check-verify",
                include_str!("../../../events/query-runner-check-verify.json"),
            ),
        ] {
            let value: serde_json::Value = serde_json::from_str(text).unwrap();
            let parsed = parse::<QueryRequest>("query-runner input", value);
            assert!(parsed.is_ok(), "events/query-runner-{name}.json: {:?}", parsed.err());
        }
    }
}
