//! Why a command did not do what was asked, and the exit code that says so.
//! Scripts (and the backfill of a colleague) branch on the code; people read
//! the message, which names what is wrong and how to fix it.

use std::process::ExitCode;

use aws_sdk_sfn::error::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// The exit codes, as `snaplake --help` documents them.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  done, or nothing to do (e.g. the day already ran)
  1  something ran and failed: a run, a table, a doctor check
  2  bad usage: an argument, a date or the deployment's configuration
  3  not found: the stack, the day's snapshot, an export or a table
  4  AWS refused or could not be reached (credentials, permissions, throttling)
  5  not confirmed: nothing was changed";

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("{0}")]
    Usage(String),
    #[error("{what} not found. Fix: {fix}")]
    NotFound { what: String, fix: String },
    #[error("{0}")]
    Failed(String),
    #[error("not confirmed: nothing was changed (pass --yes to skip the question)")]
    NotConfirmed,
    #[error(transparent)]
    Snaplake(#[from] snaplake::error::Error),
}

impl Failure {
    pub fn not_found(what: impl Into<String>, fix: impl Into<String>) -> Self {
        Failure::NotFound {
            what: what.into(),
            fix: fix.into(),
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        use snaplake::error::Error;
        ExitCode::from(match self {
            Failure::Failed(_) => 1,
            Failure::Usage(_) => 2,
            Failure::NotFound { .. } => 3,
            Failure::NotConfirmed => 5,
            Failure::Snaplake(e) => match e {
                Error::Config { .. } | Error::InvalidInput { .. } => 2,
                Error::SnapshotNotFound { .. } | Error::SnapshotNotReady { .. } => 3,
                Error::Aws { .. } | Error::Throttled { .. } => 4,
                _ => 1,
            },
        })
    }
}

/// An SDK error in one line: the service's code and message when AWS
/// answered, else why it could not be reached (the library's
/// [`snaplake::error::Error::sdk`] decides which).
pub fn describe<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match snaplake::error::Error::sdk("", "", "", err) {
        snaplake::error::Error::Aws { code, message, .. }
        | snaplake::error::Error::Throttled { code, message, .. }
        | snaplake::error::Error::ExportRetryable { code, message, .. } => format!("{code}: {message}"),
        other => other.to_string(),
    }
}

/// An AWS SDK error as a snaplake error ([`snaplake::error::Error::sdk`]);
/// when AWS could not be reached, with what to check on the operator's side.
pub fn aws<E, R>(service: &str, operation: &str, resource: &str, err: SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let error = snaplake::error::Error::sdk(service, operation, resource, &err);
    if err.as_service_error().is_some() {
        return error.into();
    }
    error
        .with_fix("check credentials (--profile, AWS_PROFILE or AWS_ACCESS_KEY_ID), --region and --endpoint-url")
        .into()
}

#[cfg(test)]
mod tests {
    use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    fn answered(code: &str, message: &str) -> SdkError<GetCallerIdentityError, ()> {
        let metadata = ErrorMetadata::builder().code(code).message(message).build();
        SdkError::service_error(GetCallerIdentityError::generic(metadata), ())
    }

    #[test]
    fn the_common_aws_errors_are_one_line_with_code_message_and_fix() {
        for (code, message, fix) in [
            (
                "ExpiredToken",
                "The security token included in the request is expired",
                "sign in again",
            ),
            (
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
                "AWS_ACCESS_KEY_ID",
            ),
            (
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
                "--region",
            ),
            (
                "AccessDeniedException",
                "User: arn:aws:sts::1:assumed-role/on-call/me is not authorized to perform: lambda:GetFunctionConfiguration",
                "operator_policy_json",
            ),
            ("ThrottlingException", "Rate exceeded", "lower the concurrency"),
            (
                "ResourceNotFoundException",
                "Function not found: snaplake-catalog-swap",
                "--stack",
            ),
        ] {
            let failure = aws(
                "lambda",
                "GetFunctionConfiguration",
                "snaplake-catalog-swap",
                answered(code, message),
            );
            let text = failure.to_string();
            assert!(!text.contains('\n') && text.len() < 500, "{code}: {text}");
            assert!(text.contains(&format!("({code}): {message}")), "{code}: {text}");
            assert!(text.contains("Fix: ") && text.contains(fix), "{code}: {text}");
            assert!(
                !text.contains("unhandled") && !text.contains("ErrorMetadata"),
                "{code}: {text}"
            );
            assert_eq!(failure.exit_code(), ExitCode::from(4), "{code}: AWS refused");
        }
    }
}
