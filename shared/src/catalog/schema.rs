//! A table's columns from the footer of one of its Parquet files, in Glue /
//! Athena types. Only the footer is read (its length is in the file's last 8
//! bytes), never the data, so the cost does not grow with the file.

use parquet::basic::{ConvertedType, LogicalType, Type as Physical};
use parquet::file::metadata::ParquetMetaDataReader;
use parquet::schema::types::ColumnDescriptor;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Bytes at the end of every Parquet file: footer length (u32 LE) and `PAR1`.
pub const TAIL_LEN: u64 = 8;

/// How much of a file's end is read at first: footers are a few KiB (about
/// 100 bytes per column), so this holds almost all of them in one request.
pub const END_LEN: u64 = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// The Glue/Athena (Hive DDL) type: `bigint`, `decimal(12,2)`, `timestamp`, …
    #[serde(rename = "type")]
    pub glue_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSchema {
    pub columns: Vec<Column>,
    pub num_rows: i64,
}

/// Columns from (name, type) pairs: shorthand for tests.
#[cfg(test)]
pub fn columns(list: &[(&str, &str)]) -> Vec<Column> {
    list.iter()
        .map(|(n, t)| Column {
            name: n.to_string(),
            glue_type: t.to_string(),
        })
        .collect()
}

/// The footer's length from the file's last 8 bytes.
pub fn footer_len(object: &str, tail: &[u8]) -> Result<u64, Error> {
    let bad = |why: &str| Error::invalid_input(object, format!("is not a Parquet file: {why}"));
    let tail: &[u8; 8] = tail.try_into().map_err(|_| bad("shorter than 8 bytes"))?;
    match &tail[4..] {
        b"PAR1" => Ok(u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]))),
        b"PARE" => Err(bad(
            "its footer is encrypted (Parquet modular encryption), which snaplake cannot read",
        )),
        _ => Err(bad("it does not end with the PAR1 magic bytes")),
    }
}

/// Decodes the footer (the bytes before the last 8) into Glue columns.
pub fn from_footer(object: &str, footer: &[u8]) -> Result<FileSchema, Error> {
    let meta = ParquetMetaDataReader::decode_metadata(footer)
        .map_err(|e| Error::invalid_input(object, format!("has a Parquet footer that cannot be decoded: {e}")))?;
    let schema = meta.file_metadata().schema_descr();
    let mut columns = Vec::with_capacity(schema.num_columns());
    for column in schema.columns() {
        if column.path().parts().len() > 1 {
            return Err(not_understood(
                object,
                column,
                "nested columns (groups, lists, maps) are not supported",
            ));
        }
        let glue_type = glue_type(column).map_err(|why| not_understood(object, column, &why))?;
        columns.push(Column {
            name: column.name().to_string(),
            glue_type,
        });
    }
    Ok(FileSchema {
        columns,
        num_rows: meta.file_metadata().num_rows(),
    })
}

fn not_understood(object: &str, column: &ColumnDescriptor, why: &str) -> Error {
    Error::invalid_input(
        object,
        format!(
            "column `{}` has a Parquet type snaplake does not understand (physical {}, logical {:?}, converted {}): {why}",
            column.path(),
            column.physical_type(),
            column.logical_type_ref(),
            column.converted_type()
        ),
    )
}

/// The Glue/Athena type of one Parquet leaf column, covering every type RDS
/// exports: integers, decimals in any physical form, INT96 and INT64
/// timestamps, dates, strings and binary, booleans, floats and doubles.
pub fn glue_type(column: &ColumnDescriptor) -> Result<String, String> {
    let physical = column.physical_type();
    let decimal = |precision: i32, scale: i32| {
        if (1..=38).contains(&precision) && (0..=precision).contains(&scale) {
            Ok(format!("decimal({precision},{scale})"))
        } else {
            Err(format!(
                "decimal({precision},{scale}) is outside Athena's range (precision 1 to 38)"
            ))
        }
    };
    if let Some(logical) = column.logical_type_ref() {
        return match (logical, physical) {
            (LogicalType::String | LogicalType::Enum | LogicalType::Json, Physical::BYTE_ARRAY) => Ok("string".into()),
            (LogicalType::Uuid, Physical::FIXED_LEN_BYTE_ARRAY) => Ok("string".into()),
            (LogicalType::Decimal(d), _) => decimal(d.precision, d.scale),
            (LogicalType::Date, Physical::INT32) => Ok("date".into()),
            (LogicalType::Timestamp(_), Physical::INT64) => Ok("timestamp".into()),
            (LogicalType::Integer(i), Physical::INT32 | Physical::INT64) => Ok(match (i.bit_width, i.is_signed) {
                (8, true) => "tinyint",
                (16, true) | (8, false) => "smallint",
                (32, true) | (16, false) => "int",
                (64, true) | (32, false) => "bigint",
                (64, false) => "decimal(20,0)",
                (bits, _) => return Err(format!("{bits}-bit integers do not exist in Parquet")),
            }
            .into()),
            (LogicalType::Time(_), _) => Err("TIME has no Athena type; cast it to a string in the source".into()),
            (other, _) => Err(format!("logical type {other:?} on {physical} has no Athena mapping")),
        };
    }
    match (column.converted_type(), physical) {
        (ConvertedType::NONE, Physical::BOOLEAN) => Ok("boolean".into()),
        (ConvertedType::NONE, Physical::INT32) => Ok("int".into()),
        (ConvertedType::NONE, Physical::INT64) => Ok("bigint".into()),
        (ConvertedType::NONE, Physical::INT96) => Ok("timestamp".into()),
        (ConvertedType::NONE, Physical::FLOAT) => Ok("float".into()),
        (ConvertedType::NONE, Physical::DOUBLE) => Ok("double".into()),
        (ConvertedType::NONE, Physical::BYTE_ARRAY | Physical::FIXED_LEN_BYTE_ARRAY) => Ok("binary".into()),
        (ConvertedType::UTF8 | ConvertedType::ENUM | ConvertedType::JSON, Physical::BYTE_ARRAY) => Ok("string".into()),
        (ConvertedType::DECIMAL, _) => decimal(column.type_precision(), column.type_scale()),
        (ConvertedType::DATE, Physical::INT32) => Ok("date".into()),
        (ConvertedType::TIMESTAMP_MILLIS | ConvertedType::TIMESTAMP_MICROS, Physical::INT64) => Ok("timestamp".into()),
        (ConvertedType::INT_8, _) => Ok("tinyint".into()),
        (ConvertedType::INT_16 | ConvertedType::UINT_8, _) => Ok("smallint".into()),
        (ConvertedType::INT_32 | ConvertedType::UINT_16, _) => Ok("int".into()),
        (ConvertedType::INT_64 | ConvertedType::UINT_32, _) => Ok("bigint".into()),
        (ConvertedType::UINT_64, _) => Ok("decimal(20,0)".into()),
        (converted, _) => Err(format!(
            "converted type {converted} on {physical} has no Athena mapping"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::schema::parser::parse_message_type;
    use parquet::schema::types::SchemaDescriptor;
    use std::sync::Arc;

    fn types(message: &str) -> Vec<Result<String, String>> {
        let schema = SchemaDescriptor::new(Arc::new(parse_message_type(message).unwrap()));
        schema.columns().iter().map(|c| glue_type(c)).collect()
    }

    fn ok(message: &str) -> Vec<String> {
        types(message).into_iter().map(|t| t.unwrap()).collect()
    }

    /// One column of every Parquet type RDS exports.
    const EVERY_TYPE: &str = "message m {
        optional int64 id;
        optional int32 n;
        optional boolean flag;
        optional float f;
        optional double d;
        optional binary name (STRING);
        optional binary raw;
        optional int32 day (DATE);
        optional int64 at_us (TIMESTAMP(MICROS,false));
        optional int64 at_ms (TIMESTAMP(MILLIS,true));
        optional int96 legacy_at;
        optional int32 price32 (DECIMAL(9,2));
        optional int64 price64 (DECIMAL(18,4));
        optional fixed_len_byte_array(9) ubig (DECIMAL(20,0));
        optional binary wide (DECIMAL(38,10));
        optional int32 tiny (INTEGER(8,true));
        optional int32 small (INTEGER(16,true));
        optional int64 ubig2 (INTEGER(64,false));
        optional binary doc (JSON);
    }";

    #[test]
    fn every_type_rds_exports() {
        let got = ok(EVERY_TYPE);
        assert_eq!(
            got,
            [
                "bigint",
                "int",
                "boolean",
                "float",
                "double",
                "string",
                "binary",
                "date",
                "timestamp",
                "timestamp",
                "timestamp",
                "decimal(9,2)",
                "decimal(18,4)",
                "decimal(20,0)",
                "decimal(38,10)",
                "tinyint",
                "smallint",
                "decimal(20,0)",
                "string",
            ]
        );
    }

    #[test]
    fn every_type_rds_exports_has_an_athena_dml_name() {
        // Athena's DML is Trino: these Hive DDL names fail in a CAST.
        let hive_only = ["string", "float", "binary", "int"];
        let trino = [
            "varchar",
            "real",
            "varbinary",
            "integer",
            "tinyint",
            "smallint",
            "bigint",
            "boolean",
            "double",
            "date",
            "timestamp",
        ];
        for glue in ok(EVERY_TYPE) {
            let cast = crate::transform::trino_types::trino_type("c", &glue).unwrap();
            assert!(!hive_only.contains(&cast.as_str()), "{glue} -> {cast}");
            let base = cast.split('(').next().unwrap();
            assert!(
                trino.contains(&cast.as_str()) || (base == "decimal" && cast.ends_with(')')),
                "{glue} -> {cast} is not a Trino type name"
            );
        }
    }

    #[test]
    fn legacy_converted_types_without_logical_annotations() {
        let got = ok("message m {
            optional binary s (UTF8);
            optional int32 d (DATE);
            optional int64 t (TIMESTAMP_MILLIS);
            optional int32 x (INT_16);
            optional int32 u (UINT_32);
        }");
        assert_eq!(got, ["string", "date", "timestamp", "smallint", "bigint"]);
    }

    #[test]
    fn what_is_not_understood_says_why() {
        let got = types("message m { optional int64 t (TIME(MICROS,false)); }");
        assert!(got[0].as_ref().unwrap_err().contains("TIME"), "{got:?}");
    }

    #[test]
    fn footer_tail_checks_the_magic() {
        let mut tail = 1234u32.to_le_bytes().to_vec();
        tail.extend_from_slice(b"PAR1");
        assert_eq!(footer_len("k", &tail).unwrap(), 1234);
        tail[7] = b'X';
        assert!(
            footer_len("s3://b/k", &tail)
                .unwrap_err()
                .to_string()
                .contains("s3://b/k")
        );
        tail[4..].copy_from_slice(b"PARE");
        assert!(footer_len("k", &tail).unwrap_err().to_string().contains("encrypted"));
        assert!(footer_len("k", b"PAR1").is_err());
    }

    #[test]
    fn garbage_footer_is_an_error_naming_the_object() {
        let err = from_footer("s3://lake/x.parquet", b"definitely not thrift")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("s3://lake/x.parquet") && err.contains("cannot be decoded"),
            "{err}"
        );
    }
}
