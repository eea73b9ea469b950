//! query-runner and masking against the stand-in, whose Athena runs the
//! generated SQL for real (DuckDB) over the exported Parquet files.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use snaplake::Error;
use snaplake::handlers::{catalog_swap, query_runner};
use snaplake_tests::Lake;

const BUCKET: &str = "snaplake-queries";
const LOGICAL_TIME: &str = "2026-11-20T19:00:00Z";
const RUN: &str = "run-snaplake-shop-prod-20261121";

fn policy() -> Value {
    serde_json::from_str(include_str!("../../events/masking-policy.json")).unwrap()
}

fn names(source: &str) -> Value {
    json!({"source": source, "name": source.replace('.', "_")})
}

async fn call(lake: &Lake, input: Value) -> Result<Value, Error> {
    query_runner::handle(&lake.env, input)
        .await
        .map(|r| serde_json::to_value(r).unwrap())
}

/// Polls like the state machine's Wait/Choice loop.
async fn wait(lake: &Lake, id: &str, budget: Option<i64>) -> Result<Value, Error> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut input = json!({"action": "poll", "query_execution_id": id, "purpose": "test"});
        if let Some(budget) = budget {
            input["scan_budget_bytes"] = json!(budget);
        }
        let status = call(lake, input).await?;
        if status["done"] == true {
            return Ok(status);
        }
        assert!(
            Instant::now() < deadline,
            "query {id} still {} after 60 s",
            status["state"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs a SELECT directly (as an analyst would) and returns its rows.
async fn select(lake: &Lake, sql: &str) -> Vec<Vec<Option<String>>> {
    let id = run_query(lake, sql).await;
    snaplake::aws::athena::results(&lake.env.clients.athena, &id, 1000)
        .await
        .unwrap()
        .rows
}

/// Runs a query in the workgroup to its end; its id.
async fn run_query(lake: &Lake, sql: &str) -> String {
    let id = lake
        .env
        .clients
        .athena
        .start_query_execution()
        .query_string(sql)
        .work_group(&lake.env.config.athena_workgroup)
        .send()
        .await
        .unwrap()
        .query_execution_id()
        .unwrap()
        .to_string();
    wait(lake, &id, None).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    id
}

/// The columns of a curated table, as the Glue catalog shows analysts.
async fn curated_columns(lake: &Lake, table: &str) -> Vec<String> {
    let t = snaplake_tests::curated_table(&lake.env.clients.glue, table).await;
    let sd = t.storage_descriptor().expect("a storage descriptor");
    sd.columns().iter().map(|c| c.name().to_string()).collect()
}

/// Transform one table into a new location and swap the curated table to it.
async fn publish(lake: &Lake, source: &str, version: &str, policy: &Value) -> String {
    let table = source.replace('.', "_");
    let location = format!("s3://{BUCKET}/curated/{table}/{version}/");
    let started = call(lake, json!({
        "action": "start_transform", "run_id": format!("{RUN}-{}", version.replace('=', "-")), "logical_time": LOGICAL_TIME,
        "policy": policy, "table": names(source), "new_location": location,
    }))
    .await
    .unwrap();
    wait(lake, started["query_execution_id"].as_str().unwrap(), None)
        .await
        .unwrap();
    let swapped = catalog_swap::handle(
        &lake.env,
        json!({"action": "swap", "logical_time": LOGICAL_TIME,
        "Items": [{"table": table, "new_location": location, "source": source}]}),
    )
    .await
    .unwrap();
    let swapped = serde_json::to_value(swapped).unwrap();
    assert_eq!(swapped["failed"], json!([]), "{swapped}");
    location
}

async fn verify(lake: &Lake, source: &str, policy: &Value, attempt: &str) -> Result<Value, Error> {
    let started = call(
        lake,
        json!({"action": "start_verify", "run_id": format!("{RUN}-{attempt}"),
                                    "policy": policy, "table": names(source)}),
    )
    .await?;
    let id = started["query_execution_id"].as_str().unwrap().to_string();
    wait(lake, &id, None).await?;
    call(
        lake,
        json!({"action": "check_verify", "query_execution_id": id, "table": names(source)}),
    )
    .await
}

#[tokio::test]
async fn unload_masks_drops_and_filters_then_verification_passes() {
    let lake = Lake::exported(BUCKET).await;
    lake.register_raw().await;
    let tables: Vec<Value> = ["shop.customers", "shop.orders", "shop.articles"]
        .iter()
        .map(|s| names(s))
        .collect();
    let valid = call(
        &lake,
        json!({"action": "validate", "policy": policy(), "tables": tables}),
    )
    .await
    .unwrap();
    assert_eq!(
        valid["published"],
        json!(["shop_customers", "shop_orders", "shop_articles"])
    );

    publish(&lake, "shop.customers", "v=1", &policy()).await;
    let curated = "\"snaplake_curated\".\"shop_customers\"";
    let raw = "\"snaplake_raw\".\"shop_customers\"";

    let names = curated_columns(&lake, "shop_customers").await;
    assert!(
        !names.contains(&"full_name".to_string()),
        "dropped columns are absent: {names:?}"
    );
    assert!(names.contains(&"transformed_at".to_string()), "{names:?}");

    let counts = select(&lake, &format!("SELECT (SELECT count(*) FROM {curated}), (SELECT count(*) FROM {raw} WHERE is_active = 1), (SELECT count(*) FROM {raw})")).await;
    let [published, active, all] = [0, 1, 2].map(|i| counts[0][i].clone().unwrap().parse::<i64>().unwrap());
    assert_eq!(published, active, "the row filter is applied");
    assert!(published < all, "some customers are inactive");

    let raw_email = select(&lake, &format!("SELECT email FROM {raw} WHERE id = 1")).await[0][0]
        .clone()
        .unwrap();
    let masked = select(
        &lake,
        &format!("SELECT email, phone, transformed_at FROM {curated} WHERE id = 1"),
    )
    .await;
    let salted = format!("{}{raw_email}", snaplake_tests::TEST_SALT);
    let expected: String = Sha256::digest(salted.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    assert_eq!(
        masked[0][0].as_deref(),
        Some(expected.as_str()),
        "e-mails are the SHA-256 hex of salt and value, as Athena computes it"
    );
    assert_eq!(masked[0][1], None, "phones are redacted");
    assert!(
        masked[0][2].as_deref().unwrap().starts_with("2026-11-20 19:00:00"),
        "{:?}",
        masked[0][2]
    );
    let clear = select(&lake, &format!("SELECT count(*) FROM {curated} WHERE email LIKE '%@%'")).await;
    assert_eq!(clear[0][0].as_deref(), Some("0"));

    let verified = verify(&lake, "shop.customers", &policy(), "verify-1").await.unwrap();
    assert_eq!(verified["verified"], true);
}

#[tokio::test]
async fn verification_fails_on_bad_data_naming_the_check() {
    let lake = Lake::exported(BUCKET).await;
    lake.register_raw().await;
    // Published with every column kept and no filter: too many rows, e-mails in clear.
    let mut clear = policy();
    let customers = &mut clear["tables"]["shop.customers"];
    for rule in customers["columns"].as_object_mut().unwrap().values_mut() {
        *rule = json!("keep");
    }
    customers.as_object_mut().unwrap().remove("row_filter");
    publish(&lake, "shop.customers", "v=1", &clear).await;
    let err = verify(&lake, "shop.customers", &policy(), "verify-bad")
        .await
        .unwrap_err();
    assert_eq!(err.name(), "VerificationFailed");
    assert!(
        err.to_string().contains("row count") && err.to_string().contains("snaplake_curated.shop_customers"),
        "{err}"
    );

    let mut filtered_only = policy();
    filtered_only["tables"]["shop.customers"]["columns"] = clear["tables"]["shop.customers"]["columns"].clone();
    publish(&lake, "shop.customers", "v=2", &filtered_only).await;
    let err = verify(&lake, "shop.customers", &policy(), "verify-clear")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no_clear_email"), "{err}");
}

#[tokio::test]
async fn a_failed_query_is_query_failed_and_an_internal_error_is_retryable() {
    let lake = Lake::exported(BUCKET).await;
    lake.register_raw().await;
    lake.standin.control(
        "/_snaplake/athena/faults",
        json!({"match": "shop_orders", "fail": "SYNTAX_ERROR: line 1:8: mismatched input"}),
    );
    lake.standin.control(
        "/_snaplake/athena/faults",
        json!({"match": "shop_articles", "fail": "GENERIC_INTERNAL_ERROR: internal error, please resubmit"}),
    );
    for (source, expected) in [("shop.orders", "QueryFailed"), ("shop.articles", "QueryRetryable")] {
        let started = call(&lake, json!({
            "action": "start_transform", "run_id": RUN, "logical_time": LOGICAL_TIME, "policy": policy(),
            "table": names(source), "new_location": format!("s3://{BUCKET}/curated/{}/v=1/", source.replace('.', "_")),
        }))
        .await
        .unwrap();
        let err = wait(&lake, started["query_execution_id"].as_str().unwrap(), None)
            .await
            .unwrap_err();
        assert_eq!(err.name(), expected, "{source}: {err}");
        assert!(
            err.to_string().contains(if expected == "QueryFailed" {
                "SYNTAX_ERROR"
            } else {
                "please resubmit"
            }),
            "{err}"
        );
    }
}

#[tokio::test]
async fn a_query_over_its_scan_budget_is_stopped_with_both_numbers() {
    let lake = Lake::exported(BUCKET).await;
    lake.register_raw().await;
    lake.standin.control(
        "/_snaplake/athena/faults",
        json!({"match": "shop_orders", "delay_seconds": 20, "scanned_bytes": 5_000_000}),
    );
    let started = call(
        &lake,
        json!({
            "action": "start_transform", "run_id": RUN, "logical_time": LOGICAL_TIME, "policy": policy(),
            "table": names("shop.orders"), "new_location": format!("s3://{BUCKET}/curated/shop_orders/v=1/"),
        }),
    )
    .await
    .unwrap();
    let id = started["query_execution_id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let err = wait(&lake, &id, Some(1_000_000)).await.unwrap_err();
    assert_eq!(err.name(), "QueryFailed");
    let text = err.to_string();
    assert!(
        text.contains("budget of 1000000 bytes") && text.contains("scanned 5"),
        "{text}"
    );
    let state = lake
        .env
        .clients
        .athena
        .get_query_execution()
        .query_execution_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        state
            .query_execution()
            .unwrap()
            .status()
            .unwrap()
            .state()
            .unwrap()
            .as_str(),
        "CANCELLED"
    );
}

#[tokio::test]
async fn a_retried_start_never_runs_the_query_twice() {
    let lake = Lake::exported(BUCKET).await;
    lake.register_raw().await;
    let input = json!({
        "action": "start_transform", "run_id": RUN, "logical_time": LOGICAL_TIME, "policy": policy(),
        "table": names("shop.articles"), "new_location": format!("s3://{BUCKET}/curated/shop_articles/v=1/"),
    });
    let first = call(&lake, input.clone()).await.unwrap();
    let second = call(&lake, input).await.unwrap();
    assert_eq!(first["query_execution_id"], second["query_execution_id"]);
    wait(&lake, first["query_execution_id"].as_str().unwrap(), None)
        .await
        .unwrap();
    let objects = lake
        .env
        .clients
        .s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix("curated/shop_articles/v=1/")
        .send()
        .await
        .unwrap();
    assert_eq!(objects.key_count(), Some(1), "one UNLOAD wrote one file");
}

#[tokio::test]
async fn a_bad_policy_is_refused_before_any_query_runs() {
    let lake = Lake::exported(BUCKET).await;
    lake.register_raw().await;
    // Each refused with InvalidInput naming its field, all at once: an unknown
    // column, a rule that does not fit its type, an assertion that is not a
    // SELECT, a row filter that reads another table.
    let bad = json!({"tables": {
        "shop.customers": {"columns": {"emial": "hash", "birth_date": "truncate_day"}},
        "shop.orders": {"columns": {"id": "keep"}, "unlisted_columns": "drop",
                        "assertions": {"wipe": "DELETE FROM {table}"},
                        "row_filter": "customer_id IN (SELECT id FROM snaplake_raw.shop_customers)"}}});
    let err = call(
        &lake,
        json!({"action": "validate", "policy": bad,
                                 "tables": [names("shop.customers"), names("shop.orders")]}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "InvalidInput");
    let text = err.to_string();
    for field in [
        "tables.shop.customers.columns.emial",
        "tables.shop.customers.columns.birth_date: rule truncate_day",
        "tables.shop.orders.assertions.wipe",
        "tables.shop.orders.row_filter",
    ] {
        assert!(text.contains(field), "{field} not named in {text}");
    }
    let empty = call(
        &lake,
        json!({"action": "validate", "policy": {"tables": {}}, "tables": [names("shop.orders")]}),
    )
    .await
    .unwrap_err();
    assert!(empty.to_string().contains("names no table"), "{empty}");
    let executions = lake.env.clients.athena.list_query_executions().send().await.unwrap();
    assert!(executions.query_execution_ids().is_empty(), "no query ran");
    let err = call(&lake, json!({"action": "start_transform", "run_id": "bad run id!", "logical_time": LOGICAL_TIME,
        "policy": policy(), "table": names("shop.orders"), "new_location": "s3://snaplake-queries/curated/shop_orders/v=1/"})).await.unwrap_err();
    assert!(err.to_string().contains("run_id"), "{err}");
}

#[tokio::test]
async fn results_are_inline_when_few() {
    let lake = Lake::exported(BUCKET).await;
    lake.register_raw().await;
    publish(&lake, "shop.articles", "v=1", &policy()).await;
    let started = call(
        &lake,
        json!({"action": "start_verify", "run_id": RUN, "policy": policy(), "table": names("shop.articles")}),
    )
    .await
    .unwrap();
    let id = started["query_execution_id"].as_str().unwrap();
    wait(&lake, id, None).await.unwrap();
    let results = call(&lake, json!({"action": "results", "query_execution_id": id}))
        .await
        .unwrap();
    assert_eq!(results["row_count"], 1);
    let row = &results["rows"][0];
    assert_eq!(row["expected_rows"], row["actual_rows"], "{results:#}");
}

#[tokio::test]
async fn results_over_a_hundred_rows_go_to_s3_in_full() {
    let lake = Lake::exported(BUCKET).await;
    lake.register_raw().await;
    let id = run_query(&lake, "SELECT id FROM \"snaplake_raw\".\"shop_customers\" ORDER BY id").await;
    let results = call(&lake, json!({"action": "results", "query_execution_id": id}))
        .await
        .unwrap();
    let count = select(&lake, "SELECT count(*) FROM \"snaplake_raw\".\"shop_customers\"").await;
    let count: usize = count[0][0].as_deref().unwrap().parse().unwrap();
    assert!(
        count > 100,
        "the sample has {count} customers, more than the 100 returned inline"
    );
    assert_eq!(results["row_count"], count, "{results:#}");
    assert_eq!(results["truncated"], false);
    assert!(results.get("rows").is_none(), "{results:#}");
    let body = lake
        .env
        .clients
        .s3
        .get_object()
        .bucket(results["bucket"].as_str().unwrap())
        .key(results["key"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let rows: Vec<Value> = serde_json::from_slice(&body.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(rows.len(), count);
    assert_eq!(rows[0], json!({"id": "1"}));
}

#[tokio::test]
async fn a_column_without_a_rule_stops_its_table_and_drop_drops_it() {
    // Production gained a column the policy does not know.
    let lake = Lake::exported_with(BUCKET, json!({"extra_columns": {"customers": ["ssn"]}})).await;
    lake.register_raw().await;
    let mut without_orders = policy();
    without_orders["tables"].as_object_mut().unwrap().remove("shop.orders");
    let valid = call(
        &lake,
        json!({"action": "validate", "policy": without_orders,
               "tables": [names("shop.customers"), names("shop.orders"), names("shop.articles")]}),
    )
    .await
    .expect("columns with no rule stop their table, not the run");
    assert_eq!(valid["published"], json!(["shop_articles"]), "{valid}");
    assert_eq!(valid["unclassified"]["shop.customers"], json!(["ssn"]), "{valid}");
    assert_eq!(valid["skipped"], json!(["shop.orders"]), "{valid}");

    let start = |source: &str, p: &Value| {
        json!({"action": "start_transform", "run_id": RUN, "logical_time": LOGICAL_TIME, "policy": p,
               "table": names(source), "new_location": format!("s3://{BUCKET}/curated/x/v=1/")})
    };
    let skipped = call(&lake, start("shop.orders", &without_orders)).await.unwrap();
    assert_eq!(
        skipped["skipped"], true,
        "a table the policy does not name is not published"
    );
    let err = call(&lake, start("shop.customers", &policy())).await.unwrap_err();
    assert_eq!(err.name(), "InvalidInput");
    let text = err.to_string();
    assert!(
        text.contains("tables.shop.customers.columns") && text.contains("ssn") && text.contains("\"ssn\": \"drop\""),
        "{text}"
    );
    let executions = lake.env.clients.athena.list_query_executions().send().await.unwrap();
    assert!(executions.query_execution_ids().is_empty(), "no query ran");

    let mut drop = policy();
    drop["tables"]["shop.customers"]["unlisted_columns"] = json!("drop");
    let started = call(&lake, start("shop.customers", &drop)).await.unwrap();
    assert_eq!(started["dropped_unlisted"], json!(["ssn"]), "the drop is reported");
    publish(&lake, "shop.customers", "v=1", &drop).await;
    let leaked = select(
        &lake,
        "SELECT count(*) FROM \"snaplake_raw\".\"shop_customers\" WHERE ssn LIKE 'secret-%'",
    )
    .await;
    assert_ne!(leaked[0][0].as_deref(), Some("0"), "the raw table has the new column");
    let columns = curated_columns(&lake, "shop_customers").await;
    assert!(!columns.contains(&"ssn".to_string()), "{columns:?}");
}

#[tokio::test]
async fn a_salted_hash_of_null_is_null() {
    let lake = Lake::exported(BUCKET).await;
    lake.register_raw().await;
    let mut p = policy();
    p["tables"]["shop.customers"]["columns"]["phone"] = json!("hash_salted");
    publish(&lake, "shop.customers", "v=1", &p).await;
    let count = |sql: &str| {
        let lake = &lake;
        let sql = sql.to_string();
        async move { select(lake, &sql).await[0][0].clone().unwrap().parse::<i64>().unwrap() }
    };
    let raw_nulls =
        count("SELECT count(*) FROM \"snaplake_raw\".\"shop_customers\" WHERE phone IS NULL AND is_active = 1").await;
    let curated_nulls = count("SELECT count(*) FROM \"snaplake_curated\".\"shop_customers\" WHERE phone IS NULL").await;
    assert!(raw_nulls > 0, "the sample has customers without a phone");
    assert_eq!(
        curated_nulls, raw_nulls,
        "NULL stays NULL: it is not the hash of the salt alone"
    );
}

/// The state machine's Transform: the UNLOAD is started and waited for in
/// the invocation; one that outlasts `wait_seconds` is answered `running`,
/// a retry gets the same query, and a resume waits for it without starting
/// another. A table PrepareTarget found published is answered at once.
#[tokio::test]
async fn transform_waits_in_the_invocation_and_hands_a_slow_query_on() {
    let lake = Lake::exported(BUCKET).await;
    lake.register_raw().await;
    lake.standin.control(
        "/_snaplake/athena/faults",
        json!({"match": "shop_orders", "delay_seconds": 4}),
    );
    let location = format!("s3://{BUCKET}/curated/shop_orders/v=20261120T190000Z/");
    let request = json!({
        "action": "transform", "run_id": format!("{RUN}-0"), "logical_time": LOGICAL_TIME, "policy": policy(),
        "table": names("shop.orders"),
        "target": {"table": "shop_orders", "location": location, "live": null, "current": false,
                   "outcome": "prepared", "cleared": 0},
        "wait_seconds": 1, "min_wait_seconds": 1,
    });
    let first = call(&lake, request.clone()).await.unwrap();
    assert_eq!(first["status"], "running", "{first:#}");
    let id = first["query_execution_id"].as_str().unwrap().to_string();
    assert!(first["wait_seconds"].as_u64().unwrap() >= 1, "{first:#}");
    assert_eq!(first["new_location"], location);

    let retried = call(&lake, request.clone()).await.unwrap();
    assert_eq!(retried["query_execution_id"], id.as_str(), "a retry starts nothing new");

    let mut resume = request.clone();
    resume["resume"] = first.clone();
    resume["wait_seconds"] = json!(20);
    let done = call(&lake, resume).await.unwrap();
    assert_eq!(done["status"], "done", "{done:#}");
    assert_eq!(
        done["query_execution_id"],
        id.as_str(),
        "the resume waited for the same query"
    );

    let mut published = request.clone();
    published["target"]["current"] = json!(true);
    published["target"]["outcome"] = json!("superseded");
    let at_once = call(&lake, published).await.unwrap();
    assert_eq!(at_once["status"], "superseded", "{at_once:#}");
    assert_eq!(at_once["query_execution_id"], Value::Null);

    let mut too_long = request;
    too_long["wait_seconds"] = json!(41);
    let err = call(&lake, too_long).await.unwrap_err();
    assert_eq!(err.name(), "InvalidInput");
    assert!(err.to_string().contains("wait_seconds"), "{err}");
}

/// The state machine's Verify answers a table Stage will not publish at
/// once, without a query, and refuses an outcome Stage never answers.
#[tokio::test]
async fn verify_of_a_table_stage_will_not_publish_runs_no_query() {
    let lake = Lake::exported(BUCKET).await;
    lake.register_raw().await;
    for outcome in ["superseded", "held"] {
        let answer = call(
            &lake,
            json!({"action": "verify", "run_id": RUN, "policy": policy(), "table": names("shop.customers"),
                   "staged": outcome}),
        )
        .await
        .unwrap();
        assert_eq!(answer["status"], outcome, "{answer:#}");
        assert_eq!(answer["query_execution_id"], Value::Null);
    }
    let err = call(
        &lake,
        json!({"action": "verify", "run_id": RUN, "policy": policy(), "table": names("shop.customers"),
               "staged": "swapped"}),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("Verify audits what Stage answered"), "{err}");
}

#[tokio::test]
async fn an_unload_written_as_many_files_is_published_with_every_row_and_verified() {
    let lake = Lake::exported(BUCKET).await;
    lake.register_raw().await;
    // Athena writes UNLOAD's output as several files in parallel.
    lake.standin
        .control("/_snaplake/athena/settings", json!({"unload_rows_per_file": 1}));
    let location = publish(&lake, "shop.orders", "v=1", &policy()).await;
    let key = location.strip_prefix(&format!("s3://{BUCKET}/")).unwrap();
    let files = snaplake_tests::keys(&lake.env.clients.s3, BUCKET, key).await;
    let table = snaplake_tests::curated_table(&lake.env.clients.glue, "shop_orders").await;
    let rows: usize = table.parameters().unwrap()["snaplake.rows"].parse().unwrap();
    assert!(files.len() > 1 && files.len() == rows, "{rows} rows in {files:?}");
    let verified = verify(&lake, "shop.orders", &policy(), "many").await.unwrap();
    assert_eq!(verified["verified"], true, "{verified:#}");
    assert_eq!(verified["rows_out"], json!(rows), "{verified:#}");
}
