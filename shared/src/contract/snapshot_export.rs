//! snapshot-export's request and response (StartExport). Examples live in
//! `events/`.

use serde::{Deserialize, Serialize};

use crate::contract::masking_policy::MaskingPolicy;
use crate::error::Error;
use crate::export::status::ExportStatus;
use crate::logical_time::LogicalTime;
use crate::names;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// An Aurora cluster: automated cluster snapshots.
    Cluster,
    /// A non-Aurora RDS instance: automated DB snapshots.
    Instance,
}

impl SourceKind {
    /// The kind as the input and `SNAPLAKE_SOURCE_KIND` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Cluster => "cluster",
            SourceKind::Instance => "instance",
        }
    }

    /// Reads `cluster` or `instance`.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "cluster" => Ok(SourceKind::Cluster),
            "instance" => Ok(SourceKind::Instance),
            _ => Err("must be cluster (Aurora) or instance (other RDS engines)".into()),
        }
    }
}

fn cluster() -> SourceKind {
    SourceKind::Cluster
}

fn default_deadline_hours() -> u32 {
    6
}

/// The input of snapshot-export: one run of one source.
///
/// Where the deployment pins a value, the input may only repeat it (and
/// snapshot-export checks so before anything is exported): `source_id`,
/// `source_kind`, `kms_key`, `export_role_arn`, `bucket` (always
/// `SNAPLAKE_BUCKET`) and `export_id` (always under
/// `SNAPLAKE_EXPORT_ID_PREFIX`). The fields stay so that the schedule's input
/// keeps its shape.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// The schedule's scheduled time (`<aws.scheduler.scheduled-time>`).
    pub logical_time: LogicalTime,
    /// The cluster or instance identifier.
    pub source_id: String,
    #[serde(default = "cluster")]
    pub source_kind: SourceKind,
    /// The customer managed KMS key the export is encrypted with: the ARN the
    /// deployment pins (`SNAPLAKE_EXPORT_KMS_KEY`); unpinned, an ARN, id or alias.
    pub kms_key: String,
    /// The role RDS assumes to write to the bucket (trusted by export.rds.amazonaws.com).
    pub export_role_arn: String,
    /// `SNAPLAKE_BUCKET`, the only bucket an export may go to; may be left out.
    #[serde(default)]
    pub bucket: Option<String>,
    /// `ExportOnly`: `db`, `db.table` or `db.schema.table`; empty exports everything.
    #[serde(default)]
    pub tables: Vec<String>,
    /// Also consider manual snapshots of the day (e.g. AWS Backup's copies).
    #[serde(default)]
    pub include_manual_snapshots: bool,
    /// Hours after the logical day ends during which a missing snapshot is
    /// "not ready yet" (retried) rather than "not found" (failed).
    #[serde(default = "default_deadline_hours")]
    pub snapshot_deadline_hours: u32,
    /// Publish this existing export (made in the console or by AWS Backup)
    /// instead of choosing the day's snapshot and starting one. Its id starts
    /// with `<SNAPLAKE_EXPORT_ID_PREFIX>-`, and it must be made as snaplake
    /// makes one (the pinned bucket, key, role and source, under the export
    /// prefix).
    #[serde(default)]
    pub export_id: Option<String>,
    /// The run's publish settings: their policy must be the one the
    /// deployment pins, checked before anything is exported.
    #[serde(default)]
    pub publish: Option<PolicyRef>,
    /// The execution (its ARN) and when it started, which the state
    /// machine's Prepare adds (they override the input's): the run's
    /// OpenLineage START is posted with them (shared/src/lineage.rs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<jiff::Timestamp>,
}

/// The part of a run's `publish` settings the pins concern. A run input
/// carries the policy's digest; an older one may carry the policy itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicyRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<MaskingPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_digest: Option<String>,
}

impl ExportRequest {
    /// Checks every field that AWS would reject later, naming the field.
    pub fn validate(&self) -> Result<(), Error> {
        check_identifier("source_id", &self.source_id)?;
        check_role_arn("export_role_arn", &self.export_role_arn)?;
        if self.kms_key.trim().is_empty() {
            return Err(Error::invalid_input(
                "kms_key",
                "is empty; give the ARN of a customer managed KMS key",
            ));
        }
        if let Some(bucket) = &self.bucket {
            names::check_bucket(bucket)
                .map_err(|reason| Error::invalid_input("bucket", format!("{bucket:?}: {reason}")))?;
        }
        for (i, table) in self.tables.iter().enumerate() {
            let parts: Vec<&str> = table.split('.').collect();
            let ok = (1..=3).contains(&parts.len())
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "_$-".contains(c)));
            if !ok {
                return Err(Error::invalid_input(
                    format!("tables[{i}]"),
                    format!("{table:?} is not `database`, `database.table` or `database.schema.table`"),
                ));
            }
        }
        if let Some(id) = &self.export_id {
            crate::export_id::validate(id)
                .map_err(|reason| Error::invalid_input("export_id", format!("{id:?}: {reason}")))?;
        }
        if self.snapshot_deadline_hours > 24 * 30 {
            return Err(Error::invalid_input(
                "snapshot_deadline_hours",
                "must be at most 720 (30 days)",
            ));
        }
        Ok(())
    }
}

/// RDS DB and cluster identifiers: 1–63 letters, digits and hyphens, a letter
/// first, no `--`, no trailing `-`.
pub fn check_identifier(field: &str, id: &str) -> Result<(), Error> {
    let bad = |reason: &str| Err(Error::invalid_input(field, format!("{id:?} {reason}")));
    if id.is_empty() || id.len() > 63 {
        return bad("must be 1 to 63 characters (an RDS cluster or instance identifier)");
    }
    if !id.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return bad("must start with a letter");
    }
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') || id.contains("--") || id.ends_with('-') {
        return bad("may hold only letters, digits and single hyphens, and not end with a hyphen");
    }
    Ok(())
}

/// `arn:<partition>:iam::<12 digits>:role/<path/name>`.
pub fn check_role_arn(field: &str, arn: &str) -> Result<(), Error> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5].strip_prefix("role/").is_some_and(|name| !name.is_empty());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(
            field,
            format!("{arn:?} is not an IAM role ARN; expected arn:aws:iam::<account>:role/<name>"),
        ))
    }
}

/// What snapshot-export answers: enough for every later state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportRun {
    pub export_id: String,
    pub logical_day: String,
    pub source_id: String,
    pub snapshot_arn: String,
    pub snapshot_time: String,
    /// The snapshot's allocated storage in GB, for the run's cost (RDS
    /// bills an export by it); null when the run did not describe it
    /// (`publish --export-id`). Always present: the state machine reads it.
    pub snapshot_gb: Option<u64>,
    pub bucket: String,
    /// The `S3Prefix` given to RDS: `<export prefix>/<source>/<logical day>`.
    pub s3_prefix: String,
    /// Where RDS writes: `<s3_prefix>/<export_id>`.
    pub export_path: String,
    pub status: ExportStatus,
    /// True when an export with this id already existed and was adopted.
    pub adopted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request() -> serde_json::Value {
        json!({
            "logical_time": "2026-11-20T19:00:00Z",
            "source_id": "shop-prod",
            "kms_key": "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555",
            "export_role_arn": "arn:aws:iam::123456789012:role/snaplake-export",
        })
    }

    #[test]
    fn example_event_parses_and_validates() {
        let r: ExportRequest = serde_json::from_str(include_str!("../../../events/snapshot-export.json")).unwrap();
        r.validate().unwrap();
    }

    #[test]
    fn defaults() {
        let r: ExportRequest = serde_json::from_value(request()).unwrap();
        assert_eq!(r.source_kind, SourceKind::Cluster);
        assert_eq!(r.snapshot_deadline_hours, 6);
        assert!(r.tables.is_empty() && !r.include_manual_snapshots && r.bucket.is_none());
        r.validate().unwrap();
    }

    #[test]
    fn missing_unknown_and_mistyped_fields_are_named() {
        let mut v = request();
        v.as_object_mut().unwrap().remove("kms_key");
        assert!(
            serde_json::from_value::<ExportRequest>(v)
                .unwrap_err()
                .to_string()
                .contains("kms_key")
        );
        let mut v = request();
        v["kms_key_arn"] = json!("x");
        assert!(
            serde_json::from_value::<ExportRequest>(v)
                .unwrap_err()
                .to_string()
                .contains("kms_key_arn")
        );
        let mut v = request();
        v["source_kind"] = json!("database");
        let err = serde_json::from_value::<ExportRequest>(v).unwrap_err().to_string();
        assert!(err.contains("database") && err.contains("cluster"), "{err}");
        let mut v = request();
        v["logical_time"] = json!("yesterday");
        assert!(
            serde_json::from_value::<ExportRequest>(v)
                .unwrap_err()
                .to_string()
                .contains("logical_time")
        );
    }

    #[test]
    fn bad_values_name_the_field() {
        let cases = [
            ("source_id", json!("9shop")),
            ("source_id", json!("shop--prod")),
            ("export_role_arn", json!("snaplake-export")),
            ("export_role_arn", json!("arn:aws:iam::12345:role/x")),
            ("export_role_arn", json!("arn:aws:iam::123456789012:user/x")),
            ("kms_key", json!(" ")),
            ("bucket", json!("Not_A_Bucket")),
            ("tables[1]", json!(["shop.customers", "shop.orders; drop"])),
        ];
        for (field, value) in cases {
            let mut v = request();
            let key = field.split('[').next().unwrap();
            v[key] = value;
            let r: ExportRequest = serde_json::from_value(v).unwrap();
            let err = r.validate().unwrap_err().to_string();
            assert!(err.contains(&format!("`{field}`")), "{field}: {err}");
        }
    }
}
