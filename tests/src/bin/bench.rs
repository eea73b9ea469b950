//! `make bench`: numbers, not a test. Runs against a local stand-in, so
//! wall times are dominated by the stand-in (Python) and are comparable only
//! within one run: the figures that matter are ratios and counts.
//!
//! - cold start and peak RSS per function: the release binaries and a Python
//!   boto3 handler for the same first call (local/bench/coldstart.py);
//! - package size per function: the zips `cargo lambda build` wrote;
//! - schema inference I/O: bytes read from S3 to learn a table's columns,
//!   for a small and a large Parquet file;
//! - catalog swap throughput: N tables swapped by the release catalog-swap
//!   binary (behind the stand-in's Lambda Runtime API, local/bench/invoke.py)
//!   as one batch (bounded concurrency) and one after another, and by a
//!   sequential Python boto3 blue/green script (local/bench/bluegreen.py);
//!   the same batch committed as Iceberg snapshots (`table_format =
//!   "iceberg"`); wall time and AWS calls per table;
//! - cost of a run: state transitions and Lambda invocations of the real
//!   state machine for 1, 10, 100 and 2,000 tables, from the execution
//!   history, with the limits a run comes near (the largest state payload,
//!   what a Map gathers, the longest history of any execution, each
//!   function's longest invocation and peak memory) and the run's own cost
//!   figure (its manifest's, `snaplake::cost`) beside what the stand-in
//!   counted and measured, then in dollars at 10,
//!   1,000 and 10,000 tables beside a Glue crawler-and-job design's floor
//!   (`snaplake_tests::cost`).
//!
//! `make bench` builds what it measures first; run alone, a section whose
//! build is missing says so and is skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use snaplake::contract::masking_policy::TableFormat;
use snaplake::env::Env;
use snaplake::handlers::catalog_swap;
use snaplake_tests::{
    FUNCTIONS, StandIn, cost, deploy_with_policy, execution_events, functions_dir, parquet_file, repo_root,
    run_execution,
};

const BUCKET: &str = "snaplake-bench";

/// The target folder of this build (the bench runs from `<target>/debug`).
fn target_dir() -> PathBuf {
    functions_dir().parent().expect("<target>/<profile>").to_path_buf()
}

/// Runs `python -m bench.<module>` (local/bench) and returns the JSON it prints.
fn python_bench(standin: &StandIn, module: &str, args: &[&str]) -> Value {
    let out = Command::new(snaplake_tests::python())
        .envs(standin.aws_env())
        .args(["-m", &format!("bench.{module}")])
        .args(args)
        .current_dir(repo_root().join("local"))
        .output()
        .unwrap_or_else(|e| panic!("running bench.{module}: {e}"));
    assert!(
        out.status.success(),
        "bench.{module} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("bench.{module} printed no JSON: {e}"))
}

/// The stand-in's counters since the last reset: AWS requests per operation
/// (their total first), and apart, the Step Functions history events
/// ("states:<type>") and Lambda runs ("lambda-run:<function>").
async fn calls(standin: &StandIn) -> (u64, Value) {
    let (requests, _) = counters(standin);
    let total = requests.values().sum();
    (total, json!(requests))
}

fn counters(standin: &StandIn) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
    let value: BTreeMap<String, u64> = serde_json::from_value(standin.calls()).unwrap();
    value
        .into_iter()
        .partition(|(k, _)| !k.starts_with("states:") && !k.starts_with("lambda-"))
}

/// How the swap section publishes: each format in its own curated database,
/// over the same data files (`curated/t0000/v=1/`, ...).
#[derive(Clone, Copy)]
enum Format {
    Hive,
    Iceberg,
}

impl Format {
    /// catalog-swap's settings for this format.
    fn settings(self) -> Vec<(&'static str, &'static str)> {
        match self {
            Format::Hive => vec![],
            Format::Iceberg => vec![
                ("SNAPLAKE_TABLE_FORMAT", "iceberg"),
                ("SNAPLAKE_CURATED_DATABASE", ICEBERG_DATABASE),
            ],
        }
    }

    fn env(self, standin: &StandIn) -> Env {
        let mut env = standin.context(BUCKET);
        if let Format::Iceberg = self {
            env.config.table_format = TableFormat::Iceberg;
            env.config.curated_database = ICEBERG_DATABASE.to_string();
        }
        env
    }
}

const ICEBERG_DATABASE: &str = "snaplake_curated_iceberg";

/// Every table t0000.. moved to `version` in-process (the debug build of the
/// library): the state each measured run starts from.
async fn swap_all(standin: &StandIn, format: Format, tables: usize, version: &str, day: u32) {
    let result = catalog_swap::handle(&format.env(standin), swap_event(tables, version, 16, day))
        .await
        .unwrap();
    let result = serde_json::to_value(result).unwrap();
    assert_eq!(result["failed"], json!([]), "{}", result["failed"][0]);
}

/// catalog-swap's batch moving tables t0000.. to `version`, as the run of
/// November `day`: each measured swap is a later day's, as
/// in production, so an Iceberg table gains one snapshot each time.
fn swap_event(tables: usize, version: &str, concurrency: usize, day: u32) -> Value {
    let items: Vec<Value> = (0..tables)
        .map(|i| json!({"table": format!("t{i:04}"), "new_location": format!("s3://{BUCKET}/curated/t{i:04}/{version}/")}))
        .collect();
    assert!((1..=30).contains(&day), "the swap section's runs are days of November");
    json!({"action": "swap", "logical_time": format!("2026-11-{day:02}T19:00:00Z"), "concurrency": concurrency, "Items": items})
}

/// What one measured swap took.
struct Swapped {
    /// From the event to the answer.
    seconds: f64,
    /// The function's own CPU time (user and system), its start included.
    cpu_seconds: f64,
    calls_per_table: f64,
    by_operation: Value,
}

/// The release catalog-swap binary, run as Lambda runs it, moving tables
/// t0000.. to `version`.
async fn swap_release(
    standin: &StandIn,
    format: Format,
    (tables, version, day): (usize, &str, u32),
    concurrency: usize,
) -> Swapped {
    let event = std::env::temp_dir().join(format!("snaplake-bench-swap-{}.json", std::process::id()));
    std::fs::write(&event, swap_event(tables, version, concurrency, day).to_string()).unwrap();
    standin.reset_calls();
    let binary = release_dir().join("catalog-swap");
    let mut settings = vec![
        format!("SNAPLAKE_BUCKET={BUCKET}"),
        "SNAPLAKE_TIME_ZONE=Asia/Tokyo".to_string(),
    ];
    settings.extend(format.settings().into_iter().map(|(k, v)| format!("{k}={v}")));
    let mut args = vec![
        "--endpoint",
        &standin.endpoint,
        "--binary",
        binary.to_str().unwrap(),
        "--event",
        event.to_str().unwrap(),
    ];
    for setting in &settings {
        args.extend(["--env", setting]);
    }
    let result = python_bench(standin, "invoke", &args);
    std::fs::remove_file(&event).ok();
    let answer = &result["answer"];
    assert_eq!(result["errored"], json!(false), "{answer}");
    assert_eq!(answer["failed"], json!([]), "{}", answer["failed"][0]);
    let (total, by_operation) = calls(standin).await;
    Swapped {
        seconds: result["seconds"].as_f64().unwrap(),
        cpu_seconds: result["cpu_seconds"].as_f64().unwrap(),
        calls_per_table: total as f64 / tables as f64,
        by_operation,
    }
}

/// The release build `make bench` makes with `cargo lambda build` (x86_64).
fn release_dir() -> PathBuf {
    target_dir().join("x86_64-unknown-linux-gnu/release")
}

fn missing(path: &Path) -> bool {
    if path.exists() {
        return false;
    }
    println!("  not measured: {} is missing; `make bench` builds it", path.display());
    true
}

async fn cold_start() {
    println!(
        "cold start and peak RSS per function (medians; from process spawn to: init done = its first request for an event at the Runtime API, 1st req = its first AWS request arriving at the stand-in, answer = the invocation's answer, after one AWS call, two for snapshot-export and catalog-swap)"
    );
    if FUNCTIONS.iter().any(|f| missing(&release_dir().join(f))) {
        return;
    }
    let standin = StandIn::acquire().await;
    let release = release_dir();
    let mut args = vec![
        "--endpoint".to_string(),
        standin.endpoint.clone(),
        "--functions".to_string(),
        release.to_str().unwrap().to_string(),
        "--runs".to_string(),
        "11".to_string(),
    ];
    // Another build of the five binaries (e.g. from before a change), run in
    // the same rounds: its figures are printed beneath.
    let baseline = std::env::var("BENCH_BASELINE").ok().filter(|b| !b.is_empty());
    if let Some(dir) = &baseline {
        args.extend(["--baseline".to_string(), dir.clone()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = python_bench(&standin, "coldstart", &args);
    println!(
        "  {:<16}  {:>7}  {:>7}  {:>7}  {:>6}  {:>7}  {:>7}  {:>7}  {:>6}  {:>7}  {:>6}  {:>7}  answer",
        "function",
        "init",
        "1st req",
        "answer",
        "MiB",
        "Py init",
        "Py 1st",
        "Py ans",
        "Py MiB",
        "faster",
        "calls",
        "call ms"
    );
    let mut unexpected = Vec::new();
    for f in FUNCTIONS {
        let r = &result["functions"][f];
        let (rust, py) = (&r["rust"], &r["python"]);
        let ms = |v: &Value, key: &str| v[key].as_f64().unwrap();
        let answer = answer(rust);
        // Each event is made for one outcome (local/bench/coldstart.py, INTENDED).
        if rust["as_intended"] != json!(true) {
            unexpected.push(format!("{f} answered {}", rust["answer"]));
        }
        println!(
            "  {f:<16}  {:>7.1}  {:>7.1}  {:>7.1}  {:>6.1}  {:>7.1}  {:>7.1}  {:>7.1}  {:>6.1}  {:>6.1}x  {:>2} / {:<1}  {:>7.1}  {answer}",
            ms(rust, "median_init_ms"),
            ms(rust, "median_first_request_ms"),
            ms(rust, "median_ms"),
            ms(rust, "median_rss_mib"),
            ms(py, "median_init_ms"),
            ms(py, "median_first_request_ms"),
            ms(py, "median_ms"),
            ms(py, "median_rss_mib"),
            ms(py, "median_ms") / ms(rust, "median_ms"),
            rust["calls"],
            py["calls"],
            r["warm_call_ms"].as_f64().unwrap(),
        );
    }
    println!(
        "  ms; {} runs each after one warm-up, Python {}; faster: answer times; calls: AWS requests Rust / Python; call ms: the same calls from a warm boto3 client",
        result["runs"], result["python"]
    );
    if let Some(dir) = &baseline {
        println!("  the baseline {dir} in the same rounds:");
        println!(
            "  {:<16}  {:>7}  {:>7}  {:>7}  {:>6}  answer",
            "function", "init", "1st req", "answer", "MiB"
        );
        for f in FUNCTIONS {
            let b = &result["functions"][f]["baseline"];
            let ms = |key: &str| b[key].as_f64().unwrap();
            println!(
                "  {f:<16}  {:>7.1}  {:>7.1}  {:>7.1}  {:>6.1}  {}",
                ms("median_init_ms"),
                ms("median_first_request_ms"),
                ms("median_ms"),
                ms("median_rss_mib"),
                answer(b)
            );
        }
    }
    assert!(
        unexpected.is_empty(),
        "a cold-start event was not handled as intended, so its figure measures something else: {unexpected:?}"
    );
}

/// "ok", or the errorType of a function's error answer.
fn answer(run: &Value) -> String {
    if !run["errored"].as_bool().unwrap() {
        return "ok".to_string();
    }
    run["error_type"]
        .as_str()
        .unwrap_or("an error without errorType")
        .to_string()
}

fn package_sizes() {
    println!(
        "\npackage size per function (`cargo lambda build --release --x86-64 --compiler cargo --disable-optimizations --output-format zip`)"
    );
    let zips = target_dir().join("lambda");
    if FUNCTIONS.iter().any(|f| missing(&zips.join(f).join("bootstrap.zip"))) {
        return;
    }
    // BENCH_BASELINE: a folder with another build's binaries and zips (<function>, <function>.zip).
    let baseline = std::env::var("BENCH_BASELINE")
        .ok()
        .filter(|b| !b.is_empty())
        .map(PathBuf::from);
    println!(
        "  {:<16}  {:>10}  {:>10}{}",
        "function",
        "zip MiB",
        "binary MiB",
        if baseline.is_some() {
            "  baseline zip  baseline binary"
        } else {
            ""
        }
    );
    let mib = |path: PathBuf| std::fs::metadata(&path).map(|m| m.len() as f64 / (1024.0 * 1024.0));
    for f in FUNCTIONS {
        let before = match &baseline {
            Some(dir) => match (mib(dir.join(format!("{f}.zip"))), mib(dir.join(f))) {
                (Ok(zip), Ok(binary)) => format!("  {zip:>12.2}  {binary:>15.2}"),
                _ => "  (not in the baseline)".to_string(),
            },
            None => String::new(),
        };
        println!(
            "  {f:<16}  {:>10.2}  {:>10.2}{before}",
            mib(zips.join(f).join("bootstrap.zip")).unwrap(),
            mib(release_dir().join(f)).unwrap()
        );
    }
    let manifest = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    let profile: Vec<&str> = manifest
        .lines()
        .skip_while(|l| *l != "[profile.release]")
        .skip(1)
        .take_while(|l| !l.trim().is_empty() && !l.starts_with('['))
        .collect();
    println!("  [profile.release] {}", profile.join("; "));
}

async fn schema_io() {
    let standin = StandIn::acquire().await;
    let env = standin.context(BUCKET);
    env.clients.s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    println!("\nschema inference I/O (bytes read from S3 to learn a table's columns)");
    println!(
        "  {:>12}  {:>8}  {:>12}  {:>10}",
        "file bytes", "columns", "bytes read", "GETs"
    );
    // The last file's footer (2,000 columns) outgrows the first ranged read.
    for (rows, columns) in [(100usize, 1usize), (2_000_000, 1), (1, 2_000)] {
        let body = parquet_file(rows, columns);
        let key = format!("io/{rows}x{columns}.parquet");
        env.clients
            .s3
            .put_object()
            .bucket(BUCKET)
            .key(&key)
            .body(body.clone().into())
            .send()
            .await
            .unwrap();
        standin.reset_calls();
        let (_, read) = snaplake::catalog::ops::read_schema(&env, BUCKET, &key).await.unwrap();
        let (gets, _) = calls(&standin).await;
        println!("  {:>12}  {:>8}  {:>12}  {:>10}", body.len(), columns, read, gets);
    }
}

/// The Python blue/green script swapping tables t0000.. to `version`: seconds and calls per table.
async fn swap_python(standin: &StandIn, tables: usize, version: &str) -> (f64, f64) {
    standin.reset_calls();
    let location = format!("s3://{BUCKET}/curated/{{table}}/{version}/");
    let result = python_bench(
        standin,
        "bluegreen",
        &[
            "--endpoint",
            &standin.endpoint,
            "--tables",
            &tables.to_string(),
            "--location",
            &location,
        ],
    );
    let (total, _) = calls(standin).await;
    (result["seconds"].as_f64().unwrap(), total as f64 / tables as f64)
}

async fn swap_throughput() {
    println!(
        "\ncatalog swap throughput (the release catalog-swap binary, run as Lambda runs it: one batch at concurrency 16, and one table after another; a sequential Python boto3 blue/green script; the same batch as Iceberg commits, table_format \"iceberg\"), with the stand-in's latency model on: Glue 50 ms, S3 20 ms a call"
    );
    if missing(&release_dir().join("catalog-swap")) {
        return;
    }
    let standin = StandIn::acquire().await;
    let env = standin.context(BUCKET);
    env.clients.s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    // The databases, as the module creates them: a swap reads the raw table too.
    for database in [&env.config.raw_database, &env.config.curated_database, ICEBERG_DATABASE] {
        let input = aws_sdk_glue::types::DatabaseInput::builder()
            .name(database)
            .build()
            .unwrap();
        env.clients
            .glue
            .create_database()
            .database_input(input)
            .send()
            .await
            .unwrap();
    }
    // AWS answers Glue in tens of milliseconds and S3 in about twenty; the
    // stand-in at once. Without the latency model, concurrency cannot show.
    standin.control("/_snaplake/latency", json!({"glue": 50, "s3": 20}));
    println!(
        "  {:>6}  {:>8}  {:>6}  {:>11}  {:>8}  {:>11}  {:>9}  {:>11}  {:>10}  {:>10}  {:>10}  {:>6}  {:>11}  {:>8}",
        "tables",
        "batch s",
        "cpu s",
        "calls/table",
        "serial s",
        "calls/table",
        "python s",
        "calls/table",
        "vs python",
        "vs serial",
        "iceberg s",
        "cpu s",
        "calls/table",
        "vs hive"
    );
    let sample = parquet_file(100, 1);
    let (mut created, mut day) = (0, 0);
    for tables in [1usize, 10, 100, 500] {
        for i in created..tables {
            for version in ["v=1", "v=2"] {
                let key = format!("curated/t{i:04}/{version}/part-0.parquet");
                env.clients
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
        // Every table starts at v=1 (new ones are created there); each measured run moves every table.
        day += 1;
        swap_all(&standin, Format::Hive, tables, "v=1", day).await;
        swap_all(&standin, Format::Iceberg, tables, "v=1", day).await;
        created = tables;
        day += 1;
        let batch = swap_release(&standin, Format::Hive, (tables, "v=2", day), 16).await;
        let iceberg = swap_release(&standin, Format::Iceberg, (tables, "v=2", day), 16).await;
        day += 1;
        let serial = swap_release(&standin, Format::Hive, (tables, "v=1", day), 1).await;
        let (python_s, python_calls) = swap_python(&standin, tables, "v=2").await;
        println!(
            "  {tables:>6}  {:>8.2}  {:>6.2}  {:>11.1}  {:>8.2}  {:>11.1}  {python_s:>9.2}  {python_calls:>11.1}  {:>9.1}x  {:>9.1}x  {:>10.2}  {:>6.2}  {:>11.1}  {:>7.1}x",
            batch.seconds,
            batch.cpu_seconds,
            batch.calls_per_table,
            serial.seconds,
            serial.calls_per_table,
            python_s / batch.seconds,
            serial.seconds / batch.seconds,
            iceberg.seconds,
            iceberg.cpu_seconds,
            iceberg.calls_per_table,
            iceberg.seconds / batch.seconds
        );
        if tables == 500 {
            println!(
                "  calls of the 500-table batch by operation, Hive: {}",
                batch.by_operation
            );
            println!("  Iceberg: {}", iceberg.by_operation);
        }
    }
    standin.control("/_snaplake/latency", json!({}));
}

/// State transitions (states entered: what AWS bills a standard workflow)
/// among history events counted by type.
fn transitions<'a>(types: impl Iterator<Item = (&'a str, u64)>) -> u64 {
    types.filter(|(t, _)| t.ends_with("StateEntered")).map(|(_, n)| n).sum()
}

/// Memory of every function (`infra/modules/snaplake/functions.tf`).
const LAMBDA_GB: f64 = 0.25;
/// The data size the dollars assume: Parquet bytes per table, on average.
const BYTES_PER_TABLE: f64 = 100e6;

/// A run's usage from the stand-in's counters. Athena's bytes are not
/// measured (the sample is tiny): they are modelled per table below.
fn usage(counted: &BTreeMap<String, u64>, requests: &BTreeMap<String, u64>) -> cost::Usage {
    let sum = |f: &dyn Fn(&str) -> bool, map: &BTreeMap<String, u64>| -> f64 {
        map.iter().filter(|(k, _)| f(k)).map(|(_, n)| *n as f64).sum()
    };
    let states = counted
        .iter()
        .filter_map(|(k, n)| Some((k.strip_prefix("states:")?, *n)));
    cost::Usage {
        transitions: transitions(states) as f64,
        lambda_requests: sum(&|k| k.starts_with("lambda-run:"), counted),
        lambda_gb_seconds: sum(&|k| k.starts_with("lambda-ms:"), counted) / 1000.0 * LAMBDA_GB,
        athena_queries: sum(&|k| k == "StartQueryExecution", requests),
        athena_bytes: 0.0,
        s3_write_or_list: sum(
            &|k| matches!(k, "s3:PUT" | "s3:POST" | "s3:ListObjectsV2" | "s3:DeleteObjects"),
            requests,
        ),
        s3_read: sum(&|k| matches!(k, "s3:GET" | "s3:HEAD"), requests),
        glue_requests: sum(&|k| k.contains("Table") || k.contains("Database"), requests),
    }
}

/// The table counts of the cost section: 1, 10, 100, and 2,000 unless
/// `BENCH_SCALE_TABLES` says otherwise (0: none; the 2,000-table run takes
/// about 25 minutes here: the stand-in runs every state in one Python process).
fn cost_table_counts() -> Vec<usize> {
    let scale = std::env::var("BENCH_SCALE_TABLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    [1, 10, 100].into_iter().chain((scale > 100).then_some(scale)).collect()
}

async fn cost_of_a_run() {
    println!("\ncost of a run (the real state machine in the stand-in, its Distributed Map children included)");
    if FUNCTIONS.iter().any(|f| missing(&functions_dir().join(f))) {
        return;
    }
    println!(
        "  {:>6}  {:>11}  {:>9}  {:>18}  {:>15}  {:>11}  {:>9}  {:>8}  {:>15}  {:>12}",
        "tables",
        "transitions",
        "per table",
        "parent transitions",
        "longest history",
        "Lambda runs",
        "per table",
        "wall s",
        "largest payload",
        "Map gathered"
    );
    let mut previous: Option<(usize, u64, u64)> = None;
    let mut measured: Vec<(usize, cost::Usage)> = Vec::new();
    for tables in cost_table_counts() {
        let d = deploy_with_policy("snaplake-bench", BUCKET, &snaplake_tests::policy_for_tables(tables)).await;
        d.standin
            .control("/_snaplake/exports/settings", json!({"sample_tables": tables}));
        let mut input = d.run_input.clone();
        input["logical_time"] = json!("2026-11-20T19:00:00Z");
        d.standin.reset_calls();
        let started = Instant::now();
        let name = format!("bench-{tables}");
        let (status, detail) = run_execution(&d.standin, &d.machine, &name, &input, Duration::from_secs(3600)).await;
        let seconds = started.elapsed().as_secs_f64();
        assert_eq!(status, "SUCCEEDED", "{detail:#}");
        let (requests, counted) = counters(&d.standin);
        let all = transitions(
            counted
                .iter()
                .filter_map(|(k, n)| Some((k.strip_prefix("states:")?, *n))),
        );
        let runs: BTreeMap<&str, u64> = counted
            .iter()
            .filter_map(|(k, n)| Some((k.strip_prefix("lambda-run:snaplake-bench-")?, *n)))
            .collect();
        let lambdas: u64 = runs.values().sum();
        let history = execution_events(&d.standin, detail["arn"].as_str().unwrap()).await;
        let parent = transitions(history.iter().map(|e| (e.r#type().as_str(), 1)));
        // The largest input or output of any state, children included (limit 256 KiB).
        let largest = counted.get("states:max-payload-bytes").copied().unwrap_or(0);
        // What a Map without a ResultWriter gathers from its children, before
        // ResultPath (AWS counts it against the same 256 KiB), and the most
        // history events of any one execution, Map children included (25,000).
        let gathered = counted.get("states:max-map-results-bytes").copied().unwrap_or(0);
        let longest = counted.get("states:max-history-events").copied().unwrap_or(0);
        println!(
            "  {tables:>6}  {all:>11}  {:>9.1}  {parent:>18}  {longest:>15}  {lambdas:>11}  {:>9.1}  {seconds:>8.1}  {:>11.1} KiB  {:>8.1} KiB",
            all as f64 / tables as f64,
            lambdas as f64 / tables as f64,
            largest as f64 / 1024.0,
            gathered as f64 / 1024.0
        );
        if let Some((n, t, l)) = previous {
            println!(
                "          each table beyond {n}: {:.2} transitions, {:.2} Lambda runs",
                (all - t) as f64 / (tables - n) as f64,
                (lambdas - l) as f64 / (tables - n) as f64
            );
        }
        println!("          Lambda runs by function: {runs:?}");
        // Each function's longest invocation and largest resident set, beside
        // the module's timeout and memory size (the stand-in enforces both).
        let (timeout, memory) = snaplake_tests::function_limits();
        let most = |what: &str| -> BTreeMap<&str, u64> {
            counted
                .iter()
                .filter_map(|(k, n)| Some((k.strip_prefix(what)?.strip_prefix("snaplake-bench-")?, *n)))
                .collect()
        };
        println!(
            "          longest invocation ms (of {timeout} s): {:?}; peak MB (of {memory}): {:?}",
            most("lambda-max-ms:"),
            most("lambda-peak-mb:")
        );
        // The run's own figure (its manifest's cost, what `snaplake status`
        // shows) beside what the stand-in counted and measured.
        let output: serde_json::Value = serde_json::from_str(detail["output"].as_str().unwrap()).unwrap();
        let manifest = snaplake_tests::run_manifest(&d.standin.sdk, &output).await;
        let run = &manifest["cost"];
        let figure = |k: &str| run["usage"][k].as_u64().unwrap_or(0);
        let scanned = requests.get("athena:scanned-bytes").copied().unwrap_or(0);
        let same = (
            figure("state_transitions"),
            figure("lambda_requests"),
            figure("athena_scanned_bytes"),
        ) == (all, lambdas, scanned);
        println!(
            "          the run's own cost: ${:.4}: {} transitions, {} Lambda requests, {} Athena bytes ({} billed) \
             {} the stand-in's {all}, {lambdas}, {scanned}",
            run["total_usd"].as_f64().unwrap_or(f64::NAN),
            figure("state_transitions"),
            figure("lambda_requests"),
            figure("athena_scanned_bytes"),
            figure("athena_billed_bytes"),
            if same { "equal to" } else { "DIFFERENT FROM" }
        );
        previous = Some((tables, all, lambdas));
        measured.push((tables, usage(&counted, &requests)));
    }
    dollars(&measured);
}

/// The dollars of a daily run at 10, 1,000 and 10,000 tables, from the
/// per-table and fixed usage of the two largest measured runs.
fn dollars(measured: &[(usize, cost::Usage)]) {
    let [.., (n1, u1), (n2, u2)] = measured else { return };
    let span = (*n2 - *n1) as f64;
    let mut per_table = u1.combine(u2, |a, b| (b - a) / span);
    let fixed = u1.combine(&per_table, |u, p| (u - p * *n1 as f64).max(0.0));
    // The UNLOAD reads the raw table once; verification reads the columns its
    // row filter and assertions name, at most the table again: 2x, an upper bound.
    per_table.athena_bytes = 2.0 * BYTES_PER_TABLE;
    let p = cost::us_east_1();
    println!(
        "\ncost of a daily run in dollars ({} on-demand list prices, free tiers left out; {:.0} MB of Parquet per table;\n\
         per table: {:.2} transitions, {:.2} Lambda runs, {:.4} GB-s, {:.2} queries, {:.1} S3 writes/lists, {:.1} S3 reads, {:.1} Glue requests)",
        p.region,
        BYTES_PER_TABLE / 1e6,
        per_table.transitions,
        per_table.lambda_requests,
        per_table.lambda_gb_seconds,
        per_table.athena_queries,
        per_table.s3_write_or_list,
        per_table.s3_read,
        per_table.glue_requests
    );
    println!(
        "  {:>6}  {:>14}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}  {:>17}  {:>17}",
        "tables", "Step Functions", "Lambda", "Athena", "S3", "Glue", "total", "Glue design floor", "same as job of"
    );
    let floor = cost::glue_design_floor(2.0, &p).total();
    for tables in [10.0, 1_000.0, 10_000.0] {
        let bill = cost::snaplake(&cost::Usage::at(&fixed, &per_table, tables), &p);
        // The 2-DPU job minutes (beyond the floor) that cost what this run costs.
        let minutes = ((bill.total() - floor) / (2.0 * p.glue_dpu_hour / 60.0)).max(0.0) + 1.0;
        println!(
            "  {tables:>6}  {:>14.4}  {:>8.4}  {:>8.4}  {:>8.4}  {:>8.4}  {:>8.4}  {floor:>17.4}  {:>13.0} min",
            bill.step_functions,
            bill.lambda,
            bill.athena,
            bill.s3,
            bill.glue,
            bill.total(),
            minutes
        );
    }
    println!(
        "  Glue design floor: one crawler run (2 DPUs, its 10-minute minimum) and one Spark job (2 DPUs, its 1-minute\n\
         minimum) at $0.44 per DPU-hour; real runs over these tables last longer, so it is a lower bound. \"same as\n\
         job of\": the 2-DPU job (after the crawler's 10 minutes) that costs what snaplake's run costs. Lambda\n\
         GB-s are the stand-in's durations ({LAMBDA_GB} GB); Athena's own S3 reads and writes are not counted."
    );
}

/// `bench [cold-start] [size] [schema-io] [swap] [cost]`: the sections named, or all.
#[tokio::main]
async fn main() {
    let only: Vec<String> = std::env::args().skip(1).collect();
    let run = |section: &str| only.is_empty() || only.iter().any(|s| s == section);
    if run("cold-start") {
        cold_start().await;
    }
    if run("size") {
        package_sizes();
    }
    if run("schema-io") {
        schema_io().await;
    }
    if run("swap") {
        swap_throughput().await;
    }
    if run("cost") {
        cost_of_a_run().await;
    }
}
