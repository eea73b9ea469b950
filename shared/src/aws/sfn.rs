//! Step Functions: answering a task token, an execution's status, and what
//! an execution has run so far (its history, for the run's cost).

use aws_sdk_sfn::Client;
use aws_sdk_sfn::error::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::cost::ParentSoFar;
use crate::error::Error;

/// How answering a token went. A token that is stale (the execution timed
/// out, was stopped, or was already answered) is not an error: the wait it
/// belonged to has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Delivered,
    Stale,
}

pub async fn send_success(client: &Client, token: &str, output: &serde_json::Value) -> Result<Answer, Error> {
    match client
        .send_task_success()
        .task_token(token)
        .output(output.to_string())
        .send()
        .await
    {
        Ok(_) => Ok(Answer::Delivered),
        Err(err) => {
            let stale = err
                .as_service_error()
                .is_some_and(|e| e.is_invalid_token() || e.is_task_timed_out() || e.is_task_does_not_exist());
            stale_or_error(stale, &err, "SendTaskSuccess")
        }
    }
}

pub async fn send_failure(client: &Client, token: &str, error: &str, cause: &str) -> Result<Answer, Error> {
    match client
        .send_task_failure()
        .task_token(token)
        .error(error)
        .cause(cause)
        .send()
        .await
    {
        Ok(_) => Ok(Answer::Delivered),
        Err(err) => {
            let stale = err
                .as_service_error()
                .is_some_and(|e| e.is_invalid_token() || e.is_task_timed_out() || e.is_task_does_not_exist());
            stale_or_error(stale, &err, "SendTaskFailure")
        }
    }
}

/// An execution's status (`RUNNING`, `SUCCEEDED`, ...), or None when it
/// does not exist.
pub async fn execution_status(client: &Client, execution_arn: &str) -> Result<Option<String>, Error> {
    match client.describe_execution().execution_arn(execution_arn).send().await {
        Ok(out) => Ok(Some(out.status().as_str().to_string())),
        Err(err) => {
            if err.as_service_error().is_some_and(|e| e.is_execution_does_not_exist()) {
                Ok(None)
            } else {
                Err(Error::sdk("states", "DescribeExecution", execution_arn, &err))
            }
        }
    }
}

/// The states an execution has entered and the Lambda tasks it has
/// scheduled so far, from its history (pages of 1,000 events, without the
/// events' data).
pub async fn states_and_lambda_tasks(client: &Client, execution_arn: &str) -> Result<ParentSoFar, Error> {
    let mut so_far = ParentSoFar::default();
    let mut pages = client
        .get_execution_history()
        .execution_arn(execution_arn)
        .include_execution_data(false)
        .max_results(1000)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|err| Error::sdk("states", "GetExecutionHistory", execution_arn, &err))?;
        for event in page.events() {
            let kind = event.r#type().as_str();
            if kind.ends_with("StateEntered") {
                so_far.states_entered += 1;
            } else if kind == "LambdaFunctionScheduled"
                || (kind == "TaskScheduled"
                    && event
                        .task_scheduled_event_details()
                        .is_some_and(|d| d.resource_type() == "lambda"))
            {
                so_far.lambda_tasks += 1;
            }
        }
    }
    Ok(so_far)
}

fn stale_or_error<E, R>(stale: bool, err: &SdkError<E, R>, op: &str) -> Result<Answer, Error>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    if stale {
        Ok(Answer::Stale)
    } else {
        Err(Error::sdk("states", op, "task token", err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sfn::operation::send_task_success::{SendTaskSuccessError, SendTaskSuccessOutput};
    use aws_sdk_sfn::types::error::{InvalidToken, TaskTimedOut};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    #[tokio::test]
    async fn stale_tokens_are_quiet_and_other_errors_are_not() {
        let ok = mock!(Client::send_task_success).then_output(|| SendTaskSuccessOutput::builder().build());
        let invalid = mock!(Client::send_task_success)
            .then_error(|| SendTaskSuccessError::InvalidToken(InvalidToken::builder().build()));
        let timed_out = mock!(Client::send_task_success)
            .then_error(|| SendTaskSuccessError::TaskTimedOut(TaskTimedOut::builder().build()));
        let client = mock_client!(aws_sdk_sfn, RuleMode::Sequential, [&ok, &invalid, &timed_out]);
        let output = serde_json::json!({"status": "COMPLETE"});
        assert_eq!(send_success(&client, "t", &output).await.unwrap(), Answer::Delivered);
        assert_eq!(send_success(&client, "t", &output).await.unwrap(), Answer::Stale);
        assert_eq!(send_success(&client, "t", &output).await.unwrap(), Answer::Stale);

        let denied = mock!(Client::send_task_success).then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
                aws_smithy_types::body::SdkBody::from(r#"{"__type":"AccessDeniedException","message":"no"}"#),
            )
        });
        let client = mock_client!(aws_sdk_sfn, [&denied]);
        let err = send_success(&client, "t", &output).await.unwrap_err();
        assert!(err.to_string().contains("AccessDeniedException"), "{err}");
    }
}
