//! A run of a few hundred tables, end to end in the stand-in: no state's
//! input or output grows with the number of tables. Step Functions allows
//! 256 KiB and `States.DataLimitExceeded` ends a run past every Catch (so
//! without its failure notification); snaplake keeps every payload under a
//! quarter of that, whatever the number of tables, by writing the tables'
//! outcomes to S3 (the PublishTables Map's `ResultWriter`, then the run's
//! manifest) and passing counts and a few names in the state.

use std::time::Duration;

use serde_json::{Value, json};
use snaplake_tests::{deploy_with_policy, policy_for_tables, run_execution};

const TABLES: usize = 300;
const LIMIT: u64 = 64 * 1024;

#[tokio::test]
async fn three_hundred_tables_keep_every_payload_under_64_kib() {
    let d = deploy_with_policy("snaplake-scale", "snaplake-scale", &policy_for_tables(TABLES)).await;
    d.env
        .control("/_snaplake/exports/settings", json!({"sample_tables": TABLES}));
    let mut input = d.run_input.clone();
    input["logical_time"] = json!("2026-11-20T19:00:00Z");
    snaplake_tests::control(&d.env.endpoint, "POST", "/_snaplake/calls/reset", "").unwrap();
    let (status, detail) = run_execution(&d.env, &d.machine, "scale-300", &input, Duration::from_secs(1200)).await;
    assert_eq!(status, "SUCCEEDED", "{detail:#}");

    let calls: Value =
        serde_json::from_str(&snaplake_tests::control(&d.env.endpoint, "GET", "/_snaplake/calls", "").unwrap())
            .unwrap();
    let largest = calls["states:max-payload-bytes"]
        .as_u64()
        .unwrap_or_else(|| panic!("the stand-in keeps the largest payload: {calls:#}"));
    assert!(
        largest <= LIMIT,
        "a state's input or output reached {largest} bytes at {TABLES} tables (limit {LIMIT})"
    );

    let output: Value = serde_json::from_str(detail["output"].as_str().unwrap()).unwrap();
    let manifest = snaplake_tests::run_manifest(&d.env.sdk, &output).await;
    assert_eq!(manifest["tables"].as_array().unwrap().len(), TABLES);
    assert_eq!(manifest["counts"]["new_versions"], TABLES, "{:#}", manifest["counts"]);
    assert!(
        detail["output"].as_str().unwrap().len() < 16 * 1024,
        "the execution's output does not list the tables"
    );
}
