//! WaitForExport: parks the execution's task token until the export ends,
//! and resumes it from the S3 `ObjectCreated` event of the export's
//! `export_info_<id>.json` (RDS writes it when the export is done).
//!
//! Invoked three ways:
//! - by the state machine (`.waitForTaskToken`): `{"task_token": .., "export_id": ..}`;
//! - by S3: an `ObjectCreated` event;
//! - by EventBridge: RDS's event that an export failed or was canceled. A
//!   failed export writes no `export_info`, so without this event the run
//!   would learn of the failure only when its wait times out.

use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::{info, warn};

use super::{Context, parse};
use crate::aws::sfn::Answer;
use crate::aws::{rds, s3, sfn};
use crate::error::Error;

/// The fields of an S3 event notification this function uses. Only these
/// are required: a producer that leaves out the rest (e.g. `userIdentity`)
/// still resumes the run.
#[derive(Debug, Clone, Deserialize)]
pub struct S3Event {
    #[serde(rename = "Records")]
    pub records: Vec<S3Record>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct S3Record {
    pub s3: S3Entity,
}

#[derive(Debug, Clone, Deserialize)]
pub struct S3Entity {
    pub bucket: S3Bucket,
    pub object: S3Object,
}

#[derive(Debug, Clone, Deserialize)]
pub struct S3Bucket {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct S3Object {
    /// URL-encoded, `+` for a space.
    pub key: String,
}

/// The field of an RDS event (through EventBridge) this function uses.
#[derive(Debug, Clone, Deserialize)]
pub struct RdsEvent {
    pub detail: RdsEventDetail,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RdsEventDetail {
    /// The snapshot whose export the event is about.
    #[serde(rename = "SourceArn")]
    pub source_arn: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitRequest {
    pub task_token: String,
    pub export_id: String,
}

/// What one invocation did, for the logs and the tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// The token is stored; the S3 event will answer it.
    Waiting { export_id: String },
    /// The export had ended: the token was answered now.
    Answered {
        export_id: String,
        status: String,
        delivered: bool,
    },
    /// No stored token (an export started elsewhere, or already answered).
    NoToken { export_id: String },
    /// The export_info file exists but RDS still reports the export running.
    StillRunning { export_id: String, status: String },
    /// Not an export_info file: nothing to do.
    Ignored { key: String },
}

pub async fn handle(ctx: &Context, input: serde_json::Value) -> Result<Vec<Outcome>, Error> {
    if input.get("Records").is_some() {
        let event: S3Event = parse("S3 event", input)?;
        on_s3_event(ctx, &event).await
    } else if input.get("source").and_then(|s| s.as_str()) == Some("aws.rds") {
        let event: RdsEvent = parse("RDS event", input)?;
        on_rds_event(ctx, &event).await
    } else {
        let request: WaitRequest = parse("export-callback input", input)?;
        Ok(vec![wait(ctx, &request).await?])
    }
}

/// The state machine's side: store the token, then answer at once if the
/// export already ended (a fast export must not leave the execution waiting
/// for an event that came before the token was stored).
pub async fn wait(ctx: &Context, req: &WaitRequest) -> Result<Outcome, Error> {
    crate::export_id::validate(&req.export_id).map_err(|reason| Error::invalid_input("export_id", reason))?;
    if req.task_token.trim().is_empty() {
        return Err(Error::invalid_input(
            "task_token",
            "is empty; pass $$.Task.Token from the state machine",
        ));
    }
    let key = token_key(ctx, &req.export_id);
    s3::put_json(
        &ctx.clients.s3,
        &ctx.config.bucket,
        &key,
        &json!({ "task_token": req.task_token }),
    )
    .await?;
    let outcome = resume(ctx, &req.export_id).await?;
    Ok(match outcome {
        Outcome::StillRunning { export_id, .. } => Outcome::Waiting { export_id },
        other => other,
    })
}

/// S3's side: every `export_info_<id>.json` created resumes that export's wait.
pub async fn on_s3_event(ctx: &Context, event: &S3Event) -> Result<Vec<Outcome>, Error> {
    let mut outcomes = Vec::new();
    for (i, record) in event.records.iter().enumerate() {
        let bucket = record.s3.bucket.name.as_str();
        if bucket != ctx.config.bucket {
            return Err(Error::invalid_input(
                format!("Records[{i}].s3.bucket.name"),
                format!(
                    "is {bucket:?}, not snaplake's bucket {:?}; check the bucket notification",
                    ctx.config.bucket
                ),
            ));
        }
        let raw_key = record.s3.object.key.as_str();
        let key = crate::url::decode(raw_key).ok_or_else(|| {
            Error::invalid_input(
                format!("Records[{i}].s3.object.key"),
                format!("{raw_key:?} is not URL-encoded UTF-8"),
            )
        })?;
        match export_id_of(&key) {
            Some(id) => outcomes.push(resume(ctx, id).await?),
            None => outcomes.push(Outcome::Ignored { key }),
        }
    }
    Ok(outcomes)
}

/// EventBridge's side: every export of the event's snapshot that a run waits
/// for is answered (each as its own status says, so a stray event is harmless).
pub async fn on_rds_event(ctx: &Context, event: &RdsEvent) -> Result<Vec<Outcome>, Error> {
    let mut outcomes = Vec::new();
    for export_id in rds::exports_of(&ctx.clients.rds, &event.detail.source_arn).await? {
        outcomes.push(resume(ctx, &export_id).await?);
    }
    Ok(outcomes)
}

/// Answers the stored token of an export that has ended, then deletes it.
async fn resume(ctx: &Context, export_id: &str) -> Result<Outcome, Error> {
    let key = token_key(ctx, export_id);
    let Some(body) = s3::get_bytes(&ctx.clients.s3, &ctx.config.bucket, &key).await? else {
        info!(export_id, "no task token stored for this export; nothing to resume");
        return Ok(Outcome::NoToken {
            export_id: export_id.to_string(),
        });
    };
    let token = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["task_token"].as_str().map(str::to_string))
        .ok_or_else(|| {
            Error::invalid_input(
                key.clone(),
                "does not hold {\"task_token\": ...}; delete it and run again",
            )
        })?;
    let Some(task) = rds::find_export(&ctx.clients.rds, export_id).await? else {
        return Err(Error::invalid_input(
            "export_id",
            format!("no export task {export_id} exists"),
        ));
    };
    let status = task.status().unwrap_or_default().to_ascii_uppercase();
    let answer = match status.as_str() {
        "COMPLETE" => {
            let output = json!({
                "export_id": export_id,
                "status": status,
                "percent_progress": task.percent_progress().unwrap_or(100),
            });
            sfn::send_success(&ctx.clients.sfn, &token, &output).await?
        }
        "FAILED" | "CANCELED" => {
            let cause = format!(
                "export {export_id} ended {status}: {}",
                task.failure_cause().unwrap_or("RDS gave no cause")
            );
            sfn::send_failure(&ctx.clients.sfn, &token, "ExportFailed", &cause).await?
        }
        _ => {
            return Ok(Outcome::StillRunning {
                export_id: export_id.to_string(),
                status,
            });
        }
    };
    if answer == Answer::Stale {
        warn!(
            export_id,
            "the task token was stale (timed out or answered before); the poller takes over"
        );
    }
    s3::delete(&ctx.clients.s3, &ctx.config.bucket, &key).await?;
    Ok(Outcome::Answered {
        export_id: export_id.to_string(),
        status,
        delivered: answer == Answer::Delivered,
    })
}

fn token_key(ctx: &Context, export_id: &str) -> String {
    format!("{}/tokens/{export_id}.json", ctx.config.control_prefix)
}

/// The export id in `.../export_info_<id>.json`, if the key is one.
pub fn export_id_of(key: &str) -> Option<&str> {
    let file = key.rsplit('/').next()?;
    let id = file.strip_prefix("export_info_")?.strip_suffix(".json")?;
    crate::export_id::validate(id).ok().map(|()| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_event_and_a_minimal_one_parse() {
        let full: S3Event = serde_json::from_str(include_str!("../../../events/export-callback-s3.json")).unwrap();
        assert!(
            full.records[0]
                .s3
                .object
                .key
                .ends_with("export_info_snaplake-shop-prod-20261121.json")
        );
        let minimal: S3Event = serde_json::from_value(
            serde_json::json!({"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}}]}),
        )
        .unwrap();
        assert_eq!(minimal.records[0].s3.bucket.name, "b");
        let rds: RdsEvent =
            serde_json::from_str(include_str!("../../../events/export-callback-rds-failed.json")).unwrap();
        assert!(
            rds.detail
                .source_arn
                .ends_with(":cluster-snapshot:rds:shop-prod-2026-11-20-18-00")
        );
    }

    #[test]
    fn only_export_info_files_name_an_export() {
        let key = "exports/shop/2026-11-21/snaplake-shop-20261121/export_info_snaplake-shop-20261121.json";
        assert_eq!(export_id_of(key), Some("snaplake-shop-20261121"));
        assert_eq!(export_id_of("x/export_tables_info_snaplake-a_from_1_to_3.json"), None);
        assert_eq!(export_id_of("x/export_info_not--valid.json"), None);
        assert_eq!(export_id_of("x/shop/shop.a/1/part-0.gz.parquet"), None);
    }
}
