//! One error type for every function. Each message says what failed, on which
//! resource and the likely fix; [`Error::name`] is the name the state machine
//! matches in `Retry`/`Catch` (`ErrorEquals`), so renaming one is a breaking
//! change to the state machine definition.

mod aws;

use aws::ending_in_fix;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Start-up configuration is missing or malformed; every problem is listed.
    #[error("configuration is invalid ({} problem(s)):\n  - {}", .problems.len(), .problems.join("\n  - "))]
    Config { problems: Vec<String> },

    /// A request or event field is missing or malformed. Nothing was changed.
    #[error("invalid input: `{field}` {reason}")]
    InvalidInput { field: String, reason: String },

    /// The snapshot of the run's day does not exist yet: retry later.
    #[error(
        "no available snapshot of {source_id} created between {window_start} and {window_end} yet; \
         the automated backup may still be running (retried by the state machine)"
    )]
    SnapshotNotReady {
        source_id: String,
        window_start: String,
        window_end: String,
    },

    /// The deadline for the day's snapshot has passed.
    #[error(
        "no available snapshot of {source_id} created between {window_start} and {window_end}; \
         snapshots that exist: [{}]. Check the backup window and retention of {source_id}, \
         or run this day from a manual snapshot",
        .existing.join(", ")
    )]
    SnapshotNotFound {
        source_id: String,
        window_start: String,
        window_end: String,
        existing: Vec<String>,
    },

    /// An export with the run's id exists but exports something else.
    #[error(
        "export task {export_id} already exists for {existing_source}, not for {wanted_source}; \
         export ids are derived from (prefix, source, day): use another SNAPLAKE_EXPORT_ID_PREFIX \
         or cancel the other export"
    )]
    ExportConflict {
        export_id: String,
        existing_source: String,
        wanted_source: String,
    },

    /// The export ended FAILED or CANCELED.
    #[error("export task {export_id} ended {status}: {cause}")]
    ExportFailed {
        export_id: String,
        status: String,
        cause: String,
    },

    /// Some tables of a completed export failed or were skipped, and the
    /// plan's policy is to fail the run.
    #[error(
        "the export did not complete these tables: {}; re-run the day, or set \
         on_table_failure to \"skip\" to publish the others",
        .tables.join(", ")
    )]
    ExportIncomplete { tables: Vec<String> },

    /// The raw table does not show this run's export: its registration
    /// failed, so the table is not transformed (it would publish older data
    /// as this run's).
    #[error(
        "raw table {table} {found}, not this run's export {wanted}; registering it failed (see the \
         RegisterRawTables step), so it is not transformed and stays on its previous version: fix that cause, \
         then run the day again"
    )]
    RawNotRegistered {
        table: String,
        found: String,
        wanted: String,
    },

    /// A swap would remove or retype columns and the policy is to fail.
    #[error(
        "the new version of {table} is not compatible with the current one ({diff}); \
         fix the source or the masking policy, or set schema_policy to \"accept\""
    )]
    SchemaIncompatible { table: String, diff: String },

    /// An Athena query failed in a way a retry will not fix.
    #[error("Athena query {query_id} ({purpose}) failed: {reason}")]
    QueryFailed {
        query_id: String,
        purpose: String,
        reason: String,
    },

    /// An Athena query failed in a way worth retrying (throttling, internal error).
    #[error("Athena query {query_id} ({purpose}) failed and is worth retrying: {reason}")]
    QueryRetryable {
        query_id: String,
        purpose: String,
        reason: String,
    },

    /// A query read more than its budget allows; it was stopped.
    #[error(
        "Athena query {query_id} ({purpose}) was stopped: it scanned {scanned} bytes, over its budget of \
         {budget} bytes; raise scan_budget_bytes or narrow the query"
    )]
    ScanBudgetExceeded {
        query_id: String,
        purpose: String,
        scanned: i64,
        budget: i64,
    },

    /// A check on a newly published table did not hold.
    #[error("verification of {table} failed: {check}: {detail}")]
    VerificationFailed {
        table: String,
        check: String,
        detail: String,
    },

    /// Some tables of a run could not be published; the others were.
    /// `tables` names the first few, `more` counts the rest; the run's
    /// manifest has every one.
    #[error(
        "{} table(s) published; these failed and stay on their previous version: {}{}{}",
        .published, .tables.join("; "),
        if *.more > 0 { format!("; and {} more", .more) } else { String::new() },
        .manifest.as_ref().map(|m| format!(". Every table's outcome and cause: {m}")).unwrap_or_default()
    )]
    TablesFailed {
        tables: Vec<String>,
        more: usize,
        published: usize,
        manifest: Option<String>,
    },

    /// A preflight check found a setting that would make the work fail.
    #[error("preflight check `{check}` failed for {resource}: {problem}. Fix: {fix}")]
    Preflight {
        check: String,
        resource: String,
        problem: String,
        fix: String,
    },

    /// AWS asked us to slow down; worth retrying with backoff.
    #[error(
        "{service} {operation} on {resource} was throttled ({code}): {message}. Fix: wait and run it again; if it \
         keeps happening, lower the concurrency (backfill --concurrency, the module's max_concurrency and \
         athena_max_queries) or raise the service's quota"
    )]
    Throttled {
        service: String,
        operation: String,
        resource: String,
        code: String,
        message: String,
    },

    /// RDS cannot start the export yet: 5 exports are in progress in the
    /// account (`ExportTaskLimitReachedFault`) or the snapshot is not in a state
    /// it can be exported from (`InvalidExportSourceState`). Retried with
    /// backoff over tens of minutes.
    #[error(
        "{service} {operation} on {resource} cannot start yet ({code}): {message}; retried by the state machine \
         for about 50 minutes. Fix, if it keeps failing: RDS allows 5 exports in progress per account, so lower \
         the backfill concurrency or wait for other exports to end"
    )]
    ExportRetryable {
        service: String,
        operation: String,
        resource: String,
        code: String,
        message: String,
    },

    /// Any other AWS error, with the service's code and message.
    #[error("{service} {operation} on {resource} failed ({code}): {}", ending_in_fix(.message, .code, .fix))]
    Aws {
        service: String,
        operation: String,
        resource: String,
        code: String,
        message: String,
        fix: Option<String>,
    },
}

impl Error {
    /// The Step Functions error name (`errorType` of the Lambda error).
    pub fn name(&self) -> &'static str {
        match self {
            Error::Config { .. } => "ConfigInvalid",
            Error::InvalidInput { .. } => "InvalidInput",
            Error::SnapshotNotReady { .. } => "SnapshotNotReady",
            Error::SnapshotNotFound { .. } => "SnapshotNotFound",
            Error::ExportConflict { .. } => "ExportConflict",
            Error::ExportFailed { .. } => "ExportFailed",
            Error::ExportIncomplete { .. } => "ExportIncomplete",
            Error::RawNotRegistered { .. } => "RawNotRegistered",
            Error::SchemaIncompatible { .. } => "SchemaIncompatible",
            Error::QueryFailed { .. } | Error::ScanBudgetExceeded { .. } => "QueryFailed",
            Error::QueryRetryable { .. } => "QueryRetryable",
            Error::VerificationFailed { .. } => "VerificationFailed",
            Error::TablesFailed { .. } => "TablesFailed",
            Error::Preflight { .. } => "PreflightFailed",
            Error::Throttled { .. } => "Throttled",
            Error::ExportRetryable { .. } => "ExportRetryable",
            Error::Aws { .. } => "AwsError",
        }
    }

    /// Whether the state machine should retry the step as it is.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::SnapshotNotReady { .. }
                | Error::Throttled { .. }
                | Error::QueryRetryable { .. }
                | Error::ExportRetryable { .. }
        )
    }

    pub fn invalid_input(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// The longest error message a function answers with. The state machine
/// keeps a failed table's message in its Map child's output, a batch of
/// tables at a time, and a state's output is at most 256 KiB: a message
/// quoting a long query or service answer is cut, and logged whole.
pub const MAX_MESSAGE_BYTES: usize = 2048;

impl From<Error> for lambda_runtime::Diagnostic {
    fn from(err: Error) -> Self {
        let mut message = err.to_string();
        if message.len() > MAX_MESSAGE_BYTES {
            tracing::error!(error = %message, "the answer's errorMessage is cut to {MAX_MESSAGE_BYTES} bytes");
            let mut end = MAX_MESSAGE_BYTES;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push_str(" … (cut: the function's log has the whole message)");
        }
        lambda_runtime::Diagnostic {
            error_type: err.name().to_string(),
            error_message: message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_lists_every_problem() {
        let err = Error::Config {
            problems: vec!["SNAPLAKE_BUCKET is missing".into(), "B is bad".into()],
        };
        let text = err.to_string();
        assert!(text.contains("2 problem(s)") && text.contains("SNAPLAKE_BUCKET") && text.contains("B is bad"));
    }

    #[test]
    fn a_long_message_is_cut_on_a_character_boundary() {
        let diag: lambda_runtime::Diagnostic = Error::invalid_input("sql", "é".repeat(5000)).into();
        assert!(
            diag.error_message.len() < MAX_MESSAGE_BYTES + 100,
            "{}",
            diag.error_message.len()
        );
        assert!(diag.error_message.ends_with("has the whole message)"));
        assert_eq!(diag.error_type, "InvalidInput");
    }

    #[test]
    fn diagnostic_carries_the_state_machine_name() {
        let diag: lambda_runtime::Diagnostic = Error::ExportFailed {
            export_id: "snaplake-a-20261120".into(),
            status: "FAILED".into(),
            cause: "bucket gone".into(),
        }
        .into();
        assert_eq!(diag.error_type, "ExportFailed");
        assert!(diag.error_message.contains("bucket gone"));
    }

    #[test]
    fn snapshot_not_found_names_window_and_existing() {
        let err = Error::SnapshotNotFound {
            source_id: "shop".into(),
            window_start: "2026-11-20T15:00:00Z".into(),
            window_end: "2026-11-21T15:00:00Z".into(),
            existing: vec!["rds:shop-2026-11-19-18-00".into()],
        };
        let text = err.to_string();
        assert!(text.contains("shop") && text.contains("2026-11-20T15:00:00Z") && text.contains("rds:shop-2026-11-19"));
        assert!(!err.is_retryable());
    }
}
