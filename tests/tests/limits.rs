//! The state machine read against the limits AWS documents, without running
//! it: what a run does when it is throttled.

use serde_json::Value;

/// The definition with every placeholder given a value, as Terraform would.
fn definition() -> Value {
    let template =
        std::fs::read_to_string(snaplake_tests::repo_root().join("infra/modules/snaplake/pipeline.asl.json")).unwrap();
    let mut names = Vec::new();
    let mut rest = template.as_str();
    while let Some(start) = rest.find("${") {
        let end = rest[start..].find('}').unwrap();
        names.push(rest[start + 2..start + end].to_string());
        rest = &rest[start + end..];
    }
    let values: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
    serde_json::from_str(&snaplake_tests::render(&values)).unwrap()
}

/// Every (state name, state) of the definition, Map children included.
fn states(value: &Value, out: &mut Vec<(String, Value)>) {
    let Some(object) = value.as_object() else { return };
    if let Some(found) = object.get("States").and_then(Value::as_object) {
        for (name, state) in found {
            out.push((name.clone(), state.clone()));
        }
    }
    for child in object.values() {
        states(child, out);
    }
}

/// Every (state name, retrier) of the definition, Map children included.
fn retriers(value: &Value, out: &mut Vec<(String, Value)>) {
    let mut all = Vec::new();
    states(value, &mut all);
    for (name, state) in all {
        for retrier in state.get("Retry").and_then(Value::as_array).into_iter().flatten() {
            out.push((name.clone(), retrier.clone()));
        }
    }
}

/// Many tables (and a backfill's days) hit Glue, S3 and Athena at once: the
/// answer to "slow down" must spread the retries out, or they all come back
/// in the same second. Step Functions' `JitterStrategy: FULL` randomises each
/// interval; `MaxDelaySeconds` caps the backoff.
#[test]
fn every_throttled_retry_has_jitter_and_a_capped_backoff() {
    let mut all = Vec::new();
    retriers(&definition(), &mut all);
    let throttled: Vec<_> = all
        .iter()
        .filter(|(_, r)| r["ErrorEquals"].as_array().unwrap().iter().any(|e| e == "Throttled"))
        .collect();
    assert!(
        throttled.len() >= 15,
        "expected a Throttled retrier on every task state, found {}",
        throttled.len()
    );
    let offenders: Vec<_> = throttled
        .iter()
        .filter(|(_, r)| r["JitterStrategy"] != "FULL" || !r["MaxDelaySeconds"].is_u64())
        .map(|(state, _)| state.as_str())
        .collect();
    assert!(
        offenders.is_empty(),
        "Throttled is retried without JitterStrategy FULL and MaxDelaySeconds in: {offenders:?}"
    );
}

/// A Map child's history holds at most 25,000 events. Its tables poll
/// their queries in a Wait/Task/Choice loop whose waits grow with the
/// query's age (`snaplake::transform::poll_cadence`, which counts the
/// events of a batch); the module's batches are the size that arithmetic
/// assumes, and every loop back to a poll waits as long as the poll said.
#[test]
fn poll_loops_wait_as_the_poll_says_and_batches_fit_the_history_budget() {
    let tf = std::fs::read_to_string(snaplake_tests::repo_root().join("infra/modules/snaplake/pipeline.tf")).unwrap();
    let batch_size: u64 = tf
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("batch_size")?
                .trim()
                .strip_prefix('=')?
                .trim()
                .parse()
                .ok()
        })
        .expect("pipeline.tf sets batch_size");
    assert_eq!(batch_size, snaplake::transform::poll_cadence::BATCH_SIZE);

    let definition = definition();
    let inner =
        &definition["States"]["PublishTables"]["ItemProcessor"]["States"]["PublishBatch"]["ItemProcessor"]["States"];
    for (choice, poll) in [("Transformed?", "PollTransform"), ("Verified?", "PollVerify")] {
        // The loop starts where the Choice sends a query still running.
        let again = inner[choice]["Choices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|rule| rule["StringEquals"] == "running")
            .map_or(&inner[choice]["Default"], |rule| &rule["Next"])
            .as_str()
            .unwrap();
        let wait = &inner[again];
        assert_eq!(wait["Type"], "Wait", "{choice} loops back through a Wait");
        assert_eq!(wait["Next"], poll);
        let path = wait["SecondsPath"]
            .as_str()
            .unwrap_or_else(|| panic!("{again} has a fixed wait: {wait}"));
        let field = path.rsplit('.').next().unwrap();
        assert_eq!(field, "wait_seconds", "{again} waits as long as {poll} said");
        assert!(
            inner[poll]["ResultSelector"]["wait_seconds.$"] == "$.Payload.wait_seconds",
            "{poll} keeps the poll's wait_seconds"
        );
        assert_eq!(inner[poll]["Next"], choice, "{poll} answers to {choice}");
        assert!(
            inner[poll]["Parameters"]["Payload"].get("resume.$").is_some(),
            "{poll} resumes the running query instead of starting one"
        );
    }
}

/// A Distributed Map gathers one output per child, and AWS counts the
/// gathered array against 256 KiB before ResultPath applies (uncatchable
/// `States.DataLimitExceeded`). So each one either writes its children's
/// outputs to S3 (`ResultWriter`) or its children end in states that return
/// nothing (`OutputPath: null`): then the array grows by 2 bytes a child,
/// not with what each child carries.
#[test]
fn every_distributed_map_writes_its_results_to_s3_or_its_children_return_nothing() {
    let mut found = Vec::new();
    states(&definition(), &mut found);
    let distributed: Vec<_> = found
        .iter()
        .filter(|(_, m)| m["Type"] == "Map" && m["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED")
        .collect();
    assert!(!distributed.is_empty(), "the definition has Distributed Maps");
    for (name, map) in distributed {
        if map.get("ResultWriter").is_some() {
            continue;
        }
        let states = map["ItemProcessor"]["States"].as_object().unwrap();
        for (child, state) in states {
            let ends = state.get("End") == Some(&Value::Bool(true)) || state["Type"] == "Succeed";
            if ends {
                assert!(
                    state.get("OutputPath") == Some(&Value::Null),
                    "{name}: its child state {child} ends the child with an output that grows with what it carries; \
                     add \"OutputPath\": null, or a ResultWriter to {name}"
                );
            }
        }
    }
}
