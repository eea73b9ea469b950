//! The run's lineage (`crate::lineage`), told where a data team looks: its
//! START posted by snapshot-export when the run begins, its end (COMPLETE or
//! FAIL) posted by Report, and all of them written beside the run's manifest
//! (`<control prefix>/runs/<day>/<run>.lineage.json`). Posting goes to the
//! Glue Data Catalog's lineage (`SNAPLAKE_LINEAGE=glue`), with the SDK's
//! retries. Lineage never fails a run or a table: what could not be posted
//! or written is said in the log and in the manifest's `lineage`.

use std::collections::HashMap;

use futures_util::{StreamExt, stream};
use jiff::Timestamp;
use tracing::{info, warn};

use crate::aws::glue::{self, TableState};
use crate::catalog::ops::report;
use crate::catalog::run_manifest;
use crate::catalog::schema::Column;
use crate::contract::catalog_swap::RunFailed;
use crate::contract::masking_policy::MaskingPolicy;
use crate::contract::run_report::{ReportRequest, RunCounts, TableReport};
use crate::contract::snapshot_export::{ExportRequest, PolicyRef};
use crate::env::Env;
use crate::error::Error;
use crate::export::plan::glue_name;
use crate::lineage::{self, Execution, LineageRecord, MAX_EVENT_BYTES, Published, RunEnd, RunEvent};
use crate::metrics;
use crate::pinning;
use crate::transform::policy_sql;

/// PostLineageEvent calls in flight at once for a large run's end.
const POSTS_AT_ONCE: usize = 8;

/// Posts the run's START, when the deployment posts lineage and the state
/// machine named the execution. Never fails the export: a refusal is logged.
pub async fn post_start(env: &Env, request: &ExportRequest) {
    let (Some(arn), Some(started_at)) = (request.execution_arn.as_deref(), request.started_at) else {
        return;
    };
    if !env.config.lineage_to_glue {
        return;
    }
    let execution = match Execution::parse(arn) {
        Ok(e) => e,
        Err(reason) => return warn!(reason, "the run's lineage START is not posted"),
    };
    let event = lineage::start_event(&execution, started_at, request.logical_time);
    match post(env, &event).await {
        Ok(()) => info!(
            run_id = event.run.run_id,
            "the run's lineage START was posted to the Glue Data Catalog"
        ),
        Err(problem) => warn!(problem, "the run's lineage START was not posted; the run goes on"),
    }
}

async fn post(env: &Env, event: &RunEvent) -> Result<(), String> {
    let body = serde_json::to_string(event).expect("an event serializes");
    glue::post_lineage_event(&env.clients.glue, &body)
        .await
        .map_err(|e| format!("PostLineageEvent ({:?}, {} bytes): {e}", event.event_type, body.len()))
}

/// Builds the run's end events, posts them (when the deployment posts
/// lineage) and writes them with the START beside the manifest. None when
/// the request names no execution or run (an earlier state machine's).
pub async fn end_of_run(
    env: &Env,
    request: &ReportRequest,
    tables: &[TableReport],
    live: Result<Vec<(String, TableState)>, Error>,
) -> Option<LineageRecord> {
    let arn = request.run.execution_arn.as_deref()?;
    let run_id = request.run_id.as_deref()?;
    let logical_time = request.run.logical_time?;
    let mut record = LineageRecord::default();
    let execution = match Execution::parse(arn) {
        Ok(e) => e,
        Err(reason) => {
            record.problems.push(reason);
            return Some(record);
        }
    };
    let cfg = &env.config;
    let day = logical_time.day(&cfg.time_zone);
    let manifest_key = run_manifest::key(&cfg.control_prefix, day, run_id);
    let counts = metrics::count(tables, 0);
    let failure = report::summarize(tables, counts.clone(), None)
        .err()
        .map(|e| e.to_string());
    let policy = match pinned_policy(env, request).await {
        Ok(p) => p,
        Err(problem) => {
            record.problems.push(problem);
            None
        }
    };
    let live = live_columns(live, &mut record.problems);
    let sources = sources(policy.as_deref());
    let published: Vec<Published> = tables
        .iter()
        .filter(|t| lineage::is_published(t))
        .map(|t| {
            let table_policy = sources
                .get(&t.table)
                .and_then(|s| policy.as_deref().and_then(|p| p.tables.get(*s)));
            Published {
                report: t,
                source: sources.get(&t.table).copied(),
                columns: live.get(&t.table).map(Vec::as_slice),
                policy: table_policy,
                filter_columns: table_policy
                    .and_then(|p| p.row_filter.as_deref())
                    .map(policy_sql::filter_columns)
                    .unwrap_or_default(),
            }
        })
        .collect();
    let (end, notes) = lineage::end_event(
        &RunEnd {
            execution: &execution,
            ended_at: Timestamp::now(),
            logical_time,
            snapshot_arn: request.run.snapshot_arn.as_deref(),
            export_id: request.run.export_id.as_deref(),
            policy_digest: request.run.policy_digest.as_deref(),
            manifest: Some(run_manifest::uri(&cfg.bucket, &manifest_key)),
            raw_database: &cfg.raw_database,
            curated_database: &cfg.curated_database,
            counts: &counts,
            failure,
        },
        &published,
        MAX_EVENT_BYTES,
    );
    drop(published);
    drop(live);
    let ends = lineage::fit(end, MAX_EVENT_BYTES);
    record.problems.extend(notes);
    let start = request
        .run
        .started_at
        .map(|t| lineage::start_event(&execution, t, logical_time));
    tell(
        env,
        start,
        ends,
        &run_manifest::lineage_key(&cfg.control_prefix, day, run_id),
        &mut record,
    )
    .await;
    Some(record)
}

/// Ends the lineage of a run that failed before Report told its end: a FAIL
/// naming the step and the error. A run whose Report failed it for its
/// tables (`TablesFailed`) was told by Report already.
pub async fn run_failed(env: &Env, failed: &RunFailed) -> LineageRecord {
    let mut record = LineageRecord::default();
    if failed.step == "Report" && failed.error == "TablesFailed" {
        info!("Report told this run's end to its lineage");
        return record;
    }
    let execution = match Execution::parse(&failed.execution_arn) {
        Ok(e) => e,
        Err(reason) => {
            warn!(reason, "the run's lineage FAIL is not told");
            record.problems.push(reason);
            return record;
        }
    };
    let cfg = &env.config;
    let counts = RunCounts::default();
    let (end, _) = lineage::end_event(
        &RunEnd {
            execution: &execution,
            ended_at: Timestamp::now(),
            logical_time: failed.logical_time,
            snapshot_arn: None,
            export_id: None,
            policy_digest: None,
            manifest: None,
            raw_database: &cfg.raw_database,
            curated_database: &cfg.curated_database,
            counts: &counts,
            failure: Some(format!("the run failed at {}: {}", failed.step, failed.error)),
        },
        &[],
        MAX_EVENT_BYTES,
    );
    let start = failed
        .started_at
        .map(|t| lineage::start_event(&execution, t, failed.logical_time));
    let day = failed.logical_time.day(&cfg.time_zone);
    let key = run_manifest::lineage_key(&cfg.control_prefix, day, &failed.run_id);
    tell(env, start, lineage::fit(end, MAX_EVENT_BYTES), &key, &mut record).await;
    record
}

/// Posts the end events (when the deployment posts lineage) and writes them,
/// after the START, to `key`; each problem goes to the record and the log.
async fn tell(env: &Env, start: Option<RunEvent>, ends: Vec<RunEvent>, key: &str, record: &mut LineageRecord) {
    if env.config.lineage_to_glue
        && let Some((last, parts)) = ends.split_last()
    {
        // The parts of a large end (OTHER) at once, then the end itself, last.
        let parts: Vec<Result<(), String>> = stream::iter(parts)
            .map(|event| post(env, event))
            .buffer_unordered(POSTS_AT_ONCE)
            .collect()
            .await;
        for posted in parts.into_iter().chain([post(env, last).await]) {
            match posted {
                Ok(()) => record.posted += 1,
                Err(problem) => record.problems.push(problem),
            }
        }
    }
    // The JSON list of the events, each freed once written: a large run's
    // end is held once, not twice.
    let mut body = vec![b'['];
    for (i, event) in start.into_iter().chain(ends).enumerate() {
        if i > 0 {
            body.push(b',');
        }
        serde_json::to_writer(&mut body, &event).expect("an event serializes");
    }
    body.push(b']');
    match report::write_manifest(env, key, body).await {
        Ok(()) => record.events = Some(run_manifest::uri(&env.config.bucket, key)),
        Err(e) => record
            .problems
            .push(format!("the run's lineage events were not written to {key}: {e}")),
    }
    for problem in &record.problems {
        warn!(problem, "the run's lineage is incomplete; the run goes on");
    }
}

/// The pinned policy, read by its digest. None where nothing is pinned
/// (local tests): the events then carry no column lineage.
async fn pinned_policy(env: &Env, request: &ReportRequest) -> Result<Option<std::sync::Arc<MaskingPolicy>>, String> {
    if env.config.policy_digest.is_none() {
        return Err("no masking policy is pinned: the events carry no column lineage".into());
    }
    let input = PolicyRef {
        policy: None,
        policy_digest: request.run.policy_digest.clone(),
    };
    pinning::policy(env, &input)
        .await
        .map(Some)
        .map_err(|e| format!("the pinned policy could not be read, so the events carry no column lineage: {e}"))
}

/// Each policy table's Glue name and its source name (`shop_customers` →
/// `shop.customers`).
fn sources(policy: Option<&MaskingPolicy>) -> HashMap<String, &str> {
    policy
        .map(|p| {
            p.tables
                .keys()
                .map(|source| (glue_name(source), source.as_str()))
                .collect()
        })
        .unwrap_or_default()
}

/// The live curated tables' columns, by table.
fn live_columns(
    live: Result<Vec<(String, TableState)>, Error>,
    problems: &mut Vec<String>,
) -> HashMap<String, Vec<Column>> {
    match live {
        Ok(live) => live.into_iter().map(|(name, t)| (name, t.columns)).collect(),
        Err(e) => {
            problems.push(format!(
                "the curated tables could not be listed, so the events carry no schema: {e}"
            ));
            HashMap::new()
        }
    }
}
