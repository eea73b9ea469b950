//! The export stage: which snapshot, which export, and what it produced.

pub mod plan;
pub mod poll_cadence;
pub mod snapshot_choice;
pub mod status;
pub mod tables_info;
pub mod wait;

/// The `S3Prefix` a day's export is given: `<export prefix>/<source>/<day>`.
pub fn day_prefix(export_prefix: &str, source_id: &str, day: jiff::civil::Date) -> String {
    format!("{export_prefix}/{source_id}/{day}")
}

/// `<S3Prefix>/<export id>` without stray slashes (RDS accepts a prefix with them).
pub fn export_path(s3_prefix: &str, export_id: &str) -> String {
    let prefix = s3_prefix.trim_matches('/');
    if prefix.is_empty() {
        export_id.to_string()
    } else {
        format!("{prefix}/{export_id}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_path_ignores_stray_slashes() {
        assert_eq!(
            export_path("/exports/shop/2026-11-21/", "x"),
            "exports/shop/2026-11-21/x"
        );
        assert_eq!(export_path("", "x"), "x");
    }
}
