//! The Glue table parameters snaplake writes and reads, in one place: the
//! state of a raw or curated table is kept on the table itself, so a
//! retry, the next day's run, `snaplake status` and `snaplake rollback`
//! read it where readers find the table.

/// The logical time of the run whose version the table shows (RFC 3339).
pub const LOGICAL_TIME: &str = "snaplake.logical_time";
/// That run's logical day in the configured time zone (`2026-11-21`).
pub const LOGICAL_DAY: &str = "snaplake.logical_day";
/// The RDS export the version was made from.
pub const EXPORT_ID: &str = "snaplake.export_id";
/// The source table (`shop.customers`).
pub const SOURCE: &str = "snaplake.source";
/// The run manifest of the run that published the version (`s3://…`).
pub const RUN_MANIFEST: &str = "snaplake.run_manifest";
/// The version's row count, read from its files' footers: the next swap's
/// quality gate compares with it (`catalog::quality`).
pub const ROWS: &str = "snaplake.rows";
/// The digest of the masking policy the version was made under.
pub const POLICY_DIGEST: &str = "snaplake.policy_digest";
/// `passed` once the version passed its audit (`catalog::audit`).
pub const AUDIT: &str = "snaplake.audit";
/// Where a rollback moved the table from.
pub const ROLLED_BACK_FROM: &str = "snaplake.rolled_back_from";

/// Glue's parameters of an Iceberg table, as Athena and Iceberg's own Glue
/// catalog read them: `table_type` is `ICEBERG`, `metadata_location` the
/// current metadata file, `previous_metadata_location` the one before.
pub const TABLE_TYPE: &str = "table_type";
pub const ICEBERG: &str = "ICEBERG";
pub const METADATA_LOCATION: &str = "metadata_location";
pub const PREVIOUS_METADATA_LOCATION: &str = "previous_metadata_location";

/// Whether a table's parameters say it is an Iceberg table.
pub fn is_iceberg(parameters: &std::collections::HashMap<String, String>) -> bool {
    parameters
        .get(TABLE_TYPE)
        .is_some_and(|t| t.eq_ignore_ascii_case(ICEBERG))
}
