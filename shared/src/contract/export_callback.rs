//! export-callback's requests and responses: the wait for an export
//! (WaitForExport and the S3 and RDS events that end it) and the day lock
//! (AcquireDayLock, ReleaseDayLock). It answers a list of [`Outcome`]s, one
//! per thing it did.

use serde::{Deserialize, Serialize};

use crate::export::status::ExportStatus;

/// The detail of S3's "Object Created" event through EventBridge (the fields
/// this function uses; `aws_lambda_events` types the envelope only).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectCreated {
    pub bucket: BucketName,
    pub object: ObjectKey,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BucketName {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectKey {
    /// As stored: EventBridge does not URL-encode it (a direct S3
    /// notification does).
    pub key: String,
}

/// The fields of an RDS event's detail (through EventBridge) this function uses.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RdsEventDetail {
    /// What happened, e.g. `RDS-EVENT-0163`: decided on, never the message text.
    #[serde(rename = "EventID")]
    pub event_id: String,
    /// The snapshot whose export the event is about.
    #[serde(rename = "SourceArn")]
    pub source_arn: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitRequest {
    pub task_token: String,
    pub export_id: String,
    /// The waiting execution's name (`$$.Execution.Name`): tokens are stored
    /// per execution, so two runs waiting for one export never overwrite
    /// each other's.
    pub execution: String,
}

/// The day lock's two steps, at the start and at the end of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayLockRequest {
    pub day_lock: DayLockAction,
    pub logical_time: String,
    /// The run's execution ARN (`$$.Execution.Id`).
    pub execution: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayLockAction {
    Acquire,
    Release,
}

/// What one invocation did, for the logs and the tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// The token is stored; the S3 event will answer it.
    Waiting { export_id: String },
    /// The export had ended: the token was answered now.
    Answered {
        export_id: String,
        status: ExportStatus,
        delivered: bool,
    },
    /// No stored token (an export started elsewhere, or already answered).
    NoToken { export_id: String },
    /// The export_info file exists but RDS still reports the export running.
    StillRunning { export_id: String, status: ExportStatus },
    /// Not an export_info file: nothing to do.
    Ignored { key: String },
    /// An RDS event that is not about a failed or canceled export.
    IgnoredEvent { event_id: String },
    /// This run holds its day: it goes on.
    DayAcquired { day: String },
    /// Another run of the day is running: this one ends ("already running").
    DayBusy { day: String, holder: String },
    /// The run's end: the day's lock is let go (`released` is false when
    /// this run did not hold it).
    DayReleased { day: String, released: bool },
}

/// What a waiting run is resumed with when its export completed (the task
/// token's success output, WaitForExport's result).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportAnswer {
    pub export_id: String,
    pub status: ExportStatus,
    pub percent_progress: i32,
}
