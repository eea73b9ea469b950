//! A whole snaplake deployment on the stand-in, as the Terraform module lays
//! it out (names `<stack>-<function>`, `<stack>-pipeline`, `<stack>-daily`),
//! but created through the SDK in a second instead of a minute of Terraform:
//! the real state machine definition, the handler binaries as its Lambda
//! functions, the EventBridge rules that resume the export wait (S3's
//! export_info event, RDS's export failed/canceled event), the failure topic,
//! the export role and the daily schedule holding the run input.

use std::time::{Duration, Instant};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, Runtime};
use aws_sdk_sfn::types::HistoryEvent;
use serde_json::{Value, json};

use crate::{StandIn, functions_dir, repo_root, resources};

pub const FUNCTIONS: [&str; 5] = [
    "snapshot-export",
    "export-callback",
    "export-poller",
    "catalog-swap",
    "query-runner",
];

/// The smallest valid zip (an empty archive): moto stores the code, the
/// stand-in runs the binary of the same name.
const EMPTY_ZIP: [u8; 22] = [
    0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

pub struct Deployment {
    pub standin: StandIn,
    pub stack: String,
    pub bucket: String,
    pub machine: String,
    /// An SQS queue subscribed to the failure topic.
    pub topic_queue: String,
    /// What the schedule sends (events/pipeline-input.json with this stack's key and role).
    pub run_input: Value,
}

impl Deployment {
    /// Invokes `<stack>-<function>` with `payload` as sent, as the state
    /// machine does; returns the function error (`None` when it succeeded)
    /// and the answer.
    pub async fn invoke(&self, function: &str, payload: &str) -> (Option<String>, Value) {
        let out = aws_sdk_lambda::Client::new(&self.standin.sdk)
            .invoke()
            .function_name(format!("{}-{function}", self.stack))
            .payload(Blob::new(payload.as_bytes().to_vec()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("invoking {function} with {payload}: {e:?}"));
        let bytes = out.payload().map(|b| b.as_ref().to_vec()).unwrap_or_default();
        let answer = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{function} answered {:?}: {e}", String::from_utf8_lossy(&bytes)));
        (out.function_error().map(str::to_string), answer)
    }
}

/// The functions' timeout (seconds) and memory size (MB), as the module sets
/// them (`functions.tf`): the stand-in holds a function to both.
pub fn function_limits() -> (i32, i32) {
    let tf = std::fs::read_to_string(repo_root().join("infra/modules/snaplake/functions.tf")).unwrap();
    let number = |name: &str| {
        tf.lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix(name)?
                    .trim()
                    .strip_prefix('=')?
                    .trim()
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("functions.tf sets no {name} as a number"))
    };
    (number("timeout"), number("memory_size"))
}

/// The example input, as the schedule of a deployment would send it.
pub fn example_input() -> Value {
    serde_json::from_str(include_str!("../../events/pipeline-input.json")).unwrap()
}

/// A deployment with the example masking policy pinned.
pub async fn deploy(stack: &str, bucket: &str) -> Deployment {
    deploy_with_policy(stack, bucket, include_bytes!("../../events/masking-policy.json")).await
}

/// A deployment that pins `policy` (the bytes Terraform would store).
pub async fn deploy_with_policy(stack: &str, bucket: &str, policy: &[u8]) -> Deployment {
    deploy_with(stack, bucket, policy, &[]).await
}

/// A deployment with the example masking policy pinned that publishes its
/// curated tables as Iceberg (the module's `table_format = "iceberg"`).
pub async fn deploy_iceberg(stack: &str, bucket: &str) -> Deployment {
    let policy = include_bytes!("../../events/masking-policy.json");
    deploy_with(stack, bucket, policy, &[("SNAPLAKE_TABLE_FORMAT", "iceberg")]).await
}

/// A deployment that pins `policy`, its functions' environment with `extra`.
async fn deploy_with(stack: &str, bucket: &str, policy: &[u8], extra: &[(&str, &str)]) -> Deployment {
    let iceberg = any_iceberg(policy, extra);
    for f in FUNCTIONS {
        assert!(
            functions_dir().join(f).exists(),
            "{} is missing: run `cargo build --workspace --bins` first (make test does)",
            functions_dir().join(f).display()
        );
    }
    let standin = StandIn::acquire().await;
    standin.control("/_snaplake/exports/settings", json!({"duration_seconds": 1.0}));
    let env = resources(&standin, bucket).await;
    let curated_key = crate::lake::workgroup_key(&env).await;
    let c = &env.clients;
    let key = c.kms.create_key().send().await.unwrap();
    let key_arn = key.key_metadata().unwrap().arn().unwrap().to_string();
    c.s3.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(
            aws_sdk_s3::types::ServerSideEncryptionConfiguration::builder()
                .rules(
                    aws_sdk_s3::types::ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(
                            aws_sdk_s3::types::ServerSideEncryptionByDefault::builder()
                                .sse_algorithm(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
                                .kms_master_key_id(&key_arn)
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let iam = aws_sdk_iam::Client::new(&standin.sdk);
    let export_role = role(&iam, &format!("{stack}-rds-export"), "export.rds.amazonaws.com").await;
    // The export role's policy as the module renders it: the stand-in's
    // export writes as this role, with the export's key.
    let write = function_policy("rds-export", &[("bucket", bucket), ("raw_key", &key_arn)]);
    iam.put_role_policy()
        .role_name(format!("{stack}-rds-export"))
        .policy_name("write-exports")
        .policy_document(write.to_string())
        .send()
        .await
        .unwrap();

    // The salt of hash_salted, as the module keeps it: a secret only
    // query-runner reads.
    let salt_secret = snaplake::aws::secrets::client(&standin.sdk)
        .create_secret()
        .name(format!("{stack}/hash-salt"))
        .secret_string(crate::TEST_SALT)
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_string();

    // The masking policy, pinned as the module pins it: stored under the
    // control prefix by its digest, which the functions are given, with the
    // SHA-256 checksum snapshot-export compares with the digest.
    let digest = snaplake::pinning::digest(policy);
    c.s3.put_object()
        .bucket(bucket)
        .key(snaplake::pinning::policy_key("_snaplake", &digest))
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
        .body(policy.to_vec().into())
        .send()
        .await
        .unwrap();

    let lambda = aws_sdk_lambda::Client::new(&standin.sdk);
    let (timeout, memory_size) = function_limits();
    let mut arns = Vec::new();
    for f in FUNCTIONS {
        // Each function its own role with the policy the module gives it.
        let role_arn = role(&iam, &format!("{stack}-{f}"), "lambda.amazonaws.com").await;
        let mut policy = function_policy(
            f,
            &[
                ("stack", stack),
                ("bucket", bucket),
                ("raw_key", &key_arn),
                ("curated_key", &curated_key),
                ("salt_secret", &salt_secret),
                ("export_role", &export_role),
            ],
        );
        if iceberg {
            let statements = policy["Statement"].as_array_mut().expect("a policy has statements");
            statements.extend(iceberg_statements(f, bucket));
        }
        iam.put_role_policy()
            .role_name(format!("{stack}-{f}"))
            .policy_name(format!("{f}-least-privilege"))
            .policy_document(policy.to_string())
            .send()
            .await
            .unwrap();
        let mut vars = vec![
            ("SNAPLAKE_BUCKET", bucket),
            ("SNAPLAKE_TIME_ZONE", "Asia/Tokyo"),
            ("RUST_LOG", "info"),
            ("SNAPLAKE_POLICY_DIGEST", &digest),
            ("SNAPLAKE_SOURCE_ID", "shop-prod"),
            ("SNAPLAKE_SOURCE_KIND", "cluster"),
            ("SNAPLAKE_EXPORT_ROLE_ARN", &export_role),
            ("SNAPLAKE_EXPORT_KMS_KEY", &key_arn),
            ("SNAPLAKE_CURATED_KMS_KEY", &curated_key),
            // As the module's default (`lineage_to_glue = true`).
            ("SNAPLAKE_LINEAGE", "glue"),
        ];
        vars.extend(extra.iter().copied());
        if f == "query-runner" {
            vars.push(("SNAPLAKE_HASH_SALT_SECRET", &salt_secret));
        }
        let out = lambda
            .create_function()
            .function_name(format!("{stack}-{f}"))
            .runtime(Runtime::Providedal2023)
            .handler("bootstrap")
            .role(&role_arn)
            .timeout(timeout)
            .memory_size(memory_size)
            .code(FunctionCode::builder().zip_file(Blob::new(EMPTY_ZIP.to_vec())).build())
            .environment(
                Environment::builder()
                    .set_variables(Some(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()))
                    .build(),
            )
            .send()
            .await
            .unwrap();
        arns.push(out.function_arn().unwrap().to_string());
    }
    route_events_to_export_callback(&standin, stack, bucket, &arns[1]).await;

    let sns = aws_sdk_sns::Client::new(&standin.sdk);
    let sqs = aws_sdk_sqs::Client::new(&standin.sdk);
    let topic = sns
        .create_topic()
        .name(format!("{stack}-failures"))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let queue = sqs
        .create_queue()
        .queue_name("failures")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint("arn:aws:sqs:us-east-1:123456789012:failures")
        .send()
        .await
        .unwrap();

    let definition = render(&[
        ("snapshot_export_arn", arns[0].as_str()),
        ("export_callback_arn", &arns[1]),
        ("export_poller_arn", &arns[2]),
        ("catalog_swap_arn", &arns[3]),
        ("query_runner_arn", &arns[4]),
        ("failure_topic_arn", &topic),
        // Longer than the stand-in's 1 s export: the S3 event must resume the wait.
        ("export_wait_seconds", "20"),
        ("export_poll_seconds", "1"),
        ("query_poll_seconds", "1"),
        // Queries the stand-in runs in milliseconds end within it; a slower
        // one (an injected delay) goes round the state machine's poll loop.
        ("query_wait_seconds", "2"),
        ("snapshot_retry_seconds", "1"),
        ("snapshot_retry_attempts", "2"),
        ("batch_size", "2"),
        ("control_prefix", "_snaplake"),
        ("bucket", bucket),
        ("max_concurrency", "4"),
        ("publish_concurrency", "4"),
        ("tables_per_batch_concurrency", "2"),
    ]);
    // The state machine's role, with the policy the module gives it: the
    // stand-in's engine calls as this role (Lambda, the Map's S3 reads and
    // writes, SNS).
    let states_role = role(&iam, &format!("{stack}-states"), "states.amazonaws.com").await;
    let states_policy = function_policy(
        "pipeline",
        &[
            ("stack", stack),
            ("bucket", bucket),
            ("raw_key", &key_arn),
            ("curated_key", &curated_key),
        ],
    );
    iam.put_role_policy()
        .role_name(format!("{stack}-states"))
        .policy_name("run-the-pipeline")
        .policy_document(states_policy.to_string())
        .send()
        .await
        .unwrap();
    let machine = c
        .sfn
        .create_state_machine()
        .name(format!("{stack}-pipeline"))
        .definition(definition)
        .role_arn(&states_role)
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_string();

    let mut run_input = example_input();
    run_input["logical_time"] = json!("<aws.scheduler.scheduled-time>");
    run_input["export"]["kms_key"] = json!(key_arn);
    run_input["export"]["export_role_arn"] = json!(export_role);
    run_input["publish"]["policy_digest"] = json!(digest);
    schedule(&standin, stack, &machine, &run_input).await;
    Deployment {
        standin,
        stack: stack.to_string(),
        bucket: bucket.to_string(),
        machine,
        topic_queue: queue,
        run_input,
    }
}

/// Whether the module grants the Iceberg statements (its `local.any_iceberg`):
/// the deployment publishes Iceberg tables, or the masking policy names a
/// table it publishes as Iceberg.
fn any_iceberg(policy: &[u8], extra: &[(&str, &str)]) -> bool {
    let policy: Value = serde_json::from_slice(policy).expect("the pinned policy is JSON");
    let in_policy = policy["tables"]
        .as_object()
        .is_some_and(|tables| tables.values().any(|t| t["table_format"] == "iceberg"));
    in_policy || extra.contains(&("SNAPLAKE_TABLE_FORMAT", "iceberg"))
}

/// What the module adds to `function`'s policy for `table_format = "iceberg"`
/// (tests/src/function-policies.json, `iceberg_statements`).
fn iceberg_statements(function: &str, bucket: &str) -> Vec<Value> {
    let rendered: Value = serde_json::from_str(include_str!("function-policies.json")).unwrap();
    let text = rendered["iceberg_statements"][function]
        .to_string()
        .replace("${bucket}", bucket);
    serde_json::from_str::<Option<Vec<Value>>>(&text)
        .unwrap()
        .unwrap_or_default()
}

/// `function`'s inline policy as the module renders it (tests/src/function-policies.json),
/// its placeholders (`stack`, `bucket`, `raw_key`, `curated_key`, `salt_secret`,
/// `export_role`) filled in.
pub fn function_policy(function: &str, vars: &[(&str, &str)]) -> Value {
    let rendered: Value = serde_json::from_str(include_str!("function-policies.json")).unwrap();
    let mut text = rendered["policies"][function].to_string();
    assert_ne!(text, "null", "no policy for {function} in function-policies.json");
    for (name, value) in vars {
        text = text.replace(&format!("${{{name}}}"), value);
    }
    assert!(
        !text.contains("${"),
        "a placeholder is left in {function}'s policy: {text}"
    );
    serde_json::from_str(&text).unwrap()
}

async fn role(iam: &aws_sdk_iam::Client, name: &str, service: &str) -> String {
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"Service": service}}]});
    let out = iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    out.role().unwrap().arn().to_string()
}

/// As the module wires it: the bucket sends its events to EventBridge, where
/// one rule sends export_info files to export-callback, another RDS's export
/// failed/canceled events and a third its completed events (by EventID);
/// each with its Lambda permission.
async fn route_events_to_export_callback(standin: &StandIn, stack: &str, bucket: &str, function_arn: &str) {
    use aws_sdk_s3::types::{EventBridgeConfiguration, NotificationConfiguration};
    standin
        .clients
        .s3
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .event_bridge_configuration(EventBridgeConfiguration::builder().build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let rules = [
        (
            "export-info",
            json!({"source": ["aws.s3"], "detail-type": ["Object Created"],
                "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"wildcard": "exports/*export_info_*.json"}]}}}),
        ),
        (
            "export-failed",
            json!({"source": ["aws.rds"], "detail-type": ["RDS DB Snapshot Event", "RDS DB Cluster Snapshot Event"],
                "detail": {"EventID": ["RDS-EVENT-0159", "RDS-EVENT-0160", "RDS-EVENT-0162", "RDS-EVENT-0163"]}}),
        ),
        (
            "export-completed",
            json!({"source": ["aws.rds"], "detail-type": ["RDS DB Snapshot Event", "RDS DB Cluster Snapshot Event"],
                "detail": {"EventID": ["RDS-EVENT-0161", "RDS-EVENT-0164"]}}),
        ),
    ];
    let lambda = aws_sdk_lambda::Client::new(&standin.sdk);
    for (rule, pattern) in rules {
        let name = format!("{stack}-{rule}");
        let out = events_call(
            standin,
            "PutRule",
            json!({"Name": name, "EventPattern": pattern.to_string(), "State": "ENABLED"}),
        );
        events_call(
            standin,
            "PutTargets",
            json!({"Rule": name, "Targets": [{"Id": "export-callback", "Arn": function_arn}]}),
        );
        lambda
            .add_permission()
            .function_name(function_arn)
            .statement_id(rule)
            .action("lambda:InvokeFunction")
            .principal("events.amazonaws.com")
            .source_arn(out["RuleArn"].as_str().unwrap())
            .send()
            .await
            .unwrap();
    }
}

/// One EventBridge API call: the tests need only two, not another SDK crate.
fn events_call(standin: &StandIn, operation: &str, body: Value) -> Value {
    crate::json_api_call(standin, "events", &format!("AWSEvents.{operation}"), &body)
        .unwrap_or_else(|e| panic!("EventBridge {operation}: {e}"))
}

/// The daily schedule at 04:00 Tokyo, as the module's defaults set it.
pub async fn schedule(standin: &StandIn, stack: &str, machine: &str, run_input: &Value) {
    use aws_sdk_scheduler::types::{FlexibleTimeWindow, FlexibleTimeWindowMode, Target};
    aws_sdk_scheduler::Client::new(&standin.sdk)
        .create_schedule()
        .name(format!("{stack}-daily"))
        .schedule_expression("cron(0 4 * * ? *)")
        .schedule_expression_timezone("Asia/Tokyo")
        .flexible_time_window(
            FlexibleTimeWindow::builder()
                .mode(FlexibleTimeWindowMode::Off)
                .build()
                .unwrap(),
        )
        .target(
            Target::builder()
                .arn(machine)
                .role_arn("arn:aws:iam::123456789012:role/snaplake-scheduler")
                .input(run_input.to_string())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// The definition as Terraform's templatefile renders it.
pub fn render(vars: &[(&str, &str)]) -> String {
    let mut text = std::fs::read_to_string(repo_root().join("infra/modules/snaplake/pipeline.asl.json")).unwrap();
    for (name, value) in vars {
        text = text.replace(&format!("${{{name}}}"), value);
    }
    assert!(
        !text.contains("${"),
        "a placeholder is left: {}",
        &text[text.find("${").unwrap()..][..40]
    );
    text
}

/// Starts an execution of `machine` and waits up to `limit` for it to end:
/// its status, and its output, error, cause and arn.
pub async fn run_execution(
    standin: &StandIn,
    machine: &str,
    name: &str,
    input: &Value,
    limit: Duration,
) -> (String, Value) {
    let sfn = &standin.clients.sfn;
    let arn = sfn
        .start_execution()
        .state_machine_arn(machine)
        .name(name)
        .input(input.to_string())
        .send()
        .await
        .unwrap()
        .execution_arn()
        .to_string();
    let deadline = Instant::now() + limit;
    loop {
        let out = sfn.describe_execution().execution_arn(&arn).send().await.unwrap();
        let status = out.status().as_str().to_string();
        if status != "RUNNING" {
            let detail = json!({"output": out.output(), "error": out.error(), "cause": out.cause(), "arn": arn});
            return (status, detail);
        }
        assert!(
            Instant::now() < deadline,
            "execution {name} still running after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Every event of an execution's history, all pages.
pub async fn execution_events(standin: &StandIn, arn: &str) -> Vec<HistoryEvent> {
    let mut events = Vec::new();
    let mut token = None;
    loop {
        let page = standin
            .clients
            .sfn
            .get_execution_history()
            .execution_arn(arn)
            .max_results(1000)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        events.extend(page.events().iter().cloned());
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return events;
        }
    }
}

/// The example policy for the sample's first `tables` tables: customers,
/// orders, articles, then copies of articles (`articles_0004`, ...) with
/// the rules of articles, so every exported table is published.
pub fn policy_for_tables(tables: usize) -> Vec<u8> {
    let mut policy: Value = serde_json::from_str(include_str!("../../events/masking-policy.json")).unwrap();
    let named = policy["tables"].as_object_mut().unwrap();
    let articles = named["shop.articles"].clone();
    let mut names: Vec<String> = ["shop.customers", "shop.orders", "shop.articles"]
        .map(String::from)
        .to_vec();
    names.extend((4..=tables).map(|n| format!("shop.articles_{n:04}")));
    names.truncate(tables);
    named.retain(|name, _| names.contains(name));
    for name in &names {
        named.entry(name.clone()).or_insert_with(|| articles.clone());
    }
    serde_json::to_vec(&policy).unwrap()
}
