//! A curated table committed as Iceberg (`catalog::ops::iceberg_commit`),
//! one snapshot a day, read by readers nobody on the team wrote: the
//! stand-in's Athena (pyiceberg resolves the snapshot, DuckDB scans its
//! files) and pyiceberg's own Glue catalog (`local/iceberg_check.py`). The
//! data files are Parquet without field ids, as Athena's UNLOAD writes them.

use std::process::Command;

use serde_json::{Value, json};
use snaplake::aws::glue;
use snaplake::aws::glue::Update;
use snaplake::catalog::iceberg::DataFile;
use snaplake::catalog::ops::iceberg_commit::{self, Committed, Publish};
use snaplake::catalog::parameters::{METADATA_LOCATION, PREVIOUS_METADATA_LOCATION, TABLE_TYPE};
use snaplake::catalog::schema::Column;
use snaplake::env::Env;
use snaplake_tests::{Deployment, StandIn, parquet_file, repo_root, resources};

const BUCKET: &str = "snaplake-iceberg";
const TABLE: &str = "shop_customers";

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

/// Publishes a version as the swap does: the table read, one attempt,
/// read again on a conflict.
async fn commit(env: &Env, run: &str, columns: &[Column], files: &[DataFile]) -> Result<Committed, snaplake::Error> {
    let folder = files[0].uri.rsplit_once('/').unwrap().0;
    let def = glue::TableDef {
        database: env.config.curated_database.clone(),
        name: TABLE.into(),
        location: format!("{folder}/"),
        columns: columns.to_vec(),
        parameters: [("snaplake.logical_day".to_string(), run.to_string())].into(),
        description: "Curated shop.customers (masked; managed by snaplake)".into(),
    };
    let publish = Publish { def: &def, files, run };
    for _ in 0..2 {
        let table = glue::get_table(&env.clients.glue, &def.database, TABLE).await?;
        let (update, committed) = iceberg_commit::publish(env, table.as_ref(), &publish).await?;
        if update == Update::Done {
            return Ok(committed);
        }
    }
    panic!("{TABLE} changed twice while publishing");
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
    let first = commit(&env, "2026-11-20", &columns(2), &files).await.unwrap();
    assert!(first.changed);
    // Day 2 adds a column and writes two files, as UNLOAD may.
    let files = version(&env, "v2", 2, 2, 3).await;
    let second = commit(&env, "2026-11-21", &columns(3), &files).await.unwrap();
    assert!(second.changed);
    let again = commit(&env, "2026-11-21", &columns(3), &files).await.unwrap();
    assert_eq!(
        (again.changed, &again.metadata_location),
        (false, &second.metadata_location),
        "a retry changes nothing"
    );
    // Every metadata file was written tagged audited (analysts read only those).
    let listed = env
        .clients
        .s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix(format!("curated/{TABLE}/metadata/"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.contents().len(), 6, "two commits of 3 files each");
    for object in listed.contents() {
        let tags = env
            .clients
            .s3
            .get_object_tagging()
            .bucket(BUCKET)
            .key(object.key().unwrap())
            .send()
            .await
            .unwrap();
        let tags: Vec<_> = tags.tag_set().iter().map(|t| (t.key(), t.value())).collect();
        assert_eq!(tags, [("snaplake-audit", "passed")], "{:?}", object.key());
    }

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
    let first = commit(&env, "2026-11-20", &columns(2), &files).await.unwrap();
    // Glue refuses the first UpdateTable as it refuses one whose VersionId
    // is stale: the commit reads the table again and commits once more.
    standin.control(
        "/_snaplake/glue/faults",
        json!({"database": database, "table": TABLE, "operations": ["UpdateTable"],
               "code": "ConcurrentModificationException", "fail": "the table changed", "times": 1}),
    );
    let files = version(&env, "v2", 1, 5, 2).await;
    let second = commit(&env, "2026-11-21", &columns(2), &files).await.unwrap();
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
    let err = commit(&env, "2026-11-21", &columns(2), &files)
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
    let first = commit(&env, "2026-11-20", &columns(2), &files).await.unwrap();
    // Day 2's policy drops c1.
    let files = version(&env, "v2", 1, 3, 1).await;
    commit(&env, "2026-11-21", &columns(1), &files).await.unwrap();
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

/// `snaplake gc --keep 2` on an Iceberg table whose commits keep 4 snapshots
/// (`keep_versions`, the default): the folders those snapshots read stay, so
/// time travel to the first day still reads its rows, not a missing file.
#[tokio::test]
async fn gc_with_a_lower_keep_leaves_the_files_of_kept_snapshots() {
    let standin = StandIn::acquire().await;
    let env = resources(&standin, BUCKET).await;
    assert_eq!(env.config.keep_versions, 4);
    let files = version(&env, "v1", 1, 3, 2).await;
    let first = commit(&env, "2026-11-20", &columns(2), &files).await.unwrap();
    for (day, folder) in [("2026-11-21", "v2"), ("2026-11-22", "v3")] {
        let files = version(&env, folder, 1, 5, 2).await;
        commit(&env, day, &columns(2), &files).await.unwrap();
    }
    let event = json!({"action": "gc", "keep": 2, "Items": [{"table": TABLE}]});
    let answer = serde_json::to_value(snaplake::handlers::catalog_swap::handle(&env, event).await.unwrap()).unwrap();
    let collected = &answer["succeeded"][0];
    assert_eq!(collected["deleted"], json!([]), "{answer}");
    let v1 = json!(format!("s3://{BUCKET}/curated/{TABLE}/v1/"));
    assert!(collected["kept"].as_array().unwrap().contains(&v1), "{answer}");
    let name = format!("\"{}\".\"{TABLE}\"", env.config.curated_database);
    let sql = format!("SELECT count(*) FROM {name} FOR VERSION AS OF {}", first.snapshot_id);
    let (_, rows) = query(&env, &sql).await.unwrap();
    assert_eq!(rows, [["3"]]);
}

/// Runs the deployed pipeline for the day of `logical_time`; its status and detail.
async fn run_day(d: &Deployment, name: &str, logical_time: &str) -> (String, Value) {
    let mut input = d.run_input.clone();
    input["logical_time"] = json!(logical_time);
    snaplake_tests::run_execution(
        &d.standin,
        &d.machine,
        name,
        &input,
        std::time::Duration::from_secs(240),
    )
    .await
}

/// A deployment publishing Iceberg tables whose day one (2026-11-20) is
/// published, with the sample cluster's snapshot of day two ready.
async fn iceberg_day_one(bucket: &str) -> Deployment {
    let d = snaplake_tests::deploy_iceberg("snaplake-ice", bucket).await;
    let (status, detail) = run_day(&d, "day-one", "2026-11-20T19:00:00Z").await;
    assert_eq!(status, "SUCCEEDED", "{detail:#}");
    d.standin.control(
        "/_snaplake/snapshots",
        json!({"cluster": "shop-prod", "snapshot_id": "rds:shop-prod-2026-11-22-03-00", "create_time": "2026-11-21T18:00:00Z"}),
    );
    d
}

/// A table the masking policy publishes as Iceberg (`table_format` in its
/// entry) while the deployment publishes Hive tables: that table alone is
/// an Iceberg table, and the module's grant follows the policy (the harness
/// mirrors it, so without the grant the stand-in refuses the metadata).
#[tokio::test]
async fn a_table_the_policy_publishes_as_iceberg_is_one_beside_hive_tables() {
    let mut policy: Value = serde_json::from_slice(include_bytes!("../../events/masking-policy.json")).unwrap();
    policy["tables"]["shop.customers"]["table_format"] = json!("iceberg");
    let policy = serde_json::to_vec(&policy).unwrap();
    let d = snaplake_tests::deploy_with_policy("snaplake-mixed", "snaplake-mixed-lake", &policy).await;
    let (status, detail) = run_day(&d, "day-one", "2026-11-20T19:00:00Z").await;
    assert_eq!(status, "SUCCEEDED", "{detail:#}");
    let database = "snaplake_curated";
    let tables = d
        .standin
        .clients
        .glue
        .get_tables()
        .database_name(database)
        .send()
        .await
        .unwrap();
    let formats: std::collections::BTreeMap<&str, Option<&str>> = tables
        .table_list()
        .iter()
        .map(|t| {
            let format = t.parameters().and_then(|p| p.get(TABLE_TYPE)).map(String::as_str);
            (t.name(), format)
        })
        .collect();
    assert_eq!(
        formats,
        [
            ("shop_articles", None),
            ("shop_customers", Some("ICEBERG")),
            ("shop_orders", None)
        ]
        .into()
    );
    let read = pyiceberg(&d.standin, database);
    assert_eq!(read["snapshots"].as_array().unwrap().len(), 1, "{read}");
}

/// The whole pipeline with `table_format = "iceberg"`: each day is one
/// snapshot of the same table, the day before stays readable by time
/// travel, and a rollback commits a snapshot of the day before.
#[tokio::test]
async fn the_pipeline_publishes_each_day_as_one_snapshot_and_rollback_commits_the_day_before() {
    let d = iceberg_day_one("snaplake-ice-pipeline").await;
    let database = "snaplake_curated";
    let (status, detail) = run_day(&d, "day-two", "2026-11-21T19:00:00Z").await;
    assert_eq!(status, "SUCCEEDED", "{detail:#}");

    let glue_client = &d.standin.clients.glue;
    let table = glue::get_table(glue_client, database, TABLE).await.unwrap().unwrap();
    assert_eq!(table.parameters[TABLE_TYPE], "ICEBERG");
    assert!(
        table.location.as_deref().unwrap().ends_with("/v=20261121T190000Z/"),
        "{table:?}"
    );
    let read = pyiceberg(&d.standin, database);
    let snapshots = read["snapshots"].as_array().unwrap();
    assert_eq!(snapshots.len(), 2, "{read}");
    assert_eq!(read["current"], snapshots[1]["id"]);
    let columns = snapshots[1]["columns"].as_array().unwrap();
    assert!(
        columns.contains(&json!("email")) && !columns.contains(&json!("full_name")),
        "{columns:?}"
    );
    let rows = table.parameters["snaplake.rows"].clone();
    assert_eq!(snapshots[1]["rows"].as_array().unwrap().len().to_string(), rows);

    // Analysts: today's table, and yesterday's by time travel.
    let athena = &d.standin.clients.athena;
    let name = format!("\"{database}\".\"{TABLE}\"");
    let today = snaplake_tests::analyst_query(athena, "snaplake", &format!("SELECT count(*) FROM {name}")).await;
    assert_eq!(today.unwrap().rows[0][0].as_deref(), Some(rows.as_str()));
    let first = snapshots[0]["id"].as_i64().unwrap();
    let sql = format!("SELECT count(*) FROM {name} FOR VERSION AS OF {first}");
    let yesterday = snaplake_tests::analyst_query(athena, "snaplake", &sql).await.unwrap();
    assert_eq!(
        yesterday.rows[0][0].as_deref(),
        Some(snapshots[0]["rows"].as_array().unwrap().len().to_string().as_str())
    );

    // snaplake rollback: a new snapshot of the day before.
    let (error, answer) = d
        .invoke(
            "catalog-swap",
            &json!({"action": "rollback", "Items": [{"table": TABLE}]}).to_string(),
        )
        .await;
    assert_eq!(error, None, "{answer:#}");
    let back = pyiceberg(&d.standin, database);
    let snapshots = back["snapshots"].as_array().unwrap();
    assert_eq!(snapshots.len(), 3, "{back}");
    assert_eq!(back["current"], snapshots[2]["id"]);
    assert_eq!(
        snapshots[2]["rows"], snapshots[0]["rows"],
        "the day before is current again"
    );
    let table = glue::get_table(glue_client, database, TABLE).await.unwrap().unwrap();
    assert!(
        table.location.as_deref().unwrap().ends_with("/v=20261120T190000Z/"),
        "{table:?}"
    );
}

#[tokio::test]
async fn an_iceberg_table_is_not_repointed_as_a_hive_table_and_nothing_changes() {
    let standin = StandIn::acquire().await;
    let env = resources(&standin, BUCKET).await;
    let database = env.config.curated_database.clone();
    let files = version(&env, "v=20261120T190000Z", 1, 3, 2).await;
    let first = commit(&env, "2026-11-20", &columns(2), &files).await.unwrap();
    version(&env, "v=20261121T190000Z", 1, 3, 2).await;
    // The deployment's table_format is hive (the default).
    let input = json!({
        "action": "swap", "logical_time": "2026-11-21T19:00:00Z",
        "Items": [{"table": TABLE, "new_location": format!("s3://{BUCKET}/curated/{TABLE}/v=20261121T190000Z/"),
                   "source": "shop.customers"}]
    });
    // Refused, as the item's error or the batch's.
    let text = match snaplake::handlers::catalog_swap::handle(&env, input).await {
        Ok(answer) => serde_json::to_string(&answer).unwrap(),
        Err(err) => err.to_string(),
    };
    assert!(
        text.contains("is an Iceberg table") && text.contains("table_format"),
        "{text}"
    );
    let table = glue::get_table(&env.clients.glue, &database, TABLE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        table.parameters[METADATA_LOCATION], first.metadata_location,
        "nothing changed"
    );
    assert_eq!(table.parameters[TABLE_TYPE], "ICEBERG");
}

/// Two runs of one day at once with `table_format = "iceberg"`, and a
/// reader polling throughout: it never sees an empty or partial table, and
/// the day is one snapshot.
#[tokio::test]
async fn two_runs_of_one_day_at_once_commit_one_snapshot_and_readers_never_see_an_empty_table() {
    let d = iceberg_day_one("snaplake-ice-twice").await;
    let database = "snaplake_curated";
    let rows = glue::get_table(&d.standin.clients.glue, database, TABLE)
        .await
        .unwrap()
        .unwrap()
        .parameters["snaplake.rows"]
        .clone();
    let done = std::sync::atomic::AtomicBool::new(false);
    let sql = format!("SELECT count(*) FROM \"{database}\".\"{TABLE}\"");
    let reader = async {
        let mut counts = Vec::new();
        while !done.load(std::sync::atomic::Ordering::Relaxed) {
            let out = snaplake_tests::analyst_query(&d.standin.clients.athena, "snaplake", &sql).await;
            let count = out.unwrap_or_else(|e| panic!("a reader's query failed: {e}")).rows[0][0].clone();
            counts.push(count.unwrap_or_default());
        }
        counts
    };
    let runs = async {
        let both = tokio::join!(
            run_day(&d, "day-two-scheduled", "2026-11-21T19:00:00Z"),
            run_day(&d, "day-two-by-hand", "2026-11-21T19:00:00Z")
        );
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        both
    };
    let (((status_a, a), (status_b, b)), counts) = tokio::join!(runs, reader);
    assert_eq!(
        (status_a.as_str(), status_b.as_str()),
        ("SUCCEEDED", "SUCCEEDED"),
        "{a:#}\n{b:#}"
    );
    let today = glue::get_table(&d.standin.clients.glue, database, TABLE)
        .await
        .unwrap()
        .unwrap()
        .parameters["snaplake.rows"]
        .clone();
    assert!(!counts.is_empty());
    for count in &counts {
        assert!(
            count == &rows || count == &today,
            "a reader saw {count} rows, neither day one's {rows} nor day two's {today}"
        );
    }
    let read = pyiceberg(&d.standin, database);
    assert_eq!(
        read["snapshots"].as_array().unwrap().len(),
        2,
        "day two is one snapshot: {read}"
    );
}
