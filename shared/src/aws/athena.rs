//! Athena: start, watch, read and stop queries.

use aws_sdk_athena::Client;
use aws_sdk_athena::types::{QueryExecutionState, ResultConfiguration};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use sha2::{Digest, Sha256};

use super::s3::ResultEncryption;
use super::to_timestamp;
use crate::error::Error;

/// The idempotency token of a query: the same (run, step, table) never runs
/// twice, however often the state is retried (Athena keeps tokens 24 hours).
pub fn request_token(run_id: &str, step: &str, table: &str) -> String {
    let digest = Sha256::digest(format!("{run_id}\u{0}{step}\u{0}{table}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub struct Start<'a> {
    pub workgroup: &'a str,
    pub sql: &'a str,
    pub parameters: &'a [String],
    pub token: String,
    pub output_location: Option<String>,
}

pub async fn start(client: &Client, q: &Start<'_>) -> Result<String, Error> {
    let out = client
        .start_query_execution()
        .query_string(q.sql)
        .work_group(q.workgroup)
        .client_request_token(&q.token)
        .set_execution_parameters((!q.parameters.is_empty()).then(|| q.parameters.to_vec()))
        .set_result_configuration(
            q.output_location
                .as_ref()
                .map(|l| ResultConfiguration::builder().output_location(l).build()),
        )
        .send()
        .await
        .map_err(|e| {
            let err = Error::sdk(
                "athena",
                "StartQueryExecution",
                &format!("workgroup {}", q.workgroup),
                &e,
            );
            match e.code() {
                Some("InvalidRequestException") => {
                    err.with_fix("check that the workgroup exists and has an output location, and the query's syntax")
                }
                _ => err,
            }
        })?;
    out.query_execution_id().map(str::to_string).ok_or_else(|| Error::Aws {
        service: "athena".into(),
        operation: "StartQueryExecution".into(),
        resource: format!("workgroup {}", q.workgroup),
        code: "NoQueryExecutionId".into(),
        message: "Athena answered without a query execution id".into(),
        fix: None,
    })
}

/// Where a query is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub state: String,
    pub reason: Option<String>,
    /// Athena's own verdict, when it gives one (`AthenaError.Retryable`).
    pub retryable: Option<bool>,
    pub scanned_bytes: i64,
    pub engine_ms: i64,
    /// When Athena took the query.
    pub submitted: Option<jiff::Timestamp>,
}

pub async fn status(client: &Client, id: &str) -> Result<Status, Error> {
    let out = client
        .get_query_execution()
        .query_execution_id(id)
        .send()
        .await
        .map_err(|e| Error::sdk("athena", "GetQueryExecution", &format!("query {id}"), &e))?;
    let exec = out.query_execution();
    let st = exec.and_then(|e| e.status());
    let stats = exec.and_then(|e| e.statistics());
    Ok(Status {
        state: st
            .and_then(|s| s.state())
            .map(QueryExecutionState::as_str)
            .unwrap_or("UNKNOWN")
            .to_string(),
        reason: st.and_then(|s| s.state_change_reason()).map(str::to_string),
        retryable: st.and_then(|s| s.athena_error()).map(|e| e.retryable()),
        scanned_bytes: stats.and_then(|s| s.data_scanned_in_bytes()).unwrap_or(0),
        engine_ms: stats.and_then(|s| s.engine_execution_time_in_millis()).unwrap_or(0),
        submitted: st.and_then(|s| s.submission_date_time()).map(to_timestamp),
    })
}

/// A failed query's reason, with the fix when the cause is one a person
/// must fix outside the query: a KMS key that cannot be used (UNLOAD writes
/// with the workgroup's key), or S3 access refused to the caller.
pub fn with_fix(reason: &str) -> String {
    let lower = reason.to_ascii_lowercase();
    let fix = if lower.contains("kms.disabledexception") || (lower.contains("kms") && lower.contains("is disabled")) {
        "enable the KMS key it names (UNLOAD writes with the workgroup's key, the module's curated key) and run the day again; `snaplake doctor` checks both keys"
    } else if lower.contains("kmsinvalidstateexception") || lower.contains("pending deletion") {
        "cancel the deletion of the KMS key it names (aws kms cancel-key-deletion) and enable it, then run the day again"
    } else if lower.starts_with("access denied when") {
        "Athena reads and writes with query-runner's role: give it that access (the Terraform module's policy does) and check the bucket and key policies"
    } else {
        return reason.to_string();
    };
    format!("{reason}; {fix}")
}

/// Reason texts Athena uses for failures a retry may fix.
const RETRYABLE: &[&str] = &[
    "throttlingexception",
    "toomanyrequestsexception",
    "slowdown",
    "slow down",
    "rate exceeded",
    "internal error",
    "internal_error",
    "please resubmit",
];

/// Whether a FAILED query is worth running again. Syntax errors, missing
/// tables, timeouts and "exhausted resources" are not: the same query fails
/// the same way.
pub fn is_retryable(status: &Status) -> bool {
    let reason = status.reason.as_deref().unwrap_or_default().to_ascii_lowercase();
    let permanent = [
        "exhausted resources",
        "timeout",
        "timed out",
        "syntax_error",
        "table_not_found",
    ]
    .iter()
    .any(|p| reason.contains(p));
    !permanent && (status.retryable == Some(true) || RETRYABLE.iter().any(|r| reason.contains(r)))
}

/// A query's result: the header and up to `max_rows` rows, following `NextToken`.
pub struct Rows {
    pub header: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    /// More rows exist than were read.
    pub truncated: bool,
}

pub async fn results(client: &Client, id: &str, max_rows: usize) -> Result<Rows, Error> {
    let mut header = Vec::new();
    let mut rows = Vec::new();
    let mut token: Option<String> = None;
    let mut first = true;
    loop {
        let page = client
            .get_query_results()
            .query_execution_id(id)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| Error::sdk("athena", "GetQueryResults", &format!("query {id}"), &e))?;
        let set = page.result_set();
        if first {
            header = set
                .and_then(|s| s.result_set_metadata())
                .map(|m| m.column_info().iter().map(|c| c.name().to_string()).collect())
                .unwrap_or_default();
        }
        for (i, row) in set.map(|s| s.rows()).unwrap_or_default().iter().enumerate() {
            // The first row of the first page repeats the column names.
            if first && i == 0 && !header.is_empty() {
                continue;
            }
            if rows.len() == max_rows {
                return Ok(Rows {
                    header,
                    rows,
                    truncated: true,
                });
            }
            rows.push(
                row.data()
                    .iter()
                    .map(|d| d.var_char_value().map(str::to_string))
                    .collect(),
            );
        }
        first = false;
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => {
                return Ok(Rows {
                    header,
                    rows,
                    truncated: false,
                });
            }
        }
    }
}

/// How the workgroup encrypts what its queries write: `SSE_KMS` with its
/// key, `SSE_S3`, or nothing said. A file snaplake writes beside an
/// UNLOAD's output is encrypted the same way.
pub async fn result_encryption(client: &Client, workgroup: &str) -> Result<ResultEncryption, Error> {
    let out = client
        .get_work_group()
        .work_group(workgroup)
        .send()
        .await
        .map_err(|e| Error::sdk("athena", "GetWorkGroup", workgroup, &e))?;
    let encryption = out
        .work_group()
        .and_then(|w| w.configuration())
        .and_then(|c| c.result_configuration())
        .and_then(|r| r.encryption_configuration());
    Ok(match encryption {
        Some(e) if e.encryption_option().as_str() == "SSE_KMS" => {
            ResultEncryption::Kms(e.kms_key().unwrap_or_default().to_string())
        }
        Some(e) if e.encryption_option().as_str() == "SSE_S3" => ResultEncryption::S3Managed,
        _ => ResultEncryption::Unset,
    })
}

pub async fn stop(client: &Client, id: &str) -> Result<(), Error> {
    client
        .stop_query_execution()
        .query_execution_id(id)
        .send()
        .await
        .map_err(|e| Error::sdk("athena", "StopQueryExecution", &format!("query {id}"), &e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_or_access_failure_says_what_to_fix_and_others_stay_as_athena_said() {
        let disabled = "Error when writing output to url: s3://lake/curated/t/x.parquet: KMS.DisabledException: arn:aws:kms:us-east-1:1:key/k is disabled.";
        assert!(with_fix(disabled).starts_with(disabled));
        assert!(
            with_fix(disabled).contains("enable the KMS key"),
            "{}",
            with_fix(disabled)
        );
        let pending = "KMS.KMSInvalidStateException: arn:aws:kms:us-east-1:1:key/k is pending deletion.";
        assert!(with_fix(pending).contains("cancel the deletion"));
        let denied = "Access denied when reading s3://lake/exports/t/p.parquet: AccessDenied: ...";
        assert!(with_fix(denied).contains("query-runner's role"));
        let syntax = "SYNTAX_ERROR: line 1:8: Column 'x' cannot be resolved";
        assert_eq!(with_fix(syntax), syntax);
    }
    use aws_sdk_athena::operation::get_query_results::GetQueryResultsOutput;
    use aws_sdk_athena::types::{ColumnInfo, Datum, ResultSet, ResultSetMetadata, Row};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn failed(reason: &str, retryable: Option<bool>) -> Status {
        Status {
            state: "FAILED".into(),
            reason: Some(reason.into()),
            retryable,
            scanned_bytes: 0,
            engine_ms: 0,
            submitted: None,
        }
    }

    #[test]
    fn failure_classification_table() {
        for reason in [
            "ThrottlingException: Rate exceeded",
            "TooManyRequestsException",
            "S3 SlowDown: Please reduce your request rate",
            "GENERIC_INTERNAL_ERROR: internal error, please resubmit",
        ] {
            assert!(is_retryable(&failed(reason, None)), "{reason}");
        }
        for reason in [
            "SYNTAX_ERROR: line 1:8: Column 'x' cannot be resolved",
            "TABLE_NOT_FOUND: Table 'raw.t' does not exist",
            "Query timeout",
            "Query exhausted resources at this scale factor",
            "HIVE_PATH_ALREADY_EXISTS: Target directory for table already exists",
        ] {
            assert!(!is_retryable(&failed(reason, None)), "{reason}");
        }
        assert!(
            is_retryable(&failed("something new", Some(true))),
            "Athena's own verdict counts"
        );
        assert!(
            !is_retryable(&failed("Query exhausted resources", Some(true))),
            "but not for exhausted resources"
        );
    }

    #[test]
    fn tokens_are_stable_distinct_and_athena_sized() {
        let a = request_token("run-snaplake-shop-20261121", "transform", "shop_customers");
        assert_eq!(
            a,
            request_token("run-snaplake-shop-20261121", "transform", "shop_customers")
        );
        assert_ne!(
            a,
            request_token("run-snaplake-shop-20261121", "verify", "shop_customers")
        );
        assert_ne!(request_token("a", "bc", "d"), request_token("ab", "c", "d"));
        assert!((32..=128).contains(&a.len()));
    }

    fn page(values: &[&str], next: Option<&str>, with_header: bool) -> GetQueryResultsOutput {
        let mut rows: Vec<Row> = Vec::new();
        if with_header {
            rows.push(
                Row::builder()
                    .data(Datum::builder().var_char_value("n").build())
                    .build(),
            );
        }
        rows.extend(
            values
                .iter()
                .map(|v| Row::builder().data(Datum::builder().var_char_value(*v).build()).build()),
        );
        GetQueryResultsOutput::builder()
            .result_set(
                ResultSet::builder()
                    .set_rows(Some(rows))
                    .result_set_metadata(
                        ResultSetMetadata::builder()
                            .column_info(ColumnInfo::builder().name("n").r#type("bigint").build().unwrap())
                            .build(),
                    )
                    .build(),
            )
            .set_next_token(next.map(str::to_string))
            .build()
    }

    #[tokio::test]
    async fn results_follow_next_token_and_skip_the_header_row_once() {
        let first = mock!(Client::get_query_results)
            .match_requests(|r| r.next_token().is_none())
            .then_output(|| page(&["1", "2"], Some("t1"), true));
        let second = mock!(Client::get_query_results)
            .match_requests(|r| r.next_token() == Some("t1"))
            .then_output(|| page(&["3"], None, false));
        let client = mock_client!(aws_sdk_athena, RuleMode::MatchAny, [&first, &second]);
        let all = results(&client, "q", 100).await.unwrap();
        assert_eq!(all.header, ["n"]);
        let values: Vec<_> = all.rows.iter().map(|r| r[0].clone().unwrap()).collect();
        assert_eq!(values, ["1", "2", "3"]);
        assert!(!all.truncated);
        let some = results(&client, "q", 2).await.unwrap();
        assert_eq!((some.rows.len(), some.truncated), (2, true));
    }

    #[tokio::test]
    async fn throttled_polls_are_retried_by_the_client() {
        let rule = mock!(Client::get_query_execution)
            .sequence()
            .http_status(
                400,
                Some(r#"{"__type":"TooManyRequestsException","Message":"Rate exceeded"}"#.into()),
            )
            .times(2)
            .output(|| aws_sdk_athena::operation::get_query_execution::GetQueryExecutionOutput::builder().build())
            .build();
        let client = mock_client!(aws_sdk_athena, RuleMode::Sequential, [&rule], |b| b
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(3)));
        let s = status(&client, "q").await.unwrap();
        assert_eq!(s.state, "UNKNOWN");
        assert_eq!(rule.num_calls(), 3);
    }
}
