//! The starts of Transform and Verify (`progress.rs` waits for them; the
//! `start_transform` and `start_verify` actions call them alone): the
//! masking UNLOAD of one table into its new location, and the checks (the
//! audit) on its staged version, or on the live table. A table the policy does not name is skipped.

use tracing::{info, warn};

use super::{check_run_id, raw_columns, start};
use crate::catalog::audit;
use crate::catalog::location::S3Prefix;
use crate::contract::query_runner::{TableNames, TransformStarted, VerifyStarted};
use crate::contract::snapshot_export::PolicyRef;
use crate::env::Env;
use crate::error::Error;
use crate::logical_time::LogicalTime;
use crate::pinning;
use crate::transform::generate;

pub async fn start_transform(
    env: &Env,
    run_id: String,
    logical_time: LogicalTime,
    policy: PolicyRef,
    table: TableNames,
    new_location: String,
) -> Result<TransformStarted, Error> {
    check_run_id(&run_id)?;
    let policy = pinning::policy(env, &policy).await?;
    let target = S3Prefix::parse("new_location", &new_location)?;
    let Some(table_policy) = policy.for_table(&table.source) else {
        info!(table = %table.source, "not published: the masking policy does not name it");
        return Ok(TransformStarted {
            skipped: true,
            table: table.name,
            query_execution_id: None,
            new_location: None,
            dropped_unlisted: Vec::new(),
            max_row_drop_percent: None,
            table_format: None,
        });
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
    Ok(TransformStarted {
        max_row_drop_percent: table_policy.max_row_drop_percent,
        table_format: table_policy.table_format,
        skipped: false,
        table: table.name,
        query_execution_id: Some(id),
        new_location: Some(target.to_string()),
        dropped_unlisted: rules.dropped_unlisted,
    })
}

/// The checks on `table`'s live curated version, or, with `candidate`, on
/// the version staged for its audit (`catalog::audit::candidate_table`).
pub async fn start_verify(
    env: &Env,
    run_id: String,
    policy: PolicyRef,
    table: TableNames,
    candidate: bool,
) -> Result<VerifyStarted, Error> {
    check_run_id(&run_id)?;
    let policy = pinning::policy(env, &policy).await?;
    let Some(table_policy) = policy.for_table(&table.source) else {
        return Ok(VerifyStarted {
            skipped: true,
            table: table.name,
            query_execution_id: None,
        });
    };
    let audited = if candidate {
        (env.config.raw_database.clone(), audit::candidate_table(&table.name))
    } else {
        (env.config.curated_database.clone(), table.name.clone())
    };
    let query = generate::verify(
        (&env.config.raw_database, &table.name),
        (&audited.0, &audited.1),
        table_policy,
    )?;
    let id = start(env, &run_id, "verify", &table.name, &query).await?;
    Ok(VerifyStarted {
        skipped: false,
        table: table.name,
        query_execution_id: Some(id),
    })
}
