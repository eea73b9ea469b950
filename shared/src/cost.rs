//! What a run cost: its usage, as the run measured or counted it, priced
//! with a list of prices (the module's `prices` variable; AWS's public
//! on-demand list prices for us-east-1, as of [`PRICES_AS_OF`], by default).
//!
//! - **Athena** is measured: each query's own `DataScannedInBytes` (the
//!   table's UNLOAD and its audit query), billed as Athena bills a query:
//!   rounded up to the megabyte, at least 10 MB.
//! - **Step Functions and Lambda** are counted: the parent execution's states
//!   and Lambda tasks as its history holds them when Report reads it (plus
//!   the states after Report: two, or the five of the failure path when a
//!   table failed), and each table's states and invocations
//!   from the path it took through the PublishTables Map and its poll rounds
//!   ([`table_path`]). The stand-in counts what it runs; the pipeline test
//!   holds the two equal. Lambda's GB-seconds are not counted (no run step
//!   sees its own billed duration), nor S3's and Glue's requests: about 2 %
//!   and 6 % of a run's bill in BENCHMARKS.md's dollars table.
//! - **The export** is billed by RDS per GB of the snapshot: its allocated
//!   storage, read when the export was chosen.
//!
//! Pure: Report gathers the figures, this prices them.

use serde::{Deserialize, Serialize};

use crate::contract::run_report::{TableOutcome, TableReport};

/// The date the default prices were read from AWS's pricing pages.
pub const PRICES_AS_OF: &str = "2026-12-01";

const MB: u64 = 1_000_000;

/// A price list, in US dollars, in the units AWS's pricing pages use. Every
/// field may be left out of the module's `prices` variable: it then keeps
/// the us-east-1 list price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Prices {
    /// Where these prices are from (a label only).
    pub region: String,
    pub as_of: String,
    /// Athena SQL, per TB (10^12 bytes) scanned.
    pub athena_per_tb: f64,
    /// The least Athena bills a query, in MB.
    pub athena_min_mb_per_query: u64,
    /// Step Functions standard workflows, per 1,000 state transitions.
    pub step_functions_per_1000_transitions: f64,
    /// Lambda, per million requests.
    pub lambda_per_million_requests: f64,
    /// RDS snapshot export to S3, per GB of snapshot.
    pub rds_export_per_gb: f64,
}

impl Default for Prices {
    fn default() -> Self {
        Prices {
            region: "us-east-1".into(),
            as_of: PRICES_AS_OF.into(),
            athena_per_tb: 5.0,
            athena_min_mb_per_query: 10,
            step_functions_per_1000_transitions: 0.025,
            lambda_per_million_requests: 0.20,
            rds_export_per_gb: 0.010,
        }
    }
}

impl Prices {
    /// Reads the module's `prices` (JSON; `{}` or empty is the defaults).
    pub fn parse(text: &str) -> Result<Prices, String> {
        if text.trim().is_empty() {
            return Ok(Prices::default());
        }
        let prices: Prices = serde_json::from_str(text).map_err(|e| {
            format!("is not a price list: {e}; leave it unset for us-east-1's list prices, or name only the fields to change")
        })?;
        let negative = [
            ("athena_per_tb", prices.athena_per_tb),
            (
                "step_functions_per_1000_transitions",
                prices.step_functions_per_1000_transitions,
            ),
            ("lambda_per_million_requests", prices.lambda_per_million_requests),
            ("rds_export_per_gb", prices.rds_export_per_gb),
        ]
        .into_iter()
        .filter(|(_, price)| !(price.is_finite() && *price >= 0.0))
        .map(|(name, _)| name)
        .collect::<Vec<_>>();
        if negative.is_empty() {
            Ok(prices)
        } else {
            Err(format!("{} must be a price of zero or more", negative.join(", ")))
        }
    }
}

/// The bytes Athena bills one query that scanned `scanned` bytes: rounded
/// up to the megabyte, at least `min_mb`.
pub fn athena_billed_bytes(scanned: i64, min_mb: u64) -> u64 {
    let scanned = scanned.max(0) as u64;
    (scanned.div_ceil(MB) * MB).max(min_mb * MB)
}

/// What a run used, as it measured (Athena, the snapshot) or counted (states,
/// invocations) it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub athena_queries: u64,
    /// What the queries scanned, each its own figure.
    pub athena_scanned_bytes: u64,
    /// What Athena bills them (per query rounded up, with the minimum).
    pub athena_billed_bytes: u64,
    pub state_transitions: u64,
    pub lambda_requests: u64,
    /// The exported snapshot's allocated storage, when the run knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_gb: Option<u64>,
}

/// A table's states and invocations in the PublishTables Map, from the path
/// it took and its poll rounds (each round: Wait, Poll…, the Choice, and
/// one invocation). The lines Swap, TableHeld and TableSuperseded make went
/// through the audit and carry `verify_polls`; TableUnchanged's and
/// TableSkipped's did not. A failed table counts the fewest its path could
/// have taken (PrepareTarget, Discard, TableFailed).
pub fn table_path(report: &TableReport) -> (u64, u64) {
    let audited = report.verify_polls.is_some();
    let (states, invocations) = match report.outcome {
        _ if report.failed => (3, 2),
        // Not in the plan: no path.
        None | Some(TableOutcome::NotExported) => return (0, 0),
        // PrepareTarget, Transform, Transformed?, TableUnchanged or TableSkipped.
        Some(_) if !audited => (4, 2),
        // ..., Stage, Verify, Verified?, then TableHeld or TableSuperseded (Pass states).
        Some(TableOutcome::Held | TableOutcome::Superseded) => (7, 4),
        // PrepareTarget, Transform, Transformed?, Stage, Verify, Verified?, Swap.
        Some(_) => (7, 5),
    };
    let rounds = u64::from(report.transform_polls.unwrap_or(0)) + u64::from(report.verify_polls.unwrap_or(0));
    (states + 3 * rounds, invocations + rounds)
}

/// What the parent execution did, read from its history at Report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParentSoFar {
    pub states_entered: u64,
    pub lambda_tasks: u64,
}

/// States and invocations after Report reads the history. When every table
/// ended well: ReleaseDayLock (a Lambda task) and Succeeded. When one failed,
/// Report fails the run (TablesFailed) and the failure path follows:
/// FailedAtReport, NotifyFailure, EndLineageInFail and
/// ReleaseDayLockAfterFailure (Lambda tasks), Failed.
pub fn after_report(a_table_failed: bool) -> ParentSoFar {
    if a_table_failed {
        ParentSoFar {
            states_entered: 5,
            lambda_tasks: 2,
        }
    } else {
        ParentSoFar {
            states_entered: 2,
            lambda_tasks: 1,
        }
    }
}

/// export-callback's invocations a run's events make as the module's rules
/// match them: the export's final `export_info` file and RDS's "export
/// completed" event.
pub const EVENT_INVOCATIONS: u64 = 2;

/// A run's usage: the parent's history, each batch's Map children (a
/// RegisterRaw child of one state and a PublishTables child whose
/// PublishBatch Map state is one), each table's path and queries.
pub fn run_usage(
    parent: ParentSoFar,
    batches: u64,
    tables: &[TableReport],
    snapshot_gb: Option<u64>,
    prices: &Prices,
) -> Usage {
    let after = after_report(tables.iter().any(|t| t.failed));
    let mut usage = Usage {
        state_transitions: parent.states_entered + after.states_entered + 2 * batches,
        lambda_requests: parent.lambda_tasks + after.lambda_tasks + batches + EVENT_INVOCATIONS,
        snapshot_gb,
        ..Usage::default()
    };
    for table in tables {
        let (states, invocations) = table_path(table);
        usage.state_transitions += states;
        usage.lambda_requests += invocations;
        // A query counts when it ran (its id is on the line): Verify answers
        // a held or superseded table at once, with no query and 0 bytes.
        let queries = [
            (&table.transform_query_id, table.scanned_bytes),
            (&table.verify_query_id, table.verify_scanned_bytes),
        ];
        for (_, scanned) in queries.into_iter().filter(|(id, _)| id.is_some()) {
            let scanned = scanned.unwrap_or(0);
            usage.athena_queries += 1;
            usage.athena_scanned_bytes += scanned.max(0) as u64;
            usage.athena_billed_bytes += athena_billed_bytes(scanned, prices.athena_min_mb_per_query);
        }
    }
    usage
}

/// A run's cost in US dollars, by service, with the usage and prices it
/// comes from (the run manifest's `cost`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunCost {
    pub total_usd: f64,
    pub athena_usd: f64,
    pub step_functions_usd: f64,
    pub lambda_usd: f64,
    /// Null when the run does not know the snapshot's size.
    pub rds_export_usd: Option<f64>,
    pub usage: Usage,
    pub prices: Prices,
}

/// Prices a run's usage.
pub fn price(usage: Usage, prices: &Prices) -> RunCost {
    let athena_usd = usage.athena_billed_bytes as f64 / 1e12 * prices.athena_per_tb;
    let step_functions_usd = usage.state_transitions as f64 / 1000.0 * prices.step_functions_per_1000_transitions;
    let lambda_usd = usage.lambda_requests as f64 / 1e6 * prices.lambda_per_million_requests;
    let rds_export_usd = usage.snapshot_gb.map(|gb| gb as f64 * prices.rds_export_per_gb);
    RunCost {
        total_usd: athena_usd + step_functions_usd + lambda_usd + rds_export_usd.unwrap_or(0.0),
        athena_usd,
        step_functions_usd,
        lambda_usd,
        rds_export_usd,
        usage,
        prices: prices.clone(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn line(outcome: TableOutcome, transform: Option<i64>, verify: Option<i64>, polls: (u32, u32)) -> TableReport {
        TableReport {
            table: "t".into(),
            outcome: Some(outcome),
            transform_query_id: transform.map(|_| "q1".into()),
            verify_query_id: verify.map(|_| "q2".into()),
            scanned_bytes: transform,
            verify_scanned_bytes: verify,
            transform_polls: Some(polls.0),
            verify_polls: Some(polls.1),
            ..TableReport::default()
        }
    }

    #[test]
    fn a_query_is_billed_by_the_megabyte_and_at_least_ten() {
        assert_eq!(athena_billed_bytes(0, 10), 10 * MB);
        assert_eq!(athena_billed_bytes(1, 10), 10 * MB);
        assert_eq!(athena_billed_bytes(10 * MB as i64 + 1, 10), 11 * MB);
        assert_eq!(athena_billed_bytes(25 * MB as i64, 10), 25 * MB);
        assert_eq!(athena_billed_bytes(-5, 0), 0);
    }

    #[test]
    fn a_run_of_one_swapped_table_counts_as_the_stand_in_ran_it() {
        // BENCHMARKS.md, 2026-12-06, 1 table: 23 transitions and 15 Lambda runs,
        // the parent's 14 states (12 and 6 Lambda tasks by Report) included.
        let parent = ParentSoFar {
            states_entered: 12,
            lambda_tasks: 6,
        };
        let usage = run_usage(
            parent,
            1,
            &[line(TableOutcome::Swapped, Some(1), Some(2), (0, 0))],
            None,
            &Prices::default(),
        );
        assert_eq!((usage.state_transitions, usage.lambda_requests), (23, 15));
        assert_eq!(
            (
                usage.athena_queries,
                usage.athena_scanned_bytes,
                usage.athena_billed_bytes
            ),
            (2, 3, 20 * MB)
        );
        let cost = price(usage, &Prices::default());
        assert!((cost.athena_usd - 20e6 / 1e12 * 5.0).abs() < 1e-12);
        assert!((cost.step_functions_usd - 23.0 * 0.025 / 1000.0).abs() < 1e-12);
        assert_eq!(cost.rds_export_usd, None);
    }

    #[test]
    fn a_run_with_a_failed_table_counts_the_failure_path_after_report() {
        let failed = TableReport {
            failed: true,
            ..TableReport::default()
        };
        let ok = run_usage(ParentSoFar::default(), 1, &[], None, &Prices::default());
        let failing = run_usage(ParentSoFar::default(), 1, &[failed], None, &Prices::default());
        let (states, invocations) = table_path(&TableReport {
            failed: true,
            ..TableReport::default()
        });
        assert_eq!(
            (
                failing.state_transitions - ok.state_transitions - states,
                failing.lambda_requests - ok.lambda_requests - invocations
            ),
            (3, 1),
            "FailedAtReport, NotifyFailure, EndLineageInFail, ReleaseDayLockAfterFailure and Failed, \
             instead of ReleaseDayLock and Succeeded"
        );
    }

    #[test]
    fn a_held_table_counts_its_transform_and_no_audit_query() {
        // TableHeld's line: the audit answered at once, 0 bytes, no query id.
        let held = TableReport {
            verify_query_id: None,
            ..line(TableOutcome::Held, Some(5), Some(0), (0, 0))
        };
        let usage = run_usage(ParentSoFar::default(), 1, &[held], None, &Prices::default());
        assert_eq!((usage.athena_queries, usage.athena_billed_bytes), (1, 10 * MB));
    }

    #[test]
    fn prices_name_only_what_they_change_and_refuse_the_rest() {
        let p = Prices::parse(r#"{"athena_per_tb": 6.25, "region": "eu-central-1"}"#).unwrap();
        assert_eq!((p.athena_per_tb, p.rds_export_per_gb), (6.25, 0.010));
        assert_eq!(Prices::parse("").unwrap(), Prices::default());
        assert_eq!(Prices::parse("{}").unwrap(), Prices::default());
        let typo = Prices::parse(r#"{"athena_per_tib": 5}"#).unwrap_err();
        assert!(typo.contains("athena_per_tib"), "{typo}");
        let negative = Prices::parse(r#"{"lambda_per_million_requests": -1}"#).unwrap_err();
        assert!(negative.contains("lambda_per_million_requests"), "{negative}");
    }

    proptest! {
        /// Each poll round adds three states and one invocation to a path,
        /// whatever the outcome; a table without a path counts nothing.
        #[test]
        fn poll_rounds_add_three_states_and_one_invocation(t in 0u32..50, v in 0u32..50, which in 0usize..6) {
            let outcome = [TableOutcome::Created, TableOutcome::Swapped, TableOutcome::Held,
                           TableOutcome::Superseded, TableOutcome::Unchanged, TableOutcome::Skipped][which];
            let (s0, i0) = table_path(&line(outcome, None, None, (0, 0)));
            let (s, i) = table_path(&line(outcome, None, None, (t, v)));
            prop_assert_eq!(s, s0 + 3 * u64::from(t + v));
            prop_assert_eq!(i, i0 + u64::from(t + v));
            prop_assert_eq!(table_path(&line(TableOutcome::NotExported, None, None, (t, v))), (0, 0));
            let unaudited = TableReport { verify_polls: None, transform_polls: None, ..line(outcome, None, None, (0, 0)) };
            prop_assert_eq!(table_path(&unaudited), (4, 2));
        }

        /// Billing never charges less than a query scanned, nor less than the minimum.
        #[test]
        fn billed_bytes_cover_the_scan_and_the_minimum(scanned in 0i64..10_000_000_000, min in 0u64..100) {
            let billed = athena_billed_bytes(scanned, min);
            prop_assert!(billed >= scanned as u64 && billed >= min * MB);
            prop_assert!(billed < (scanned as u64).max(min * MB) + MB);
        }
    }
}
