//! CheckExport: the export's status for the Wait/Choice loop; once COMPLETE,
//! the table plan, written to S3 (only its key travels in the state).

use jiff::Timestamp;
use serde_json::json;
use tracing::{info, warn};

use super::parse;
use crate::aws::{rds, s3, to_timestamp};
use crate::contract::export_poller::{PlanRef, PollRequest, PollResult};
use crate::env::Env;
use crate::error::Error;
use crate::export::plan;
use crate::export::status::ExportStatus;
use crate::export::tables_info::{self, TableStatus};
use crate::export::{export_path, poll_cadence};
use crate::metrics;

pub async fn handle(env: &Env, input: serde_json::Value) -> Result<PollResult, Error> {
    let request: PollRequest = parse("export-poller input", input)?;
    run(env, &request).await
}

pub async fn run(env: &Env, req: &PollRequest) -> Result<PollResult, Error> {
    let id = &req.export_id;
    let task = rds::find_export(&env.clients.rds, id).await?.ok_or_else(|| {
        Error::invalid_input(
            "export_id",
            format!("no export task {id} exists; was it started in another region?"),
        )
    })?;
    let status = ExportStatus::of(task.status());
    let mut result = PollResult {
        export_id: id.clone(),
        status: status.clone(),
        percent_progress: task.percent_progress().unwrap_or(0),
        extracted_gb: task.total_extracted_data_in_gb().unwrap_or(0),
        done: false,
        plan: None,
        completed_at: None,
        snapshot_arn: task.source_arn().map(str::to_string),
        wait_seconds: poll_cadence::next_wait(
            age_seconds(task.task_start_time()),
            req.min_wait_seconds.unwrap_or(DEFAULT_MIN_WAIT_SECONDS),
        ),
    };
    match status {
        s if s.is_failed() => {
            let cause = task.failure_cause().unwrap_or("RDS gave no cause");
            let fix = if !s.is_terminal() {
                "once RDS shows it CANCELED, run the day again (`snaplake run --retry`): it starts a new export"
            } else {
                "fix the cause, then run the day again (`snaplake run --retry`): it starts a new export"
            };
            Err(Error::ExportFailed {
                export_id: id.clone(),
                status: s.to_string(),
                cause: format!("{cause}; {fix}"),
            })
        }
        ExportStatus::Complete => {
            let source_bucket = task.s3_bucket().unwrap_or(&env.config.bucket).to_string();
            let export_path = export_path(task.s3_prefix().unwrap_or_default(), id);
            let plan_bucket = req.bucket.clone().unwrap_or_else(|| env.config.bucket.clone());
            let warning = task.warning_message();
            result.plan = Some(write_plan(env, req, &source_bucket, &export_path, warning, &plan_bucket).await?);
            result.done = true;
            let (started, ended) = (task.task_start_time(), task.task_end_time());
            let (started, ended) = (started.map(to_timestamp), ended.map(to_timestamp));
            result.completed_at = Some(ended.unwrap_or_else(Timestamp::now).to_string());
            metrics::export_duration(metrics::source(&env.config), Timestamp::now(), started, ended).emit();
            Ok(result)
        }
        _ => Ok(result),
    }
}

/// The module's `export_poll_seconds`, for a request that does not say.
const DEFAULT_MIN_WAIT_SECONDS: u64 = 60;

/// Seconds since RDS started the export, if it says when.
fn age_seconds(started: Option<&aws_smithy_types::DateTime>) -> Option<u64> {
    let started = to_timestamp(started?);
    u64::try_from(Timestamp::now().duration_since(started).as_secs()).ok()
}

async fn write_plan(
    env: &Env,
    req: &PollRequest,
    bucket: &str,
    export_path: &str,
    task_warning: Option<&str>,
    plan_bucket: &str,
) -> Result<PlanRef, Error> {
    let id = &req.export_id;
    let keys = s3::list_keys(&env.clients.s3, bucket, &format!("{export_path}/")).await?;
    let info_key = format!("{export_path}/export_info_{id}.json");
    if !keys.contains(&info_key) {
        return Err(Error::invalid_input(
            "export_id",
            format!(
                "export {id} is COMPLETE but s3://{bucket}/{info_key} is missing; were the files moved or deleted?"
            ),
        ));
    }
    let tables_prefix = format!("{export_path}/export_tables_info_{id}_from_");
    let mut statuses: Vec<TableStatus> = Vec::new();
    for key in keys
        .iter()
        .filter(|k| k.starts_with(&tables_prefix) && k.ends_with(".json"))
    {
        let body = s3::get_bytes(&env.clients.s3, bucket, key).await?.unwrap_or_default();
        statuses.extend(tables_info::parse_tables_info(key, &body)?);
    }
    let plan = plan::build(
        bucket,
        export_path,
        &statuses,
        &keys,
        task_warning,
        req.on_table_failure,
        req.batch_size,
    )?;
    let key = format!("{}/plans/{id}.json", env.config.control_prefix);
    s3::put_json(&env.clients.s3, plan_bucket, &key, &json!(plan.batches)).await?;
    let skipped_key = if plan.skipped.is_empty() {
        None
    } else {
        let skipped_key = format!("{}/plans/{id}.skipped.json", env.config.control_prefix);
        s3::put_json(&env.clients.s3, plan_bucket, &skipped_key, &json!(plan.skipped)).await?;
        Some(skipped_key)
    };
    info!(export_id = %id, tables = plan.table_count(), skipped = plan.skipped.len(), plan = %key, "wrote the table plan");
    for warning in &plan.warnings {
        warn!(export_id = %id, %warning, "RDS noted a problem with the export");
    }
    Ok(PlanRef {
        bucket: plan_bucket.to_string(),
        key,
        tables: plan.table_count(),
        batches: plan.batches.len(),
        skipped: plan.skipped.len(),
        skipped_key,
        warnings: plan.warnings,
    })
}
