//! Real Parquet files for tests and benchmarks.

use std::sync::Arc;

use parquet::basic::{Compression, Repetition, Type as Physical};
use parquet::data_type::Int64Type;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

/// `rows` rows of `columns` bigint columns (`c0`, `c1`, ...), uncompressed:
/// the row count sets the file's size, the column count its footer's.
pub fn parquet_file(rows: usize, columns: usize) -> Vec<u8> {
    let fields = (0..columns)
        .map(|i| {
            Arc::new(
                Type::primitive_type_builder(&format!("c{i}"), Physical::INT64)
                    .with_repetition(Repetition::REQUIRED)
                    .build()
                    .unwrap(),
            )
        })
        .collect();
    let schema = Type::group_type_builder("m").with_fields(fields).build().unwrap();
    let props = WriterProperties::builder()
        .set_compression(Compression::UNCOMPRESSED)
        .build();
    let mut out = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut out, Arc::new(schema), Arc::new(props)).unwrap();
    let mut group = writer.next_row_group().unwrap();
    let values: Vec<i64> = (0..rows as i64).collect();
    while let Some(mut column) = group.next_column().unwrap() {
        column.typed::<Int64Type>().write_batch(&values, None, None).unwrap();
        column.close().unwrap();
    }
    group.close().unwrap();
    writer.close().unwrap();
    out
}
