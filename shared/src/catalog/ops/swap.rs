//! Swap, the end of write, audit, publish (`catalog::audit`): once a
//! version passed its audit, its files are tagged readable and each curated
//! table is pointed at it in one Glue `UpdateTable` carrying the version
//! read before (optimistic lock). On a concurrent change it reads the table
//! once more and decides again: it may already point at this run's location.

use crate::catalog::parameters;
use futures_util::{StreamExt, TryStreamExt, stream};
use jiff::Timestamp;
use tracing::{info, warn};

use super::judge::{FOOTERS_AT_ONCE, Verdict, Version, judge, read_version};
use super::read_ahead::ReadAhead;
use super::{conflict, iceberg_commit};
use crate::aws::glue::{self, TableDef, TableState, Update};
use crate::aws::s3;
use crate::catalog::audit;
use crate::catalog::compat::SchemaDiff;
use crate::contract::catalog_swap::{SwapItem, SwapOutcome, SwapShared, Swapped};
use crate::contract::masking_policy::TableFormat;
use crate::contract::run_report::{TableOutcome, TableReport};
use crate::env::Env;
use crate::error::Error;

/// Publishes one table of a batch, once its new version passed its audit
/// (the state machine comes here only from a passed Verify): tags the
/// version's files readable ([`audit::TAG`]), then points the table at it,
/// recording the pass ([`parameters::AUDIT`]). `ahead` holds what the batch
/// read of its tables beforehand (`ReadAhead::default()` reads each table now).
pub async fn swap(env: &Env, item: &SwapItem, shared: &SwapShared, ahead: &ReadAhead) -> Result<Swapped, Error> {
    let mut version = read_version(env, item, shared, ahead).await?;
    version
        .def
        .parameters
        .insert(parameters::AUDIT.into(), audit::PASSED.into());
    let first = version.current.take();
    let (new, def) = (&version.new, &version.def);
    let database = &env.config.curated_database;
    let qualified = format!("{database}.{}", item.table);
    let mut tagged = false;
    // Decide on the table as read; on a concurrent change, read once more
    // and decide again (it may already point at our location).
    let mut first = Some(first);
    for attempt in 0..2 {
        let current = match first.take() {
            Some(read) => read,
            None => glue::get_table(&env.clients.glue, database, &item.table).await?,
        };
        let verdict = judge(env, item, shared, &version, current.as_ref())?;
        let done = |outcome, diff| swapped(&item.table, outcome, current.as_ref(), def, diff);
        match verdict {
            Verdict::Superseded => {
                info!(table = %qualified, "a newer run published this table; it stays on that version");
                return Ok(done(SwapOutcome::Superseded, SchemaDiff::default()));
            }
            Verdict::Held(reason) => {
                let mut held = done(SwapOutcome::Held, SchemaDiff::default());
                held.reason = Some(reason);
                return Ok(held);
            }
            Verdict::Unchanged => {
                // A retry after a swap whose answer was lost: tag again.
                tag_version(env, &version).await?;
                info!(table = %qualified, location = %new, "already points at this run's version; nothing to do");
                return Ok(done(SwapOutcome::Unchanged, SchemaDiff::default()));
            }
            Verdict::Create => {
                tag_version(env, &version).await?;
                if publish(env, &version, None, item, shared).await? == Update::Conflict {
                    warn!(table = %qualified, "created by another run while publishing; reading it again");
                    continue;
                }
                info!(table = %qualified, location = %new, "created");
                drop_candidate(env, &item.table).await;
                return Ok(done(SwapOutcome::Created, SchemaDiff::default()));
            }
            Verdict::Update(diff) => {
                if !tagged {
                    tag_version(env, &version).await?;
                    tagged = true;
                }
                let current = current.as_ref().expect("judge updates only a table that exists");
                match publish(env, &version, Some(current), item, shared).await? {
                    Update::Done => {
                        info!(table = %qualified, from = ?current.location, to = %new, changes = %diff.describe(), "swapped");
                        drop_candidate(env, &item.table).await;
                        return Ok(swapped(&item.table, SwapOutcome::Swapped, Some(current), def, diff));
                    }
                    Update::Conflict if attempt == 0 => {
                        warn!(table = %qualified, "changed while swapping; reading it again")
                    }
                    Update::Conflict => {}
                }
            }
        }
    }
    Err(conflict(database, &item.table))
}

/// Creates or repoints the table (`current`: as read; None creates it) in
/// the configured format: Hive's one `UpdateTable` (or `CreateTable`), or
/// one Iceberg snapshot (`iceberg_commit`). `Conflict` when the table
/// changed since it was read.
async fn publish(
    env: &Env,
    version: &Version,
    current: Option<&TableState>,
    item: &SwapItem,
    shared: &SwapShared,
) -> Result<Update, Error> {
    let def = &version.def;
    match item.table_format.unwrap_or(env.config.table_format) {
        TableFormat::Hive => match current {
            None => glue::create_table(&env.clients.glue, def).await.map(|()| Update::Done),
            Some(table) if parameters::is_iceberg(&table.parameters) => Err(Error::invalid_input(
                format!("curated table {}.{}", def.database, def.name),
                "is an Iceberg table, so it is not repointed as a Hive table; snaplake does not convert a table \
                 in place, and nothing was changed. Set table_format \"iceberg\" again (the module's, or the \
                 table's in the masking policy), or drop the table to have the next run create it as a Hive table",
            )),
            Some(table) => glue::update_table(&env.clients.glue, def, table.version_id.as_deref()).await,
        },
        TableFormat::Iceberg => {
            let run = format!("{}@{}", item.table, shared.logical_time);
            let publish = iceberg_commit::Publish {
                def,
                files: &version.files,
                run: &run,
            };
            Ok(iceberg_commit::publish(env, current, &publish).await?.0)
        }
    }
}

/// Tags every object of a version readable to analysts, FOOTERS_AT_ONCE at
/// a time (the objects its read listed). Tagging again is harmless, so a
/// retried swap tags again.
async fn tag_version(env: &Env, version: &Version) -> Result<(), Error> {
    let bucket = version.new.bucket.as_str();
    stream::iter(version.keys.clone())
        .map(|key: String| async move { s3::put_tag(&env.clients.s3, bucket, &key, (audit::TAG, audit::PASSED)).await })
        .buffer_unordered(FOOTERS_AT_ONCE)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// The candidate table has served once the version is published; one left
/// behind is replaced by the next stage, so a failure here is only logged.
async fn drop_candidate(env: &Env, table: &str) {
    let name = audit::candidate_table(table);
    if let Err(err) = glue::delete_table(&env.clients.glue, &env.config.raw_database, &name).await {
        warn!(table, candidate = %name, error = %err, "the candidate table stays; the next run replaces it");
    }
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
        report: None,
    }
}

/// Completes a table's report line with what its swap did: the outcome, the
/// version it left live (the new one once published; the one that stays
/// when a newer run or the quality gate kept it) and when it ended.
pub fn report_line(mut line: TableReport, swapped: &Swapped, finished_at: Timestamp) -> TableReport {
    let outcome = match swapped.outcome {
        SwapOutcome::Created => TableOutcome::Created,
        SwapOutcome::Swapped | SwapOutcome::RolledBack => TableOutcome::Swapped,
        SwapOutcome::Unchanged | SwapOutcome::Staged => TableOutcome::Unchanged,
        SwapOutcome::Superseded => TableOutcome::Superseded,
        SwapOutcome::Held => TableOutcome::Held,
    };
    let stayed = matches!(outcome, TableOutcome::Superseded | TableOutcome::Held);
    line.table = swapped.table.clone();
    line.outcome = Some(outcome);
    line.location = if stayed {
        swapped.previous_location.clone()
    } else {
        Some(swapped.new_location.clone())
    };
    line.previous_location = swapped.previous_location.clone();
    line.reason = swapped.reason.clone();
    line.finished_at = Some(finished_at.to_string());
    line
}

/// Faults the stand-in cannot produce on demand: a concurrent writer between
/// our read and our update, throttling, a table that vanished.
#[cfg(test)]
mod tests {
    use super::*;

    fn answered(outcome: SwapOutcome) -> Swapped {
        Swapped {
            table: "shop_customers".into(),
            outcome,
            previous_location: Some("s3://lake/curated/shop_customers/v=1/".into()),
            new_location: "s3://lake/curated/shop_customers/v=2/".into(),
            previous_version: Some("3".into()),
            schema_changes: String::new(),
            reason: (outcome == SwapOutcome::Held).then(|| "rows fell 90%".into()),
            retention: None,
            report: None,
        }
    }

    #[test]
    fn a_report_line_keeps_what_the_run_knew_and_names_the_version_left_live() {
        let sent = TableReport {
            table: "shop_customers".into(),
            transform_query_id: Some("q1".into()),
            verify_query_id: Some("q2".into()),
            rows_out: Some(7),
            ..TableReport::default()
        };
        let at = Timestamp::from_second(1_790_000_000).unwrap();
        let published = report_line(sent.clone(), &answered(SwapOutcome::Swapped), at);
        assert_eq!(published.outcome, Some(TableOutcome::Swapped));
        assert_eq!(
            published.location.as_deref(),
            Some("s3://lake/curated/shop_customers/v=2/")
        );
        assert_eq!(
            published.previous_location.as_deref(),
            Some("s3://lake/curated/shop_customers/v=1/")
        );
        assert_eq!(
            (published.transform_query_id.as_deref(), published.rows_out),
            (Some("q1"), Some(7))
        );
        assert_eq!(published.finished_at, Some(at.to_string()));
        for kept in [SwapOutcome::Held, SwapOutcome::Superseded] {
            let line = report_line(sent.clone(), &answered(kept), at);
            assert_eq!(
                line.location.as_deref(),
                Some("s3://lake/curated/shop_customers/v=1/"),
                "{kept:?}"
            );
        }
        assert_eq!(
            report_line(sent, &answered(SwapOutcome::Held), at).reason.as_deref(),
            Some("rows fell 90%")
        );
    }
}

#[cfg(test)]
pub(crate) mod mocked {
    use std::sync::Arc;

    use super::*;
    use crate::clients::Clients;
    use crate::config::Config;
    use crate::logical_time::LogicalTime;
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
        // The swap tags the version's files readable before it publishes them.
        let tag = mock!(aws_sdk_s3::Client::put_object_tagging)
            .match_requests(|r| {
                r.tagging()
                    .is_some_and(|t| t.tag_set().iter().any(|t| t.key() == audit::TAG))
            })
            .then_output(|| aws_sdk_s3::operation::put_object_tagging::PutObjectTaggingOutput::builder().build());
        vec![list, get_end, tag]
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
            table_format: None,
            report: None,
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
        let candidate_gone = mock!(aws_sdk_glue::Client::delete_table)
            .match_requests(|r| r.name() == Some("shop_customers__candidate"))
            .then_output(|| aws_sdk_glue::operation::delete_table::DeleteTableOutput::builder().build());
        let result = swap_new(&context(
            &[&raw(), &read, &conflict, &reread, &update, &candidate_gone],
            1,
        ))
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
        assert_eq!(
            candidate_gone.num_calls(),
            1,
            "the audit's candidate table is dropped once published"
        );
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
