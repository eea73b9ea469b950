//! WaitForExport: parks the execution's task token until the export ends,
//! and resumes it when S3 reports the export's `export_info_<id>.json`
//! created (RDS writes it last, when the export is done).
//!
//! Woken four ways:
//! - by the state machine (`.waitForTaskToken`): `{"task_token": .., "export_id": ..}`;
//! - by EventBridge: S3's "Object Created" event (the bucket sends its events
//!   to EventBridge; the module's rule picks export_info files);
//! - by S3 directly: an `ObjectCreated` notification (`Records`), for a bucket
//!   wired that way by hand;
//! - by EventBridge: RDS's event that an export failed or was canceled,
//!   known by its `EventID`. A failed export writes no `export_info`, so
//!   without this event the run would learn of the failure only when its
//!   wait times out.
//!
//! It also keeps the day lock the state machine takes at a run's start and
//! lets go at its end (`{"day_lock": "acquire" | "release", ..}`, see
//! [`crate::day_lock`]): it is about which run of a day waits, and the same
//! role already reads and writes the control prefix.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::s3::S3Event;
use serde_json::json;
use tracing::{info, warn};

use super::parse;
use crate::aws::sfn::Answer;
use crate::aws::{rds, s3, sfn};
use crate::contract::export_callback::*;
use crate::day_lock::{self, Holder, Verdict};
use crate::env::Env;
use crate::error::Error;
use crate::export::status::ExportStatus;
use crate::logical_time::LogicalTime;

/// How RDS says an export ended, by its event id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportEnded {
    Failed,
    Canceled,
}

impl ExportEnded {
    /// RDS-EVENT-0159/0160: a DB snapshot's export failed/was canceled;
    /// 0162/0163: a cluster snapshot's. Any other event is not about an
    /// export that ended without its files.
    pub fn from_event_id(event_id: &str) -> Option<Self> {
        match event_id {
            "RDS-EVENT-0159" | "RDS-EVENT-0162" => Some(ExportEnded::Failed),
            "RDS-EVENT-0160" | "RDS-EVENT-0163" => Some(ExportEnded::Canceled),
            _ => None,
        }
    }

    fn status(self) -> ExportStatus {
        match self {
            ExportEnded::Failed => ExportStatus::Failed,
            ExportEnded::Canceled => ExportStatus::Canceled,
        }
    }
}

/// What a waiting run is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Success,
    /// The export ended with this status and wrote no usable files.
    Failure(ExportStatus),
    /// Not ended yet: keep waiting.
    Wait,
}

/// Decides from the export's status and, when an RDS event woke us, what it
/// said. RDS may send its event while the task still reads CANCELING: the
/// event decides then, so the run ends at once.
pub fn reply(status: &ExportStatus, ended: Option<ExportEnded>) -> Reply {
    match (status, ended) {
        (ExportStatus::Complete, _) => Reply::Success,
        (s, _) if s.ended_without_data() => Reply::Failure(s.clone()),
        (_, Some(end)) => Reply::Failure(end.status()),
        _ => Reply::Wait,
    }
}

/// Each way in is boxed: nested, their futures are too deep for the
/// compiler to lay out.
pub async fn handle(env: &Env, input: serde_json::Value) -> Result<Vec<Outcome>, Error> {
    if input.get("Records").is_some() {
        let event: S3Event = parse("S3 event", input)?;
        Box::pin(on_s3_event(env, &event)).await
    } else if input.get("source").and_then(|s| s.as_str()) == Some("aws.s3") {
        let event: EventBridgeEvent<ObjectCreated> = parse("S3 event (EventBridge)", input)?;
        let object = &event.detail;
        Box::pin(on_object(env, "detail", &object.bucket.name, object.object.key.clone())).await
    } else if input.get("source").and_then(|s| s.as_str()) == Some("aws.rds") {
        let event: EventBridgeEvent<RdsEventDetail> = parse("RDS event", input)?;
        Box::pin(on_rds_event(env, &event.detail)).await
    } else if input.get("day_lock").is_some() {
        let request: DayLockRequest = parse("day lock request", input)?;
        Ok(vec![Box::pin(day_lock(env, &request)).await?])
    } else {
        let request: WaitRequest = parse("export-callback input", input)?;
        Ok(vec![Box::pin(wait(env, &request)).await?])
    }
}

/// Takes or lets go of the run's logical day (see [`crate::day_lock`]).
pub async fn day_lock(env: &Env, req: &DayLockRequest) -> Result<Outcome, Error> {
    if !req.execution.starts_with("arn:") {
        return Err(Error::invalid_input(
            "execution",
            "is not an execution ARN; pass $$.Execution.Id from the state machine",
        ));
    }
    let day = LogicalTime::parse(&req.logical_time)?.day(&env.config.time_zone);
    let key = day_lock::key(&env.config.control_prefix, day);
    let (s3c, bucket) = (&env.clients.s3, &env.config.bucket);
    let mine = json!(Holder {
        execution: req.execution.clone()
    });
    let day = day.to_string();
    if req.day_lock == DayLockAction::Release {
        let held = held_by(env, &key).await?;
        let released = held.is_some_and(|(holder, _)| holder.execution == req.execution);
        if released {
            s3::delete(s3c, bucket, &key).await?;
        }
        return Ok(Outcome::DayReleased { day, released });
    }
    // Creating it wins the day; a held one is judged by its holder's state.
    // A conditional write that loses a race is tried again, three times.
    for _ in 0..3 {
        if s3::put_json_if_absent(s3c, bucket, &key, &mine).await? {
            return Ok(Outcome::DayAcquired { day });
        }
        let Some((holder, etag)) = held_by(env, &key).await? else {
            continue;
        };
        let status = sfn::execution_status(&env.clients.sfn, &holder.execution).await?;
        match day_lock::judge(&holder.execution, &req.execution, status.as_deref()) {
            Verdict::Mine => return Ok(Outcome::DayAcquired { day }),
            Verdict::Busy => {
                info!(
                    day,
                    holder = holder.execution,
                    "another run of this day is running; this one ends"
                );
                return Ok(Outcome::DayBusy {
                    day,
                    holder: holder.execution,
                });
            }
            Verdict::Abandoned => {
                warn!(
                    day,
                    holder = holder.execution,
                    status,
                    "taking over the lock of a run that has ended"
                );
                if s3::put_json_if_match(s3c, bucket, &key, &mine, &etag).await? {
                    return Ok(Outcome::DayAcquired { day });
                }
            }
        }
    }
    Err(Error::Throttled {
        service: "s3".into(),
        operation: "PutObject".into(),
        resource: format!("s3://{bucket}/{key}"),
        code: "ConditionalRequestConflict".into(),
        message: "the day's lock changed under three attempts to take it".into(),
    })
}

/// The day lock's holder and the lock object's ETag, if it is held.
async fn held_by(env: &Env, key: &str) -> Result<Option<(Holder, String)>, Error> {
    let Some((body, etag)) = s3::get_with_etag(&env.clients.s3, &env.config.bucket, key).await? else {
        return Ok(None);
    };
    let holder = serde_json::from_slice(&body).map_err(|_| {
        Error::invalid_input(
            key.to_string(),
            "does not hold {\"execution\": ...}; delete it (no run of that day may be running) and run again",
        )
    })?;
    Ok(Some((holder, etag)))
}

/// The state machine's side: store the token, then answer at once if the
/// export already ended (a fast export must not leave the execution waiting
/// for an event that came before the token was stored).
pub async fn wait(env: &Env, req: &WaitRequest) -> Result<Outcome, Error> {
    crate::export_id::validate(&req.export_id).map_err(|reason| Error::invalid_input("export_id", reason))?;
    if req.task_token.trim().is_empty() {
        return Err(Error::invalid_input(
            "task_token",
            "is empty; pass $$.Task.Token from the state machine",
        ));
    }
    if req.execution.is_empty() || req.execution.contains('/') {
        return Err(Error::invalid_input(
            "execution",
            "is not an execution name; pass $$.Execution.Name from the state machine",
        ));
    }
    let key = token_key(env, &req.export_id, &req.execution);
    s3::put_json(
        &env.clients.s3,
        &env.config.bucket,
        &key,
        &json!({ "task_token": req.task_token }),
    )
    .await?;
    // Ours among the answers (a run whose token another call answered
    // meanwhile has its answer already: it is not waiting long).
    let mine = resume_tokens(env, &req.export_id, None)
        .await?
        .into_iter()
        .find_map(|(answered, outcome)| (answered == key).then_some(outcome));
    Ok(mine.unwrap_or(Outcome::Waiting {
        export_id: req.export_id.clone(),
    }))
}

/// S3's direct notification: every `export_info_<id>.json` created resumes
/// that export's wait.
pub async fn on_s3_event(env: &Env, event: &S3Event) -> Result<Vec<Outcome>, Error> {
    let mut outcomes = Vec::new();
    for (i, (bucket, key)) in notified_objects(event)?.into_iter().enumerate() {
        outcomes.extend(on_object(env, &format!("Records[{i}].s3"), &bucket, key).await?);
    }
    Ok(outcomes)
}

/// The bucket and the decoded key of every record of a direct S3
/// notification (keys arrive URL-encoded, `+` for a space).
pub fn notified_objects(event: &S3Event) -> Result<Vec<(String, String)>, Error> {
    let mut objects = Vec::new();
    for (i, record) in event.records.iter().enumerate() {
        let field = format!("Records[{i}].s3");
        let bucket = record.s3.bucket.name.clone().unwrap_or_default();
        let raw_key = record.s3.object.key.as_deref().unwrap_or_default();
        let key = crate::url::decode(raw_key).ok_or_else(|| {
            Error::invalid_input(
                format!("{field}.object.key"),
                format!("{raw_key:?} is not URL-encoded UTF-8"),
            )
        })?;
        objects.push((bucket, key));
    }
    Ok(objects)
}

/// One created object of snaplake's bucket: an export_info file resumes its
/// export's wait; anything else is ignored.
async fn on_object(env: &Env, field: &str, bucket: &str, key: String) -> Result<Vec<Outcome>, Error> {
    if bucket != env.config.bucket {
        return Err(Error::invalid_input(
            format!("{field}.bucket.name"),
            format!(
                "is {bucket:?}, not snaplake's bucket {:?}; check the EventBridge rule (or bucket notification)",
                env.config.bucket
            ),
        ));
    }
    match export_id_of(&key) {
        Some(id) => resume(env, id, None).await,
        None => Ok(vec![Outcome::Ignored { key }]),
    }
}

/// EventBridge's side: RDS's event that an export failed or was canceled
/// answers every export of its snapshot that a run waits for. Other RDS
/// events change nothing.
pub async fn on_rds_event(env: &Env, detail: &RdsEventDetail) -> Result<Vec<Outcome>, Error> {
    let Some(ended) = ExportEnded::from_event_id(&detail.event_id) else {
        info!(event_id = detail.event_id, "not an export failure; nothing to resume");
        return Ok(vec![Outcome::IgnoredEvent {
            event_id: detail.event_id.clone(),
        }]);
    };
    let mut outcomes = Vec::new();
    for export_id in rds::exports_of(&env.clients.rds, &detail.source_arn).await? {
        outcomes.extend(resume(env, &export_id, Some(ended)).await?);
    }
    Ok(outcomes)
}

/// Answers every stored token of an export that has ended, then deletes them.
async fn resume(env: &Env, export_id: &str, ended: Option<ExportEnded>) -> Result<Vec<Outcome>, Error> {
    Ok(resume_tokens(env, export_id, ended)
        .await?
        .into_iter()
        .map(|(_, outcome)| outcome)
        .collect())
}

/// [`resume`], each outcome with the token's key (empty when no token was answered).
async fn resume_tokens(
    env: &Env,
    export_id: &str,
    ended: Option<ExportEnded>,
) -> Result<Vec<(String, Outcome)>, Error> {
    let (s3c, bucket) = (&env.clients.s3, &env.config.bucket);
    let keys = s3::list_keys(s3c, bucket, &token_prefix(env, export_id)).await?;
    if keys.is_empty() {
        info!(export_id, "no task token stored for this export; nothing to resume");
        let export_id = export_id.to_string();
        return Ok(vec![(String::new(), Outcome::NoToken { export_id })]);
    }
    let Some(task) = rds::find_export(&env.clients.rds, export_id).await? else {
        return Err(Error::invalid_input(
            "export_id",
            format!("no export task {export_id} exists"),
        ));
    };
    let status = ExportStatus::of(task.status());
    let reply = reply(&status, ended);
    if reply == Reply::Wait {
        let export_id = export_id.to_string();
        return Ok(vec![(String::new(), Outcome::StillRunning { export_id, status })]);
    }
    let mut outcomes = Vec::new();
    for key in keys {
        let Some(body) = s3::get_bytes(s3c, bucket, &key).await? else {
            continue; // answered by a concurrent call
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
        let answer = match &reply {
            Reply::Success => {
                let output = ExportAnswer {
                    export_id: export_id.to_string(),
                    status: status.clone(),
                    percent_progress: task.percent_progress().unwrap_or(100),
                };
                let output = serde_json::to_value(output).expect("answers serialize");
                sfn::send_success(&env.clients.sfn, &token, &output).await?
            }
            Reply::Failure(ended_as) => {
                let cause = format!(
                    "export {export_id} ended {ended_as}: {}",
                    task.failure_cause().unwrap_or("RDS gave no cause")
                );
                sfn::send_failure(&env.clients.sfn, &token, "ExportFailed", &cause).await?
            }
            Reply::Wait => unreachable!("returned above"),
        };
        if answer == Answer::Stale {
            warn!(
                export_id,
                key, "the task token was stale (timed out or answered before); the poller takes over"
            );
        }
        s3::delete(s3c, bucket, &key).await?;
        let outcome = Outcome::Answered {
            export_id: export_id.to_string(),
            status: status.clone(),
            delivered: answer == Answer::Delivered,
        };
        outcomes.push((key, outcome));
    }
    Ok(outcomes)
}

/// Where the waiting executions' tokens of an export are stored, one per execution.
fn token_prefix(env: &Env, export_id: &str) -> String {
    format!("{}/tokens/{export_id}/", env.config.control_prefix)
}

fn token_key(env: &Env, export_id: &str, execution: &str) -> String {
    format!("{}{execution}.json", token_prefix(env, export_id))
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

    fn rds_event(file: &str) -> EventBridgeEvent<RdsEventDetail> {
        let path = format!("{}/../events/{file}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    #[test]
    fn rds_export_events_are_decided_by_event_id() {
        for (file, ended, detail_type) in [
            (
                "export-callback-rds-instance-failed.json",
                ExportEnded::Failed,
                "RDS DB Snapshot Event",
            ),
            (
                "export-callback-rds-instance-canceled.json",
                ExportEnded::Canceled,
                "RDS DB Snapshot Event",
            ),
            (
                "export-callback-rds-cluster-failed.json",
                ExportEnded::Failed,
                "RDS DB Cluster Snapshot Event",
            ),
            (
                "export-callback-rds-cluster-canceled.json",
                ExportEnded::Canceled,
                "RDS DB Cluster Snapshot Event",
            ),
        ] {
            let event = rds_event(file);
            assert_eq!(event.detail_type, detail_type, "{file}");
            assert_eq!(
                ExportEnded::from_event_id(&event.detail.event_id),
                Some(ended),
                "{file}"
            );
            assert!(
                event
                    .detail
                    .source_arn
                    .contains("snapshot:rds:shop-prod-2026-11-20-18-00"),
                "{file}"
            );
        }
        // AWS's own text for a canceled cluster export, which `*export task canceled*` never matched.
        let canceled = rds_event("export-callback-rds-cluster-canceled.json");
        assert_eq!(canceled.detail.event_id, "RDS-EVENT-0163");
        // Completed (0161/0164) and unrelated events resume nothing.
        for id in ["RDS-EVENT-0161", "RDS-EVENT-0164", "RDS-EVENT-0091", ""] {
            assert_eq!(ExportEnded::from_event_id(id), None, "{id}");
        }
    }

    #[test]
    fn an_rds_event_ends_the_wait_even_while_the_task_still_reads_canceling() {
        use ExportStatus::*;
        assert_eq!(reply(&Complete, None), Reply::Success);
        assert_eq!(reply(&Failed, None), Reply::Failure(Failed));
        assert_eq!(reply(&InProgress, None), Reply::Wait);
        assert_eq!(reply(&Canceling, None), Reply::Wait, "RDS still holds the snapshot");
        assert_eq!(reply(&Canceling, Some(ExportEnded::Canceled)), Reply::Failure(Canceled));
        assert_eq!(reply(&InProgress, Some(ExportEnded::Failed)), Reply::Failure(Failed));
        assert_eq!(
            reply(&Complete, Some(ExportEnded::Failed)),
            Reply::Success,
            "the files are there"
        );
    }

    #[test]
    fn the_direct_notification_decodes_its_keys() {
        let mut event: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/export-callback-s3.json")).unwrap();
        let parsed: S3Event = serde_json::from_value(event.clone()).unwrap();
        let objects = notified_objects(&parsed).unwrap();
        assert_eq!(objects[0].0, "snaplake-lake-123456789012");
        assert_eq!(export_id_of(&objects[0].1), Some("snaplake-shop-prod-20261121"));
        // S3 encodes a space as `+` and a `+` as `%2B`.
        event["Records"][0]["s3"]["object"]["key"] =
            serde_json::json!("data+lake%2B1/snaplake-shop-prod-20261121/export_info_snaplake-shop-prod-20261121.json");
        let parsed: S3Event = serde_json::from_value(event).unwrap();
        let objects = notified_objects(&parsed).unwrap();
        assert_eq!(
            objects[0].1,
            "data lake+1/snaplake-shop-prod-20261121/export_info_snaplake-shop-prod-20261121.json"
        );
    }

    #[test]
    fn the_eventbridge_object_created_event_carries_the_key_as_stored() {
        let text = include_str!("../../../events/export-callback-s3-eventbridge.json");
        let event: EventBridgeEvent<ObjectCreated> = serde_json::from_str(text).unwrap();
        assert_eq!(
            (event.source.as_str(), event.detail_type.as_str()),
            ("aws.s3", "Object Created")
        );
        assert_eq!(event.detail.bucket.name, "snaplake-lake-123456789012");
        assert_eq!(
            export_id_of(&event.detail.object.key),
            Some("snaplake-shop-prod-20261121")
        );
        // Not URL-encoded: a `+` in the key is a plus, and is kept.
        let plus: EventBridgeEvent<ObjectCreated> =
            serde_json::from_str(&text.replace("exports/", "data+lake/")).unwrap();
        assert!(
            plus.detail
                .object
                .key
                .starts_with("data+lake/snaplake-shop-prod-20261121/")
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
