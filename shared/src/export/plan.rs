//! The table plan: what an export produced, one entry per exported table,
//! grouped into batches (the shape a Distributed Map `ItemBatcher` produces,
//! `{"Items": [...]}`) so the state machine can fan out over it from S3.
//!
//! RDS names table folders `<db>/<db>.<table>` for MySQL engines and
//! `<db>/<schema>.<table>` for PostgreSQL engines; both are understood. Below
//! a table's folder AWS documents part files directly in it, or in numbered
//! (Aurora: lettered) sub-folders, and says the naming may change: every
//! data file at any depth below the table's folder belongs to the table.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::tables_info::{TableStatus, metadata_columns};
use crate::catalog::schema::Column;
use crate::error::Error;

/// What to do with tables the export did not complete.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnTableFailure {
    /// Fail the run, naming the tables (the default: nothing silently missing).
    #[default]
    Fail,
    /// Publish the other tables and report the missing ones.
    Skip,
}

/// A table ready to publish.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanItem {
    /// The source table as RDS names it: `shop.customers`, `appdb.public.users`.
    pub source: String,
    pub database: String,
    /// PostgreSQL schema; None for MySQL engines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    pub table: String,
    /// The name snaplake gives the table in Glue: lowercase letters, digits, `_`.
    pub name: String,
    /// `s3://bucket/<export path>/<db>/<folder>/`: every numbered part below it.
    pub location: String,
    /// The sub-folders (`1/`, `2/`, … or `a/`, …) holding the table's Parquet
    /// files; none when they lie directly in the table's folder.
    pub parts: Vec<String>,
    /// One data file, for reading the schema from its footer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_key: Option<String>,
    pub data_objects: usize,
    pub size_gb: f64,
    /// For a table without a data file only: its columns as the export's
    /// `schemaMetadata` describes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<Column>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    #[serde(rename = "Items")]
    pub items: Vec<PlanItem>,
}

/// A table the export did not complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedTable {
    pub source: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub batches: Vec<Batch>,
    pub skipped: Vec<SkippedTable>,
    /// What RDS noted about the export that names no table (a database whose
    /// tables it could not list, …): reported, never silently dropped.
    pub warnings: Vec<String>,
}

/// The task's `WarningMessage`, a JSON string such as
/// `{"skippedTables":[…],"skippedObjectives":[],"general":[{"reason":"…"}]}`.
#[derive(Debug, Default, Deserialize)]
struct TaskWarning {
    #[serde(rename = "skippedTables", default)]
    skipped_tables: Vec<serde_json::Value>,
    #[serde(rename = "skippedObjectives", default)]
    skipped_objectives: Vec<serde_json::Value>,
    #[serde(default)]
    general: Vec<serde_json::Value>,
}

/// The tables a task's `WarningMessage` says were skipped, and its other
/// notes. AWS does not document the entries' shape, so a table is named by
/// the first name-like field of an entry, else by the entry itself; text
/// that is not JSON is one note.
pub fn parse_task_warning(text: &str) -> (Vec<SkippedTable>, Vec<String>) {
    let Ok(warning) = serde_json::from_str::<TaskWarning>(text) else {
        return (Vec::new(), vec![text.to_string()]);
    };
    let field = |v: &serde_json::Value, names: &[&str]| {
        names
            .iter()
            .find_map(|n| v.get(n).and_then(|f| f.as_str()).map(str::to_string))
    };
    let skipped = warning
        .skipped_tables
        .iter()
        .map(|entry| SkippedTable {
            source: entry
                .as_str()
                .map(str::to_string)
                .or_else(|| field(entry, &["target", "tableName", "table", "name"]))
                .unwrap_or_else(|| entry.to_string()),
            status: "SKIPPED".into(),
            reason: field(entry, &["reason", "message", "warningMessage"]),
        })
        .collect();
    let notes = warning
        .skipped_objectives
        .iter()
        .chain(&warning.general)
        .map(|entry| match (field(entry, &["reason", "message"]), entry.as_str()) {
            (Some(reason), _) => match field(entry, &["target", "databaseName", "database", "name"]) {
                Some(what) => format!("{what}: {reason}"),
                None => reason,
            },
            (None, Some(text)) => text.to_string(),
            (None, None) => entry.to_string(),
        })
        .collect();
    (skipped, notes)
}

impl Plan {
    pub fn table_count(&self) -> usize {
        self.batches.iter().map(|b| b.items.len()).sum()
    }
}

/// Builds the plan from the export's table statuses and the keys found under
/// its path (`export_path` is `<S3Prefix>/<export-id>`, without slashes at
/// either end).
/// `task_warning` is the task's `WarningMessage`, if any.
pub fn build(
    bucket: &str,
    export_path: &str,
    statuses: &[TableStatus],
    keys: &[String],
    task_warning: Option<&str>,
    on_failure: OnTableFailure,
    batch_size: usize,
) -> Result<Plan, Error> {
    if batch_size == 0 {
        return Err(Error::invalid_input("batch_size", "must be at least 1"));
    }
    let folders = table_folders(export_path, keys);
    // A status names its table `<folder>` or `<db>.<folder>`: both looked up
    // at once (a search per status was quadratic: 16 s of export-poller's
    // debug build at 10,000 tables). The first folder in order wins, as before.
    let mut by_target: HashMap<String, (&(String, String), &Files)> = HashMap::new();
    for (place, files) in &folders {
        let (db, folder) = place;
        by_target.entry(folder.clone()).or_insert((place, files));
        by_target.entry(format!("{db}.{folder}")).or_insert((place, files));
    }
    let mut items = Vec::new();
    let (mut skipped, mut warnings) = task_warning
        .filter(|w| !w.trim().is_empty())
        .map(parse_task_warning)
        .unwrap_or_default();
    for status in statuses {
        if !status.target.contains('.') {
            // A database-level entry: not a table; its warning is reported.
            if let Some(warning) = &status.warning {
                warnings.push(format!("{}: {warning}", status.target));
            }
            continue;
        }
        if !status.completed() {
            skipped.push(SkippedTable {
                source: status.target.clone(),
                status: status.status.clone().unwrap_or_default(),
                reason: status.warning.clone(),
            });
            continue;
        }
        let Some(((db, folder), files)) = by_target.get(&status.target).copied() else {
            // RDS writes no data file for an empty table; record it empty
            // under where its files would be.
            let (db, folder) = split_target(&status.target);
            items.push(item(
                bucket,
                export_path,
                &db,
                &folder,
                &status.target,
                &Files::default(),
                status,
            ));
            continue;
        };
        items.push(item(bucket, export_path, db, folder, &status.target, files, status));
    }
    let mut seen = std::collections::BTreeSet::new();
    skipped.retain(|t| seen.insert(t.source.clone()));
    if !skipped.is_empty() && on_failure == OnTableFailure::Fail {
        return Err(Error::ExportIncomplete {
            tables: skipped.iter().map(|s| format!("{} ({})", s.source, s.status)).collect(),
        });
    }
    items.sort_by(|a, b| a.source.cmp(&b.source));
    check_unique_names(&items)?;
    let batches = items
        .chunks(batch_size)
        .map(|chunk| Batch { items: chunk.to_vec() })
        .collect();
    Ok(Plan {
        batches,
        skipped,
        warnings,
    })
}

#[derive(Debug, Default)]
struct Files {
    parts: Vec<String>,
    /// The parts already in `parts` (a table may have thousands).
    seen: HashSet<String>,
    data: Vec<String>,
}

/// Groups data keys by (db folder, table folder): a key belongs to the table
/// folder it is below, at any depth.
fn table_folders(export_path: &str, keys: &[String]) -> BTreeMap<(String, String), Files> {
    let mut out: BTreeMap<(String, String), Files> = BTreeMap::new();
    let prefix = format!("{export_path}/");
    for key in keys {
        let Some(rest) = key.strip_prefix(&prefix) else {
            continue;
        };
        let parts: Vec<&str> = rest.split('/').collect();
        let [db, folder, below @ .., file] = parts.as_slice() else {
            continue;
        };
        let files = out.entry((db.to_string(), folder.to_string())).or_default();
        if let Some(first) = below.first() {
            let part = format!("{first}/");
            if files.seen.insert(part.clone()) {
                files.parts.push(part);
            }
        }
        if is_data_file(file) {
            files.data.push(key.clone());
        }
    }
    for files in out.values_mut() {
        files.parts.sort_by(|a, b| {
            let number = |p: &str| p.trim_end_matches('/').parse::<u64>().unwrap_or(u64::MAX);
            number(a).cmp(&number(b)).then_with(|| a.cmp(b))
        });
        files.data.sort();
    }
    out
}

/// A Parquet data file, not a marker such as `_SUCCESS` or a hidden file.
fn is_data_file(name: &str) -> bool {
    name.ends_with(".parquet") && !name.starts_with(['_', '.'])
}

fn split_target(target: &str) -> (String, String) {
    match target.split_once('.') {
        Some((db, rest)) if rest.contains('.') => (db.to_string(), rest.to_string()),
        Some((db, _)) => (db.to_string(), target.to_string()),
        None => (String::new(), target.to_string()),
    }
}

fn item(
    bucket: &str,
    export_path: &str,
    db: &str,
    folder: &str,
    source: &str,
    files: &Files,
    status: &TableStatus,
) -> PlanItem {
    let (schema, table, name) = identity(db, folder);
    PlanItem {
        source: source.to_string(),
        database: db.to_string(),
        schema,
        table,
        name,
        location: format!("s3://{bucket}/{export_path}/{db}/{folder}/"),
        parts: files.parts.clone(),
        sample_key: files.data.first().cloned(),
        data_objects: files.data.len(),
        size_gb: status.size_gb.unwrap_or(0.0),
        columns: if files.data.is_empty() {
            metadata_columns(status)
        } else {
            Vec::new()
        },
    }
}

/// A table's schema, table and Glue name from its database and export
/// folder. MySQL: folder `shop.customers` under db `shop`; PostgreSQL:
/// `public.users` under `appdb`.
fn identity(db: &str, folder: &str) -> (Option<String>, String, String) {
    let (qualifier, table) = folder.split_once('.').unwrap_or(("", folder));
    let schema = (!qualifier.is_empty() && qualifier != db).then(|| qualifier.to_string());
    let name = glue_name(&match &schema {
        Some(schema) => format!("{db}_{schema}_{table}"),
        None => format!("{db}_{table}"),
    });
    (schema, table.to_string(), name)
}

impl PlanItem {
    /// A plan item reaches RegisterRaw through the state machine's input,
    /// so it is checked against the export it claims to come from: its
    /// names follow from its source, and its location and sample file lie
    /// in that export's folder for that table, under the deployment's
    /// bucket and export prefix. An item edited to read another folder (a
    /// curated table, another export, another bucket) is refused.
    pub fn check_against(&self, bucket: &str, export_prefix: &str, export_id: &str) -> Result<(), Error> {
        let (db, folder) = split_target(&self.source);
        let (schema, table, name) = identity(&db, &folder);
        let field = |f: &str| format!("Items[{}].{f}", self.name);
        let fix =
            "plans are written by snapshot-export from the export itself; run the day again rather than editing one";
        if (&self.database, &self.schema, &self.table, &self.name) != (&db, &schema, &table, &name) {
            return Err(Error::invalid_input(
                field("name"),
                format!(
                    "names database {:?}, schema {:?}, table {:?} and Glue table {:?}, but its source {} is \
                     {db:?}, {schema:?}, {table:?} and {name:?}; {fix}",
                    self.database, self.schema, self.table, self.name, self.source
                ),
            ));
        }
        let key = self.location.strip_prefix(&format!("s3://{bucket}/"));
        let prefix = key.and_then(|k| k.strip_suffix(&format!("/{export_id}/{db}/{folder}/")));
        let under_export_prefix = |p: &str| {
            (export_prefix.is_empty() || p == export_prefix || p.starts_with(&format!("{export_prefix}/")))
                && p.split('/')
                    .all(|segment| !segment.is_empty() && segment != "." && segment != "..")
        };
        if !prefix.is_some_and(under_export_prefix) {
            return Err(Error::invalid_input(
                field("location"),
                format!(
                    "{} is not the folder of {} in export {export_id} (s3://{bucket}/{export_prefix}/…/{export_id}/{db}/{folder}/); {fix}",
                    self.location, self.source
                ),
            ));
        }
        if let (Some(sample), Some(key)) = (&self.sample_key, key)
            && (!sample.starts_with(key) || sample[key.len()..].split('/').any(|s| s.is_empty() || s == ".."))
        {
            return Err(Error::invalid_input(
                field("sample_key"),
                format!("{sample} is not a file under {}; {fix}", self.location),
            ));
        }
        Ok(())
    }
}

/// Lowercase letters, digits and `_`; every other run of characters becomes one `_`.
pub fn glue_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

fn check_unique_names(items: &[PlanItem]) -> Result<(), Error> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for item in items {
        if let Some(other) = seen.insert(&item.name, &item.source) {
            return Err(Error::invalid_input(
                "tables",
                format!(
                    "{other} and {} would both be published as `{}`; export only one of them (ExportOnly)",
                    item.source, item.name
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tables_info::parse_tables_info;

    const PATH: &str = "exports/shop-prod/2026-11-21/snaplake-shop-prod-20261121";

    fn status(target: &str, status: &str) -> TableStatus {
        TableStatus {
            target: target.into(),
            status: Some(status.into()),
            size_gb: Some(0.5),
            warning: None,
            schema: None,
        }
    }

    fn keys(list: &[&str]) -> Vec<String> {
        list.iter().map(|k| format!("{PATH}/{k}")).collect()
    }

    fn mysql_keys() -> Vec<String> {
        keys(&[
            "export_info_snaplake-shop-prod-20261121.json",
            "shop/shop.customers/1/_SUCCESS",
            "shop/shop.customers/1/part-00000-a.gz.parquet",
            "shop/shop.orders/2/part-00000-c.gz.parquet",
            "shop/shop.orders/1/part-00000-b.gz.parquet",
            "shop/shop.orders/10/part-00000-d.gz.parquet",
        ])
    }

    #[test]
    fn mysql_tables_with_their_numbered_parts() {
        let statuses = [status("shop.orders", "COMPLETE"), status("shop.customers", "COMPLETE")];
        let plan = build("lake", PATH, &statuses, &mysql_keys(), None, OnTableFailure::Fail, 10).unwrap();
        assert_eq!(plan.batches.len(), 1);
        let items = &plan.batches[0].items;
        assert_eq!(
            items.iter().map(|i| i.source.as_str()).collect::<Vec<_>>(),
            ["shop.customers", "shop.orders"]
        );
        let orders = &items[1];
        assert_eq!(orders.name, "shop_orders");
        assert_eq!(orders.database, "shop");
        assert_eq!(orders.schema, None);
        assert_eq!(orders.table, "orders");
        assert_eq!(orders.location, format!("s3://lake/{PATH}/shop/shop.orders/"));
        assert_eq!(orders.parts, ["1/", "2/", "10/"]);
        assert_eq!(orders.data_objects, 3);
        assert_eq!(
            orders.sample_key.as_deref(),
            Some(format!("{PATH}/shop/shop.orders/1/part-00000-b.gz.parquet").as_str())
        );
    }

    #[test]
    fn postgres_tables_keep_their_schema() {
        let statuses = [
            status("appdb.public.users", "COMPLETE"),
            status("appdb.billing.invoices", "COMPLETE"),
        ];
        let keys = keys(&[
            "appdb/public.users/1/part-0.gz.parquet",
            "appdb/billing.invoices/1/part-0.gz.parquet",
        ]);
        let plan = build("lake", PATH, &statuses, &keys, None, OnTableFailure::Fail, 10).unwrap();
        let items = &plan.batches[0].items;
        assert_eq!(items[0].source, "appdb.billing.invoices");
        assert_eq!(items[0].schema.as_deref(), Some("billing"));
        assert_eq!(items[0].name, "appdb_billing_invoices");
        assert_eq!(items[1].table, "users");
        assert_eq!(items[1].location, format!("s3://lake/{PATH}/appdb/public.users/"));
    }

    #[test]
    fn failed_tables_fail_the_run_by_default_naming_them() {
        let statuses = [status("shop.orders", "FAILED"), status("shop.customers", "COMPLETE")];
        let err = build("lake", PATH, &statuses, &mysql_keys(), None, OnTableFailure::Fail, 10).unwrap_err();
        assert_eq!(err.name(), "ExportIncomplete");
        assert!(err.to_string().contains("shop.orders (FAILED)"), "{err}");
    }

    #[test]
    fn failed_tables_are_reported_when_skipping() {
        let statuses = [status("shop.orders", "FAILED"), status("shop.customers", "COMPLETE")];
        let plan = build("lake", PATH, &statuses, &mysql_keys(), None, OnTableFailure::Skip, 10).unwrap();
        assert_eq!(plan.table_count(), 1);
        assert_eq!(
            plan.skipped,
            [SkippedTable {
                source: "shop.orders".into(),
                status: "FAILED".into(),
                reason: None
            }]
        );
    }

    #[test]
    fn an_empty_table_is_planned_with_no_data_objects() {
        let statuses = [status("shop.empty_one", "COMPLETE")];
        let plan = build("lake", PATH, &statuses, &mysql_keys(), None, OnTableFailure::Fail, 10).unwrap();
        let item = &plan.batches[0].items[0];
        assert_eq!(item.data_objects, 0);
        assert_eq!(item.sample_key, None);
        assert_eq!(item.location, format!("s3://lake/{PATH}/shop/shop.empty_one/"));
    }

    #[test]
    fn batches_have_the_item_batcher_shape() {
        let statuses: Vec<TableStatus> = (0..25).map(|i| status(&format!("shop.t{i:02}"), "COMPLETE")).collect();
        let plan = build("lake", PATH, &statuses, &[], None, OnTableFailure::Fail, 10).unwrap();
        assert_eq!(
            plan.batches.iter().map(|b| b.items.len()).collect::<Vec<_>>(),
            [10, 10, 5]
        );
        let json = serde_json::to_value(&plan.batches).unwrap();
        assert!(json[0]["Items"].is_array());
        assert_eq!(json[2]["Items"][4]["source"], "shop.t24");
        let back: Vec<Batch> = serde_json::from_value(json).unwrap();
        assert_eq!(back, plan.batches);
        assert!(build("lake", PATH, &statuses, &[], None, OnTableFailure::Fail, 0).is_err());
    }

    #[test]
    fn names_that_would_collide_are_refused() {
        let statuses = [
            status("shop.Order-Items", "COMPLETE"),
            status("shop.order_items", "COMPLETE"),
        ];
        let err = build("lake", PATH, &statuses, &[], None, OnTableFailure::Fail, 10).unwrap_err();
        assert!(err.to_string().contains("shop_order_items"), "{err}");
    }

    #[test]
    fn data_files_at_any_depth_below_the_table_folder_belong_to_it() {
        let keys = keys(&[
            // Older exports: part files directly in the table's folder.
            "shop/shop.flat/_SUCCESS",
            "shop/shop.flat/part-00000-a.gz.parquet",
            "shop/shop.flat/part-00003-b.gz.parquet",
            // Aurora: lettered folders.
            "shop/shop.lettered/a/part-00000-c.gz.parquet",
            "shop/shop.lettered/b/part-00000-d.gz.parquet",
            "shop/shop.lettered/a/_SUCCESS",
            // A layout not seen yet: deeper still.
            "shop/shop.deep/1/x/part-00000-e.gz.parquet",
            "shop/shop.deep/1/x/_part-00000-e.gz.parquet",
        ]);
        let statuses = [
            status("shop.flat", "COMPLETE"),
            status("shop.lettered", "COMPLETE"),
            status("shop.deep", "COMPLETE"),
        ];
        let plan = build("lake", PATH, &statuses, &keys, None, OnTableFailure::Fail, 10).unwrap();
        let item = |name: &str| plan.batches[0].items.iter().find(|i| i.table == name).unwrap().clone();
        let flat = item("flat");
        assert_eq!((flat.data_objects, flat.parts.len()), (2, 0));
        assert_eq!(flat.location, format!("s3://lake/{PATH}/shop/shop.flat/"));
        let lettered = item("lettered");
        assert_eq!(
            (lettered.data_objects, lettered.parts.clone()),
            (2, vec!["a/".to_string(), "b/".to_string()])
        );
        let deep = item("deep");
        assert_eq!(deep.data_objects, 1, "markers are not data");
        assert!(deep.sample_key.unwrap().ends_with("1/x/part-00000-e.gz.parquet"));
    }

    #[test]
    fn tables_the_task_warning_names_are_skipped_by_name_and_its_notes_kept() {
        let warning = r#"{"skippedTables":[{"target":"shop.bad_columns","reason":"COLUMN_WITH_UNSUPPORTED_CHARACTER_IN_NAME"},"shop.other"],
            "skippedObjectives":[],"general":[{"reason":"FAILED_TO_EXTRACT_TABLES_LIST_FOR_DATABASE"}]}"#;
        let statuses = [status("shop.customers", "COMPLETE")];
        let err = build(
            "lake",
            PATH,
            &statuses,
            &mysql_keys(),
            Some(warning),
            OnTableFailure::Fail,
            10,
        )
        .unwrap_err();
        assert!(err.to_string().contains("shop.bad_columns (SKIPPED)"), "{err}");
        let plan = build(
            "lake",
            PATH,
            &statuses,
            &mysql_keys(),
            Some(warning),
            OnTableFailure::Skip,
            10,
        )
        .unwrap();
        assert_eq!(plan.table_count(), 1);
        assert_eq!(
            plan.skipped,
            [
                SkippedTable {
                    source: "shop.bad_columns".into(),
                    status: "SKIPPED".into(),
                    reason: Some("COLUMN_WITH_UNSUPPORTED_CHARACTER_IN_NAME".into())
                },
                SkippedTable {
                    source: "shop.other".into(),
                    status: "SKIPPED".into(),
                    reason: None
                }
            ]
        );
        assert_eq!(plan.warnings, ["FAILED_TO_EXTRACT_TABLES_LIST_FOR_DATABASE"]);
        let (_, notes) = parse_task_warning("not JSON at all");
        assert_eq!(notes, ["not JSON at all"]);
    }

    #[test]
    fn database_entries_and_entries_without_status_are_understood() {
        let body = br#"{"perTableStatus":[
            {"target":"shop","warningMessage":"Some tables could not be listed"},
            {"target":"shop.customers","sizeGB":0.1},
            {"target":"shop.orders","status":"COMPLETE","schemaMetadata":{"originalTypeMappings":[
                {"columnName":"id","originalType":"bigint","expectedExportedType":"int64","originalCharMaxLength":"0","originalNumPrecision":"19","originalDateTimePrecision":0},
                {"columnName":"total","originalType":"decimal","expectedExportedType":"int64","originalNumPrecision":12,"originalNumScale":"2"}]}}]}"#;
        let statuses = parse_tables_info("k.json", body).unwrap();
        let plan = build("lake", PATH, &statuses, &mysql_keys(), None, OnTableFailure::Fail, 10).unwrap();
        assert_eq!(plan.table_count(), 2, "the database entry is not a table");
        assert_eq!(plan.warnings, ["shop: Some tables could not be listed"]);
        assert!(plan.skipped.is_empty());
    }

    #[test]
    fn an_empty_table_takes_its_columns_from_the_schema_metadata() {
        let body = br#"{"perTableStatus":[{"target":"shop.empty_one","status":"COMPLETE","schemaMetadata":{"originalTypeMappings":[
            {"columnName":"id","originalType":"bigint","expectedExportedType":"int64","originalNumPrecision":"19"},
            {"columnName":"n","originalType":"int","expectedExportedType":"int32","originalNumPrecision":10},
            {"columnName":"price","originalType":"decimal","expectedExportedType":"int64","originalNumPrecision":"12","originalNumScale":2},
            {"columnName":"name","originalType":"varchar","expectedExportedType":"binary (UTF8)","originalCharMaxLength":"64"},
            {"columnName":"born","originalType":"date","expectedExportedType":"int32"},
            {"columnName":"at","originalType":"datetime","expectedExportedType":"int64"},
            {"columnName":"old_at","originalType":"datetime","expectedExportedType":"int96"},
            {"columnName":"blob","originalType":"blob","expectedExportedType":"binary"}]}}]}"#;
        let statuses = parse_tables_info("k.json", body).unwrap();
        let plan = build("lake", PATH, &statuses, &mysql_keys(), None, OnTableFailure::Fail, 10).unwrap();
        let item = &plan.batches[0].items[0];
        assert_eq!(item.data_objects, 0);
        let types: Vec<String> = item
            .columns
            .iter()
            .map(|c| format!("{} {}", c.name, c.glue_type))
            .collect();
        assert_eq!(
            types,
            [
                "id bigint",
                "n int",
                "price decimal(12,2)",
                "name string",
                "born date",
                "at timestamp",
                "old_at timestamp",
                "blob binary"
            ]
        );
        let with_data = build(
            "lake",
            PATH,
            &[status("shop.orders", "COMPLETE")],
            &mysql_keys(),
            None,
            OnTableFailure::Fail,
            10,
        )
        .unwrap();
        assert!(with_data.batches[0].items[0].columns.is_empty(), "a footer gives those");
        let bad = br#"{"perTableStatus":[{"target":"shop.x","schemaMetadata":{"originalTypeMappings":[{"columnName":"a","originalNumPrecision":"many"}]}}]}"#;
        assert!(
            parse_tables_info("k.json", bad)
                .unwrap_err()
                .to_string()
                .contains("many")
        );
    }

    #[test]
    fn every_item_a_plan_makes_passes_its_check_and_an_edited_one_is_refused() {
        let statuses = [status("shop.orders", "COMPLETE"), status("shop.customers", "COMPLETE")];
        let plan = build("lake", PATH, &statuses, &mysql_keys(), None, OnTableFailure::Fail, 10).unwrap();
        let id = "snaplake-shop-prod-20261121";
        let orders = plan.batches[0].items[1].clone();
        for item in &plan.batches[0].items {
            item.check_against("lake", "exports", id).unwrap();
        }
        let pg = build(
            "lake",
            PATH,
            &[status("appdb.public.users", "COMPLETE")],
            &keys(&["appdb/public.users/1/part-00000-a.gz.parquet"]),
            None,
            OnTableFailure::Fail,
            10,
        )
        .unwrap();
        pg.batches[0].items[0].check_against("lake", "exports", id).unwrap();

        type Edit = fn(&mut PlanItem);
        let edits: [(&str, Edit); 8] = [
            ("location", |i| {
                i.location = "s3://lake/curated/shop_customers/v=1/".into()
            }),
            ("location", |i| {
                i.location = i.location.replace("shop.orders", "shop.customers")
            }),
            ("location", |i| {
                i.location = i.location.replace("s3://lake/", "s3://mallory/")
            }),
            ("location", |i| {
                i.location = i
                    .location
                    .replace("snaplake-shop-prod-20261121", "snaplake-shop-prod-20261120")
            }),
            ("location", |i| {
                i.location = i.location.replace("exports/", "exports/../curated/")
            }),
            ("sample_key", |i| {
                i.sample_key = Some("curated/shop_customers/v=1/a.parquet".into())
            }),
            ("name", |i| i.name = "shop_customers".into()),
            ("name", |i| i.source = "shop.customers".into()),
        ];
        for (field, edit) in edits {
            let mut item = orders.clone();
            edit(&mut item);
            let err = item.check_against("lake", "exports", id).unwrap_err();
            assert_eq!(err.name(), "InvalidInput");
            assert!(err.to_string().contains(&format!("].{field}`")), "{field}: {err}");
        }
        let err = orders.check_against("lake", "raw-exports", id).unwrap_err();
        assert!(err.to_string().contains("].location`"), "{err}");
    }
}
