//! An RDS export task's status, and the two questions every step asks of
//! it: has it ended, and will it bring no data? snapshot-export, export-poller,
//! export-callback and the CLI all decide through these, so CANCELING means
//! the same everywhere.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `ExportTask.Status`, as RDS reports it (in any case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ExportStatus {
    Starting,
    InProgress,
    Complete,
    /// Canceled by someone, not yet over: RDS still holds the snapshot.
    Canceling,
    Canceled,
    Failed,
    /// A status this code does not know (or none): taken as "not ended".
    Other(String),
}

impl ExportStatus {
    /// Every status RDS documents.
    pub const KNOWN: [ExportStatus; 6] = [
        ExportStatus::Starting,
        ExportStatus::InProgress,
        ExportStatus::Complete,
        ExportStatus::Canceling,
        ExportStatus::Canceled,
        ExportStatus::Failed,
    ];

    /// RDS's text in any case; `None` (no status yet) is [`ExportStatus::Starting`].
    pub fn of(status: Option<&str>) -> Self {
        match status {
            None => ExportStatus::Starting,
            Some(text) => ExportStatus::from(text.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ExportStatus::Starting => "STARTING",
            ExportStatus::InProgress => "IN_PROGRESS",
            ExportStatus::Complete => "COMPLETE",
            ExportStatus::Canceling => "CANCELING",
            ExportStatus::Canceled => "CANCELED",
            ExportStatus::Failed => "FAILED",
            ExportStatus::Other(text) => text,
        }
    }

    /// The export wrote, or will write, no usable data: FAILED, CANCELED, or
    /// CANCELING on its way there. A run fails on it.
    pub fn is_failed(&self) -> bool {
        matches!(
            self,
            ExportStatus::Failed | ExportStatus::Canceled | ExportStatus::Canceling
        )
    }

    /// RDS is done with the export: COMPLETE, FAILED or CANCELED.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            ExportStatus::Complete | ExportStatus::Failed | ExportStatus::Canceled
        )
    }

    /// Ended without data, its id kept taken by RDS for good: the day's next
    /// attempt may start a new export. CANCELING is not such an end yet:
    /// until RDS reports CANCELED the export still holds its snapshot (RDS
    /// runs one export of a snapshot at a time).
    pub fn ended_without_data(&self) -> bool {
        self.is_failed() && self.is_terminal()
    }
}

impl From<String> for ExportStatus {
    fn from(text: String) -> Self {
        let upper = text.to_ascii_uppercase();
        ExportStatus::KNOWN
            .into_iter()
            .find(|s| s.as_str() == upper)
            .unwrap_or(ExportStatus::Other(text))
    }
}

impl From<ExportStatus> for String {
    fn from(status: ExportStatus) -> Self {
        status.as_str().to_string()
    }
}

impl fmt::Display for ExportStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_in_any_case_and_write_as_rds_does() {
        for status in ExportStatus::KNOWN {
            assert_eq!(ExportStatus::from(status.as_str().to_lowercase()), status);
            assert_eq!(serde_json::to_value(&status).unwrap(), status.as_str());
        }
        assert_eq!(ExportStatus::of(None), ExportStatus::Starting);
        assert_eq!(ExportStatus::of(Some("PAUSED")), ExportStatus::Other("PAUSED".into()));
    }

    #[test]
    fn canceling_has_failed_but_not_ended() {
        use ExportStatus::*;
        let failed: Vec<_> = ExportStatus::KNOWN.into_iter().filter(|s| s.is_failed()).collect();
        assert_eq!(failed, [Canceling, Canceled, Failed]);
        let ended: Vec<_> = ExportStatus::KNOWN
            .into_iter()
            .filter(|s| s.ended_without_data())
            .collect();
        assert_eq!(ended, [Canceled, Failed]);
        assert!(Complete.is_terminal() && !Complete.is_failed());
        assert!(!Canceling.is_terminal() && !Other("".into()).is_failed());
    }
}
