//! An empty result. Athena does not document whether UNLOAD writes any file
//! when its SELECT returns no rows; if it writes none, the new version
//! would hold nothing and the swap would refuse it, every day, for an empty
//! source table or a row filter that matches nothing. So once the UNLOAD
//! has succeeded, a version without a data file gets one Parquet file with
//! no rows and the UNLOAD's columns, encrypted as the workgroup encrypts
//! UNLOAD's output: it is then published as an empty table.

use tracing::info;

use super::raw_columns;
use crate::aws::{athena, s3};
use crate::catalog::empty_file;
use crate::catalog::location::{S3Prefix, is_data_object};
use crate::contract::query_runner::TableNames;
use crate::contract::snapshot_export::PolicyRef;
use crate::env::Env;
use crate::error::Error;
use crate::pinning;
use crate::transform::generate;

/// The name of the file written into an empty version.
pub const EMPTY_FILE: &str = "snaplake-empty.parquet";

/// Writes the empty file into `location` when the UNLOAD left no data file
/// there; true when it did. Idempotent: a second call finds the file.
pub async fn write_if_empty(env: &Env, policy: &PolicyRef, table: &TableNames, location: &str) -> Result<bool, Error> {
    let target = S3Prefix::parse("new_location", location)?;
    let objects = s3::list_objects(&env.clients.s3, &target.bucket, &target.key).await?;
    if objects.iter().any(|(key, size)| is_data_object(key, *size)) {
        return Ok(false);
    }
    let policy = pinning::policy(env, policy).await?;
    let columns = raw_columns(env, table).await?;
    let rules = policy.column_rules(&table.source, &columns, env.salt.is_some())?;
    let output = generate::output_columns(&rules.rules, &policy.transformed_at_column);
    let body = empty_file::write(&table.name, &output)?;
    let encryption = athena::result_encryption(&env.clients.athena, &env.config.athena_workgroup).await?;
    let key = format!("{}{EMPTY_FILE}", target.key);
    s3::put_bytes(&env.clients.s3, &target.bucket, &key, body, &encryption).await?;
    info!(table = %table.name, %location, columns = output.len(), "the transform found no rows: wrote an empty version");
    Ok(true)
}
