//! Swap: points each curated table at the version written this run, in one
//! Glue `UpdateTable` carrying the version read before (optimistic lock). On
//! a concurrent change it reads the table once more and decides again: it
//! may already point at this run's location.

use std::collections::HashMap;

use futures_util::{StreamExt, TryStreamExt, stream};
use tracing::{info, warn};

use super::read_ahead::ReadAhead;
use super::{check_table_name, conflict, curated_base, data_objects, newer_run, read_schema};
use crate::aws::glue::{self, TableDef, TableState, Update};
use crate::catalog::compat::{self, SchemaDiff};
use crate::catalog::location::S3Prefix;
use crate::catalog::quality::{self, Bounds, Decision};
use crate::catalog::run_manifest;
use crate::catalog::schema::Column;
use crate::contract::catalog_swap::{SchemaPolicy, SwapItem, SwapOutcome, SwapShared, Swapped};
use crate::env::Env;
use crate::error::Error;
use crate::logical_time::LogicalTime;

/// Swaps one table of a batch; `ahead` holds what the batch read of its
/// tables beforehand (`ReadAhead::default()` reads each table now).
pub async fn swap(env: &Env, item: &SwapItem, shared: &SwapShared, ahead: &ReadAhead) -> Result<Swapped, Error> {
    check_table_name(&item.table)?;
    let new = S3Prefix::parse("new_location", &item.new_location)?;
    let base = curated_base(env, &item.table);
    if !base.contains(&new) || new == base {
        return Err(Error::invalid_input(
            "new_location",
            format!(
                "{new} is outside {base}, the prefix snaplake manages for {}",
                item.table
            ),
        ));
    }
    let database = &env.config.curated_database;
    // The new version's files and the two tables do not depend on each
    // other: read them at once, so a swap waits for one round trip to S3
    // and Glue instead of one after another (billed Lambda time).
    let ((columns, new_rows), (raw, first)) = tokio::try_join!(new_version(env, &new), async {
        let raw = ahead.raw(env, &item.table).await?;
        let current = ahead.curated(env, &item.table).await?;
        Ok((raw, current))
    })?;
    let qualified = format!("{database}.{}", item.table);
    let mut parameters = HashMap::from([
        ("snaplake.logical_time".to_string(), shared.logical_time.to_string()),
        (
            "snaplake.logical_day".to_string(),
            shared.logical_time.day(&env.config.time_zone).to_string(),
        ),
    ]);
    parameters.insert(quality::ROWS_PARAMETER.into(), new_rows.to_string());
    if let Some(pin) = &env.config.policy_digest {
        parameters.insert(quality::POLICY_PARAMETER.into(), pin.clone());
    }
    if let Some(source) = &item.source {
        parameters.insert("snaplake.source".into(), source.clone());
    }
    if let Some(run_id) = &shared.run_id {
        let day = shared.logical_time.day(&env.config.time_zone);
        let key = run_manifest::key(&env.config.control_prefix, day, run_id);
        parameters.insert(
            "snaplake.run_manifest".into(),
            run_manifest::uri(&env.config.bucket, &key),
        );
    }
    if let Some(export_id) = &shared.export_id {
        parameters.insert("snaplake.export_id".into(), export_id.clone());
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

    // Decide on the table as read; on a concurrent change, read once more
    // and decide again (it may already point at our location).
    let mut first = Some(first);
    for attempt in 0..2 {
        let current = match first.take() {
            Some(read) => read,
            None => glue::get_table(&env.clients.glue, database, &item.table).await?,
        };
        let done = |outcome, diff| swapped(&item.table, outcome, current.as_ref(), &def, diff);
        match decide(current.as_ref(), raw_newer, &new, shared.logical_time) {
            SwapOutcome::Superseded => {
                info!(table = %qualified, "a newer run published this table; it stays on that version");
                return Ok(done(SwapOutcome::Superseded, SchemaDiff::default()));
            }
            SwapOutcome::Created => {
                glue::create_table(&env.clients.glue, &def).await?;
                info!(table = %qualified, location = %new, "created");
                return Ok(done(SwapOutcome::Created, SchemaDiff::default()));
            }
            SwapOutcome::Unchanged => {
                info!(table = %qualified, location = %new, "already points at this run's version; nothing to do");
                return Ok(done(SwapOutcome::Unchanged, SchemaDiff::default()));
            }
            SwapOutcome::Swapped | SwapOutcome::RolledBack | SwapOutcome::Held => {}
        }
        let current = current.as_ref().expect("decide creates a table that does not exist");
        let live_rows = current
            .parameters
            .get(quality::ROWS_PARAMETER)
            .and_then(|r| r.parse().ok());
        let bounds = Bounds::resolve(item.max_row_drop_percent, shared.publish.max_row_drop_percent);
        let policy_changed = quality::policy_changed(
            current.parameters.get(quality::POLICY_PARAMETER).map(String::as_str),
            env.config.policy_digest.as_deref(),
        );
        if policy_changed {
            info!(table = %qualified, "the pinned masking policy changed since the live version: \
                  its column and row changes are the policy's and are published");
        }
        let force = policy_changed || shared.publish.force_tables.contains(&item.table);
        if let Decision::Held { reason, .. } = quality::decide(&item.table, live_rows, new_rows, bounds, force) {
            warn!(table = %qualified, %reason, "held by the quality gate: the live version stays");
            let mut held = swapped(
                &item.table,
                SwapOutcome::Held,
                Some(current),
                &def,
                SchemaDiff::default(),
            );
            held.reason = Some(reason);
            return Ok(held);
        }
        let schema_policy = if policy_changed {
            SchemaPolicy::Accept
        } else {
            shared.schema_policy
        };
        let diff = compat::check(&qualified, &current.columns, &def.columns, schema_policy)?;
        match glue::update_table(&env.clients.glue, &def, current.version_id.as_deref()).await? {
            Update::Done => {
                info!(table = %qualified, from = ?current.location, to = %new, changes = %diff.describe(), "swapped");
                return Ok(swapped(&item.table, SwapOutcome::Swapped, Some(current), &def, diff));
            }
            Update::Conflict if attempt == 0 => warn!(table = %qualified, "changed while swapping; reading it again"),
            Update::Conflict => {}
        }
    }
    Err(conflict(database, &item.table))
}

/// The columns and row count of the version at `new`, from the footers of
/// its data files (the quality gate's count: no query scans them).
async fn new_version(env: &Env, new: &S3Prefix) -> Result<(Vec<Column>, u64), Error> {
    let data = data_objects(env, new).await?;
    let Some(sample) = data.first() else {
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
    let rows: Vec<u64> = stream::iter(data.into_iter().skip(1))
        .map(|key: String| async move {
            let (other, _) = read_schema(env, bucket, &key).await?;
            Ok::<u64, Error>(u64::try_from(other.num_rows).unwrap_or(0))
        })
        .buffer_unordered(FOOTERS_AT_ONCE)
        .try_collect()
        .await?;
    Ok((
        file.columns,
        u64::try_from(file.num_rows).unwrap_or(0) + rows.iter().sum::<u64>(),
    ))
}

/// Footers read at once: S3 serves thousands of GETs a second per prefix,
/// and each read holds one footer (a few KiB) in memory.
const FOOTERS_AT_ONCE: usize = 32;

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

/// The answer of a swap or a rollback.
pub(super) fn swapped(
    table: &str,
    outcome: SwapOutcome,
    before: Option<&TableState>,
    def: &TableDef,
    diff: SchemaDiff,
) -> Swapped {
    Swapped {
        table: table.to_string(),
        outcome,
        previous_location: before.and_then(|t| t.location.clone()),
        new_location: def.location.clone(),
        previous_version: before.and_then(|t| t.version_id.clone()),
        schema_changes: diff.describe(),
        reason: None,
        retention: None,
    }
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

/// Faults the stand-in cannot produce on demand: a concurrent writer between
/// our read and our update, throttling, a table that vanished.
#[cfg(test)]
pub(crate) mod mocked {
    use std::sync::Arc;

    use super::*;
    use crate::clients::Clients;
    use crate::config::Config;
    use aws_sdk_glue::operation::get_table::GetTableOutput;
    use aws_sdk_glue::operation::get_tables::GetTablesOutput;
    use aws_sdk_glue::operation::update_table::{UpdateTableError, UpdateTableOutput};
    use aws_sdk_glue::types::error::ConcurrentModificationException;
    use aws_sdk_glue::types::{StorageDescriptor, Table};
    use aws_sdk_s3::operation::get_object::GetObjectOutput;
    use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
    use aws_sdk_s3::primitives::ByteStream;
    use aws_sdk_s3::types::Object;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

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
        GetTableOutput::builder().table(table_at(location, version)).build()
    }

    fn table_at(location: &str, version: &str) -> Table {
        Table::builder()
            .name("shop_customers")
            .version_id(version)
            .storage_descriptor(StorageDescriptor::builder().location(location).build())
            .build()
            .unwrap()
    }

    const RAW: &str = "s3://lake/exports/shop-prod/2026-11-21/x/shop/shop.customers/";

    pub(crate) fn context(glue: &[&Rule], retries: u32) -> Env {
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
        Env {
            config,
            clients,
            salt: None,
        }
    }

    async fn swap_new(env: &Env) -> Result<Swapped, Error> {
        swap_new_after(env, &ReadAhead::default()).await
    }

    async fn swap_new_after(env: &Env, ahead: &ReadAhead) -> Result<Swapped, Error> {
        let item = SwapItem {
            table: "shop_customers".into(),
            new_location: NEW.into(),
            source: None,
            max_row_drop_percent: None,
        };
        let shared = SwapShared {
            logical_time: LogicalTime::parse("2026-11-20T19:00:00Z").unwrap(),
            export_id: None,
            schema_policy: Default::default(),
            run_id: None,
            publish: Default::default(),
            retention: None,
        };
        swap(env, &item, &shared, ahead).await
    }

    /// The raw table as RegisterRaw left it for this run (swap reads it first).
    fn raw() -> Rule {
        mock!(aws_sdk_glue::Client::get_table)
            .match_requests(|r| r.database_name() == Some("snaplake_raw"))
            .then_output(|| table(RAW, "1"))
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
        assert_eq!(result.outcome, SwapOutcome::Unchanged);
        assert_eq!(conflict.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_table_read_ahead_that_changed_since_is_refused_by_the_lock_and_read_again() {
        // The batch read both databases whole (one GetTables page each);
        // another writer moved the curated table to our location after that.
        // Each page is answered by its database, whichever the batch reads first.
        let page = || {
            mock!(aws_sdk_glue::Client::get_tables).then_compute_output(|r| {
                let table = match r.database_name() {
                    Some("snaplake_raw") => table_at(RAW, "1"),
                    _ => table_at("s3://lake/curated/shop_customers/v=1/", "7"),
                };
                GetTablesOutput::builder().table_list(table).build()
            })
        };
        let (first, second) = (page(), page());
        let conflict = mock!(aws_sdk_glue::Client::update_table)
            .match_requests(|r| r.version_id() == Some("7"))
            .then_error(|| {
                UpdateTableError::ConcurrentModificationException(ConcurrentModificationException::builder().build())
            });
        let reread = mock!(aws_sdk_glue::Client::get_table)
            .match_requests(|r| r.database_name() == Some("snaplake_curated"))
            .then_output(|| table(NEW, "8"));
        let env = context(&[&first, &second, &conflict, &reread], 1);
        let ahead = ReadAhead::for_batch(&env, 4).await;
        let result = swap_new_after(&env, &ahead).await.unwrap();
        assert_eq!(result.outcome, SwapOutcome::Unchanged);
        assert_eq!(
            (
                first.num_calls() + second.num_calls(),
                conflict.num_calls(),
                reread.num_calls()
            ),
            (2, 1, 1),
            "two pages, then no GetTable until the lock refused the update"
        );
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
        assert_eq!(
            (result.outcome, result.previous_version.as_deref()),
            (SwapOutcome::Swapped, Some("8"))
        );
        assert_eq!(
            result.previous_location.as_deref(),
            Some("s3://lake/curated/shop_customers/v=0/")
        );
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
}
