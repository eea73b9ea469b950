//! Where a query is (stopped past its scan budget) and whether the
//! verification held, for Transform and Verify (`progress.rs`) and the
//! `poll` and `check_verify` actions; and a query's rows for `results`.

use std::collections::HashMap;

use tracing::{info, warn};

use crate::aws::{athena, s3};
use crate::contract::query_runner::{Polled, QueryRows, TableNames, Verified};
use crate::env::Env;
use crate::error::Error;
use crate::metrics;
use crate::transform::generate;
use crate::transform::poll_cadence;

/// Rows returned inline by `results`; more go to S3.
const INLINE_ROWS: usize = 100;
/// Rows written to S3 by `results` at the most.
const MAX_ROWS: usize = 100_000;

pub async fn poll(
    env: &Env,
    id: &str,
    purpose: &str,
    budget: Option<i64>,
    min_wait_seconds: Option<u64>,
) -> Result<Polled, Error> {
    let status = athena::status(&env.clients.athena, id).await?;
    let running = matches!(status.state.as_str(), "QUEUED" | "RUNNING");
    if let Some(budget) = budget
        && running
        && status.scanned_bytes > budget
    {
        warn!(
            query_execution_id = id,
            scanned = status.scanned_bytes,
            budget,
            "over its scan budget; stopping"
        );
        athena::stop(&env.clients.athena, id).await?;
        return Err(Error::ScanBudgetExceeded {
            query_id: id.to_string(),
            purpose: purpose.to_string(),
            scanned: status.scanned_bytes,
            budget,
        });
    }
    if !running {
        metrics::bytes_scanned(
            metrics::source(&env.config),
            jiff::Timestamp::now(),
            status.scanned_bytes,
        )
        .emit();
    }
    let reason = || athena::with_fix(status.reason.as_deref().unwrap_or("Athena gave no reason"));
    match status.state.as_str() {
        "FAILED" if athena::is_retryable(&status) => Err(Error::QueryRetryable {
            query_id: id.into(),
            purpose: purpose.into(),
            reason: reason(),
        }),
        "FAILED" | "CANCELLED" => Err(Error::QueryFailed {
            query_id: id.into(),
            purpose: purpose.into(),
            reason: reason(),
        }),
        _ => Ok(Polled {
            query_execution_id: id.to_string(),
            done: status.state == "SUCCEEDED",
            state: status.state,
            data_scanned_bytes: status.scanned_bytes,
            engine_ms: status.engine_ms,
            wait_seconds: poll_cadence::next_wait(
                status
                    .submitted
                    .map(|t| jiff::Timestamp::now().duration_since(t).as_secs().max(0) as u64),
                min_wait_seconds.unwrap_or(10),
            ),
        }),
    }
}

/// Reads the verification row and fails naming the check that did not hold.
pub async fn check_verify(env: &Env, query_execution_id: &str, table: TableNames) -> Result<Verified, Error> {
    let rows = athena::results(&env.clients.athena, query_execution_id, 1).await?;
    let row = rows.rows.first().cloned().unwrap_or_default();
    let qualified = format!("{}.{}", env.config.curated_database, table.name);
    generate::check_verification(&qualified, &rows.header, &row)?;
    metrics::table_rows(
        metrics::source(&env.config),
        jiff::Timestamp::now(),
        &table.name,
        &rows.header,
        &row,
    )
    .emit();
    info!(table = %qualified, "verified");
    let count = |name: &str| {
        let i = rows.header.iter().position(|h| h == name)?;
        row.get(i)?.as_deref()?.parse::<i64>().ok()
    };
    Ok(Verified {
        verified: true,
        table: table.name,
        rows_in: count("expected_rows"),
        rows_out: count("actual_rows"),
        checks: rows.header,
    })
}

pub async fn results(env: &Env, id: &str) -> Result<QueryRows, Error> {
    let rows = athena::results(&env.clients.athena, id, MAX_ROWS).await?;
    let objects: Vec<HashMap<String, Option<String>>> = rows
        .rows
        .iter()
        .map(|r| rows.header.iter().cloned().zip(r.iter().cloned()).collect())
        .collect();
    let (row_count, truncated) = (objects.len(), rows.truncated);
    if row_count <= INLINE_ROWS {
        return Ok(QueryRows::Inline {
            rows: objects,
            row_count,
            truncated,
        });
    }
    let key = format!("{}/results/{id}.json", env.config.control_prefix);
    let body = serde_json::to_value(&objects).expect("rows serialize");
    s3::put_json(&env.clients.s3, &env.config.bucket, &key, &body).await?;
    Ok(QueryRows::InS3 {
        bucket: env.config.bucket.clone(),
        key,
        row_count,
        truncated,
    })
}
