//! export-poller's request and response (CheckExport): the export's status
//! for the Wait/Choice loop, and once COMPLETE where the table plan is.

use serde::{Deserialize, Serialize};

use crate::export::plan::OnTableFailure;
use crate::export::status::ExportStatus;

/// The input of export-poller.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PollRequest {
    pub export_id: String,
    /// Defaults to `SNAPLAKE_BUCKET`.
    #[serde(default)]
    pub bucket: Option<String>,
    #[serde(default)]
    pub on_table_failure: OnTableFailure,
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// The shortest wait before the next look (`export_poll_seconds`); the
    /// answer's `wait_seconds` grows with the export's age from it.
    #[serde(default)]
    pub min_wait_seconds: Option<u64>,
}

fn default_batch_size() -> usize {
    10
}

/// What export-poller answers for the Choice state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollResult {
    pub export_id: String,
    pub status: ExportStatus,
    pub percent_progress: i32,
    pub extracted_gb: i32,
    /// True once COMPLETE and the plan is written.
    pub done: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanRef>,
    /// When RDS finished the export (RFC 3339), once COMPLETE; the report
    /// measures the delay to the last table published from it. Always
    /// present (null before): the state machine's Report reads it.
    #[serde(default)]
    pub completed_at: Option<String>,
    /// The snapshot exported (the export task's source), for the run's
    /// manifest. Always present (null before RDS answers with it).
    #[serde(default)]
    pub snapshot_arn: Option<String>,
    /// How long the state machine waits before it looks again
    /// (`export::poll_cadence`): the Wait state's `SecondsPath`.
    #[serde(default)]
    pub wait_seconds: u64,
}

/// Where the plan is; the plan itself never travels in the state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRef {
    pub bucket: String,
    pub key: String,
    pub tables: usize,
    pub batches: usize,
    /// How many tables the export did not complete (the policy let the run
    /// go on without them); `skipped_key` lists them. A count, not the list:
    /// nothing in the state grows with the number of tables.
    pub skipped: usize,
    /// The JSON list of those tables (`SkippedTable`s), beside the plan;
    /// absent when none was skipped.
    #[serde(default)]
    pub skipped_key: Option<String>,
    /// What RDS noted about the export beyond single tables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}
