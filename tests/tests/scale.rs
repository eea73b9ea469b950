//! A run of a few hundred tables, end to end in the stand-in: no state's
//! input or output grows with the number of tables. Step Functions allows
//! 256 KiB and `States.DataLimitExceeded` ends a run past every Catch (so
//! without its failure notification); snaplake keeps every payload under a
//! quarter of that, whatever the number of tables, by writing the tables'
//! outcomes to S3 (the PublishTables Map's `ResultWriter`, then the run's
//! manifest), by children of RegisterRawTables that return nothing (a Map's
//! gathered results count too), and passing counts and a few names in the state.
//!
//! The same run counts the states entered (what AWS bills a standard
//! workflow, Distributed Map children included): beyond the run's own
//! states, at most 8 a table (7 on its path, and its share of its batch's
//! RegisterRaw and Map states: 1 in batches of 2, 0.4 in the module's 5),
//! plus 3 for each round of a poll loop (Wait, Poll…, the Choice): a query
//! that outlasts `query_wait_seconds` on a busy machine costs a round, which
//! is counted apart and must stay rare.

use std::time::Duration;

use serde_json::{Value, json};
use snaplake_tests::{deploy_with_policy, policy_for_tables, run_execution};

const TABLES: usize = 300;
const LIMIT: u64 = 64 * 1024;
/// States entered per table beyond the run's own and its poll rounds.
const TRANSITIONS_PER_TABLE: f64 = 8.0;
/// States a round of a table's poll loop enters: Wait, Poll…, the Choice.
const PER_POLL_ROUND: u64 = 3;

#[tokio::test]
async fn three_hundred_tables_keep_every_payload_under_64_kib_and_enter_at_most_8_states_a_table() {
    let d = deploy_with_policy("snaplake-scale", "snaplake-scale", &policy_for_tables(TABLES)).await;
    d.standin
        .control("/_snaplake/exports/settings", json!({"sample_tables": TABLES}));
    let mut input = d.run_input.clone();
    input["logical_time"] = json!("2026-11-20T19:00:00Z");
    d.standin.reset_calls();
    let (status, detail) = run_execution(&d.standin, &d.machine, "scale-300", &input, Duration::from_secs(1200)).await;
    assert_eq!(status, "SUCCEEDED", "{detail:#}");

    let calls = d.standin.calls();
    let largest = calls["states:max-payload-bytes"]
        .as_u64()
        .unwrap_or_else(|| panic!("the stand-in keeps the largest payload: {calls:#}"));
    assert!(
        largest <= LIMIT,
        "a state's input or output reached {largest} bytes at {TABLES} tables (limit {LIMIT})"
    );
    // A Map without a ResultWriter gathers its children's outputs before
    // ResultPath applies, and AWS counts that against the limit too.
    let gathered = calls["states:max-map-results-bytes"]
        .as_u64()
        .unwrap_or_else(|| panic!("the stand-in measures what a Map gathers: {calls:#}"));
    assert!(
        gathered <= LIMIT,
        "a Map gathered {gathered} bytes of its children's outputs at {TABLES} tables (limit {LIMIT})"
    );

    let entered: u64 = calls
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("states:") && k.ends_with("StateEntered"))
        .map(|(_, n)| n.as_u64().unwrap())
        .sum();
    let history = snaplake_tests::execution_events(&d.standin, detail["arn"].as_str().unwrap()).await;
    let own_states = |suffix: &str| history.iter().filter(|e| e.r#type().as_str().ends_with(suffix)).count() as u64;
    let own = own_states("StateEntered");
    // The children's Wait states are their poll rounds (the run's own
    // WaitBeforePolling is in its history).
    let rounds = calls["states:WaitStateEntered"].as_u64().unwrap_or(0) - own_states("WaitStateEntered");
    assert!(
        rounds <= TABLES as u64 / 10,
        "{rounds} poll rounds for {TABLES} tables: queries should end within query_wait_seconds: {calls:#}"
    );
    let per_table = (entered - own - PER_POLL_ROUND * rounds) as f64 / TABLES as f64;
    assert!(
        per_table <= TRANSITIONS_PER_TABLE,
        "{entered} states entered, {own} of them the run's own and {rounds} poll rounds, for {TABLES} tables: \
         {per_table:.2} a table (at most {TRANSITIONS_PER_TABLE}): {calls:#}"
    );

    let output: Value = serde_json::from_str(detail["output"].as_str().unwrap()).unwrap();
    let manifest = snaplake_tests::run_manifest(&d.standin.sdk, &output).await;
    assert_eq!(manifest["tables"].as_array().unwrap().len(), TABLES);
    assert_eq!(manifest["counts"]["new_versions"], TABLES, "{:#}", manifest["counts"]);
    // Batches of the module's size and the poll rounds above, counted as they ran.
    snaplake_tests::assert_cost_counts_what_ran(&manifest, &calls);
    assert!(
        detail["output"].as_str().unwrap().len() < 16 * 1024,
        "the execution's output does not list the tables"
    );
}
