//! An Iceberg table's next day: the metadata that makes a day's Parquet
//! files (as Athena's UNLOAD wrote them) the table's whole contents, in one
//! snapshot that replaces the previous day's (an `overwrite`). Pure: the
//! files to write are returned with their S3 URIs; nothing is read from or
//! written to AWS here (`catalog::ops::iceberg_commit` commits them).
//!
//! The metadata is written by Apache Iceberg's own Rust library (`iceberg`):
//! the table metadata JSON, the manifest and the manifest list (Avro), with
//! format version 2. What snaplake decides:
//!
//! - the schema comes from the curated table's Glue columns; a column keeps
//!   its field id across days by name, a new one takes the next id, and a
//!   dropped one leaves the schema (Iceberg's schema evolution: old
//!   snapshots keep their schema);
//! - UNLOAD writes Parquet without field ids, so the table carries a name
//!   mapping (`schema.name-mapping.default`) from each field id to the
//!   column's name: the Iceberg spec's rule for such files ("Column
//!   Projection"), which Trino's (and so Athena's) reader follows;
//! - the snapshot id and the metadata file name are derived from the run's
//!   key (table and logical time): a retry writes the same files.

use std::collections::HashMap;
use std::sync::Arc;

use iceberg::io::FileIO;
use iceberg::spec::{
    DataContentType, DataFileBuilder, DataFileFormat, FormatVersion, MAIN_BRANCH, ManifestListWriter,
    ManifestWriterBuilder, MappedField, NameMapping, NestedField, Operation, PartitionSpec, PrimitiveType, Schema,
    Snapshot, SortOrder, Summary, TableMetadata, TableMetadataBuilder, Type,
};
use sha2::{Digest, Sha256};

use crate::catalog::schema::Column;
use crate::error::Error;

/// The table property naming each field id's column names, for data files
/// without field ids.
pub const NAME_MAPPING: &str = "schema.name-mapping.default";

/// The folder of a table's location that holds its Iceberg metadata: not a
/// version, so retention never deletes it (`catalog::ops::gc`).
pub const METADATA_FOLDER: &str = "metadata";

/// One data file of the day, as UNLOAD wrote it.
#[derive(Debug, Clone)]
pub struct DataFile {
    pub uri: String,
    pub size: u64,
    pub rows: u64,
}

/// The table as the catalog holds it before this day.
pub struct Current {
    pub metadata_location: String,
    pub metadata: TableMetadata,
}

impl Current {
    /// The table whose metadata file at `metadata_location` holds `body`.
    pub fn parse(table: &str, metadata_location: &str, body: &[u8]) -> Result<Current, Error> {
        let metadata = serde_json::from_slice(body).map_err(|e| {
            Error::invalid_input(
                format!("iceberg metadata of {table}"),
                format!(
                    "{metadata_location} is not Iceberg table metadata ({e}); nothing was committed. \
                         Point the table's metadata_location back at its last good metadata file"
                ),
            )
        })?;
        Ok(Current {
            metadata_location: metadata_location.to_string(),
            metadata,
        })
    }
}

/// What to write, in order, to commit the day; the metadata file last.
#[derive(Debug)]
pub struct Commit {
    pub snapshot_id: i64,
    /// (S3 URI, body): the manifest, the manifest list, then the metadata.
    pub files: Vec<(String, Vec<u8>)>,
    pub metadata_location: String,
}

/// What the library refused: a bug here, or a table changed by a writer
/// other than snaplake. Nothing was written.
fn refused(table: &str, e: impl std::fmt::Display) -> Error {
    Error::invalid_input(
        format!("iceberg metadata of {table}"),
        format!(
            "could not be written: {e}; nothing was committed. If another tool changed the table, \
                 check its metadata with `snaplake status`; otherwise report this as a snaplake bug"
        ),
    )
}

/// Iceberg's type for a Glue (Hive DDL) column type, as Athena maps them.
pub fn iceberg_type(glue_type: &str) -> Option<PrimitiveType> {
    let t = glue_type.trim().to_ascii_lowercase();
    Some(match t.as_str() {
        "boolean" => PrimitiveType::Boolean,
        "tinyint" | "smallint" | "int" | "integer" => PrimitiveType::Int,
        "bigint" => PrimitiveType::Long,
        "float" => PrimitiveType::Float,
        "double" => PrimitiveType::Double,
        "date" => PrimitiveType::Date,
        "timestamp" => PrimitiveType::Timestamp,
        "binary" => PrimitiveType::Binary,
        "string" => PrimitiveType::String,
        _ if t.starts_with("varchar") || t.starts_with("char") => PrimitiveType::String,
        _ if t.starts_with("decimal(") && t.ends_with(')') => {
            let (p, s) = t["decimal(".len()..t.len() - 1].split_once(',')?;
            PrimitiveType::Decimal {
                precision: p.trim().parse().ok()?,
                scale: s.trim().parse().ok()?,
            }
        }
        _ => return None,
    })
}

/// The day's schema: `columns` in order, each keeping its field id in
/// `previous` by name, a new one numbered after `last_column_id`. A column
/// whose type changed keeps its id only where Iceberg allows the promotion
/// (int to long, float to double, a decimal's precision widened): any other
/// change is a new column, so older snapshots' files are never read as the
/// new type.
pub fn schema(table: &str, columns: &[Column], previous: Option<&TableMetadata>) -> Result<Schema, Error> {
    let known: HashMap<String, (i32, Type)> = previous
        .map(|m| {
            m.current_schema()
                .as_struct()
                .fields()
                .iter()
                .map(|f| (f.name.to_ascii_lowercase(), (f.id, (*f.field_type).clone())))
                .collect()
        })
        .unwrap_or_default();
    let mut next = previous.map(|m| m.last_column_id()).unwrap_or(0);
    let mut fields = Vec::with_capacity(columns.len());
    for column in columns {
        let Some(kind) = iceberg_type(&column.glue_type) else {
            return Err(Error::invalid_input(
                format!("{table}.{}", column.name),
                format!(
                    "has the Glue type {}, which has no Iceberg type; publish {table} with table_format \"hive\", \
                     or cast the column in the masking policy",
                    column.glue_type
                ),
            ));
        };
        let name = column.name.to_ascii_lowercase();
        let id = match known.get(&name) {
            Some((id, Type::Primitive(was))) if promotes(was, &kind) => *id,
            _ => {
                next += 1;
                next
            }
        };
        fields.push(Arc::new(NestedField::optional(id, name, Type::Primitive(kind))));
    }
    Schema::builder()
        .with_fields(fields)
        .build()
        .map_err(|e| refused(table, e))
}

/// Whether a column of type `was` may keep its field id as `now` (the
/// spec's "Schema Evolution": allowed type promotions).
fn promotes(was: &PrimitiveType, now: &PrimitiveType) -> bool {
    match (was, now) {
        (PrimitiveType::Int, PrimitiveType::Long) | (PrimitiveType::Float, PrimitiveType::Double) => true,
        (
            PrimitiveType::Decimal {
                precision: p1,
                scale: s1,
            },
            PrimitiveType::Decimal {
                precision: p2,
                scale: s2,
            },
        ) => s1 == s2 && p2 >= p1,
        _ => was == now,
    }
}

/// The name mapping: each field id of `schema` to its column's name, then
/// each older field (of `previous`' schemas, newest first) whose name no
/// field has taken, so time travel to a day before a column was dropped
/// still reads it. A name is mapped once (the spec requires it): a column
/// retyped beyond a promotion reads as NULL in days before the change.
pub fn name_mapping(schema: &Schema, previous: Option<&TableMetadata>) -> String {
    let mut seen_ids = std::collections::HashSet::new();
    let mut seen_names = std::collections::HashSet::new();
    let mut fields = Vec::new();
    let older = previous
        .into_iter()
        .flat_map(|m| {
            let mut schemas: Vec<_> = m.schemas_iter().collect();
            schemas.sort_by_key(|s| std::cmp::Reverse(s.schema_id()));
            schemas
        })
        .flat_map(|s| s.as_struct().fields().to_vec());
    for field in schema.as_struct().fields().iter().cloned().chain(older) {
        let name = field.name.to_ascii_lowercase();
        if seen_ids.insert(field.id) && seen_names.insert(name.clone()) {
            fields.push(MappedField::new(Some(field.id), vec![name], vec![]));
        }
    }
    serde_json::to_string(&NameMapping::new(fields)).expect("a name mapping serializes")
}

/// The snapshot id of the run with this key: positive, stable across retries.
pub fn snapshot_id(key: &str) -> i64 {
    let digest = Sha256::digest(key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) >> 1) as i64
}

/// What one day's commit is made of.
pub struct Overwrite<'a> {
    pub table: &'a str,
    /// The table's location; its metadata goes under `metadata/`.
    pub location: &'a str,
    pub columns: &'a [Column],
    pub files: &'a [DataFile],
    /// The run's key (table and logical time).
    pub key: &'a str,
    /// The commit's time, the snapshot's timestamp.
    pub now_ms: i64,
    /// Snapshots kept, this one included (retention's `keep`): older ones
    /// are expired in the same commit, so time travel never reaches a day
    /// whose files retention deletes.
    pub keep: usize,
}

/// The commit that makes `day.files` the table's contents.
pub async fn overwrite(current: Option<&Current>, day: &Overwrite<'_>) -> Result<Commit, Error> {
    let Overwrite {
        table,
        location,
        columns,
        files,
        key,
        now_ms,
        keep,
    } = *day;
    let location = location.trim_end_matches('/');
    let schema = schema(table, columns, current.map(|c| &c.metadata))?;
    let library = |e: iceberg::Error| refused(table, e);
    let properties = HashMap::from([
        (
            NAME_MAPPING.to_string(),
            name_mapping(&schema, current.map(|c| &c.metadata)),
        ),
        ("write.format.default".to_string(), "parquet".to_string()),
    ]);
    let builder = match current {
        None => TableMetadataBuilder::new(
            schema.clone(),
            PartitionSpec::unpartition_spec(),
            SortOrder::unsorted_order(),
            location.to_string(),
            FormatVersion::V2,
            properties,
        )
        .map_err(library)?,
        Some(c) => TableMetadataBuilder::new_from_metadata(c.metadata.clone(), Some(c.metadata_location.clone()))
            .add_current_schema(schema.clone())
            .and_then(|b| b.set_properties(properties))
            .map_err(library)?,
    };
    let snapshot_id = snapshot_id(key);
    let parent = current.and_then(|c| c.metadata.current_snapshot_id());
    let sequence = current.map(|c| c.metadata.next_sequence_number()).unwrap_or(1);
    // The schema as the metadata holds it (ids as given, its schema id).
    let staged = builder.clone().build().map_err(library)?.metadata;
    let table_schema = staged.current_schema().clone();
    let spec = staged.default_partition_spec().as_ref().clone();

    let io = FileIO::new_with_memory();
    let manifest_uri = format!("{location}/{METADATA_FOLDER}/{snapshot_id}-m0.avro");
    let mut manifest = ManifestWriterBuilder::new(
        io.new_output(&manifest_uri).map_err(library)?,
        Some(snapshot_id),
        table_schema,
        spec,
    )
    .build_v2_data();
    for file in files {
        let data = DataFileBuilder::default()
            .content(DataContentType::Data)
            .file_path(file.uri.clone())
            .file_format(DataFileFormat::Parquet)
            .record_count(file.rows)
            .file_size_in_bytes(file.size)
            .partition_spec_id(0)
            .build()
            .map_err(|e| refused(table, e))?;
        manifest.add_file(data, sequence).map_err(library)?;
    }
    let manifest_file = manifest.write_manifest_file().await.map_err(library)?;
    let list_uri = format!("{location}/{METADATA_FOLDER}/snap-{snapshot_id}-1-{snapshot_id}.avro");
    let mut list = ManifestListWriter::v2(
        io.new_output(&list_uri)
            .map_err(library)?
            .writer()
            .await
            .map_err(library)?,
        snapshot_id,
        parent,
        sequence,
    );
    list.add_manifests(std::iter::once(manifest_file)).map_err(library)?;
    list.close().await.map_err(library)?;

    let rows: u64 = files.iter().map(|f| f.rows).sum();
    let size: u64 = files.iter().map(|f| f.size).sum();
    let (deleted_files, deleted_rows) = match current.and_then(|c| c.metadata.current_snapshot()) {
        Some(s) => (
            s.summary()
                .additional_properties
                .get("total-data-files")
                .cloned()
                .unwrap_or_else(|| "0".into()),
            s.summary()
                .additional_properties
                .get("total-records")
                .cloned()
                .unwrap_or_else(|| "0".into()),
        ),
        None => ("0".into(), "0".into()),
    };
    let summary = Summary {
        operation: Operation::Overwrite,
        additional_properties: HashMap::from([
            ("added-data-files".into(), files.len().to_string()),
            ("added-records".into(), rows.to_string()),
            ("added-files-size".into(), size.to_string()),
            ("deleted-data-files".into(), deleted_files),
            ("deleted-records".into(), deleted_rows),
            ("total-data-files".into(), files.len().to_string()),
            ("total-records".into(), rows.to_string()),
            ("total-files-size".into(), size.to_string()),
            ("total-delete-files".into(), "0".into()),
            ("total-position-deletes".into(), "0".into()),
            ("total-equality-deletes".into(), "0".into()),
            ("snaplake.run".into(), key.to_string()),
        ]),
    };
    let snapshot = Snapshot::builder()
        .with_snapshot_id(snapshot_id)
        .with_parent_snapshot_id(parent)
        .with_sequence_number(sequence)
        .with_timestamp_ms(now_ms)
        .with_manifest_list(list_uri.clone())
        .with_summary(summary)
        .with_schema_id(staged.current_schema_id())
        .build();
    let expired = expired(current.map(|c| &c.metadata), keep);
    let metadata = builder
        .remove_snapshots(&expired)
        .set_branch_snapshot(snapshot, MAIN_BRANCH)
        .and_then(|b| b.build())
        .map_err(library)?
        .metadata;
    let metadata_location = format!("{location}/{METADATA_FOLDER}/{sequence:05}-{snapshot_id}.metadata.json");
    let body = serde_json::to_vec(&metadata).map_err(|e| refused(table, e))?;
    Ok(Commit {
        snapshot_id,
        files: vec![
            (manifest_uri.clone(), read(&io, &manifest_uri).await.map_err(library)?),
            (list_uri.clone(), read(&io, &list_uri).await.map_err(library)?),
            (metadata_location.clone(), body),
        ],
        metadata_location,
    })
}

/// The snapshots beyond the newest `keep - 1` of `previous` (the new one
/// makes `keep`), oldest included.
fn expired(previous: Option<&TableMetadata>, keep: usize) -> Vec<i64> {
    let Some(m) = previous else { return Vec::new() };
    let mut snapshots: Vec<_> = m.snapshots().map(|s| (s.sequence_number(), s.snapshot_id())).collect();
    snapshots.sort_unstable_by(|a, b| b.cmp(a));
    snapshots
        .into_iter()
        .skip(keep.saturating_sub(1))
        .map(|(_, id)| id)
        .collect()
}

async fn read(io: &FileIO, uri: &str) -> iceberg::Result<Vec<u8>> {
    Ok(io.new_input(uri)?.read().await?.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::schema::columns;

    const LOCATION: &str = "s3://lake/curated/customers/";

    fn file(day: u32, rows: u64) -> DataFile {
        DataFile {
            uri: format!("{LOCATION}v{day}/q_00000.snappy.parquet"),
            size: 100 * rows,
            rows,
        }
    }

    async fn day(current: Option<&Current>, cols: &[(&str, &str)], day: u32, rows: u64) -> (Commit, Current) {
        let key = format!("customers@2026-12-0{day}");
        let now = 1_765_000_000_000 + i64::from(day) * 86_400_000;
        let (columns, files) = (columns(cols), [file(day, rows)]);
        let overwrite_day = Overwrite {
            table: "customers",
            location: LOCATION,
            columns: &columns,
            files: &files,
            key: &key,
            now_ms: now,
            keep: 3,
        };
        let commit = overwrite(current, &overwrite_day).await.unwrap();
        let next = Current::parse("customers", &commit.metadata_location, &commit.files[2].1).unwrap();
        (commit, next)
    }

    /// The current schema's (name, field id) pairs, in order.
    fn field_ids(metadata: &TableMetadata) -> Vec<(String, i32)> {
        let schema = metadata.current_schema();
        schema
            .as_struct()
            .fields()
            .iter()
            .map(|f| (f.name.clone(), f.id))
            .collect()
    }

    #[tokio::test]
    async fn each_day_is_one_overwrite_snapshot_on_the_same_table() {
        let cols = [("id", "bigint"), ("email", "string")];
        let (first, one) = day(None, &cols, 1, 3).await;
        let (second, two) = day(Some(&one), &cols, 2, 4).await;
        let m = &two.metadata;
        assert_eq!(m.uuid(), one.metadata.uuid(), "the table keeps its UUID");
        assert_eq!(m.current_snapshot_id(), Some(second.snapshot_id));
        let snapshot = m.current_snapshot().unwrap();
        assert_eq!(snapshot.parent_snapshot_id(), Some(first.snapshot_id));
        assert_eq!(snapshot.sequence_number(), 2);
        assert_eq!(snapshot.summary().operation, Operation::Overwrite);
        assert_eq!(snapshot.summary().additional_properties["total-records"], "4");
        assert_eq!(snapshot.summary().additional_properties["deleted-records"], "3");
        assert_eq!(m.snapshots().count(), 2, "yesterday stays readable by time travel");
        let log: Vec<_> = m.metadata_log().iter().map(|l| l.metadata_file.clone()).collect();
        assert_eq!(log, vec![first.metadata_location.clone()]);
        assert!(
            second
                .metadata_location
                .starts_with("s3://lake/curated/customers/metadata/00002-")
        );
        let uris: Vec<_> = second.files.iter().map(|(uri, _)| uri.as_str()).collect();
        assert_eq!(
            uris.last(),
            Some(&second.metadata_location.as_str()),
            "the metadata is written last"
        );
    }

    #[tokio::test]
    async fn snapshots_beyond_keep_are_expired_in_the_same_commit() {
        let cols = [("id", "bigint")];
        let (_, one) = day(None, &cols, 1, 1).await;
        let (two_commit, two) = day(Some(&one), &cols, 2, 2).await;
        let (three_commit, three) = day(Some(&two), &cols, 3, 3).await;
        assert_eq!(three.metadata.snapshots().count(), 3, "keep 3 holds three days");
        let (four_commit, four) = day(Some(&three), &cols, 4, 4).await;
        let mut kept: Vec<i64> = four.metadata.snapshots().map(|s| s.snapshot_id()).collect();
        kept.sort_unstable();
        let mut wanted = vec![
            two_commit.snapshot_id,
            three_commit.snapshot_id,
            four_commit.snapshot_id,
        ];
        wanted.sort_unstable();
        assert_eq!(kept, wanted, "day 1 is expired");
        let log: Vec<i64> = four.metadata.history().iter().map(|l| l.snapshot_id).collect();
        assert_eq!(
            log,
            vec![
                two_commit.snapshot_id,
                three_commit.snapshot_id,
                four_commit.snapshot_id
            ]
        );
    }

    #[tokio::test]
    async fn a_retry_of_a_run_writes_the_same_files() {
        let cols = [("id", "bigint")];
        let (a, _) = day(None, &cols, 1, 3).await;
        let (b, _) = day(None, &cols, 1, 3).await;
        assert_eq!(a.snapshot_id, b.snapshot_id);
        assert_eq!(a.metadata_location, b.metadata_location);
        let (c, _) = day(None, &cols, 2, 3).await;
        assert_ne!(a.snapshot_id, c.snapshot_id);
    }

    #[tokio::test]
    async fn columns_keep_their_ids_by_name_and_the_name_mapping_follows() {
        let (_, one) = day(
            None,
            &[("id", "bigint"), ("email", "string"), ("phone", "string")],
            1,
            3,
        )
        .await;
        let (_, two) = day(
            Some(&one),
            &[("id", "bigint"), ("signup", "date"), ("email", "string")],
            2,
            3,
        )
        .await;
        let ids = field_ids(&two.metadata);
        assert_eq!(ids, vec![("id".into(), 1), ("signup".into(), 4), ("email".into(), 2)]);
        let mapping: serde_json::Value = serde_json::from_str(&two.metadata.properties()[NAME_MAPPING]).unwrap();
        assert_eq!(
            mapping,
            serde_json::json!([
                {"field-id": 1, "names": ["id"]},
                {"field-id": 4, "names": ["signup"]},
                {"field-id": 2, "names": ["email"]},
                {"field-id": 3, "names": ["phone"]}
            ]),
            "the dropped phone stays mapped for time travel to day 1"
        );
        assert_eq!(
            two.metadata.schemas_iter().count(),
            2,
            "day 1 keeps its schema for time travel"
        );
    }

    #[tokio::test]
    async fn a_retyped_column_keeps_its_id_only_for_a_promotion_iceberg_allows() {
        let (_, one) = day(
            None,
            &[("id", "int"), ("code", "string"), ("amount", "decimal(10,2)")],
            1,
            3,
        )
        .await;
        let (_, two) = day(
            Some(&one),
            &[("id", "bigint"), ("code", "bigint"), ("amount", "decimal(12,2)")],
            2,
            3,
        )
        .await;
        let ids = field_ids(&two.metadata);
        assert_eq!(ids, vec![("id".into(), 1), ("code".into(), 4), ("amount".into(), 3)]);
    }

    #[test]
    fn glue_types_map_to_iceberg_as_athena_maps_them() {
        assert_eq!(
            iceberg_type("decimal(12, 2)"),
            Some(PrimitiveType::Decimal {
                precision: 12,
                scale: 2
            })
        );
        assert_eq!(iceberg_type("varchar(20)"), Some(PrimitiveType::String));
        assert_eq!(iceberg_type("smallint"), Some(PrimitiveType::Int));
        assert_eq!(iceberg_type("timestamp"), Some(PrimitiveType::Timestamp));
        assert_eq!(iceberg_type("array<int>"), None);
    }

    #[test]
    fn a_column_without_an_iceberg_type_is_named_with_the_fix() {
        let err = schema("customers", &columns(&[("tags", "array<string>")]), None).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("customers.tags") && text.contains("array<string>"),
            "{text}"
        );
        assert!(text.contains("table_format \"hive\""), "{text}");
    }
}
