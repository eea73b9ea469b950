//! Why a command did not do what was asked, and the exit code that says so.
//! Scripts (and the backfill of a colleague) branch on the code; people read
//! the message, which names what is wrong and how to fix it.

use std::process::ExitCode;

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
/// answered, else why it could not be reached.
pub fn describe<E, R>(err: &aws_sdk_sfn::error::SdkError<E, R>) -> String
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match err.as_service_error() {
        Some(e) => format!(
            "{}: {}",
            e.code().unwrap_or("Unknown"),
            e.message().unwrap_or("no message")
        ),
        None => aws_sdk_sfn::error::DisplayErrorContext(err).to_string(),
    }
}

/// An AWS SDK error as a snaplake error: the service's code and message when
/// AWS answered, else why it could not be reached (no credentials, no route).
pub fn aws<E, R>(service: &str, operation: &str, resource: &str, err: aws_sdk_sfn::error::SdkError<E, R>) -> Failure
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    use snaplake::error::Error;
    match err {
        aws_sdk_sfn::error::SdkError::ServiceError(e) => Error::aws(service, operation, resource, e.err()).into(),
        other => Failure::Snaplake(Error::Aws {
            service: service.into(),
            operation: operation.into(),
            resource: resource.into(),
            code: "Unreachable".into(),
            message: aws_sdk_sfn::error::DisplayErrorContext(&other).to_string(),
            fix: Some(
                "check credentials (--profile, AWS_PROFILE or AWS_ACCESS_KEY_ID), --region and --endpoint-url".into(),
            ),
        }),
    }
}
