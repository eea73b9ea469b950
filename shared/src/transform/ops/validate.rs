//! ValidatePolicy: the pinned masking policy against every raw table of the
//! run, before any query runs.

use tracing::warn;

use super::raw_columns;
use crate::aws::s3;
use crate::contract::export_poller::PlanRef;
use crate::contract::query_runner::{TableNames, Validated};
use crate::env::Env;
use crate::error::Error;
use crate::pinning::{self, PolicyRef};

/// Checks the policy against the tables named and every table of the plan.
pub async fn validate(
    env: &Env,
    policy: PolicyRef,
    mut tables: Vec<TableNames>,
    plan: Option<PlanRef>,
) -> Result<Validated, Error> {
    let policy = pinning::policy(env, &policy).await?;
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
    Ok(Validated {
        valid: true,
        published,
        skipped: found.skipped,
        unclassified: found.unclassified,
        dropped_unlisted: found.dropped_unlisted,
        missing: found.missing,
    })
}

/// The tables of a plan (a JSON array of `{"Items": [...]}` batches).
async fn plan_tables(env: &Env, plan: &PlanRef) -> Result<Vec<TableNames>, Error> {
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
