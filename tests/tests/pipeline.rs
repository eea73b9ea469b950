//! End to end: the real state machine definition, executed by the stand-in,
//! its Lambda tasks answered by the real handler binaries, over a stand-in
//! export of the sample database.

use std::time::{Duration, Instant};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, Runtime};
use serde_json::{Value, json};
use snaplake_tests::{StandIn, functions_dir, repo_root, resources};

const BUCKET: &str = "snaplake-pipeline";
const FUNCTIONS: [&str; 5] = [
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

struct Pipeline {
    env: StandIn,
    machine: String,
    topic_queue: String,
}

async fn pipeline() -> Pipeline {
    for f in FUNCTIONS {
        assert!(
            functions_dir().join(f).exists(),
            "{} is missing: run `cargo build --workspace --bins` first (make test does)",
            functions_dir().join(f).display()
        );
    }
    let env = StandIn::acquire().await;
    env.control("/_snaplake/exports/settings", json!({"duration_seconds": 1.0}));
    let ctx = resources(&env, BUCKET).await;
    let c = &ctx.clients;

    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"Service": "lambda.amazonaws.com"}}]});
    let iam = aws_sdk_iam::Client::new(&env.sdk);
    let role = iam
        .create_role()
        .role_name("snaplake-test")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    let role_arn = role.role().unwrap().arn().to_string();
    let lambda = aws_sdk_lambda::Client::new(&env.sdk);
    let mut arns = Vec::new();
    for f in FUNCTIONS {
        let vars = [
            ("SNAPLAKE_BUCKET", BUCKET),
            ("SNAPLAKE_TIME_ZONE", "Asia/Tokyo"),
            ("RUST_LOG", "info"),
        ];
        let out = lambda
            .create_function()
            .function_name(format!("snaplake-test-{f}"))
            .runtime(Runtime::Providedal2023)
            .handler("bootstrap")
            .role(&role_arn)
            .timeout(60)
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
    let notification = aws_sdk_s3::types::NotificationConfiguration::builder()
        .lambda_function_configurations(
            aws_sdk_s3::types::LambdaFunctionConfiguration::builder()
                .lambda_function_arn(&arns[1])
                .events(aws_sdk_s3::types::Event::S3ObjectCreated)
                .filter(
                    aws_sdk_s3::types::NotificationConfigurationFilter::builder()
                        .key(
                            aws_sdk_s3::types::S3KeyFilter::builder()
                                .filter_rules(
                                    aws_sdk_s3::types::FilterRule::builder()
                                        .name("prefix".into())
                                        .value("exports/")
                                        .build(),
                                )
                                .filter_rules(
                                    aws_sdk_s3::types::FilterRule::builder()
                                        .name("suffix".into())
                                        .value(".json")
                                        .build(),
                                )
                                .build(),
                        )
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .build();
    c.s3.put_bucket_notification_configuration()
        .bucket(BUCKET)
        .notification_configuration(notification)
        .send()
        .await
        .unwrap();

    let sns = aws_sdk_sns::Client::new(&env.sdk);
    let sqs = aws_sdk_sqs::Client::new(&env.sdk);
    let topic = sns
        .create_topic()
        .name("snaplake-failures")
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
        ("snapshot_retry_seconds", "1"),
        ("snapshot_retry_attempts", "2"),
        ("batch_size", "2"),
        ("max_concurrency", "4"),
        ("tables_per_batch_concurrency", "2"),
    ]);
    let machine = c
        .sfn
        .create_state_machine()
        .name("snaplake-test")
        .definition(definition)
        .role_arn("arn:aws:iam::123456789012:role/snaplake-states")
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_string();
    Pipeline {
        env,
        machine,
        topic_queue: queue,
    }
}

/// The definition as Terraform's templatefile renders it.
fn render(vars: &[(&str, &str)]) -> String {
    let mut text = std::fs::read_to_string(repo_root().join("infra/statemachine/pipeline.asl.json")).unwrap();
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

fn input() -> Value {
    serde_json::from_str(include_str!("../../events/pipeline-input.json")).unwrap()
}

impl Pipeline {
    async fn run(&self, name: &str, input: Value) -> (String, Value) {
        let sfn = &self.env.clients.sfn;
        let arn = sfn
            .start_execution()
            .state_machine_arn(&self.machine)
            .name(name)
            .input(input.to_string())
            .send()
            .await
            .unwrap()
            .execution_arn()
            .to_string();
        let deadline = Instant::now() + Duration::from_secs(240);
        loop {
            let out = sfn.describe_execution().execution_arn(&arn).send().await.unwrap();
            let status = out.status().as_str().to_string();
            if status != "RUNNING" {
                let detail = json!({"output": out.output(), "error": out.error(), "cause": out.cause(), "arn": arn});
                return (status, detail);
            }
            assert!(Instant::now() < deadline, "execution {name} still running after 240 s");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// The example input with a fresh customer managed key of the stand-in.
    async fn input(&self) -> Value {
        let key = self.env.clients.kms.create_key().send().await.unwrap();
        let mut input = input();
        input["export"]["kms_key"] = json!(key.key_metadata().unwrap().arn().unwrap());
        input
    }

    async fn failure_messages(&self) -> Vec<Value> {
        let sqs = aws_sdk_sqs::Client::new(&self.env.sdk);
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
        let out = self
            .env
            .clients
            .sfn
            .get_execution_history()
            .execution_arn(arn)
            .max_results(1000)
            .send()
            .await
            .unwrap();
        out.events().iter().map(|e| format!("{:?}", e.r#type())).collect()
    }
}

#[tokio::test]
async fn a_day_is_exported_masked_and_published_and_running_it_again_changes_nothing() {
    let p = pipeline().await;
    let input = p.input().await;
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
        "the S3 event resumed the wait: {history:?}"
    );

    let glue = &p.env.clients.glue;
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

    let version_before = customers.table().unwrap().version_id().map(str::to_string);
    let (status, detail) = p.run("run-2026-11-21-again", input).await;
    assert_eq!(status, "SUCCEEDED", "{detail:#}");
    let exports = p.env.clients.rds.describe_export_tasks().send().await.unwrap();
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
    let output: Value = serde_json::from_str(detail["output"].as_str().unwrap()).unwrap();
    let outcomes: Vec<&str> = output["report"]["published"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["unchanged", "unchanged", "unchanged"], "{output:#}");
}

#[tokio::test]
async fn an_export_failure_fails_the_run_with_its_cause_notifies_and_leaves_the_catalog_alone() {
    let p = pipeline().await;
    p.env.control(
        "/_snaplake/exports/faults",
        json!({"export_id": "*", "fail": "KMS key disabled (injected)"}),
    );
    let input = p.input().await;
    let (status, detail) = p.run("run-fails", input).await;
    assert_eq!(status, "FAILED", "{detail:#}");
    assert_eq!(detail["error"], "ExportFailed", "{detail:#}");
    assert!(
        detail["cause"]
            .as_str()
            .unwrap_or_default()
            .contains("KMS key disabled (injected)"),
        "{detail:#}"
    );
    let messages = p.failure_messages().await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    // A failed export writes no export_info, so no S3 event: the wait times
    // out and the poller finds the failure.
    assert_eq!(messages[0]["step"], "CheckExport");
    assert_eq!(messages[0]["error"], "ExportFailed");
    let tables = p
        .env
        .clients
        .glue
        .get_tables()
        .database_name("snaplake_curated")
        .send()
        .await
        .unwrap();
    assert!(tables.table_list().is_empty(), "nothing was published");
}

#[tokio::test]
async fn a_failing_query_leaves_that_table_on_its_old_version_and_names_it() {
    let p = pipeline().await;
    p.env.control(
        "/_snaplake/athena/faults",
        json!({"match": "\"shop_orders\"", "fail": "SYNTAX_ERROR: injected"}),
    );
    let input = p.input().await;
    let (status, detail) = p.run("run-one-table-fails", input).await;
    assert_eq!(status, "FAILED", "{detail:#}");
    assert_eq!(detail["error"], "TablesFailed", "{detail:#}");
    let cause = detail["cause"].as_str().unwrap();
    assert!(
        cause.contains("shop_orders") && cause.contains("SYNTAX_ERROR") && cause.contains("2 table(s) published"),
        "{cause}"
    );
    let glue = &p.env.clients.glue;
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
}

#[tokio::test]
async fn a_retryable_query_failure_runs_the_transform_again_and_the_table_is_published() {
    let p = pipeline().await;
    p.env.control(
        "/_snaplake/athena/faults",
        json!({"match": "UNLOAD", "fail": "GENERIC_INTERNAL_ERROR: internal error, please resubmit", "times": 1}),
    );
    let input = p.input().await;
    let (status, detail) = p.run("run-retries-a-query", input).await;
    assert_eq!(status, "SUCCEEDED", "{detail:#}");
    let history = p.history(detail["arn"].as_str().unwrap()).await;
    assert!(history.len() > 10);
    let glue = &p.env.clients.glue;
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
    p.env.control(
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
    assert_eq!(
        output["check"]["poll"]["plan"]["skipped"][0]["source"], "shop.orders",
        "reported: {output:#}"
    );
    let published: Vec<&str> = output["report"]["published"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["table"].as_str().unwrap())
        .collect();
    assert_eq!(published, ["shop_articles", "shop_customers"]);
}
