//! The export a run makes or adopts, as the deployment pins it: the bucket,
//! the export prefix, the export id prefix, the source and its kind, the
//! export role and the KMS key (the raw key). Anyone allowed
//! `states:StartExecution` can write a run's input; without these pins, such
//! a caller could have RDS export the whole database to their own bucket,
//! under their own key, or have snaplake adopt an export they made there.
//!
//! One table ([`pins`]) says what is pinned and where a run input and an
//! export task give each value; [`check_export`] judges either against it.

use aws_sdk_rds::types::ExportTask;

use crate::config::Config;
use crate::contract::snapshot_export::{ExportRequest, SourceKind};
use crate::error::Error;

/// What the pins judge: a run's input, or an export task a run would adopt.
#[derive(Debug, Clone, Copy)]
pub enum Judged<'a> {
    /// A run's input, before anything is exported.
    Input(&'a ExportRequest),
    /// An existing export task, found by the run's export id or the input's
    /// `export_id`, before it is adopted. `source_snapshots` are the ARNs of
    /// the snapshots of the pinned source: the task must export one of them.
    Task {
        task: &'a ExportTask,
        source_snapshots: &'a [String],
    },
}

/// How a value must compare with the one the deployment pins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// The same value.
    Same,
    /// The same KMS key: a pinned key ARN is matched only by that ARN, since
    /// a key id or an alias may name another key.
    Key,
    /// An export id under the pinned prefix: `<prefix>-…`.
    IdPrefix,
    /// An S3 prefix at or below the pinned one.
    Under,
    /// The pinned source; an export task must export one of its snapshots.
    Source,
}

/// One value the deployment pins: the variable, its value (`None`: not
/// pinned, as in a deployment made without the module), how another value
/// must compare with it, and where the run input and an export task give it.
struct Pin<'a> {
    variable: &'static str,
    pinned: Option<&'a str>,
    rule: Rule,
    input: Option<(&'static str, InputValue)>,
    task: Option<(&'static str, TaskValue)>,
}

/// Reads a field of a run input (`None`: left out).
type InputValue = fn(&ExportRequest) -> Option<&str>;
/// Reads a field of an export task (`None`: RDS gave none).
type TaskValue = fn(&ExportTask) -> Option<&str>;

/// Every value of an export the deployment pins. A run input and an export
/// task are both judged by this one table.
fn pins(config: &Config) -> [Pin<'_>; 7] {
    [
        Pin {
            variable: "SNAPLAKE_BUCKET",
            pinned: Some(&config.bucket),
            rule: Rule::Same,
            input: Some(("bucket", |r| r.bucket.as_deref())),
            task: Some(("S3Bucket", ExportTask::s3_bucket)),
        },
        Pin {
            variable: "SNAPLAKE_EXPORT_PREFIX",
            pinned: Some(&config.export_prefix),
            rule: Rule::Under,
            input: None,
            task: Some(("S3Prefix", ExportTask::s3_prefix)),
        },
        Pin {
            variable: "SNAPLAKE_EXPORT_ID_PREFIX",
            pinned: Some(&config.export_id_prefix),
            rule: Rule::IdPrefix,
            input: Some(("export_id", |r| r.export_id.as_deref())),
            task: Some(("ExportTaskIdentifier", ExportTask::export_task_identifier)),
        },
        Pin {
            variable: "SNAPLAKE_SOURCE_ID",
            pinned: config.pinned_source_id.as_deref(),
            rule: Rule::Source,
            input: Some(("source_id", |r| Some(&r.source_id))),
            task: Some(("SourceArn", ExportTask::source_arn)),
        },
        Pin {
            variable: "SNAPLAKE_SOURCE_KIND",
            pinned: config.pinned_source_kind.map(SourceKind::as_str),
            rule: Rule::Same,
            input: Some(("source_kind", |r| Some(r.source_kind.as_str()))),
            // A task's kind is its snapshot's: the source row checks it.
            task: None,
        },
        Pin {
            variable: "SNAPLAKE_EXPORT_KMS_KEY",
            pinned: config.pinned_export_kms_key.as_deref(),
            rule: Rule::Key,
            input: Some(("kms_key", |r| Some(&r.kms_key))),
            task: Some(("KmsKeyId", ExportTask::kms_key_id)),
        },
        Pin {
            variable: "SNAPLAKE_EXPORT_ROLE_ARN",
            pinned: config.pinned_export_role_arn.as_deref(),
            rule: Rule::Same,
            input: Some(("export_role_arn", |r| Some(&r.export_role_arn))),
            task: Some(("IamRoleArn", ExportTask::iam_role_arn)),
        },
    ]
}

/// Refuses a run input, or an export task a run would adopt, that differs
/// from what the deployment pins: the bucket, the export prefix, the export
/// id prefix, the source and its kind, the KMS key and the export role. A run
/// input may leave out the bucket and the export id; an export task must show
/// every value it is judged by.
pub fn check_export(config: &Config, judged: Judged<'_>) -> Result<(), Error> {
    for pin in pins(config) {
        let Some(pinned) = pin.pinned else { continue };
        match judged {
            Judged::Input(request) => {
                let Some((field, value)) = pin.input else { continue };
                let Some(given) = value(request) else { continue };
                if !agrees(pin.rule, given, pinned, &[]) {
                    return Err(Error::invalid_input(
                        field,
                        format!(
                            "{}; a run cannot change it: change the Terraform module's variables and apply",
                            refusal(pin.rule, pin.variable, given, pinned)
                        ),
                    ));
                }
            }
            Judged::Task { task, source_snapshots } => {
                let Some((field, value)) = pin.task else { continue };
                let given = value(task).unwrap_or_default();
                if !agrees(pin.rule, given, pinned, source_snapshots) {
                    let id = task.export_task_identifier().unwrap_or_default();
                    return Err(Error::invalid_input(
                        format!("{field} of export task {id}"),
                        format!(
                            "{}; snaplake adopts only an export made with what the deployment pins: cancel export \
                             task {id} if it is still running (the day then exports under its next attempt id), \
                             or change the Terraform module's variables and apply",
                            refusal(pin.rule, pin.variable, given, pinned)
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Whether `given` agrees with `pinned` by `rule`. A source given as a
/// snapshot ARN agrees when it is one of `source_snapshots`.
fn agrees(rule: Rule, given: &str, pinned: &str, source_snapshots: &[String]) -> bool {
    match rule {
        Rule::Same | Rule::Key => given == pinned,
        Rule::IdPrefix => given
            .to_ascii_lowercase()
            .starts_with(&format!("{}-", pinned.to_ascii_lowercase())),
        Rule::Under => {
            let given = given.trim_matches('/');
            given == pinned || given.starts_with(&format!("{pinned}/"))
        }
        Rule::Source => given == pinned || source_snapshots.iter().any(|arn| arn == given),
    }
}

/// What is wrong with `given`, naming the pinned value and its variable.
fn refusal(rule: Rule, variable: &str, given: &str, pinned: &str) -> String {
    match rule {
        Rule::Key if pinned.starts_with("arn:") && !given.starts_with("arn:") => format!(
            "is {given:?}, a key id or alias, which may name another key than the one this deployment pins, \
             {pinned:?} ({variable}): give that ARN"
        ),
        Rule::IdPrefix => {
            format!("is {given:?}, but this deployment's export ids start with \"{pinned}-\" ({variable})")
        }
        Rule::Under => format!("is {given:?}, but this deployment's exports are under {pinned:?} ({variable})"),
        Rule::Source if given.starts_with("arn:") => {
            format!("is {given:?}, not a snapshot of {pinned:?}, the source this deployment pins ({variable})")
        }
        Rule::Same | Rule::Key | Rule::Source => {
            format!("is {given:?}, but this deployment pins {pinned:?} ({variable})")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_rds::types::builders::ExportTaskBuilder;
    use serde_json::json;

    const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";
    const OTHER_KEY: &str = "arn:aws:kms:us-east-1:210987654321:key/99999999-2222-3333-4444-555555555555";
    const ROLE: &str = "arn:aws:iam::123456789012:role/snaplake-export";
    const SNAPSHOT: &str = "arn:aws:rds:us-east-1:123456789012:cluster-snapshot:rds:shop-prod-2026-11-20-18-00";

    /// A deployment as the module makes one: every export value pinned.
    fn every_pin() -> Config {
        Config::from_lookup(|name| {
            let value = match name {
                "SNAPLAKE_BUCKET" => "lake",
                "SNAPLAKE_SOURCE_ID" => "shop-prod",
                "SNAPLAKE_SOURCE_KIND" => "cluster",
                "SNAPLAKE_EXPORT_KMS_KEY" => KEY,
                "SNAPLAKE_EXPORT_ROLE_ARN" => ROLE,
                _ => return None,
            };
            Some(value.to_string())
        })
        .unwrap()
    }

    fn input(changes: serde_json::Value) -> ExportRequest {
        let mut input = json!({
            "logical_time": "2026-11-20T19:00:00Z",
            "source_id": "shop-prod",
            "source_kind": "cluster",
            "kms_key": KEY,
            "export_role_arn": ROLE,
        });
        for (field, value) in changes.as_object().unwrap() {
            input[field] = value.clone();
        }
        serde_json::from_value(input).unwrap()
    }

    /// What a refusal must name: the field, the given value, the pinned one
    /// and its variable.
    fn assert_refused(result: Result<(), Error>, words: &[&str], case: &str) {
        let err = result.expect_err(case);
        assert_eq!(err.name(), "InvalidInput", "{case}: {err}");
        let text = err.to_string();
        for word in words {
            assert!(text.contains(word), "{case}: {word:?} missing from {text}");
        }
        assert!(
            text.ends_with("change the Terraform module's variables and apply"),
            "{case}: {text}"
        );
    }

    #[test]
    fn a_run_input_may_only_repeat_what_the_deployment_pins() {
        let pinned = every_pin();
        let allowed = [
            json!({}),
            json!({"bucket": "lake"}),
            json!({"export_id": "snaplake-console-1"}),
            json!({"export_id": "SNAPLAKE-shop-prod-20261121"}),
        ];
        for changes in allowed {
            let result = check_export(&pinned, Judged::Input(&input(changes.clone())));
            assert!(result.is_ok(), "{changes}: {result:?}");
        }
        let refused = [
            (
                json!({"bucket": "mallory-lake"}),
                &["`bucket`", "mallory-lake", "\"lake\"", "SNAPLAKE_BUCKET"][..],
            ),
            (
                json!({"kms_key": OTHER_KEY}),
                &["`kms_key`", OTHER_KEY, KEY, "SNAPLAKE_EXPORT_KMS_KEY"],
            ),
            (
                json!({"kms_key": "alias/snaplake"}),
                &["`kms_key`", "alias/snaplake", "key id or alias", KEY, "give that ARN"],
            ),
            (
                json!({"kms_key": "11111111-2222-3333-4444-555555555555"}),
                &["`kms_key`", "key id or alias", KEY],
            ),
            (
                json!({"source_kind": "instance"}),
                &["`source_kind`", "instance", "\"cluster\"", "SNAPLAKE_SOURCE_KIND"],
            ),
            (
                json!({"source_id": "payroll-prod"}),
                &["`source_id`", "payroll-prod", "SNAPLAKE_SOURCE_ID"],
            ),
            (
                json!({"export_role_arn": "arn:aws:iam::123456789012:role/mallory"}),
                &["`export_role_arn`", "mallory", ROLE],
            ),
            (
                json!({"export_id": "mallory-shop-prod-20261121"}),
                &[
                    "`export_id`",
                    "mallory-shop-prod-20261121",
                    "\"snaplake-\"",
                    "SNAPLAKE_EXPORT_ID_PREFIX",
                ],
            ),
            (json!({"export_id": "snaplakex-1"}), &["`export_id`", "snaplakex-1"]),
        ];
        for (changes, words) in refused {
            let case = changes.to_string();
            assert_refused(check_export(&pinned, Judged::Input(&input(changes))), words, &case);
        }
    }

    #[test]
    fn without_pins_a_run_input_keeps_its_source_key_and_role_but_not_the_bucket() {
        let unpinned = Config::from_lookup(|name| (name == "SNAPLAKE_BUCKET").then(|| "lake".to_string())).unwrap();
        let own = input(json!({"source_id": "payroll-prod", "kms_key": "alias/mine", "source_kind": "instance"}));
        check_export(&unpinned, Judged::Input(&own)).unwrap();
        let elsewhere = input(json!({"bucket": "mallory-lake"}));
        assert_refused(
            check_export(&unpinned, Judged::Input(&elsewhere)),
            &["`bucket`", "SNAPLAKE_BUCKET"],
            "bucket",
        );
    }

    fn task(change: impl FnOnce(ExportTaskBuilder) -> ExportTaskBuilder) -> ExportTask {
        let made_by_snaplake = ExportTask::builder()
            .export_task_identifier("snaplake-shop-prod-20261121")
            .source_arn(SNAPSHOT)
            .s3_bucket("lake")
            .s3_prefix("exports/shop-prod/2026-11-21")
            .kms_key_id(KEY)
            .iam_role_arn(ROLE);
        change(made_by_snaplake).build()
    }

    #[test]
    fn an_export_task_is_adopted_only_when_made_with_what_the_deployment_pins() {
        type Change = fn(ExportTaskBuilder) -> ExportTaskBuilder;
        let pinned = every_pin();
        let snapshots = [SNAPSHOT.to_string()];
        let allowed: [(&str, Change); 4] = [
            ("as snaplake makes it", |t| t),
            ("under the export prefix, by hand", |t| t.s3_prefix("exports/by-hand")),
            ("at the export prefix itself", |t| t.s3_prefix("/exports/")),
            ("named by hand under the id prefix", |t| {
                t.export_task_identifier("snaplake-console-1")
            }),
        ];
        for (case, change) in allowed {
            let task = task(change);
            let judged = Judged::Task {
                task: &task,
                source_snapshots: &snapshots,
            };
            check_export(&pinned, judged).expect(case);
        }
        let refused: [(&str, Change, &[&str]); 10] = [
            (
                "another bucket",
                |t| t.s3_bucket("mallory-lake"),
                &["S3Bucket of export task", "mallory-lake", "SNAPLAKE_BUCKET"],
            ),
            ("no bucket", |t| t.set_s3_bucket(None), &["S3Bucket", "SNAPLAKE_BUCKET"]),
            (
                "another prefix",
                |t| t.s3_prefix("by-hand"),
                &["S3Prefix", "by-hand", "\"exports\"", "SNAPLAKE_EXPORT_PREFIX"],
            ),
            (
                "a prefix beside it",
                |t| t.s3_prefix("exports-2/x"),
                &["S3Prefix", "exports-2/x"],
            ),
            (
                "no prefix",
                |t| t.set_s3_prefix(None),
                &["S3Prefix", "SNAPLAKE_EXPORT_PREFIX"],
            ),
            (
                "another key",
                |t| t.kms_key_id(OTHER_KEY),
                &["KmsKeyId", OTHER_KEY, "SNAPLAKE_EXPORT_KMS_KEY"],
            ),
            (
                "a key alias",
                |t| t.kms_key_id("alias/snaplake"),
                &["KmsKeyId", "key id or alias", KEY],
            ),
            (
                "another role",
                |t| t.iam_role_arn("arn:aws:iam::123456789012:role/mallory"),
                &["IamRoleArn", "mallory", ROLE],
            ),
            (
                "another source's snapshot",
                |t| {
                    t.source_arn(
                        "arn:aws:rds:us-east-1:123456789012:cluster-snapshot:rds:payroll-prod-2026-11-20-18-00",
                    )
                },
                &[
                    "SourceArn",
                    "payroll-prod-2026-11-20",
                    "not a snapshot of \"shop-prod\"",
                    "SNAPLAKE_SOURCE_ID",
                ],
            ),
            (
                "an id under another prefix",
                |t| t.export_task_identifier("mallory-1"),
                &["ExportTaskIdentifier", "mallory-1", "SNAPLAKE_EXPORT_ID_PREFIX"],
            ),
        ];
        for (case, change, words) in refused {
            let task = task(change);
            let judged = Judged::Task {
                task: &task,
                source_snapshots: &snapshots,
            };
            assert_refused(check_export(&pinned, judged), words, case);
        }
    }
}
