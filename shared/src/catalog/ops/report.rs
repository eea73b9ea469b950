//! Report: the end of a run. Every table's outcome, failing with the names
//! of the tables that failed (their own step and cause are in each entry).
//! Tables the export did not complete, which the plan's policy let the run
//! go on without, are `not_exported`: named, never silently missing.

use crate::contract::catalog_swap::{BatchResult, ItemFailure, ReportRequest, TableOutcome, TableReport};
use crate::error::Error;
use crate::export::plan::glue_name;

pub fn report(request: ReportRequest) -> Result<BatchResult<TableReport>, Error> {
    let not_exported = request.not_exported.into_iter().map(|t| TableReport {
        table: glue_name(&t.source),
        outcome: Some(TableOutcome::NotExported),
        source: Some(t.source),
        status: Some(t.status),
        reason: t.reason,
        ..TableReport::default()
    });
    let mut out = BatchResult::default();
    for entry in request.results.into_iter().chain(not_exported) {
        if entry.failed {
            out.failed_tables.push(entry.table.clone());
            out.failed.push(ItemFailure {
                table: entry.table,
                error: entry.error.unwrap_or_else(|| "Unknown".into()),
                cause: entry.cause.unwrap_or_default(),
            });
        } else {
            out.succeeded.push(entry);
        }
    }
    if out.failed.is_empty() {
        return Ok(out);
    }
    Err(Error::TablesFailed {
        tables: out
            .failed
            .iter()
            .map(|f| format!("{} ({}: {})", f.table, f.error, reportable_cause(&f.error, &f.cause)))
            .collect(),
        published: out.succeeded.len(),
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
    use crate::export::plan::SkippedTable;

    fn request(results: serde_json::Value, not_exported: &[SkippedTable]) -> ReportRequest {
        serde_json::from_value(json!({"results": results, "not_exported": not_exported})).unwrap()
    }

    #[test]
    fn report_flattens_batches_and_names_the_failed_tables() {
        let ok = report(request(
            json!([[{"table": "a", "outcome": "swapped"}], [{"table": "b", "outcome": "skipped"}], null]),
            &[],
        ))
        .unwrap();
        assert_eq!(ok.succeeded.len(), 2);
        let not_exported = [SkippedTable {
            source: "shop.bad_columns".into(),
            status: "SKIPPED".into(),
            reason: Some("COLUMN_WITH_UNSUPPORTED_CHARACTER_IN_NAME".into()),
        }];
        let ok = report(request(json!([[{"table": "a", "outcome": "swapped"}]]), &not_exported)).unwrap();
        let entry = serde_json::to_value(&ok.succeeded[1]).unwrap();
        assert_eq!(entry["table"], "shop_bad_columns");
        assert_eq!(entry["outcome"], "not_exported");
        assert_eq!(entry["reason"], "COLUMN_WITH_UNSUPPORTED_CHARACTER_IN_NAME");
        let drift = json!({"errorType": "InvalidInput",
            "errorMessage": "invalid input: `tables.shop.c.columns` has no rule for column(s) ssn\nmore"});
        let err = report(request(json!([
            [{"table": "a", "outcome": "swapped"}],
            [{"table": "b", "failed": true, "error": "QueryFailed",
              "cause": "Athena query q (transform) failed: INVALID_CAST_ARGUMENT: Cannot cast 'alice@example.com' to INT"}],
            [{"table": "c", "failed": true, "error": "InvalidInput", "cause": drift.to_string()}]
        ]), &[]))
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
    }
}
