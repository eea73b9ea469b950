//! One active run per logical day. The scheduled run and `snaplake run` of
//! the same day can start at once (Scheduler cannot name its executions), and
//! two runs of a day would clear each other's UNLOAD output under the same
//! `v=<logical time>/` prefix. The first run creates the day's lock object
//! (`<control prefix>/locks/<day>.json`, holding its execution ARN) with S3's
//! conditional write (`If-None-Match: *`): exactly one creator wins. The other
//! run ends at once, successfully, as "already running". The lock is released
//! when its run ends, in success or failure; a lock whose execution is no
//! longer running (it was stopped, or timed out before releasing) is taken
//! over, with `If-Match` on its ETag so that only one run takes it.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::{info, warn};

use crate::aws::{s3, sfn};
use crate::contract::export_callback::{DayLockAction, DayLockRequest, Outcome};
use crate::env::Env;
use crate::error::Error;
use crate::logical_time::LogicalTime;

/// The lock object's key for a logical day.
pub fn key(control_prefix: &str, day: Date) -> String {
    format!("{control_prefix}/locks/{day}.json")
}

/// What the lock object holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The execution ARN (`$$.Execution.Id`) of the run that holds the day.
    pub execution: String,
}

/// Whether a run may have a day someone already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// This run holds it already (its acquire step ran again).
    Mine,
    /// Its run has ended without releasing it: take it over.
    Abandoned,
    /// Another run of the day is running: this one ends.
    Busy,
}

/// Decides from the holder and the holder's execution status (None when the
/// execution does not exist, e.g. past Step Functions' 90-day retention).
pub fn judge(holder: &str, me: &str, holder_status: Option<&str>) -> Verdict {
    if holder == me {
        return Verdict::Mine;
    }
    match holder_status {
        Some("RUNNING" | "PENDING_REDRIVE") => Verdict::Busy,
        _ => Verdict::Abandoned,
    }
}

/// AcquireDayLock and ReleaseDayLock: takes or lets go of the run's logical day.
pub async fn take_or_release(env: &Env, req: &DayLockRequest) -> Result<Outcome, Error> {
    if !req.execution.starts_with("arn:") {
        return Err(Error::invalid_input(
            "execution",
            "is not an execution ARN; pass $$.Execution.Id from the state machine",
        ));
    }
    let day = LogicalTime::parse(&req.logical_time)?.day(&env.config.time_zone);
    let key = key(&env.config.control_prefix, day);
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
        match judge(&holder.execution, &req.execution, status.as_deref()) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_names_the_day_under_the_control_prefix() {
        assert_eq!(
            key("_snaplake", jiff::civil::date(2026, 11, 21)),
            "_snaplake/locks/2026-11-21.json"
        );
    }

    #[test]
    fn a_live_holder_keeps_the_day_and_a_dead_one_loses_it() {
        let (a, b) = ("arn:aws:states:r:1:execution:p:a", "arn:aws:states:r:1:execution:p:b");
        assert_eq!(judge(a, a, Some("RUNNING")), Verdict::Mine);
        assert_eq!(judge(a, b, Some("RUNNING")), Verdict::Busy);
        assert_eq!(judge(a, b, Some("PENDING_REDRIVE")), Verdict::Busy);
        for ended in ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"] {
            assert_eq!(judge(a, b, Some(ended)), Verdict::Abandoned, "{ended}");
        }
        assert_eq!(
            judge(a, b, None),
            Verdict::Abandoned,
            "an execution that no longer exists"
        );
    }
}
