//! catalog-swap against the stand-in, with real Parquet files from a real
//! (stand-in) export: register raw, swap, repeat, roll back, retention,
//! blue/green, bad input, and readers that never see an empty table.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::{Value, json};
use snaplake::aws::glue;
use snaplake::handlers::catalog_swap;
use snaplake_tests::Lake;

const BUCKET: &str = "snaplake-catalog";
const CURATED: &str = "snaplake_curated";
const RAW: &str = "snaplake_raw";

async fn lake() -> Lake {
    Lake::exported(BUCKET).await
}

trait LakeExt {
    async fn version(&self, table: &str, from: &str, version: &str) -> String;
    async fn call(&self, input: Value) -> Value;
    async fn call_err(&self, input: Value) -> snaplake::Error;
    async fn swap(&self, table: &str, location: &str, extra: Value) -> Value;
    async fn live(&self, table: &str) -> Option<String>;
    async fn keys(&self, prefix: &str) -> Vec<String>;
}

impl LakeExt for Lake {
    /// Writes a curated version: a copy of a raw table's Parquet part (real
    /// Parquet, as an UNLOAD would write) under the table's curated prefix.
    async fn version(&self, table: &str, from: &str, version: &str) -> String {
        let source = self.item(from).sample_key.clone().unwrap();
        let location = format!("s3://{BUCKET}/curated/{table}/{version}/");
        self.env
            .clients
            .s3
            .copy_object()
            .bucket(BUCKET)
            .key(format!("curated/{table}/{version}/part-0000.snappy.parquet"))
            .copy_source(format!("{BUCKET}/{source}"))
            .send()
            .await
            .unwrap();
        location
    }

    async fn call(&self, input: Value) -> Value {
        serde_json::to_value(catalog_swap::handle(&self.env, input).await.unwrap()).unwrap()
    }

    async fn call_err(&self, input: Value) -> snaplake::Error {
        catalog_swap::handle(&self.env, input).await.unwrap_err()
    }

    async fn swap(&self, table: &str, location: &str, extra: Value) -> Value {
        self.call(swap_input(table, location, extra)).await
    }

    async fn keys(&self, prefix: &str) -> Vec<String> {
        snaplake_tests::keys(&self.env.clients.s3, BUCKET, prefix).await
    }

    async fn live(&self, table: &str) -> Option<String> {
        glue::get_table(&self.env.clients.glue, CURATED, table)
            .await
            .unwrap()
            .and_then(|t| t.location)
    }
}

fn swap_input(table: &str, location: &str, extra: Value) -> Value {
    let mut input = json!({
        "action": "swap", "logical_time": "2026-11-20T19:00:00Z",
        "Items": [{"table": table, "new_location": location, "source": "shop.customers"}]
    });
    for (k, v) in extra.as_object().unwrap() {
        input[k] = v.clone();
    }
    input
}

/// The raw table of `table` as the run of `logical_time` registers it
/// (RegisterRawTables runs before any prepare).
async fn register_raw_at(lake: &Lake, table: &str, logical_time: &str) {
    let result = lake
        .call(json!({"action": "register_raw", "logical_time": logical_time,
                     "export_id": lake.export_id, "Items": [lake.item(table)]}))
        .await;
    assert_eq!(result["failed_tables"], json!([]), "{result:#}");
}

fn only_success(result: &Value) -> &Value {
    assert_eq!(result["failed"], json!([]), "{result:#}");
    &result["succeeded"][0]
}

#[tokio::test]
async fn register_raw_refuses_an_item_that_points_outside_its_export() {
    let lake = lake().await;
    // An input edited to register the curated folder (or any other) as the
    // raw table: the transform would then read it as the day's export.
    let mut item = serde_json::to_value(lake.item("shop_customers")).unwrap();
    item["location"] = json!(format!("s3://{}/curated/shop_orders/", lake.env.config.bucket));
    let err = lake
        .call_err(json!({"action": "register_raw", "logical_time": "2026-11-20T19:00:00Z",
                         "export_id": lake.export_id, "Items": [item]}))
        .await;
    assert_eq!(err.name(), "InvalidInput", "{err}");
    assert!(err.to_string().contains("`Items[shop_customers].location`"), "{err}");
    let raw = glue::get_table(&lake.env.clients.glue, RAW, "shop_customers")
        .await
        .unwrap();
    assert!(raw.is_none(), "a refused item registered a table");
}

#[tokio::test]
async fn register_raw_reads_the_columns_from_the_real_footer() {
    let lake = lake().await;
    let input = json!({
        "action": "register_raw", "logical_time": "2026-11-20T19:00:00Z",
        "export_id": "snaplake-shop-prod-20261121", "Items": lake.items,
    });
    let result = lake.call(input.clone()).await;
    assert_eq!(result["failed_tables"], json!([]));
    assert_eq!(result["succeeded"].as_array().unwrap().len(), 3);
    assert!(
        result["succeeded"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["outcome"] == "created")
    );

    let table = glue::get_table(&lake.env.clients.glue, RAW, "shop_customers")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        table.location.as_deref(),
        Some(lake.item("shop_customers").location.as_str())
    );
    let columns: Vec<(String, String)> = table
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.glue_type.clone()))
        .collect();
    let expect = [
        ("id", "bigint"),
        ("email", "string"),
        ("phone", "string"),
        ("full_name", "string"),
        ("country", "string"),
        ("is_active", "int"),
        ("birth_date", "date"),
        ("credit_limit", "decimal(12,2)"),
        ("created_at", "timestamp"),
    ];
    assert_eq!(columns, expect.map(|(n, t)| (n.to_string(), t.to_string())));
    assert_eq!(table.parameters["snaplake.source"], "shop.customers");
    assert_eq!(table.parameters["snaplake.export_id"], "snaplake-shop-prod-20261121");
    assert_eq!(table.parameters["classification"], "parquet");
    let orders = glue::get_table(&lake.env.clients.glue, RAW, "shop_orders")
        .await
        .unwrap()
        .unwrap();
    let discount = orders.columns.iter().find(|c| c.name == "discount_rate").unwrap();
    assert_eq!(discount.glue_type, "decimal(5,4)", "an INT32 decimal");

    let again = lake.call(input).await;
    assert!(
        again["succeeded"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["outcome"] == "unchanged"),
        "{again:#}"
    );
}

#[tokio::test]
async fn swap_twice_repeat_is_a_no_op_and_rollback_goes_back() {
    let lake = lake().await;
    let day1 = lake
        .version("shop_customers", "shop_customers", "v=20261120T190000Z")
        .await;
    let day2 = lake
        .version("shop_customers", "shop_customers", "v=20261121T190000Z")
        .await;

    let first = lake.swap("shop_customers", &day1, json!({})).await;
    assert_eq!(only_success(&first)["outcome"], "created");
    let second = lake
        .swap("shop_customers", &day2, json!({"logical_time": "2026-11-21T19:00:00Z"}))
        .await;
    let s = only_success(&second);
    assert_eq!(
        (s["outcome"].as_str(), s["previous_location"].as_str()),
        (Some("swapped"), Some(day1.as_str()))
    );
    assert_eq!(lake.live("shop_customers").await.as_deref(), Some(day2.as_str()));
    let version_after = glue::get_table(&lake.env.clients.glue, CURATED, "shop_customers")
        .await
        .unwrap()
        .unwrap()
        .version_id;

    let repeat = lake
        .swap("shop_customers", &day2, json!({"logical_time": "2026-11-21T19:00:00Z"}))
        .await;
    assert_eq!(only_success(&repeat)["outcome"], "unchanged");
    let version_now = glue::get_table(&lake.env.clients.glue, CURATED, "shop_customers")
        .await
        .unwrap()
        .unwrap()
        .version_id;
    assert_eq!(
        version_after, version_now,
        "a repeated swap writes no new table version"
    );

    let back = lake
        .call(json!({"action": "rollback", "Items": [{"table": "shop_customers"}]}))
        .await;
    assert_eq!(only_success(&back)["outcome"], "rolled_back");
    assert_eq!(lake.live("shop_customers").await.as_deref(), Some(day1.as_str()));
    let to_day = lake
        .call(json!({"action": "rollback", "Items": [{"table": "shop_customers", "to_day": "2026-11-22"}]}))
        .await;
    only_success(&to_day);
    assert_eq!(
        lake.live("shop_customers").await.as_deref(),
        Some(day2.as_str()),
        "the version of logical day 2026-11-22 (Tokyo)"
    );
}

/// Write, audit, publish at catalog-swap's level: `stage` makes a version
/// queryable through the candidate table only (the curated table is not
/// created, its files stay untagged); `discard` deletes it and the
/// candidate, and refuses the live location; a rollback never returns to a
/// version not recorded as audited.
#[tokio::test]
async fn stage_touches_no_curated_table_discard_deletes_the_version_and_rollback_wants_an_audit() {
    let lake = lake().await;
    let day1 = lake.version("shop_customers", "shop_customers", "v=1").await;
    let mut stage = swap_input("shop_customers", &day1, json!({}));
    stage["action"] = json!("stage");
    assert_eq!(only_success(&lake.call(stage).await)["outcome"], "staged");
    assert_eq!(
        lake.live("shop_customers").await,
        None,
        "no curated table before the audit"
    );
    let candidate = glue::get_table(&lake.env.clients.glue, RAW, "shop_customers__candidate")
        .await
        .unwrap()
        .expect("the candidate table");
    assert_eq!(candidate.location.as_deref(), Some(day1.as_str()));
    let key = lake.keys("curated/shop_customers/v=1/").await.remove(0);
    assert_eq!(
        snaplake_tests::audit_tag(&lake.env.clients.s3, BUCKET, &key).await,
        None,
        "a staged file is not readable to analysts"
    );

    let discard = json!({"action": "discard", "Items": [{"table": "shop_customers", "location": day1}]});
    assert!(
        only_success(&lake.call(discard).await)["deleted_objects"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(lake.keys("curated/shop_customers/v=1/").await.is_empty());
    assert!(
        glue::get_table(&lake.env.clients.glue, RAW, "shop_customers__candidate")
            .await
            .unwrap()
            .is_none()
    );

    // A version published before snaplake audited (no snaplake.audit), then an audited one.
    let day2 = lake.version("shop_customers", "shop_customers", "v=2").await;
    let day3 = lake.version("shop_customers", "shop_customers", "v=3").await;
    lake.swap("shop_customers", &day2, json!({})).await;
    let mut unaudited = glue::get_table(&lake.env.clients.glue, CURATED, "shop_customers")
        .await
        .unwrap()
        .unwrap();
    unaudited.parameters.remove("snaplake.audit");
    let def = glue::TableDef {
        database: CURATED.into(),
        name: "shop_customers".into(),
        location: day2.clone(),
        columns: unaudited.columns.clone(),
        parameters: unaudited.parameters.clone(),
        description: "published before audits".into(),
    };
    glue::update_table(&lake.env.clients.glue, &def, None).await.unwrap();
    let swapped = lake
        .swap("shop_customers", &day3, json!({"logical_time": "2026-11-21T19:00:00Z"}))
        .await;
    assert_eq!(only_success(&swapped)["outcome"], "swapped");
    let live = glue::get_table(&lake.env.clients.glue, CURATED, "shop_customers")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.parameters["snaplake.audit"], "passed");
    let err = lake
        .call_err(json!({"action": "rollback", "Items": [{"table": "shop_customers"}]}))
        .await;
    assert!(err.to_string().contains("not recorded as audited"), "{err}");
    assert_eq!(
        lake.live("shop_customers").await.as_deref(),
        Some(day3.as_str()),
        "unchanged"
    );
    let err = lake
        .call_err(json!({"action": "discard", "Items": [{"table": "shop_customers", "location": day3}]}))
        .await;
    assert!(err.to_string().contains("never deletes what analysts read"), "{err}");
    assert!(!lake.keys("curated/shop_customers/v=3/").await.is_empty());
}

#[tokio::test]
async fn rollback_refuses_a_location_without_data() {
    let lake = lake().await;
    let day1 = lake.version("shop_customers", "shop_customers", "v=1").await;
    let day2 = lake.version("shop_customers", "shop_customers", "v=2").await;
    lake.swap("shop_customers", &day1, json!({})).await;
    lake.swap("shop_customers", &day2, json!({})).await;
    lake.env
        .clients
        .s3
        .delete_object()
        .bucket(BUCKET)
        .key("curated/shop_customers/v=1/part-0000.snappy.parquet")
        .send()
        .await
        .unwrap();
    let err = lake
        .call_err(json!({"action": "rollback", "Items": [{"table": "shop_customers"}]}))
        .await;
    assert!(err.to_string().contains("no longer holds data"), "{err}");
    assert_eq!(
        lake.live("shop_customers").await.as_deref(),
        Some(day2.as_str()),
        "unchanged"
    );
}

#[tokio::test]
async fn gc_keeps_exactly_n_and_dry_run_deletes_nothing() {
    let lake = lake().await;
    let mut locations = Vec::new();
    for day in 1..=6 {
        let location = lake
            .version("shop_customers", "shop_customers", &format!("v=2026112{day}T190000Z"))
            .await;
        lake.swap("shop_customers", &location, json!({})).await;
        locations.push(location);
    }
    let dry = lake
        .call(json!({"action": "gc", "keep": 3, "dry_run": true, "Items": [{"table": "shop_customers"}]}))
        .await;
    let d = only_success(&dry);
    assert_eq!(d["deleted"], json!(locations[..3]));
    assert_eq!(d["kept"], json!(locations[3..]));
    assert_eq!(lake.keys("curated/").await.len(), 6, "a dry run deletes nothing");

    let real = lake
        .call(json!({"action": "gc", "keep": 3, "Items": [{"table": "shop_customers"}]}))
        .await;
    assert_eq!(only_success(&real)["objects_deleted"], 3);
    let left = lake.keys("curated/").await;
    assert_eq!(left.len(), 3, "{left:?}");
    assert_eq!(
        lake.live("shop_customers").await.as_deref(),
        Some(locations[5].as_str())
    );
}

/// An Iceberg table's metadata lives in `metadata/` beside its versions
/// (`catalog::iceberg`): not a version, so retention never deletes it,
/// though its name sorts before every `v=<logical time>`.
#[tokio::test]
async fn gc_never_deletes_a_tables_iceberg_metadata() {
    let lake = lake().await;
    for day in 1..=4 {
        let location = lake
            .version("shop_customers", "shop_customers", &format!("v=2026112{day}T190000Z"))
            .await;
        lake.swap("shop_customers", &location, json!({})).await;
    }
    let metadata = "curated/shop_customers/metadata/00004-1.metadata.json";
    lake.env
        .clients
        .s3
        .put_object()
        .bucket(BUCKET)
        .key(metadata)
        .body(b"{}".to_vec().into())
        .send()
        .await
        .unwrap();
    let real = lake
        .call(json!({"action": "gc", "keep": 2, "Items": [{"table": "shop_customers"}]}))
        .await;
    assert_eq!(only_success(&real)["objects_deleted"], 2, "{real}");
    let left = lake.keys("curated/shop_customers/").await;
    assert!(left.iter().any(|k| k == metadata), "{left:?}");
}

/// The state machine's Swap runs retention once the table is published
/// (`retention` in the request): with keep 2 the new version and the one
/// before it stay, so a failed verification still has its rollback target.
#[tokio::test]
async fn a_swap_with_retention_keeps_the_live_and_the_previous_version() {
    let lake = lake().await;
    let mut locations = Vec::new();
    for day in 1..=3 {
        let location = lake
            .version("shop_customers", "shop_customers", &format!("v=2026112{day}T190000Z"))
            .await;
        let extra = if day == 3 {
            json!({"retention": {"keep": 2}})
        } else {
            json!({})
        };
        let answer = lake.swap("shop_customers", &location, extra).await;
        let swapped = only_success(&answer);
        if day < 3 {
            assert!(
                swapped.get("retention").is_none(),
                "no retention unless asked: {swapped}"
            );
        } else {
            assert_eq!(swapped["outcome"], "swapped", "{swapped}");
            assert_eq!(swapped["retention"], json!({"deleted": 1}), "{swapped}");
        }
        locations.push(location);
    }
    let left = lake.keys("curated/shop_customers/").await;
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(
        left[0].contains("v=20261122T190000Z") && left[1].contains("v=20261123T190000Z"),
        "{left:?}"
    );
    lake.call(json!({"action": "rollback", "Items": [{"table": "shop_customers"}]}))
        .await;
    assert_eq!(
        lake.live("shop_customers").await.as_deref(),
        Some(locations[1].as_str()),
        "the previous version is there to roll back to"
    );
}

#[tokio::test]
async fn blue_green_alternates_and_never_writes_the_live_colour() {
    let lake = lake().await;
    let mut seen = Vec::new();
    for day in ["2026-11-20T19:00:00Z", "2026-11-21T19:00:00Z", "2026-11-22T19:00:00Z"] {
        register_raw_at(&lake, "shop_articles", day).await;
        let at = lake
            .call(json!({"action": "prepare", "logical_time": day, "layout": "blue_green",
                         "Items": [{"table": "shop_articles"}]}))
            .await;
        let target = only_success(&at);
        assert_eq!(target["current"], false, "{target}");
        let location = target["location"].as_str().unwrap().to_string();
        assert_ne!(
            Some(location.clone()),
            lake.live("shop_articles").await,
            "never the live colour"
        );
        // prepare cleared what the colour held (the version before last), so the write starts clean.
        let folder = location.trim_end_matches('/').rsplit('/').next().unwrap().to_string();
        lake.version("shop_articles", "shop_articles", &folder).await;
        only_success(
            &lake
                .swap("shop_articles", &location, json!({"logical_time": day}))
                .await,
        );
        seen.push(folder);
    }
    assert_eq!(seen, ["blue", "green", "blue"]);
    let again = lake
        .call(
            json!({"action": "prepare", "logical_time": "2026-11-22T19:00:00Z", "layout": "blue_green",
                     "Items": [{"table": "shop_articles"}]}),
        )
        .await;
    assert_eq!(
        only_success(&again)["current"],
        true,
        "the same day again finds its version live"
    );
}

#[tokio::test]
async fn incompatible_schema_fails_with_the_diff_unless_accepted() {
    let lake = lake().await;
    let customers = lake.version("shop_customers", "shop_customers", "v=1").await;
    let orders_shaped = lake.version("shop_customers", "shop_orders", "v=2").await;
    lake.swap("shop_customers", &customers, json!({})).await;
    let refused = lake
        .call_err(swap_input("shop_customers", &orders_shaped, json!({})))
        .await;
    assert_eq!(refused.name(), "SchemaIncompatible");
    let cause = refused.to_string();
    assert!(
        cause.contains("removed: email string") && cause.contains("added: customer_id bigint"),
        "{cause}"
    );
    assert_eq!(lake.live("shop_customers").await.as_deref(), Some(customers.as_str()));

    let accepted = lake
        .swap("shop_customers", &orders_shaped, json!({"schema_policy": "accept"}))
        .await;
    assert!(
        only_success(&accepted)["schema_changes"]
            .as_str()
            .unwrap()
            .contains("removed: email string")
    );
}

#[tokio::test]
async fn bad_input_is_refused_per_table_and_changes_nothing() {
    let lake = lake().await;
    let good = lake.version("shop_customers", "shop_customers", "v=1").await;
    lake.swap("shop_customers", &good, json!({})).await;
    let cases = [
        ("s3://someone-elses-bucket/curated/shop_customers/v=2/", "outside"),
        ("s3://snaplake-catalog/curated/shop_orders/v=2/", "outside"),
        ("curated/shop_customers/v=2", "must start with s3://"),
        (
            "s3://snaplake-catalog/curated/shop_customers/v=empty/",
            "holds no data object",
        ),
    ];
    for (location, why) in cases {
        let err = lake.call_err(swap_input("shop_customers", location, json!({}))).await;
        assert_eq!(err.name(), "InvalidInput", "{location}");
        assert!(err.to_string().contains(why), "{location}: {err}");
    }
    let bad_name = lake.call_err(swap_input("Shop-Customers", &good, json!({}))).await;
    assert!(bad_name.to_string().contains("Shop-Customers"), "{bad_name}");
    let missing = lake
        .call_err(json!({"action": "rollback", "Items": [{"table": "no_such_table"}]}))
        .await;
    assert!(missing.to_string().contains("does not exist"), "{missing}");
    let err = catalog_swap::handle(&lake.env, json!({"action": "publish-everything", "Items": []}))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "InvalidInput");
    assert!(err.to_string().contains("publish-everything"), "{err}");
    assert_eq!(
        lake.live("shop_customers").await.as_deref(),
        Some(good.as_str()),
        "nothing changed"
    );
}

#[tokio::test]
async fn one_failing_table_does_not_stop_the_batch() {
    let lake = lake().await;
    let a = lake.version("shop_customers", "shop_customers", "v=1").await;
    let b = lake.version("shop_orders", "shop_orders", "v=1").await;
    let result = lake
        .call(
            json!({"action": "swap", "logical_time": "2026-11-20T19:00:00Z", "concurrency": 2, "Items": [
                {"table": "shop_customers", "new_location": a},
                {"table": "shop_articles", "new_location": "s3://snaplake-catalog/curated/shop_articles/v=missing/"},
                {"table": "shop_orders", "new_location": b},
            ]}),
        )
        .await;
    assert_eq!(result["failed_tables"], json!(["shop_articles"]));
    assert_eq!(result["succeeded"].as_array().unwrap().len(), 2);
    assert_eq!(lake.live("shop_orders").await.as_deref(), Some(b.as_str()));
}

#[tokio::test]
async fn a_stale_version_id_is_refused_by_the_optimistic_lock() {
    let lake = lake().await;
    let v1 = lake.version("shop_customers", "shop_customers", "v=1").await;
    let v2 = lake.version("shop_customers", "shop_customers", "v=2").await;
    lake.swap("shop_customers", &v1, json!({})).await;
    let stale = glue::get_table(&lake.env.clients.glue, CURATED, "shop_customers")
        .await
        .unwrap()
        .unwrap();
    lake.swap("shop_customers", &v2, json!({})).await;
    let def = glue::TableDef {
        database: CURATED.into(),
        name: "shop_customers".into(),
        location: v1.clone(),
        columns: stale.columns.clone(),
        parameters: Default::default(),
        description: "a writer holding an old version".into(),
    };
    let update = glue::update_table(&lake.env.clients.glue, &def, stale.version_id.as_deref())
        .await
        .unwrap();
    assert_eq!(update, glue::Update::Conflict);
    assert_eq!(lake.live("shop_customers").await.as_deref(), Some(v2.as_str()));
}

#[tokio::test]
async fn readers_never_see_an_empty_or_deleted_location_while_swaps_and_gc_run() {
    let lake = Arc::new(lake().await);
    let first = lake.version("shop_orders", "shop_orders", "v=20261101T190000Z").await;
    lake.swap("shop_orders", &first, json!({})).await;

    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let reader = {
        let (lake, stop, reads) = (lake.clone(), stop.clone(), reads.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let location = lake.live("shop_orders").await.expect("the table always exists");
                let key = location.trim_start_matches(&format!("s3://{BUCKET}/")).to_string();
                let listed = lake
                    .env
                    .clients
                    .s3
                    .list_objects_v2()
                    .bucket(BUCKET)
                    .prefix(&key)
                    .send()
                    .await
                    .unwrap();
                assert!(
                    listed.key_count().unwrap_or(0) > 0,
                    "a reader saw an empty table at {location}"
                );
                reads.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    for day in 2..=9 {
        let next = lake
            .version("shop_orders", "shop_orders", &format!("v=202611{day:02}T190000Z"))
            .await;
        only_success(&lake.swap("shop_orders", &next, json!({})).await);
        only_success(
            &lake
                .call(json!({"action": "gc", "keep": 2, "Items": [{"table": "shop_orders"}]}))
                .await,
        );
    }
    stop.store(true, Ordering::Relaxed);
    reader.await.expect("the reader never saw an empty or deleted location");
    assert!(
        reads.load(Ordering::Relaxed) >= 8,
        "the reader ran alongside: {} reads",
        reads.load(Ordering::Relaxed)
    );
    let _ = &lake.standin;
}

#[tokio::test]
async fn prepare_clears_leftovers_of_an_interrupted_attempt_but_never_the_live_version() {
    let lake = lake().await;
    let live = lake.version("shop_orders", "shop_orders", "v=20261119T190000Z").await;
    lake.swap("shop_orders", &live, json!({"logical_time": "2026-11-19T19:00:00Z"}))
        .await;
    // An UNLOAD of the 20th that was never swapped in.
    lake.version("shop_orders", "shop_orders", "v=20261120T190000Z").await;
    register_raw_at(&lake, "shop_orders", "2026-11-20T19:00:00Z").await;
    let at = lake
        .call(json!({"action": "prepare", "logical_time": "2026-11-20T19:00:00Z", "Items": [{"table": "shop_orders"}]}))
        .await;
    let target = only_success(&at);
    assert_eq!(target["cleared"], 1, "{target}");
    assert_eq!(
        target["location"],
        format!("s3://{BUCKET}/curated/shop_orders/v=20261120T190000Z/")
    );
    let left = lake
        .env
        .clients
        .s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix("curated/shop_orders/")
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = left.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(
        keys,
        ["curated/shop_orders/v=20261119T190000Z/part-0000.snappy.parquet"],
        "the live version stays"
    );
}

#[tokio::test]
async fn a_day_that_finishes_after_a_newer_one_never_moves_a_table_back() {
    // Backfilled days run at once and may finish in any order.
    let lake = lake().await;
    lake.register_raw().await; // the newer day's export, logical time 2026-11-20T19:00:00Z
    let older_time = json!({"logical_time": "2026-11-19T19:00:00Z"});
    let older = lake.version("shop_orders", "shop_orders", "v=20261119T190000Z").await;
    let newer = lake.version("shop_orders", "shop_orders", "v=20261120T190000Z").await;

    // The older day's transform may have read the newer export: not published.
    let late = lake.swap("shop_orders", &older, older_time.clone()).await;
    assert_eq!(only_success(&late)["outcome"], "superseded");
    assert_eq!(lake.live("shop_orders").await, None);

    lake.swap("shop_orders", &newer, json!({})).await;
    let late = lake.swap("shop_orders", &older, older_time.clone()).await;
    assert_eq!(only_success(&late)["outcome"], "superseded");
    assert_eq!(lake.live("shop_orders").await.as_deref(), Some(newer.as_str()));

    let prepared = lake
        .call(json!({"action": "prepare", "logical_time": "2026-11-19T19:00:00Z", "Items": [{"table": "shop_orders"}]}))
        .await;
    let prepared = only_success(&prepared);
    assert_eq!(
        (prepared["current"].as_bool(), prepared["outcome"].as_str()),
        (Some(true), Some("superseded"))
    );

    let raw_before = glue::get_table(&lake.env.clients.glue, RAW, "shop_orders")
        .await
        .unwrap();
    // The older day's item, at its own export's folder.
    let mut older_item = serde_json::to_value(lake.item("shop_orders")).unwrap();
    let older_location = older_item["location"]
        .as_str()
        .unwrap()
        .replace(&lake.export_id, "snaplake-shop-prod-20261120");
    older_item["location"] = json!(older_location);
    older_item["sample_key"] = Value::Null;
    let registered = lake
        .call(json!({"action": "register_raw", "logical_time": "2026-11-19T19:00:00Z",
            "export_id": "snaplake-shop-prod-20261120", "Items": [older_item]}))
        .await;
    assert_eq!(only_success(&registered)["outcome"], "superseded");
    let raw_after = glue::get_table(&lake.env.clients.glue, RAW, "shop_orders")
        .await
        .unwrap();
    assert_eq!(raw_before, raw_after, "the raw table keeps the newer export");
}

#[tokio::test]
async fn a_schema_is_read_in_one_request_unless_the_footer_is_large() {
    let lake = lake().await;
    for (columns, gets) in [(3usize, 1u64), (2_000, 2)] {
        let key = format!("wide/{columns}.parquet");
        let body = snaplake_tests::parquet_file(10, columns);
        lake.env
            .clients
            .s3
            .put_object()
            .bucket(BUCKET)
            .key(&key)
            .body(body.into())
            .send()
            .await
            .unwrap();
        lake.standin.reset_calls();
        let (schema, _) = snaplake::catalog::ops::read_schema(&lake.env, BUCKET, &key)
            .await
            .unwrap();
        assert_eq!(schema.columns.len(), columns);
        assert_eq!(schema.columns[columns - 1].name, format!("c{}", columns - 1));
        let calls = lake.standin.calls();
        assert_eq!(calls["s3:GET"], json!(gets), "{columns} columns: {calls}");
    }
}

#[tokio::test]
async fn gc_prunes_glue_table_versions_beyond_a_hundred_in_batches() {
    let lake = lake().await;
    let a = lake.version("shop_customers", "shop_customers", "v=a").await;
    let b = lake.version("shop_customers", "shop_customers", "v=b").await;
    // 230 table versions: created once, then swapped back and forth.
    for i in 0..230 {
        let to = if i % 2 == 0 { &a } else { &b };
        lake.swap("shop_customers", to, json!({})).await;
    }
    let versions = glue::table_versions(&lake.env.clients.glue, CURATED, "shop_customers")
        .await
        .unwrap();
    assert_eq!(versions.len(), 230, "the table's history before gc");
    let live_before = lake.live("shop_customers").await;

    let gc = lake
        .call(json!({"action": "gc", "Items": [{"table": "shop_customers"}]}))
        .await;
    // Glue deletes at most 100 versions per call: 130 take two.
    assert_eq!(only_success(&gc)["glue_versions_deleted"], 130, "{gc:#}");
    let left = glue::table_versions(&lake.env.clients.glue, CURATED, "shop_customers")
        .await
        .unwrap();
    assert_eq!(left.len(), 100);
    let ids: Vec<i64> = left
        .iter()
        .filter_map(|v| v.version_id.as_deref()?.parse().ok())
        .collect();
    assert_eq!(ids.iter().min(), Some(&131), "the newest 100 are kept: {ids:?}");
    assert_eq!(lake.live("shop_customers").await, live_before);
}

#[tokio::test]
async fn gc_prunes_the_raw_tables_glue_versions_too() {
    let lake = lake().await;
    // A raw table registered day after day: 130 versions, each at its
    // day's export folder. The first reads the columns from the real
    // footer; the later days' folders hold no file here, so they keep them.
    register_raw_at(&lake, "shop_customers", "2025-12-31T19:00:00Z").await;
    let mut item = serde_json::to_value(lake.item("shop_customers")).unwrap();
    let location = item["location"].as_str().unwrap().to_string();
    item["sample_key"] = Value::Null;
    let day0 = jiff::civil::date(2026, 1, 1);
    for day in 0..129 {
        let t = day0 + jiff::Span::new().days(day);
        let export_id = format!("snaplake-shop-prod-{}", t.strftime("%Y%m%d"));
        item["location"] = json!(location.replace(&lake.export_id, &export_id));
        let result = lake
            .call(
                json!({"action": "register_raw", "logical_time": format!("{t}T19:00:00Z"),
                         "export_id": export_id, "Items": [item]}),
            )
            .await;
        assert_eq!(result["failed_tables"], json!([]), "{result:#}");
    }
    let raw_versions = || glue::table_versions(&lake.env.clients.glue, RAW, "shop_customers");
    assert_eq!(raw_versions().await.unwrap().len(), 130);
    let v = lake.version("shop_customers", "shop_customers", "v=a").await;
    lake.swap("shop_customers", &v, json!({"logical_time": "2026-06-01T19:00:00Z"}))
        .await;
    let raw_before = glue::get_table(&lake.env.clients.glue, RAW, "shop_customers")
        .await
        .unwrap();

    let gc = lake
        .call(json!({"action": "gc", "Items": [{"table": "shop_customers"}]}))
        .await;
    assert_eq!(only_success(&gc)["raw_glue_versions_deleted"], 30, "{gc:#}");
    let left = raw_versions().await.unwrap();
    assert_eq!(left.len(), 100);
    let raw_after = glue::get_table(&lake.env.clients.glue, RAW, "shop_customers")
        .await
        .unwrap();
    assert_eq!(raw_after, raw_before, "the raw table itself is untouched");
}

#[tokio::test]
async fn a_batch_reads_its_tables_a_page_at_a_time_within_its_budget_and_one_table_reads_them_one_by_one() {
    let lake = lake().await;
    let names: Vec<String> = (0..150).map(|i| format!("t{i:03}")).collect();
    for name in &names {
        for version in ["v=1", "v=2"] {
            lake.version(name, "shop_customers", version).await;
        }
    }
    let batch = |names: &[String], version: &str| {
        let items: Vec<Value> = names
            .iter()
            .map(|n| json!({"table": n, "new_location": format!("s3://{BUCKET}/curated/{n}/{version}/")}))
            .collect();
        json!({"action": "swap", "logical_time": "2026-11-20T19:00:00Z", "concurrency": 16, "Items": items})
    };
    // Swaps the batch, checks every table succeeded, and answers the
    // result with the stand-in's request counts of the swap.
    let counted = async |names: &[String], version: &str| {
        lake.standin.reset_calls();
        let result = lake.call(batch(names, version)).await;
        assert_eq!(result["failed"], json!([]), "{:#}", result["failed"]);
        (result, lake.standin.calls())
    };
    counted(&names, "v=1").await;

    // 150 tables: a budget of 37 pages a database; the curated one is 2
    // pages of at most 100 (the stand-in pages as Glue does), the raw one 1.
    let (moved, calls) = counted(&names, "v=2").await;
    assert!(
        moved["succeeded"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["outcome"] == "swapped"),
        "{moved:#}"
    );
    assert_eq!(
        (&calls["GetTables"], &calls["GetTable"], &calls["UpdateTable"]),
        (&json!(3), &Value::Null, &json!(150)),
        "{calls}"
    );
    assert_eq!(
        lake.live("t149").await,
        Some(format!("s3://{BUCKET}/curated/t149/v=2/"))
    );

    // 4 tables: a budget of 1 page. The curated database needs 2, so its
    // tables are read one by one; the raw one fits.
    let (_, calls) = counted(&names[..4], "v=1").await;
    assert_eq!(
        (&calls["GetTables"], &calls["GetTable"]),
        (&json!(2), &json!(4)),
        "{calls}"
    );

    // A batch refused for its concurrency reads nothing ahead.
    lake.standin.reset_calls();
    let mut bad = batch(&names[..8], "v=2");
    bad["concurrency"] = json!(0);
    let err = lake.call_err(bad).await.to_string();
    assert!(err.contains("concurrency"), "{err}");
    assert_eq!(lake.standin.calls().get("GetTables"), None, "{err}");

    // One table, as the state machine's Swap sends it: nothing read ahead.
    let (_, calls) = counted(&names[4..5], "v=1").await;
    assert_eq!(
        (&calls["GetTables"], &calls["GetTable"]),
        (&Value::Null, &json!(2)),
        "{calls}"
    );
    assert_eq!(
        lake.live("t004").await,
        Some(format!("s3://{BUCKET}/curated/t004/v=1/"))
    );
}

#[tokio::test]
async fn a_changed_policy_publishes_the_columns_and_rows_it_removes_and_records_its_digest() {
    let mut lake = lake().await;
    let (before, after) = ("a".repeat(64), "b".repeat(64));
    lake.env.config.policy_digest = Some(before.clone());
    let v1 = lake.version("shop_customers", "shop_customers", "v=1").await;
    assert_eq!(
        only_success(&lake.swap("shop_customers", &v1, json!({})).await)["outcome"],
        "created"
    );

    // The next version as a policy that drops `email` and filters out every
    // row would write it: the other columns, no rows.
    let live = glue::get_table(&lake.env.clients.glue, CURATED, "shop_customers")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.parameters["snaplake.policy_digest"], before);
    let fewer: Vec<_> = live.columns.iter().filter(|c| c.name != "email").cloned().collect();
    assert!(fewer.len() < live.columns.len(), "{:?}", live.columns);
    let file = snaplake::catalog::empty_file::write("shop_customers", &fewer).unwrap();
    lake.env
        .clients
        .s3
        .put_object()
        .bucket(BUCKET)
        .key("curated/shop_customers/v=2/part-0000.parquet")
        .body(file.into())
        .send()
        .await
        .unwrap();
    let v2 = format!("s3://{BUCKET}/curated/shop_customers/v=2/");

    // Under the same policy the drop is held, and forced, the removed column
    // is refused: the data went missing, the policy did not say so.
    let held = lake.swap("shop_customers", &v2, json!({})).await;
    assert_eq!(only_success(&held)["outcome"], "held", "{held:#}");
    let forced = lake
        .call_err(swap_input(
            "shop_customers",
            &v2,
            json!({"publish": {"force_tables": ["shop_customers"]}}),
        ))
        .await;
    assert_eq!(forced.name(), "SchemaIncompatible", "{forced}");
    assert!(forced.to_string().contains("removed: email"), "{forced}");
    assert_eq!(lake.live("shop_customers").await.as_deref(), Some(v1.as_str()));

    // Under a newly pinned policy both are the policy's doing: published.
    lake.env.config.policy_digest = Some(after.clone());
    let swapped = lake.swap("shop_customers", &v2, json!({})).await;
    let outcome = only_success(&swapped);
    assert_eq!(outcome["outcome"], "swapped", "{swapped:#}");
    assert!(
        outcome["schema_changes"].as_str().unwrap().contains("removed: email"),
        "{outcome:#}"
    );
    assert_eq!(lake.live("shop_customers").await.as_deref(), Some(v2.as_str()));
    let live = glue::get_table(&lake.env.clients.glue, CURATED, "shop_customers")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.parameters["snaplake.policy_digest"], after);

    // Going back to the version with `email` would publish what the pinned
    // policy removes: refused, unless asked for knowingly.
    let back = json!({"action": "rollback", "Items": [{"table": "shop_customers"}]});
    let err = lake.call_err(back.clone()).await;
    assert!(
        err.to_string().contains("--allow-other-policy") && err.to_string().contains(&before),
        "{err}"
    );
    assert_eq!(lake.live("shop_customers").await.as_deref(), Some(v2.as_str()));
    let mut knowingly = back;
    knowingly["Items"][0]["allow_other_policy"] = json!(true);
    assert_eq!(only_success(&lake.call(knowingly).await)["outcome"], "rolled_back");
    assert_eq!(lake.live("shop_customers").await.as_deref(), Some(v1.as_str()));
}

#[tokio::test]
async fn a_version_of_three_thousand_files_is_swapped_within_the_functions_timeout() {
    use futures_util::{StreamExt, TryStreamExt, stream};
    let lake = lake().await;
    // Athena writes UNLOAD's output as many files in parallel: 3,000 here
    // (read one after another, they took 79 s with the latency model below).
    let source = lake.item("shop_orders").sample_key.clone().unwrap();
    let s3 = &lake.env.clients.s3;
    stream::iter(0..3000)
        .map(|n| {
            s3.copy_object()
                .bucket(BUCKET)
                .key(format!("curated/shop_orders/v=many/part-{n:05}.snappy.parquet"))
                .copy_source(format!("{BUCKET}/{source}"))
                .send()
        })
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let (file, _) = snaplake::catalog::ops::read_schema(&lake.env, BUCKET, &source)
        .await
        .unwrap();
    let location = format!("s3://{BUCKET}/curated/shop_orders/v=many/");

    // The latency model (Glue 50 ms, S3 20 ms a call): the swap reads all
    // 3,000 footers (for the quality gate's row count) within its 60 s.
    lake.standin
        .control("/_snaplake/latency", json!({"glue": 50, "s3": 20}));
    let started = std::time::Instant::now();
    let result = lake.swap("shop_orders", &location, json!({})).await;
    let took = started.elapsed();
    lake.standin.control("/_snaplake/latency", json!({}));
    assert_eq!(only_success(&result)["outcome"], "created", "{result:#}");
    let live = glue::get_table(&lake.env.clients.glue, CURATED, "shop_orders")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        live.parameters["snaplake.rows"],
        (3000 * file.num_rows).to_string(),
        "every footer counted"
    );
    assert!(
        took < std::time::Duration::from_secs(60),
        "the swap took {took:?}: past the function's timeout"
    );
    eprintln!("swapped 3,000 files in {took:?}");
}

/// Gc runs inside Swap's invocation, so it deletes a bounded number of
/// objects a call, oldest version first, and names what it left; the next
/// call goes on. (A table whose `keep` went from 1,000 to 4 may have
/// millions of objects beyond retention.)
#[tokio::test]
async fn gc_deletes_at_most_its_budget_of_objects_a_call_and_the_next_call_goes_on() {
    let lake = lake().await;
    let mut locations = Vec::new();
    for day in 1..=4 {
        let location = lake
            .version("shop_customers", "shop_customers", &format!("v=2026112{day}T190000Z"))
            .await;
        lake.swap("shop_customers", &location, json!({})).await;
        locations.push(location);
    }
    // The two oldest versions, beyond keep 2, hold 600 objects each.
    for location in &locations[..2] {
        let prefix = location.strip_prefix(&format!("s3://{BUCKET}/")).unwrap();
        for n in 1..600 {
            let s3 = &lake.env.clients.s3;
            s3.put_object()
                .bucket(BUCKET)
                .key(format!("{prefix}extra-{n:04}"))
                .body(b"x".to_vec().into())
                .send()
                .await
                .unwrap();
        }
    }
    let shared = snaplake::contract::catalog_swap::GcShared {
        keep: Some(2),
        dry_run: false,
    };
    let gc = async || {
        snaplake::catalog::ops::gc::gc_within(&lake.env, "shop_customers", &shared, 1000)
            .await
            .unwrap()
    };
    let first = gc().await;
    assert_eq!(
        (first.objects_deleted, &first.deleted, &first.left),
        (1000, &locations[..1].to_vec(), &locations[1..2].to_vec()),
        "{first:?}"
    );
    let second = gc().await;
    assert_eq!(
        (second.objects_deleted, &second.deleted, &second.left),
        (200, &locations[1..2].to_vec(), &vec![]),
        "{second:?}"
    );
    let left = lake.keys("curated/shop_customers/").await;
    assert_eq!(left.len(), 2, "the two kept versions, one file each: {left:?}");
}
