//! `make bench`: numbers, not a test. Runs against a local stand-in, so
//! wall times are dominated by the stand-in (Python) and are comparable only
//! within one run: the figures that matter are ratios and counts.
//!
//! - catalog swap throughput: N tables swapped as one batch (bounded
//!   concurrency) and one after another; wall time and AWS calls per table;
//! - schema inference I/O: bytes read from S3 to learn a table's columns,
//!   for a small and a large Parquet file.

use std::sync::Arc;
use std::time::Instant;

use parquet::basic::{Compression, Type as Physical};
use parquet::data_type::Int64Type;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;
use serde_json::{Value, json};
use snaplake::handlers::catalog_swap;
use snaplake_tests::StandIn;

const BUCKET: &str = "snaplake-bench";

/// A Parquet file of `rows` rows of one bigint column, uncompressed.
fn parquet(rows: usize) -> Vec<u8> {
    let column = Type::primitive_type_builder("id", Physical::INT64)
        .with_repetition(parquet::basic::Repetition::REQUIRED)
        .build()
        .unwrap();
    let schema = Type::group_type_builder("m")
        .with_fields(vec![Arc::new(column)])
        .build()
        .unwrap();
    let props = WriterProperties::builder()
        .set_compression(Compression::UNCOMPRESSED)
        .build();
    let mut out = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut out, Arc::new(schema), Arc::new(props)).unwrap();
    let mut group = writer.next_row_group().unwrap();
    let mut col = group.next_column().unwrap().unwrap();
    let values: Vec<i64> = (0..rows as i64).collect();
    col.typed::<Int64Type>().write_batch(&values, None, None).unwrap();
    col.close().unwrap();
    group.close().unwrap();
    writer.close().unwrap();
    out
}

async fn calls(env: &StandIn) -> (u64, Value) {
    let text = snaplake_tests::control(&env.endpoint, "GET", "/_snaplake/calls", "").unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    let total = value.as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    (total, value)
}

async fn swap_all(env: &StandIn, tables: usize, version: &str, concurrency: usize) -> (f64, f64, Value) {
    let ctx = env.context(BUCKET);
    let items: Vec<Value> = (0..tables)
        .map(|i| json!({"table": format!("t{i:04}"), "new_location": format!("s3://{BUCKET}/curated/t{i:04}/{version}/")}))
        .collect();
    snaplake_tests::control(&env.endpoint, "POST", "/_snaplake/calls/reset", "").unwrap();
    let started = Instant::now();
    let result = catalog_swap::handle(
        &ctx,
        json!({"action": "swap", "logical_time": "2026-11-20T19:00:00Z", "concurrency": concurrency, "Items": items}),
    )
    .await
    .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert!(result.failed.is_empty(), "{:?}", result.failed.first());
    let (total, by_operation) = calls(env).await;
    (seconds, total as f64 / tables as f64, by_operation)
}

#[tokio::main]
async fn main() {
    let env = StandIn::acquire().await;
    let ctx = env.context(BUCKET);
    ctx.clients.s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    let input = aws_sdk_glue::types::DatabaseInput::builder()
        .name(&ctx.config.curated_database)
        .build()
        .unwrap();
    ctx.clients
        .glue
        .create_database()
        .database_input(input)
        .send()
        .await
        .unwrap();

    println!("schema inference I/O (bytes read from S3 to learn a table's columns)");
    println!("  {:>12}  {:>12}  {:>10}", "file bytes", "bytes read", "GETs");
    for rows in [100usize, 2_000_000] {
        let body = parquet(rows);
        let key = format!("io/{rows}.parquet");
        ctx.clients
            .s3
            .put_object()
            .bucket(BUCKET)
            .key(&key)
            .body(body.clone().into())
            .send()
            .await
            .unwrap();
        snaplake_tests::control(&env.endpoint, "POST", "/_snaplake/calls/reset", "").unwrap();
        let (_, read) = catalog_swap::read_schema(&ctx, BUCKET, &key).await.unwrap();
        let (gets, _) = calls(&env).await;
        println!("  {:>12}  {:>12}  {:>10}", body.len(), read, gets);
    }

    println!("\ncatalog swap throughput (one batch at concurrency 16, and one table after another)");
    println!(
        "  {:>6}  {:>10}  {:>12}  {:>10}  {:>12}  {:>8}",
        "tables", "batch s", "calls/table", "serial s", "calls/table", "speedup"
    );
    let sample = parquet(100);
    let mut created = 0;
    for tables in [1usize, 10, 100, 500] {
        for i in created..tables {
            for version in ["v=1", "v=2"] {
                let key = format!("curated/t{i:04}/{version}/part-0.parquet");
                ctx.clients
                    .s3
                    .put_object()
                    .bucket(BUCKET)
                    .key(key)
                    .body(sample.clone().into())
                    .send()
                    .await
                    .unwrap();
            }
        }
        if created < tables {
            swap_all(&env, tables, "v=1", 16).await; // creates the new ones at v=1
            created = tables;
        }
        let (batch_s, batch_calls, by_op) = swap_all(&env, tables, "v=2", 16).await;
        let (serial_s, serial_calls, _) = swap_all(&env, tables, "v=1", 1).await;
        println!(
            "  {tables:>6}  {batch_s:>10.2}  {batch_calls:>12.1}  {serial_s:>10.2}  {serial_calls:>12.1}  {:>7.1}x",
            serial_s / batch_s
        );
        if tables == 500 {
            println!("  calls of the 500-table batch by operation: {by_op}");
        }
    }
}
