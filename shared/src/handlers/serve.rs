//! The Lambda loop every function runs: the payload is checked to be what
//! the function takes before its handler sees it, so a payload of the wrong
//! kind (not JSON, not an object, an AWS event of another source) comes back
//! as `InvalidInput` naming what was expected, never as the runtime's own
//! error type (which no Retry or Catch of the state machine names).

use std::future::Future;
use std::task::{Context, Poll};

use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::{LambdaEvent, LambdaInvocation, Runtime, layers::TracingLayer, service_fn};
use serde::Serialize;
use serde_json::Value;

use crate::error::Error;

/// The key a body that is not JSON is handed on under (see [`NotJsonLayer`]).
const NOT_JSON: &str = "snaplake:payload-not-json";

/// Runs `handler` for every invocation of `function`. `events` are the AWS
/// event sources it takes besides its state machine input (`aws:s3`,
/// `aws.rds`: an S3 record's `eventSource` or an EventBridge `source`).
pub async fn serve<F, Fut, R>(
    function: &'static str,
    events: &'static [&'static str],
    handler: F,
) -> Result<(), lambda_runtime::Error>
where
    F: Fn(Value) -> Fut,
    Fut: Future<Output = Result<R, Error>>,
    R: Serialize,
{
    let service = service_fn(move |event: LambdaEvent<Value>| {
        let call = check(function, events, event.payload).map(&handler);
        async move { call?.await }
    });
    Runtime::new(service)
        .layer(NotJsonLayer)
        .layer(TracingLayer::new())
        .run()
        .await
}

/// What `function` takes, for the messages: the examples under events/ are
/// its inputs.
fn expected(function: &str, events: &[&str]) -> String {
    let also = if events.is_empty() {
        String::new()
    } else {
        format!(" or an event from {}", events.join(", "))
    };
    format!("{function} takes its state machine input, a JSON object{also}: send one like events/{function}*.json")
}

/// Whether `payload` is of a kind `function` takes; the handler checks its fields.
pub fn check(function: &str, events: &[&str], payload: Value) -> Result<Value, Error> {
    let refuse =
        |field: &str, what: String| Error::invalid_input(field, format!("{what}; {}", expected(function, events)));
    let Value::Object(fields) = &payload else {
        let kind = match &payload {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => unreachable!(),
        };
        return Err(refuse("payload", format!("is {kind}, not a JSON object")));
    };
    if let Some(reason) = fields.get(NOT_JSON).and_then(Value::as_str) {
        return Err(refuse("payload", format!("is not JSON ({reason})")));
    }
    let source = if fields.contains_key("detail-type") {
        fields.get("source").and_then(Value::as_str).map(|s| ("source", s))
    } else {
        let record = fields.get("Records").and_then(|r| r.get(0));
        let source = record.and_then(|r| r.get("eventSource").or_else(|| r.get("EventSource")));
        source.and_then(Value::as_str).map(|s| ("Records[0].eventSource", s))
    };
    match source {
        Some((field, source)) if !events.contains(&source) => Err(refuse(
            field,
            format!("is an event from {source}, which {function} does not handle"),
        )),
        _ => Ok(payload),
    }
}

/// Hands a body that is not JSON on as an object naming the parse error, so
/// that [`check`] answers it (the runtime would fail it under its own type).
/// Lambda refuses such a payload at `Invoke`; a local emulator may not.
#[derive(Clone, Copy)]
struct NotJsonLayer;

impl<S> Layer<S> for NotJsonLayer {
    type Service = NotJson<S>;
    fn layer(&self, inner: S) -> NotJson<S> {
        NotJson(inner)
    }
}

#[derive(Clone)]
struct NotJson<S>(S);

impl<S: Service<LambdaInvocation>> Service<LambdaInvocation> for NotJson<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut invocation: LambdaInvocation) -> S::Future {
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&invocation.body) {
            invocation.body = serde_json::json!({ NOT_JSON: e.to_string() }).to_string().into();
        }
        self.0.call(invocation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refused(function: &str, events: &[&str], payload: Value) -> (String, String) {
        match check(function, events, payload) {
            Err(e @ Error::InvalidInput { .. }) => {
                let Error::InvalidInput { ref field, .. } = e else {
                    unreachable!()
                };
                (field.clone(), e.to_string())
            }
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_payload_that_is_not_an_object_names_what_the_function_takes() {
        let (field, message) = refused("export-poller", &[], json!("hello"));
        assert_eq!(field, "payload");
        assert!(message.contains("is a string, not a JSON object"), "{message}");
        assert!(
            message.ends_with("send one like events/export-poller*.json"),
            "{message}"
        );
    }

    #[test]
    fn an_event_of_another_source_is_refused_and_named() {
        let ec2 = json!({"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "detail": {}});
        let (field, message) = refused("snapshot-export", &[], ec2.clone());
        assert_eq!(field, "source");
        assert!(
            message.contains("an event from aws.ec2, which snapshot-export does not handle"),
            "{message}"
        );
        let (_, message) = refused("export-callback", &["aws:s3", "aws.rds"], ec2);
        assert!(message.contains("or an event from aws:s3, aws.rds"), "{message}");
        let sqs = json!({"Records": [{"eventSource": "aws:sqs"}]});
        assert_eq!(
            refused("export-callback", &["aws:s3", "aws.rds"], sqs).0,
            "Records[0].eventSource"
        );
    }

    #[test]
    fn the_events_a_function_takes_and_its_own_input_pass() {
        let s3 = json!({"Records": [{"eventSource": "aws:s3", "s3": {}}]});
        let rds = json!({"detail-type": "RDS DB Cluster Snapshot Event", "source": "aws.rds"});
        assert_eq!(
            check("export-callback", &["aws:s3", "aws.rds"], s3.clone()).unwrap(),
            s3
        );
        assert!(check("export-callback", &["aws:s3", "aws.rds"], rds).is_ok());
        assert!(check("export-poller", &[], json!({"export_id": "x"})).is_ok());
    }

    #[test]
    fn a_body_that_is_not_json_is_named_as_such() {
        let (field, message) = refused(
            "query-runner",
            &[],
            json!({ NOT_JSON: "expected value at line 1 column 1" }),
        );
        assert_eq!(field, "payload");
        assert!(
            message.contains("is not JSON (expected value at line 1 column 1)"),
            "{message}"
        );
    }
}
