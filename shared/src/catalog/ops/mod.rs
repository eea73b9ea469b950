//! catalog-swap's work, one file per action, each with typed inputs and
//! outputs (`crate::contract::catalog_swap`) and its decisions in pure
//! functions: the handler only parses and dispatches, and `snaplake
//! rollback` / `snaplake gc` call the same functions with the operator's
//! credentials.
//!
//! Readers resolve a table's location from Glue, so a new version is always
//! written to a new location and the table is repointed in one `UpdateTable`
//! carrying the version read before (optimistic lock): readers see the old
//! data or the new, never an empty or half-written table. Nothing a table
//! points at, or may be rolled back to, is ever deleted.

pub mod batch;
pub mod discard;
pub mod gc;
pub mod iceberg_commit;
pub mod judge;
pub mod prepare;
pub mod read_ahead;
pub mod register_raw;
pub mod report;
pub mod rollback;
pub mod stage;
pub mod swap;

use crate::aws::glue::TableState;
use crate::aws::s3;
use crate::catalog::location::{S3Prefix, is_data_object};
use crate::catalog::parameters;
use crate::catalog::schema::{self, FileSchema};
use crate::env::Env;
use crate::error::Error;
use crate::logical_time::LogicalTime;
use crate::names;

fn check_table_name(table: &str) -> Result<(), Error> {
    names::check_glue_name(table).map_err(|why| Error::invalid_input("table", format!("{table:?}: {why}")))
}

/// Where a curated table's versions live (`snaplake plan` shows it too).
pub fn curated_base(env: &Env, table: &str) -> S3Prefix {
    S3Prefix::new(&env.config.bucket, &format!("{}/{table}", env.config.curated_prefix))
}

/// Reads the schema of a Parquet object from its footer only. One ranged GET
/// of the file's end holds the footer of almost every file; a larger footer
/// costs exactly one more. Returns it with the bytes read.
pub async fn read_schema(env: &Env, bucket: &str, key: &str) -> Result<(FileSchema, u64), Error> {
    let uri = format!("s3://{bucket}/{key}");
    let (end, size) = s3::get_range(&env.clients.s3, bucket, key, &format!("bytes=-{}", schema::END_LEN)).await?;
    let got = end.len() as u64;
    let footer_len = schema::footer_len(&uri, &end[end.len().saturating_sub(schema::TAIL_LEN as usize)..])?;
    if footer_len + schema::TAIL_LEN > size {
        return Err(Error::invalid_input(
            uri,
            format!("claims a {footer_len}-byte footer in a {size}-byte file"),
        ));
    }
    if footer_len + schema::TAIL_LEN <= got {
        let footer = &end[(got - schema::TAIL_LEN - footer_len) as usize..(got - schema::TAIL_LEN) as usize];
        return Ok((schema::from_footer(&uri, footer)?, got));
    }
    let start = size - schema::TAIL_LEN - footer_len;
    let range = format!("bytes={start}-{}", size - schema::TAIL_LEN - 1);
    let (footer, _) = s3::get_range(&env.clients.s3, bucket, key, &range).await?;
    Ok((schema::from_footer(&uri, &footer)?, got + footer.len() as u64))
}

/// Data objects under a location: not `_SUCCESS`-style markers, not empty.
async fn data_objects(env: &Env, location: &S3Prefix) -> Result<Vec<String>, Error> {
    let objects = s3::list_objects(&env.clients.s3, &location.bucket, &location.key).await?;
    Ok(objects
        .into_iter()
        .filter(|(key, size)| is_data_object(key, *size))
        .map(|(key, _)| key)
        .collect())
}

/// Whether a table shows a newer run than `run`. Days can finish out of
/// order (a backfill runs several at once): an older day must never move a
/// table back in time.
fn newer_run(table: &TableState, run: LogicalTime) -> bool {
    table
        .parameters
        .get(parameters::LOGICAL_TIME)
        .and_then(|t| LogicalTime::parse(t).ok())
        .is_some_and(|t| t > run)
}

fn conflict(database: &str, table: &str) -> Error {
    Error::Aws {
        service: "glue".into(),
        operation: "UpdateTable".into(),
        resource: format!("table {database}.{table}"),
        code: "ConcurrentModificationException".into(),
        message: "the table kept changing while snaplake updated it".into(),
        fix: Some("another job is updating this table; stop it, then run the step again".into()),
    }
}

#[cfg(test)]
fn table_at(logical_time: &str, export_id: &str) -> TableState {
    TableState {
        parameters: std::collections::HashMap::from([
            (parameters::LOGICAL_TIME.to_string(), logical_time.to_string()),
            (parameters::EXPORT_ID.to_string(), export_id.to_string()),
        ]),
        location: None,
        version_id: None,
        columns: Vec::new(),
    }
}
