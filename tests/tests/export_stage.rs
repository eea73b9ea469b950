//! The export stage against the stand-in: snapshot-export, export-callback
//! and export-poller, called as the state machine calls them.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde_json::{Value, json};
use snaplake::contract::export_callback::{Outcome, WaitRequest};
use snaplake::contract::export_poller::{PollRequest, PollResult};
use snaplake::contract::snapshot_export::{ExportRequest, ExportRun};
use snaplake::env::Env;
use snaplake::export::status::ExportStatus;
use snaplake::export_ops::start_export;
use snaplake::handlers::export_callback;
use snaplake::handlers::{export_poller, snapshot_export};
use snaplake::logical_time::LogicalTime;
use snaplake::{Error, export::plan::OnTableFailure};
use snaplake_tests::StandIn;

const BUCKET: &str = "snaplake-export-stage";
const CLUSTER: &str = "shop-prod";
// 04:00 on 2026-11-21 in Tokyo; that Tokyo day is 2026-11-20T15:00Z .. 2026-11-21T15:00Z.
const LOGICAL_TIME: &str = "2026-11-20T19:00:00Z";
const EXPORT_ID: &str = "snaplake-shop-prod-20261121";
const SNAPSHOT: &str = "rds:shop-prod-2026-11-20-18-00";
const DURING_THE_DAY: &str = "2026-11-21T01:00:00Z";

struct Setup {
    standin: StandIn,
    env: Env,
    kms_key: String,
    kms_key_id: String,
    snapshot_arn: String,
}

async fn setup(export_seconds: f64) -> Setup {
    let standin = StandIn::acquire().await;
    standin.control(
        "/_snaplake/exports/settings",
        json!({"duration_seconds": export_seconds}),
    );
    let env = standin.context(BUCKET);
    env.clients.s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    standin.sample_cluster(CLUSTER).await;
    standin.export_role(BUCKET).await;
    // The day before, the day itself, and the next day.
    for (id, at) in [
        ("rds:shop-prod-2026-11-19-18-00", "2026-11-19T18:00:00Z"),
        (SNAPSHOT, "2026-11-20T18:00:00Z"),
        ("rds:shop-prod-2026-11-21-18-00", "2026-11-21T18:00:00Z"),
    ] {
        standin.control(
            "/_snaplake/snapshots",
            json!({"cluster": CLUSTER, "snapshot_id": id, "create_time": at}),
        );
    }
    let key = env
        .clients
        .kms
        .create_key()
        .description("snaplake exports")
        .send()
        .await
        .unwrap();
    let kms_key = key.key_metadata().unwrap().arn().unwrap().to_string();
    let kms_key_id = key.key_metadata().unwrap().key_id().to_string();
    let snapshot_arn = format!("arn:aws:rds:us-east-1:123456789012:cluster-snapshot:{SNAPSHOT}");
    Setup {
        standin,
        env,
        kms_key,
        kms_key_id,
        snapshot_arn,
    }
}

fn request(s: &Setup) -> ExportRequest {
    serde_json::from_value(json!({
        "logical_time": LOGICAL_TIME,
        "source_id": CLUSTER,
        "kms_key": s.kms_key,
        "export_role_arn": "arn:aws:iam::123456789012:role/snaplake-export",
    }))
    .unwrap()
}

fn now() -> Timestamp {
    DURING_THE_DAY.parse().unwrap()
}

async fn export_count(env: &Env) -> usize {
    env.clients
        .rds
        .describe_export_tasks()
        .send()
        .await
        .unwrap()
        .export_tasks()
        .len()
}

const EXPORT_ROLE: &str = "arn:aws:iam::123456789012:role/snaplake-export";

/// An export made elsewhere (the console, AWS Backup): its own id and a
/// prefix of its own under the deployment's export prefix.
async fn start_export_by_hand(s: &Setup, id: &str, snapshot_arn: &str) {
    start_export_elsewhere(s, id, snapshot_arn, BUCKET, "exports/by-hand", &s.kms_key).await;
}

/// An export made by hand with the given bucket, prefix and key.
async fn start_export_elsewhere(s: &Setup, id: &str, snapshot_arn: &str, bucket: &str, prefix: &str, key: &str) {
    s.env
        .clients
        .rds
        .start_export_task()
        .export_task_identifier(id)
        .source_arn(snapshot_arn)
        .s3_bucket_name(bucket)
        .s3_prefix(prefix)
        .iam_role_arn(EXPORT_ROLE)
        .kms_key_id(key)
        .send()
        .await
        .unwrap();
}

/// Pins the export as the module does: the source, its kind, the export
/// role and the key (the bucket and the prefixes are always pinned).
fn pin_the_export(s: &mut Setup) {
    let config = &mut s.env.config;
    config.pinned_source_id = Some(CLUSTER.into());
    config.pinned_source_kind = Some(snaplake::contract::snapshot_export::SourceKind::Cluster);
    config.pinned_export_role_arn = Some(EXPORT_ROLE.into());
    config.pinned_export_kms_key = Some(s.kms_key.clone());
}

/// A bucket and a key of someone who may start runs but not read the lake.
async fn mallorys_bucket_and_key(s: &Setup) -> (&'static str, String) {
    let c = &s.env.clients;
    c.s3.create_bucket().bucket("mallory-lake").send().await.unwrap();
    let key = c.kms.create_key().description("mallory").send().await.unwrap();
    ("mallory-lake", key.key_metadata().unwrap().arn().unwrap().to_string())
}

fn refused(err: &Error, words: &[&str]) {
    assert_eq!(err.name(), "InvalidInput", "{err}");
    let text = err.to_string();
    for word in words {
        assert!(text.contains(word), "{word:?} missing from {text}");
    }
    assert!(
        text.ends_with("change the Terraform module's variables and apply"),
        "{text}"
    );
}

async fn poll_until_done(env: &Env, req: &PollRequest) -> Result<PollResult, Error> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let result = export_poller::run(env, req).await?;
        if result.done {
            return Ok(result);
        }
        assert!(Instant::now() < deadline, "export still {} after 30 s", result.status);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

fn poll(on_table_failure: OnTableFailure) -> PollRequest {
    PollRequest {
        export_id: EXPORT_ID.into(),
        bucket: None,
        on_table_failure,
        batch_size: 2,
        min_wait_seconds: Some(30),
    }
}

async fn read_json(env: &Env, key: &str) -> Value {
    let out = env
        .clients
        .s3
        .get_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap();
    serde_json::from_slice(&out.body.collect().await.unwrap().into_bytes()).unwrap()
}

#[tokio::test]
async fn from_snapshot_to_plan() {
    let s = setup(1.0).await;
    let run: ExportRun = start_export::run(&s.env, &request(&s), now()).await.unwrap();
    assert_eq!(run.export_id, EXPORT_ID);
    assert_eq!(run.logical_day, "2026-11-21");
    assert_eq!(
        run.snapshot_arn, s.snapshot_arn,
        "the newest snapshot inside the Tokyo day"
    );
    assert_eq!(run.s3_prefix, "exports/shop-prod/2026-11-21");
    assert_eq!(run.export_path, format!("exports/shop-prod/2026-11-21/{EXPORT_ID}"));
    assert!(!run.adopted);

    let early = export_poller::run(&s.env, &poll(OnTableFailure::Fail)).await.unwrap();
    assert!(!early.done && early.plan.is_none(), "{early:?}");
    // A young export is looked at again after the minimum (poll_cadence).
    assert_eq!(early.wait_seconds, 30, "{early:?}");

    let done = poll_until_done(&s.env, &poll(OnTableFailure::Fail)).await.unwrap();
    assert_eq!(done.status, ExportStatus::Complete);
    let plan = done.plan.unwrap();
    assert_eq!((plan.tables, plan.batches), (3, 2));
    assert_eq!(plan.key, format!("_snaplake/plans/{EXPORT_ID}.json"));
    let batches = read_json(&s.env, &plan.key).await;
    let items: Vec<&Value> = batches
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["Items"].as_array().unwrap())
        .collect();
    let names: Vec<&str> = items.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["shop_articles", "shop_customers", "shop_orders"]);
    assert_eq!(items[2]["parts"], json!(["1/", "2/"]));
    assert_eq!(
        items[2]["location"],
        format!("s3://{BUCKET}/{}/shop/shop.orders/", run.export_path)
    );
    assert!(items[1]["sample_key"].as_str().unwrap().ends_with(".gz.parquet"));
}

#[tokio::test]
async fn a_second_run_adopts_the_first_export() {
    let s = setup(30.0).await;
    let first = start_export::run(&s.env, &request(&s), now()).await.unwrap();
    let second = start_export::run(&s.env, &request(&s), now()).await.unwrap();
    assert!(!first.adopted && second.adopted);
    assert_eq!(first.export_id, second.export_id);
    assert_eq!(export_count(&s.env).await, 1, "exactly one export task");
}

#[tokio::test]
async fn an_export_started_by_hand_with_the_same_id_is_adopted_and_another_source_is_refused() {
    let s = setup(30.0).await;
    start_export_by_hand(&s, EXPORT_ID, &s.snapshot_arn).await;
    let run = start_export::run(&s.env, &request(&s), now()).await.unwrap();
    assert!(run.adopted);
    assert_eq!(run.s3_prefix, "exports/by-hand", "the adopted export's own location");
    assert_eq!(export_count(&s.env).await, 1);

    // The next day's run finds an export with its id made from another snapshot.
    let next_id = "snaplake-shop-prod-20261122";
    let other = "arn:aws:rds:us-east-1:123456789012:cluster-snapshot:rds:shop-prod-2026-11-19-18-00";
    start_export_by_hand(&s, next_id, other).await;
    let mut next_day = request(&s);
    next_day.logical_time = snaplake::logical_time::LogicalTime::parse("2026-11-21T19:00:00Z").unwrap();
    let err = start_export::run(&s.env, &next_day, "2026-11-22T01:00:00Z".parse().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.name(), "ExportConflict");
    assert!(
        err.to_string().contains(next_id) && err.to_string().contains(other),
        "{err}"
    );
    assert_eq!(export_count(&s.env).await, 2, "no export was started");
}

/// Someone allowed states:StartExecution names their own bucket, key, source
/// kind or export: the run is refused before anything is exported.
#[tokio::test]
async fn a_run_naming_another_bucket_key_source_kind_or_export_is_refused_before_anything_is_exported() {
    let mut s = setup(30.0).await;
    pin_the_export(&mut s);
    let (bucket, key) = mallorys_bucket_and_key(&s).await;
    let key_id = key.rsplit('/').next().unwrap().to_string();
    let cases: [(&str, Value, &[&str]); 6] = [
        (
            "bucket",
            json!(bucket),
            &["`bucket`", "mallory-lake", BUCKET, "SNAPLAKE_BUCKET"],
        ),
        (
            "kms_key",
            json!(key),
            &["`kms_key`", &key, &s.kms_key, "SNAPLAKE_EXPORT_KMS_KEY"],
        ),
        (
            "kms_key",
            json!(key_id),
            &["`kms_key`", "key id or alias", &s.kms_key, "give that ARN"],
        ),
        (
            "kms_key",
            json!("alias/aws/rds"),
            &["`kms_key`", "key id or alias", &s.kms_key],
        ),
        (
            "source_kind",
            json!("instance"),
            &["`source_kind`", "instance", "SNAPLAKE_SOURCE_KIND"],
        ),
        (
            "export_id",
            json!("mallory-export-1"),
            &[
                "`export_id`",
                "mallory-export-1",
                "\"snaplake-\"",
                "SNAPLAKE_EXPORT_ID_PREFIX",
            ],
        ),
    ];
    let good = serde_json::to_value(request(&s)).unwrap();
    for (field, value, words) in cases {
        let mut input = good.clone();
        input[field] = value;
        let err = snapshot_export::handle(&s.env, input).await.unwrap_err();
        refused(&err, words);
    }
    assert_eq!(export_count(&s.env).await, 0, "nothing was exported");

    // The same input with the deployment's values exports.
    let mut own = request(&s);
    own.bucket = Some(BUCKET.into());
    start_export::run(&s.env, &own, now()).await.unwrap();
    assert_eq!(export_count(&s.env).await, 1);
}

/// An export task made by hand under a day's export id.
struct ByHand<'a> {
    /// The run's logical time, and the day's id and snapshot.
    logical_time: &'a str,
    id: &'a str,
    snapshot: &'a str,
    bucket: &'a str,
    prefix: &'a str,
    key: &'a str,
    /// What the run's refusal names.
    refused_with: Vec<&'a str>,
}

/// An export task with the day's id, started by hand into another bucket,
/// under another prefix or with another key, is refused, not adopted: the
/// run would publish from it (and its owner may have read it already).
#[tokio::test]
async fn an_export_started_by_hand_with_the_days_id_into_another_bucket_or_with_another_key_is_not_adopted() {
    let mut s = setup(30.0).await;
    pin_the_export(&mut s);
    let (bucket, key) = mallorys_bucket_and_key(&s).await;
    let own_key = s.kms_key.clone();
    // Three days that each have a snapshot.
    let days = [
        ByHand {
            logical_time: "2026-11-19T19:00:00Z",
            id: "snaplake-shop-prod-20261120",
            snapshot: "rds:shop-prod-2026-11-19-18-00",
            bucket,
            prefix: "exports/shop-prod/2026-11-20",
            key: &own_key,
            refused_with: vec!["S3Bucket of export task", "mallory-lake", BUCKET, "SNAPLAKE_BUCKET"],
        },
        ByHand {
            logical_time: LOGICAL_TIME,
            id: EXPORT_ID,
            snapshot: SNAPSHOT,
            bucket: BUCKET,
            prefix: "exports/shop-prod/2026-11-21",
            key: &key,
            refused_with: vec!["KmsKeyId of export task", &key, &own_key, "SNAPLAKE_EXPORT_KMS_KEY"],
        },
        ByHand {
            logical_time: "2026-11-21T19:00:00Z",
            id: "snaplake-shop-prod-20261122",
            snapshot: "rds:shop-prod-2026-11-21-18-00",
            bucket: BUCKET,
            prefix: "elsewhere",
            key: &own_key,
            refused_with: vec![
                "S3Prefix of export task",
                "elsewhere",
                "\"exports\"",
                "SNAPLAKE_EXPORT_PREFIX",
            ],
        },
    ];
    for day in days {
        let snapshot = format!("arn:aws:rds:us-east-1:123456789012:cluster-snapshot:{}", day.snapshot);
        start_export_elsewhere(&s, day.id, &snapshot, day.bucket, day.prefix, day.key).await;
        let mut req = request(&s);
        req.logical_time = snaplake::logical_time::LogicalTime::parse(day.logical_time).unwrap();
        let err = start_export::run(&s.env, &req, "2026-11-23T01:00:00Z".parse().unwrap())
            .await
            .unwrap_err();
        refused(&err, &day.refused_with);
        let text = err.to_string();
        assert!(text.contains(day.id) && text.contains("cancel export task"), "{text}");
    }
    assert_eq!(export_count(&s.env).await, 3, "only the tasks made by hand");
}

#[tokio::test]
async fn injected_export_failure_is_export_failed_with_the_cause() {
    let s = setup(0.5).await;
    s.standin.control(
        "/_snaplake/exports/faults",
        json!({"export_id": EXPORT_ID, "fail": "S3 write denied (injected)"}),
    );
    start_export::run(&s.env, &request(&s), now()).await.unwrap();
    let err = poll_until_done(&s.env, &poll(OnTableFailure::Fail)).await.unwrap_err();
    assert_eq!(err.name(), "ExportFailed");
    assert!(err.to_string().contains("S3 write denied (injected)"), "{err}");
}

#[tokio::test]
async fn one_failed_table_follows_the_plan_policy() {
    let s = setup(0.5).await;
    s.standin.control(
        "/_snaplake/exports/faults",
        json!({"export_id": EXPORT_ID, "fail_tables": ["shop.orders"]}),
    );
    start_export::run(&s.env, &request(&s), now()).await.unwrap();
    let err = poll_until_done(&s.env, &poll(OnTableFailure::Fail)).await.unwrap_err();
    assert_eq!(err.name(), "ExportIncomplete");
    assert!(err.to_string().contains("shop.orders (FAILED)"), "{err}");

    let done = poll_until_done(&s.env, &poll(OnTableFailure::Skip)).await.unwrap();
    let plan = done.plan.unwrap();
    assert_eq!(plan.tables, 2);
    assert_eq!(plan.skipped, 1);
    let key = plan.skipped_key.expect("the skipped tables are listed beside the plan");
    let body = snaplake::aws::s3::get_bytes(&s.env.clients.s3, &plan.bucket, &key)
        .await
        .unwrap()
        .unwrap();
    let listed: Vec<snaplake::export::plan::SkippedTable> = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        listed.iter().map(|t| t.source.as_str()).collect::<Vec<_>>(),
        ["shop.orders"]
    );
}

#[tokio::test]
async fn snapshot_not_ready_during_the_day_and_not_found_after_the_deadline() {
    let s = setup(1.0).await;
    let mut req = request(&s);
    req.logical_time = snaplake::logical_time::LogicalTime::parse("2026-11-23T19:00:00Z").unwrap();
    let err = start_export::run(&s.env, &req, "2026-11-24T01:00:00Z".parse().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.name(), "SnapshotNotReady");
    let err = start_export::run(&s.env, &req, "2026-11-25T01:00:00Z".parse().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.name(), "SnapshotNotFound");
    let text = err.to_string();
    assert!(
        text.contains("2026-11-23T15:00:00Z") && text.contains("rds:shop-prod-2026-11-21-18-00"),
        "{text}"
    );
    assert_eq!(export_count(&s.env).await, 0);
}

#[tokio::test]
async fn preflight_failures_say_what_to_fix_and_start_nothing() {
    let mut s = setup(1.0).await;
    // A deployment whose bucket is gone.
    s.env.config.bucket = "no-such-bucket".into();
    let err = start_export::run(&s.env, &request(&s), now()).await.unwrap_err();
    assert_eq!(err.name(), "PreflightFailed");
    assert!(
        err.to_string().contains("s3://no-such-bucket") && err.to_string().contains("does not exist"),
        "{err}"
    );
    s.env.config.bucket = BUCKET.into();

    s.env
        .clients
        .kms
        .disable_key()
        .key_id(&s.kms_key_id)
        .send()
        .await
        .unwrap();
    let err = start_export::run(&s.env, &request(&s), now()).await.unwrap_err();
    assert_eq!(err.name(), "PreflightFailed");
    assert!(
        err.to_string().contains("Disabled") && err.to_string().contains("enable the key"),
        "{err}"
    );

    let mut req = request(&s);
    req.kms_key = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000".into();
    let err = start_export::run(&s.env, &req, now()).await.unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert_eq!(export_count(&s.env).await, 0);
}

/// The pinned policy is checked by the SHA-256 S3 keeps for its object (the
/// module stores it with one), so snapshot-export never reads it: a missing,
/// unchecksummed or changed object, or an input carrying its own policy, is
/// refused before anything is exported.
#[tokio::test]
async fn the_pinned_policy_is_checked_by_its_stored_checksum_before_anything_is_exported() {
    let mut s = setup(1.0).await;
    let policy = br#"{"tables": {}}"#;
    let digest = snaplake::pinning::digest(policy);
    s.env.config.policy_digest = Some(digest.clone());
    let key = snaplake::pinning::policy_key(&s.env.config.control_prefix, &digest);
    let mut req = request(&s);
    req.publish = Some(serde_json::from_value(json!({"policy_digest": digest})).unwrap());
    let refused = |err: Error, field: &str, text: &str| {
        assert_eq!(err.name(), "InvalidInput", "{err}");
        let err = err.to_string();
        assert!(err.contains(field) && err.contains(text), "{field}, {text}: {err}");
    };
    let put = |body: &'static [u8], checksum: Option<aws_sdk_s3::types::ChecksumAlgorithm>| {
        let request = s.env.clients.s3.put_object().bucket(BUCKET).key(&key);
        request
            .set_checksum_algorithm(checksum)
            .body(body.to_vec().into())
            .send()
    };
    let sha256 = Some(aws_sdk_s3::types::ChecksumAlgorithm::Sha256);

    let err = start_export::run(&s.env, &req, now()).await.unwrap_err();
    refused(err, "SNAPLAKE_POLICY_DIGEST", "does not exist");
    // The right bytes, but stored with the SDK's default CRC32: nothing to compare.
    put(policy, None).await.unwrap();
    let err = start_export::run(&s.env, &req, now()).await.unwrap_err();
    refused(err, "SNAPLAKE_POLICY_DIGEST", "without a SHA-256 checksum");
    // Changed outside Terraform: an all-clear policy in its place.
    put(
        br#"{"tables": {"shop.customers": {"columns": {"email": "keep"}}}}"#,
        sha256.clone(),
    )
    .await
    .unwrap();
    let err = start_export::run(&s.env, &req, now()).await.unwrap_err();
    refused(err, "SNAPLAKE_POLICY_DIGEST", "changed outside Terraform");
    put(policy, sha256).await.unwrap();
    let mut own = request(&s);
    own.publish = Some(serde_json::from_value(json!({"policy_digest": digest, "policy": {"tables": {}}})).unwrap());
    let err = start_export::run(&s.env, &own, now()).await.unwrap_err();
    refused(err, "publish.policy", "pins");
    assert_eq!(export_count(&s.env).await, 0, "nothing was exported");

    // As the module stores it: the export starts.
    let run = start_export::run(&s.env, &req, now()).await.unwrap();
    assert_eq!(run.export_id, EXPORT_ID);
    assert_eq!(export_count(&s.env).await, 1);
}

#[tokio::test]
async fn bad_inputs_name_the_field_and_change_nothing() {
    let s = setup(1.0).await;
    let good = serde_json::to_value(request(&s)).unwrap();
    let cases = [
        ("source_id", json!(null)),
        ("source_kind", json!("database")),
        ("export_role_arn", json!("snaplake-export")),
        ("logical_time", json!("yesterday")),
        ("tables", json!("shop.customers")),
    ];
    for (field, value) in cases {
        let mut input = good.clone();
        input[field] = value;
        let err = snapshot_export::handle(&s.env, input).await.unwrap_err();
        assert_eq!(err.name(), "InvalidInput", "{field}: {err}");
        assert!(err.to_string().contains(field), "{field}: {err}");
    }
    let err = export_poller::handle(&s.env, json!({"export_id": "snaplake-nope-20261121"}))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no export task snaplake-nope-20261121"),
        "{err}"
    );
    let err = export_callback::handle(&s.env, json!({"export_id": EXPORT_ID}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("task_token"), "{err}");
    assert_eq!(export_count(&s.env).await, 0);
    let keys = s.env.clients.s3.list_objects_v2().bucket(BUCKET).send().await.unwrap();
    assert!(keys.contents().is_empty(), "nothing written: {keys:?}");
}

/// A state machine that parks on `.waitForTaskToken` and hands its token
/// out through SQS, as the real one hands it to export-callback.
async fn waiting_execution(standin: &StandIn, env: &Env) -> (String, String) {
    let sqs = &TokenQueue::new(standin).await;
    let definition = json!({
        "StartAt": "WaitForExport",
        "States": {"WaitForExport": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": sqs.url, "MessageBody": {"token.$": "$$.Task.Token"}},
            "TimeoutSeconds": 60,
            "End": true
        }}
    });
    // The engine sends the message as the state machine's role.
    let iam = aws_sdk_iam::Client::new(&standin.sdk);
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"Service": "states.amazonaws.com"}}]});
    let role = iam
        .create_role()
        .role_name("wait-for-export")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    let send = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]});
    iam.put_role_policy()
        .role_name("wait-for-export")
        .policy_name("send")
        .policy_document(send.to_string())
        .send()
        .await
        .unwrap();
    let machine = env
        .clients
        .sfn
        .create_state_machine()
        .name("wait-for-export")
        .definition(definition.to_string())
        .role_arn(role.role().unwrap().arn())
        .send()
        .await
        .unwrap();
    let execution = env
        .clients
        .sfn
        .start_execution()
        .state_machine_arn(machine.state_machine_arn())
        .send()
        .await
        .unwrap();
    (execution.execution_arn().to_string(), sqs.token().await)
}

struct TokenQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl TokenQueue {
    async fn new(standin: &StandIn) -> Self {
        let client = aws_sdk_sqs::Client::new(&standin.sdk);
        let url = client
            .create_queue()
            .queue_name("tokens")
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_string();
        TokenQueue { client, url }
    }

    async fn token(&self) -> String {
        for _ in 0..50 {
            let out = self.client.receive_message().queue_url(&self.url).send().await.unwrap();
            if let Some(message) = out.messages().first() {
                let body: Value = serde_json::from_str(message.body().unwrap()).unwrap();
                return body["token"].as_str().unwrap().to_string();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the execution never handed out its task token");
    }
}

async fn execution_status(env: &Env, arn: &str) -> (String, Option<String>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = env
            .clients
            .sfn
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .unwrap();
        let status = out.status().as_str().to_string();
        if status != "RUNNING" || Instant::now() > deadline {
            return (status, out.output().map(str::to_string));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The example event in `events/`, pointed at another bucket and key.
fn s3_event(bucket: &str, key: &str) -> Value {
    let mut event: Value = serde_json::from_str(include_str!("../../events/export-callback-s3.json")).unwrap();
    event["Records"][0]["s3"]["bucket"]["name"] = json!(bucket);
    event["Records"][0]["s3"]["bucket"]["arn"] = json!(format!("arn:aws:s3:::{bucket}"));
    event["Records"][0]["s3"]["object"]["key"] = json!(key);
    event
}

#[tokio::test]
async fn the_s3_event_resumes_the_waiting_execution_and_a_duplicate_is_harmless() {
    let s = setup(1.0).await;
    let run = start_export::run(&s.env, &request(&s), now()).await.unwrap();
    let (execution, token) = waiting_execution(&s.standin, &s.env).await;
    let parked = export_callback::wait(
        &s.env,
        &WaitRequest {
            task_token: token,
            export_id: run.export_id.clone(),
            execution: "run-test".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        parked,
        Outcome::Waiting {
            export_id: EXPORT_ID.into()
        }
    );
    poll_until_done(&s.env, &poll(OnTableFailure::Fail)).await.unwrap();

    // As S3 sends it: URL-encoded, so `=` would be %3D and a space `+`.
    let key = format!("{}/export_info_{EXPORT_ID}.json", run.export_path).replace('-', "%2D");
    let outcomes = export_callback::handle(&s.env, s3_event(BUCKET, &key)).await.unwrap();
    assert_eq!(
        outcomes,
        [Outcome::Answered {
            export_id: EXPORT_ID.into(),
            status: ExportStatus::Complete,
            delivered: true
        }]
    );
    let (status, output) = execution_status(&s.env, &execution).await;
    assert_eq!(status, "SUCCEEDED");
    assert!(output.unwrap().contains(EXPORT_ID));

    let again = export_callback::handle(&s.env, s3_event(BUCKET, &key)).await.unwrap();
    assert_eq!(
        again,
        [Outcome::NoToken {
            export_id: EXPORT_ID.into()
        }]
    );
    let other = export_callback::handle(
        &s.env,
        s3_event(BUCKET, "exports/x/export_tables_info_a_from_1_to_3.json"),
    )
    .await;
    assert!(matches!(other.unwrap()[0], Outcome::Ignored { .. }));
    let err = export_callback::handle(&s.env, s3_event("someone-elses-bucket", &key))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Records[0].s3.bucket.name"), "{err}");
}

#[tokio::test]
async fn a_fast_export_is_answered_when_the_token_arrives_and_a_failure_fails_the_execution() {
    let s = setup(0.3).await;
    s.standin.control(
        "/_snaplake/exports/faults",
        json!({"export_id": EXPORT_ID, "fail": "bucket policy denies RDS"}),
    );
    start_export::run(&s.env, &request(&s), now()).await.unwrap();
    assert!(poll_until_done(&s.env, &poll(OnTableFailure::Fail)).await.is_err());

    let (execution, token) = waiting_execution(&s.standin, &s.env).await;
    let outcome = export_callback::wait(
        &s.env,
        &WaitRequest {
            task_token: token.clone(),
            export_id: EXPORT_ID.into(),
            execution: "run-test".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        outcome,
        Outcome::Answered {
            export_id: EXPORT_ID.into(),
            status: ExportStatus::Failed,
            delivered: true
        }
    );
    let (status, _) = execution_status(&s.env, &execution).await;
    assert_eq!(status, "FAILED");
    let history = s
        .env
        .clients
        .sfn
        .get_execution_history()
        .execution_arn(&execution)
        .send()
        .await
        .unwrap();
    let failure = history
        .events()
        .iter()
        .find_map(|e| e.task_failed_event_details())
        .unwrap();
    assert_eq!(failure.error(), Some("ExportFailed"));
    assert!(
        failure.cause().unwrap_or_default().contains("bucket policy denies RDS"),
        "{:?}",
        failure.cause()
    );

    // The same token again (a retried state): stale, handled quietly.
    let again = export_callback::wait(
        &s.env,
        &WaitRequest {
            task_token: token,
            export_id: EXPORT_ID.into(),
            execution: "run-test".into(),
        },
    )
    .await;
    assert_eq!(
        again.unwrap(),
        Outcome::Answered {
            export_id: EXPORT_ID.into(),
            status: ExportStatus::Failed,
            delivered: false
        }
    );
}

#[tokio::test]
async fn an_existing_export_is_published_as_it_is_and_a_missing_failed_or_foreign_one_is_refused() {
    let mut s = setup(0.2).await;
    pin_the_export(&mut s);
    start_export_by_hand(&s, "snaplake-console-1", &s.snapshot_arn).await;
    let mut req = request(&s);
    req.export_id = Some("snaplake-console-1".into());
    let run = start_export::run(&s.env, &req, now()).await.unwrap();
    assert_eq!(run.export_id, "snaplake-console-1");
    assert_eq!(run.export_path, "exports/by-hand/snaplake-console-1");
    assert_eq!(run.snapshot_arn, s.snapshot_arn);
    assert!(run.adopted);
    assert_eq!(export_count(&s.env).await, 1, "nothing was started");

    req.export_id = Some("snaplake-no-such-export".into());
    let err = start_export::run(&s.env, &req, now()).await.unwrap_err();
    assert_eq!(err.name(), "InvalidInput");
    assert!(
        err.to_string().contains("`export_id`") && err.to_string().contains("snaplake-no-such-export"),
        "{err}"
    );

    // Made by hand into another bucket, with another key, or from another
    // source's snapshot: refused, not published.
    let (bucket, key) = mallorys_bucket_and_key(&s).await;
    s.standin.sample_cluster("payroll").await;
    let other_source = s.standin.control(
        "/_snaplake/snapshots",
        json!({"cluster": "payroll", "snapshot_id": "payroll-2026-11-20", "create_time": "2026-11-20T18:00:00Z"}),
    )["arn"]
        .as_str()
        .unwrap()
        .to_string();
    let elsewhere: [(&str, &str, &str, &str, &[&str]); 3] = [
        (
            "snaplake-console-3",
            &s.snapshot_arn,
            bucket,
            &s.kms_key,
            &["S3Bucket", "mallory-lake"],
        ),
        ("snaplake-console-4", &s.snapshot_arn, BUCKET, &key, &["KmsKeyId", &key]),
        (
            "snaplake-console-5",
            &other_source,
            BUCKET,
            &s.kms_key,
            &["SourceArn", &other_source, "SNAPLAKE_SOURCE_ID"],
        ),
    ];
    for (id, source, bucket, key, words) in elsewhere {
        start_export_elsewhere(&s, id, source, bucket, "exports/by-hand", key).await;
        req.export_id = Some(id.into());
        let err = start_export::run(&s.env, &req, now()).await.unwrap_err();
        refused(&err, words);
    }

    req.export_id = Some("bad_id".into());
    let err = start_export::run(&s.env, &req, now()).await.unwrap_err();
    assert!(err.to_string().contains("`export_id`"), "{err}");

    s.standin.control(
        "/_snaplake/exports/faults",
        json!({"export_id": "snaplake-console-2", "fail": "KMS key disabled (injected)"}),
    );
    start_export_by_hand(&s, "snaplake-console-2", &s.snapshot_arn).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    req.export_id = Some("snaplake-console-2".into());
    let err = start_export::run(&s.env, &req, now()).await.unwrap_err();
    assert_eq!(err.name(), "ExportFailed");
    assert!(err.to_string().contains("KMS key disabled (injected)"), "{err}");
}

#[tokio::test]
async fn an_existing_export_is_published_only_as_the_day_its_snapshot_was_taken() {
    let mut s = setup(0.2).await;
    pin_the_export(&mut s);
    start_export_by_hand(&s, "snaplake-console-1", &s.snapshot_arn).await;
    let mut req = request(&s);
    req.export_id = Some("snaplake-console-1".into());
    // The snapshot is of 03:00 on the 21st in Tokyo. Stamped as a later day
    // it would freeze the curated tables (every later run `superseded`).
    for (logical_time, says) in [
        ("2026-11-22T19:00:00Z", "outside the run's day"),
        ("2026-11-19T19:00:00Z", "outside the run's day"),
        ("2030-01-01T00:00:00Z", "has not begun"),
    ] {
        req.logical_time = LogicalTime::parse(logical_time).unwrap();
        let later = "2026-12-01T00:00:00Z".parse().unwrap();
        let err = start_export::run(&s.env, &req, later).await.unwrap_err();
        assert_eq!(err.name(), "InvalidInput", "{logical_time}: {err}");
        assert!(
            err.to_string().contains("`logical_time`") && err.to_string().contains(says),
            "{logical_time}: {err}"
        );
    }
    req.logical_time = LogicalTime::parse(LOGICAL_TIME).unwrap();
    let run = start_export::run(&s.env, &req, now()).await.unwrap();
    assert_eq!(run.logical_day, "2026-11-21");
    assert_eq!(export_count(&s.env).await, 1, "nothing was started");
}
