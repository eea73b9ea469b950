//! What AWS answered, as an [`Error`]: an SDK failure read for its code and
//! message (or why there was no answer), the codes that mean "slow down" or
//! "not yet", and the fix for the errors every service answers alike.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::Error;

/// The service's message, then the fix: the caller's, or the common one
/// for the code.
pub(super) fn ending_in_fix(message: &str, code: &str, fix: &Option<String>) -> String {
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

#[cfg(test)]
mod tests {
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

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
}
