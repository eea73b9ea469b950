//! RDS: snapshots of a source, and export tasks.

use aws_sdk_rds::Client;
use aws_sdk_rds::error::SdkError;
use aws_sdk_rds::types::ExportTask;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::to_timestamp;
use crate::contract::snapshot_export::SourceKind;
use crate::error::Error;
use crate::export::snapshot_choice::SnapshotInfo;

/// Every automated (and, if asked, manual) snapshot of the source, following
/// `Marker` pages.
pub async fn list_snapshots(
    client: &Client,
    kind: SourceKind,
    source_id: &str,
    include_manual: bool,
) -> Result<Vec<SnapshotInfo>, Error> {
    let mut out = Vec::new();
    let types: &[&str] = if include_manual {
        &["automated", "manual"]
    } else {
        &["automated"]
    };
    for snapshot_type in types {
        let mut marker: Option<String> = None;
        loop {
            let page = match kind {
                SourceKind::Cluster => {
                    let resp = client
                        .describe_db_cluster_snapshots()
                        .db_cluster_identifier(source_id)
                        .snapshot_type(*snapshot_type)
                        .set_marker(marker.take())
                        .send()
                        .await
                        .map_err(|e| describe_error("DescribeDBClusterSnapshots", source_id, &e))?;
                    out.extend(resp.db_cluster_snapshots().iter().filter_map(|s| {
                        Some(SnapshotInfo {
                            id: s.db_cluster_snapshot_identifier()?.to_string(),
                            arn: s.db_cluster_snapshot_arn()?.to_string(),
                            created: to_timestamp(s.snapshot_create_time()?),
                            status: s.status().unwrap_or_default().to_string(),
                            kind: s.snapshot_type().unwrap_or(snapshot_type).to_string(),
                            allocated_gb: s.allocated_storage().and_then(|gb| u64::try_from(gb).ok()),
                        })
                    }));
                    resp.marker().map(str::to_string)
                }
                SourceKind::Instance => {
                    let resp = client
                        .describe_db_snapshots()
                        .db_instance_identifier(source_id)
                        .snapshot_type(*snapshot_type)
                        .set_marker(marker.take())
                        .send()
                        .await
                        .map_err(|e| describe_error("DescribeDBSnapshots", source_id, &e))?;
                    out.extend(resp.db_snapshots().iter().filter_map(|s| {
                        Some(SnapshotInfo {
                            id: s.db_snapshot_identifier()?.to_string(),
                            arn: s.db_snapshot_arn()?.to_string(),
                            created: to_timestamp(s.snapshot_create_time()?),
                            status: s.status().unwrap_or_default().to_string(),
                            kind: s.snapshot_type().unwrap_or(snapshot_type).to_string(),
                            allocated_gb: s.allocated_storage().and_then(|gb| u64::try_from(gb).ok()),
                        })
                    }));
                    resp.marker().map(str::to_string)
                }
            };
            match page {
                Some(next) if !next.is_empty() => marker = Some(next),
                _ => break,
            }
        }
    }
    Ok(out)
}

fn describe_error<E, R>(op: &str, source_id: &str, err: &SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let fix = match err.code() {
        Some("DBClusterNotFoundFault") | Some("DBInstanceNotFound") => {
            "check source_id and source_kind (cluster for Aurora, instance for other RDS engines) and the region"
        }
        Some("AccessDenied") | Some("AccessDeniedException") => {
            "allow rds:DescribeDBClusterSnapshots and rds:DescribeDBSnapshots to the snapshot-export role"
        }
        _ => "",
    };
    let err = Error::sdk("rds", op, source_id, err);
    if fix.is_empty() { err } else { err.with_fix(fix) }
}

/// The export task with this id, if there is one.
pub async fn find_export(client: &Client, export_id: &str) -> Result<Option<ExportTask>, Error> {
    match client
        .describe_export_tasks()
        .export_task_identifier(export_id)
        .send()
        .await
    {
        Ok(resp) => Ok(resp
            .export_tasks()
            .iter()
            .find(|t| t.export_task_identifier() == Some(export_id))
            .cloned()),
        Err(err) => {
            if err.code() == Some("ExportTaskNotFound") || err.code() == Some("ExportTaskNotFoundFault") {
                Ok(None)
            } else {
                Err(Error::sdk("rds", "DescribeExportTasks", export_id, &err))
            }
        }
    }
}

/// The ids of the export tasks of one snapshot, following `Marker` pages. An
/// RDS event names the snapshot, not the export.
pub async fn exports_of(client: &Client, source_arn: &str) -> Result<Vec<String>, Error> {
    let mut ids = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = client
            .describe_export_tasks()
            .source_arn(source_arn)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| Error::sdk("rds", "DescribeExportTasks", source_arn, &e))?;
        ids.extend(
            page.export_tasks()
                .iter()
                .filter(|t| t.source_arn() == Some(source_arn))
                .filter_map(|t| t.export_task_identifier().map(str::to_string)),
        );
        match page.marker() {
            Some(next) if !next.is_empty() => marker = Some(next.to_string()),
            _ => return Ok(ids),
        }
    }
}

/// The parameters of one StartExportTask call.
#[derive(Debug, Clone)]
pub struct StartExport {
    pub export_id: String,
    pub snapshot_arn: String,
    pub bucket: String,
    pub s3_prefix: String,
    pub role_arn: String,
    pub kms_key: String,
    pub export_only: Vec<String>,
}

pub enum Started {
    Started(Box<ExportTask>),
    /// Another invocation started it first (a race): adopt it.
    AlreadyExists,
}

pub async fn start_export(client: &Client, p: &StartExport) -> Result<Started, Error> {
    let result = client
        .start_export_task()
        .export_task_identifier(&p.export_id)
        .source_arn(&p.snapshot_arn)
        .s3_bucket_name(&p.bucket)
        .s3_prefix(&p.s3_prefix)
        .iam_role_arn(&p.role_arn)
        .kms_key_id(&p.kms_key)
        .set_export_only((!p.export_only.is_empty()).then(|| p.export_only.clone()))
        .send()
        .await;
    match result {
        Ok(out) => Ok(Started::Started(Box::new(
            ExportTask::builder()
                .set_export_task_identifier(out.export_task_identifier().map(str::to_string))
                .set_source_arn(out.source_arn().map(str::to_string))
                .set_status(out.status().map(str::to_string))
                .set_snapshot_time(out.snapshot_time().cloned())
                .set_s3_bucket(out.s3_bucket().map(str::to_string))
                .set_s3_prefix(out.s3_prefix().map(str::to_string))
                .build(),
        ))),
        Err(err) => {
            if err.code().map(base_code) == Some("ExportTaskAlreadyExists") {
                return Ok(Started::AlreadyExists);
            }
            match err.as_service_error() {
                Some(e) if e.code().is_some() => Err(start_error(p, e)),
                _ => Err(Error::sdk("rds", "StartExportTask", &p.export_id, &err)),
            }
        }
    }
}

/// RDS error codes come with and without the `Fault` suffix.
fn base_code(code: &str) -> &str {
    code.strip_suffix("Fault").unwrap_or(code)
}

/// Turns a StartExportTask error into one that says what to change. The
/// export limit and a snapshot not yet exportable become
/// [`Error::ExportRetryable`] in [`Error::aws`] (retried, their fix built in).
pub fn start_error<E: ProvideErrorMetadata + std::fmt::Display>(p: &StartExport, err: &E) -> Error {
    let role = &p.role_arn;
    let bucket = &p.bucket;
    let key = &p.kms_key;
    let (resource, fix) = match err.code().map(base_code).unwrap_or("") {
        "KMSKeyNotAccessible" => (
            key.clone(),
            format!(
                "the key must be customer managed and enabled, and its key policy must allow the snapshot-export \
                 function's role kms:CreateGrant and kms:DescribeKey (RDS creates a grant for the export), and \
                 allow {role} kms:Encrypt, kms:Decrypt, kms:ReEncrypt*, kms:GenerateDataKey* and kms:DescribeKey"
            ),
        ),
        "IamRoleMissingPermissions" => (
            role.clone(),
            format!(
                "give {role} s3:PutObject*, s3:GetObject*, s3:DeleteObject*, s3:ListBucket and s3:GetBucketLocation \
                 on arn:aws:s3:::{bucket} and arn:aws:s3:::{bucket}/*"
            ),
        ),
        "IamRoleNotFound" => (
            role.clone(),
            format!(
                "create {role}, or fix the ARN; its trust policy must allow export.rds.amazonaws.com to sts:AssumeRole, \
                 and the snapshot-export function's role needs iam:PassRole on it"
            ),
        ),
        "InvalidS3Bucket" => (
            bucket.clone(),
            format!("create bucket {bucket} in the region of the snapshot, or fix its name; {role} must be able to write to it"),
        ),
        "InvalidExportOnly" => (
            format!("ExportOnly {:?}", p.export_only),
            "name only databases, tables or schemas that exist in the snapshot, as `db`, `db.table` or `db.schema.table`"
                .to_string(),
        ),
        "DBClusterSnapshotNotFound" | "DBSnapshotNotFound" => {
            (p.snapshot_arn.clone(), "the snapshot was deleted after it was chosen; run the day again".to_string())
        }
        _ => (p.export_id.clone(), String::new()),
    };
    let error = Error::aws("rds", "StartExportTask", &resource, err);
    if fix.is_empty() { error } else { error.with_fix(fix) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_rds::operation::describe_db_cluster_snapshots::DescribeDbClusterSnapshotsOutput;
    use aws_sdk_rds::types::DbClusterSnapshot;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::error::ErrorMetadata;

    /// An RDS (Query protocol) error body, as AWS sends it.
    fn rds_error(code: &str) -> String {
        format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{code} happened</Message>\
             </Error><RequestId>r-1</RequestId></ErrorResponse>"
        )
    }

    fn page(ids: &[&str], marker: Option<&str>) -> DescribeDbClusterSnapshotsOutput {
        DescribeDbClusterSnapshotsOutput::builder()
            .set_db_cluster_snapshots(Some(
                ids.iter()
                    .map(|id| {
                        DbClusterSnapshot::builder()
                            .db_cluster_snapshot_identifier(*id)
                            .db_cluster_snapshot_arn(format!("arn:aws:rds:us-east-1:1:cluster-snapshot:{id}"))
                            .snapshot_create_time(aws_smithy_types::DateTime::from_secs(1_790_000_000))
                            .status("available")
                            .snapshot_type("automated")
                            .build()
                    })
                    .collect(),
            ))
            .set_marker(marker.map(str::to_string))
            .build()
    }

    #[tokio::test]
    async fn snapshots_follow_marker_pages() {
        let first = mock!(Client::describe_db_cluster_snapshots)
            .match_requests(|r| r.marker().is_none())
            .then_output(|| page(&["a", "b"], Some("m1")));
        let second = mock!(Client::describe_db_cluster_snapshots)
            .match_requests(|r| r.marker() == Some("m1"))
            .then_output(|| page(&["c"], Some("m2")));
        let third = mock!(Client::describe_db_cluster_snapshots)
            .match_requests(|r| r.marker() == Some("m2") && r.snapshot_type() == Some("automated"))
            .then_output(|| page(&["d"], None));
        let client = mock_client!(aws_sdk_rds, RuleMode::MatchAny, [&first, &second, &third]);
        let got = list_snapshots(&client, SourceKind::Cluster, "shop", false)
            .await
            .unwrap();
        assert_eq!(
            got.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            ["a", "b", "c", "d"]
        );
        assert_eq!((first.num_calls(), second.num_calls(), third.num_calls()), (1, 1, 1));
    }

    #[tokio::test]
    async fn throttling_is_retried_by_the_client() {
        let rule = mock!(Client::describe_db_cluster_snapshots)
            .sequence()
            .http_status(400, Some(rds_error("Throttling")))
            .times(2)
            .output(|| page(&["a"], None))
            .build();
        let client = mock_client!(aws_sdk_rds, RuleMode::Sequential, [&rule], |b| b
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(4)));
        let got = list_snapshots(&client, SourceKind::Cluster, "shop", false)
            .await
            .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(rule.num_calls(), 3);
    }

    #[tokio::test]
    async fn throttling_that_outlasts_the_retries_is_a_throttled_error() {
        let rule = mock!(Client::describe_db_cluster_snapshots)
            .sequence()
            .http_status(400, Some(rds_error("Throttling")))
            .repeatedly()
            .build();
        let client = mock_client!(aws_sdk_rds, RuleMode::Sequential, [&rule], |b| b
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2)));
        let err = list_snapshots(&client, SourceKind::Cluster, "shop", false)
            .await
            .unwrap_err();
        assert_eq!(err.name(), "Throttled", "{err}");
        assert!(err.is_retryable());
    }

    #[tokio::test]
    async fn start_errors_from_rds_are_mapped_and_a_race_is_adopted() {
        for (code, expect) in [
            ("KMSKeyNotAccessibleFault", "kms:CreateGrant"),
            ("IamRoleMissingPermissions", "s3:PutObject"),
            ("IamRoleNotFound", "export.rds.amazonaws.com"),
            ("InvalidS3BucketFault", "create bucket lake"),
            ("InvalidExportOnly", "db.schema.table"),
        ] {
            let rule = mock!(Client::start_export_task).then_http_response(move || {
                aws_smithy_runtime_api::http::Response::new(
                    aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
                    aws_smithy_types::body::SdkBody::from(rds_error(code)),
                )
            });
            let client = mock_client!(aws_sdk_rds, [&rule]);
            let Err(err) = start_export(&client, &params()).await else {
                panic!("{code} must fail")
            };
            let text = err.to_string();
            assert!(text.contains(code) && text.contains(expect), "{code}: {text}");
        }
        let rule = mock!(Client::start_export_task).then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
                aws_smithy_types::body::SdkBody::from(rds_error("ExportTaskAlreadyExists")),
            )
        });
        let client = mock_client!(aws_sdk_rds, [&rule]);
        assert!(matches!(
            start_export(&client, &params()).await,
            Ok(Started::AlreadyExists)
        ));
    }

    #[tokio::test]
    async fn a_missing_export_is_none_not_an_error() {
        let rule = mock!(Client::describe_export_tasks).then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(404).unwrap(),
                aws_smithy_types::body::SdkBody::from(rds_error("ExportTaskNotFound")),
            )
        });
        let client = mock_client!(aws_sdk_rds, [&rule]);
        assert!(find_export(&client, "snaplake-x-20261121").await.unwrap().is_none());
    }

    fn params() -> StartExport {
        StartExport {
            export_id: "snaplake-shop-20261121".into(),
            snapshot_arn: "arn:aws:rds:us-east-1:123456789012:cluster-snapshot:rds:shop-2026-11-20-18-00".into(),
            bucket: "lake".into(),
            s3_prefix: "exports/shop/2026-11-21".into(),
            role_arn: "arn:aws:iam::123456789012:role/snaplake-export".into(),
            kms_key: "arn:aws:kms:us-east-1:123456789012:key/abc".into(),
            export_only: vec!["shop.customers".into()],
        }
    }

    fn message_for(code: &str) -> String {
        start_error(
            &params(),
            &ErrorMetadata::builder().code(code).message("denied").build(),
        )
        .to_string()
    }

    #[test]
    fn each_rds_error_says_what_to_fix() {
        let kms = message_for("KMSKeyNotAccessibleFault");
        assert!(kms.contains("kms:CreateGrant") && kms.contains("key/abc"), "{kms}");
        let perms = message_for("IamRoleMissingPermissions");
        assert!(
            perms.contains("s3:PutObject") && perms.contains("arn:aws:s3:::lake/*"),
            "{perms}"
        );
        let role = message_for("IamRoleNotFound");
        assert!(
            role.contains("export.rds.amazonaws.com") && role.contains("iam:PassRole"),
            "{role}"
        );
        let bucket = message_for("InvalidS3BucketFault");
        assert!(bucket.contains("create bucket lake"), "{bucket}");
        let only = message_for("InvalidExportOnly");
        assert!(
            only.contains("shop.customers") && only.contains("db.schema.table"),
            "{only}"
        );
        for text in [kms, perms, role, bucket, only] {
            assert!(text.contains("denied") && text.contains("StartExportTask"), "{text}");
        }
    }

    #[test]
    fn unknown_errors_keep_code_and_message() {
        let text = message_for("SomethingNew");
        assert!(
            text.contains("SomethingNew") && text.contains("denied") && !text.contains("Fix:"),
            "{text}"
        );
    }
}
