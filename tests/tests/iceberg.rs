//! A curated table committed as Iceberg (`catalog::ops::iceberg_commit`),
//! one snapshot a day, read by readers nobody on the team wrote: the
//! stand-in's Athena (pyiceberg resolves the snapshot, DuckDB scans its
//! files) and pyiceberg's own Glue catalog (`local/iceberg_check.py`). The
//! data files are Parquet without field ids, as Athena's UNLOAD writes them.

use std::process::Command;

use serde_json::{Value, json};
use snaplake::aws::glue;
use snaplake::catalog::iceberg::DataFile;
use snaplake::catalog::location::S3Prefix;
use snaplake::catalog::ops::iceberg_commit::{self, Committed, Day};
use snaplake::catalog::parameters::{METADATA_LOCATION, PREVIOUS_METADATA_LOCATION, TABLE_TYPE};
use snaplake::catalog::schema::Column;
use snaplake::env::Env;
use snaplake_tests::{StandIn, parquet_file, repo_root, resources};

const BUCKET: &str = "snaplake-iceberg";
const TABLE: &str = "shop_customers";
const DAY_1: i64 = 1_795_000_000_000;
const DAY_2: i64 = DAY_1 + 86_400_000;

fn columns(n: usize) -> Vec<Column> {
    (0..n)
        .map(|i| Column {
            name: format!("c{i}"),
            glue_type: "bigint".into(),
        })
        .collect()
}

/// A version of the table as UNLOAD leaves it: `files` Parquet files of
/// `rows` rows of `n` bigint columns (no field ids) under `version`.
async fn version(env: &Env, version: &str, files: usize, rows: usize, n: usize) -> Vec<DataFile> {
    let mut out = Vec::new();
    for i in 0..files {
        let body = parquet_file(rows, n);
        let key = format!("curated/{TABLE}/{version}/q_{i:05}.snappy.parquet");
        let size = body.len() as u64;
        env.clients
            .s3
            .put_object()
            .bucket(BUCKET)
            .key(&key)
            .body(body.into())
            .send()
            .await
            .unwrap();
        out.push(DataFile {
            uri: format!("s3://{BUCKET}/{key}"),
            size,
            rows: rows as u64,
        });
    }
    out
}

async fn commit(
    env: &Env,
    run: &str,
    columns: &[Column],
    files: &[DataFile],
    now: i64,
) -> Result<Committed, snaplake::Error> {
    let location = S3Prefix::new(BUCKET, &format!("curated/{TABLE}"));
    let day = Day {
        table: TABLE,
        location: &location,
        columns,
        files,
        run,
        keep: 3,
        parameters: [("snaplake.logical_day".to_string(), run.to_string())].into(),
        description: "Curated shop.customers (masked; managed by snaplake)".into(),
    };
    iceberg_commit::commit(env, &day, now).await
}

/// Runs a query in the stand-in's Athena; its header and rows (NULL as
/// ""), or its failure reason.
async fn query(env: &Env, sql: &str) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let out = snaplake_tests::analyst_query(&env.clients.athena, &env.config.athena_workgroup, sql).await?;
    let rows = out
        .rows
        .into_iter()
        .map(|r| r.into_iter().map(Option::unwrap_or_default).collect());
    Ok((out.header, rows.collect()))
}

fn pyiceberg(standin: &StandIn, database: &str) -> Value {
    let root = repo_root();
    let out = Command::new(snaplake_tests::python())
        .arg(root.join("local/iceberg_check.py"))
        .args([&standin.endpoint, database, TABLE])
        .envs(standin.aws_env())
        .output()
        .expect("running local/iceberg_check.py (make deps installs .venv)");
    assert!(
        out.status.success(),
        "pyiceberg could not read the table: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn each_day_is_one_snapshot_of_the_same_table_read_by_athena_and_pyiceberg() {
    let standin = StandIn::acquire().await;
    let env = resources(&standin, BUCKET).await;
    let database = env.config.curated_database.clone();

    let files = version(&env, "v1", 1, 3, 2).await;
    let first = commit(&env, "2026-11-20", &columns(2), &files, DAY_1).await.unwrap();
    assert!(first.changed);
    // Day 2 adds a column and writes two files, as UNLOAD may.
    let files = version(&env, "v2", 2, 2, 3).await;
    let second = commit(&env, "2026-11-21", &columns(3), &files, DAY_2).await.unwrap();
    assert!(second.changed);
    let again = commit(&env, "2026-11-21", &columns(3), &files, DAY_2 + 5_000)
        .await
        .unwrap();
    assert_eq!(
        (again.changed, &again.metadata_location),
        (false, &second.metadata_location),
        "a retry changes nothing"
    );

    let table = glue::get_table(&env.clients.glue, &database, TABLE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(table.parameters[TABLE_TYPE], "ICEBERG");
    assert_eq!(table.parameters[METADATA_LOCATION], second.metadata_location);
    assert_eq!(table.parameters[PREVIOUS_METADATA_LOCATION], first.metadata_location);
    assert_eq!(table.parameters["snaplake.logical_day"], "2026-11-21");

    // Athena: today's snapshot, and yesterday's by time travel with its schema.
    let name = format!("\"{database}\".\"{TABLE}\"");
    let (_, today) = query(&env, &format!("SELECT count(*), count(c2), sum(c1) FROM {name}"))
        .await
        .unwrap();
    assert_eq!(today, [["4", "4", "2"]]);
    let yesterday = format!("{name} FOR VERSION AS OF {}", first.snapshot_id);
    let (header, rows) = query(&env, &format!("SELECT * FROM {yesterday}")).await.unwrap();
    assert_eq!(header, ["c0", "c1"]);
    assert_eq!(rows.len(), 3);

    // pyiceberg, through its own Glue catalog.
    let read = pyiceberg(&standin, &database);
    assert_eq!(read["current"], json!(second.snapshot_id));
    let snapshots = read["snapshots"].as_array().unwrap();
    assert_eq!(snapshots.len(), 2, "{read}");
    assert_eq!(snapshots[0]["id"], json!(first.snapshot_id));
    assert_eq!(snapshots[0]["rows"], json!([[0, 0], [1, 1], [2, 2]]));
    assert_eq!(snapshots[1]["parent"], json!(first.snapshot_id));
    assert_eq!(snapshots[1]["operation"], "overwrite");
    assert_eq!(snapshots[1]["columns"], json!(["c0", "c1", "c2"]));
    assert_eq!(
        snapshots[1]["rows"],
        json!([[0, 0, 0], [0, 0, 0], [1, 1, 1], [1, 1, 1]])
    );
}

#[tokio::test]
async fn a_concurrent_commit_is_refused_by_glue_and_the_day_is_rebuilt_on_it() {
    let standin = StandIn::acquire().await;
    let env = resources(&standin, BUCKET).await;
    let database = env.config.curated_database.clone();
    let files = version(&env, "v1", 1, 3, 2).await;
    let first = commit(&env, "2026-11-20", &columns(2), &files, DAY_1).await.unwrap();
    // Glue refuses the first UpdateTable as it refuses one whose VersionId
    // is stale: the commit reads the table again and commits once more.
    standin.control(
        "/_snaplake/glue/faults",
        json!({"database": database, "table": TABLE, "operations": ["UpdateTable"],
               "code": "ConcurrentModificationException", "fail": "the table changed", "times": 1}),
    );
    let files = version(&env, "v2", 1, 5, 2).await;
    let second = commit(&env, "2026-11-21", &columns(2), &files, DAY_2).await.unwrap();
    assert!(second.changed);
    let read = pyiceberg(&standin, &database);
    assert_eq!(read["current"], json!(second.snapshot_id));
    assert_eq!(read["snapshots"][1]["parent"], json!(first.snapshot_id));
    assert_eq!(read["snapshots"][1]["rows"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn a_hive_table_is_not_converted_and_nothing_is_written() {
    let standin = StandIn::acquire().await;
    let env = resources(&standin, BUCKET).await;
    let database = env.config.curated_database.clone();
    let files = version(&env, "v1", 1, 3, 2).await;
    let hive = glue::TableDef {
        database: database.clone(),
        name: TABLE.into(),
        location: format!("s3://{BUCKET}/curated/{TABLE}/v1/"),
        columns: columns(2),
        parameters: Default::default(),
        description: String::new(),
    };
    glue::create_table(&env.clients.glue, &hive).await.unwrap();
    let err = commit(&env, "2026-11-21", &columns(2), &files, DAY_2)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("{database}.{TABLE}")) && err.contains("is a Hive table"),
        "{err}"
    );
    assert!(err.contains("table_format \"hive\""), "the error names the fix: {err}");
    let metadata = snaplake_tests::keys(&env.clients.s3, BUCKET, &format!("curated/{TABLE}/metadata/")).await;
    assert!(metadata.is_empty(), "nothing is written: {metadata:?}");
}

#[tokio::test]
async fn a_dropped_column_stays_readable_by_time_travel_to_the_days_that_had_it() {
    let standin = StandIn::acquire().await;
    let env = resources(&standin, BUCKET).await;
    let database = env.config.curated_database.clone();
    let files = version(&env, "v1", 1, 3, 2).await;
    let first = commit(&env, "2026-11-20", &columns(2), &files, DAY_1).await.unwrap();
    // Day 2's policy drops c1.
    let files = version(&env, "v2", 1, 3, 1).await;
    commit(&env, "2026-11-21", &columns(1), &files, DAY_2).await.unwrap();
    let name = format!("\"{database}\".\"{TABLE}\"");
    let (header, _) = query(&env, &format!("SELECT * FROM {name}")).await.unwrap();
    assert_eq!(header, ["c0"]);
    let sql = format!("SELECT sum(c1) FROM {name} FOR VERSION AS OF {}", first.snapshot_id);
    let (_, rows) = query(&env, &sql).await.unwrap();
    assert_eq!(
        rows,
        [["3"]],
        "day 1's c1 is read through the name mapping, not as NULL"
    );
    let read = pyiceberg(&standin, &database);
    assert_eq!(read["snapshots"][0]["rows"], json!([[0, 0], [1, 1], [2, 2]]));
}
