//! Which snapshot a run exports: the newest `available` one created inside
//! the run's logical day. A pure decision, so the day-boundary cases are
//! tested without AWS.

use jiff::Timestamp;

use crate::error::Error;

/// The facts about one snapshot that the choice needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub id: String,
    pub arn: String,
    pub created: Timestamp,
    pub status: String,
    /// `automated` or `manual` (AWS Backup's are `awsbackup`).
    pub kind: String,
    /// Its allocated storage in GB: RDS bills an export by it.
    pub allocated_gb: Option<u64>,
}

/// The day's window and how long to keep waiting for its snapshot.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: Timestamp,
    pub end: Timestamp,
    /// After this instant a missing snapshot is `SnapshotNotFound`, before
    /// it `SnapshotNotReady` (the state machine retries).
    pub deadline: Timestamp,
}

/// Picks the snapshot for the window, or says why there is none.
pub fn choose(
    source_id: &str,
    snapshots: &[SnapshotInfo],
    window: Window,
    include_manual: bool,
    now: Timestamp,
) -> Result<SnapshotInfo, Error> {
    let eligible = |s: &&SnapshotInfo| s.kind == "automated" || (include_manual && s.kind == "manual");
    let in_window = |s: &&SnapshotInfo| s.created >= window.start && s.created < window.end;
    let best = snapshots
        .iter()
        .filter(eligible)
        .filter(in_window)
        .filter(|s| s.status == "available")
        .max_by_key(|s| (s.created, s.id.clone()));
    if let Some(found) = best {
        return Ok(found.clone());
    }
    // One still being created inside the window is worth waiting for even
    // past the deadline: the backup is running, not missing.
    let creating = snapshots
        .iter()
        .filter(eligible)
        .filter(in_window)
        .any(|s| s.status == "creating");
    if now < window.deadline || creating {
        return Err(Error::SnapshotNotReady {
            source_id: source_id.to_string(),
            window_start: window.start.to_string(),
            window_end: window.end.to_string(),
        });
    }
    let mut existing: Vec<&SnapshotInfo> = snapshots.iter().collect();
    existing.sort_by_key(|s| std::cmp::Reverse(s.created));
    Err(Error::SnapshotNotFound {
        source_id: source_id.to_string(),
        window_start: window.start.to_string(),
        window_end: window.end.to_string(),
        existing: existing
            .iter()
            .take(10)
            .map(|s| format!("{} ({}, {}, {})", s.id, s.kind, s.status, s.created))
            .collect(),
    })
}

/// A run that publishes an export made elsewhere stands for the day its
/// snapshot was taken: the snapshot must lie in the run's day window, the
/// same window the daily run chooses in, and that day must have begun.
/// Otherwise old data stamped with a later day would make every later run
/// `superseded` and freeze the curated tables, rows deleted in production
/// with them.
pub fn check_snapshot_day(
    export_id: &str,
    snapshot_time: Timestamp,
    (start, end): (Timestamp, Timestamp),
    now: Timestamp,
) -> Result<(), Error> {
    if start > now {
        return Err(Error::invalid_input(
            "logical_time",
            format!(
                "the run's day starts at {start}, after now ({now}); a day that has not begun has no snapshot \
                 to publish: publish export {export_id} as the day its snapshot was taken ({snapshot_time})"
            ),
        ));
    }
    if snapshot_time < start || snapshot_time >= end {
        return Err(Error::invalid_input(
            "logical_time",
            format!(
                "export {export_id} is of a snapshot taken at {snapshot_time}, outside the run's day \
                 [{start}, {end}); publish it as the day its snapshot was taken (leave out --date)"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(id: &str, created: &str, status: &str, kind: &str) -> SnapshotInfo {
        SnapshotInfo {
            id: id.into(),
            arn: format!("arn:aws:rds:us-east-1:123456789012:cluster-snapshot:{id}"),
            created: created.parse().unwrap(),
            status: status.into(),
            kind: kind.into(),
            allocated_gb: None,
        }
    }

    // The Tokyo day 2026-11-21 in UTC, with the deadline at its end.
    fn window() -> Window {
        Window {
            start: "2026-11-20T15:00:00Z".parse().unwrap(),
            end: "2026-11-21T15:00:00Z".parse().unwrap(),
            deadline: "2026-11-21T15:00:00Z".parse().unwrap(),
        }
    }

    const BEFORE_DEADLINE: &str = "2026-11-21T01:00:00Z";
    const AFTER_DEADLINE: &str = "2026-11-22T01:00:00Z";

    #[test]
    fn newest_available_automated_snapshot_inside_the_day() {
        let snapshots = [
            snap(
                "rds:shop-2026-11-20-14-59",
                "2026-11-20T14:59:59Z",
                "available",
                "automated",
            ),
            snap(
                "rds:shop-2026-11-20-15-00",
                "2026-11-20T15:00:00Z",
                "available",
                "automated",
            ),
            snap(
                "rds:shop-2026-11-20-18-00",
                "2026-11-20T18:00:00Z",
                "available",
                "automated",
            ),
            snap(
                "rds:shop-2026-11-21-15-00",
                "2026-11-21T15:00:00Z",
                "available",
                "automated",
            ),
        ];
        let got = choose("shop", &snapshots, window(), false, BEFORE_DEADLINE.parse().unwrap()).unwrap();
        assert_eq!(got.id, "rds:shop-2026-11-20-18-00");
    }

    #[test]
    fn the_first_instant_of_the_day_counts_and_the_first_of_the_next_does_not() {
        let start = [snap("a", "2026-11-20T15:00:00Z", "available", "automated")];
        assert_eq!(
            choose("shop", &start, window(), false, BEFORE_DEADLINE.parse().unwrap())
                .unwrap()
                .id,
            "a"
        );
        let next = [snap("b", "2026-11-21T15:00:00Z", "available", "automated")];
        let err = choose("shop", &next, window(), false, BEFORE_DEADLINE.parse().unwrap()).unwrap_err();
        assert_eq!(err.name(), "SnapshotNotReady");
    }

    #[test]
    fn manual_snapshots_only_when_asked() {
        let snapshots = [snap("manual-1", "2026-11-20T20:00:00Z", "available", "manual")];
        let now = AFTER_DEADLINE.parse().unwrap();
        assert_eq!(
            choose("shop", &snapshots, window(), false, now).unwrap_err().name(),
            "SnapshotNotFound"
        );
        assert_eq!(choose("shop", &snapshots, window(), true, now).unwrap().id, "manual-1");
    }

    #[test]
    fn a_snapshot_still_creating_is_waited_for_even_after_the_deadline() {
        let snapshots = [snap("c", "2026-11-20T18:00:00Z", "creating", "automated")];
        let err = choose("shop", &snapshots, window(), false, AFTER_DEADLINE.parse().unwrap()).unwrap_err();
        assert_eq!(err.name(), "SnapshotNotReady");
        assert!(err.is_retryable());
    }

    #[test]
    fn after_the_deadline_not_found_names_the_window_and_what_exists() {
        let snapshots = [snap(
            "rds:shop-2026-11-19-18-00",
            "2026-11-19T18:00:00Z",
            "available",
            "automated",
        )];
        let err = choose("shop", &snapshots, window(), false, AFTER_DEADLINE.parse().unwrap()).unwrap_err();
        assert_eq!(err.name(), "SnapshotNotFound");
        let text = err.to_string();
        assert!(
            text.contains("2026-11-20T15:00:00Z") && text.contains("2026-11-21T15:00:00Z"),
            "{text}"
        );
        assert!(text.contains("rds:shop-2026-11-19-18-00"), "{text}");
    }

    #[test]
    fn ties_resolve_the_same_way_every_time() {
        let a = snap("a", "2026-11-20T18:00:00Z", "available", "automated");
        let b = snap("b", "2026-11-20T18:00:00Z", "available", "automated");
        let now = BEFORE_DEADLINE.parse().unwrap();
        assert_eq!(
            choose("shop", &[a.clone(), b.clone()], window(), false, now)
                .unwrap()
                .id,
            "b"
        );
        assert_eq!(choose("shop", &[b, a], window(), false, now).unwrap().id, "b");
    }

    #[test]
    fn an_export_is_published_only_as_the_day_its_snapshot_was_taken() {
        let w = (window().start, window().end);
        let now: Timestamp = AFTER_DEADLINE.parse().unwrap();
        let at = |t: &str| t.parse::<Timestamp>().unwrap();
        assert!(check_snapshot_day("e", at("2026-11-20T15:00:00Z"), w, now).is_ok());
        assert!(check_snapshot_day("e", at("2026-11-21T14:59:59Z"), w, now).is_ok());
        for outside in ["2026-11-20T14:59:59Z", "2026-11-21T15:00:00Z", "2026-11-01T00:00:00Z"] {
            let err = check_snapshot_day("e", at(outside), w, now).unwrap_err();
            assert_eq!(err.name(), "InvalidInput");
            let text = err.to_string();
            assert!(text.contains("`logical_time`") && text.contains(outside), "{text}");
        }
    }

    #[test]
    fn a_day_that_has_not_begun_is_refused_whatever_the_snapshot() {
        let w = (window().start, window().end);
        let before: Timestamp = "2026-11-20T14:00:00Z".parse().unwrap();
        let err = check_snapshot_day("e", "2026-11-20T18:00:00Z".parse().unwrap(), w, before).unwrap_err();
        assert!(err.to_string().contains("has not begun"), "{err}");
    }
}
