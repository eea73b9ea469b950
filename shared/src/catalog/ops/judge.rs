//! What a new version of a table is and what publishing it would do: read
//! from its files' footers and the two tables, then judged (newer run,
//! quality gate, schema policy). Stage and Swap judge alike, so a version
//! staged for its audit is published by the same rules.

use crate::catalog::parameters;
use std::collections::HashMap;

use futures_util::{StreamExt, TryStreamExt, stream};
use tracing::{info, warn};

use super::read_ahead::ReadAhead;
use super::{check_table_name, curated_base, newer_run, read_schema};
use crate::aws::glue::{TableDef, TableState};
use crate::aws::s3;
use crate::catalog::compat::{self, SchemaDiff};
use crate::catalog::iceberg::DataFile;
use crate::catalog::location::{S3Prefix, is_data_object};
use crate::catalog::quality::{self, Bounds, Decision};
use crate::catalog::run_manifest;
use crate::catalog::schema::Column;
use crate::contract::catalog_swap::{SchemaPolicy, SwapItem, SwapOutcome, SwapShared};
use crate::env::Env;
use crate::error::Error;
use crate::logical_time::LogicalTime;

/// The new version of a table as read: its location, every object there
/// (the swap tags them all readable), its row count, the table it would
/// become, whether a newer run registered the raw table, the live table.
pub(super) struct Version {
    pub(super) new: S3Prefix,
    pub(super) keys: Vec<String>,
    /// Its data files with their sizes and rows (what an Iceberg commit lists).
    pub(super) files: Vec<DataFile>,
    pub(super) rows: u64,
    pub(super) def: TableDef,
    pub(super) raw_newer: bool,
    pub(super) current: Option<TableState>,
}

pub(super) async fn read_version(
    env: &Env,
    item: &SwapItem,
    shared: &SwapShared,
    ahead: &ReadAhead,
) -> Result<Version, Error> {
    check_table_name(&item.table)?;
    let new = S3Prefix::parse("new_location", &item.new_location)?;
    check_under_base(env, &item.table, &new)?;
    let database = &env.config.curated_database;
    // The new version's files and the two tables do not depend on each
    // other: read them at once, so a swap waits for one round trip to S3
    // and Glue instead of one after another (billed Lambda time).
    let ((columns, files, keys), (raw, current)) = tokio::try_join!(new_version(env, &new), async {
        let raw = ahead.raw(env, &item.table).await?;
        let current = ahead.curated(env, &item.table).await?;
        Ok((raw, current))
    })?;
    let new_rows: u64 = files.iter().map(|f| f.rows).sum();
    let mut parameters = HashMap::from([
        (parameters::LOGICAL_TIME.to_string(), shared.logical_time.to_string()),
        (
            parameters::LOGICAL_DAY.to_string(),
            shared.logical_time.day(&env.config.time_zone).to_string(),
        ),
    ]);
    parameters.insert(parameters::ROWS.into(), new_rows.to_string());
    if let Some(pin) = &env.config.policy_digest {
        parameters.insert(parameters::POLICY_DIGEST.into(), pin.clone());
    }
    if let Some(source) = &item.source {
        parameters.insert(parameters::SOURCE.into(), source.clone());
    }
    if let Some(run_id) = &shared.run_id {
        let day = shared.logical_time.day(&env.config.time_zone);
        let key = run_manifest::key(&env.config.control_prefix, day, run_id);
        parameters.insert(
            parameters::RUN_MANIFEST.into(),
            run_manifest::uri(&env.config.bucket, &key),
        );
    }
    if let Some(export_id) = &shared.export_id {
        parameters.insert(parameters::EXPORT_ID.into(), export_id.clone());
    }
    let def = TableDef {
        database: database.clone(),
        name: item.table.clone(),
        location: new.to_string(),
        columns,
        parameters,
        description: format!(
            "Curated {} (masked; managed by snaplake)",
            item.source.as_deref().unwrap_or(&item.table)
        ),
    };
    // The raw table only moves forward, so if it still shows this run, the
    // transform read this run's export; if a newer run registered it since,
    // what was read is uncertain and the newer run publishes anyway.
    let raw_newer = raw.as_ref().is_some_and(|t| newer_run(t, shared.logical_time));
    Ok(Version {
        new,
        keys,
        files,
        rows: new_rows,
        def,
        raw_newer,
        current,
    })
}

/// A new version must lie in a folder of its own under the table's prefix.
pub(super) fn check_under_base(env: &Env, table: &str, new: &S3Prefix) -> Result<(), Error> {
    let base = curated_base(env, table);
    if !base.contains(new) || *new == base {
        return Err(Error::invalid_input(
            "new_location",
            format!("{new} is outside {base}, the prefix snaplake manages for {table}"),
        ));
    }
    Ok(())
}

/// What publishing the new version would do to the table as read.
pub(super) enum Verdict {
    Superseded,
    Unchanged,
    Create,
    /// Repoint it, with these schema changes.
    Update(SchemaDiff),
    /// The quality gate keeps the live version, for this reason.
    Held(String),
}

/// The quality gate and the schema policy over [`decide`]'s answer, for
/// `version` against the curated table as read now (`current`).
pub(super) fn judge(
    env: &Env,
    item: &SwapItem,
    shared: &SwapShared,
    version: &Version,
    current: Option<&TableState>,
) -> Result<Verdict, Error> {
    let qualified = format!("{}.{}", env.config.curated_database, item.table);
    match decide(current, version.raw_newer, &version.new, shared.logical_time) {
        SwapOutcome::Superseded => return Ok(Verdict::Superseded),
        SwapOutcome::Created => return Ok(Verdict::Create),
        SwapOutcome::Unchanged => return Ok(Verdict::Unchanged),
        _ => {}
    }
    let current = current.expect("decide creates a table that does not exist");
    let live_rows = current.parameters.get(parameters::ROWS).and_then(|r| r.parse().ok());
    let bounds = Bounds::resolve(item.max_row_drop_percent, shared.publish.max_row_drop_percent);
    let policy_changed = quality::policy_changed(
        current.parameters.get(parameters::POLICY_DIGEST).map(String::as_str),
        env.config.policy_digest.as_deref(),
    );
    if policy_changed {
        info!(table = %qualified, "the pinned masking policy changed since the live version: \
              its column and row changes are the policy's and are published");
    }
    let force = policy_changed || shared.publish.force_tables.contains(&item.table);
    if let Decision::Held { reason, .. } = quality::decide(&item.table, live_rows, version.rows, bounds, force) {
        warn!(table = %qualified, %reason, "held by the quality gate: the live version stays");
        return Ok(Verdict::Held(reason));
    }
    let schema_policy = if policy_changed {
        SchemaPolicy::Accept
    } else {
        shared.schema_policy
    };
    Ok(Verdict::Update(compat::check(
        &qualified,
        &current.columns,
        &version.def.columns,
        schema_policy,
    )?))
}

/// The columns of the version at `new` and its data files with their sizes
/// and rows, from their footers (the quality gate's count: no query scans
/// them), with every object there. One listing serves both.
pub(super) async fn new_version(env: &Env, new: &S3Prefix) -> Result<(Vec<Column>, Vec<DataFile>, Vec<String>), Error> {
    let objects = s3::list_objects(&env.clients.s3, &new.bucket, &new.key).await?;
    let data: Vec<(String, i64)> = objects
        .iter()
        .filter(|(key, size)| is_data_object(key, *size))
        .cloned()
        .collect();
    let Some((sample, _)) = data.first() else {
        return Err(Error::invalid_input(
            "new_location",
            format!("{new} holds no data object; the transform wrote nothing, so the table stays where it is"),
        ));
    };
    let (file, _) = read_schema(env, &new.bucket, sample).await?;
    // Athena writes UNLOAD's output as many files in parallel: their
    // footers are read FOOTERS_AT_ONCE at a time, so a version of 2,000
    // files takes about 60 round trips, not 2,000, inside the 60 s timeout.
    let bucket = new.bucket.as_str();
    let rest: Vec<DataFile> = stream::iter(data.iter().skip(1).cloned())
        .map(|(key, size): (String, i64)| async move {
            let (other, _) = read_schema(env, bucket, &key).await?;
            Ok::<DataFile, Error>(data_file(bucket, &key, size, other.num_rows))
        })
        .buffered(FOOTERS_AT_ONCE)
        .try_collect()
        .await?;
    let mut files = vec![data_file(bucket, sample, data[0].1, file.num_rows)];
    files.extend(rest);
    Ok((file.columns, files, objects.into_iter().map(|(key, _)| key).collect()))
}

fn data_file(bucket: &str, key: &str, size: i64, rows: i64) -> DataFile {
    DataFile {
        uri: format!("s3://{bucket}/{key}"),
        size: u64::try_from(size).unwrap_or(0),
        rows: u64::try_from(rows).unwrap_or(0),
    }
}

/// Footers read at once: S3 serves thousands of GETs a second per prefix,
/// and each read holds one footer (a few KiB) in memory.
pub(super) const FOOTERS_AT_ONCE: usize = 32;

/// What a swap to `new` does to the table as read: nothing when a newer run
/// published it (or registered its raw table) or it already points there,
/// create it when it does not exist, else repoint it.
pub fn decide(current: Option<&TableState>, raw_newer: bool, new: &S3Prefix, run: LogicalTime) -> SwapOutcome {
    match current {
        _ if raw_newer => SwapOutcome::Superseded,
        Some(t) if newer_run(t, run) => SwapOutcome::Superseded,
        None => SwapOutcome::Created,
        Some(t) if same_location(t.location.as_deref(), new) => SwapOutcome::Unchanged,
        Some(_) => SwapOutcome::Swapped,
    }
}

fn same_location(current: Option<&str>, new: &S3Prefix) -> bool {
    current.and_then(|l| S3Prefix::parse("location", l).ok()).as_ref() == Some(new)
}

#[cfg(test)]
mod tests {
    use super::super::table_at;
    use super::*;

    #[test]
    fn a_newer_run_wins_then_a_missing_table_is_created_then_the_location_decides() {
        let run = LogicalTime::parse("2026-11-20T19:00:00Z").unwrap();
        let new = S3Prefix::new("lake", "curated/t/v=20261120T190000Z");
        let mut older = table_at("2026-11-19T19:00:00Z", "e");
        older.location = Some("s3://lake/curated/t/v=20261119T190000Z/".into());
        let newer = table_at("2026-11-21T19:00:00Z", "e");
        assert_eq!(decide(None, false, &new, run), SwapOutcome::Created);
        assert_eq!(decide(None, true, &new, run), SwapOutcome::Superseded);
        assert_eq!(decide(Some(&older), false, &new, run), SwapOutcome::Swapped);
        assert_eq!(decide(Some(&older), true, &new, run), SwapOutcome::Superseded);
        assert_eq!(decide(Some(&newer), false, &new, run), SwapOutcome::Superseded);
        let mut there = older.clone();
        there.location = Some(new.to_string());
        assert_eq!(decide(Some(&there), false, &new, run), SwapOutcome::Unchanged);
    }
}
