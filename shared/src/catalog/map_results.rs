//! What a Distributed Map's `ResultWriter` leaves in S3, read back.
//!
//! PublishTables writes its children's outputs to S3 instead of gathering
//! them in the state (a state holds at most 256 KiB, and going over it ends
//! the run with `States.DataLimitExceeded`, which no Catch catches). AWS
//! writes, under `<Prefix>/<map run id>/`:
//!
//! - `manifest.json`: `{"DestinationBucket", "MapRunArn", "ResultFiles":
//!   {"FAILED": [{"Key", "Size"}], "PENDING": [...], "SUCCEEDED": [...]}}`;
//! - the result files: JSON arrays of child executions, each with `Status`,
//!   `Output` (the child's output as a JSON string) or `Error`/`Cause`.
//!
//! Each child publishes one batch of tables, so its output is the batch's
//! list of `TableReport`s. A child that failed as a whole has no output:
//! it is reported as one failed entry named by its execution, so a run
//! never loses a batch silently.

use serde::Deserialize;

use crate::contract::run_report::{TableReport, flatten};
use crate::error::Error;

/// `manifest.json`: the result files, by the status of their executions.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Manifest {
    pub destination_bucket: String,
    #[serde(default)]
    pub result_files: ResultFiles,
}

#[derive(Debug, Default, Deserialize)]
pub struct ResultFiles {
    #[serde(rename = "SUCCEEDED", default)]
    pub succeeded: Vec<ResultFile>,
    #[serde(rename = "FAILED", default)]
    pub failed: Vec<ResultFile>,
    #[serde(rename = "PENDING", default)]
    pub pending: Vec<ResultFile>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResultFile {
    pub key: String,
}

impl Manifest {
    /// Every result file's key, succeeded first.
    pub fn keys(&self) -> Vec<&str> {
        let files = &self.result_files;
        (files.succeeded.iter())
            .chain(&files.failed)
            .chain(&files.pending)
            .map(|f| f.key.as_str())
            .collect()
    }
}

/// One child execution as a result file lists it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ChildExecution {
    #[serde(default)]
    execution_arn: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    output: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    cause: Option<String>,
}

pub fn parse_manifest(where_: &str, body: &[u8]) -> Result<Manifest, Error> {
    serde_json::from_slice(body)
        .map_err(|e| Error::invalid_input("results", format!("{where_} is not a Map run's manifest.json: {e}")))
}

/// The table reports of one result file, in its executions' order.
pub fn parse_results(where_: &str, body: &[u8]) -> Result<Vec<TableReport>, Error> {
    let bad = |e: String| Error::invalid_input("results", format!("{where_}: {e}"));
    let children: Vec<ChildExecution> =
        serde_json::from_slice(body).map_err(|e| bad(format!("not a Map run's result file: {e}")))?;
    let mut reports = Vec::new();
    for child in children {
        if child.status != "SUCCEEDED" || child.output.is_none() {
            reports.push(failed_batch(child));
            continue;
        }
        let output = child.output.unwrap_or_default();
        let value: serde_json::Value = serde_json::from_str(&output)
            .map_err(|e| bad(format!("{}: output is not JSON: {e}", child.execution_arn)))?;
        let mut flat = Vec::new();
        flatten(value, &mut flat);
        for entry in flat {
            reports.push(
                serde_json::from_value(entry)
                    .map_err(|e| bad(format!("{}: not a table report: {e}", child.execution_arn)))?,
            );
        }
    }
    Ok(reports)
}

/// A batch whose child execution ended without output.
fn failed_batch(child: ChildExecution) -> TableReport {
    let name = child.execution_arn.rsplit(':').next().unwrap_or_default();
    TableReport {
        table: format!("(batch {name})"),
        failed: true,
        error: Some(child.error.unwrap_or_else(|| format!("States.{}", child.status))),
        cause: Some(child.cause.unwrap_or_else(|| {
            format!(
                "the child execution {} ended {} without output; its history names the batch's tables",
                child.execution_arn, child.status
            )
        })),
        ..TableReport::default()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::contract::run_report::TableOutcome;

    #[test]
    fn the_manifest_lists_every_result_file() {
        let body = json!({
            "DestinationBucket": "lake", "MapRunArn": "arn:aws:states:us-east-1:1:mapRun:sm/PublishTables:r",
            "ResultFiles": {"FAILED": [{"Key": "ctl/map-results/r/FAILED_0.json", "Size": 10}],
                            "PENDING": [],
                            "SUCCEEDED": [{"Key": "ctl/map-results/r/SUCCEEDED_0.json", "Size": 10}]}
        });
        let manifest = parse_manifest("m", body.to_string().as_bytes()).unwrap();
        assert_eq!(manifest.destination_bucket, "lake");
        assert_eq!(
            manifest.keys(),
            ["ctl/map-results/r/SUCCEEDED_0.json", "ctl/map-results/r/FAILED_0.json"]
        );
        let err = parse_manifest("s3://lake/m.json", b"[]").unwrap_err();
        assert!(err.to_string().contains("s3://lake/m.json"), "{err}");
    }

    #[test]
    fn children_outputs_become_table_reports_and_a_failed_child_is_named() {
        let batch = json!([{"table": "a", "outcome": "swapped"}, {"table": "b", "failed": true,
                            "error": "QueryFailed", "cause": "x"}]);
        let body = json!([
            {"ExecutionArn": "arn:aws:states:us-east-1:1:execution:sm/PublishTables:c1", "Status": "SUCCEEDED",
             "Output": batch.to_string()},
            {"ExecutionArn": "arn:aws:states:us-east-1:1:execution:sm/PublishTables:c2", "Status": "FAILED",
             "Error": "States.DataLimitExceeded", "Cause": "too big"}
        ]);
        let reports = parse_results("f", body.to_string().as_bytes()).unwrap();
        assert_eq!(reports.len(), 3);
        assert_eq!(reports[0].outcome, Some(TableOutcome::Swapped));
        assert!(reports[1].failed);
        assert_eq!(reports[2].table, "(batch c2)");
        assert_eq!(reports[2].error.as_deref(), Some("States.DataLimitExceeded"));
        let err = parse_results(
            "s3://lake/f.json",
            br#"[{"Status": "SUCCEEDED", "Output": "[{\"outcome\": 1}]"}]"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("not a table report"), "{err}");
    }
}
