//! Reads the state machine definition against the error enum and README:
//! every error the code calls retried is retried there, every Lambda task
//! retries the Lambda service errors AWS recommends, and no message promises
//! a retry that does not happen.

use std::collections::BTreeSet;

use serde_json::Value;
use snaplake::error::Error;

/// What AWS recommends every Lambda task retry (Step Functions developer guide,
/// "Handle transient Lambda service exceptions").
const LAMBDA_ERRORS: [&str; 5] = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.TooManyRequestsException",
];

mod asl;

use asl::{definition, repo_file, states};

fn error_names(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["ErrorEquals"].as_array().unwrap().iter())
        .map(|e| e.as_str().unwrap().to_string())
        .collect()
}

/// One value of every variant; the match makes a new variant fail to compile
/// here until it is added.
fn every_error() -> Vec<Error> {
    let s = || "x".to_string();
    let all = vec![
        Error::Config { problems: vec![s()] },
        Error::invalid_input("f", "r"),
        Error::SnapshotNotReady {
            source_id: s(),
            window_start: s(),
            window_end: s(),
        },
        Error::SnapshotNotFound {
            source_id: s(),
            window_start: s(),
            window_end: s(),
            existing: vec![],
        },
        Error::ExportConflict {
            export_id: s(),
            existing_source: s(),
            wanted_source: s(),
        },
        Error::ExportFailed {
            export_id: s(),
            status: s(),
            cause: s(),
        },
        Error::ExportIncomplete { tables: vec![s()] },
        Error::SchemaIncompatible { table: s(), diff: s() },
        Error::QueryFailed {
            query_id: s(),
            purpose: s(),
            reason: s(),
        },
        Error::QueryRetryable {
            query_id: s(),
            purpose: s(),
            reason: s(),
        },
        Error::ScanBudgetExceeded {
            query_id: s(),
            purpose: s(),
            scanned: 2,
            budget: 1,
        },
        Error::RawNotRegistered {
            table: s(),
            found: s(),
            wanted: s(),
        },
        Error::VerificationFailed {
            table: s(),
            check: s(),
            detail: s(),
        },
        Error::TablesFailed {
            tables: vec![s()],
            more: 0,
            published: 1,
            manifest: None,
        },
        Error::Preflight {
            check: s(),
            resource: s(),
            problem: s(),
            fix: s(),
        },
        Error::Throttled {
            service: s(),
            operation: s(),
            resource: s(),
            code: s(),
            message: s(),
        },
        Error::ExportRetryable {
            service: s(),
            operation: s(),
            resource: s(),
            code: s(),
            message: s(),
        },
        Error::Aws {
            service: s(),
            operation: s(),
            resource: s(),
            code: s(),
            message: s(),
            fix: None,
        },
    ];
    for e in &all {
        match e {
            Error::Config { .. }
            | Error::InvalidInput { .. }
            | Error::SnapshotNotReady { .. }
            | Error::SnapshotNotFound { .. }
            | Error::ExportConflict { .. }
            | Error::ExportFailed { .. }
            | Error::ExportIncomplete { .. }
            | Error::RawNotRegistered { .. }
            | Error::SchemaIncompatible { .. }
            | Error::QueryFailed { .. }
            | Error::QueryRetryable { .. }
            | Error::ScanBudgetExceeded { .. }
            | Error::VerificationFailed { .. }
            | Error::TablesFailed { .. }
            | Error::Preflight { .. }
            | Error::Throttled { .. }
            | Error::ExportRetryable { .. }
            | Error::Aws { .. } => {}
        }
    }
    all
}

#[test]
fn every_lambda_task_retries_the_lambda_service_errors_and_throttling() {
    let mut lambda_tasks = 0;
    for (name, state) in states(&definition()) {
        let resource = state["Resource"].as_str().unwrap_or_default();
        if !resource.starts_with("arn:aws:states:::lambda:invoke") {
            continue;
        }
        lambda_tasks += 1;
        let retried = error_names(&state["Retry"]);
        for error in LAMBDA_ERRORS.iter().chain(&["Throttled"]) {
            assert!(retried.contains(*error), "{name} does not retry {error}: {retried:?}");
        }
    }
    assert!(lambda_tasks >= 15, "found only {lambda_tasks} Lambda tasks");
}

#[test]
fn every_error_the_code_calls_retried_is_retried_and_no_other_message_promises_it() {
    let machine = definition();
    let mut retried = BTreeSet::new();
    for (_, state) in states(&machine) {
        retried.extend(error_names(&state["Retry"]));
        // A Catch that loops back to try again (not to a failure) retries too.
        for catch in state["Catch"].as_array().into_iter().flatten() {
            let next = catch["Next"].as_str().unwrap();
            if !(next.starts_with("FailedAt") || next == "TableFailed" || next == "Discard") {
                retried.extend(error_names(&Value::Array(vec![catch.clone()])));
            }
        }
    }
    retried.remove("States.Timeout");
    for err in every_error() {
        let text = err.to_string();
        if err.is_retryable() {
            assert!(
                retried.contains(err.name()),
                "{} is retryable but never retried",
                err.name()
            );
        } else {
            assert!(
                !text.contains("retried") && !text.contains("retries"),
                "{} promises a retry that does not happen: {text}",
                err.name()
            );
            assert!(
                !retried.contains(err.name()),
                "{} is retried but not retryable",
                err.name()
            );
        }
    }

    // README's list says "(retried" after exactly these names.
    let readme = repo_file("README.md");
    let list = &readme[readme.find("Error names the functions raise").unwrap()..];
    let list = &list[..list.find("\n\n").unwrap()];
    let said: BTreeSet<&str> = list
        .split('`')
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[1].trim_start().starts_with("(retried"))
        .map(|w| w[0])
        .collect();
    let retryable: BTreeSet<&str> = every_error()
        .iter()
        .filter(|e| e.is_retryable())
        .map(Error::name)
        .collect();
    assert_eq!(said, retryable, "README's (retried) names");
}

#[test]
fn the_export_limit_is_retried_for_tens_of_minutes() {
    let machine = definition();
    let retry = machine["States"]["StartExport"]["Retry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["ErrorEquals"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e == "ExportRetryable")
        })
        .expect("StartExport retries ExportRetryable")
        .clone();
    let (interval, rate, attempts) = (
        retry["IntervalSeconds"].as_f64().unwrap(),
        retry["BackoffRate"].as_f64().unwrap(),
        retry["MaxAttempts"].as_i64().unwrap(),
    );
    let waited: f64 = (0..attempts).map(|i| interval * rate.powi(i as i32)).sum();
    assert!(
        (20.0 * 60.0..=120.0 * 60.0).contains(&waited),
        "waits {waited} s in all; RDS's other exports take tens of minutes"
    );
}
