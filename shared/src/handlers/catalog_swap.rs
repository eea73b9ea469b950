//! catalog-swap: zero-downtime publishing to the Glue catalog.
//!
//! Readers resolve a table's location from Glue, so a new version is always
//! written to a new location and the table is repointed in one `UpdateTable`
//! carrying the version read before (optimistic lock): readers see the old
//! data or the new, never an empty or half-written table. Nothing a table
//! points at, or may be rolled back to, is ever deleted.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::Semaphore;
use tracing::{info, warn};

use super::{Context, parse};
use crate::aws::glue::{self, TableDef, TableState, Update};
use crate::aws::s3;
use crate::catalog::compat;
use crate::catalog::location::{self, S3Prefix};
use crate::catalog::request::*;
use crate::catalog::retention;
use crate::catalog::schema::{self, FileSchema};
use crate::error::Error;
use crate::export::plan::{PlanItem, SkippedTable, glue_name};
use crate::logical_time::LogicalTime;
use crate::names;

/// Glue table versions kept per table; far below Glue's 100,000.
pub const GLUE_VERSIONS_KEPT: usize = 100;

pub async fn handle(ctx: &Context, input: serde_json::Value) -> Result<BatchResult, Error> {
    let request: CatalogRequest = parse("catalog-swap input", input)?;
    run(ctx, request).await
}

pub async fn run(ctx: &Context, request: CatalogRequest) -> Result<BatchResult, Error> {
    match request {
        CatalogRequest::RegisterRaw(b) => {
            for_each(
                ctx,
                b,
                |ctx, item, s| async move { register_raw(&ctx, &item, &s).await },
            )
            .await
        }
        CatalogRequest::Prepare(b) => {
            for_each(
                ctx,
                b,
                |ctx, item, s| async move { prepare(&ctx, &item.table, &s).await },
            )
            .await
        }
        CatalogRequest::Swap(b) => for_each(ctx, b, |ctx, item, s| async move { swap(&ctx, &item, &s).await }).await,
        CatalogRequest::Rollback(b) => {
            for_each(ctx, b, |ctx, item, _| async move { rollback(&ctx, &item).await }).await
        }
        CatalogRequest::Gc(b) => for_each(ctx, b, |ctx, item, s| async move { gc(&ctx, &item.table, &s).await }).await,
        CatalogRequest::Report { results, not_exported } => report(results, &not_exported),
    }
}

/// The end of a run: every table's outcome, failing with the names of the
/// tables that failed (their own step and cause are in each entry). Tables
/// the export did not complete, which the plan's policy let the run go on
/// without, are `not_exported`: named, never silently missing.
fn report(results: serde_json::Value, not_exported: &[SkippedTable]) -> Result<BatchResult, Error> {
    let mut flat = Vec::new();
    flatten(results, &mut flat);
    flat.extend(not_exported.iter().map(|t| {
        serde_json::json!({
            "table": glue_name(&t.source),
            "source": t.source,
            "outcome": "not_exported",
            "status": t.status,
            "reason": t.reason,
        })
    }));
    let mut out = BatchResult::default();
    for entry in flat {
        if entry.get("failed").and_then(|f| f.as_bool()) == Some(true) {
            let table = entry["table"].as_str().unwrap_or("?").to_string();
            out.failed_tables.push(table.clone());
            out.failed.push(ItemFailure {
                table,
                error: entry["error"].as_str().unwrap_or("Unknown").to_string(),
                cause: entry["cause"].as_str().unwrap_or_default().to_string(),
            });
        } else {
            out.succeeded.push(entry);
        }
    }
    if out.failed.is_empty() {
        return Ok(out);
    }
    Err(Error::TablesFailed {
        tables: out
            .failed
            .iter()
            .map(|f| format!("{} ({}: {})", f.table, f.error, reportable_cause(&f.error, &f.cause)))
            .collect(),
        published: out.succeeded.len(),
    })
}

/// Errors whose messages snaplake builds from names and numbers only.
const DATA_FREE_ERRORS: &[&str] = &[
    "InvalidInput",
    "ConfigInvalid",
    "SchemaIncompatible",
    "VerificationFailed",
    "ExportIncomplete",
    "ExportFailed",
    "RawNotRegistered",
    "PreflightFailed",
];

/// What the run's report, and so the failure notification (e-mail), says of
/// a table's failure: always the error name; the message only for errors
/// snaplake builds from names and numbers. Athena's and other services'
/// messages can quote data values (`Cannot cast 'alice@example.com' ...`):
/// they are withheld, and stay in the execution history, which only
/// operators read.
fn reportable_cause(error: &str, cause: &str) -> String {
    if !DATA_FREE_ERRORS.contains(&error) {
        return "cause withheld from notifications (it may quote data): `snaplake status --date <day>` shows it".into();
    }
    // Step Functions wraps a Lambda error as JSON: {"errorMessage": ..., "errorType": ...}.
    let message = serde_json::from_str::<serde_json::Value>(cause)
        .ok()
        .and_then(|v| v.get("errorMessage").and_then(|m| m.as_str()).map(str::to_string))
        .unwrap_or_else(|| cause.to_string());
    message.lines().next().unwrap_or_default().to_string()
}

/// Map results nest (batches of tables); reports are flat. `snaplake
/// status` reads a run's results the same way.
pub fn flatten(value: serde_json::Value, out: &mut Vec<serde_json::Value>) {
    match value {
        serde_json::Value::Array(items) => items.into_iter().for_each(|v| flatten(v, out)),
        serde_json::Value::Null => {}
        other => out.push(other),
    }
}

/// Runs `work` on every item of the batch, at most `concurrency` at once;
/// one failing item does not stop the others. Results keep the items' order.
async fn for_each<I, S, O, F, Fut>(ctx: &Context, batch: Batch<I, S>, work: F) -> Result<BatchResult, Error>
where
    I: Item + Send + 'static,
    S: Send + Sync + 'static,
    O: Serialize + Send + 'static,
    F: Fn(Context, I, Arc<S>) -> Fut,
    Fut: Future<Output = Result<O, Error>> + Send + 'static,
{
    let concurrency = batch.concurrency;
    if !(1..=64).contains(&concurrency) {
        return Err(Error::invalid_input(
            "concurrency",
            format!("is {concurrency}; use 1 to 64"),
        ));
    }
    let shared = Arc::new(batch.shared);
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut tasks = Vec::with_capacity(batch.items.len());
    for item in batch.items {
        let table = item.table();
        let permits = permits.clone();
        let job = work(ctx.clone(), item, shared.clone());
        tasks.push((
            table,
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await.expect("the semaphore is never closed");
                job.await
            }),
        ));
    }
    let single = tasks.len() == 1;
    let mut result = BatchResult::default();
    for (table, task) in tasks {
        let outcome = task.await.unwrap_or_else(|e| {
            Err(Error::invalid_input(
                table.clone(),
                format!("the work on this table panicked: {e}"),
            ))
        });
        match outcome {
            Ok(value) => result
                .succeeded
                .push(serde_json::to_value(value).expect("outcomes serialize")),
            // A batch of one is a plain call: its error is the call's, so the
            // state machine can Retry/Catch it by name.
            Err(err) if single => return Err(err),
            Err(err) => {
                warn!(%table, error = %err, "table failed");
                result.failed_tables.push(table.clone());
                result.failed.push(ItemFailure {
                    table,
                    error: err.name().to_string(),
                    cause: err.to_string(),
                });
            }
        }
    }
    Ok(result)
}

fn check_table_name(table: &str) -> Result<(), Error> {
    names::check_glue_name(table).map_err(|why| Error::invalid_input("table", format!("{table:?}: {why}")))
}

/// The prefix under which snaplake keeps a curated table's versions.
/// Where a curated table's versions live (`snaplake plan` shows it too).
pub fn curated_base(ctx: &Context, table: &str) -> S3Prefix {
    S3Prefix::new(&ctx.config.bucket, &format!("{}/{table}", ctx.config.curated_prefix))
}

/// Reads the schema of a Parquet object from its footer only. One ranged GET
/// of the file's end holds the footer of almost every file; a larger footer
/// costs exactly one more. Returns it with the bytes read.
pub async fn read_schema(ctx: &Context, bucket: &str, key: &str) -> Result<(FileSchema, u64), Error> {
    let uri = format!("s3://{bucket}/{key}");
    let (end, size) = s3::get_range(&ctx.clients.s3, bucket, key, &format!("bytes=-{}", schema::END_LEN)).await?;
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
    let (footer, _) = s3::get_range(&ctx.clients.s3, bucket, key, &range).await?;
    Ok((schema::from_footer(&uri, &footer)?, got + footer.len() as u64))
}

/// Data objects under a location: not `_SUCCESS`-style markers, not empty.
async fn data_objects(ctx: &Context, location: &S3Prefix) -> Result<Vec<String>, Error> {
    let objects = s3::list_objects(&ctx.clients.s3, &location.bucket, &location.key).await?;
    Ok(objects
        .into_iter()
        .filter(|(key, size)| {
            let file = key.rsplit('/').next().unwrap_or_default();
            *size > 0 && !file.starts_with('_') && !file.starts_with('.') && !file.is_empty()
        })
        .map(|(key, _)| key)
        .collect())
}

#[derive(Debug, Serialize)]
struct RegisterOutcome {
    table: String,
    outcome: &'static str,
    location: String,
    columns: usize,
}

async fn register_raw(ctx: &Context, item: &PlanItem, shared: &RegisterRawShared) -> Result<RegisterOutcome, Error> {
    check_table_name(&item.name)?;
    let location = S3Prefix::parse("location", &item.location)?;
    let database = &ctx.config.raw_database;
    let existing = glue::get_table(&ctx.clients.glue, database, &item.name).await?;
    let columns = match &item.sample_key {
        Some(sample) => read_schema(ctx, &location.bucket, sample).await?.0.columns,
        // An empty table: RDS wrote no data file, so no footer to read.
        None => empty_table_columns(item, existing.as_ref())?,
    };
    let def = TableDef {
        database: database.clone(),
        name: item.name.clone(),
        location: location.to_string(),
        columns,
        parameters: HashMap::from([
            ("snaplake.source".into(), item.source.clone()),
            ("snaplake.export_id".into(), shared.export_id.clone()),
            ("snaplake.logical_time".into(), shared.logical_time.to_string()),
        ]),
        description: format!("Raw export of {} (restricted; managed by snaplake)", item.source),
    };
    let columns = def.columns.len();
    let done = |outcome| RegisterOutcome {
        table: item.name.clone(),
        outcome,
        location: def.location.clone(),
        columns,
    };
    match existing {
        None => {
            glue::create_table(&ctx.clients.glue, &def).await?;
            Ok(done("created"))
        }
        Some(current) if newer_run(&current, shared.logical_time) => {
            info!(table = %item.name, "a newer run registered this raw table; left as it is");
            Ok(done("superseded"))
        }
        Some(current)
            if current.location.as_deref() == Some(def.location.as_str())
                && current.columns == def.columns
                && ["snaplake.logical_time", "snaplake.export_id"]
                    .iter()
                    .all(|k| current.parameters.get(*k) == def.parameters.get(*k)) =>
        {
            Ok(done("unchanged"))
        }
        // The raw table is snaplake's own: the export of the day wins, whatever changed.
        Some(current) => match glue::update_table(&ctx.clients.glue, &def, current.version_id.as_deref()).await? {
            Update::Done => Ok(done("updated")),
            Update::Conflict => Err(conflict(database, &item.name)),
        },
    }
}

/// The columns of a table the export wrote no data file for: the raw
/// table's own when it exists (they came from a footer of an earlier day, so
/// the curated schema does not change), else the export's `schemaMetadata`.
fn empty_table_columns(item: &PlanItem, existing: Option<&TableState>) -> Result<Vec<schema::Column>, Error> {
    match existing {
        Some(table) if !table.columns.is_empty() => Ok(table.columns.clone()),
        _ if !item.columns.is_empty() => Ok(item.columns.clone()),
        _ => Err(Error::invalid_input(
            "columns",
            format!(
                "{} has no data file and its export_tables_info entry no schemaMetadata to take its columns \
                 from; export it again once it has rows, or export it with the others left out (ExportOnly)",
                item.source
            ),
        )),
    }
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

#[derive(Debug, Serialize)]
struct PrepareOutcome {
    table: String,
    /// Where this run's version goes (or already is).
    location: String,
    live: Option<String>,
    /// The table already shows this run's version, or a newer run's: nothing
    /// to transform or swap.
    current: bool,
    /// `prepared`, `unchanged` (this run's version is live) or `superseded`.
    outcome: &'static str,
    /// Objects removed from `location`: leftovers of an interrupted attempt.
    cleared: usize,
}

/// Where this run's version of a table goes. A location no reader uses may
/// hold leftovers of an interrupted attempt (an UNLOAD that was not swapped
/// in); they are removed so the transform starts clean. If the table already
/// shows this run's version, nothing is touched.
async fn prepare(ctx: &Context, table: &str, shared: &PrepareShared) -> Result<PrepareOutcome, Error> {
    check_table_name(table)?;
    let current = glue::get_table(&ctx.clients.glue, &ctx.config.curated_database, table).await?;
    let raw = glue::get_table(&ctx.clients.glue, &ctx.config.raw_database, table).await?;
    let this_run = shared.logical_time.to_string();
    let published = current.as_ref().and_then(|t| t.parameters.get("snaplake.logical_time")) == Some(&this_run);
    let superseded = [&current, &raw]
        .into_iter()
        .flatten()
        .any(|t| newer_run(t, shared.logical_time));
    let live = current
        .and_then(|t| t.location)
        .map(|l| S3Prefix::parse("location", &l))
        .transpose()?;
    if let (true, Some(live)) = (published || superseded, &live) {
        let outcome = if published { "unchanged" } else { "superseded" };
        info!(table, location = %live, outcome, "nothing to publish for this run");
        let location = live.to_string();
        return Ok(PrepareOutcome {
            table: table.into(),
            location: location.clone(),
            live: Some(location),
            current: true,
            outcome,
            cleared: 0,
        });
    }
    // The transform reads the raw table: unless this run registered it (or
    // a newer run did, which the swap then leaves alone), it holds an older
    // export, which must never be published as this run's.
    raw_registered(table, raw.as_ref(), shared.logical_time, shared.export_id.as_deref())?;
    let next = location::next_location(
        shared.layout,
        &curated_base(ctx, table),
        shared.logical_time.timestamp(),
        live.as_ref(),
    )?;
    // Never clear what readers may use: the live location, or one that holds it.
    let cleared = if live.as_ref().is_some_and(|l| l.overlaps(&next)) {
        0
    } else {
        s3::delete_prefix(&ctx.clients.s3, &next.bucket, &next.key).await?
    };
    if cleared > 0 {
        warn!(table, location = %next, cleared, "removed leftovers of an interrupted attempt");
    }
    Ok(PrepareOutcome {
        table: table.to_string(),
        location: next.to_string(),
        live: live.map(|l| l.to_string()),
        current: false,
        outcome: "prepared",
        cleared,
    })
}

/// Whether the raw table shows this run's export (or a newer run's).
fn raw_registered(
    table: &str,
    raw: Option<&TableState>,
    run: LogicalTime,
    export_id: Option<&str>,
) -> Result<(), Error> {
    let wanted = export_id.unwrap_or("of this run").to_string();
    let not_registered = |found: String| Error::RawNotRegistered {
        table: table.to_string(),
        found,
        wanted: wanted.clone(),
    };
    let Some(raw) = raw else {
        return Err(not_registered("does not exist".into()));
    };
    let shown = raw
        .parameters
        .get("snaplake.logical_time")
        .and_then(|t| LogicalTime::parse(t).ok());
    let shown_export = raw.parameters.get("snaplake.export_id").map(String::as_str);
    match shown {
        Some(t) if t > run => Ok(()),
        Some(t) if t == run && (export_id.is_none() || shown_export == export_id) => Ok(()),
        Some(t) => Err(not_registered(format!(
            "shows export {} of {t}",
            shown_export.unwrap_or("(none)")
        ))),
        None => Err(not_registered("was not registered by snaplake".into())),
    }
}

/// Whether a table shows a newer run than `run`. Days can finish out of
/// order (a backfill runs several at once): an older day must never move a
/// table back in time.
fn newer_run(table: &TableState, run: LogicalTime) -> bool {
    table
        .parameters
        .get("snaplake.logical_time")
        .and_then(|t| LogicalTime::parse(t).ok())
        .is_some_and(|t| t > run)
}

async fn swap(ctx: &Context, item: &SwapItem, shared: &SwapShared) -> Result<SwapOutcome, Error> {
    check_table_name(&item.table)?;
    let new = S3Prefix::parse("new_location", &item.new_location)?;
    let base = curated_base(ctx, &item.table);
    if !base.contains(&new) || new == base {
        return Err(Error::invalid_input(
            "new_location",
            format!(
                "{new} is outside {base}, the prefix snaplake manages for {}",
                item.table
            ),
        ));
    }
    let data = data_objects(ctx, &new).await?;
    let Some(sample) = data.first() else {
        return Err(Error::invalid_input(
            "new_location",
            format!("{new} holds no data object; the transform wrote nothing, so the table stays where it is"),
        ));
    };
    let (file, _) = read_schema(ctx, &new.bucket, sample).await?;
    let database = &ctx.config.curated_database;
    let qualified = format!("{database}.{}", item.table);
    let mut parameters = HashMap::from([
        ("snaplake.logical_time".to_string(), shared.logical_time.to_string()),
        (
            "snaplake.logical_day".to_string(),
            shared.logical_time.day(&ctx.config.time_zone).to_string(),
        ),
    ]);
    if let Some(source) = &item.source {
        parameters.insert("snaplake.source".into(), source.clone());
    }
    if let Some(export_id) = &shared.export_id {
        parameters.insert("snaplake.export_id".into(), export_id.clone());
    }
    let def = TableDef {
        database: database.clone(),
        name: item.table.clone(),
        location: new.to_string(),
        columns: file.columns,
        parameters,
        description: format!(
            "Curated {} (masked; managed by snaplake)",
            item.source.as_deref().unwrap_or(&item.table)
        ),
    };

    // The raw table only moves forward, so if it still shows this run, the
    // transform read this run's export; if a newer run registered it since,
    // what was read is uncertain and the newer run publishes anyway.
    let raw = glue::get_table(&ctx.clients.glue, &ctx.config.raw_database, &item.table).await?;
    let raw_newer = raw.as_ref().is_some_and(|t| newer_run(t, shared.logical_time));

    // Decide on the table as read; on a concurrent change, read once more
    // and decide again (it may already point at our location).
    for attempt in 0..2 {
        let current = glue::get_table(&ctx.clients.glue, database, &item.table).await?;
        if raw_newer || current.as_ref().is_some_and(|t| newer_run(t, shared.logical_time)) {
            info!(table = %qualified, "a newer run published this table; it stays on that version");
            let live = current.as_ref();
            return Ok(outcome(item, "superseded", live, &def, compat::SchemaDiff::default()));
        }
        let Some(current) = current else {
            glue::create_table(&ctx.clients.glue, &def).await?;
            info!(table = %qualified, location = %new, "created");
            return Ok(outcome(item, "created", None, &def, compat::SchemaDiff::default()));
        };
        if same_location(current.location.as_deref(), &new) {
            info!(table = %qualified, location = %new, "already points at this run's version; nothing to do");
            return Ok(outcome(
                item,
                "unchanged",
                Some(&current),
                &def,
                compat::SchemaDiff::default(),
            ));
        }
        let diff = compat::check(&qualified, &current.columns, &def.columns, shared.schema_policy)?;
        match glue::update_table(&ctx.clients.glue, &def, current.version_id.as_deref()).await? {
            Update::Done => {
                info!(table = %qualified, from = ?current.location, to = %new, changes = %diff.describe(), "swapped");
                return Ok(outcome(item, "swapped", Some(&current), &def, diff));
            }
            Update::Conflict if attempt == 0 => warn!(table = %qualified, "changed while swapping; reading it again"),
            Update::Conflict => {}
        }
    }
    Err(conflict(database, &item.table))
}

fn same_location(current: Option<&str>, new: &S3Prefix) -> bool {
    current.and_then(|l| S3Prefix::parse("location", l).ok()).as_ref() == Some(new)
}

fn outcome(
    item: &SwapItem,
    what: &str,
    before: Option<&TableState>,
    def: &TableDef,
    diff: compat::SchemaDiff,
) -> SwapOutcome {
    SwapOutcome {
        table: item.table.clone(),
        outcome: what.to_string(),
        previous_location: before.and_then(|t| t.location.clone()),
        new_location: def.location.clone(),
        previous_version: before.and_then(|t| t.version_id.clone()),
        schema_changes: diff.describe(),
    }
}

async fn rollback(ctx: &Context, item: &RollbackItem) -> Result<SwapOutcome, Error> {
    check_table_name(&item.table)?;
    let database = match item.database.as_deref() {
        None | Some("curated") => &ctx.config.curated_database,
        Some("raw") => &ctx.config.raw_database,
        Some(other) => {
            return Err(Error::invalid_input(
                "database",
                format!("{other:?}: use \"curated\" or \"raw\""),
            ));
        }
    };
    let qualified = format!("{database}.{}", item.table);
    let current = glue::get_table(&ctx.clients.glue, database, &item.table)
        .await?
        .ok_or_else(|| Error::invalid_input("table", format!("{qualified} does not exist; nothing to roll back")))?;
    let versions = glue::table_versions(&ctx.clients.glue, database, &item.table).await?;
    let mut by_newest: Vec<&TableState> = versions.iter().collect();
    by_newest.sort_by_key(|v| std::cmp::Reverse(v.version_id.as_deref().and_then(|id| id.parse::<i64>().ok())));
    let target = match &item.to_day {
        Some(day) => by_newest
            .iter()
            .find(|v| v.parameters.get("snaplake.logical_day") == Some(day))
            .ok_or_else(|| {
                Error::invalid_input(
                    "to_day",
                    format!("{qualified} has no version published for {day} in its history"),
                )
            })?,
        None => by_newest
            .iter()
            .find(|v| v.location.is_some() && v.location != current.location)
            .ok_or_else(|| {
                Error::invalid_input(
                    "table",
                    format!("{qualified} has no earlier version at another location"),
                )
            })?,
    };
    let target_location = S3Prefix::parse("location", target.location.as_deref().unwrap_or_default())?;
    if data_objects(ctx, &target_location).await?.is_empty() {
        return Err(Error::invalid_input(
            "table",
            format!("{qualified} cannot go back to {target_location}: it no longer holds data (removed by retention?)"),
        ));
    }
    let mut parameters = target.parameters.clone();
    parameters.insert(
        "snaplake.rolled_back_from".into(),
        current.location.clone().unwrap_or_default(),
    );
    let def = TableDef {
        database: database.clone(),
        name: item.table.clone(),
        location: target_location.to_string(),
        columns: target.columns.clone(),
        parameters,
        description: format!(
            "Rolled back by snaplake from {}",
            current.location.as_deref().unwrap_or("nowhere")
        ),
    };
    match glue::update_table(&ctx.clients.glue, &def, current.version_id.as_deref()).await? {
        Update::Done => {
            info!(table = %qualified, to = %target_location, "rolled back");
            let swap_item = SwapItem {
                table: item.table.clone(),
                new_location: def.location.clone(),
                source: None,
            };
            Ok(outcome(
                &swap_item,
                "rolled_back",
                Some(&current),
                &def,
                compat::SchemaDiff::default(),
            ))
        }
        Update::Conflict => Err(conflict(database, &item.table)),
    }
}

#[derive(Debug, Serialize)]
struct GcOutcome {
    table: String,
    dry_run: bool,
    kept: Vec<String>,
    deleted: Vec<String>,
    objects_deleted: usize,
    glue_versions_deleted: usize,
    /// The raw table's Glue versions pruned: updated every day, it
    /// accumulates versions as the curated one does.
    raw_glue_versions_deleted: usize,
}

async fn gc(ctx: &Context, table: &str, shared: &GcShared) -> Result<GcOutcome, Error> {
    check_table_name(table)?;
    let keep = shared.keep.unwrap_or(ctx.config.keep_versions) as usize;
    // The previous version is what readers that resolved the table just
    // before the last swap are still reading, and what rollback returns to.
    if keep < 2 {
        return Err(Error::invalid_input(
            "keep",
            format!("is {keep}; keep at least 2 (the live and the previous version)"),
        ));
    }
    let database = &ctx.config.curated_database;
    let current = glue::get_table(&ctx.clients.glue, database, table)
        .await?
        .ok_or_else(|| Error::invalid_input("table", format!("{database}.{table} does not exist")))?;
    let live = S3Prefix::parse("location", current.location.as_deref().unwrap_or_default())?;
    let base = curated_base(ctx, table);
    let keys = s3::list_keys(&ctx.clients.s3, &base.bucket, &base.key).await?;
    let mut versions: Vec<S3Prefix> = keys
        .iter()
        .filter_map(|k| {
            k.strip_prefix(&base.key)?
                .split_once('/')
                .map(|(folder, _)| base.child(folder))
        })
        .collect();
    versions.dedup();
    let plan = retention::plan(&base, &versions, &live, &[], keep);
    let mut objects_deleted = 0;
    let glue_ids: Vec<i64> = glue::table_versions(&ctx.clients.glue, database, table)
        .await?
        .iter()
        .filter_map(|v| v.version_id.as_deref()?.parse().ok())
        .collect();
    let current_id = current
        .version_id
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or(i64::MAX);
    let prune = retention::prune_table_versions(glue_ids, current_id, GLUE_VERSIONS_KEPT);
    let raw_prune = raw_versions_to_prune(ctx, table).await?;
    if !shared.dry_run {
        for prefix in &plan.delete {
            objects_deleted += s3::delete_prefix(&ctx.clients.s3, &prefix.bucket, &prefix.key).await?;
        }
        glue::delete_table_versions(&ctx.clients.glue, database, table, &prune).await?;
        glue::delete_table_versions(&ctx.clients.glue, &ctx.config.raw_database, table, &raw_prune).await?;
    }
    info!(
        table,
        dry_run = shared.dry_run,
        deleted = plan.delete.len(),
        "retention"
    );
    Ok(GcOutcome {
        table: table.to_string(),
        dry_run: shared.dry_run,
        kept: plan.keep.iter().map(ToString::to_string).collect(),
        deleted: plan.delete.iter().map(ToString::to_string).collect(),
        objects_deleted,
        glue_versions_deleted: if shared.dry_run { 0 } else { prune.len() },
        raw_glue_versions_deleted: if shared.dry_run { 0 } else { raw_prune.len() },
    })
}

/// The raw table's Glue versions beyond the newest [`GLUE_VERSIONS_KEPT`]
/// (its data, the exports, is not snaplake's to delete); none if it has no
/// raw table.
async fn raw_versions_to_prune(ctx: &Context, table: &str) -> Result<Vec<i64>, Error> {
    let database = &ctx.config.raw_database;
    let Some(raw) = glue::get_table(&ctx.clients.glue, database, table).await? else {
        return Ok(Vec::new());
    };
    let ids = glue::table_versions(&ctx.clients.glue, database, table)
        .await?
        .iter()
        .filter_map(|v| v.version_id.as_deref()?.parse().ok())
        .collect();
    let current = raw
        .version_id
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or(i64::MAX);
    Ok(retention::prune_table_versions(ids, current, GLUE_VERSIONS_KEPT))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_actions_and_fields_are_named() {
        let err = parse::<CatalogRequest>("catalog-swap input", json!({"action": "explode", "Items": []})).unwrap_err();
        assert!(err.to_string().contains("report"), "{err}");
        assert!(
            err.to_string().contains("explode") && err.to_string().contains("swap"),
            "{err}"
        );
        let err = parse::<CatalogRequest>(
            "catalog-swap input",
            json!({"action": "swap", "logical_time": "2026-11-20T19:00:00Z", "Items": [{"table": "t"}]}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("new_location"), "{err}");
    }

    fn raw_table(logical_time: &str, export_id: &str) -> TableState {
        TableState {
            parameters: HashMap::from([
                ("snaplake.logical_time".to_string(), logical_time.to_string()),
                ("snaplake.export_id".to_string(), export_id.to_string()),
            ]),
            location: None,
            version_id: None,
            columns: Vec::new(),
        }
    }

    #[test]
    fn a_raw_table_not_registered_by_this_run_is_refused() {
        let run = LogicalTime::parse("2026-11-20T19:00:00Z").unwrap();
        let id = Some("snaplake-shop-prod-20261121");
        let today = raw_table("2026-11-20T19:00:00Z", "snaplake-shop-prod-20261121");
        let newer = raw_table("2026-11-21T19:00:00Z", "snaplake-shop-prod-20261122");
        assert!(raw_registered("t", Some(&today), run, id).is_ok());
        assert!(raw_registered("t", Some(&today), run, None).is_ok());
        assert!(
            raw_registered("t", Some(&newer), run, id).is_ok(),
            "a newer run's: the swap leaves it"
        );
        let yesterday = raw_table("2026-11-19T19:00:00Z", "snaplake-shop-prod-20261120");
        let err = raw_registered("shop_orders", Some(&yesterday), run, id).unwrap_err();
        assert_eq!(err.name(), "RawNotRegistered");
        let text = err.to_string();
        assert!(
            text.contains("shop_orders")
                && text.contains("snaplake-shop-prod-20261120")
                && text.contains("run the day again"),
            "{text}"
        );
        let other_export = raw_table("2026-11-20T19:00:00Z", "snaplake-shop-prod-20261121-2");
        assert!(raw_registered("t", Some(&other_export), run, id).is_err());
        assert!(
            raw_registered("t", None, run, id)
                .unwrap_err()
                .to_string()
                .contains("does not exist")
        );
        let unmanaged = TableState {
            parameters: HashMap::new(),
            ..today
        };
        assert!(raw_registered("t", Some(&unmanaged), run, id).is_err());
    }

    #[test]
    fn report_flattens_batches_and_names_the_failed_tables() {
        let ok = report(
            json!([[{"table": "a", "outcome": "swapped"}], [{"table": "b", "outcome": "skipped"}]]),
            &[],
        )
        .unwrap();
        assert_eq!(ok.succeeded.len(), 2);
        let not_exported = [SkippedTable {
            source: "shop.bad_columns".into(),
            status: "SKIPPED".into(),
            reason: Some("COLUMN_WITH_UNSUPPORTED_CHARACTER_IN_NAME".into()),
        }];
        let ok = report(json!([[{"table": "a", "outcome": "swapped"}]]), &not_exported).unwrap();
        assert_eq!(ok.succeeded[1]["table"], "shop_bad_columns");
        assert_eq!(ok.succeeded[1]["outcome"], "not_exported");
        assert_eq!(ok.succeeded[1]["reason"], "COLUMN_WITH_UNSUPPORTED_CHARACTER_IN_NAME");
        let drift = json!({"errorType": "InvalidInput",
            "errorMessage": "invalid input: `tables.shop.c.columns` has no rule for column(s) ssn\nmore"});
        let err = report(json!([
            [{"table": "a", "outcome": "swapped"}],
            [{"table": "b", "failed": true, "error": "QueryFailed",
              "cause": "Athena query q (transform) failed: INVALID_CAST_ARGUMENT: Cannot cast 'alice@example.com' to INT"}],
            [{"table": "c", "failed": true, "error": "InvalidInput", "cause": drift.to_string()}]
        ]), &[])
        .unwrap_err();
        assert_eq!(err.name(), "TablesFailed");
        let text = err.to_string();
        assert!(text.contains("b (QueryFailed: cause withheld"), "{text}");
        assert!(
            !text.contains("alice@example.com"),
            "data values never reach the notification: {text}"
        );
        assert!(
            text.contains("c (InvalidInput: invalid input: `tables.shop.c.columns` has no rule for column(s) ssn)"),
            "{text}"
        );
        assert!(text.contains("1 table(s) published"), "{text}");
    }

    #[test]
    fn every_example_event_parses() {
        for (name, text) in [
            (
                "register-raw",
                include_str!("../../../events/catalog-swap-register-raw.json"),
            ),
            ("swap", include_str!("../../../events/catalog-swap-swap.json")),
            ("prepare", include_str!("../../../events/catalog-swap-prepare.json")),
            ("rollback", include_str!("../../../events/catalog-swap-rollback.json")),
            ("gc", include_str!("../../../events/catalog-swap-gc.json")),
        ] {
            let value: serde_json::Value = serde_json::from_str(text).unwrap();
            assert!(
                parse::<CatalogRequest>("catalog-swap input", value).is_ok(),
                "events/catalog-swap-{name}.json"
            );
        }
    }
}

/// Faults the stand-in cannot produce on demand: a concurrent writer between
/// our read and our update, throttling, a table that vanished.
#[cfg(test)]
mod mocked {
    use super::*;
    use crate::clients::Clients;
    use crate::config::Config;
    use aws_sdk_glue::operation::get_table::{GetTableError, GetTableOutput};
    use aws_sdk_glue::operation::update_table::{UpdateTableError, UpdateTableOutput};
    use aws_sdk_glue::types::error::{ConcurrentModificationException, EntityNotFoundException};
    use aws_sdk_glue::types::{StorageDescriptor, Table};
    use aws_sdk_s3::operation::get_object::GetObjectOutput;
    use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
    use aws_sdk_s3::primitives::ByteStream;
    use aws_sdk_s3::types::Object;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use serde_json::json;

    const NEW: &str = "s3://lake/curated/shop_customers/v=2/";

    /// A real Parquet file with no rows: its footer is what swap reads.
    fn parquet_file() -> Vec<u8> {
        use parquet::file::properties::WriterProperties;
        use parquet::file::writer::SerializedFileWriter;
        use parquet::schema::parser::parse_message_type;
        let schema = parse_message_type("message m { required int64 id; optional binary email (STRING); }").unwrap();
        let mut out = Vec::new();
        SerializedFileWriter::new(
            &mut out,
            Arc::new(schema),
            Arc::new(WriterProperties::builder().build()),
        )
        .unwrap()
        .close()
        .unwrap();
        out
    }

    fn s3_rules() -> Vec<Rule> {
        let file = parquet_file();
        let size = file.len();
        let list = mock!(aws_sdk_s3::Client::list_objects_v2).then_output(move || {
            ListObjectsV2Output::builder()
                .contents(
                    Object::builder()
                        .key("curated/shop_customers/v=2/part-0.parquet")
                        .size(size as i64)
                        .build(),
                )
                .build()
        });
        // A file shorter than the first ranged read comes back whole, as S3 does.
        let get_end = mock!(aws_sdk_s3::Client::get_object)
            .match_requests(|r| r.range() == Some("bytes=-65536"))
            .then_output(move || {
                GetObjectOutput::builder()
                    .body(ByteStream::from(file.clone()))
                    .content_range(format!("bytes 0-{}/{size}", size - 1))
                    .build()
            });
        vec![list, get_end]
    }

    fn table(location: &str, version: &str) -> GetTableOutput {
        GetTableOutput::builder()
            .table(
                Table::builder()
                    .name("shop_customers")
                    .version_id(version)
                    .storage_descriptor(StorageDescriptor::builder().location(location).build())
                    .build()
                    .unwrap(),
            )
            .build()
    }

    fn context(glue: &[&Rule], retries: u32) -> Context {
        let s3 = s3_rules();
        let config = Config::from_lookup(|name| (name == "SNAPLAKE_BUCKET").then(|| "lake".to_string())).unwrap();
        let none: [&Rule; 0] = [];
        let clients = Clients {
            athena: mock_client!(aws_sdk_athena, none),
            glue: mock_client!(aws_sdk_glue, RuleMode::Sequential, glue, |b| b
                .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(retries))),
            kms: mock_client!(aws_sdk_kms, none),
            rds: mock_client!(aws_sdk_rds, none),
            s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, s3.iter()),
            sfn: mock_client!(aws_sdk_sfn, none),
        };
        Context {
            config,
            clients,
            salt: None,
        }
    }

    async fn swap_new(ctx: &Context) -> Result<BatchResult, Error> {
        let input = json!({"action": "swap", "logical_time": "2026-11-20T19:00:00Z",
                           "Items": [{"table": "shop_customers", "new_location": NEW}]});
        handle(ctx, input).await
    }

    /// The raw table as register-raw left it for this run (swap reads it first).
    fn raw() -> Rule {
        mock!(aws_sdk_glue::Client::get_table)
            .match_requests(|r| r.database_name() == Some("snaplake_raw"))
            .then_output(|| table("s3://lake/exports/shop-prod/2026-11-21/x/shop/shop.customers/", "1"))
    }

    fn conflict() -> Rule {
        mock!(aws_sdk_glue::Client::update_table).then_error(|| {
            UpdateTableError::ConcurrentModificationException(ConcurrentModificationException::builder().build())
        })
    }

    #[tokio::test]
    async fn a_concurrent_writer_that_already_swapped_to_our_location_makes_it_a_no_op() {
        let read =
            mock!(aws_sdk_glue::Client::get_table).then_output(|| table("s3://lake/curated/shop_customers/v=1/", "7"));
        let conflict = conflict();
        let reread = mock!(aws_sdk_glue::Client::get_table).then_output(|| table(NEW, "8"));
        let result = swap_new(&context(&[&raw(), &read, &conflict, &reread], 1))
            .await
            .unwrap();
        assert_eq!(result.succeeded[0]["outcome"], "unchanged");
        assert_eq!(conflict.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_concurrent_writer_elsewhere_means_deciding_again_on_the_fresh_version() {
        let read =
            mock!(aws_sdk_glue::Client::get_table).then_output(|| table("s3://lake/curated/shop_customers/v=1/", "7"));
        let conflict = conflict();
        let reread =
            mock!(aws_sdk_glue::Client::get_table).then_output(|| table("s3://lake/curated/shop_customers/v=0/", "8"));
        let update = mock!(aws_sdk_glue::Client::update_table)
            .match_requests(|r| r.version_id() == Some("8"))
            .then_output(|| UpdateTableOutput::builder().build());
        let result = swap_new(&context(&[&raw(), &read, &conflict, &reread, &update], 1))
            .await
            .unwrap();
        let s = &result.succeeded[0];
        assert_eq!(
            (s["outcome"].as_str(), s["previous_version"].as_str()),
            (Some("swapped"), Some("8"))
        );
        assert_eq!(s["previous_location"], "s3://lake/curated/shop_customers/v=0/");
        assert_eq!(update.num_calls(), 1);
    }

    #[tokio::test]
    async fn conflicting_twice_fails_with_a_fix() {
        let read = || {
            mock!(aws_sdk_glue::Client::get_table).then_output(|| table("s3://lake/curated/shop_customers/v=1/", "7"))
        };
        let rules = [raw(), read(), conflict(), read(), conflict()];
        let err = swap_new(&context(&rules.iter().collect::<Vec<_>>(), 1))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ConcurrentModificationException") && err.contains("another job"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn throttling_that_outlasts_retries_is_a_throttled_error() {
        let throttled = mock!(aws_sdk_glue::Client::get_table)
            .sequence()
            .http_status(
                400,
                Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.into()),
            )
            .repeatedly()
            .build();
        let err = swap_new(&context(&[&throttled], 2)).await.unwrap_err();
        assert_eq!(err.name(), "Throttled");
        assert_eq!(throttled.num_calls(), 2, "the client retried before giving up");
    }

    #[tokio::test]
    async fn a_table_that_is_gone_cannot_be_rolled_back() {
        let missing = mock!(aws_sdk_glue::Client::get_table)
            .then_error(|| GetTableError::EntityNotFoundException(EntityNotFoundException::builder().build()));
        let ctx = context(&[&missing], 1);
        let err = handle(
            &ctx,
            json!({"action": "rollback", "Items": [{"table": "shop_customers"}]}),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
    }
}
