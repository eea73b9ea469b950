//! The table plan: what an export produced, one entry per exported table,
//! grouped into batches (the shape a Distributed Map `ItemBatcher` produces,
//! `{"Items": [...]}`) so the state machine can fan out over it from S3.
//!
//! RDS names table folders `<db>/<db>.<table>` for MySQL engines and
//! `<db>/<schema>.<table>` for PostgreSQL engines; both are understood.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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

/// One entry of `export_tables_info_*.json`'s `perTableStatus`.
#[derive(Debug, Clone, Deserialize)]
pub struct TableStatus {
    pub target: String,
    pub status: String,
    #[serde(rename = "sizeGB", default)]
    pub size_gb: Option<f64>,
    #[serde(rename = "warningMessage", default)]
    pub warning: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TablesInfo {
    #[serde(rename = "perTableStatus", default)]
    per_table_status: Vec<TableStatus>,
}

/// Parses one `export_tables_info_*.json` file.
pub fn parse_tables_info(key: &str, body: &[u8]) -> Result<Vec<TableStatus>, Error> {
    serde_json::from_slice::<TablesInfo>(body)
        .map(|info| info.per_table_status)
        .map_err(|e| Error::invalid_input(key, format!("is not an export_tables_info file RDS writes: {e}")))
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
    /// The numbered folders (`1/`, `2/`, …) holding the table's Parquet files.
    pub parts: Vec<String>,
    /// One data file, for reading the schema from its footer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_key: Option<String>,
    pub data_objects: usize,
    pub size_gb: f64,
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
}

impl Plan {
    pub fn table_count(&self) -> usize {
        self.batches.iter().map(|b| b.items.len()).sum()
    }
}

/// Builds the plan from the export's table statuses and the keys found under
/// its path (`export_path` is `<S3Prefix>/<export-id>`, without slashes at
/// either end).
pub fn build(
    bucket: &str,
    export_path: &str,
    statuses: &[TableStatus],
    keys: &[String],
    on_failure: OnTableFailure,
    batch_size: usize,
) -> Result<Plan, Error> {
    if batch_size == 0 {
        return Err(Error::invalid_input("batch_size", "must be at least 1"));
    }
    let folders = table_folders(export_path, keys);
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for status in statuses {
        if !status.status.eq_ignore_ascii_case("COMPLETE") {
            skipped.push(SkippedTable {
                source: status.target.clone(),
                status: status.status.clone(),
                reason: status.warning.clone(),
            });
            continue;
        }
        let found = folders
            .iter()
            .find(|((db, folder), _)| status.target == *folder || status.target == format!("{db}.{folder}"));
        let Some(((db, folder), files)) = found else {
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
    Ok(Plan { batches, skipped })
}

#[derive(Debug, Default)]
struct Files {
    parts: Vec<String>,
    data: Vec<String>,
}

/// Groups data keys by (db folder, table folder).
fn table_folders(export_path: &str, keys: &[String]) -> BTreeMap<(String, String), Files> {
    let mut out: BTreeMap<(String, String), Files> = BTreeMap::new();
    let prefix = format!("{export_path}/");
    for key in keys {
        let Some(rest) = key.strip_prefix(&prefix) else {
            continue;
        };
        let parts: Vec<&str> = rest.split('/').collect();
        let [db, folder, number, file] = parts[..] else {
            continue;
        };
        let files = out.entry((db.to_string(), folder.to_string())).or_default();
        let part = format!("{number}/");
        if !files.parts.contains(&part) {
            files.parts.push(part);
        }
        if file.ends_with(".parquet") {
            files.data.push(key.clone());
        }
    }
    for files in out.values_mut() {
        files
            .parts
            .sort_by_key(|p| p.trim_end_matches('/').parse::<u64>().unwrap_or(u64::MAX));
        files.data.sort();
    }
    out
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
    // MySQL: folder `shop.customers` under db `shop`; PostgreSQL: `public.users` under `appdb`.
    let (qualifier, table) = folder.split_once('.').unwrap_or(("", folder));
    let schema = (!qualifier.is_empty() && qualifier != db).then(|| qualifier.to_string());
    let name = glue_name(&match &schema {
        Some(schema) => format!("{db}_{schema}_{table}"),
        None => format!("{db}_{table}"),
    });
    PlanItem {
        source: source.to_string(),
        database: db.to_string(),
        schema,
        table: table.to_string(),
        name,
        location: format!("s3://{bucket}/{export_path}/{db}/{folder}/"),
        parts: files.parts.clone(),
        sample_key: files.data.first().cloned(),
        data_objects: files.data.len(),
        size_gb: status.size_gb.unwrap_or(0.0),
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

    const PATH: &str = "exports/shop-prod/2026-11-21/snaplake-shop-prod-20261121";

    fn status(target: &str, status: &str) -> TableStatus {
        TableStatus {
            target: target.into(),
            status: status.into(),
            size_gb: Some(0.5),
            warning: None,
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
        let plan = build("lake", PATH, &statuses, &mysql_keys(), OnTableFailure::Fail, 10).unwrap();
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
        let plan = build("lake", PATH, &statuses, &keys, OnTableFailure::Fail, 10).unwrap();
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
        let err = build("lake", PATH, &statuses, &mysql_keys(), OnTableFailure::Fail, 10).unwrap_err();
        assert_eq!(err.name(), "ExportIncomplete");
        assert!(err.to_string().contains("shop.orders (FAILED)"), "{err}");
    }

    #[test]
    fn failed_tables_are_reported_when_skipping() {
        let statuses = [status("shop.orders", "FAILED"), status("shop.customers", "COMPLETE")];
        let plan = build("lake", PATH, &statuses, &mysql_keys(), OnTableFailure::Skip, 10).unwrap();
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
        let plan = build("lake", PATH, &statuses, &mysql_keys(), OnTableFailure::Fail, 10).unwrap();
        let item = &plan.batches[0].items[0];
        assert_eq!(item.data_objects, 0);
        assert_eq!(item.sample_key, None);
        assert_eq!(item.location, format!("s3://lake/{PATH}/shop/shop.empty_one/"));
    }

    #[test]
    fn batches_have_the_item_batcher_shape() {
        let statuses: Vec<TableStatus> = (0..25).map(|i| status(&format!("shop.t{i:02}"), "COMPLETE")).collect();
        let plan = build("lake", PATH, &statuses, &[], OnTableFailure::Fail, 10).unwrap();
        assert_eq!(
            plan.batches.iter().map(|b| b.items.len()).collect::<Vec<_>>(),
            [10, 10, 5]
        );
        let json = serde_json::to_value(&plan.batches).unwrap();
        assert!(json[0]["Items"].is_array());
        assert_eq!(json[2]["Items"][4]["source"], "shop.t24");
        let back: Vec<Batch> = serde_json::from_value(json).unwrap();
        assert_eq!(back, plan.batches);
        assert!(build("lake", PATH, &statuses, &[], OnTableFailure::Fail, 0).is_err());
    }

    #[test]
    fn names_that_would_collide_are_refused() {
        let statuses = [
            status("shop.Order-Items", "COMPLETE"),
            status("shop.order_items", "COMPLETE"),
        ];
        let err = build("lake", PATH, &statuses, &[], OnTableFailure::Fail, 10).unwrap_err();
        assert!(err.to_string().contains("shop_order_items"), "{err}");
    }

    #[test]
    fn tables_info_parse_errors_name_the_file() {
        let ok = br#"{"perTableStatus":[{"target":"shop.a","status":"COMPLETE","sizeGB":1.5,"TableStatistics":{}}]}"#;
        let parsed = parse_tables_info("k.json", ok).unwrap();
        assert_eq!(parsed[0].size_gb, Some(1.5));
        let err = parse_tables_info("exports/x/export_tables_info_x_from_1_to_2.json", b"not json").unwrap_err();
        assert!(
            err.to_string().contains("export_tables_info_x_from_1_to_2.json"),
            "{err}"
        );
    }
}
