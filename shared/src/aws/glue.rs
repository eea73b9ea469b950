//! Glue: reading, creating and repointing tables, and their version history.

use std::collections::HashMap;

use aws_sdk_glue::Client;
use aws_sdk_glue::types::{Column as GlueColumn, SerDeInfo, StorageDescriptor, Table, TableInput};

use crate::catalog::parameters::is_iceberg;
use crate::catalog::schema::Column;
use crate::error::Error;

const PARQUET_INPUT: &str = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat";
const PARQUET_OUTPUT: &str = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat";
const PARQUET_SERDE: &str = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe";

/// What snaplake needs to know about a table as it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct TableState {
    pub location: Option<String>,
    pub version_id: Option<String>,
    pub columns: Vec<Column>,
    pub parameters: HashMap<String, String>,
}

impl TableState {
    fn from_table(table: &Table, version_id: Option<String>) -> Self {
        let sd = table.storage_descriptor();
        TableState {
            location: sd.and_then(|sd| sd.location()).map(str::to_string),
            version_id,
            columns: sd
                .map(|sd| {
                    sd.columns()
                        .iter()
                        .map(|c| Column {
                            name: c.name().to_string(),
                            glue_type: c.r#type().unwrap_or_default().to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            parameters: table.parameters().cloned().unwrap_or_default(),
        }
    }
}

/// The definition of a Parquet table snaplake writes.
#[derive(Debug, Clone)]
pub struct TableDef {
    pub database: String,
    pub name: String,
    pub location: String,
    pub columns: Vec<Column>,
    pub parameters: HashMap<String, String>,
    pub description: String,
}

impl TableDef {
    fn input(&self) -> Result<TableInput, Error> {
        let columns = self
            .columns
            .iter()
            .map(|c| GlueColumn::builder().name(&c.name).r#type(&c.glue_type).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::invalid_input("columns", e.to_string()))?;
        let mut parameters = self.parameters.clone();
        parameters.insert("EXTERNAL".into(), "TRUE".into());
        let storage = StorageDescriptor::builder()
            .location(&self.location)
            .set_columns(Some(columns));
        // An Iceberg table is read from its metadata (`table_type`,
        // `metadata_location`): Hive's formats and SerDe would only mislead.
        let storage = if is_iceberg(&parameters) {
            storage
        } else {
            parameters.insert("classification".into(), "parquet".into());
            storage
                .input_format(PARQUET_INPUT)
                .output_format(PARQUET_OUTPUT)
                .serde_info(
                    SerDeInfo::builder()
                        .serialization_library(PARQUET_SERDE)
                        .parameters("serialization.format", "1")
                        .build(),
                )
        };
        TableInput::builder()
            .name(&self.name)
            .description(&self.description)
            .table_type("EXTERNAL_TABLE")
            .set_parameters(Some(parameters))
            .storage_descriptor(storage.build())
            .build()
            .map_err(|e| Error::invalid_input("table", e.to_string()))
    }
}

fn resource(database: &str, name: &str) -> String {
    format!("table {database}.{name}")
}

pub async fn get_table(client: &Client, database: &str, name: &str) -> Result<Option<TableState>, Error> {
    match client.get_table().database_name(database).name(name).send().await {
        Ok(out) => Ok(out
            .table()
            .map(|t| TableState::from_table(t, t.version_id().map(str::to_string)))),
        Err(err) => {
            if err
                .as_service_error()
                .is_some_and(|e| e.is_entity_not_found_exception())
            {
                return Ok(None);
            }
            Err(Error::sdk("glue", "GetTable", &resource(database, name), &err))
        }
    }
}

pub async fn create_table(client: &Client, def: &TableDef) -> Result<(), Error> {
    client
        .create_table()
        .database_name(&def.database)
        .table_input(def.input()?)
        .send()
        .await
        .map_err(|e| {
            let err = Error::sdk("glue", "CreateTable", &resource(&def.database, &def.name), &e);
            if e.as_service_error().is_some_and(|e| e.is_entity_not_found_exception()) {
                err.with_fix(format!(
                    "create the Glue database {} (the Terraform module does)",
                    def.database
                ))
            } else {
                err
            }
        })?;
    Ok(())
}

/// Deletes a table; one that is already gone is not an error.
pub async fn delete_table(client: &Client, database: &str, name: &str) -> Result<(), Error> {
    match client.delete_table().database_name(database).name(name).send().await {
        Ok(_) => Ok(()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_entity_not_found_exception()) =>
        {
            Ok(())
        }
        Err(err) => Err(Error::sdk("glue", "DeleteTable", &resource(database, name), &err)),
    }
}

/// How an optimistic update went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Update {
    Done,
    /// Someone else updated the table since `version_id` was read.
    Conflict,
}

/// `UpdateTable` carrying the version read before: the update is refused if
/// the table changed since. Updating in place keeps Lake Formation grants.
pub async fn update_table(client: &Client, def: &TableDef, version_id: Option<&str>) -> Result<Update, Error> {
    let result = client
        .update_table()
        .database_name(&def.database)
        .table_input(def.input()?)
        .set_version_id(version_id.map(str::to_string))
        .send()
        .await;
    match result {
        Ok(_) => Ok(Update::Done),
        Err(err) => {
            if err
                .as_service_error()
                .is_some_and(|e| e.is_concurrent_modification_exception())
            {
                Ok(Update::Conflict)
            } else {
                Err(Error::sdk(
                    "glue",
                    "UpdateTable",
                    &resource(&def.database, &def.name),
                    &err,
                ))
            }
        }
    }
}

/// Posts one OpenLineage event to the Glue Data Catalog's lineage graph
/// (`PostLineageEvent`, which takes at most 300,000 bytes:
/// `lineage::MAX_EVENT_BYTES`).
///
/// aws-sdk-glue 1.184.0, the newest the crate registry has, does not have
/// the operation yet. So this sends it through another Glue operation of the
/// same JSON protocol (GetCatalogImportStatus, whose answer is as empty),
/// with its target and body replaced before signing: the SDK's credentials,
/// Region, endpoint, retries and SigV4 signing stay the client's. IAM
/// evaluates `glue:PostLineageEvent`, the target sent. Replace it with the
/// SDK's `post_lineage_event` once a release has it.
pub async fn post_lineage_event(client: &Client, event: &str) -> Result<(), Error> {
    let body = serde_json::json!({ "Event": event }).to_string();
    client
        .get_catalog_import_status()
        .customize()
        .mutate_request(move |request| {
            let headers = request.headers_mut();
            headers.insert("x-amz-target", "AWSGlue.PostLineageEvent");
            headers.insert("content-length", body.len().to_string());
            *request.body_mut() = aws_smithy_types::body::SdkBody::from(body.clone());
        })
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::sdk("glue", "PostLineageEvent", "the Data Catalog's lineage", &e))
}

/// The most tables GetTables returns a page (its `MaxResults` is 1 to 100).
pub const TABLES_PAGE: usize = 100;

/// The tables of a database with their state, by name, following `NextToken`.
pub async fn list_tables(client: &Client, database: &str) -> Result<Vec<(String, TableState)>, Error> {
    Ok(list_tables_within(client, database, usize::MAX)
        .await?
        .unwrap_or_default())
}

/// The tables of a database, or None when reading them all would take more
/// than `max_pages` GetTables pages (what was read is dropped).
pub async fn list_tables_within(
    client: &Client,
    database: &str,
    max_pages: usize,
) -> Result<Option<Vec<(String, TableState)>>, Error> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..max_pages {
        let page = client
            .get_tables()
            .database_name(database)
            .max_results(TABLES_PAGE as i32)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| {
                let fix = e
                    .as_service_error()
                    .is_some_and(|e| e.is_entity_not_found_exception())
                    .then_some("check SNAPLAKE_RAW_DATABASE / SNAPLAKE_CURATED_DATABASE and the region");
                let err = Error::sdk("glue", "GetTables", &format!("database {database}"), &e);
                match fix {
                    Some(fix) => err.with_fix(fix),
                    None => err,
                }
            })?;
        for table in page.table_list() {
            out.push((
                table.name().to_string(),
                TableState::from_table(table, table.version_id().map(str::to_string)),
            ));
        }
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => return Ok(Some(out)),
        }
    }
    Ok(None)
}

/// Every stored version of a table (newest first as Glue returns them),
/// following `NextToken`.
pub async fn table_versions(client: &Client, database: &str, name: &str) -> Result<Vec<TableState>, Error> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .get_table_versions()
            .database_name(database)
            .table_name(name)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| Error::sdk("glue", "GetTableVersions", &resource(database, name), &e))?;
        for version in page.table_versions() {
            if let Some(table) = version.table() {
                out.push(TableState::from_table(table, version.version_id().map(str::to_string)));
            }
        }
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => return Ok(out),
        }
    }
}

/// Deletes old table versions, 100 per call (Glue's limit).
pub async fn delete_table_versions(client: &Client, database: &str, name: &str, ids: &[i64]) -> Result<(), Error> {
    for chunk in ids.chunks(100) {
        let out = client
            .batch_delete_table_version()
            .database_name(database)
            .table_name(name)
            .set_version_ids(Some(chunk.iter().map(i64::to_string).collect()))
            .send()
            .await
            .map_err(|e| Error::sdk("glue", "BatchDeleteTableVersion", &resource(database, name), &e))?;
        if let Some(failed) = out.errors().first() {
            let detail = failed.error_detail();
            return Err(Error::Aws {
                service: "glue".into(),
                operation: "BatchDeleteTableVersion".into(),
                resource: format!(
                    "{} version {}",
                    resource(database, name),
                    failed.version_id().unwrap_or("?")
                ),
                code: detail.and_then(|d| d.error_code()).unwrap_or("Unknown").into(),
                message: detail.and_then(|d| d.error_message()).unwrap_or_default().into(),
                fix: None,
            });
        }
    }
    Ok(())
}
