//! ValidatePolicy: the pinned masking policy against every raw table of the
//! run, before any query runs.

use std::collections::{BTreeMap, HashMap};

use tracing::warn;

use super::raw_columns;
use crate::aws::{glue, s3};
use crate::catalog::schema::Column;
use crate::contract::export_poller::PlanRef;
use crate::contract::query_runner::{TableNames, Validated};
use crate::contract::snapshot_export::PolicyRef;
use crate::env::Env;
use crate::error::Error;
use crate::pinning;

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
    let schemas = schemas(env, &tables).await?;
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
    let published: Vec<String> = tables
        .iter()
        .filter(|t| found.published.contains(&t.source))
        .map(|t| t.name.clone())
        .collect();
    Ok(Validated {
        valid: true,
        published_count: published.len(),
        lists_cut: false,
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

/// Above this many tables, the raw database is read a page (100 tables) at a
/// time instead of one GetTable per table: 10,000 tables are 100 calls, well
/// inside the function's timeout.
const PAGED_ABOVE: usize = 20;

/// Each table's raw columns, keyed by its source name.
async fn schemas(env: &Env, tables: &[TableNames]) -> Result<Vec<(String, Vec<Column>)>, Error> {
    if tables.len() <= PAGED_ABOVE {
        let mut out = Vec::new();
        for t in tables {
            out.push((t.source.clone(), raw_columns(env, t).await?));
        }
        return Ok(out);
    }
    let database = &env.config.raw_database;
    let mut raw: HashMap<String, glue::TableState> = glue::list_tables(&env.clients.glue, database)
        .await?
        .into_iter()
        .collect();
    let missing: Vec<&str> = tables
        .iter()
        .filter(|t| !raw.contains_key(&t.name))
        .map(|t| t.name.as_str())
        .collect();
    if !missing.is_empty() {
        let (named, more) = crate::catalog::run_manifest::first(missing.iter().map(|s| s.to_string()), 10);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        return Err(Error::invalid_input(
            "plan",
            format!(
                "raw table(s) {}{more} do not exist in {database}; RegisterRaw registers them before the policy is validated",
                named.join(", ")
            ),
        ));
    }
    Ok(tables
        .iter()
        .map(|t| {
            (
                t.source.clone(),
                raw.remove(&t.name).map(|s| s.columns).unwrap_or_default(),
            )
        })
        .collect())
}

/// The answer with every list cut to `max` names (the counts stay whole).
pub fn bounded(mut v: Validated, max: Option<usize>) -> Validated {
    let Some(max) = max else { return v };
    let cut = |list: &mut Vec<String>| {
        let over = list.len() > max;
        list.truncate(max);
        over
    };
    let cut_map = |map: &mut BTreeMap<String, Vec<String>>| {
        let over = map.len() > max;
        while map.len() > max {
            map.pop_last();
        }
        over
    };
    let over = [cut(&mut v.published), cut(&mut v.skipped), cut(&mut v.missing)]
        .into_iter()
        .chain([cut_map(&mut v.unclassified), cut_map(&mut v.dropped_unlisted)])
        .fold(false, |a, b| a | b);
    v.lists_cut |= over;
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_lists_keep_their_counts() {
        let names = |n: usize| (0..n).map(|i| format!("t{i}")).collect::<Vec<_>>();
        let v = Validated {
            valid: true,
            published_count: 10_000,
            lists_cut: false,
            published: names(10_000),
            skipped: names(3),
            unclassified: names(50).into_iter().map(|t| (t, vec!["ssn".to_string()])).collect(),
            dropped_unlisted: BTreeMap::new(),
            missing: Vec::new(),
        };
        let cut = bounded(v.clone(), Some(20));
        assert_eq!((cut.published.len(), cut.published_count), (20, 10_000));
        assert_eq!(cut.skipped.len(), 3);
        assert_eq!(cut.unclassified.len(), 20);
        assert!(cut.lists_cut);
        assert!(serde_json::to_vec(&cut).unwrap().len() < 4096);
        assert_eq!(bounded(v.clone(), None), v);
    }
}
