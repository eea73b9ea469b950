//! `snaplake doctor`: every precondition of a run, checked read-only, each
//! shown as passed or failed with the fix, so the first run does not find
//! them one at a time.

use std::process::ExitCode;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};
use snaplake::aws::kms;
use snaplake::contract::snapshot_export::{ExportRequest, SourceKind};
use snaplake::export_ops::start_export;
use snaplake::handlers::parse;
use snaplake::pinning::{self, Judged};

use super::exit;
use crate::args::{DoctorArgs, Format};
use crate::failure::{self, Failure};
use crate::output::{self, Table};
use crate::stack::{Aws, Stack};

/// Engines RDS can export snapshots of to S3.
const EXPORTABLE_ENGINES: &[&str] = &["aurora-mysql", "aurora-postgresql", "mysql", "mariadb", "postgres"];

#[derive(Serialize)]
struct Check {
    check: &'static str,
    passed: bool,
    detail: String,
    fix: String,
}

fn pass(check: &'static str, detail: impl Into<String>) -> Check {
    Check {
        check,
        passed: true,
        detail: detail.into(),
        fix: String::new(),
    }
}

fn fail(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        check,
        passed: false,
        detail: detail.into(),
        fix: fix.into(),
    }
}

pub async fn doctor(stack_name: &str, aws: Aws, args: &DoctorArgs, format: Format) -> Result<ExitCode, Failure> {
    let mut checks = vec![identity(&aws).await];
    match Stack::discover(stack_name, aws).await {
        Err(e) => checks.push(fail(
            "stack",
            e.to_string(),
            "the remaining checks need the stack: pass --stack and --region of the deployment",
        )),
        Ok(stack) => {
            checks.push(pass(
                "stack",
                format!(
                    "{} runs {} at {} ({} days)",
                    stack.name,
                    stack.state_machine_arn,
                    stack.schedule.expression,
                    stack.env.config.time_zone.iana_name().unwrap_or("?")
                ),
            ));
            checks.extend(resources(&stack, args).await?);
        }
    }
    let ok = checks.iter().all(|c| c.passed);
    output::print(format, &json!(checks), || {
        let mut table = Table::new(&["", "CHECK", "DETAIL", "FIX"]);
        for c in &checks {
            table.row(vec![
                if c.passed { "ok" } else { "FAIL" }.into(),
                c.check.into(),
                c.detail.clone(),
                c.fix.clone(),
            ]);
        }
        let failed = checks.iter().filter(|c| !c.passed).count();
        table.render() + &format!("\n{} passed, {failed} failed\n", checks.len() - failed)
    });
    Ok(exit(ok))
}

async fn identity(aws: &Aws) -> Check {
    match aws.sts.get_caller_identity().send().await {
        Ok(me) => pass(
            "credentials",
            format!("{} in {}", me.arn().unwrap_or("?"), aws.region()),
        ),
        Err(e) => fail(
            "credentials",
            failure::describe(&e),
            "configure credentials (--profile, AWS_PROFILE or AWS_ACCESS_KEY_ID) and --region",
        ),
    }
}

async fn resources(stack: &Stack, args: &DoctorArgs) -> Result<Vec<Check>, Failure> {
    let cfg = &stack.env.config;
    let day = args.date.unwrap_or_else(|| {
        let today = Timestamp::now().to_zoned(cfg.time_zone.clone()).date();
        today.yesterday().unwrap_or(today)
    });
    let mut export = stack.run_input["export"].clone();
    export["logical_time"] = json!(stack.logical_time(day)?.to_string());
    let request: ExportRequest = parse("schedule input `export`", export)?;
    let bucket = request.bucket.clone().unwrap_or_else(|| cfg.bucket.clone());
    // The function's own rules for its input, so a malformed source id or a
    // value the deployment does not pin is named here, not answered by RDS.
    let schedule = match request
        .validate()
        .and_then(|()| pinning::check_export(cfg, Judged::Input(&request)))
    {
        Ok(()) => pass(
            "schedule input",
            format!("export of {} as snapshot-export checks it", request.source_id),
        ),
        Err(e) => fail(
            "schedule input",
            e.to_string(),
            "fix the schedule's input with the Terraform module's variables and apply",
        ),
    };
    let mut checks = vec![
        schedule,
        source(stack, &request).await,
        match start_export::day_snapshot(&stack.env, &request, Timestamp::now()).await {
            Ok(s) => pass("snapshot", format!("{day}: {} (created {})", s.id, s.created)),
            Err(e) => fail(
                "snapshot",
                format!("{day}: {e}"),
                "check the backup window and retention of the source, or pass --date of a day that has one",
            ),
        },
        match kms::check_export_key(&stack.env.clients.kms, &request.kms_key).await {
            Ok(arn) => key_policy(stack, &arn, &request.export_role_arn).await,
            Err(e) => fail("kms key", e.to_string(), "see the fix in the detail"),
        },
        curated_key(stack).await,
        export_role(stack, &request.export_role_arn, &bucket).await,
        bucket_check(stack, &bucket).await,
        eventbridge_check(stack, &bucket).await,
    ];
    let policy = stack.policy().await;
    checks.push(match &policy {
        Ok(p) => match p.check() {
            Ok(()) => pass(
                "masking policy",
                format!(
                    "{} table(s) published; {}",
                    p.tables.len(),
                    cfg.policy_digest
                        .as_deref()
                        .map(|d| format!("pinned, sha256 {d}"))
                        .unwrap_or_else(|| "NOT pinned: runs bring their own".into())
                ),
            ),
            Err(e) => fail(
                "masking policy",
                e.to_string(),
                "write one with `snaplake policy init --out policy.json`, review it, set masking_policy and apply",
            ),
        },
        Err(e) => fail("masking policy", e.to_string(), "apply the Terraform module again"),
    });
    let salted = policy.as_ref().is_ok_and(|p| p.uses_salt());
    checks.push(salt(stack, salted).await);
    for database in [&cfg.raw_database, &cfg.curated_database] {
        checks.push(
            match stack.env.clients.glue.get_database().name(database).send().await {
                Ok(_) => pass("glue database", database.clone()),
                Err(e) => fail(
                    "glue database",
                    format!("{database}: {}", failure::describe(&e)),
                    "apply the Terraform module (it creates both databases), or fix SNAPLAKE_*_DATABASE",
                ),
            },
        );
    }
    let workgroup = &cfg.athena_workgroup;
    checks.push(
        match stack
            .env
            .clients
            .athena
            .get_work_group()
            .work_group(workgroup)
            .send()
            .await
        {
            Ok(out) => match out.work_group().and_then(|w| w.state()).map(|s| s.as_str()) {
                Some("ENABLED") => pass("athena workgroup", workgroup.clone()),
                state => fail(
                    "athena workgroup",
                    format!("{workgroup} is {}", state.unwrap_or("in an unknown state")),
                    "enable the workgroup in the Athena console",
                ),
            },
            Err(e) => fail(
                "athena workgroup",
                format!("{workgroup}: {}", failure::describe(&e)),
                "apply the Terraform module, or fix SNAPLAKE_ATHENA_WORKGROUP",
            ),
        },
    );
    Ok(checks)
}

async fn source(stack: &Stack, request: &ExportRequest) -> Check {
    let rds = &stack.env.clients.rds;
    let id = &request.source_id;
    let engine = match request.source_kind {
        SourceKind::Cluster => rds
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
            .map(|o| o.db_clusters().first().and_then(|c| c.engine()).map(str::to_string))
            .map_err(|e| failure::describe(&e)),
        SourceKind::Instance => rds
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
            .map(|o| o.db_instances().first().and_then(|c| c.engine()).map(str::to_string))
            .map_err(|e| failure::describe(&e)),
    };
    match engine {
        Ok(Some(engine)) if EXPORTABLE_ENGINES.contains(&engine.as_str()) => {
            pass("source", format!("{id}: {engine}, which RDS can export"))
        }
        Ok(Some(engine)) => fail(
            "source",
            format!("{id} runs {engine}, which RDS cannot export to S3"),
            format!("export supports {}", EXPORTABLE_ENGINES.join(", ")),
        ),
        Ok(None) | Err(_) => fail(
            "source",
            format!("{id}: {}", engine.err().unwrap_or_else(|| "not found".into())),
            "check source_id and source_kind (cluster for Aurora, instance otherwise) and --region",
        ),
    }
}

/// The curated key: the one snaplake's Athena workgroup encrypts UNLOAD's
/// output with, enabled. A disabled one fails every Transform.
async fn curated_key(stack: &Stack) -> Check {
    let workgroup = &stack.env.config.athena_workgroup;
    let out = match stack
        .env
        .clients
        .athena
        .get_work_group()
        .work_group(workgroup)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) => {
            return fail(
                "curated key",
                format!("workgroup {workgroup}: {}", failure::describe(&e)),
                "allow athena:GetWorkGroup to whoever runs doctor, or apply the Terraform module again",
            );
        }
    };
    let key = out
        .work_group()
        .and_then(|w| w.configuration())
        .and_then(|c| c.result_configuration())
        .and_then(|r| r.encryption_configuration())
        .and_then(|e| e.kms_key())
        .map(str::to_string);
    let Some(key) = key else {
        return fail(
            "curated key",
            format!("workgroup {workgroup} does not encrypt its results and UNLOAD's with a KMS key"),
            "set the workgroup's encryption to SSE_KMS with the curated key (the Terraform module does)",
        );
    };
    match stack.env.clients.kms.describe_key().key_id(&key).send().await {
        Ok(out) if out.key_metadata().is_some_and(|m| m.enabled()) => {
            let roles = function_roles(stack, CURATED_KEY_USE);
            let arn = out.key_metadata().and_then(|m| m.arn()).unwrap_or(&key).to_string();
            match refused_by_key_policy(stack, "curated key", &arn, &roles).await {
                Err(check) => check,
                Ok(refused) if refused.is_empty() => pass(
                    "curated key",
                    format!(
                        "{key}: enabled (workgroup {workgroup}), its policy lets in the functions that write curated objects"
                    ),
                ),
                Ok(refused) => fail(
                    "curated key",
                    format!("the key policy of {key} does not let in {}", refused.join("; ")),
                    "merge the statements of the Terraform module's output curated_key_policy_json into the key policy \
                     (its first lets the account's IAM policies grant the key's use)",
                ),
            }
        }
        Ok(out) => fail(
            "curated key",
            format!(
                "{key} is {} (workgroup {workgroup}): every Transform fails",
                out.key_metadata()
                    .and_then(|m| m.key_state())
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_else(|| "not enabled".into())
            ),
            "enable the key (aws kms enable-key; cancel-key-deletion first if it is pending deletion)",
        ),
        Err(e) => fail(
            "curated key",
            format!("{key}: {}", failure::describe(&e)),
            "allow kms:DescribeKey on the curated key to whoever runs doctor",
        ),
    }
}

/// What each snaplake function's role does with the raw key in a run, as
/// the module's key policy grants it: the functions that write raw objects
/// (S3 SSE-KMS: a data key to write, Decrypt to read), and snapshot-export,
/// which checks the key and lets RDS grant itself its use.
const RAW_KEY_USE: &[(&str, &[&str])] = &[
    ("export-callback", WRITE),
    ("export-poller", WRITE),
    ("query-runner", WRITE),
    ("catalog-swap", WRITE),
    ("snapshot-export", &["kms:DescribeKey", "kms:CreateGrant"]),
];

/// The curated key's users among the functions: query-runner (Athena writes
/// UNLOAD's files as it) and catalog-swap (the run's manifest).
const CURATED_KEY_USE: &[(&str, &[&str])] = &[("query-runner", WRITE), ("catalog-swap", WRITE)];

/// What writing and reading SSE-KMS objects needs of the key.
const WRITE: &[&str] = &["kms:Decrypt", "kms:GenerateDataKey"];

/// The functions' roles with what each does with a key, named as the module
/// names them, after catalog-swap's (the role the CLI finds the stack by).
fn function_roles(stack: &Stack, uses: &[(&str, &'static [&'static str])]) -> Vec<(String, &'static [&'static str])> {
    match stack.function_role.strip_suffix("-catalog-swap") {
        Some(stem) => uses
            .iter()
            .map(|(f, actions)| (format!("{stem}-{f}"), *actions))
            .collect(),
        None => vec![(stack.function_role.clone(), WRITE)],
    }
}

/// The raw key's policy lets the export role and each function's role do
/// what a run needs with the key.
async fn key_policy(stack: &Stack, key_arn: &str, export_role: &str) -> Check {
    let mut roles = vec![(export_role.to_string(), WRITE)];
    roles.extend(function_roles(stack, RAW_KEY_USE));
    match refused_by_key_policy(stack, "kms key", key_arn, &roles).await {
        Err(check) => check,
        Ok(refused) if refused.is_empty() => pass(
            "kms key",
            format!(
                "{key_arn}: customer managed, enabled, its policy lets in snaplake's {} roles",
                roles.len()
            ),
        ),
        Ok(refused) => fail(
            "kms key",
            format!("the key policy of {key_arn} does not let in {}", refused.join("; ")),
            "merge the statements of the Terraform module's output raw_key_policy_json into the key policy \
             (or let the account root use the key, so the roles' IAM policies decide)",
        ),
    }
}

/// Which of `roles` the key's policy does not let do their actions, each as
/// "role (actions)": by name, or through the account root (then the role's
/// IAM policy decides, which doctor does not read). A statement with a
/// condition (but CreateGrant's `kms:GrantIsForAWSResource`) is taken as not
/// applying, and a Deny wins: doctor reads the policy, it does not simulate it.
async fn refused_by_key_policy(
    stack: &Stack,
    check: &'static str,
    key_arn: &str,
    roles: &[(String, &[&str])],
) -> Result<Vec<String>, Check> {
    let policy = match stack
        .env
        .clients
        .kms
        .get_key_policy()
        .key_id(key_arn)
        .policy_name("default")
        .send()
        .await
    {
        Ok(out) => out.policy().unwrap_or_default().to_string(),
        Err(e) => {
            return Err(fail(
                check,
                format!("{key_arn}: {}", failure::describe(&e)),
                "allow kms:GetKeyPolicy to whoever runs doctor",
            ));
        }
    };
    let policy: Value = serde_json::from_str(&policy).unwrap_or(Value::Null);
    let account = key_arn.split(':').nth(4).unwrap_or_default();
    Ok(roles
        .iter()
        .filter_map(|(role, actions)| {
            let refused: Vec<&str> = actions
                .iter()
                .copied()
                .filter(|a| !lets_use(&policy, role, account, a))
                .collect();
            (!refused.is_empty()).then(|| format!("{role} ({})", refused.join(", ")))
        })
        .collect())
}

/// Whether the key policy lets `role` do `action`: an Allow naming the role,
/// the account or `*`, whose actions cover it, with no condition (but
/// `kms:GrantIsForAWSResource` on CreateGrant), and no Deny of it.
fn lets_use(policy: &Value, role: &str, account: &str, action: &str) -> bool {
    let root = format!("arn:aws:iam::{account}:root");
    let statements = one_or_many(&policy["Statement"]);
    let applies = |s: &Value| {
        let principals = match &s["Principal"] {
            Value::String(p) => vec![p.as_str()],
            p => strings(&p["AWS"]),
        };
        let actions = strings(&s["Action"]);
        principals
            .iter()
            .any(|p| *p == "*" || *p == role || *p == root || *p == account)
            && actions
                .iter()
                .any(|a| glob(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
    };
    let unconditional = |s: &Value| match s["Condition"].as_object() {
        None => true,
        Some(c) => {
            action == "kms:CreateGrant"
                && c.len() == 1
                && c.get("Bool").and_then(|b| b.as_object()).is_some_and(|b| {
                    b.len() == 1
                        && b.get("kms:GrantIsForAWSResource")
                            .is_some_and(|v| v == "true" || v == true)
                })
        }
    };
    let denied = statements.iter().any(|s| s["Effect"] == "Deny" && applies(s));
    !denied
        && statements
            .iter()
            .any(|s| s["Effect"] == "Allow" && applies(s) && unconditional(s))
}

/// A policy element that is one value or a list of them, as a list.
fn one_or_many(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(many) => many.iter().collect(),
        Value::Null => Vec::new(),
        one => vec![one],
    }
}

/// A policy element that is a string or a list of strings (`Action`,
/// `Principal.AWS`), as a list; anything else is no string.
fn strings(value: &Value) -> Vec<&str> {
    one_or_many(value).into_iter().filter_map(Value::as_str).collect()
}

/// IAM's action wildcards: `*` any run of characters, `?` one.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern.len() == text.len() && pattern.chars().zip(text.chars()).all(|(p, t)| p == '?' || p == t),
        Some((head, rest)) => {
            text.len() >= head.len()
                && glob(head, &text[..head.len()])
                && (0..=text.len() - head.len()).any(|i| glob(rest, &text[head.len() + i..]))
        }
    }
}

/// RDS must be able to assume the role, and the role to write the bucket.
async fn export_role(stack: &Stack, role_arn: &str, bucket: &str) -> Check {
    let name = role_arn.rsplit('/').next().unwrap_or(role_arn);
    let iam = &stack.aws.iam;
    let role = match iam.get_role().role_name(name).send().await {
        Ok(out) => out,
        Err(e) => {
            return fail(
                "export role",
                format!("{role_arn}: {}", failure::describe(&e)),
                "apply the Terraform module (it creates the role), or fix export_role_arn in the schedule's input",
            );
        }
    };
    let trust = role
        .role()
        .and_then(|r| r.assume_role_policy_document())
        .map(decode)
        .unwrap_or_default();
    if !trust.contains("export.rds.amazonaws.com") {
        return fail(
            "export role",
            format!("{name} is not trusted by export.rds.amazonaws.com"),
            "add export.rds.amazonaws.com as the service principal of the role's trust policy",
        );
    }
    let mut documents = Vec::new();
    if let Ok(list) = iam.list_role_policies().role_name(name).send().await {
        for policy in list.policy_names() {
            if let Ok(p) = iam.get_role_policy().role_name(name).policy_name(policy).send().await {
                documents.push(decode(p.policy_document()));
            }
        }
    }
    let writes = documents
        .iter()
        .any(|d| d.contains("s3:PutObject") && (d.contains(&format!("arn:aws:s3:::{bucket}")) || d.contains("\"*\"")));
    if writes {
        pass(
            "export role",
            format!("{name}: trusted by RDS export, may write to {bucket}"),
        )
    } else {
        fail(
            "export role",
            format!("no inline policy of {name} allows s3:PutObject on {bucket}"),
            format!(
                "allow s3:PutObject*, s3:GetObject*, s3:ListBucket, s3:DeleteObject* and s3:GetBucketLocation on arn:aws:s3:::{bucket} and arn:aws:s3:::{bucket}/*"
            ),
        )
    }
}

/// IAM returns policy documents URL-encoded.
fn decode(text: &str) -> String {
    snaplake::url::decode(text).unwrap_or_else(|| text.to_string())
}

async fn bucket_check(stack: &Stack, bucket: &str) -> Check {
    let s3 = &stack.env.clients.s3;
    let region = match s3.get_bucket_location().bucket(bucket).send().await {
        // us-east-1 answers with no constraint.
        Ok(out) => out
            .location_constraint()
            .map(|c| c.as_str().to_string())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "us-east-1".into()),
        Err(e) => {
            return fail(
                "bucket",
                format!("{bucket}: {}", failure::describe(&e)),
                "apply the Terraform module, or fix SNAPLAKE_BUCKET",
            );
        }
    };
    if region != stack.aws.region() {
        return fail(
            "bucket",
            format!("{bucket} is in {region}, the deployment in {}", stack.aws.region()),
            "RDS exports only to a bucket in the snapshot's region: use a bucket there",
        );
    }
    let kms = match s3.get_bucket_encryption().bucket(bucket).send().await {
        Ok(out) => out
            .server_side_encryption_configuration()
            .map(|c| {
                c.rules().iter().any(|r| {
                    r.apply_server_side_encryption_by_default()
                        .is_some_and(|d| d.sse_algorithm().as_str().starts_with("aws:kms"))
                })
            })
            .unwrap_or(false),
        Err(_) => false,
    };
    if kms {
        pass("bucket", format!("{bucket}: {region}, SSE-KMS by default"))
    } else {
        fail(
            "bucket",
            format!("{bucket} is not encrypted with SSE-KMS by default"),
            "set default encryption to aws:kms with the lake's key (the Terraform module does)",
        )
    }
}

/// export_info files reach export-callback through EventBridge: the bucket
/// must send its events there (for an existing bucket the module leaves its
/// notification configuration alone, so the operator turns this on).
async fn eventbridge_check(stack: &Stack, bucket: &str) -> Check {
    let fix = format!(
        "turn on EventBridge delivery for {bucket} (it adds to the bucket's other notifications): \
         S3 console > {bucket} > Properties > Amazon EventBridge > On, or \
         `aws s3api put-bucket-notification-configuration --bucket {bucket} --notification-configuration \
         '{{\"EventBridgeConfiguration\": {{}}, ...the existing configurations...}}'`"
    );
    match stack
        .env
        .clients
        .s3
        .get_bucket_notification_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(out) if out.event_bridge_configuration().is_some() => pass(
            "eventbridge",
            format!("{bucket} sends its events to EventBridge (export_info resumes runs)"),
        ),
        Ok(_) => fail(
            "eventbridge",
            format!(
                "{bucket} does not send its events to EventBridge: runs wait for their export until the wait times out"
            ),
            fix,
        ),
        Err(e) => fail("eventbridge", format!("{bucket}: {}", failure::describe(&e)), fix),
    }
}

/// The salt of `hash_salted`: query-runner's secret exists and has a
/// current value. Described, never read: an operator needs no right to it.
async fn salt(stack: &Stack, needed: bool) -> Check {
    let function = format!("{}-query-runner", stack.name);
    let secret = match stack
        .aws
        .lambda
        .get_function_configuration()
        .function_name(&function)
        .send()
        .await
    {
        Ok(c) => c
            .environment()
            .and_then(|e| e.variables())
            .and_then(|v| v.get("SNAPLAKE_HASH_SALT_SECRET"))
            .filter(|s| !s.is_empty())
            .cloned(),
        Err(e) => {
            return fail(
                "hash salt",
                format!("{function}: {}", failure::describe(&e)),
                "apply the Terraform module",
            );
        }
    };
    match (secret, needed) {
        (None, false) => pass("hash salt", "not configured; the policy does not use hash_salted"),
        (None, true) => fail(
            "hash salt",
            "the policy uses hash_salted but query-runner has no SNAPLAKE_HASH_SALT_SECRET",
            "set the module's hash_salt (TF_VAR_hash_salt) and hash_salt_version = 1, then apply",
        ),
        (Some(id), _) => {
            let secrets = snaplake::aws::secrets::client(&stack.aws.sdk);
            match snaplake::aws::secrets::has_current_value(&secrets, &id).await {
                Ok(true) => pass("hash salt", format!("{id} has a current value (not read)")),
                Ok(false) => fail(
                    "hash salt",
                    format!("{id} has no current value"),
                    "set TF_VAR_hash_salt, raise hash_salt_version, then apply",
                ),
                Err(e) => fail(
                    "hash salt",
                    e.to_string(),
                    "let this principal call secretsmanager:DescribeSecret on it (never GetSecretValue)",
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_policy_lets_a_role_use_the_key_by_name_or_through_the_account() {
        let role = "arn:aws:iam::123456789012:role/export";
        let account = "123456789012";
        let by_name = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": [role]}, "Action": "kms:*"}]});
        let by_account = json!({"Statement": {"Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": ["kms:Decrypt", "kms:GenerateData*"]}});
        assert!(lets_use(&by_name, role, account, "kms:GenerateDataKey"));
        assert!(lets_use(&by_account, role, account, "kms:GenerateDataKey"));
        assert!(lets_use(&by_account, role, account, "kms:Decrypt"));
        let anyone = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt"}]});
        assert!(lets_use(&anyone, role, account, "kms:Decrypt"));
        assert!(!lets_use(&anyone, role, account, "kms:GenerateDataKey"));
        assert!(
            !lets_use(&json!({}), role, account, "kms:Decrypt"),
            "no statement allows nothing"
        );
    }

    #[test]
    fn administering_a_key_a_condition_another_role_or_a_deny_lets_nobody_use_it() {
        let role = "arn:aws:iam::123456789012:role/export";
        let account = "123456789012";
        let root = "arn:aws:iam::123456789012:root";
        // The module's own raw key: the account administers it, but cannot use it.
        let administer = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": root},
            "Action": ["kms:Describe*", "kms:Put*", "kms:Get*", "kms:Enable*"]}]});
        assert!(!lets_use(&administer, role, account, "kms:GenerateDataKey"));
        assert!(lets_use(&administer, role, account, "kms:DescribeKey"));
        let through_secrets_manager = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": root},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}}]});
        assert!(!lets_use(&through_secrets_manager, role, account, "kms:Decrypt"));
        let other = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/x"}, "Action": "kms:*"}]});
        assert!(!lets_use(&other, role, account, "kms:Decrypt"));
        let denied = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*"},
            {"Effect": "Deny", "Principal": {"AWS": role}, "Action": "kms:Decrypt"}]});
        assert!(!lets_use(&denied, role, account, "kms:Decrypt"));
        assert!(lets_use(&denied, role, account, "kms:GenerateDataKey"));
        let grant = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": role}, "Action": "kms:CreateGrant",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}]});
        assert!(lets_use(&grant, role, account, "kms:CreateGrant"));
    }

    #[test]
    fn action_wildcards_match_as_iam_does() {
        assert!(glob("kms:*", "kms:decrypt"));
        assert!(glob("kms:generatedata*", "kms:generatedatakey"));
        assert!(glob("kms:decryp?", "kms:decrypt"));
        assert!(glob("*", "kms:decrypt"));
        assert!(!glob("kms:describe*", "kms:decrypt"));
        assert!(!glob("kms:decrypt", "kms:decrypts"));
    }
}
