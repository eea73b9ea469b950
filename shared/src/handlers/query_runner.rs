//! query-runner: the Athena side of Transform and Verify. Every call is
//! short: the state machine waits between polls (Wait/Choice), never a Lambda.
//!
//! A run uses it as: `validate` once (the masking policy against every raw
//! table, before any query runs); per table `start_transform`, `poll` until
//! done, then (after the swap) `start_verify`, `poll`, `check_verify`.

use tracing::{info, warn};

use std::collections::HashMap;

use super::parse;
use crate::aws::athena::{self, Start};
use crate::aws::{glue, s3};
use crate::catalog::location::S3Prefix;
use crate::catalog::schema::Column;
use crate::contract::query_runner::*;
use crate::env::Env;
use crate::error::Error;
use crate::pinning::{self, PolicyRef};
use crate::transform::generate;

/// Rows returned inline by `results`; more go to S3.
const INLINE_ROWS: usize = 100;
/// Rows written to S3 by `results` at the most.
const MAX_ROWS: usize = 100_000;

pub async fn handle(env: &Env, input: serde_json::Value) -> Result<QueryResponse, Error> {
    let request: QueryRequest = parse("query-runner input", input)?;
    run(env, request).await
}

pub async fn run(env: &Env, request: QueryRequest) -> Result<QueryResponse, Error> {
    match request {
        QueryRequest::Validate {
            policy,
            policy_digest,
            mut tables,
            plan,
        } => {
            let policy = pinning::policy(env, &PolicyRef { policy, policy_digest }).await?;
            if let Some(plan) = plan {
                tables.extend(plan_tables(env, &plan).await?);
            }
            if tables.is_empty() {
                return Err(Error::invalid_input("tables", "name the tables, or give the plan"));
            }
            let mut schemas = Vec::new();
            for t in &tables {
                schemas.push((t.source.clone(), raw_columns(env, t).await?));
            }
            let found = policy.validate(&schemas, env.salt.is_some())?;
            if !found.missing.is_empty() {
                warn!(tables = ?found.missing, "the masking policy names tables the export does not hold");
            }
            for (table, columns) in &found.unclassified {
                warn!(table = %table, columns = ?columns, "columns with no rule: the table is not published this run");
            }
            for (table, columns) in &found.dropped_unlisted {
                warn!(table = %table, columns = ?columns, "columns with no rule are dropped (unlisted_columns: drop)");
            }
            let published = tables
                .iter()
                .filter(|t| found.published.contains(&t.source))
                .map(|t| t.name.clone())
                .collect();
            Ok(QueryResponse::Validated(Validated {
                valid: true,
                published,
                skipped: found.skipped,
                unclassified: found.unclassified,
                dropped_unlisted: found.dropped_unlisted,
                missing: found.missing,
            }))
        }
        QueryRequest::StartTransform {
            run_id,
            logical_time,
            policy,
            policy_digest,
            table,
            new_location,
        } => {
            check_run_id(&run_id)?;
            let policy = pinning::policy(env, &PolicyRef { policy, policy_digest }).await?;
            let target = S3Prefix::parse("new_location", &new_location)?;
            let Some(table_policy) = policy.for_table(&table.source) else {
                info!(table = %table.source, "not published: the masking policy does not name it");
                return Ok(QueryResponse::TransformStarted(TransformStarted {
                    skipped: true,
                    table: table.name,
                    query_execution_id: None,
                    new_location: None,
                    dropped_unlisted: Vec::new(),
                }));
            };
            let columns = raw_columns(env, &table).await?;
            let rules = policy.column_rules(&table.source, &columns, env.salt.is_some())?;
            if !rules.dropped_unlisted.is_empty() {
                warn!(table = %table.source, columns = ?rules.dropped_unlisted,
                      "columns with no rule are dropped (unlisted_columns: drop)");
            }
            let query = generate::unload(
                &env.config.raw_database,
                &table.name,
                &rules.rules,
                table_policy,
                &policy.transformed_at_column,
                logical_time,
                &target,
                env.salt.as_ref().map(|s| s.expose()),
            )?;
            let id = start(env, &run_id, "transform", &table.name, &query).await?;
            Ok(QueryResponse::TransformStarted(TransformStarted {
                skipped: false,
                table: table.name,
                query_execution_id: Some(id),
                new_location: Some(target.to_string()),
                dropped_unlisted: rules.dropped_unlisted,
            }))
        }
        QueryRequest::StartVerify {
            run_id,
            policy,
            policy_digest,
            table,
        } => {
            check_run_id(&run_id)?;
            let policy = pinning::policy(env, &PolicyRef { policy, policy_digest }).await?;
            let Some(table_policy) = policy.for_table(&table.source) else {
                return Ok(QueryResponse::VerifyStarted(VerifyStarted {
                    skipped: true,
                    table: table.name,
                    query_execution_id: None,
                }));
            };
            let query = generate::verify(
                (&env.config.raw_database, &table.name),
                (&env.config.curated_database, &table.name),
                table_policy,
            )?;
            let id = start(env, &run_id, "verify", &table.name, &query).await?;
            Ok(QueryResponse::VerifyStarted(VerifyStarted {
                skipped: false,
                table: table.name,
                query_execution_id: Some(id),
            }))
        }
        QueryRequest::Poll {
            query_execution_id,
            purpose,
            scan_budget_bytes,
        } => {
            let purpose = purpose.as_deref().unwrap_or("query");
            let polled = poll(env, &query_execution_id, purpose, scan_budget_bytes).await?;
            Ok(QueryResponse::Polled(polled))
        }
        QueryRequest::CheckVerify {
            query_execution_id,
            table,
        } => {
            let rows = athena::results(&env.clients.athena, &query_execution_id, 1).await?;
            let row = rows.rows.first().cloned().unwrap_or_default();
            let qualified = format!("{}.{}", env.config.curated_database, table.name);
            generate::check_verification(&qualified, &rows.header, &row)?;
            info!(table = %qualified, "verified");
            Ok(QueryResponse::Verified(Verified {
                verified: true,
                table: table.name,
                checks: rows.header,
            }))
        }
        QueryRequest::Results { query_execution_id } => {
            Ok(QueryResponse::Rows(results(env, &query_execution_id).await?))
        }
        QueryRequest::Stop { query_execution_id } => {
            athena::stop(&env.clients.athena, &query_execution_id).await?;
            Ok(QueryResponse::Stopped(Stopped {
                stopped: query_execution_id,
            }))
        }
    }
}

/// The tables of a plan (a JSON array of `{"Items": [...]}` batches).
async fn plan_tables(env: &Env, plan: &crate::contract::export_poller::PlanRef) -> Result<Vec<TableNames>, Error> {
    let body = s3::get_bytes(&env.clients.s3, &plan.bucket, &plan.key)
        .await?
        .ok_or_else(|| Error::invalid_input("plan", format!("s3://{}/{} does not exist", plan.bucket, plan.key)))?;
    let batches: Vec<crate::export::plan::Batch> = serde_json::from_slice(&body)
        .map_err(|e| Error::invalid_input("plan", format!("s3://{}/{} is not a plan: {e}", plan.bucket, plan.key)))?;
    Ok(batches
        .into_iter()
        .flat_map(|b| b.items)
        .map(|i| TableNames {
            source: i.source,
            name: i.name,
        })
        .collect())
}

async fn raw_columns(env: &Env, table: &TableNames) -> Result<Vec<Column>, Error> {
    let database = &env.config.raw_database;
    let state = glue::get_table(&env.clients.glue, database, &table.name)
        .await?
        .ok_or_else(|| {
            Error::invalid_input(
                "table",
                format!(
                    "raw table {database}.{} for {} does not exist; RegisterRaw registers it before the transform",
                    table.name, table.source
                ),
            )
        })?;
    Ok(state.columns)
}

/// Run ids key the queries' idempotency tokens: an execution name (at most
/// 80 characters), with the attempt appended when a transform runs again.
fn check_run_id(run_id: &str) -> Result<(), Error> {
    let valid =
        (1..=128).contains(&run_id.len()) && run_id.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c));
    if valid {
        Ok(())
    } else {
        Err(Error::invalid_input(
            "run_id",
            format!("{run_id:?} must be 1 to 128 letters, digits, '-' or '_'"),
        ))
    }
}

async fn start(env: &Env, run_id: &str, step: &str, table: &str, query: &generate::Query) -> Result<String, Error> {
    let id = athena::start(
        &env.clients.athena,
        &Start {
            workgroup: &env.config.athena_workgroup,
            sql: &query.sql,
            parameters: &query.parameters,
            token: athena::request_token(run_id, step, table),
            output_location: Some(format!(
                "s3://{}/{}/athena/",
                env.config.bucket, env.config.control_prefix
            )),
        },
    )
    .await?;
    // The SQL is logged; the parameters (a salt) are not.
    info!(%table, step, query_execution_id = %id, sql = %query.sql, "started query");
    Ok(id)
}

async fn poll(env: &Env, id: &str, purpose: &str, budget: Option<i64>) -> Result<Polled, Error> {
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
    let reason = || status.reason.clone().unwrap_or_else(|| "Athena gave no reason".into());
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
        }),
    }
}

async fn results(env: &Env, id: &str) -> Result<QueryRows, Error> {
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

    #[test]
    fn run_ids_have_the_shape_of_execution_names() {
        assert!(check_run_id("run-snaplake-shop-prod-20261121").is_ok());
        for bad in ["", "has space", "v=1", &"x".repeat(129)] {
            assert!(check_run_id(bad).unwrap_err().to_string().contains("run_id"), "{bad}");
        }
    }
}
