//! A run's manifest: one JSON object per run, written by Report under the
//! control prefix (`<control>/runs/<day>/<run id>.json`), holding what the
//! run did to every table. It is the lasting record (`snaplake status --date`
//! reads it; each curated table's `snaplake.run_manifest` parameter points at
//! the one that published its live version) and it keeps the state machine's
//! payloads small: the state carries counts and a few names, never a list
//! that grows with the number of tables.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::contract::run_report::{RunCounts, RunLineage, TableReport};
use crate::cost::RunCost;
use crate::lineage::LineageRecord;

/// Where a run's manifest is: one per run (execution), under its logical day.
pub fn key(control_prefix: &str, day: Date, run_id: &str) -> String {
    format!("{control_prefix}/runs/{day}/{run_id}.json")
}

/// The run's OpenLineage events, beside its manifest.
pub fn lineage_key(control_prefix: &str, day: Date, run_id: &str) -> String {
    format!("{control_prefix}/runs/{day}/{run_id}.lineage.json")
}

pub fn uri(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
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
    /// What the run cost (`crate::cost`); absent when its history could not
    /// be read, and in manifests written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<RunCost>,
    /// Where the run's OpenLineage events are, how many were posted, and
    /// what went wrong (`crate::lineage`); absent in earlier manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage: Option<LineageRecord>,
    /// Every table's entry: the run's tables, then those the export did not
    /// complete (`not_exported`).
    pub tables: Vec<TableReport>,
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
        assert_eq!(
            lineage_key("_snaplake", day, "run-1"),
            "_snaplake/runs/2026-11-20/run-1.lineage.json"
        );
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
