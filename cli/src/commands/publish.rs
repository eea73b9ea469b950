//! `snaplake publish --export-id X`: an export made elsewhere (console, AWS
//! Backup) goes through the same state machine, adopted by snapshot-export.

use std::process::ExitCode;

use jiff::Timestamp;
use serde_json::Value;
use snaplake::aws::{rds, to_timestamp};
use snaplake::export::snapshot_choice;
use snaplake::export::status::ExportStatus;
use snaplake::logical_time::LogicalTime;

use crate::args::{Format, PublishArgs};
use crate::failure::Failure;
use crate::runs;
use crate::stack::Stack;

pub async fn publish(stack: &Stack, args: &PublishArgs, format: Format) -> Result<ExitCode, Failure> {
    let id = args.export_id.trim();
    snaplake::export_id::validate(id).map_err(|why| Failure::Usage(format!("--export-id {id:?} {why}")))?;
    let task = rds::find_export(&stack.env.clients.rds, id).await?.ok_or_else(|| {
        Failure::not_found(
            format!("export task {id} in {}", stack.aws.region()),
            "copy the identifier from the RDS console (Exports in Amazon S3); exports are regional, so check --region",
        )
    })?;
    let status = ExportStatus::of(task.status());
    if status.is_failed() {
        return Err(Failure::Failed(format!(
            "export task {id} ended {status} ({}); it has nothing to publish",
            task.failure_cause().unwrap_or("RDS gave no cause")
        )));
    }
    let t = match (args.date, task.snapshot_time()) {
        (Some(day), _) => stack.logical_time(day)?,
        (None, Some(taken)) => LogicalTime::at(to_timestamp(taken)).map_err(|e| Failure::Failed(reason(e)))?,
        (None, None) => {
            return Err(Failure::Usage(format!(
                "export task {id} does not say when its snapshot was taken; pass --date"
            )));
        }
    };
    if let (Some(day), Some(taken)) = (args.date, task.snapshot_time()) {
        // The function checks this too; refused here, nothing is started.
        let window = t.day_window(&stack.env.config.time_zone);
        snapshot_choice::check_snapshot_day(id, to_timestamp(taken), window, Timestamp::now())
            .map_err(|e| Failure::Usage(format!("--date {day}: {}", reason(e))))?;
    }
    let mut input = stack.input(t);
    input["export"]["export_id"] = Value::String(id.to_string());
    super::run::force_tables(&mut input, &args.force_table)?;
    let started = runs::start_named(stack, &format!("publish-{id}"), &input).await?;
    super::run::report(stack, stack.day_of(t), started, &args.wait, format).await
}

fn reason(e: snaplake::Error) -> String {
    match e {
        snaplake::Error::InvalidInput { reason, .. } => reason,
        other => other.to_string(),
    }
}
