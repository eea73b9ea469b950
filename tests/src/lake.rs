//! A lake ready for the publishing stages: a bucket, the raw and curated
//! Glue databases, the Athena workgroup, and a completed export of the
//! sample database with its plan.

use std::time::Duration;

use serde_json::{Value, json};
use snaplake::contract::export_poller::PollRequest;
use snaplake::contract::snapshot_export::ExportRequest;
use snaplake::env::Env;
use snaplake::export::plan::{OnTableFailure, PlanItem};
use snaplake::export_ops::start_export;
use snaplake::handlers::{catalog_swap, export_poller};

use crate::StandIn;

pub struct Lake {
    pub standin: StandIn,
    pub env: Env,
    /// The plan's items: one per exported table.
    pub items: Vec<PlanItem>,
    pub export_id: String,
}

/// An object's `snaplake-audit` tag (what the analyst policy reads it by),
/// if it has one.
pub async fn audit_tag(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<String> {
    let tags = s3
        .get_object_tagging()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("tags of s3://{bucket}/{key}: {e:?}"));
    tags.tag_set()
        .iter()
        .find(|t| t.key() == "snaplake-audit")
        .map(|t| t.value().to_string())
}

/// What a run needs before it starts: the bucket, the raw and curated Glue
/// databases, the Athena workgroup, and the sample Aurora cluster `shop-prod`
/// with its automated snapshot of the Tokyo day 2026-11-21.
/// The keys under `prefix` in `bucket` (one page: the tests' folders hold
/// far fewer than 1,000 objects).
pub async fn keys(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<String> {
    let page = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap_or_else(|e| panic!("listing s3://{bucket}/{prefix}: {e:?}"));
    page.contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect()
}

pub async fn resources(standin: &StandIn, bucket: &str) -> Env {
    let env = standin.context(bucket);
    let c = &env.clients;
    c.s3.create_bucket().bucket(bucket).send().await.unwrap();
    for db in [&env.config.raw_database, &env.config.curated_database] {
        let input = aws_sdk_glue::types::DatabaseInput::builder().name(db).build().unwrap();
        c.glue.create_database().database_input(input).send().await.unwrap();
    }
    // The workgroup encrypts UNLOAD's output and results with its own key,
    // as the module's does with the curated key (`workgroup_key`).
    let curated = c.kms.create_key().description("curated").send().await.unwrap();
    let encryption = aws_sdk_athena::types::EncryptionConfiguration::builder()
        .encryption_option(aws_sdk_athena::types::EncryptionOption::SseKms)
        .kms_key(curated.key_metadata().unwrap().arn().unwrap())
        .build()
        .unwrap();
    let results = aws_sdk_athena::types::ResultConfiguration::builder()
        .encryption_configuration(encryption)
        .build();
    c.athena
        .create_work_group()
        .name(&env.config.athena_workgroup)
        .configuration(
            aws_sdk_athena::types::WorkGroupConfiguration::builder()
                .result_configuration(results)
                .build(),
        )
        .send()
        .await
        .unwrap();
    standin.sample_cluster("shop-prod").await;
    standin.export_role(bucket).await;
    standin.control(
        "/_snaplake/snapshots",
        json!({"cluster": "shop-prod", "snapshot_id": "rds:shop-prod-2026-11-20-18-00", "create_time": "2026-11-20T18:00:00Z"}),
    );
    env
}

/// The key the workgroup `resources` made encrypts with (the curated key).
pub async fn workgroup_key(env: &Env) -> String {
    let out = env
        .clients
        .athena
        .get_work_group()
        .work_group(&env.config.athena_workgroup)
        .send()
        .await
        .unwrap();
    out.work_group()
        .and_then(|w| w.configuration())
        .and_then(|c| c.result_configuration())
        .and_then(|r| r.encryption_configuration())
        .and_then(|e| e.kms_key())
        .expect("the workgroup resources() made has a key")
        .to_string()
}

impl Lake {
    pub async fn exported(bucket: &str) -> Lake {
        Self::exported_with(bucket, json!({})).await
    }

    /// Like [`Lake::exported`], with more export settings of the stand-in
    /// (e.g. `{"extra_columns": {"customers": ["ssn"]}}`).
    pub async fn exported_with(bucket: &str, settings: Value) -> Lake {
        let standin = StandIn::acquire().await;
        let mut all = json!({"duration_seconds": 0.2});
        all.as_object_mut()
            .unwrap()
            .extend(settings.as_object().cloned().unwrap_or_default());
        standin.control("/_snaplake/exports/settings", all);
        let env = resources(&standin, bucket).await;
        let c = &env.clients;
        let key = c
            .kms
            .create_key()
            .send()
            .await
            .unwrap()
            .key_metadata()
            .unwrap()
            .arn()
            .unwrap()
            .to_string();
        let request: ExportRequest = serde_json::from_value(json!({
            "logical_time": "2026-11-20T19:00:00Z", "source_id": "shop-prod", "kms_key": key,
            "export_role_arn": "arn:aws:iam::123456789012:role/snaplake-export",
        }))
        .unwrap();
        let run = start_export::run(&env, &request, "2026-11-21T01:00:00Z".parse().unwrap())
            .await
            .unwrap();
        let poll = PollRequest {
            export_id: run.export_id.clone(),
            bucket: None,
            on_table_failure: OnTableFailure::Fail,
            batch_size: 10,
            min_wait_seconds: None,
        };
        let plan = loop {
            if let Some(plan) = export_poller::run(&env, &poll).await.unwrap().plan {
                break plan;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let body = c.s3.get_object().bucket(bucket).key(&plan.key).send().await.unwrap();
        let batches: Value = serde_json::from_slice(&body.body.collect().await.unwrap().into_bytes()).unwrap();
        let items = serde_json::from_value(batches[0]["Items"].clone()).unwrap();
        Lake {
            standin,
            env,
            items,
            export_id: run.export_id,
        }
    }

    pub fn item(&self, name: &str) -> &PlanItem {
        self.items
            .iter()
            .find(|i| i.name == name)
            .unwrap_or_else(|| panic!("no {name} in the plan"))
    }

    /// Registers every raw table, as the state machine's first publishing step does.
    pub async fn register_raw(&self) {
        let input = json!({
            "action": "register_raw", "logical_time": "2026-11-20T19:00:00Z",
            "export_id": self.export_id, "Items": self.items,
        });
        let result = serde_json::to_value(catalog_swap::handle(&self.env, input).await.unwrap()).unwrap();
        assert_eq!(result["failed"], json!([]), "{result}");
    }
}

/// Runs a query in a workgroup to its end, as an analyst would: its header
/// and rows, or why it could not start or failed.
pub async fn analyst_query(
    athena: &aws_sdk_athena::Client,
    workgroup: &str,
    sql: &str,
) -> Result<snaplake::aws::athena::Rows, String> {
    let started = athena
        .start_query_execution()
        .query_string(sql)
        .work_group(workgroup)
        .send()
        .await
        .map_err(|e| format!("{sql}: {e:?}"))?;
    let id = started.query_execution_id().unwrap_or_default().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let out = athena
            .get_query_execution()
            .query_execution_id(&id)
            .send()
            .await
            .unwrap();
        let status = out.query_execution().and_then(|q| q.status()).unwrap();
        match status.state().map(|s| s.as_str()) {
            Some("SUCCEEDED") => break,
            Some("FAILED" | "CANCELLED") => return Err(status.state_change_reason().unwrap_or_default().to_string()),
            _ => {
                assert!(std::time::Instant::now() < deadline, "{sql}: still running after 60 s");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
    Ok(snaplake::aws::athena::results(athena, &id, 1000).await.unwrap())
}
