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
