//! What reaches a function as AWS sends it, through the real handler
//! binaries behind the stand-in's Lambda: every example in events/ gets past
//! its function's parsing (a fixture that drifts from the input type fails
//! here), and every malformed payload comes back under one of snaplake's
//! error names, saying what the function takes.

use serde_json::{Value, json};
use snaplake_tests::{FUNCTIONS, deploy, repo_root};

const STACK: &str = "snaplake-test";
const BUCKET: &str = "snaplake-events-test";

/// The function that takes an example, by the file's name; the two inputs
/// that are not one function's own are taken apart as the state machine does.
fn function_input(file: &str, text: &str) -> (&'static str, String) {
    let value: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("events/{file} is not JSON: {e}"));
    if file == "pipeline-input.json" {
        // StartExport: States.JsonMerge($.export, $.time).
        let mut payload = value["export"].clone();
        payload["logical_time"] = value["logical_time"].clone();
        return ("snapshot-export", payload.to_string());
    }
    if file == "masking-policy.json" {
        return (
            "query-runner",
            json!({"action": "validate", "policy": value}).to_string(),
        );
    }
    let function = FUNCTIONS
        .into_iter()
        .find(|f| file.strip_prefix(f).is_some_and(|rest| rest.starts_with(['.', '-'])))
        .unwrap_or_else(|| panic!("events/{file}: no function takes it; name it <function>[-<case>].json"));
    (function, text.to_string())
}

#[tokio::test]
async fn every_example_event_gets_past_its_functions_parsing() {
    let d = deploy(STACK, BUCKET).await;
    let mut files: Vec<_> = std::fs::read_dir(repo_root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut refused = Vec::new();
    assert!(files.len() >= 17, "events/ holds {} files", files.len());
    for path in files {
        let file = path.file_name().unwrap().to_str().unwrap();
        let (function, payload) = function_input(file, &std::fs::read_to_string(&path).unwrap());
        let (error, answer) = d.invoke(function, &payload).await;
        let kind = answer["errorType"].as_str().unwrap_or_default();
        println!(
            "events/{file} -> {function}: {}",
            if error.is_some() { kind } else { "ok" }
        );
        if error.is_some() && refuses_the_shape(&answer) {
            refused.push(format!("events/{file} sent to {function}: {answer}"));
        }
    }
    assert!(refused.is_empty(), "{refused:#?}");
}

/// Whether a function's error refuses the payload's shape (an unknown kind,
/// a missing or mistyped field: `parse`'s "`field` in the <input>: ..."),
/// rather than what it names: the resources an example names need not exist
/// here, so an AWS error, a "not found" or a pinning refusal is fine.
fn refuses_the_shape(answer: &Value) -> bool {
    let kind = answer["errorType"].as_str().unwrap_or_default();
    let message = answer["errorMessage"].as_str().unwrap_or_default();
    kind.contains("::")
        || kind.starts_with("Runtime.")
        || (kind == "InvalidInput"
            && (message.contains("` in the ") || message.contains(" takes its state machine input")))
}

#[tokio::test]
async fn an_example_that_drifts_from_its_input_type_is_caught() {
    let d = deploy(STACK, BUCKET).await;
    let text = std::fs::read_to_string(repo_root().join("events/export-poller.json")).unwrap();
    let (_, answer) = d
        .invoke("export-poller", &text.replace("\"export_id\"", "\"export\""))
        .await;
    assert!(refuses_the_shape(&answer), "{answer}");
    let (_, answer) = d.invoke("export-poller", &text).await;
    assert!(!refuses_the_shape(&answer), "{answer}");
}

const EC2_STATE_CHANGE: &str = r#"{
  "version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
  "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
  "account": "123456789012", "time": "2026-11-20T19:00:00Z", "region": "us-east-1",
  "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
  "detail": {"instance-id": "i-abcd1111", "state": "pending"}
}"#;

const SQS_MESSAGE: &str = r#"{"Records": [{"messageId": "1", "body": "{}", "eventSource": "aws:sqs",
  "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"}]}"#;

#[tokio::test]
async fn malformed_payloads_come_back_as_invalid_input_naming_what_is_expected() {
    let d = deploy(STACK, BUCKET).await;
    for function in FUNCTIONS {
        for payload in [r#""hello""#, "[1, 2]", "42", "null", EC2_STATE_CHANGE, SQS_MESSAGE] {
            let (error, answer) = d.invoke(function, payload).await;
            assert!(error.is_some(), "{function} took {payload}: {answer}");
            assert_eq!(answer["errorType"], "InvalidInput", "{function} <- {payload}: {answer}");
            let message = answer["errorMessage"].as_str().unwrap();
            assert!(
                message.contains(&format!("{function} takes")) && message.contains(&format!("events/{function}")),
                "{function} <- {payload}: {message}"
            );
            println!(
                "{function} <- {}: {message}",
                payload.split_whitespace().collect::<Vec<_>>().join(" ")
            );
        }
    }
    // Not an event export-callback handles, though it takes other events.
    let (_, answer) = d.invoke("export-callback", EC2_STATE_CHANGE).await;
    assert!(answer["errorMessage"].as_str().unwrap().contains("aws.ec2"), "{answer}");
}

/// Lambda refuses a payload that is not JSON before any function runs.
#[tokio::test]
async fn a_payload_that_is_not_json_is_refused_by_lambda() {
    let d = deploy(STACK, BUCKET).await;
    let err = aws_sdk_lambda::Client::new(&d.standin.sdk)
        .invoke()
        .function_name(format!("{STACK}-export-poller"))
        .payload(aws_sdk_lambda::primitives::Blob::new(b"hello".to_vec()))
        .send()
        .await
        .expect_err("a payload that is not JSON");
    let err = err.into_service_error();
    assert!(err.is_invalid_request_content_exception(), "{err:?}");
}
