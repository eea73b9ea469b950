//! One error type for every function. Each message says what failed, on which
//! resource and the likely fix; [`Error::name`] is the name the state machine
//! matches in `Retry`/`Catch` (`ErrorEquals`), so renaming one is a breaking
//! change to the state machine definition.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

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

/// The service's message, then the fix: the caller's, or the common one
/// for the code.
fn ending_in_fix(message: &str, code: &str, fix: &Option<String>) -> String {
    match fix.as_deref().or_else(|| common_fix(code)) {
        Some(fix) => format!("{}. Fix: {fix}", message.trim_end_matches('.')),
        None => message.to_string(),
    }
}

/// The fix for the errors every AWS service answers alike, when the caller
/// named none: credentials, permissions, a name that does not exist.
pub fn common_fix(code: &str) -> Option<&'static str> {
    Some(match code {
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => {
            "the session's credentials expired: sign in again (aws sso login, or fresh temporary credentials) and repeat"
        }
        "InvalidClientTokenId" | "UnrecognizedClientException" | "InvalidAccessKeyId" => {
            "the access key is not known here: check AWS_PROFILE or AWS_ACCESS_KEY_ID, --region and --endpoint-url"
        }
        "SignatureDoesNotMatch" | "InvalidSignatureException" => {
            "the secret key does not match the access key, or this machine's clock is off: check \
             AWS_SECRET_ACCESS_KEY and the time"
        }
        "AccessDenied" | "AccessDeniedException" => {
            "the caller lacks this permission: use a role that has it, or grant it (the module's outputs \
             operator_policy_json and analyst_policy_json list what operators and analysts need)"
        }
        "ResourceNotFoundException"
        | "NoSuchKey"
        | "NoSuchBucket"
        | "EntityNotFoundException"
        | "NotFound"
        | "StateMachineDoesNotExist"
        | "ExecutionDoesNotExist" => {
            "it does not exist in this account and region: check the name, --stack and --region"
        }
        _ => return None,
    })
}

/// Error codes AWS services use for "slow down"; all are safe to retry.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "ProvisionedThroughputExceededException",
    "RequestThrottled",
    "RequestThrottledException",
];

pub fn is_throttling_code(code: &str) -> bool {
    THROTTLING_CODES.contains(&code)
}

/// RDS codes (with or without the `Fault` suffix) that mean "an export cannot
/// start now, later it can".
const EXPORT_RETRYABLE_CODES: &[&str] = &["ExportTaskLimitReached", "InvalidExportSourceState"];

pub fn is_export_retryable_code(code: &str) -> bool {
    EXPORT_RETRYABLE_CODES.contains(&code.strip_suffix("Fault").unwrap_or(code))
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

    /// Wraps an AWS SDK error: throttling becomes [`Error::Throttled`], the rest
    /// [`Error::Aws`] with the service's code and message.
    pub fn aws<E>(service: &str, operation: &str, resource: &str, err: &E) -> Self
    where
        E: ProvideErrorMetadata + std::fmt::Display,
    {
        let code = err.code().unwrap_or("Unknown").to_string();
        let message = err.message().map(str::to_string).unwrap_or_else(|| err.to_string());
        if service == "rds" && is_export_retryable_code(&code) {
            return Error::ExportRetryable {
                service: service.into(),
                operation: operation.into(),
                resource: resource.into(),
                code,
                message,
            };
        }
        if is_throttling_code(&code) {
            return Error::Throttled {
                service: service.into(),
                operation: operation.into(),
                resource: resource.into(),
                code,
                message,
            };
        }
        Error::Aws {
            service: service.into(),
            operation: operation.into(),
            resource: resource.into(),
            code,
            message,
            fix: None,
        }
    }

    /// An AWS SDK call's failure, for the library and the CLI alike. When AWS
    /// answered, its code and message ([`Error::aws`]); when it did not, why:
    /// `Timeout` (no answer in time), `Unreachable` (the connection failed:
    /// DNS, refused, TLS, or no credentials to sign with), `InvalidResponse`
    /// (an answer the SDK could not read) or `RequestNotBuilt`, with the
    /// SDK's whole chain of causes as the message. Never "Unknown" for a
    /// failure that has a cause.
    pub fn sdk<E, R>(service: &str, operation: &str, resource: &str, err: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        let code = match err {
            SdkError::ServiceError(e) if e.err().code().is_some() => {
                return Error::aws(service, operation, resource, e.err());
            }
            SdkError::ServiceError(_) => "Unknown",
            SdkError::TimeoutError(_) => "Timeout",
            SdkError::DispatchFailure(f) if f.is_timeout() => "Timeout",
            SdkError::DispatchFailure(_) => "Unreachable",
            SdkError::ResponseError(_) => "InvalidResponse",
            SdkError::ConstructionFailure(_) => "RequestNotBuilt",
            _ => "Unknown",
        };
        Error::Aws {
            service: service.into(),
            operation: operation.into(),
            resource: resource.into(),
            code: code.into(),
            message: DisplayErrorContext(err).to_string(),
            fix: None,
        }
    }

    /// Adds the likely fix to an [`Error::Aws`]; other variants carry theirs.
    pub fn with_fix(self, fix: impl Into<String>) -> Self {
        match self {
            Error::Aws {
                service,
                operation,
                resource,
                code,
                message,
                ..
            } => Error::Aws {
                service,
                operation,
                resource,
                code,
                message,
                fix: Some(fix.into()),
            },
            other => other,
        }
    }

    /// The AWS error code behind this error, if it came from AWS.
    pub fn aws_code(&self) -> Option<&str> {
        match self {
            Error::Aws { code, .. } | Error::Throttled { code, .. } | Error::ExportRetryable { code, .. } => Some(code),
            _ => None,
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
    use aws_smithy_types::error::ErrorMetadata;

    fn sdk_error(code: &str, message: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).message(message).build()
    }

    #[test]
    fn throttling_codes_become_throttled() {
        for code in [
            "ThrottlingException",
            "TooManyRequestsException",
            "SlowDown",
            "Throttling",
        ] {
            let err = Error::aws("glue", "GetTable", "db.t", &sdk_error(code, "rate exceeded"));
            assert_eq!(err.name(), "Throttled", "{code}");
            assert!(err.is_retryable());
        }
    }

    #[test]
    fn rds_export_limit_and_source_state_are_retryable() {
        for code in ["ExportTaskLimitReachedFault", "InvalidExportSourceState"] {
            let err = Error::aws("rds", "StartExportTask", "export x", &sdk_error(code, "later"));
            assert_eq!(err.name(), "ExportRetryable", "{code}");
            assert!(err.is_retryable() && err.to_string().contains(code));
        }
        let other = Error::aws("glue", "GetTable", "t", &sdk_error("InvalidExportSourceState", "x"));
        assert_eq!(other.name(), "AwsError", "only RDS's codes");
    }

    #[test]
    fn other_codes_keep_code_message_and_fix() {
        let err = Error::aws(
            "rds",
            "StartExportTask",
            "export x",
            &sdk_error("InvalidS3BucketFault", "no bucket"),
        )
        .with_fix("create the bucket");
        assert_eq!(err.name(), "AwsError");
        assert!(!err.is_retryable());
        let text = err.to_string();
        assert!(
            text.contains("StartExportTask") && text.contains("InvalidS3BucketFault"),
            "{text}"
        );
        assert!(
            text.contains("no bucket") && text.ends_with("Fix: create the bucket"),
            "{text}"
        );
        assert_eq!(err.aws_code(), Some("InvalidS3BucketFault"));
    }

    mod sdk {
        use aws_sdk_glue::error::SdkError;
        use aws_sdk_glue::operation::get_table::GetTableError;
        use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
        use aws_smithy_runtime_api::client::result::ConnectorError;
        use aws_smithy_runtime_api::http::StatusCode;
        use aws_smithy_types::body::SdkBody;

        use super::*;

        type GetTable = SdkError<GetTableError, HttpResponse>;

        fn io(text: &str) -> Box<dyn std::error::Error + Send + Sync> {
            Box::new(std::io::Error::other(text.to_string()))
        }

        fn converted(err: GetTable) -> (String, String, String) {
            let err = Error::sdk("glue", "GetTable", "table db.t", &err);
            let text = err.to_string();
            let Error::Aws { code, message, .. } = err else {
                panic!("not an AwsError: {text}");
            };
            (code, message, text)
        }

        #[test]
        fn a_timeout_says_so_with_its_cause() {
            let (code, message, text) = converted(SdkError::timeout_error(io("read timed out after 3.1s")));
            assert_eq!(code, "Timeout");
            assert!(message.contains("read timed out after 3.1s"), "{text}");
            assert!(!text.contains("Unknown"), "{text}");
            let (code, _, _) = converted(SdkError::dispatch_failure(ConnectorError::timeout(io(
                "connect timeout",
            ))));
            assert_eq!(code, "Timeout");
        }

        #[test]
        fn a_connection_failure_says_why() {
            let refused = ConnectorError::io(io("Connection refused (os error 111)"));
            let (code, message, text) = converted(SdkError::dispatch_failure(refused));
            assert_eq!(code, "Unreachable");
            assert!(message.contains("Connection refused"), "{text}");
            assert!(
                text.contains("glue GetTable on table db.t failed (Unreachable)"),
                "{text}"
            );
        }

        #[test]
        fn the_services_answer_keeps_its_code_and_message() {
            let meta = ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("not allowed: glue:GetTable")
                .build();
            let response = HttpResponse::new(StatusCode::try_from(400).unwrap(), SdkBody::empty());
            let (code, message, _) = converted(SdkError::service_error(GetTableError::generic(meta), response));
            assert_eq!(
                (code.as_str(), message.as_str()),
                ("AccessDeniedException", "not allowed: glue:GetTable")
            );
            let throttled = ErrorMetadata::builder()
                .code("ThrottlingException")
                .message("slow")
                .build();
            let response = HttpResponse::new(StatusCode::try_from(400).unwrap(), SdkBody::empty());
            let err = Error::sdk(
                "glue",
                "GetTable",
                "t",
                &SdkError::service_error(GetTableError::generic(throttled), response),
            );
            assert_eq!(err.name(), "Throttled");
        }

        #[test]
        fn an_answer_without_a_code_keeps_the_sdks_description() {
            let response = HttpResponse::new(StatusCode::try_from(502).unwrap(), SdkBody::from("Bad Gateway"));
            let unhandled = GetTableError::generic(ErrorMetadata::builder().build());
            let (code, message, text) = converted(SdkError::service_error(unhandled, response));
            assert_eq!(code, "Unknown");
            assert!(!message.is_empty() && message != "Unknown", "{text}");
        }
    }

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
