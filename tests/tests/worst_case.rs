//! The steps whose work grows with the number of tables, at 10,000 tables,
//! run as Lambda runs them: the real handler binaries behind the stand-in's
//! Lambda, held to the module's timeout and memory size (`functions.tf`;
//! past either the invocation fails, as on AWS), with the latency model on
//! (Glue 50 ms, S3 20 ms a call). docs/LIMITS.md lists every function's worst
//! case and where it is shown.
//!
//! - export-poller (CheckExport) lists the export's objects, reads its table
//!   statuses and writes the plan: every table;
//! - query-runner (ValidatePolicy) checks the pinned policy against every
//!   planned table and reads the curated database's tables a page at a time;
//! - catalog-swap (Report) reads every table's outcome from the PublishTables
//!   Map's result files and writes the run's manifest.
//!
//! The steps between (RegisterRaw, and a table's Transform, Stage, Verify,
//! Swap) take one batch or one table, whatever the number of tables.

use std::time::Duration;

use serde_json::{Value, json};
use snaplake_tests::{Deployment, deploy_with_policy, function_limits, policy_for_tables};

const TABLES: usize = 10_000;
const STACK: &str = "snaplake-worst";
const BUCKET: &str = "snaplake-worst";
const LOGICAL_TIME: &str = "2026-11-20T19:00:00Z";

/// Invokes a function and answers its result, failing the test with the
/// function's error (a timeout or a killed process included).
async fn call(d: &Deployment, function: &str, payload: Value) -> Value {
    let (error, answer) = d.invoke(function, &payload.to_string()).await;
    assert_eq!(error, None, "{function} failed at {TABLES} tables: {answer:#}");
    answer
}

/// Starts the day's export as StartExport does and waits until RDS (the
/// stand-in) has written every table.
async fn exported(d: &Deployment) -> String {
    let mut payload = d.run_input["export"].clone();
    payload["logical_time"] = json!(LOGICAL_TIME);
    let run = call(d, "snapshot-export", payload).await;
    let export_id = run["export_id"].as_str().unwrap().to_string();
    let rds = &d.standin.clients.rds;
    let deadline = std::time::Instant::now() + Duration::from_secs(1200);
    loop {
        let out = rds
            .describe_export_tasks()
            .export_task_identifier(&export_id)
            .send()
            .await
            .unwrap();
        let status = out.export_tasks()[0].status().unwrap_or_default().to_string();
        if status == "COMPLETE" {
            return export_id;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the export is {status} after 20 minutes"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// What PublishTables' ResultWriter leaves for Report: a manifest and a
/// result file of one child execution per batch of 5, each table published.
async fn map_results(d: &Deployment, tables: &[String]) -> Value {
    let prefix = "_snaplake/map-results/worst-case/run";
    let children: Vec<Value> = tables
        .chunks(5)
        .enumerate()
        .map(|(n, batch)| {
            let reports: Vec<Value> = batch
                .iter()
                .map(|t| {
                    json!({"table": t, "outcome": "swapped", "location": format!("s3://{BUCKET}/curated/{t}/v=20261120T190000Z/"),
                           "rows_in": 1000, "rows_out": 1000, "scanned_bytes": 1_000_000})
                })
                .collect();
            json!({"ExecutionArn": format!("arn:aws:states:us-east-1:123456789012:execution:{STACK}-pipeline/run:{n}"),
                   "Status": "SUCCEEDED", "Output": json!(reports).to_string()})
        })
        .collect();
    let s3 = &d.standin.clients.s3;
    let put = async |key: String, body: Value| {
        s3.put_object()
            .bucket(BUCKET)
            .key(&key)
            .body(body.to_string().into_bytes().into())
            .send()
            .await
            .unwrap();
        key
    };
    let results = put(format!("{prefix}/SUCCEEDED_0.json"), json!(children)).await;
    let manifest = json!({"DestinationBucket": BUCKET, "MapRunArn": "arn:aws:states:us-east-1:123456789012:mapRun:x",
                          "ResultFiles": {"SUCCEEDED": [{"Key": results, "Size": 0}]}});
    let key = put(format!("{prefix}/manifest.json"), manifest).await;
    json!({"Bucket": BUCKET, "Key": key})
}

/// The plan's raw tables registered, as RegisterRawTables' children do
/// (here in this process, 16 at a time: 2,000 invocations of one batch each
/// show nothing the bigger steps do not), and a curated table of each, as
/// the day before left them (Report's lineage reads their columns). Answers
/// the tables' names.
async fn registered(d: &Deployment, plan: &Value) -> Vec<String> {
    use futures_util::{StreamExt, TryStreamExt, stream};
    use snaplake::contract::catalog_swap::RegisterRawShared;
    use snaplake::export::plan::Batch;

    let env = d.standin.context(BUCKET);
    let key = plan["key"].as_str().unwrap();
    let body = snaplake::aws::s3::get_bytes(&env.clients.s3, BUCKET, key)
        .await
        .unwrap()
        .unwrap();
    let batches: Vec<Batch> = serde_json::from_slice(&body).unwrap();
    let shared = RegisterRawShared {
        logical_time: snaplake::logical_time::LogicalTime::parse(LOGICAL_TIME).unwrap(),
        export_id: key.rsplit('/').next().unwrap().trim_end_matches(".json").to_string(),
    };
    let (env, shared) = (&env, &shared);
    stream::iter(batches.iter().flat_map(|b| &b.items))
        .map(|item| snaplake::catalog::ops::register_raw::register_raw(env, item, shared))
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let tables: Vec<String> = batches.iter().flat_map(|b| &b.items).map(|i| i.name.clone()).collect();
    stream::iter(&tables)
        .map(|table| async move {
            let glue = &env.clients.glue;
            let raw = snaplake::aws::glue::get_table(glue, &env.config.raw_database, table).await?;
            let raw = raw.expect("registered above");
            let def = snaplake::aws::glue::TableDef {
                database: env.config.curated_database.clone(),
                name: table.clone(),
                location: format!("s3://{BUCKET}/curated/{table}/v=20261119T190000Z/"),
                columns: raw.columns,
                parameters: Default::default(),
                description: "the day before's version".into(),
            };
            snaplake::aws::glue::create_table(glue, &def).await
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    tables
}

#[tokio::test]
async fn ten_thousand_tables_are_planned_validated_and_reported_within_each_functions_timeout_and_memory() {
    let d = deploy_with_policy(STACK, BUCKET, &policy_for_tables(TABLES)).await;
    d.standin
        .control("/_snaplake/exports/settings", json!({"sample_tables": TABLES}));
    let export_id = exported(&d).await;
    let digest = d.run_input["publish"]["policy_digest"].clone();

    d.standin.control("/_snaplake/latency", json!({"glue": 50, "s3": 20}));
    d.standin.reset_calls();
    let poll = call(
        &d,
        "export-poller",
        json!({"export_id": export_id, "on_table_failure": "fail", "batch_size": 5, "min_wait_seconds": 60}),
    )
    .await;
    assert_eq!(
        (&poll["done"], &poll["plan"]["tables"]),
        (&json!(true), &json!(TABLES)),
        "{poll:#}"
    );
    let plan = poll["plan"].clone();
    d.standin.control("/_snaplake/latency", json!({}));
    let tables = registered(&d, &plan).await;
    d.standin.control("/_snaplake/latency", json!({"glue": 50, "s3": 20}));

    let validated = call(
        &d,
        "query-runner",
        json!({"action": "validate", "policy_digest": digest, "plan": plan, "max_names": 20}),
    )
    .await;
    assert_eq!(validated["published_count"], json!(TABLES), "{validated:#}");

    // Every table published: Report's lineage tells each one, with its
    // columns and their rules, split into events Glue takes.
    let results = map_results(&d, &tables).await;
    let execution = format!("arn:aws:states:us-east-1:123456789012:execution:{STACK}-pipeline:worst-case");
    let report = call(
        &d,
        "catalog-swap",
        json!({"action": "report", "results": results, "plan": plan, "run_id": "worst-case",
               "logical_time": LOGICAL_TIME, "export_id": export_id, "policy_digest": digest,
               "execution_arn": execution, "started_at": "2026-11-20T19:00:01.000Z"}),
    )
    .await;
    d.standin.control("/_snaplake/latency", json!({}));
    assert_eq!(report["counts"]["published"], json!(TABLES), "{report:#}");
    let manifest = snaplake_tests::s3_json(&d.standin.sdk, report["manifest"].as_str().unwrap()).await;
    let lineage = &manifest["lineage"];
    assert!(lineage.get("problems").is_none(), "{lineage:#}");
    let posted = snaplake_tests::lineage::posted(&d.standin);
    let told: usize = posted.iter().map(|e| e["outputs"].as_array().map_or(0, Vec::len)).sum();
    assert_eq!(
        (lineage["posted"].as_u64(), told),
        (Some(posted.len() as u64), TABLES),
        "{lineage:#}"
    );
    let with_columns = posted
        .iter()
        .flat_map(|e| e["outputs"].as_array().cloned().unwrap_or_default())
        .filter(|o| {
            o["facets"]["columnLineage"]["fields"]
                .as_object()
                .is_some_and(|f| !f.is_empty())
        })
        .count();
    assert_eq!(with_columns, TABLES, "every table's column lineage");
    eprintln!("lineage at {TABLES} tables: {} events posted", posted.len());

    // What each function took and held, beside its limits.
    let calls = d.standin.calls();
    let (timeout, memory) = function_limits();
    for function in ["export-poller", "query-runner", "catalog-swap"] {
        let ms = &calls[format!("lambda-max-ms:{STACK}-{function}")];
        let mb = &calls[format!("lambda-peak-mb:{STACK}-{function}")];
        eprintln!("{function} at {TABLES} tables: {ms} ms of {timeout} s, {mb} MB of {memory} MB");
    }
}
