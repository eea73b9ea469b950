//! StartExport: resolve the snapshot of the run's day, derive the export id,
//! adopt the export with that id if it exists, else preflight and start it.
//! A second invocation for the same run never starts a second export; a run
//! after a FAILED or CANCELED export starts the day's next attempt (RDS keeps
//! a failed id taken for good).

use aws_sdk_rds::types::ExportTask;
use jiff::{SignedDuration, Timestamp};
use tracing::info;

use crate::aws::{kms, rds, s3, to_timestamp};
use crate::contract::snapshot_export::{ExportRequest, ExportRun};
use crate::env::Env;
use crate::error::Error;
use crate::export::snapshot_choice::{self, SnapshotInfo, Window};
use crate::export::status::ExportStatus;
use crate::export::{day_prefix, export_path};
use crate::export_id::{attempt_id, export_id};
use crate::pinning::{self, Judged};

/// Export attempts of one day after which snaplake stops and asks for a person.
pub const MAX_EXPORT_ATTEMPTS: u32 = 20;

/// `now` only decides whether a missing snapshot is still worth waiting for;
/// everything else follows from the logical time.
pub async fn run(env: &Env, req: &ExportRequest, now: Timestamp) -> Result<ExportRun, Error> {
    req.validate()?;
    // A run may only repeat what the deployment pins: refused here, before
    // anything is exported.
    pinning::check_export(&env.config, Judged::Input(req))?;
    if let Some(publish) = &req.publish {
        pinning::check_pinned(env, publish).await?;
    }
    if let Some(id) = &req.export_id {
        return publish_existing(env, req, id, now).await;
    }
    let cfg = &env.config;
    let day = req.logical_time.day(&cfg.time_zone);
    let day_id = export_id(&cfg.export_id_prefix, &req.source_id, day)?;
    let (id, existing) = current_attempt(env, &day_id).await?;
    // The input's bucket, if it names one, is this one (checked above).
    let bucket = cfg.bucket.clone();
    let s3_prefix = day_prefix(&cfg.export_prefix, &req.source_id, day);
    let snapshot = day_snapshot(env, req, now).await?;
    let run = |task: &ExportTask, adopted: bool| ExportRun {
        export_id: id.clone(),
        logical_day: day.to_string(),
        source_id: req.source_id.clone(),
        snapshot_arn: snapshot.arn.clone(),
        snapshot_time: task
            .snapshot_time()
            .map(|t| to_timestamp(t).to_string())
            .unwrap_or(snapshot.created.to_string()),
        snapshot_gb: snapshot.allocated_gb,
        bucket: task.s3_bucket().unwrap_or(&bucket).to_string(),
        s3_prefix: task.s3_prefix().unwrap_or(&s3_prefix).to_string(),
        export_path: export_path(task.s3_prefix().unwrap_or(&s3_prefix), &id),
        status: ExportStatus::of(task.status()),
        adopted,
    };

    if let Some(existing) = existing {
        return adopt(env, &id, &snapshot, &existing).map(|()| run(&existing, true));
    }

    s3::check_bucket(&env.clients.s3, &bucket).await?;
    kms::check_export_key(&env.clients.kms, &req.kms_key).await?;
    let start = rds::StartExport {
        export_id: id.clone(),
        snapshot_arn: snapshot.arn.clone(),
        bucket: bucket.clone(),
        s3_prefix: s3_prefix.clone(),
        role_arn: req.export_role_arn.clone(),
        kms_key: req.kms_key.clone(),
        export_only: req.tables.clone(),
    };
    match rds::start_export(&env.clients.rds, &start).await? {
        rds::Started::Started(task) => {
            info!(export_id = %id, snapshot = %snapshot.id, %bucket, %s3_prefix, "started export");
            Ok(run(&task, false))
        }
        rds::Started::AlreadyExists => {
            // Another invocation won the race between our lookup and our start.
            let existing = rds::find_export(&env.clients.rds, &id)
                .await?
                .ok_or_else(|| Error::Aws {
                    service: "rds".into(),
                    operation: "DescribeExportTasks".into(),
                    resource: id.clone(),
                    code: "ExportTaskNotFound".into(),
                    message: "StartExportTask said the export exists, but it cannot be described".into(),
                    fix: Some("run the state again".into()),
                })?;
            adopt(env, &id, &snapshot, &existing).map(|()| run(&existing, true))
        }
    }
}

/// The day's export attempt to adopt or start: the first whose id is free or
/// whose export has not ended FAILED or CANCELED, with its task if it exists.
async fn current_attempt(env: &Env, day_id: &str) -> Result<(String, Option<ExportTask>), Error> {
    let mut last = None;
    for attempt in 1..=MAX_EXPORT_ATTEMPTS {
        let id = attempt_id(day_id, attempt);
        match rds::find_export(&env.clients.rds, &id).await? {
            Some(task) if ExportStatus::of(task.status()).ended_without_data() => {
                info!(export_id = %id, status = task.status().unwrap_or_default(), "this attempt ended without data; trying the next");
                last = Some(task);
            }
            found => return Ok((id, found)),
        }
    }
    let last = last.expect("the loop ran at least once");
    Err(Error::ExportFailed {
        export_id: last.export_task_identifier().unwrap_or(day_id).to_string(),
        status: last.status().unwrap_or_default().to_ascii_uppercase(),
        cause: format!(
            "all {MAX_EXPORT_ATTEMPTS} export attempts of this day ended without data (last: {}); fix the cause \
             (RDS console, Exports in Amazon S3) before running the day again",
            last.failure_cause().unwrap_or("RDS gave no cause")
        ),
    })
}

/// The snapshot of the run's logical day (`snaplake plan` and `doctor` ask too).
pub async fn day_snapshot(env: &Env, req: &ExportRequest, now: Timestamp) -> Result<SnapshotInfo, Error> {
    let (start, end) = req.logical_time.day_window(&env.config.time_zone);
    let window = Window {
        start,
        end,
        deadline: end + SignedDuration::from_hours(req.snapshot_deadline_hours.into()),
    };
    let snapshots = rds::list_snapshots(
        &env.clients.rds,
        req.source_kind,
        &req.source_id,
        req.include_manual_snapshots,
    )
    .await?;
    snapshot_choice::choose(&req.source_id, &snapshots, window, req.include_manual_snapshots, now)
}

/// `snaplake publish --export-id`: an export made elsewhere is taken as it
/// is (its snapshot, bucket and prefix) when it is made with what the
/// deployment pins, and only as the day its snapshot was taken; nothing is
/// started.
async fn publish_existing(env: &Env, req: &ExportRequest, id: &str, now: Timestamp) -> Result<ExportRun, Error> {
    let task = rds::find_export(&env.clients.rds, id).await?.ok_or_else(|| {
        Error::invalid_input(
            "export_id",
            format!("no export task {id} exists in this account and region; check the id in the RDS console (Exports in Amazon S3)"),
        )
    })?;
    // The input's source is the pinned one (checked in `run`).
    let listed = rds::list_snapshots(&env.clients.rds, req.source_kind, &req.source_id, true).await?;
    let source_snapshots: Vec<String> = listed.iter().map(|s| s.arn.clone()).collect();
    let judged = Judged::Task {
        task: &task,
        source_snapshots: &source_snapshots,
    };
    pinning::check_export(&env.config, judged)?;
    let taken = task
        .snapshot_time()
        .map(to_timestamp)
        .or_else(|| {
            listed
                .iter()
                .find(|s| Some(s.arn.as_str()) == task.source_arn())
                .map(|s| s.created)
        })
        .ok_or_else(|| {
            Error::invalid_input(
                "export_id",
                format!(
                    "export {id} does not say when its snapshot was taken and the snapshot is gone, so the day \
                     it stands for cannot be checked; export a snapshot that still exists"
                ),
            )
        })?;
    let window = req.logical_time.day_window(&env.config.time_zone);
    snapshot_choice::check_snapshot_day(id, taken, window, now)?;
    let status = ExportStatus::of(task.status());
    if status.is_failed() {
        return Err(Error::ExportFailed {
            export_id: id.to_string(),
            status: status.to_string(),
            cause: task.failure_cause().unwrap_or("RDS gave no cause").to_string(),
        });
    }
    let s3_prefix = task.s3_prefix().unwrap_or_default().to_string();
    info!(export_id = %id, %status, "publishing an existing export");
    Ok(ExportRun {
        export_id: id.to_string(),
        logical_day: req.logical_time.day(&env.config.time_zone).to_string(),
        source_id: req.source_id.clone(),
        snapshot_arn: task.source_arn().unwrap_or_default().to_string(),
        snapshot_time: taken.to_string(),
        snapshot_gb: None,
        bucket: task.s3_bucket().unwrap_or(&env.config.bucket).to_string(),
        export_path: export_path(&s3_prefix, id),
        s3_prefix,
        status,
        adopted: true,
    })
}

/// An export with our id is ours only if it exports the snapshot we chose,
/// made with what the deployment pins (its bucket, prefix, key and role).
fn adopt(env: &Env, id: &str, snapshot: &SnapshotInfo, existing: &ExportTask) -> Result<(), Error> {
    let source = existing.source_arn().unwrap_or_default();
    if source != snapshot.arn {
        return Err(Error::ExportConflict {
            export_id: id.to_string(),
            existing_source: source.to_string(),
            wanted_source: snapshot.arn.clone(),
        });
    }
    let judged = Judged::Task {
        task: existing,
        source_snapshots: std::slice::from_ref(&snapshot.arn),
    };
    pinning::check_export(&env.config, judged)?;
    info!(export_id = %id, status = existing.status().unwrap_or_default(), "adopted the existing export");
    Ok(())
}
