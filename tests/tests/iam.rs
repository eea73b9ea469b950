//! Each function runs as its own role, with the policy the Terraform module
//! gives it, and the stand-in enforces IAM as AWS does: a policy missing an
//! action a function calls, or naming the wrong resource or prefix, fails the
//! run with AccessDenied naming the action; the module's policy passes.

use std::time::Duration;

use serde_json::{Value, json};
use snaplake_tests::{Deployment, deploy, function_policy, run_execution, workgroup_key};

const BUCKET: &str = "snaplake-iam";

/// Replaces `role`'s inline policy `name`.
async fn put_role_policy(d: &Deployment, role: &str, name: &str, policy: &Value) {
    aws_sdk_iam::Client::new(&d.standin.sdk)
        .put_role_policy()
        .role_name(role)
        .policy_name(name)
        .policy_document(policy.to_string())
        .send()
        .await
        .unwrap();
}

/// `role`'s inline policy `name`.
async fn role_policy(d: &Deployment, role: &str, name: &str) -> Value {
    let text = aws_sdk_iam::Client::new(&d.standin.sdk)
        .get_role_policy()
        .role_name(role)
        .policy_name(name)
        .send()
        .await
        .unwrap()
        .policy_document()
        .to_string();
    serde_json::from_str(&urlencoding_decode(&text)).unwrap()
}

async fn put_policy(d: &Deployment, function: &str, policy: &Value) {
    let (role, name) = (format!("{}-{function}", d.stack), format!("{function}-least-privilege"));
    put_role_policy(d, &role, &name, policy).await;
}

/// The module's policy for `function` in deployment `d`.
async fn module_policy(d: &Deployment, function: &str) -> Value {
    role_policy(
        d,
        &format!("{}-{function}", d.stack),
        &format!("{function}-least-privilege"),
    )
    .await
}

fn urlencoding_decode(text: &str) -> String {
    // IAM returns policy documents URL-encoded.
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = text.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// `policy` with `action` taken out of the statement `sid` (and the statement
/// dropped when it held only that action).
fn without_action(mut policy: Value, sid: &str, action: &str) -> Value {
    let statements = policy["Statement"].as_array_mut().unwrap();
    for statement in statements.iter_mut() {
        if statement["Sid"] == sid {
            let actions = statement["Action"].as_array_mut().unwrap();
            assert!(actions.iter().any(|a| a == action), "{sid} does not hold {action}");
            actions.retain(|a| a != action);
        }
    }
    statements.retain(|s| s["Action"].as_array().is_none_or(|a| !a.is_empty()));
    policy
}

/// `policy` with the statement `sid`'s `field` set to `value`.
fn with(mut policy: Value, sid: &str, field: &str, value: Value) -> Value {
    let statement = policy["Statement"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s["Sid"] == sid)
        .unwrap_or_else(|| panic!("no statement {sid}"));
    statement[field] = value;
    policy
}

#[tokio::test]
async fn a_missing_action_a_wrong_resource_or_prefix_is_access_denied_and_the_module_policy_passes() {
    let d = deploy("snaplake-iam", BUCKET).await;
    let mut input = d.run_input.clone();
    input["logical_time"] = json!("2026-11-20T19:00:00Z");
    let module_export = module_policy(&d, "snapshot-export").await;
    let module_poller = module_policy(&d, "export-poller").await;
    assert_eq!(
        module_export,
        function_policy(
            "snapshot-export",
            &[
                ("stack", &d.stack),
                ("bucket", BUCKET),
                ("raw_key", input["export"]["kms_key"].as_str().unwrap()),
                ("curated_key", &workgroup_key(&d.standin.context(BUCKET)).await),
                ("salt_secret", "unused"),
                ("export_role", input["export"]["export_role_arn"].as_str().unwrap()),
            ]
        )
    );

    let wrong = [
        (
            "snapshot-export",
            without_action(
                module_export.clone(),
                "StartExportNoResourceLevel",
                "rds:StartExportTask",
            ),
            "rds:StartExportTask",
        ),
        (
            "export-poller",
            with(
                module_poller.clone(),
                "WritePlans",
                "Resource",
                json!(format!("arn:aws:s3:::{BUCKET}/_snaplake/plan/*")),
            ),
            "s3:PutObject",
        ),
        (
            "export-poller",
            with(
                module_poller.clone(),
                "ListExports",
                "Condition",
                json!({"StringLike": {"s3:prefix": ["export/*"]}}),
            ),
            "s3:ListBucket",
        ),
    ];
    for (i, (function, policy, action)) in wrong.iter().enumerate() {
        put_policy(&d, function, policy).await;
        let (status, detail) = run_execution(
            &d.standin,
            &d.machine,
            &format!("wrong-{i}"),
            &input,
            Duration::from_secs(120),
        )
        .await;
        assert_eq!(status, "FAILED", "{function} without {action}: {detail}");
        let text = detail.to_string();
        assert!(
            text.contains("AccessDenied") || text.contains("not authorized"),
            "{function} without {action} fails for another reason: {detail}"
        );
        assert!(text.contains(action), "the failure does not name {action}: {detail}");
        put_policy(&d, "snapshot-export", &module_export).await;
        put_policy(&d, "export-poller", &module_poller).await;
    }

    let (status, detail) = run_execution(
        &d.standin,
        &d.machine,
        "module-policies",
        &input,
        Duration::from_secs(240),
    )
    .await;
    assert_eq!(status, "SUCCEEDED", "with the module's policies: {detail}");
}

/// Write, audit, publish as catalog-swap's role: without
/// `s3:PutObjectTagging` the audited version cannot be made readable, so
/// nothing is published and the run names the refused action; without
/// `glue:DeleteTable` on `*__candidate` the tables publish but their
/// candidates stay behind (a logged warning, the next stage replaces them).
#[tokio::test]
async fn catalog_swap_without_tagging_publishes_nothing_and_without_delete_table_keeps_its_candidates() {
    let d = deploy("snaplake-audit-iam", BUCKET).await;
    let mut input = d.run_input.clone();
    input["logical_time"] = json!("2026-11-20T19:00:00Z");
    let module = module_policy(&d, "catalog-swap").await;
    let glue = &d.standin.clients.glue;

    put_policy(
        &d,
        "catalog-swap",
        &without_action(module.clone(), "TagAuditedVersionsReadable", "s3:PutObjectTagging"),
    )
    .await;
    let (status, detail) = run_execution(&d.standin, &d.machine, "no-tagging", &input, Duration::from_secs(240)).await;
    assert_eq!(status, "FAILED", "{detail}");
    let cause = detail["cause"].as_str().unwrap_or_default().to_string();
    let manifest = cause
        .split_once("Every table's outcome and cause: s3://")
        .unwrap_or_else(|| panic!("no manifest in {cause}"))
        .1
        .split(['"', ' ', '\\'])
        .next()
        .unwrap();
    let (bucket, key) = manifest.split_once('/').unwrap();
    let body = d
        .standin
        .clients
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let manifest = String::from_utf8(body.body.collect().await.unwrap().to_vec()).unwrap();
    assert!(
        manifest.contains("PutObjectTagging") && manifest.contains("AccessDenied"),
        "the run's manifest names the refused tagging: {manifest}"
    );
    for table in ["shop_customers", "shop_orders", "shop_articles"] {
        let curated = glue
            .get_table()
            .database_name("snaplake_curated")
            .name(table)
            .send()
            .await;
        assert!(curated.is_err(), "{table} was published without being tagged readable");
    }

    put_policy(
        &d,
        "catalog-swap",
        &without_action(module.clone(), "DropAuditCandidateTables", "glue:DeleteTable"),
    )
    .await;
    let (status, detail) = run_execution(
        &d.standin,
        &d.machine,
        "no-delete-table",
        &input,
        Duration::from_secs(240),
    )
    .await;
    assert_eq!(
        status, "SUCCEEDED",
        "dropping a candidate is not the run's failure: {detail}"
    );
    let candidate = glue
        .get_table()
        .database_name("snaplake_raw")
        .name("shop_orders__candidate")
        .send()
        .await;
    assert!(
        candidate.is_ok(),
        "glue:DeleteTable was refused, so the candidate stays"
    );

    // Without its run's history, Report cannot count the run: the run
    // succeeds and its manifest has no cost (the module's policy gives one:
    // tests/tests/pipeline.rs).
    put_policy(
        &d,
        "catalog-swap",
        &without_action(module.clone(), "ReadItsRunsHistory", "states:GetExecutionHistory"),
    )
    .await;
    let (status, detail) = run_execution(&d.standin, &d.machine, "no-history", &input, Duration::from_secs(240)).await;
    assert_eq!(status, "SUCCEEDED", "a cost is never the run's failure: {detail}");
    let output: Value = serde_json::from_str(detail["output"].as_str().unwrap()).unwrap();
    let manifest = snaplake_tests::run_manifest(&d.standin.sdk, &output).await;
    assert!(
        manifest.get("cost").is_none(),
        "states:GetExecutionHistory was refused, so no cost: {manifest:#}"
    );
    put_policy(&d, "catalog-swap", &module).await;
}

/// S3 answers a GetObject of a missing key with 404 only to a caller that
/// may list the bucket (without a prefix: a GetObject carries none), else
/// with 403 AccessDenied; the stand-in does the same. Releasing a day lock
/// that is gone (released already, or never taken) reads a missing key: with
/// the module's policy it is "not released", with ListBucket only on the
/// tokens' prefix (the module's policy before) it was an AccessDenied.
#[tokio::test]
async fn releasing_a_day_lock_that_is_gone_reads_404_with_the_module_policy_and_403_without_list_bucket() {
    let d = deploy("snaplake-iam-404", "snaplake-iam-404").await;
    let release = json!({
        "day_lock": "release",
        "logical_time": "2026-11-20T19:00:00Z",
        "execution": format!("arn:aws:states:us-east-1:123456789012:execution:{}-pipeline:gone", d.stack),
    });
    let invoke = |payload: Value| {
        let lambda = aws_sdk_lambda::Client::new(&d.standin.sdk);
        let name = format!("{}-export-callback", d.stack);
        async move {
            let out = lambda
                .invoke()
                .function_name(name)
                .payload(aws_sdk_lambda::primitives::Blob::new(payload.to_string()))
                .send()
                .await
                .unwrap();
            let answer: Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
            (out.function_error().map(str::to_string), answer)
        }
    };

    let (error, answer) = invoke(release.clone()).await;
    assert_eq!(error, None, "with the module's policy: {answer}");
    assert_eq!(answer[0]["released"], json!(false), "{answer}");

    let module = module_policy(&d, "export-callback").await;
    let prefix_only = with(
        module.clone(),
        "ListTaskTokensAndMissingKeysAnswer404",
        "Condition",
        json!({"StringLike": {"s3:prefix": ["_snaplake/tokens/*"]}}),
    );
    put_policy(&d, "export-callback", &prefix_only).await;
    let (error, answer) = invoke(release).await;
    put_policy(&d, "export-callback", &module).await;
    assert!(
        error.is_some(),
        "a missing lock read without ListBucket should be refused: {answer}"
    );
    let text = answer.to_string();
    assert!(text.contains("AccessDenied") || text.contains("denied"), "{answer}");
}

/// The state machine's own calls are made as its role, as on AWS: the
/// stand-in's engine signs them with the role's credentials, so the role's
/// policy (the module's, from function-policies.json) decides them. Without
/// the ResultWriter's s3:PutObject, or lambda:InvokeFunction on a function,
/// the run fails naming the action; with the module's policy it succeeds.
#[tokio::test]
async fn the_state_machine_calls_as_its_role_and_a_narrowed_role_fails_the_run() {
    let d = deploy("snaplake-iam-states", "snaplake-iam-states").await;
    let mut input = d.run_input.clone();
    input["logical_time"] = json!("2026-11-20T19:00:00Z");
    let role = format!("{}-states", d.stack);
    let module = role_policy(&d, &role, "run-the-pipeline").await;
    let wrong = [
        (
            without_action(module.clone(), "WriteTheMapResults", "s3:PutObject"),
            "s3:PutObject",
        ),
        (
            without_action(module.clone(), "InvokeTheFunctions", "lambda:InvokeFunction"),
            "lambda:InvokeFunction",
        ),
    ];
    for (i, (policy, action)) in wrong.into_iter().enumerate() {
        put_role_policy(&d, &role, "run-the-pipeline", &policy).await;
        let (status, detail) = run_execution(
            &d.standin,
            &d.machine,
            &format!("states-{i}"),
            &input,
            Duration::from_secs(120),
        )
        .await;
        put_role_policy(&d, &role, "run-the-pipeline", &module).await;
        assert_eq!(status, "FAILED", "the state machine's role without {action}: {detail}");
        let text = detail.to_string();
        assert!(
            text.contains("AccessDenied") || text.contains("not authorized"),
            "without {action} the run fails for another reason: {detail}"
        );
    }
    let (status, detail) = run_execution(
        &d.standin,
        &d.machine,
        "states-module",
        &input,
        Duration::from_secs(240),
    )
    .await;
    assert_eq!(status, "SUCCEEDED", "with the module's policy: {detail}");
}

/// RDS's export writes as the export role it was given, with the export's
/// key: without the role's kms:GenerateDataKey on that key the export fails
/// and the run with it, its cause naming the role.
#[tokio::test]
async fn the_export_writes_as_its_role_and_fails_without_the_key() {
    let d = deploy("snaplake-iam-export", "snaplake-iam-export").await;
    let mut input = d.run_input.clone();
    input["logical_time"] = json!("2026-11-20T19:00:00Z");
    let role = format!("{}-rds-export", d.stack);
    let module = role_policy(&d, &role, "write-exports").await;
    let narrowed = without_action(module.clone(), "RawKeyForExports", "kms:GenerateDataKey");
    put_role_policy(&d, &role, "write-exports", &narrowed).await;
    let (status, detail) = run_execution(
        &d.standin,
        &d.machine,
        "export-no-key",
        &input,
        Duration::from_secs(120),
    )
    .await;
    put_role_policy(&d, &role, "write-exports", &module).await;
    assert_eq!(
        status, "FAILED",
        "the export role without kms:GenerateDataKey: {detail}"
    );
    let text = detail.to_string();
    assert!(
        text.contains(&role) && text.contains("kms:GenerateDataKey"),
        "the cause names the role and the action: {detail}"
    );
}
