//! The run's report, catalog-swap's `report` action: what Report reads (the
//! PublishTables Map's results, the plan's skipped tables, the run's
//! lineage), each table's line in it, and what it answers (the counts and a
//! few failed tables, bounded whatever the number of tables).

use serde::{Deserialize, Serialize};

use crate::contract::export_poller::PlanRef;
use crate::export::plan::SkippedTable;
use crate::logical_time::LogicalTime;

/// `report`'s input: where the PublishTables Map wrote its results, the
/// plan (for the tables the export did not complete), and what the run's
/// manifest records about the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportRequest {
    pub results: ReportResults,
    /// The tables the export did not complete, inline (as earlier state
    /// machines send them); the plan's `skipped_key` lists them otherwise.
    #[serde(default)]
    pub not_exported: Vec<SkippedTable>,
    #[serde(default)]
    pub plan: Option<PlanRef>,
    /// The execution's name: the run's manifest is written only with it.
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(flatten)]
    pub run: RunLineage,
}

/// What a run was made of: the state machine hands it to Report, which
/// records it in the manifest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunLineage {
    #[serde(default)]
    pub logical_time: Option<LogicalTime>,
    #[serde(default)]
    pub export_id: Option<String>,
    /// The snapshot the export was taken from.
    #[serde(default)]
    pub snapshot_arn: Option<String>,
    /// The digest of the masking policy the run applied.
    #[serde(default)]
    pub policy_digest: Option<String>,
    /// When the export completed: the run's metrics measure the delay to
    /// the last table published from it.
    #[serde(default)]
    pub export_completed_at: Option<String>,
    /// The execution (its ARN): Report reads what it ran so far from its
    /// history, for the run's cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    /// The snapshot's allocated storage in GB (RDS bills an export by it),
    /// when the run knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_gb: Option<u64>,
    /// When the execution started (`$$.Execution.StartTime`): the time of
    /// the run's OpenLineage START (see shared/src/lineage.rs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<jiff::Timestamp>,
}

/// The Map's results: written to S3 by its `ResultWriter` (the Map's
/// `ResultWriterDetails`), or inline (nested per batch) as earlier state
/// machines and the CLI give them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ReportResults {
    Written(ResultWriterDetails),
    Inline(#[serde(deserialize_with = "flat_reports")] Vec<TableReport>),
}

/// Where a Distributed Map's `ResultWriter` put its `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultWriterDetails {
    #[serde(rename = "Bucket")]
    pub bucket: String,
    #[serde(rename = "Key")]
    pub key: String,
}

/// How a table ended in a run, as the report lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableOutcome {
    Created,
    Swapped,
    Unchanged,
    Superseded,
    /// The policy does not name it.
    Skipped,
    /// The quality gate kept the live version: the new one is outside the
    /// configured bounds (`catalog::quality`).
    Held,
    /// The export did not complete it (the plan's `skipped`).
    NotExported,
}

/// One table's entry in a run's report: what the state machine's Swap
/// (completing the line it was sent), TableUnchanged, TableSkipped,
/// TableSuperseded, TableHeld and TableFailed states write, or a table the
/// export did not complete.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TableReport {
    pub table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<TableOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped_unlisted: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
    /// The error's name, for a failed table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// For a table the export did not complete: its source name, RDS's
    /// status and reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Lineage, for a table published this run: its transform's and
    /// verification's Athena queries, and when the table's work ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform_query_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_query_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Bytes the transform scanned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scanned_bytes: Option<i64>,
    /// Bytes the audit (verification) query scanned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_scanned_bytes: Option<i64>,
    /// Poll rounds the transform and the audit waited (the run's cost counts
    /// their states and invocations: `cost::table_path`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform_polls: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_polls: Option<u32>,
    /// Rows the policy's filter kept of the raw table, and rows published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_in: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_out: Option<i64>,
}

/// At most this many failed tables are named in the run's answer, its error
/// and so the failure notification; the manifest names them all.
pub const MAX_NAMED: usize = 10;

/// What Report answers: bounded whatever the number of tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// `s3://…` of the run's manifest; None when the request named no run
    /// (an earlier state machine's), and so nothing was written.
    pub manifest: Option<String>,
    pub counts: RunCounts,
    /// The first [`MAX_NAMED`] failed tables; `more_failed` counts the rest.
    pub failed_tables: Vec<String>,
    pub more_failed: usize,
}

/// How a run's tables ended, counted from the report's entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    pub published: usize,
    /// Of `published`, the tables this run gave a new version.
    pub new_versions: usize,
    pub held: usize,
    pub failed: usize,
    pub skipped: usize,
}

/// Map results nest (batches of tables); reports are flat. `snaplake
/// status` reads a run's results the same way.
pub fn flatten(value: serde_json::Value, out: &mut Vec<serde_json::Value>) {
    match value {
        serde_json::Value::Array(items) => items.into_iter().for_each(|v| flatten(v, out)),
        serde_json::Value::Null => {}
        other => out.push(other),
    }
}

fn flat_reports<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<TableReport>, D::Error> {
    let mut flat = Vec::new();
    flatten(serde_json::Value::deserialize(d)?, &mut flat);
    flat.into_iter()
        .enumerate()
        .map(|(i, entry)| {
            serde_json::from_value(entry).map_err(|e| serde::de::Error::custom(format!("entry {i}: {e}")))
        })
        .collect()
}
