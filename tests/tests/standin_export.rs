//! The stand-in's RDS export round trip: a cluster, its automated snapshot, an
//! export whose status moves as on AWS, and the files RDS would write.

use std::time::{Duration, Instant};

use aws_sdk_rds::types::ExportTask;
use bytes::Bytes;
use parquet::basic::{LogicalType, Type as Physical};
use parquet::file::reader::{FileReader, SerializedFileReader};
use serde_json::{Value, json};
use snaplake::export_id::export_id;
use snaplake::logical_time::LogicalTime;
use snaplake_tests::StandIn;

const BUCKET: &str = "snaplake-test-lake";
const CLUSTER: &str = "shop-prod";

async fn cluster_with_bucket(standin: &StandIn) -> String {
    standin.clients.s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    standin.export_role(BUCKET).await;
    standin.sample_cluster(CLUSTER).await;
    let snapshots = standin
        .clients
        .rds
        .describe_db_cluster_snapshots()
        .db_cluster_identifier(CLUSTER)
        .snapshot_type("automated")
        .send()
        .await
        .unwrap();
    let snapshots = snapshots.db_cluster_snapshots();
    assert_eq!(
        snapshots.len(),
        1,
        "a new cluster has one automated snapshot: {snapshots:?}"
    );
    assert_eq!(snapshots[0].status(), Some("available"));
    snapshots[0].db_cluster_snapshot_arn().unwrap().to_string()
}

fn run_export_id() -> String {
    let t = LogicalTime::parse("2026-11-20T19:00:00Z").unwrap();
    export_id("snaplake", CLUSTER, t.day(&jiff::tz::TimeZone::UTC)).unwrap()
}

async fn start_export(standin: &StandIn, id: &str, snapshot_arn: &str, only: &[&str]) {
    // The export writes as the role, with this key (a key that does not exist is refused).
    let key = standin.clients.kms.create_key().send().await.unwrap();
    let key = key.key_metadata().unwrap().arn().unwrap();
    standin
        .clients
        .rds
        .start_export_task()
        .export_task_identifier(id)
        .source_arn(snapshot_arn)
        .s3_bucket_name(BUCKET)
        .s3_prefix(format!("exports/{CLUSTER}/2026-11-20"))
        .iam_role_arn("arn:aws:iam::123456789012:role/snaplake-export")
        .kms_key_id(key)
        .set_export_only(if only.is_empty() {
            None
        } else {
            Some(only.iter().map(|s| s.to_string()).collect())
        })
        .send()
        .await
        .unwrap();
}

/// Polls until the export ends; returns every status seen, in order, and the final task.
async fn watch(standin: &StandIn, id: &str) -> (Vec<String>, ExportTask) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen: Vec<String> = Vec::new();
    loop {
        let out = standin
            .clients
            .rds
            .describe_export_tasks()
            .export_task_identifier(id)
            .send()
            .await
            .unwrap();
        let task = out.export_tasks()[0].clone();
        let status = task.status().unwrap_or_default().to_string();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if ["COMPLETE", "FAILED", "CANCELED"].contains(&status.as_str()) {
            return (seen, task);
        }
        assert!(Instant::now() < deadline, "export {id} still {status} after 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn get(standin: &StandIn, key: &str) -> Bytes {
    let out = standin
        .clients
        .s3
        .get_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{key}: {e:?}"));
    out.body.collect().await.unwrap().into_bytes()
}

async fn keys(standin: &StandIn, prefix: &str) -> Vec<String> {
    snaplake_tests::keys(&standin.clients.s3, BUCKET, prefix).await
}

#[tokio::test]
async fn export_progresses_to_complete_and_writes_what_rds_writes() {
    let standin = StandIn::acquire().await;
    standin.control("/_snaplake/exports/settings", json!({"duration_seconds": 1.5}));
    let snapshot_arn = cluster_with_bucket(&standin).await;
    let id = run_export_id();
    start_export(&standin, &id, &snapshot_arn, &[]).await;

    let (seen, task) = watch(&standin, &id).await;
    assert_eq!(seen, ["STARTING", "IN_PROGRESS", "COMPLETE"]);
    assert_eq!(task.percent_progress(), Some(100));
    assert_eq!(task.source_arn(), Some(snapshot_arn.as_str()));
    assert!(task.task_start_time().is_some() && task.task_end_time().is_some() && task.snapshot_time().is_some());

    let base = format!("exports/{CLUSTER}/2026-11-20/{id}");
    let info: Value = serde_json::from_slice(&get(&standin, &format!("{base}/export_info_{id}.json")).await).unwrap();
    assert_eq!(info["exportTaskIdentifier"], id.as_str());
    assert_eq!(info["status"], "COMPLETE");
    assert_eq!(info["sourceArn"], snapshot_arn.as_str());

    let tables: Value =
        serde_json::from_slice(&get(&standin, &format!("{base}/export_tables_info_{id}_from_1_to_3.json")).await)
            .unwrap();
    let mut targets: Vec<&str> = tables["perTableStatus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    targets.sort();
    assert_eq!(targets, ["shop.articles", "shop.customers", "shop.orders"]);
    assert!(
        tables["perTableStatus"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["status"] == "COMPLETE")
    );

    let all = keys(&standin, &base).await;
    let orders_folders: Vec<&String> = all
        .iter()
        .filter(|k| k.contains("/shop.orders/") && k.ends_with("_SUCCESS"))
        .collect();
    assert_eq!(orders_folders.len(), 2, "orders spans two numbered folders: {all:#?}");

    let part = all
        .iter()
        .find(|k| k.starts_with(&format!("{base}/shop/shop.customers/1/part-")) && k.ends_with(".gz.parquet"))
        .unwrap_or_else(|| panic!("no customers part in {all:#?}"));
    let reader = SerializedFileReader::new(get(&standin, part).await).unwrap();
    let meta = reader.metadata();
    assert!(meta.file_metadata().num_rows() > 100, "a few hundred customers");
    let columns: Vec<(String, Physical, Option<LogicalType>)> = meta
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), c.physical_type(), c.logical_type_ref().cloned()))
        .collect();
    let names: Vec<&str> = columns.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "id",
            "email",
            "phone",
            "full_name",
            "country",
            "is_active",
            "birth_date",
            "credit_limit",
            "created_at"
        ]
    );
    let by_name = |n: &str| columns.iter().find(|c| c.0 == n).unwrap();
    assert_eq!(by_name("id").1, Physical::INT64);
    assert_eq!(by_name("email").1, Physical::BYTE_ARRAY);
    assert_eq!(by_name("email").2, Some(LogicalType::String));
    assert_eq!(by_name("is_active").1, Physical::INT32);
    assert_eq!(by_name("birth_date").2, Some(LogicalType::Date));
    assert_eq!(by_name("credit_limit").1, Physical::INT64);
    assert_eq!(
        by_name("credit_limit").2,
        Some(LogicalType::Decimal(parquet::basic::DecimalType {
            scale: 2,
            precision: 12
        }))
    );
    assert_eq!(by_name("created_at").1, Physical::INT96);
}

#[tokio::test]
async fn injected_export_failure_ends_failed_with_its_cause() {
    let standin = StandIn::acquire().await;
    standin.control("/_snaplake/exports/settings", json!({"duration_seconds": 1}));
    let snapshot_arn = cluster_with_bucket(&standin).await;
    let id = run_export_id();
    standin.control(
        "/_snaplake/exports/faults",
        json!({"export_id": id, "fail": "The KMS key is disabled (injected)"}),
    );
    start_export(&standin, &id, &snapshot_arn, &[]).await;

    let (seen, task) = watch(&standin, &id).await;
    assert_eq!(seen.last().map(String::as_str), Some("FAILED"));
    assert_eq!(task.failure_cause(), Some("The KMS key is disabled (injected)"));
    assert!(
        keys(&standin, "exports/").await.is_empty(),
        "a failed export writes nothing"
    );
}

#[tokio::test]
async fn export_into_a_missing_bucket_fails_with_a_cause_naming_it() {
    let standin = StandIn::acquire().await;
    standin.control("/_snaplake/exports/settings", json!({"duration_seconds": 1}));
    let snapshot_arn = cluster_with_bucket(&standin).await;
    standin.clients.s3.delete_bucket().bucket(BUCKET).send().await.unwrap();
    let id = run_export_id();
    start_export(&standin, &id, &snapshot_arn, &[]).await;

    let (_, task) = watch(&standin, &id).await;
    assert_eq!(task.status(), Some("FAILED"));
    assert!(task.failure_cause().unwrap_or_default().contains(BUCKET), "{task:?}");
}

#[tokio::test]
async fn one_failed_table_is_reported_and_the_rest_exported() {
    let standin = StandIn::acquire().await;
    standin.control("/_snaplake/exports/settings", json!({"duration_seconds": 0.5}));
    let snapshot_arn = cluster_with_bucket(&standin).await;
    let id = run_export_id();
    standin.control(
        "/_snaplake/exports/faults",
        json!({"export_id": "*", "fail_tables": ["shop.orders"]}),
    );
    start_export(&standin, &id, &snapshot_arn, &["shop.orders", "shop.customers"]).await;

    let (_, task) = watch(&standin, &id).await;
    assert_eq!(task.status(), Some("COMPLETE"));
    let base = format!("exports/{CLUSTER}/2026-11-20/{id}");
    let tables: Value =
        serde_json::from_slice(&get(&standin, &format!("{base}/export_tables_info_{id}_from_1_to_2.json")).await)
            .unwrap();
    let status = |target: &str| {
        tables["perTableStatus"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["target"] == target)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status("shop.orders"), "FAILED");
    assert_eq!(status("shop.customers"), "COMPLETE");
    let all = keys(&standin, &base).await;
    assert!(!all.iter().any(|k| k.contains("shop.orders/")), "{all:#?}");
    assert!(
        !all.iter().any(|k| k.contains("shop.articles/")),
        "ExportOnly limits the tables: {all:#?}"
    );
}

#[tokio::test]
async fn cancel_moves_through_canceling_to_canceled() {
    let standin = StandIn::acquire().await;
    standin.control("/_snaplake/exports/settings", json!({"duration_seconds": 30}));
    let snapshot_arn = cluster_with_bucket(&standin).await;
    let id = run_export_id();
    start_export(&standin, &id, &snapshot_arn, &[]).await;
    let out = standin
        .clients
        .rds
        .cancel_export_task()
        .export_task_identifier(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), Some("CANCELING"));
    let (_, task) = watch(&standin, &id).await;
    assert_eq!(task.status(), Some("CANCELED"));
}

#[tokio::test]
async fn snapshots_at_chosen_times_and_source_arn_filter() {
    let standin = StandIn::acquire().await;
    let automated = cluster_with_bucket(&standin).await;
    let made = standin.control(
        "/_snaplake/snapshots",
        json!({"cluster": CLUSTER, "snapshot_id": "rds:shop-prod-2026-11-19-18-00", "create_time": "2026-11-19T18:00:00Z"}),
    );
    let older = made["arn"].as_str().unwrap().to_string();
    let out = standin
        .clients
        .rds
        .describe_db_cluster_snapshots()
        .db_cluster_identifier(CLUSTER)
        .send()
        .await
        .unwrap();
    let snapshot = out
        .db_cluster_snapshots()
        .iter()
        .find(|s| s.db_cluster_snapshot_arn() == Some(&older))
        .unwrap();
    assert_eq!(
        snapshot.snapshot_create_time().unwrap().to_string(),
        "2026-11-19T18:00:00Z"
    );
    assert_eq!(snapshot.snapshot_type(), Some("automated"));

    start_export(&standin, "snaplake-a-20261119", &older, &[]).await;
    start_export(&standin, "snaplake-b-20261122", &automated, &[]).await;
    let out = standin
        .clients
        .rds
        .describe_export_tasks()
        .source_arn(&older)
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = out
        .export_tasks()
        .iter()
        .filter_map(|t| t.export_task_identifier())
        .collect();
    assert_eq!(ids, ["snaplake-a-20261119"]);
}

#[tokio::test]
async fn reset_forgets_exports_and_faults() {
    let standin = StandIn::acquire().await;
    let snapshot_arn = cluster_with_bucket(&standin).await;
    standin.control(
        "/_snaplake/exports/faults",
        json!({"export_id": "*", "fail": "left over"}),
    );
    start_export(&standin, "snaplake-left-over", &snapshot_arn, &[]).await;
    drop(standin);

    let standin = StandIn::acquire().await;
    let out = standin.clients.rds.describe_export_tasks().send().await.unwrap();
    assert!(out.export_tasks().is_empty(), "{out:?}");
    standin.control("/_snaplake/exports/settings", json!({"duration_seconds": 0.3}));
    let snapshot_arn = cluster_with_bucket(&standin).await;
    start_export(&standin, "snaplake-fresh", &snapshot_arn, &[]).await;
    let (_, task) = watch(&standin, "snaplake-fresh").await;
    assert_eq!(
        task.status(),
        Some("COMPLETE"),
        "the fault from before the reset must be gone"
    );
}

#[tokio::test]
async fn control_api_rejects_bad_requests_with_a_reason() {
    let standin = StandIn::acquire().await;
    let err = snaplake_tests::control(
        &standin.endpoint,
        "POST",
        "/_snaplake/exports/settings",
        r#"{"duration_seconds": -1}"#,
    )
    .unwrap_err();
    assert!(err.contains("400") && err.contains("duration_seconds"), "{err}");
    let err = snaplake_tests::control(
        &standin.endpoint,
        "POST",
        "/_snaplake/snapshots",
        r#"{"cluster": "nope", "snapshot_id": "s", "create_time": "2026-11-19T18:00:00Z"}"#,
    )
    .unwrap_err();
    assert!(err.contains("400") && err.contains("nope"), "{err}");
    let err = snaplake_tests::control(
        &standin.endpoint,
        "POST",
        "/_snaplake/exports/settings",
        r#"{"layout": "diagonal"}"#,
    )
    .unwrap_err();
    assert!(err.contains("400") && err.contains("flat"), "{err}");
    let err = snaplake_tests::control(
        &standin.endpoint,
        "POST",
        "/_snaplake/glue/faults",
        r#"{"database": "snaplake_raw", "table": "t", "operations": ["DeleteTable"]}"#,
    )
    .unwrap_err();
    assert!(err.contains("400") && err.contains("DeleteTable"), "{err}");
    let err = snaplake_tests::control(&standin.endpoint, "GET", "/_snaplake/nothing", "").unwrap_err();
    assert!(err.contains("404"), "{err}");
}
