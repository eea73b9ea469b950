//! Report: the end of a run. Reads every table's outcome from where the
//! PublishTables Map wrote them, adds the tables the export did not complete
//! (which the plan's policy let the run go on without: `not_exported`, named,
//! never silently missing), writes the run's manifest, and answers with
//! counts; it fails naming the first tables that failed (their own step and
//! cause are in the manifest).

use jiff::Timestamp;
use tracing::warn;

use crate::aws::s3::{self, ResultEncryption};
use crate::aws::sfn;
use crate::catalog::map_results;
use crate::catalog::run_manifest::{self, RunManifest};
use crate::contract::run_report::{
    MAX_NAMED, ReportRequest, ReportResults, RunCounts, RunSummary, TableOutcome, TableReport,
};
use crate::cost::{self, RunCost};
use crate::env::Env;
use crate::error::Error;
use crate::export::plan::{SkippedTable, glue_name};
use crate::lineage::LineageRecord;
use crate::metrics;

/// Every table's entry of the run: its tables, then those not exported.
pub async fn entries(env: &Env, request: &ReportRequest) -> Result<Vec<TableReport>, Error> {
    let mut tables = match &request.results {
        ReportResults::Inline(reports) => reports.clone(),
        ReportResults::Written(details) => {
            let body = s3::get_bytes(&env.clients.s3, &details.bucket, &details.key)
                .await?
                .ok_or_else(|| missing("results", &details.bucket, &details.key))?;
            let manifest = map_results::parse_manifest(&run_manifest::uri(&details.bucket, &details.key), &body)?;
            let mut reports = Vec::new();
            for key in manifest.keys() {
                let bucket = &manifest.destination_bucket;
                let body = s3::get_bytes(&env.clients.s3, bucket, key)
                    .await?
                    .ok_or_else(|| missing("results", bucket, key))?;
                reports.extend(map_results::parse_results(&run_manifest::uri(bucket, key), &body)?);
            }
            reports
        }
    };
    let mut skipped = request.not_exported.clone();
    if let Some(plan) = &request.plan
        && let Some(key) = &plan.skipped_key
    {
        let body = s3::get_bytes(&env.clients.s3, &plan.bucket, key)
            .await?
            .ok_or_else(|| missing("plan", &plan.bucket, key))?;
        let listed: Vec<SkippedTable> = serde_json::from_slice(&body).map_err(|e| {
            Error::invalid_input(
                "plan",
                format!(
                    "{} is not a list of skipped tables: {e}",
                    run_manifest::uri(&plan.bucket, key)
                ),
            )
        })?;
        skipped.extend(listed);
    }
    tables.extend(skipped.into_iter().map(not_exported));
    Ok(tables)
}

fn missing(field: &str, bucket: &str, key: &str) -> Error {
    Error::invalid_input(
        field,
        format!(
            "{} does not exist; was it deleted, or is the lifecycle rule of the control prefix shorter than a run?",
            run_manifest::uri(bucket, key)
        ),
    )
}

fn not_exported(t: SkippedTable) -> TableReport {
    TableReport {
        table: glue_name(&t.source),
        outcome: Some(TableOutcome::NotExported),
        source: Some(t.source),
        status: Some(t.status),
        reason: t.reason,
        ..TableReport::default()
    }
}

/// What the run cost (`crate::cost`): the parent's history so far, the
/// plan's batches and the tables' lines, priced with the deployment's
/// prices. None when the run is not named or its history cannot be read,
/// said in the log: a cost is never a reason to fail a run.
pub async fn cost(env: &Env, request: &ReportRequest, tables: &[TableReport]) -> Option<RunCost> {
    let arn = request.run.execution_arn.as_deref()?;
    let parent = match sfn::states_and_lambda_tasks(&env.clients.sfn, arn).await {
        Ok(parent) => parent,
        Err(err) => {
            warn!(error = %err, "cannot read the run's history; its manifest and metrics leave out its cost");
            return None;
        }
    };
    let batches = request.plan.as_ref().map_or(0, |plan| plan.batches as u64);
    let prices = &env.config.prices;
    let usage = cost::run_usage(parent, batches, tables, request.run.snapshot_gb, prices);
    Some(cost::price(usage, prices))
}

/// Writes the run's manifest (when the request names the run) and sums the
/// run up; fails naming the first tables that failed.
pub async fn report(
    env: &Env,
    request: ReportRequest,
    tables: Vec<TableReport>,
    cost: Option<RunCost>,
    lineage: Option<LineageRecord>,
) -> Result<RunSummary, Error> {
    let counts = metrics::count(&tables, 0);
    let (manifest, tables) = match &request.run_id {
        Some(run_id) => {
            let day = request
                .run
                .logical_time
                .ok_or_else(|| Error::invalid_input("logical_time", "a run's report needs its logical time"))?
                .day(&env.config.time_zone);
            let key = run_manifest::key(&env.config.control_prefix, day, run_id);
            let manifest = RunManifest {
                run_id: run_id.clone(),
                run: request.run,
                written_at: Timestamp::now().to_string(),
                counts: counts.clone(),
                cost,
                lineage,
                tables,
            };
            write_manifest(env, &key, serde_json::to_vec(&manifest).expect("a manifest serializes")).await?;
            (Some(run_manifest::uri(&env.config.bucket, &key)), manifest.tables)
        }
        None => (None, tables),
    };
    summarize(&tables, counts, manifest)
}

/// Writes a run's manifest (or another file of the run's, under
/// `<control prefix>/runs/`) with the curated key, so operators read it
/// without raw rights. When the key cannot encrypt (disabled, pending
/// deletion: S3 answers `KMS.…`), the run is what tells why, so the manifest
/// is written anyway with the bucket's default, the raw key: readable to raw
/// readers only, never wider.
pub async fn write_manifest(env: &Env, key: &str, body: Vec<u8>) -> Result<(), Error> {
    let (client, bucket) = (&env.clients.s3, &env.config.bucket);
    let Some(curated) = env.config.curated_kms_key.clone() else {
        return s3::put_bytes(client, bucket, key, body, &ResultEncryption::Unset).await;
    };
    match s3::put_bytes(client, bucket, key, body.clone(), &ResultEncryption::Kms(curated)).await {
        Err(err) if err.aws_code().is_some_and(|code| code.starts_with("KMS.")) => {
            warn!(key, error = %err, "the curated key cannot encrypt the run's manifest; written with the bucket's default key, for raw readers only");
            s3::put_bytes(client, bucket, key, body, &ResultEncryption::Unset).await
        }
        written => written,
    }
}

/// The answer, or `TablesFailed` naming the first [`MAX_NAMED`] failed
/// tables with their error (and the message, where it cannot quote data).
pub fn summarize(tables: &[TableReport], counts: RunCounts, manifest: Option<String>) -> Result<RunSummary, Error> {
    let failed: Vec<&TableReport> = tables.iter().filter(|t| t.failed).collect();
    let (named, more) = run_manifest::first(
        failed.iter().map(|t| {
            let error = t.error.as_deref().unwrap_or("Unknown");
            format!(
                "{} ({error}: {})",
                t.table,
                reportable_cause(error, t.cause.as_deref().unwrap_or_default())
            )
        }),
        MAX_NAMED,
    );
    if failed.is_empty() {
        return Ok(RunSummary {
            manifest,
            counts,
            failed_tables: Vec::new(),
            more_failed: 0,
        });
    }
    Err(Error::TablesFailed {
        tables: named,
        more,
        published: counts.published,
        manifest,
    })
}

/// Errors whose messages snaplake builds from names and numbers only.
const DATA_FREE_ERRORS: &[&str] = &[
    "InvalidInput",
    "ConfigInvalid",
    "SchemaIncompatible",
    "VerificationFailed",
    "ExportIncomplete",
    "ExportFailed",
    "RawNotRegistered",
    "PreflightFailed",
];

/// What the run's report, and so the failure notification (e-mail), says of
/// a table's failure: always the error name; the message only for errors
/// snaplake builds from names and numbers. Athena's and other services'
/// messages can quote data values (`Cannot cast 'alice@example.com' ...`):
/// they are withheld, and stay in the execution history, which only
/// operators read.
fn reportable_cause(error: &str, cause: &str) -> String {
    if !DATA_FREE_ERRORS.contains(&error) {
        return "cause withheld from notifications (it may quote data): `snaplake status --date <day>` shows it".into();
    }
    // Step Functions wraps a Lambda error as JSON: {"errorMessage": ..., "errorType": ...}.
    let message = serde_json::from_str::<serde_json::Value>(cause)
        .ok()
        .and_then(|v| v.get("errorMessage").and_then(|m| m.as_str()).map(str::to_string))
        .unwrap_or_else(|| cause.to_string());
    message.lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn reports(results: serde_json::Value) -> Vec<TableReport> {
        let request: ReportRequest = serde_json::from_value(json!({"results": results})).unwrap();
        match request.results {
            ReportResults::Inline(r) => r,
            other => panic!("{other:?}"),
        }
    }

    fn summary(tables: Vec<TableReport>) -> Result<RunSummary, Error> {
        let counts = metrics::count(&tables, 0);
        summarize(
            &tables,
            counts,
            Some("s3://lake/_snaplake/runs/2026-11-20/r.json".into()),
        )
    }

    #[test]
    fn report_flattens_batches_and_names_the_failed_tables() {
        let ok = summary(reports(
            json!([[{"table": "a", "outcome": "swapped"}], [{"table": "b", "outcome": "skipped"}], null]),
        ))
        .unwrap();
        assert_eq!((ok.counts.published, ok.counts.skipped), (1, 1));
        let entry = serde_json::to_value(not_exported(SkippedTable {
            source: "shop.bad_columns".into(),
            status: "SKIPPED".into(),
            reason: Some("COLUMN_WITH_UNSUPPORTED_CHARACTER_IN_NAME".into()),
        }))
        .unwrap();
        assert_eq!(entry["table"], "shop_bad_columns");
        assert_eq!(entry["outcome"], "not_exported");
        assert_eq!(entry["reason"], "COLUMN_WITH_UNSUPPORTED_CHARACTER_IN_NAME");
        let drift = json!({"errorType": "InvalidInput",
            "errorMessage": "invalid input: `tables.shop.c.columns` has no rule for column(s) ssn\nmore"});
        let err = summary(reports(json!([
            [{"table": "a", "outcome": "swapped"}],
            [{"table": "b", "failed": true, "error": "QueryFailed",
              "cause": "Athena query q (transform) failed: INVALID_CAST_ARGUMENT: Cannot cast 'alice@example.com' to INT"}],
            [{"table": "c", "failed": true, "error": "InvalidInput", "cause": drift.to_string()}]
        ])))
        .unwrap_err();
        assert_eq!(err.name(), "TablesFailed");
        let text = err.to_string();
        assert!(text.contains("b (QueryFailed: cause withheld"), "{text}");
        assert!(
            !text.contains("alice@example.com"),
            "data values never reach the notification: {text}"
        );
        assert!(
            text.contains("c (InvalidInput: invalid input: `tables.shop.c.columns` has no rule for column(s) ssn)"),
            "{text}"
        );
        assert!(text.contains("1 table(s) published"), "{text}");
        assert!(text.contains("s3://lake/_snaplake/runs/2026-11-20/r.json"), "{text}");
    }

    /// 10,000 failed tables, each with a long cause: the error (the failure
    /// notification and the state's `Cause`) names ten and stays small.
    #[test]
    fn ten_thousand_failures_make_a_small_error() {
        let cause = json!({"errorType": "InvalidInput", "errorMessage": "x".repeat(2000)}).to_string();
        let tables: Vec<TableReport> = (0..10_000)
            .map(|i| TableReport {
                table: format!("shop_table_{i:05}"),
                failed: true,
                error: Some("InvalidInput".into()),
                cause: Some(cause.clone()),
                ..TableReport::default()
            })
            .collect();
        let text = summary(tables).unwrap_err().to_string();
        assert!(text.len() < 32 * 1024, "{} bytes", text.len());
        assert!(
            text.contains("shop_table_00009") && !text.contains("shop_table_00010"),
            "{text}"
        );
        assert!(text.contains("and 9990 more"), "{text}");
    }
}
