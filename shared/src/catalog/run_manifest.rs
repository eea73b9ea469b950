//! A run's manifest: one JSON object per run, written by Report under the
//! control prefix (`<control>/runs/<day>/<run id>.json`), holding what the
//! run did to every table. It is the lasting record (`snaplake status --date`
//! reads it; each curated table's `snaplake.run_manifest` parameter points at
//! the one that published its live version) and it keeps the state machine's
//! payloads small: the state carries counts and a few names, never a list
//! that grows with the number of tables.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::contract::catalog_swap::TableReport;
use crate::logical_time::LogicalTime;
use crate::metrics::RunCounts;

/// At most this many failed tables are named in the run's answer, its error
/// and so the failure notification; the manifest names them all.
pub const MAX_NAMED: usize = 10;

/// Where a run's manifest is: one per run (execution), under its logical day.
pub fn key(control_prefix: &str, day: Date, run_id: &str) -> String {
    format!("{control_prefix}/runs/{day}/{run_id}.json")
}

pub fn uri(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
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
}

/// The manifest as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    pub run_id: String,
    #[serde(flatten)]
    pub run: RunLineage,
    /// When Report wrote it (RFC 3339).
    pub written_at: String,
    pub counts: RunCounts,
    /// Every table's entry: the run's tables, then those the export did not
    /// complete (`not_exported`).
    pub tables: Vec<TableReport>,
}

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

/// The first `max` of `names`, and how many more there are.
pub fn first(names: impl IntoIterator<Item = String>, max: usize) -> (Vec<String>, usize) {
    let mut shown = Vec::new();
    let mut more = 0;
    for name in names {
        if shown.len() < max {
            shown.push(name);
        } else {
            more += 1;
        }
    }
    (shown, more)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn one_manifest_per_run_under_its_day() {
        let day: Date = "2026-11-20".parse().unwrap();
        assert_eq!(key("_snaplake", day, "run-1"), "_snaplake/runs/2026-11-20/run-1.json");
        assert_eq!(uri("lake", "k.json"), "s3://lake/k.json");
    }

    proptest! {
        #[test]
        fn first_keeps_order_and_counts_the_rest(n in 0usize..40, max in 0usize..15) {
            let names: Vec<String> = (0..n).map(|i| format!("t{i}")).collect();
            let (shown, more) = first(names.clone(), max);
            prop_assert_eq!(shown.len(), n.min(max));
            prop_assert_eq!(shown.len() + more, n);
            prop_assert_eq!(&shown[..], &names[..shown.len()]);
        }
    }
}
