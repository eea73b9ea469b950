//! A Parquet file with no rows that carries a table's columns. Athena does
//! not document whether UNLOAD writes any file for an empty result; when it
//! writes none, query-runner writes this one into the new version, so the
//! version is a table like any other (its footer gives the columns and
//! zero rows) and an empty source table, or a row filter that matches
//! nothing, publishes an empty table instead of failing every day.

use std::sync::Arc;

use parquet::basic::{DecimalType, IntType, LogicalType, Repetition, TimeUnit, TimestampType, Type as Physical};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

use super::schema::Column;
use crate::error::Error;

/// The file's bytes: the columns as [`super::schema`] reads them back.
pub fn write(table: &str, columns: &[Column]) -> Result<Vec<u8>, Error> {
    let fields = columns
        .iter()
        .map(|c| field(table, c).map(Arc::new))
        .collect::<Result<Vec<_>, Error>>()?;
    let schema = Type::group_type_builder("schema")
        .with_fields(fields)
        .build()
        .map_err(|e| failed(table, &e))?;
    let properties = Arc::new(WriterProperties::builder().set_created_by("snaplake".into()).build());
    let writer = SerializedFileWriter::new(Vec::new(), Arc::new(schema), properties).map_err(|e| failed(table, &e))?;
    writer.into_inner().map_err(|e| failed(table, &e))
}

fn failed(table: &str, e: &dyn std::fmt::Display) -> Error {
    Error::invalid_input(
        "columns",
        format!("an empty Parquet file for {table} cannot be written ({e}); report this as a bug"),
    )
}

/// One optional column of the Parquet type that reads back as its Glue type.
fn field(table: &str, column: &Column) -> Result<Type, Error> {
    let t = column.glue_type.trim().to_ascii_lowercase();
    let (physical, logical) = match t.as_str() {
        "string" => (Physical::BYTE_ARRAY, Some(LogicalType::String)),
        _ if t.starts_with("varchar(") || t.starts_with("char(") || t == "varchar" => {
            (Physical::BYTE_ARRAY, Some(LogicalType::String))
        }
        "binary" => (Physical::BYTE_ARRAY, None),
        "boolean" => (Physical::BOOLEAN, None),
        "tinyint" => (Physical::INT32, Some(integer(8))),
        "smallint" => (Physical::INT32, Some(integer(16))),
        "int" | "integer" => (Physical::INT32, None),
        "bigint" => (Physical::INT64, None),
        "float" => (Physical::FLOAT, None),
        "double" => (Physical::DOUBLE, None),
        "date" => (Physical::INT32, Some(LogicalType::Date)),
        "timestamp" => (
            Physical::INT64,
            Some(LogicalType::Timestamp(TimestampType {
                is_adjusted_to_u_t_c: false,
                unit: TimeUnit::MICROS,
            })),
        ),
        _ => return decimal(table, column, &t),
    };
    Type::primitive_type_builder(&column.name, physical)
        .with_repetition(Repetition::OPTIONAL)
        .with_logical_type(logical)
        .build()
        .map_err(|e| failed(table, &e))
}

fn integer(bit_width: i8) -> LogicalType {
    LogicalType::Integer(IntType {
        bit_width,
        is_signed: true,
    })
}

/// `decimal(p,s)`: INT32 up to 9 digits, INT64 up to 18, else 16 bytes.
fn decimal(table: &str, column: &Column, t: &str) -> Result<Type, Error> {
    let unsupported = || {
        Error::invalid_input(
            "columns",
            format!(
                "{table}.{} has type {:?}, which an empty version cannot carry; use the rule drop for it",
                column.name, column.glue_type
            ),
        )
    };
    let args = t
        .strip_prefix("decimal(")
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(unsupported)?;
    let (p, s) = args.split_once(',').ok_or_else(unsupported)?;
    let (precision, scale): (i32, i32) = (
        p.trim().parse().map_err(|_| unsupported())?,
        s.trim().parse().map_err(|_| unsupported())?,
    );
    if !(1..=38).contains(&precision) || !(0..=precision).contains(&scale) {
        return Err(unsupported());
    }
    let builder = match precision {
        1..=9 => Type::primitive_type_builder(&column.name, Physical::INT32),
        10..=18 => Type::primitive_type_builder(&column.name, Physical::INT64),
        _ => Type::primitive_type_builder(&column.name, Physical::FIXED_LEN_BYTE_ARRAY).with_length(16),
    };
    builder
        .with_repetition(Repetition::OPTIONAL)
        .with_logical_type(Some(LogicalType::Decimal(DecimalType { scale, precision })))
        .with_precision(precision)
        .with_scale(scale)
        .build()
        .map_err(|e| failed(table, &e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::schema::{TAIL_LEN, columns, footer_len, from_footer};

    fn read_back(bytes: &[u8]) -> (Vec<Column>, i64) {
        let end = bytes.len() - TAIL_LEN as usize;
        let len = footer_len("f", &bytes[end..]).unwrap() as usize;
        let schema = from_footer("f", &bytes[end - len..end]).unwrap();
        (schema.columns, schema.num_rows)
    }

    #[test]
    fn every_type_the_reader_gives_reads_back_the_same_with_no_rows() {
        let every = columns(&[
            ("id", "bigint"),
            ("n", "int"),
            ("small", "smallint"),
            ("tiny", "tinyint"),
            ("flag", "boolean"),
            ("f", "float"),
            ("d", "double"),
            ("price", "decimal(9,2)"),
            ("total", "decimal(18,4)"),
            ("big", "decimal(38,10)"),
            ("email", "string"),
            ("blob", "binary"),
            ("born", "date"),
            ("created_at", "timestamp"),
        ]);
        let bytes = write("shop_customers", &every).unwrap();
        assert_eq!(&bytes[..4], b"PAR1");
        assert_eq!(read_back(&bytes), (every, 0));
    }

    #[test]
    fn varchar_reads_back_as_string_and_a_nested_type_is_refused_naming_the_column() {
        let (read, _) = read_back(&write("t", &columns(&[("code", "varchar(3)")])).unwrap());
        assert_eq!(read, columns(&[("code", "string")]));
        let err = write("t", &columns(&[("tags", "array<string>")])).unwrap_err();
        assert!(
            err.to_string().contains("t.tags") && err.to_string().contains("drop"),
            "{err}"
        );
    }
}
