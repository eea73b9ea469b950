//! WaitForExport's decisions: which RDS event ends a wait and how, what a
//! waiting run is told, and which created objects name an export. Pure;
//! `handlers::export_callback` does the I/O.

use aws_lambda_events::event::s3::S3Event;

use crate::error::Error;
use crate::export::status::ExportStatus;

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

/// RDS-EVENT-0161/0164: a DB or cluster snapshot's export completed. RDS
/// may write the export's last file (whose S3 event resumes a run) before
/// the task says COMPLETE; this event then resumes it instead.
pub fn is_completed_event(event_id: &str) -> bool {
    matches!(event_id, "RDS-EVENT-0161" | "RDS-EVENT-0164")
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

/// The export id in `.../export_info_<id>.json`, if the key is one.
pub fn export_id_of(key: &str) -> Option<&str> {
    let file = key.rsplit('/').next()?;
    let id = file.strip_prefix("export_info_")?.strip_suffix(".json")?;
    crate::export_id::validate(id).ok().map(|()| id)
}

#[cfg(test)]
mod tests {
    use aws_lambda_events::event::eventbridge::EventBridgeEvent;

    use super::*;
    use crate::contract::export_callback::{ObjectCreated, RdsEventDetail};

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
