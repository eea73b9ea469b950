//! The functions' metrics, as CloudWatch reads them: Embedded Metric Format
//! lines in the functions' logs (what Lambda sends to CloudWatch Logs is
//! their stdout). The stand-in runs the real handler binaries and keeps each
//! one's output in `<SNAPLAKE_STANDIN_LOGS>/<function name>.log`.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use snaplake_tests::{deploy, repo_root, run_execution};

const STACK: &str = "snaplake-metrics";

/// Where the stand-in writes a function's output (see `local/standin/lambdas.py`).
fn log_path(function: &str) -> PathBuf {
    let dir = match std::env::var_os("SNAPLAKE_STANDIN_ENDPOINT") {
        Some(_) => std::env::var_os("SNAPLAKE_STANDIN_LOGS").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from),
        None => repo_root().join(".local/test-standins"),
    };
    dir.join(format!("{STACK}-{function}.log"))
}

fn log_len(function: &str) -> u64 {
    std::fs::metadata(log_path(function)).map_or(0, |m| m.len())
}

/// The EMF documents `function` wrote since its log had `from` bytes: the
/// lines that are a JSON object with `_aws`, whole lines only (CloudWatch
/// Logs extracts metrics only from a log event that is the JSON document).
fn emf_lines(function: &str, from: u64) -> Vec<Value> {
    let text = std::fs::read(log_path(function)).unwrap_or_default();
    let text = String::from_utf8_lossy(&text[from as usize..]).to_string();
    text.lines()
        .filter(|l| l.contains("\"_aws\""))
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("an EMF line must be JSON by itself ({e}): {l}"))
        })
        .collect()
}

/// The documents that carry `metric`, checked against the EMF specification:
/// each names it in a directive of the `Snaplake` namespace, with its unit,
/// and every dimension and metric it names is a member of the document.
fn with_metric<'a>(docs: &'a [Value], metric: &str, unit: &str) -> Vec<&'a Value> {
    docs.iter()
        .filter(|d| {
            let directives = d["_aws"]["CloudWatchMetrics"].as_array().expect("CloudWatchMetrics");
            assert!(d["_aws"]["Timestamp"].as_i64().is_some(), "Timestamp in ms: {d}");
            directives.iter().any(|m| {
                assert_eq!(m["Namespace"], "Snaplake", "{d}");
                for set in m["Dimensions"].as_array().expect("Dimensions") {
                    for key in set.as_array().expect("a dimension set") {
                        assert!(d[key.as_str().unwrap()].is_string(), "dimension {key} is a member: {d}");
                    }
                }
                m["Metrics"].as_array().expect("Metrics").iter().any(|x| {
                    assert!(
                        d[x["Name"].as_str().unwrap()].is_number(),
                        "value of {x} is a member: {d}"
                    );
                    x["Name"] == metric && x["Unit"] == unit
                })
            })
        })
        .collect()
}

#[tokio::test]
async fn a_run_writes_its_metrics_as_emf_lines_in_the_functions_logs() {
    let d = deploy(STACK, "snaplake-metrics").await;
    let functions = ["export-poller", "query-runner", "catalog-swap"];
    let before: Vec<u64> = functions.iter().map(|f| log_len(f)).collect();
    let mut input = d.run_input.clone();
    input["logical_time"] = json!("2026-11-20T19:00:00Z");
    let (status, detail) = run_execution(&d.standin, &d.machine, "run-metrics", &input, Duration::from_secs(240)).await;
    assert_eq!(status, "SUCCEEDED", "{detail:#}");
    let [poller, queries, swap] = [0, 1, 2].map(|i| emf_lines(functions[i], before[i]));

    let export = with_metric(&poller, "ExportDuration", "Seconds");
    assert_eq!(export.len(), 1, "one export duration per completed export: {poller:#?}");
    assert_eq!(export[0]["SourceId"], "shop-prod");
    assert!(export[0]["ExportDuration"].as_f64().unwrap() >= 0.0);

    // Rows per table (verification's count), by source and by table.
    let rows = with_metric(&queries, "Rows", "Count");
    let mut tables: Vec<&str> = rows.iter().map(|d| d["Table"].as_str().unwrap()).collect();
    tables.sort();
    assert_eq!(
        tables,
        ["shop_articles", "shop_customers", "shop_orders"],
        "{queries:#?}"
    );
    assert!(rows.iter().all(|d| d["Rows"].as_i64().unwrap() > 0), "{rows:#?}");
    let scanned = with_metric(&queries, "BytesScanned", "Bytes");
    assert!(!scanned.is_empty(), "bytes scanned per query: {queries:#?}");

    // The run's totals, from the report step.
    let run = with_metric(&swap, "RunSucceeded", "Count");
    assert_eq!(run.len(), 1, "{swap:#?}");
    let run = run[0];
    assert_eq!(run["SourceId"], "shop-prod");
    assert_eq!(
        [
            "RunSucceeded",
            "TablesPublished",
            "TablesHeld",
            "TablesFailed",
            "TablesSkipped"
        ]
        .map(|m| run[m].as_i64()),
        [Some(1), Some(3), Some(0), Some(0), Some(0)],
        "{run:#}"
    );
    assert_eq!(with_metric(&swap, "PublishDelay", "Seconds").len(), 1, "{swap:#?}");
    let age = with_metric(&swap, "OldestLiveVersionAge", "Seconds");
    assert_eq!(age.len(), 1, "{swap:#?}");
    assert!(
        age[0]["OldestLiveVersionAge"].as_f64().unwrap() > 0.0,
        "the live versions are of 2026-11-20: {age:#?}"
    );
    // Backdated to the run's logical time: the deadline alarm reads it there.
    let duration = with_metric(&swap, "RunDuration", "Seconds");
    assert_eq!(duration.len(), 1, "{swap:#?}");
    assert_eq!(
        duration[0]["_aws"]["Timestamp"], 1_795_201_200_000_i64,
        "2026-11-20T19:00:00Z"
    );
}
