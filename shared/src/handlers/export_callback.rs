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
//!   wait times out; and RDS's event that it completed, for an
//!   `export_info` written before the task said COMPLETE.
//!
//! It also keeps the day lock the state machine takes at a run's start and
//! lets go at its end (`{"day_lock": "acquire" | "release", ..}`, see
//! [`crate::export_ops::day_lock`]): it is about which run of a day waits, and the same
//! role already reads and writes the control prefix.
//!
//! The decisions (which event ends a wait, how) are `crate::export::wait`.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::s3::S3Event;
use serde_json::json;
use tracing::{info, warn};

use super::parse;
use crate::aws::sfn::Answer;
use crate::aws::{rds, s3, sfn};
use crate::contract::export_callback::*;
use crate::env::Env;
use crate::error::Error;
use crate::export::status::ExportStatus;
use crate::export::wait::{ExportEnded, Reply, export_id_of, is_completed_event, notified_objects, reply};
use crate::export_ops::day_lock;

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
        Ok(vec![Box::pin(day_lock::take_or_release(env, &request)).await?])
    } else {
        let request: WaitRequest = parse("export-callback input", input)?;
        Ok(vec![Box::pin(wait(env, &request)).await?])
    }
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
    let Some(id) = export_id_of(&key) else {
        return Ok(vec![Outcome::Ignored { key }]);
    };
    // The file is RDS's last, but the task may not say COMPLETE yet (the
    // order is not documented): look again shortly before leaving the run
    // to RDS's completed event or its poll.
    for _ in 0..LOOKS_AFTER_EXPORT_INFO {
        let outcomes = resume(env, id, None).await?;
        if !outcomes.iter().any(|o| matches!(o, Outcome::StillRunning { .. })) {
            return Ok(outcomes);
        }
        info!(
            export_id = id,
            "export_info is written but the task is not COMPLETE yet; looking again"
        );
        tokio::time::sleep(LOOK_AGAIN_AFTER).await;
    }
    resume(env, id, None).await
}

/// How often, and how far apart, a created export_info looks again at a
/// task that does not say COMPLETE yet: within 20 seconds of the function's 60.
const LOOKS_AFTER_EXPORT_INFO: u32 = 5;
const LOOK_AGAIN_AFTER: std::time::Duration = std::time::Duration::from_secs(4);

/// EventBridge's side: RDS's event that an export failed or was canceled
/// answers every export of its snapshot that a run waits for. Other RDS
/// events change nothing.
pub async fn on_rds_event(env: &Env, detail: &RdsEventDetail) -> Result<Vec<Outcome>, Error> {
    if is_completed_event(&detail.event_id) {
        let mut outcomes = Vec::new();
        for export_id in rds::exports_of(&env.clients.rds, &detail.source_arn).await? {
            outcomes.extend(resume(env, &export_id, None).await?);
        }
        return Ok(outcomes);
    }
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
