//! Step Functions: answering a task token.

use aws_sdk_sfn::Client;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::error::Error;

/// How answering a token went. A token that is stale (the execution timed
/// out, was stopped, or was already answered) is not an error: the wait it
/// belonged to has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Delivered,
    Stale,
}

const STALE_CODES: &[&str] = &["InvalidToken", "TaskTimedOut", "TaskDoesNotExist"];

pub async fn send_success(client: &Client, token: &str, output: &serde_json::Value) -> Result<Answer, Error> {
    let result = client
        .send_task_success()
        .task_token(token)
        .output(output.to_string())
        .send()
        .await;
    answered(
        result.map(|_| ()).map_err(|e| e.into_service_error()),
        "SendTaskSuccess",
    )
}

pub async fn send_failure(client: &Client, token: &str, error: &str, cause: &str) -> Result<Answer, Error> {
    let result = client
        .send_task_failure()
        .task_token(token)
        .error(error)
        .cause(cause)
        .send()
        .await;
    answered(
        result.map(|_| ()).map_err(|e| e.into_service_error()),
        "SendTaskFailure",
    )
}

fn answered<E: ProvideErrorMetadata + std::fmt::Display>(result: Result<(), E>, op: &str) -> Result<Answer, Error> {
    match result {
        Ok(()) => Ok(Answer::Delivered),
        Err(err) if err.code().is_some_and(|c| STALE_CODES.contains(&c)) => Ok(Answer::Stale),
        Err(err) => Err(Error::aws("states", op, "task token", &err)),
    }
}
