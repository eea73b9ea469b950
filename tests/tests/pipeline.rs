//! End to end: the real state machine definition, executed by the stand-in,
//! its Lambda tasks answered by the real handler binaries, over a stand-in
//! export of the sample database.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use snaplake_tests::{StandIn, deploy, execution_events, lineage, run_execution};

const BUCKET: &str = "snaplake-pipeline";

struct Pipeline {
    standin: StandIn,
    machine: String,
    topic_queue: String,
    run_input: Value,
}

async fn pipeline() -> Pipeline {
    let d = deploy("snaplake-test", BUCKET).await;
    Pipeline {
        standin: d.standin,
        machine: d.machine,
        topic_queue: d.topic_queue,
        run_input: d.run_input,
    }
}

impl Pipeline {
    async fn run(&self, name: &str, input: Value) -> (String, Value) {
        run_execution(&self.standin, &self.machine, name, &input, Duration::from_secs(240)).await
    }

    /// What the schedule sends, for the example day 2026-11-21 (Tokyo).
    async fn input(&self) -> Value {
        let mut input = self.run_input.clone();
        input["logical_time"] = json!("2026-11-20T19:00:00Z");
        input
    }

    async fn failure_messages(&self) -> Vec<Value> {
        let sqs = aws_sdk_sqs::Client::new(&self.standin.sdk);
        let out = sqs
            .receive_message()
            .queue_url(&self.topic_queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        out.messages()
            .iter()
            .filter_map(|m| serde_json::from_str::<Value>(m.body()?).ok())
            .filter_map(|envelope| serde_json::from_str(envelope["Message"].as_str()?).ok())
            .collect()
    }

    async fn history(&self, arn: &str) -> Vec<String> {
        execution_events(&self.standin, arn)
            .await
            .iter()
            .map(|e| format!("{:?}", e.r#type()))
            .collect()
    }
}

#[tokio::test]
async fn an_export_info_written_before_the_task_says_complete_still_resumes_the_run_at_once() {
    // The order of RDS's last file and its status is not documented: here
    // the file comes 3 s first. Its S3 event finds the task IN_PROGRESS;
    // export-callback looks again, and RDS's completed event resumes too,
    // instead of the run waiting out export_wait_seconds (20 s here).
    let p = pipeline().await;
    p.standin
        .control("/_snaplake/exports/settings", json!({"info_lead_seconds": 3}));
    let (status, detail) = p.run("run-info-first", p.input().await).await;
    let history = p.history(detail["arn"].as_str().unwrap()).await;
    assert_eq!(status, "SUCCEEDED", "{detail:#}\nhistory: {history:?}");
    assert!(
        !history.iter().any(|e| e.contains("TimedOut")),
        "the wait was resumed, not timed out: {history:?}"
    );
}

#[tokio::test]
async fn a_day_is_exported_masked_and_published_and_running_it_again_changes_nothing() {
    let p = pipeline().await;
    let input = p.input().await;
    p.standin.reset_calls();
    let (status, detail) = p.run("run-2026-11-21", input.clone()).await;
    assert_eq!(
        status,
        "SUCCEEDED",
        "{detail:#}\nhistory: {:?}",
        p.history(detail["arn"].as_str().unwrap()).await
    );

    let history = p.history(detail["arn"].as_str().unwrap()).await;
    assert!(
        !history.iter().any(|e| e.contains("TimedOut")),
        "S3's export_info event, through EventBridge, resumed the wait: {history:?}"
    );

    let glue = &p.standin.clients.glue;
    for table in ["shop_customers", "shop_orders", "shop_articles"] {
        let t = glue
            .get_table()
            .database_name("snaplake_curated")
            .name(table)
            .send()
            .await
            .unwrap();
        let location = t
            .table()
            .unwrap()
            .storage_descriptor()
            .unwrap()
            .location()
            .unwrap()
            .to_string();
        assert!(location.ends_with("/v=20261120T190000Z/"), "{table} at {location}");
    }
    let customers = glue
        .get_table()
        .database_name("snaplake_curated")
        .name("shop_customers")
        .send()
        .await
        .unwrap();
    let columns: Vec<&str> = customers
        .table()
        .unwrap()
        .storage_descriptor()
        .unwrap()
        .columns()
        .iter()
        .map(|c| c.name())
        .collect();
    assert!(
        !columns.contains(&"full_name") && columns.contains(&"transformed_at"),
        "{columns:?}"
    );
    assert!(p.failure_messages().await.is_empty());

    // The run's lineage: one manifest, which the live versions point at.
    let output: Value = serde_json::from_str(detail["output"].as_str().unwrap()).unwrap();
    let manifest = snaplake_tests::run_manifest(&p.standin.sdk, &output).await;
    let uri = output["report"]["summary"]["manifest"].as_str().unwrap();
    assert_eq!(
        uri,
        format!("s3://{BUCKET}/_snaplake/runs/2026-11-21/run-2026-11-21.json"),
        "one manifest per run, under its logical day"
    );
    assert_eq!(manifest["run_id"], "run-2026-11-21");
    assert_eq!(manifest["logical_time"], "2026-11-20T19:00:00Z");
    assert_eq!(manifest["export_id"], output["run"]["export_id"]);
    assert!(
        manifest["snapshot_arn"].as_str().unwrap().contains("snapshot:"),
        "{manifest:#}"
    );
    assert_eq!(manifest["policy_digest"], input["publish"]["policy_digest"]);
    assert_eq!(manifest["counts"]["new_versions"], 3, "{manifest:#}");
    assert_eq!(output["report"]["summary"]["counts"], manifest["counts"]);
    let customers_entry = manifest["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "shop_customers")
        .unwrap_or_else(|| panic!("{manifest:#}"));
    assert_eq!(customers_entry["outcome"], "created", "{customers_entry:#}");
    let rows_out = customers_entry["rows_out"].as_i64().unwrap();
    assert!(
        rows_out > 0 && customers_entry["rows_in"] == rows_out,
        "{customers_entry:#}"
    );
    for field in ["transform_query_id", "verify_query_id", "location", "finished_at"] {
        assert!(customers_entry[field].is_string(), "{field}: {customers_entry:#}");
    }
    assert!(
        customers_entry["scanned_bytes"].as_i64().unwrap() > 0,
        "{customers_entry:#}"
    );
    assert_eq!(
        customers.table().unwrap().parameters().unwrap()["snaplake.run_manifest"],
        uri,
        "the live version points at the run that published it"
    );
    run_cost_is_what_the_standin_ran(&manifest, &p.standin.calls(), &p.standin.clients.rds).await;
    the_run_is_told_as_lineage(&p, detail["arn"].as_str().unwrap(), &manifest).await;

    let version_before = customers.table().unwrap().version_id().map(str::to_string);
    let (status, detail) = p.run("run-2026-11-21-again", input).await;
    assert_eq!(status, "SUCCEEDED", "{detail:#}");
    let exports = p.standin.clients.rds.describe_export_tasks().send().await.unwrap();
    assert_eq!(exports.export_tasks().len(), 1, "the same day never exports twice");
    let after = glue
        .get_table()
        .database_name("snaplake_curated")
        .name("shop_customers")
        .send()
        .await
        .unwrap();
    assert_eq!(
        after.table().unwrap().version_id().map(str::to_string),
        version_before,
        "nor swaps twice"
    );
    let list = outcomes(&p, &detail).await;
    let outcomes: Vec<&str> = list.iter().map(|t| t["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["unchanged", "unchanged", "unchanged"], "{list:#?}");
}

/// The run's OpenLineage events: its START (posted by StartExport) and its
/// COMPLETE (by Report) reached the stand-in's Glue, which validates them as
/// AWS documents, and are written beside the manifest; the OpenLineage
/// client accepts them; `shop_customers`' column lineage says what was
/// masked, dropped and filtered; and Glue's lineage graph leads from the
/// curated table, through the run, to the raw table.
async fn the_run_is_told_as_lineage(p: &Pipeline, execution_arn: &str, manifest: &Value) {
    let record = &manifest["lineage"];
    assert_eq!(record["posted"], 1, "{manifest:#}");
    assert!(record.get("problems").is_none(), "{record:#}");
    let all = lineage::posted(&p.standin);
    let end = all
        .iter()
        .find(|e| e["run"]["facets"]["snaplake_run"]["executionArn"] == execution_arn)
        .unwrap_or_else(|| panic!("no end event of {execution_arn} among {all:#?}"));
    let run_id = &end["run"]["runId"];
    let events: Vec<Value> = all.iter().filter(|e| &e["run"]["runId"] == run_id).cloned().collect();
    let types: Vec<&str> = events.iter().map(|e| e["eventType"].as_str().unwrap()).collect();
    assert_eq!(types, ["START", "COMPLETE"], "{events:#?}");
    let written = snaplake_tests::s3_json(&p.standin.sdk, record["events"].as_str().unwrap()).await;
    assert_eq!(
        written,
        Value::from(events.clone()),
        "the events beside the manifest are those posted"
    );
    let report = lineage::check_with_openlineage_client(&events).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.contains("2 event(s)"), "{report}");

    let customers = end["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "table/snaplake_curated/shop_customers")
        .unwrap_or_else(|| panic!("{end:#}"));
    let lineage = &customers["facets"]["columnLineage"];
    let email = &lineage["fields"]["email"]["inputFields"][0];
    assert_eq!(email["name"], "table/snaplake_raw/shop_customers", "{lineage:#}");
    assert_eq!(email["transformations"][0]["description"], "hash_salted", "{lineage:#}");
    assert_eq!(email["transformations"][0]["masking"], true, "{lineage:#}");
    assert!(
        !customers.to_string().contains("full_name"),
        "a dropped column appears nowhere: {customers:#}"
    );
    let filter = &lineage["dataset"][0];
    assert_eq!(
        (
            &filter["field"],
            &filter["transformations"][0]["type"],
            &filter["transformations"][0]["subtype"]
        ),
        (&json!("is_active"), &json!("INDIRECT"), &json!("FILTER")),
        "{lineage:#}"
    );

    let curated = "arn:aws:glue:us-east-1:123456789012:table/snaplake_curated/shop_customers";
    let runs = lineage::upstream(&p.standin, curated);
    let run = runs
        .iter()
        .find(|r| r.ends_with(&format!("/{}", run_id.as_str().unwrap())))
        .unwrap_or_else(|| panic!("the run is not upstream of {curated}: {runs:?}"));
    let sources = lineage::upstream(&p.standin, run);
    assert!(
        sources.contains(&"arn:aws:glue:us-east-1:123456789012:table/snaplake_raw/shop_customers".to_string()),
        "{sources:?}"
    );
}

fn assert_export_failed(status: &str, detail: &Value, cause: &str) {
    assert_eq!(status, "FAILED", "{detail:#}");
    assert_eq!(detail["error"], "ExportFailed", "{detail:#}");
    assert!(
        detail["cause"].as_str().unwrap_or_default().contains(cause),
        "{detail:#}"
    );
}

#[tokio::test]
async fn an_export_failure_fails_the_run_with_its_cause_notifies_and_leaves_the_catalog_alone() {
    let p = pipeline().await;
    p.standin.control(
        "/_snaplake/exports/faults",
        // Failing after export-callback registered the wait (a function's
        // first start, with its role's credentials, can take a second).
        json!({"export_id": "*", "fail": "KMS key disabled (injected)", "delay_seconds": 3}),
    );
    let input = p.input().await;
    let started = Instant::now();
    let (status, detail) = p.run("run-fails", input).await;
    assert!(
        started.elapsed() < Duration::from_secs(18),
        "not after the 20 s wait: {:?}",
        started.elapsed()
    );
    assert_export_failed(&status, &detail, "KMS key disabled (injected)");
    let messages = p.failure_messages().await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    // A failed export writes no export_info, so no S3 event: RDS's event
    // (RDS-EVENT-0162, through EventBridge) ends the wait, not its timeout.
    assert_eq!(messages[0]["step"], "WaitForExport");
    assert_eq!(messages[0]["error"], "ExportFailed");
    let tables = p
        .standin
        .clients
        .glue
        .get_tables()
        .database_name("snaplake_curated")
        .send()
        .await
        .unwrap();
    assert!(tables.table_list().is_empty(), "nothing was published");
    // Its lineage ends too: START when it began, FAIL naming the step and
    // the error (never the cause), and the same beside where its manifest
    // would be.
    let arn = detail["arn"].as_str().unwrap();
    let all = lineage::posted(&p.standin);
    let fail = all
        .iter()
        .find(|e| e["run"]["facets"]["snaplake_run"]["executionArn"] == arn)
        .unwrap_or_else(|| panic!("no end event of {arn} among {all:#?}"));
    let events: Vec<Value> = all
        .iter()
        .filter(|e| e["run"]["runId"] == fail["run"]["runId"])
        .cloned()
        .collect();
    let types: Vec<&str> = events.iter().map(|e| e["eventType"].as_str().unwrap()).collect();
    assert_eq!(types, ["START", "FAIL"], "{events:#?}");
    assert_eq!(
        fail["run"]["facets"]["errorMessage"]["message"],
        "the run failed at WaitForExport: ExportFailed"
    );
    lineage::check_with_openlineage_client(&events).unwrap_or_else(|e| panic!("{e}"));
    let written = snaplake_tests::s3_json(
        &p.standin.sdk,
        &format!("s3://{BUCKET}/_snaplake/runs/2026-11-21/run-fails.lineage.json"),
    )
    .await;
    assert_eq!(written, Value::from(events));
}

#[tokio::test]
async fn a_failing_query_leaves_that_table_on_its_old_version_and_names_it() {
    let p = pipeline().await;
    p.standin.control(
        "/_snaplake/athena/faults",
        json!({"match": "\"shop_orders\"", "fail": "SYNTAX_ERROR: injected"}),
    );
    let input = p.input().await;
    p.standin.reset_calls();
    let (status, detail) = p.run("run-one-table-fails", input).await;
    assert_eq!(status, "FAILED", "{detail:#}");
    assert_eq!(detail["error"], "TablesFailed", "{detail:#}");
    let cause = detail["cause"].as_str().unwrap();
    assert!(
        cause.contains("shop_orders (QueryFailed") && cause.contains("2 table(s) published"),
        "{cause}"
    );
    // Athena's messages can quote data values: the notification names the
    // table and the error, and withholds the message.
    let messages = p.failure_messages().await;
    assert!(!messages.is_empty(), "the failure is notified");
    for m in &messages {
        assert!(
            !m.to_string().contains("injected"),
            "an Athena message reached SNS: {m}"
        );
    }
    let glue = &p.standin.clients.glue;
    assert!(
        glue.get_table()
            .database_name("snaplake_curated")
            .name("shop_customers")
            .send()
            .await
            .is_ok()
    );
    assert!(
        glue.get_table()
            .database_name("snaplake_curated")
            .name("shop_orders")
            .send()
            .await
            .is_err(),
        "not published"
    );
    // The run's lineage ends in FAIL, with what it did publish, and says
    // why with the run's own (data-free) words.
    let arn = detail["arn"].as_str().unwrap();
    let events = lineage::posted(&p.standin);
    let end = events
        .iter()
        .find(|e| e["run"]["facets"]["snaplake_run"]["executionArn"] == arn)
        .unwrap_or_else(|| panic!("no end event of {arn} among {events:#?}"));
    assert_eq!(end["eventType"], "FAIL", "{end:#}");
    let mut outputs: Vec<&str> = end["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    outputs.sort();
    assert_eq!(
        outputs,
        [
            "table/snaplake_curated/shop_articles",
            "table/snaplake_curated/shop_customers"
        ],
        "{end:#}"
    );
    let message = end["run"]["facets"]["errorMessage"]["message"].as_str().unwrap();
    assert!(
        message.contains("shop_orders (QueryFailed") && !message.contains("injected"),
        "{message}"
    );
    lineage::check_with_openlineage_client(std::slice::from_ref(end)).unwrap_or_else(|e| panic!("{e}"));
    // Its cost counts what ran, the failure path after Report included.
    let manifest = snaplake_tests::s3_json(
        &p.standin.sdk,
        &format!("s3://{BUCKET}/_snaplake/runs/2026-11-21/run-one-table-fails.json"),
    )
    .await;
    snaplake_tests::assert_cost_counts_what_ran(&manifest, &p.standin.calls());
}

#[tokio::test]
async fn a_lineage_event_glue_refuses_never_fails_the_run_and_is_said_in_its_manifest() {
    let p = pipeline().await;
    p.standin.control(
        "/_snaplake/glue/faults",
        // As Glue refuses an event it finds malformed or over 300,000 bytes.
        json!({"operations": ["PostLineageEvent"], "code": "InvalidInputException",
               "fail": "the event is larger than 300,000 bytes (injected)"}),
    );
    let (status, detail) = p.run("run-lineage-refused", p.input().await).await;
    assert_eq!(status, "SUCCEEDED", "{detail:#}");
    let output: Value = serde_json::from_str(detail["output"].as_str().unwrap()).unwrap();
    assert_eq!(output["report"]["summary"]["counts"]["published"], 3, "{output:#}");
    let manifest = snaplake_tests::run_manifest(&p.standin.sdk, &output).await;
    let record = &manifest["lineage"];
    assert_eq!(record["posted"], 0, "{record:#}");
    let problems = record["problems"].to_string();
    assert!(
        problems.contains("PostLineageEvent") && problems.contains("InvalidInputException"),
        "{record:#}"
    );
    let written = snaplake_tests::s3_json(&p.standin.sdk, record["events"].as_str().unwrap()).await;
    let types: Vec<&str> = written
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["START", "COMPLETE"],
        "the events are kept beside the manifest all the same"
    );
}

#[tokio::test]
async fn a_retryable_query_failure_runs_the_transform_again_and_the_table_is_published() {
    let p = pipeline().await;
    p.standin.control(
        "/_snaplake/athena/faults",
        json!({"match": "UNLOAD", "fail": "GENERIC_INTERNAL_ERROR: internal error, please resubmit", "times": 1}),
    );
    let input = p.input().await;
    let (status, detail) = p.run("run-retries-a-query", input).await;
    assert_eq!(status, "SUCCEEDED", "{detail:#}");
    let history = p.history(detail["arn"].as_str().unwrap()).await;
    assert!(history.len() > 10);
    let glue = &p.standin.clients.glue;
    for table in ["shop_customers", "shop_orders", "shop_articles"] {
        assert!(
            glue.get_table()
                .database_name("snaplake_curated")
                .name(table)
                .send()
                .await
                .is_ok(),
            "{table}"
        );
    }
}

#[tokio::test]
async fn a_table_the_export_failed_follows_the_plan_policy() {
    let p = pipeline().await;
    p.standin.control(
        "/_snaplake/exports/faults",
        json!({"export_id": "*", "fail_tables": ["shop.orders"]}),
    );
    let (status, detail) = p.run("run-table-fails-in-export", p.input().await).await;
    assert_eq!(status, "FAILED", "{detail:#}");
    assert_eq!(
        detail["error"], "ExportIncomplete",
        "the default policy fails the run: {detail:#}"
    );
    assert!(
        detail["cause"].as_str().unwrap().contains("shop.orders (FAILED)"),
        "{detail:#}"
    );

    let mut skip = p.input().await;
    skip["publish"]["on_table_failure"] = json!("skip");
    let (status, detail) = p.run("run-table-skipped", skip).await;
    assert_eq!(status, "SUCCEEDED", "{detail:#}");
    let output: Value = serde_json::from_str(detail["output"].as_str().unwrap()).unwrap();
    assert_eq!(output["check"]["poll"]["plan"]["skipped"], 1, "reported: {output:#}");
    let list = outcomes(&p, &detail).await;
    let mut published: Vec<&str> = list
        .iter()
        .filter(|t| t["outcome"] != "not_exported")
        .map(|t| t["table"].as_str().unwrap())
        .collect();
    published.sort();
    assert_eq!(published, ["shop_articles", "shop_customers"]);
    let orders = outcome(&list, "shop_orders");
    assert_eq!(
        (orders["outcome"].as_str(), orders["status"].as_str()),
        (Some("not_exported"), Some("FAILED"))
    );
}

#[tokio::test]
async fn a_canceled_export_ends_the_run_at_once_through_rds_event() {
    let p = pipeline().await;
    // Long enough that the run is waiting (its token stored) when it is canceled.
    p.standin
        .control("/_snaplake/exports/settings", json!({"duration_seconds": 12.0}));
    let started = Instant::now();
    let cancel = async {
        loop {
            let tokens = p
                .standin
                .clients
                .s3
                .list_objects_v2()
                .bucket(BUCKET)
                .prefix("_snaplake/tokens/")
                .send()
                .await
                .unwrap();
            if tokens.key_count().unwrap_or(0) > 0 {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "the run never waited");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        p.standin
            .clients
            .rds
            .cancel_export_task()
            .export_task_identifier("snaplake-shop-prod-20261121")
            .send()
            .await
            .unwrap();
        Instant::now()
    };
    let ((status, detail), canceled_at) = tokio::join!(p.run("run-export-canceled", p.input().await), cancel);
    assert_export_failed(&status, &detail, "ended CANCELED");
    let messages = p.failure_messages().await;
    assert_eq!(messages[0]["step"], "WaitForExport", "{messages:?}");
    assert!(
        canceled_at.elapsed() < Duration::from_secs(8),
        "ended by RDS-EVENT-0163, not by the 20 s wait timing out: {:?} after the cancel",
        canceled_at.elapsed()
    );
}

/// Rows of `SELECT count(*)` on a curated table, as an analyst would run it:
/// None while the table does not exist yet.
async fn count_rows(standin: &StandIn, table: &str) -> Option<i64> {
    let sql = format!("SELECT count(*) FROM \"snaplake_curated\".\"{table}\"");
    match snaplake_tests::analyst_query(&standin.clients.athena, "snaplake", &sql).await {
        Ok(out) => out.rows.first()?.first()?.as_deref()?.parse().ok(),
        Err(reason) => {
            assert!(
                reason.contains("does not exist") || reason.contains("not found"),
                "{reason}"
            );
            None
        }
    }
}

#[tokio::test]
async fn two_runs_of_one_day_started_together_publish_it_once_and_readers_never_see_an_empty_table() {
    let p = pipeline().await;
    // The day before is published, so readers have a table throughout.
    let (status, detail) = p.run("day-21", p.input().await).await;
    assert_eq!(status, "SUCCEEDED", "{detail:#}");
    p.standin.control(
        "/_snaplake/snapshots",
        json!({"cluster": "shop-prod", "snapshot_id": "rds:shop-prod-2026-11-21-18-00", "create_time": "2026-11-21T18:00:00Z"}),
    );
    let mut input = p.run_input.clone();
    input["logical_time"] = json!("2026-11-21T19:00:00Z");

    // The scheduled run and `snaplake run` of the same day, at once (the
    // schedule cannot name its executions, so names do not keep them apart).
    let done = std::sync::atomic::AtomicBool::new(false);
    let reader = async {
        let mut reads = 0;
        while !done.load(std::sync::atomic::Ordering::Relaxed) {
            let rows = count_rows(&p.standin, "shop_customers").await;
            assert_ne!(rows, Some(0), "a reader saw an empty table");
            assert!(rows.is_some(), "the published table disappeared");
            reads += 1;
        }
        reads
    };
    let runs = async {
        let both = tokio::join!(
            p.run("day-22-scheduled", input.clone()),
            p.run("day-22-by-hand", input.clone())
        );
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        both
    };
    let (((status_a, a), (status_b, b)), reads) = tokio::join!(runs, reader);
    assert!(reads > 0);
    assert_eq!(
        (status_a.as_str(), status_b.as_str()),
        ("SUCCEEDED", "SUCCEEDED"),
        "{a:#}\n{b:#}"
    );

    let mut exported = 0;
    let mut busy = 0;
    for run in [&a, &b] {
        let history = execution_events(&p.standin, run["arn"].as_str().unwrap()).await;
        let entered: Vec<&str> = history
            .iter()
            .filter_map(|e| e.state_entered_event_details().map(|d| d.name()))
            .collect();
        if entered.contains(&"StartExport") {
            exported += 1;
        }
        if entered.contains(&"AlreadyRunning") {
            busy += 1;
        }
    }
    assert_eq!(
        (exported, busy),
        (1, 1),
        "one run of the day works, the other ends as already running"
    );

    let glue = &p.standin.clients.glue;
    for table in ["shop_customers", "shop_orders", "shop_articles"] {
        let location = snaplake_tests::live_location(glue, table).await;
        assert!(location.ends_with("/v=20261121T190000Z/"), "{table} at {location}");
    }
    assert!(count_rows(&p.standin, "shop_customers").await.unwrap() > 0);
    let locks = p
        .standin
        .clients
        .s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix("_snaplake/locks/")
        .send()
        .await
        .unwrap();
    assert_eq!(locks.key_count(), Some(0), "the day's lock was released");
}

#[tokio::test]
async fn a_column_without_a_rule_holds_its_table_back_and_the_others_publish() {
    let p = pipeline().await;
    let glue = &p.standin.clients.glue;
    let live = |table: &'static str| async move {
        glue.get_table()
            .database_name("snaplake_curated")
            .name(table)
            .send()
            .await
            .ok()
            .and_then(|t| t.table()?.storage_descriptor()?.location().map(str::to_string))
    };
    let (status, detail) = p.run("run-before-drift", p.input().await).await;
    assert_eq!(status, "SUCCEEDED", "{detail:#}");
    let customers_before = live("shop_customers").await.expect("published");
    let orders_before = live("shop_orders").await.expect("published");

    // The next day, production has a column the policy has no rule for.
    p.standin.control(
        "/_snaplake/snapshots",
        json!({"cluster": "shop-prod", "snapshot_id": "rds:shop-prod-2026-11-21-18-00", "create_time": "2026-11-21T18:00:00Z"}),
    );
    p.standin.control(
        "/_snaplake/exports/settings",
        json!({"extra_columns": {"customers": ["ssn"]}}),
    );
    let mut next_day = p.input().await;
    next_day["logical_time"] = json!("2026-11-21T19:00:00Z");
    let (status, detail) = p.run("run-after-drift", next_day).await;
    assert_eq!(status, "FAILED", "{detail:#}");
    assert_eq!(detail["error"], "TablesFailed", "{detail:#}");
    let cause = detail["cause"].as_str().unwrap();
    assert!(
        cause.contains("shop_customers (InvalidInput")
            && cause.contains("ssn")
            && cause.contains("2 table(s) published"),
        "{cause}"
    );
    assert_eq!(
        live("shop_customers").await.as_deref(),
        Some(customers_before.as_str()),
        "its live version stays"
    );
    assert_ne!(
        live("shop_orders").await.as_deref(),
        Some(orders_before.as_str()),
        "the other tables publish"
    );
    let messages = p.failure_messages().await;
    assert!(
        messages.iter().any(|m| {
            let text = m.to_string();
            text.contains("shop_customers") && text.contains("ssn") && text.contains("drop")
        }),
        "SNS names the table, the column and the rule to add: {messages:?}"
    );
}

/// A Glue table's columns as `name type`.
fn column_list(table: &aws_sdk_glue::types::Table) -> Vec<String> {
    table
        .storage_descriptor()
        .unwrap()
        .columns()
        .iter()
        .map(|c| format!("{} {}", c.name(), c.r#type().unwrap_or_default()))
        .collect()
}

/// The curated table's location and the logical time it shows.
async fn curated(p: &Pipeline, table: &str) -> (String, String) {
    let t = snaplake_tests::curated_table(&p.standin.clients.glue, table).await;
    (
        t.storage_descriptor().unwrap().location().unwrap().to_string(),
        t.parameters().unwrap()["snaplake.logical_time"].clone(),
    )
}

#[tokio::test]
async fn a_table_whose_raw_registration_failed_is_reported_and_not_published_from_the_day_before() {
    let p = pipeline().await;
    p.standin.control(
        "/_snaplake/snapshots",
        json!({"cluster": "shop-prod", "snapshot_id": "rds:shop-prod-2026-11-19-18-00", "create_time": "2026-11-19T18:00:00Z"}),
    );
    let mut day_before = p.input().await;
    day_before["logical_time"] = json!("2026-11-19T19:00:00Z");
    let (status, detail) = p.run("run-day-before", day_before).await;
    assert_eq!(status, "SUCCEEDED", "{detail:#}");

    p.standin.control(
        "/_snaplake/glue/faults",
        json!({"database": "snaplake_raw", "table": "shop_customers",
               "fail": "User is not authorized to perform glue:UpdateTable (injected)"}),
    );
    let (status, detail) = p.run("run-raw-fails", p.input().await).await;
    assert_eq!(status, "FAILED", "{detail:#}");
    assert_eq!(detail["error"], "TablesFailed", "{detail:#}");
    let cause = detail["cause"].as_str().unwrap();
    assert!(
        cause.contains("shop_customers (RawNotRegistered") && cause.contains("2 table(s) published"),
        "{cause}"
    );
    let (location, shown) = curated(&p, "shop_customers").await;
    assert!(
        location.ends_with("/v=20261119T190000Z/") && shown == "2026-11-19T19:00:00Z",
        "shop_customers must stay on the day before, not show its data as today's: {location} {shown}"
    );
    for table in ["shop_orders", "shop_articles"] {
        let (location, _) = curated(&p, table).await;
        assert!(location.ends_with("/v=20261120T190000Z/"), "{table} at {location}");
    }
}

/// The table outcomes a succeeded run reports: its manifest's tables.
async fn outcomes(p: &Pipeline, detail: &Value) -> Vec<Value> {
    let output: Value = serde_json::from_str(detail["output"].as_str().unwrap()).unwrap();
    snaplake_tests::run_manifest(&p.standin.sdk, &output).await["tables"]
        .as_array()
        .unwrap()
        .clone()
}

fn outcome<'a>(list: &'a [Value], table: &str) -> &'a Value {
    list.iter()
        .find(|t| t["table"] == table)
        .unwrap_or_else(|| panic!("no {table} in {list:#?}"))
}

#[tokio::test]
async fn an_export_with_part_files_directly_in_the_table_folders_is_published() {
    let p = pipeline().await;
    p.standin
        .control("/_snaplake/exports/settings", json!({"layout": "flat"}));
    let (status, detail) = p.run("run-flat", p.input().await).await;
    assert_eq!(status, "SUCCEEDED", "{detail:#}");
    let list = outcomes(&p, &detail).await;
    for table in ["shop_customers", "shop_orders", "shop_articles"] {
        assert_eq!(outcome(&list, table)["outcome"], "created", "{list:#?}");
    }
}

#[tokio::test]
async fn an_empty_table_of_an_export_in_lettered_folders_is_published_empty() {
    let p = pipeline().await;
    p.standin
        .control("/_snaplake/exports/settings", json!({"layout": "lettered"}));
    p.standin.control(
        "/_snaplake/exports/faults",
        json!({"export_id": "*", "empty_tables": ["shop.articles"]}),
    );
    let (status, detail) = p.run("run-empty-table", p.input().await).await;
    assert_eq!(status, "SUCCEEDED", "{detail:#}");
    let list = outcomes(&p, &detail).await;
    for table in ["shop_customers", "shop_orders", "shop_articles"] {
        assert_eq!(outcome(&list, table)["outcome"], "created", "{list:#?}");
    }
    // Its raw columns come from the export's schemaMetadata: no footer to read.
    let raw = p
        .standin
        .clients
        .glue
        .get_table()
        .database_name("snaplake_raw")
        .name("shop_articles")
        .send()
        .await
        .unwrap();
    let columns = column_list(raw.table().unwrap());
    assert!(
        columns.contains(&"id bigint".to_string()) && columns.contains(&"published_at timestamp".to_string()),
        "{columns:?}"
    );
    let (location, shown) = curated(&p, "shop_articles").await;
    assert!(location.ends_with("/v=20261120T190000Z/") && shown == "2026-11-20T19:00:00Z");
    // The UNLOAD of no rows wrote no file (the stand-in takes the stricter
    // case); query-runner wrote one without rows, with the UNLOAD's columns.
    let curated_columns = column_list(&snaplake_tests::curated_table(&p.standin.clients.glue, "shop_articles").await);
    let expected: Vec<String> = columns
        .iter()
        .map(|c| c.replace("author_email varchar", "author_email string"))
        .filter(|c| !c.starts_with("author_email "))
        .collect();
    for column in &expected {
        assert!(
            curated_columns.contains(column),
            "{column} missing from {curated_columns:?}"
        );
    }
    assert!(
        curated_columns.contains(&"author_email string".to_string()),
        "{curated_columns:?}"
    );
    assert_eq!(
        curated_columns.last().map(String::as_str),
        Some("transformed_at timestamp")
    );
    let key = location.strip_prefix(&format!("s3://{BUCKET}/")).unwrap();
    assert_eq!(
        snaplake_tests::keys(&p.standin.clients.s3, BUCKET, key).await,
        [format!("{key}snaplake-empty.parquet")]
    );
}

#[tokio::test]
async fn tables_rds_skipped_and_its_database_warnings_are_reported_by_name() {
    let p = pipeline().await;
    p.standin.control(
        "/_snaplake/exports/faults",
        json!({"export_id": "*", "skip_tables": ["shop.orders"],
               "database_warning": "FAILED_TO_EXTRACT_TABLES_LIST_FOR_DATABASE"}),
    );
    let (status, detail) = p.run("run-skipped-fails", p.input().await).await;
    assert_eq!(status, "FAILED", "{detail:#}");
    assert_eq!(detail["error"], "ExportIncomplete", "{detail:#}");
    assert!(
        detail["cause"].as_str().unwrap().contains("shop.orders (SKIPPED)"),
        "the default policy fails naming it: {detail:#}"
    );

    let mut skip = p.input().await;
    skip["publish"]["on_table_failure"] = json!("skip");
    let (status, detail) = p.run("run-skipped-reported", skip).await;
    assert_eq!(status, "SUCCEEDED", "{detail:#}");
    let list = outcomes(&p, &detail).await;
    let orders = outcome(&list, "shop_orders");
    assert_eq!(
        (orders["outcome"].as_str(), orders["reason"].as_str()),
        (Some("not_exported"), Some("COLUMN_WITH_UNSUPPORTED_CHARACTER_IN_NAME")),
        "{list:#?}"
    );
    assert_eq!(outcome(&list, "shop_customers")["outcome"], "created");
    let output: Value = serde_json::from_str(detail["output"].as_str().unwrap()).unwrap();
    let warnings = &output["check"]["poll"]["plan"]["warnings"];
    assert_eq!(
        warnings,
        &json!([
            "FAILED_TO_EXTRACT_TABLES_LIST_FOR_DATABASE",
            "shop: FAILED_TO_EXTRACT_TABLES_LIST_FOR_DATABASE"
        ]),
        "{output:#}"
    );
}

#[tokio::test]
async fn a_run_carrying_another_policy_source_bucket_key_or_export_is_refused_before_anything_is_exported() {
    let p = pipeline().await;
    // Someone allowed states:StartExecution tries to publish everything in clear.
    let mut all_clear = p.input().await;
    all_clear["publish"]["policy"] = json!({"tables": {"shop.customers": {"columns": {
        "id": "keep", "email": "keep", "phone": "keep", "full_name": "keep", "country": "keep",
        "is_active": "keep", "birth_date": "keep", "credit_limit": "keep", "created_at": "keep"}}}});
    let (status, detail) = p.run("run-all-clear", all_clear).await;
    assert_eq!(status, "FAILED", "{detail:#}");
    assert_eq!(detail["error"], "InvalidInput", "{detail:#}");
    let cause = detail["cause"].as_str().unwrap();
    assert!(cause.contains("publish.policy") && cause.contains("pins"), "{cause}");

    let mut other_digest = p.input().await;
    other_digest["publish"]["policy_digest"] = json!("f".repeat(64));
    let (status, detail) = p.run("run-other-digest", other_digest).await;
    assert_eq!(status, "FAILED", "{detail:#}");
    assert!(
        detail["cause"].as_str().unwrap().contains("publish.policy_digest"),
        "{detail:#}"
    );

    let mut other_source = p.input().await;
    other_source["export"]["source_id"] = json!("payroll-prod");
    let (status, detail) = p.run("run-other-source", other_source).await;
    assert_eq!(status, "FAILED", "{detail:#}");
    assert!(detail["cause"].as_str().unwrap().contains("source_id"), "{detail:#}");

    // Or has the raw snapshot exported where they can read it: their bucket,
    // their key (or one the pin cannot tell apart), another kind of source,
    // or an export of their own.
    let c = &p.standin.clients;
    c.s3.create_bucket().bucket("mallory-lake").send().await.unwrap();
    let key = c.kms.create_key().send().await.unwrap();
    let key = key.key_metadata().unwrap();
    let pinned_key = p.run_input["export"]["kms_key"].as_str().unwrap();
    let cases = [
        ("bucket", json!("mallory-lake"), "SNAPLAKE_BUCKET"),
        ("kms_key", json!(key.arn().unwrap()), "SNAPLAKE_EXPORT_KMS_KEY"),
        ("kms_key", json!(key.key_id()), pinned_key),
        ("source_kind", json!("instance"), "SNAPLAKE_SOURCE_KIND"),
        ("export_id", json!("mallory-export-1"), "SNAPLAKE_EXPORT_ID_PREFIX"),
    ];
    for (i, (field, value, pin)) in cases.into_iter().enumerate() {
        let mut elsewhere = p.input().await;
        elsewhere["export"][field] = value;
        let (status, detail) = p.run(&format!("run-elsewhere-{i}"), elsewhere).await;
        assert_eq!(status, "FAILED", "{detail:#}");
        assert_eq!(detail["error"], "InvalidInput", "{detail:#}");
        let cause = detail["cause"].as_str().unwrap();
        assert!(
            cause.contains(&format!("`{field}`")) && cause.contains(pin),
            "{field}: {cause}"
        );
    }

    let tasks = p.standin.clients.rds.describe_export_tasks().send().await.unwrap();
    assert!(tasks.export_tasks().is_empty(), "nothing was exported");
    let curated = p
        .standin
        .clients
        .glue
        .get_tables()
        .database_name("snaplake_curated")
        .send()
        .await;
    assert!(
        curated.map(|t| t.table_list().is_empty()).unwrap_or(true),
        "nothing was published, so no clear e-mail reached the curated tables"
    );
}

/// Write, audit, publish, for a table's first publication: the audit (the
/// policy's assertion `no_clear_email`, over a policy that keeps e-mails in
/// clear) fails, so no curated table is ever created, the version's files
/// are deleted without ever being tagged readable, and the run names the
/// table and the check; a retry audits again and fails the same way.
#[tokio::test]
async fn a_new_table_that_fails_its_audit_is_never_published_and_its_version_is_deleted() {
    let mut policy: Value = serde_json::from_str(include_str!("../../events/masking-policy.json")).unwrap();
    policy["tables"]["shop.customers"]["columns"]["email"] = json!("keep");
    let d = snaplake_tests::deploy_with_policy("snaplake-test", BUCKET, policy.to_string().as_bytes()).await;
    let p = Pipeline {
        standin: d.standin,
        machine: d.machine,
        topic_queue: d.topic_queue,
        run_input: d.run_input,
    };
    for attempt in ["run-audit-fails", "run-audit-fails-retry"] {
        let (status, detail) = p.run(attempt, p.input().await).await;
        assert_eq!(status, "FAILED", "{detail:#}");
        assert_eq!(detail["error"], "TablesFailed", "{detail:#}");
        let cause = detail["cause"].as_str().unwrap();
        assert!(
            cause.contains("shop_customers (VerificationFailed") && cause.contains("2 table(s) published"),
            "{attempt}: {cause}"
        );
        let glue = &p.standin.clients.glue;
        let table = glue
            .get_table()
            .database_name("snaplake_curated")
            .name("shop_customers")
            .send()
            .await;
        assert!(
            table.is_err(),
            "{attempt}: no curated table before a version passed its audit"
        );
        let candidate = glue
            .get_table()
            .database_name("snaplake_raw")
            .name("shop_customers__candidate")
            .send()
            .await;
        assert!(
            candidate.is_err(),
            "{attempt}: the candidate table is dropped with its version"
        );
        let left = snaplake_tests::keys(&p.standin.clients.s3, BUCKET, "curated/shop_customers/").await;
        assert!(left.is_empty(), "{attempt}: the failed version is deleted: {left:?}");
    }
    // The run names the check; the notification too, quoting no data.
    let messages = p
        .failure_messages()
        .await
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(messages.contains("no_clear_email"), "{messages}");
    assert!(!messages.contains('@'), "no e-mail address reaches SNS: {messages}");
    // The others passed theirs: published, and their files tagged readable.
    let (location, _) = curated(&p, "shop_orders").await;
    let prefix = location.strip_prefix(&format!("s3://{BUCKET}/")).unwrap();
    let files = snaplake_tests::keys(&p.standin.clients.s3, BUCKET, prefix).await;
    assert!(!files.is_empty());
    for key in files {
        assert_eq!(
            snaplake_tests::audit_tag(&p.standin.clients.s3, BUCKET, &key)
                .await
                .as_deref(),
            Some("passed"),
            "{key} is published but not tagged readable"
        );
    }
    let t = snaplake_tests::curated_table(&p.standin.clients.glue, "shop_orders").await;
    assert_eq!(t.parameters().unwrap()["snaplake.audit"], "passed");
    let candidate = p
        .standin
        .clients
        .glue
        .get_table()
        .database_name("snaplake_raw")
        .name("shop_orders__candidate")
        .send()
        .await;
    assert!(candidate.is_err(), "a published table's candidate is dropped");
}

/// A new version whose audit fails is never published: readers go on seeing
/// the previous day, the version is deleted, the run fails naming the table,
/// and the other tables move to the new day.
#[tokio::test]
async fn an_existing_table_whose_new_version_fails_its_audit_stays_on_the_previous_day() {
    let p = pipeline().await;
    let (status, detail) = p.run("run-day-one", p.input().await).await;
    assert_eq!(status, "SUCCEEDED", "{detail:#}");
    let day_one = live_locations(&p).await;

    p.standin.control(
        "/_snaplake/snapshots",
        json!({"cluster": "shop-prod", "snapshot_id": "rds:shop-prod-2026-11-22-03-00", "create_time": "2026-11-21T18:00:00Z"}),
    );
    // Only the verification of shop_orders reads its raw table into "expected_rows".
    p.standin.control(
        "/_snaplake/athena/faults",
        json!({"match": "\"shop_orders\") AS \"expected_rows\"", "fail": "HIVE_CURSOR_ERROR: injected"}),
    );
    let mut day_two = p.input().await;
    day_two["logical_time"] = json!("2026-11-21T19:00:00Z");
    let (status, detail) = p.run("run-day-two", day_two).await;
    assert_eq!(status, "FAILED", "{detail:#}");
    assert_eq!(detail["error"], "TablesFailed", "{detail:#}");
    let cause = detail["cause"].as_str().unwrap();
    assert!(cause.contains("shop_orders (QueryFailed"), "{cause}");

    let day_two = live_locations(&p).await;
    assert_eq!(
        day_two["shop_orders"], day_one["shop_orders"],
        "shop_orders failed its audit and stays on day one"
    );
    let versions = snaplake_tests::keys(&p.standin.clients.s3, BUCKET, "curated/shop_orders/").await;
    assert!(
        versions.iter().all(|k| !k.contains("/v=20261121T190000Z/")),
        "the version that failed its audit is deleted: {versions:?}"
    );
    for table in ["shop_customers", "shop_articles"] {
        assert_ne!(day_two[table], day_one[table], "{table} moved to day two");
    }
}

/// The curated tables' live locations.
async fn live_locations(p: &Pipeline) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    for table in ["shop_customers", "shop_orders", "shop_articles"] {
        let location = snaplake_tests::live_location(&p.standin.clients.glue, table).await;
        out.insert(table.to_string(), location);
    }
    out
}

/// The quality gate: a table whose source shrank by 90% is held (its live
/// version stays, the run says why), `--force-table` publishes it knowingly,
/// and the next day publishes as usual.
#[tokio::test]
async fn a_table_whose_rows_fall_by_ninety_percent_is_held_until_forced() {
    let p = pipeline().await;
    let (status, detail) = p.run("run-gate-day-one", p.input().await).await;
    assert_eq!(status, "SUCCEEDED", "{detail:#}");
    let day_one = live_locations(&p).await;

    p.standin.control(
        "/_snaplake/snapshots",
        json!({"cluster": "shop-prod", "snapshot_id": "rds:shop-prod-2026-11-21-18-00", "create_time": "2026-11-21T18:00:00Z"}),
    );
    p.standin
        .control("/_snaplake/exports/settings", json!({"keep_fraction": {"orders": 0.1}}));
    let mut day_two = p.input().await;
    day_two["logical_time"] = json!("2026-11-21T19:00:00Z");
    p.standin.reset_calls();
    let (status, detail) = p.run("run-gate-day-two", day_two.clone()).await;
    assert_eq!(status, "SUCCEEDED", "a held table does not fail the run: {detail:#}");
    // A held table's path and queries (its audit answered at once, no query) counted as they ran.
    let output: Value = serde_json::from_str(detail["output"].as_str().unwrap()).unwrap();
    let manifest = snaplake_tests::run_manifest(&p.standin.sdk, &output).await;
    snaplake_tests::assert_cost_counts_what_ran(&manifest, &p.standin.calls());
    let after = live_locations(&p).await;
    assert_eq!(after["shop_orders"], day_one["shop_orders"], "its live version stays");
    assert_ne!(after["shop_customers"], day_one["shop_customers"], "the others publish");
    let list = outcomes(&p, &detail).await;
    let orders = outcome(&list, "shop_orders");
    assert_eq!(orders["outcome"], "held", "{orders:#}");
    let reason = orders["reason"].as_str().unwrap();
    assert!(
        reason.contains("shop_orders: rows fell from")
            && reason.contains("-9")
            && reason.contains("--force-table shop_orders"),
        "{reason}"
    );

    let mut forced = day_two.clone();
    forced["publish"]["force_tables"] = json!(["shop_orders"]);
    let (status, detail) = p.run("run-gate-day-two-forced", forced).await;
    assert_eq!(status, "SUCCEEDED", "{detail:#}");
    let list = outcomes(&p, &detail).await;
    assert_eq!(outcome(&list, "shop_orders")["outcome"], "swapped", "{list:#?}");
    assert_eq!(outcome(&list, "shop_customers")["outcome"], "unchanged", "{list:#?}");

    p.standin.control(
        "/_snaplake/snapshots",
        json!({"cluster": "shop-prod", "snapshot_id": "rds:shop-prod-2026-11-22-18-00", "create_time": "2026-11-22T18:00:00Z"}),
    );
    p.standin
        .control("/_snaplake/exports/settings", json!({"keep_fraction": {}}));
    let mut day_three = p.input().await;
    day_three["logical_time"] = json!("2026-11-22T19:00:00Z");
    let (status, detail) = p.run("run-gate-day-three", day_three).await;
    assert_eq!(status, "SUCCEEDED", "{detail:#}");
    let list = outcomes(&p, &detail).await;
    assert_eq!(outcome(&list, "shop_orders")["outcome"], "swapped", "{list:#?}");
    assert!(
        live_locations(&p).await["shop_orders"].ends_with("/v=20261122T190000Z/"),
        "the next run publishes as usual"
    );
}

/// A query that outlasts the first wait is polled again after the wait its
/// poll answered (`transform::poll_cadence`): the loop's `SecondsPath` runs
/// on the engine and the table publishes.
#[tokio::test]
async fn a_slow_query_is_polled_until_done_at_the_pace_its_poll_sets() {
    let p = pipeline().await;
    p.standin.control(
        "/_snaplake/athena/faults",
        json!({"match": "\"shop_orders\"", "delay_seconds": 4}),
    );
    let (status, detail) = p.run("run-slow-query", p.input().await).await;
    assert_eq!(status, "SUCCEEDED", "{detail:#}");
    let list = outcomes(&p, &detail).await;
    assert_eq!(outcome(&list, "shop_orders")["outcome"], "created", "{list:#?}");
}

/// The run's cost in its manifest counts what the stand-in ran and
/// measured, bills the export by the snapshot's allocated storage as RDS
/// describes it, and prices them at the default (us-east-1) prices.
async fn run_cost_is_what_the_standin_ran(manifest: &Value, calls: &Value, rds: &aws_sdk_rds::Client) {
    snaplake_tests::assert_cost_counts_what_ran(manifest, calls);
    let cost = &manifest["cost"];
    let entered = cost["usage"]["state_transitions"].as_u64().unwrap();
    // Six small queries: each billed Athena's 10 MB minimum.
    assert_eq!(cost["usage"]["athena_billed_bytes"], 6 * 10_000_000, "{cost:#}");
    let snapshot = rds
        .describe_db_cluster_snapshots()
        .snapshot_type("automated")
        .send()
        .await
        .unwrap()
        .db_cluster_snapshots()
        .iter()
        .find(|s| s.db_cluster_snapshot_arn() == manifest["snapshot_arn"].as_str())
        .and_then(|s| s.allocated_storage())
        .unwrap_or_else(|| panic!("the run's snapshot and its size: {manifest:#}"));
    assert_eq!(cost["usage"]["snapshot_gb"], snapshot, "{cost:#}");
    let f = |name: &str| cost[name].as_f64().unwrap_or_else(|| panic!("{name}: {cost:#}"));
    assert!((f("athena_usd") - 6.0 * 10e6 / 1e12 * 5.0).abs() < 1e-12, "{cost:#}");
    assert!(
        (f("step_functions_usd") - entered as f64 * 0.025 / 1000.0).abs() < 1e-12,
        "{cost:#}"
    );
    assert!(
        (f("rds_export_usd") - f64::from(snapshot) * 0.010).abs() < 1e-12,
        "{cost:#}"
    );
    let parts = f("athena_usd") + f("step_functions_usd") + f("lambda_usd") + f("rds_export_usd");
    assert!((f("total_usd") - parts).abs() < 1e-12, "{cost:#}");
    assert_eq!(cost["prices"]["region"], "us-east-1");
}
