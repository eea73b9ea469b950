//! What RDS writes about an export's tables: the `export_tables_info_*.json`
//! files, one entry per table (or database) with its status, size and the
//! columns' type mappings (`schemaMetadata`), read by the export poller to
//! build the table plan (`plan.rs`).

use serde::Deserialize;

use crate::catalog::schema::Column;
use crate::error::Error;

/// One entry of `export_tables_info_*.json`'s `perTableStatus`: a table
/// (`db.table`, `db.schema.table`), or a database (`db`, with a warning).
#[derive(Debug, Clone, Deserialize)]
pub struct TableStatus {
    pub target: String,
    /// Missing in some entries: the table is then taken as exported.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(rename = "sizeGB", default)]
    pub size_gb: Option<f64>,
    #[serde(rename = "warningMessage", default)]
    pub warning: Option<String>,
    #[serde(rename = "schemaMetadata", default)]
    pub schema: Option<SchemaMetadata>,
}

impl TableStatus {
    pub fn completed(&self) -> bool {
        self.status
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case("COMPLETE"))
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SchemaMetadata {
    #[serde(rename = "originalTypeMappings", default)]
    pub columns: Vec<TypeMapping>,
}

/// A column as the source database knows it. RDS writes the integer fields
/// as numbers or as strings.
#[derive(Debug, Clone, Deserialize)]
pub struct TypeMapping {
    #[serde(rename = "columnName")]
    pub name: String,
    #[serde(rename = "originalType", default)]
    pub original_type: String,
    #[serde(rename = "expectedExportedType", default)]
    pub exported_type: String,
    #[serde(rename = "originalNumPrecision", default)]
    pub precision: Option<LenientInt>,
    #[serde(rename = "originalNumScale", default)]
    pub scale: Option<LenientInt>,
}

/// An integer RDS wrote as `12` or as `"12"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "serde_json::Value")]
pub struct LenientInt(pub i64);

impl TryFrom<serde_json::Value> for LenientInt {
    type Error = String;
    fn try_from(v: serde_json::Value) -> Result<Self, String> {
        match &v {
            serde_json::Value::Number(n) => n.as_i64().map(LenientInt),
            serde_json::Value::String(s) => s.trim().parse().ok().map(LenientInt),
            _ => None,
        }
        .ok_or_else(|| format!("expected an integer, found {v}"))
    }
}

impl TypeMapping {
    /// The Glue (Hive DDL) type of the column as RDS exports it.
    pub fn glue_type(&self) -> String {
        let original = self.original_type.to_ascii_lowercase();
        let number = |v: Option<LenientInt>| v.map(|LenientInt(n)| n).unwrap_or(0);
        match original.split('(').next().unwrap_or_default().trim() {
            "date" => return "date".into(),
            "datetime" | "timestamp" | "timestamp without time zone" | "timestamp with time zone" => {
                return "timestamp".into();
            }
            "decimal" | "numeric" if (1..=38).contains(&number(self.precision)) => {
                return format!(
                    "decimal({},{})",
                    number(self.precision),
                    number(self.scale).clamp(0, 38)
                );
            }
            _ => {}
        }
        match self.exported_type.to_ascii_lowercase().as_str() {
            "int32" => "int",
            "int64" => "bigint",
            "int96" => "timestamp",
            "float" => "float",
            "double" => "double",
            "boolean" => "boolean",
            t if t.starts_with("binary") && !t.contains("utf8") => "binary",
            _ => "string",
        }
        .into()
    }
}

/// A table's columns from `schemaMetadata`, for a table without a data file
/// whose footer would give them.
pub fn metadata_columns(status: &TableStatus) -> Vec<Column> {
    status
        .schema
        .iter()
        .flat_map(|s| &s.columns)
        .map(|c| Column {
            name: c.name.clone(),
            glue_type: c.glue_type(),
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

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
