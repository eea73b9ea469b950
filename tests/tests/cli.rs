//! The `snaplake` binary against a deployment on the stand-in: each
//! subcommand, its exit code and its output, and that what must change
//! nothing changes nothing.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use snaplake_tests::{Deployment, deploy, functions_dir};

const BUCKET: &str = "snaplake-cli";

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.stdout, self.stderr))
    }

    fn expect(self, code: i32) -> Out {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Runs the CLI as an operator would, with no terminal (so no prompt can be answered).
fn snaplake(d: &Deployment, args: &[&str]) -> Out {
    let [(_, id), (_, secret)] = d.standin.aws_env();
    snaplake_as(d, (&id, &secret), args)
}

/// The CLI with another principal's access key.
fn snaplake_as(d: &Deployment, (id, secret): (&str, &str), args: &[&str]) -> Out {
    let bin = functions_dir().join("snaplake");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --workspace --bins`",
        bin.display()
    );
    let out = Command::new(bin)
        .args(args)
        .env("AWS_ENDPOINT_URL", &d.standin.endpoint)
        .env("AWS_ACCESS_KEY_ID", id)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_REGION", "us-east-1")
        .env("SNAPLAKE_STACK", &d.stack)
        .env_remove("AWS_PROFILE")
        .env_remove("SNAPLAKE_OUTPUT")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The automated snapshot of a Tokyo day, taken at 03:00 there.
fn snapshot(d: &Deployment, day: &str) {
    let date: jiff::civil::Date = day.parse().unwrap();
    let utc = date.yesterday().unwrap();
    d.standin.control(
        "/_snaplake/snapshots",
        json!({"cluster": "shop-prod", "snapshot_id": format!("rds:shop-prod-{day}-03-00"), "create_time": format!("{utc}T18:00:00Z")}),
    );
}

async fn executions(d: &Deployment) -> Vec<Value> {
    let sfn = &d.standin.clients.sfn;
    let list = sfn
        .list_executions()
        .state_machine_arn(&d.machine)
        .send()
        .await
        .unwrap();
    let mut out = Vec::new();
    for e in list.executions() {
        let full = sfn
            .describe_execution()
            .execution_arn(e.execution_arn())
            .send()
            .await
            .unwrap();
        out.push(json!({
            "name": full.name(),
            "status": full.status().as_str(),
            "start": full.start_date().as_secs_f64(),
            "stop": full.stop_date().map(|t| t.as_secs_f64()),
        }));
    }
    out.sort_by(|a, b| a["start"].as_f64().partial_cmp(&b["start"].as_f64()).unwrap());
    out
}

async fn export_ids(d: &Deployment) -> Vec<String> {
    let out = d.standin.clients.rds.describe_export_tasks().send().await.unwrap();
    out.export_tasks()
        .iter()
        .filter_map(|t| t.export_task_identifier().map(str::to_string))
        .collect()
}

async fn location(d: &Deployment, table: &str) -> String {
    snaplake_tests::live_location(&d.standin.clients.glue, table).await
}

/// A curated table's Glue versions: id, location and logical time.
async fn history(d: &Deployment, table: &str) -> Vec<String> {
    let versions = d
        .standin
        .clients
        .glue
        .get_table_versions()
        .database_name("snaplake_curated")
        .table_name(table)
        .send()
        .await
        .unwrap();
    versions
        .table_versions()
        .iter()
        .filter_map(|v| {
            let t = v.table()?;
            Some(format!(
                "{} {} {}",
                v.version_id()?,
                t.storage_descriptor()?.location()?,
                t.parameters()?.get("snaplake.logical_time")?
            ))
        })
        .collect()
}

async fn keys(d: &Deployment) -> Vec<String> {
    let out = d
        .standin
        .clients
        .s3
        .list_objects_v2()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    assert!(!out.is_truncated().unwrap_or(false));
    out.contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect()
}

/// Everything a run can change: executions, exports, catalog, objects.
async fn state(d: &Deployment) -> Value {
    let glue = &d.standin.clients.glue;
    let mut catalog = BTreeMap::new();
    for db in ["snaplake_raw", "snaplake_curated"] {
        for t in glue.get_tables().database_name(db).send().await.unwrap().table_list() {
            let location = t.storage_descriptor().and_then(|s| s.location()).map(str::to_string);
            catalog.insert(format!("{db}.{}", t.name()), json!([location, t.version_id()]));
        }
    }
    json!({
        "executions": executions(d).await.iter().map(|e| e["name"].clone()).collect::<Vec<_>>(),
        "exports": export_ids(d).await,
        "catalog": catalog,
        "keys": keys(d).await,
    })
}

/// The entry about `table` in a list of per-table results.
fn find_table<'a>(list: &'a Value, table: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == table)
        .unwrap_or_else(|| panic!("no {table} in {list:#}"))
}

fn failed_checks(checks: &Value) -> Vec<&Value> {
    checks
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] != json!(true))
        .collect()
}

fn backfill_19_to_21(concurrency: &str) -> Vec<&str> {
    vec![
        "backfill",
        "--from",
        "2026-11-19",
        "--to",
        "2026-11-21",
        "--concurrency",
        concurrency,
        "--poll-seconds",
        "1",
    ]
}

fn tokyo_today() -> jiff::civil::Date {
    jiff::Timestamp::now().in_tz("Asia/Tokyo").unwrap().date()
}

#[tokio::test]
async fn run_starts_a_day_once_and_a_second_call_says_so() {
    let d = deploy("cli-run", BUCKET).await;
    let first = snaplake(&d, &["run", "--date", "2026-11-21", "--wait", "--poll-seconds", "1"]).expect(0);
    assert!(
        first.stdout.contains("started run-") && first.stdout.contains("SUCCEEDED"),
        "{}",
        first.stdout
    );

    let again = snaplake(&d, &["run", "--date", "2026-11-21"]).expect(0);
    assert!(again.stdout.contains("nothing to do"), "{}", again.stdout);
    let json = snaplake(&d, &["-o", "json", "run", "--date", "2026-11-21"])
        .expect(0)
        .json();
    assert_eq!(json["started"], json!(false));
    assert_eq!(json["execution"]["status"], "SUCCEEDED");

    let runs = executions(&d).await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    let name = runs[0]["name"].as_str().unwrap();
    assert!(name.starts_with("run-") && name.ends_with("-20261121"), "{name}");
    assert_eq!(export_ids(&d).await.len(), 1);
    // What the schedule would have run: the version of 04:00 Tokyo that day.
    assert!(location(&d, "shop_orders").await.ends_with("/v=20261120T190000Z/"));
}

#[tokio::test]
async fn a_failed_day_is_reported_and_retried_only_when_asked() {
    let d = deploy("cli-retry", BUCKET).await;
    let failed = snaplake(&d, &["run", "--date", "2026-11-19", "--wait", "--poll-seconds", "1"]).expect(1);
    assert!(failed.stdout.contains("SnapshotNotFound"), "{}", failed.stdout);

    let status = snaplake(&d, &["-o", "json", "status", "--date", "2026-11-19"])
        .expect(1)
        .json();
    assert_eq!(status[0]["step"], "StartExport", "{status:#}");
    assert_eq!(status[0]["execution"]["error"], "SnapshotNotFound");
    assert_eq!(status[0]["export"]["status"], "NOT_STARTED");

    let again = snaplake(&d, &["run", "--date", "2026-11-19"]).expect(1);
    assert!(again.stderr.contains("--retry"), "{}", again.stderr);
    assert_eq!(executions(&d).await.len(), 1, "no second attempt without --retry");

    snapshot(&d, "2026-11-19");
    let retried = snaplake(
        &d,
        &[
            "run",
            "--date",
            "2026-11-19",
            "--retry",
            "--wait",
            "--poll-seconds",
            "1",
        ],
    )
    .expect(0);
    assert!(retried.stdout.contains("-20261119-2: SUCCEEDED"), "{}", retried.stdout);
}

#[tokio::test]
async fn a_day_whose_export_failed_is_published_by_a_retry_under_the_next_export_attempt() {
    let d = deploy("cli-export-retry", BUCKET).await;
    d.standin.control(
        "/_snaplake/exports/faults",
        json!({"export_id": "snaplake-shop-prod-20261121", "fail": "The export ran out of space (injected)"}),
    );
    let failed = snaplake(&d, &["run", "--date", "2026-11-21", "--wait", "--poll-seconds", "1"]).expect(1);
    assert!(
        failed.stdout.contains("ExportFailed") && failed.stdout.contains("ran out of space"),
        "{}",
        failed.stdout
    );

    let retried = snaplake(
        &d,
        &[
            "run",
            "--date",
            "2026-11-21",
            "--retry",
            "--wait",
            "--poll-seconds",
            "1",
        ],
    )
    .expect(0);
    assert!(retried.stdout.contains("-20261121-2: SUCCEEDED"), "{}", retried.stdout);
    let mut ids = export_ids(&d).await;
    ids.sort();
    assert_eq!(ids, ["snaplake-shop-prod-20261121", "snaplake-shop-prod-20261121-2"]);
    assert!(location(&d, "shop_orders").await.ends_with("/v=20261120T190000Z/"));
    let status = snaplake(&d, &["-o", "json", "status", "--date", "2026-11-21"]).json();
    let last = &status.as_array().unwrap().last().unwrap()["export"];
    assert_eq!(
        (last["export_id"].as_str(), last["status"].as_str()),
        (Some("snaplake-shop-prod-20261121-2"), Some("COMPLETE")),
        "{status:#}"
    );

    let before = state(&d).await;
    let again = snaplake(&d, &["run", "--date", "2026-11-21", "--retry"]).expect(0);
    assert!(again.stdout.contains("nothing to do"), "{}", again.stdout);
    assert_eq!(state(&d).await, before, "a third run changes nothing");

    // What a held table's reason advises: a retry forcing it starts the
    // day's next run even after a succeeded one.
    let forced = snaplake(
        &d,
        &[
            "run",
            "--date",
            "2026-11-21",
            "--retry",
            "--force-table",
            "shop_orders",
            "--wait",
            "--poll-seconds",
            "1",
        ],
    )
    .expect(0);
    assert!(forced.stdout.contains("-20261121-3: SUCCEEDED"), "{}", forced.stdout);
}

#[tokio::test]
async fn bad_input_is_refused_with_the_reason_and_starts_nothing() {
    let d = deploy("cli-bad", BUCKET).await;
    let future = tokyo_today().tomorrow().unwrap().tomorrow().unwrap().to_string();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["run", "--date", "2026-13-01"], 2, "YYYY-MM-DD"),
        (vec!["run", "--date", &future], 2, "future"),
        (
            vec!["backfill", "--from", "2026-11-21", "--to", "2026-11-20"],
            2,
            "is after --to",
        ),
        (
            vec![
                "backfill",
                "--from",
                "2026-11-01",
                "--to",
                "2026-11-02",
                "--concurrency",
                "9",
            ],
            2,
            "1..=5",
        ),
        (
            vec!["status", "--date", "2026-01-01"],
            3,
            "snaplake run --date 2026-01-01",
        ),
        (
            vec!["--stack", "nope", "status"],
            3,
            "no Lambda function nope-catalog-swap",
        ),
        (
            vec!["publish", "--export-id", "no-such-export"],
            3,
            "export task no-such-export",
        ),
        (vec!["publish", "--export-id", "bad_id"], 2, "--export-id"),
        (
            vec!["rollback", "--table", "no_such_table", "--yes"],
            3,
            "snaplake_curated.no_such_table",
        ),
    ];
    for (args, code, says) in cases {
        let out = snaplake(&d, &args);
        assert_eq!(out.code, code, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(says),
            "{args:?} should say {says:?}: {}",
            out.stderr
        );
    }
    assert!(executions(&d).await.is_empty());
    assert!(export_ids(&d).await.is_empty());
}

#[tokio::test]
async fn backfill_runs_each_day_skips_published_days_and_holds_the_concurrency() {
    let d = deploy("cli-backfill", BUCKET).await;
    snapshot(&d, "2026-11-19");
    snapshot(&d, "2026-11-20");
    snaplake(&d, &["run", "--date", "2026-11-20", "--wait", "--poll-seconds", "1"]).expect(0);

    let args = [&["-o", "json"], &backfill_19_to_21("1")[..]].concat();
    let days = snaplake(&d, &args).expect(0).json();
    let results: Vec<(&str, &str)> = days
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["day"].as_str().unwrap(), r["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        results,
        [
            // Older than the day already published: its tables stay on 11-20.
            ("2026-11-19", "nothing new"),
            ("2026-11-20", "skipped"),
            ("2026-11-21", "published")
        ]
    );
    let runs = executions(&d).await;
    assert_eq!(runs.len(), 3, "{runs:?}");
    for pair in runs.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        assert!(
            after["start"].as_f64() >= before["stop"].as_f64(),
            "--concurrency 1, yet two runs overlapped: {pair:?}"
        );
    }

    let again = snaplake(&d, &args).expect(0).json();
    assert!(
        again.as_array().unwrap().iter().all(|r| r["result"] == "skipped"),
        "{again:#}"
    );
    assert_eq!(executions(&d).await.len(), 3);
}

#[tokio::test]
async fn a_concurrent_backfill_ends_on_the_newest_day_whatever_order_the_days_finish_in() {
    let d = deploy("cli-concurrent", BUCKET).await;
    snapshot(&d, "2026-11-19");
    snapshot(&d, "2026-11-20");
    snaplake(&d, &backfill_19_to_21("3")).expect(0);
    let runs = executions(&d).await;
    assert_eq!(runs.len(), 3);
    assert!(
        runs[2]["start"].as_f64() < runs[0]["stop"].as_f64(),
        "the three days ran at once: {runs:?}"
    );
    for table in ["shop_orders", "shop_customers", "shop_articles"] {
        let live = location(&d, table).await;
        assert!(
            live.ends_with("/v=20261120T190000Z/"),
            "{table} at {live}; its versions: {:#?}",
            history(&d, table).await
        );
    }
}

#[tokio::test]
async fn status_shows_the_export_and_every_table_of_a_run() {
    let d = deploy("cli-status", BUCKET).await;
    snaplake(&d, &["run", "--date", "2026-11-21", "--wait", "--poll-seconds", "1"]).expect(0);
    let status = snaplake(&d, &["-o", "json", "status", "--date", "2026-11-21"])
        .expect(0)
        .json();
    let run = &status[0];
    assert_eq!(run["execution"]["status"], "SUCCEEDED");
    assert_eq!(run["export"]["status"], "COMPLETE");
    assert_eq!(run["export"]["percent"], 100);
    let mut tables: Vec<(&str, &str)> = run["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["table"].as_str().unwrap(), t["outcome"].as_str().unwrap()))
        .collect();
    tables.sort();
    assert_eq!(
        tables,
        [
            ("shop_articles", "created"),
            ("shop_customers", "created"),
            ("shop_orders", "created")
        ]
    );
    // The delay from the export's COMPLETE to the run's end (the metric PublishDelay).
    let delay = run["publish_delay_seconds"].as_i64().expect("a delay in seconds");
    let started: jiff::Timestamp = run["execution"]["started"].as_str().unwrap().parse().unwrap();
    let stopped: jiff::Timestamp = run["execution"]["stopped"].as_str().unwrap().parse().unwrap();
    assert!(
        (0..=stopped.as_second() - started.as_second()).contains(&delay),
        "{delay} s within the run: {run:#}"
    );
    // What the run cost, as its manifest records it: six queries at Athena's minimum and more.
    let usd = run["cost"]["total_usd"]
        .as_f64()
        .unwrap_or_else(|| panic!("a cost: {run:#}"));
    assert!(usd > 6.0 * 10e6 / 1e12 * 5.0, "{run:#}");
    let text = snaplake(&d, &["status", "--last", "5"]).expect(0).stdout;
    assert!(text.contains("2026-11-21") && text.contains("3 ok, 0 failed"), "{text}");
    assert!(text.contains("COST") && text.contains(&format!("${usd:.4}")), "{text}");
    let day = snaplake(&d, &["status", "--date", "2026-11-21"]).expect(0).stdout;
    assert!(
        day.contains(&format!("cost ${usd:.4} at us-east-1 prices")) && day.contains("transitions"),
        "the day's view breaks the cost down: {day}"
    );
    assert_eq!(run["lineage"]["posted"], 1, "the run's COMPLETE reached Glue: {run:#}");
    assert!(
        day.contains("lineage 1 end event(s) posted to the Glue Data Catalog, events at s3://"),
        "the day's view says where the run's lineage went: {day}"
    );
    assert!(
        text.contains("EXPORT TO PUBLISHED") && text.contains(&format!("{}m{:02}s", delay / 60, delay % 60)),
        "{text}"
    );

    // After a rollback, a day's status says where each table points now.
    snapshot(&d, "2026-11-22");
    snaplake(&d, &["run", "--date", "2026-11-22", "--wait", "--poll-seconds", "1"]).expect(0);
    snaplake(&d, &["rollback", "--table", "shop_orders", "--yes"]).expect(0);
    let status = snaplake(&d, &["-o", "json", "status", "--date", "2026-11-22"])
        .expect(0)
        .json();
    for t in status[0]["tables"].as_array().unwrap() {
        let (left, live) = (t["location"].as_str().unwrap(), t["live"].as_str().unwrap());
        if t["table"] == "shop_orders" {
            assert!(live != left && live.ends_with("/v=20261120T190000Z/"), "{t:#}");
        } else {
            assert_eq!(live, left, "{t:#}");
        }
    }
    let text = snaplake(&d, &["status", "--date", "2026-11-22"]).expect(0).stdout;
    assert!(
        text.contains("NOW") && text.contains("same") && text.contains("v=20261120T190000Z"),
        "{text}"
    );
}

#[tokio::test]
async fn publish_takes_an_export_made_elsewhere_through_the_state_machine() {
    let d = deploy("cli-publish", BUCKET).await;
    let rds = &d.standin.clients.rds;
    let snapshots = rds
        .describe_db_cluster_snapshots()
        .db_cluster_identifier("shop-prod")
        .send()
        .await
        .unwrap();
    let snapshot = snapshots
        .db_cluster_snapshots()
        .iter()
        .find(|s| s.db_cluster_snapshot_identifier() == Some("rds:shop-prod-2026-11-20-18-00"))
        .unwrap();
    rds.start_export_task()
        .export_task_identifier("snaplake-console-1")
        .source_arn(snapshot.db_cluster_snapshot_arn().unwrap())
        .s3_bucket_name(BUCKET)
        // Under the export prefix: the functions' roles may list and read
        // exports there only (an export elsewhere is AccessDenied, as on AWS).
        .s3_prefix("exports/by-hand")
        .iam_role_arn(d.run_input["export"]["export_role_arn"].as_str().unwrap())
        .kms_key_id(d.run_input["export"]["kms_key"].as_str().unwrap())
        .send()
        .await
        .unwrap();

    // Old data stamped with a later (or a future) day is refused before
    // anything starts: it would freeze the curated tables.
    for day in ["2026-11-25", "2030-01-01"] {
        let out = snaplake(&d, &["publish", "--export-id", "snaplake-console-1", "--date", day]);
        assert_eq!(out.code, 2, "{day}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!("--date {day}")) && out.stderr.contains("2026-11-20T18:00:00Z"),
            "{day}: {}",
            out.stderr
        );
    }
    assert!(executions(&d).await.is_empty(), "a refused publish started a run");

    let args = [
        "publish",
        "--export-id",
        "snaplake-console-1",
        "--wait",
        "--poll-seconds",
        "1",
    ];
    let out = snaplake(&d, &args).expect(0);
    assert!(
        out.stdout.contains("publish-snaplake-console-1: SUCCEEDED"),
        "{}",
        out.stdout
    );
    assert_eq!(
        export_ids(&d).await,
        ["snaplake-console-1"],
        "nothing else was exported"
    );
    let orders = d
        .standin
        .clients
        .glue
        .get_table()
        .database_name("snaplake_curated")
        .name("shop_orders")
        .send()
        .await
        .unwrap();
    let parameters = orders.table().unwrap().parameters().unwrap();
    assert_eq!(parameters["snaplake.export_id"], "snaplake-console-1");
    // Published as the day its snapshot was taken (03:00 Tokyo, the 21st).
    assert_eq!(parameters["snaplake.logical_day"], "2026-11-21");

    let again = snaplake(&d, &args[..3]).expect(0);
    assert!(again.stdout.contains("nothing to do"), "{}", again.stdout);
}

#[tokio::test]
async fn plan_shows_what_a_day_would_do_and_changes_nothing() {
    let d = deploy("cli-plan", BUCKET).await;
    snaplake(&d, &["run", "--date", "2026-11-21", "--wait", "--poll-seconds", "1"]).expect(0);
    snapshot(&d, "2026-11-20");

    let before = state(&d).await;
    let plan = snaplake(&d, &["-o", "json", "plan", "--date", "2026-11-20"])
        .expect(0)
        .json();
    let unknown_day = snaplake(&d, &["-o", "json", "plan", "--date", "2026-11-01"])
        .expect(0)
        .json();
    let text = snaplake(&d, &["plan", "--date", "2026-11-21"]).expect(0).stdout;
    assert_eq!(before, state(&d).await, "a plan changed something");

    let export = &plan["export"];
    assert_eq!(export["snapshot"]["id"], "rds:shop-prod-2026-11-20-03-00", "{plan:#}");
    assert!(export["export_id"].as_str().unwrap().ends_with("-20261120"));
    assert_eq!(export["existing_export"], Value::Null);
    assert!(
        export["destination"]
            .as_str()
            .unwrap()
            .starts_with(&format!("s3://{BUCKET}/exports/shop-prod/2026-11-20/"))
    );
    let customers = find_table(&plan["publish"], "shop_customers");
    assert_eq!(customers["action"], "publish");
    assert!(
        customers["masking"]
            .as_array()
            .unwrap()
            .contains(&json!("email=hash_salted"))
    );
    assert_eq!(customers["row_filter"], "is_active = 1");
    assert!(
        customers["target"]
            .as_str()
            .unwrap()
            .ends_with("/shop_customers/v=20261119T190000Z/")
    );
    assert_eq!(plan["publish"].as_array().unwrap().len(), 3);

    assert_eq!(unknown_day["export"]["snapshot"], Value::Null);
    assert!(
        unknown_day["export"]["snapshot_problem"]
            .as_str()
            .unwrap()
            .contains("no available snapshot")
    );
    assert!(text.contains("already published"), "{text}");
}

#[tokio::test]
async fn rollback_and_gc_change_nothing_unless_confirmed() {
    let d = deploy("cli-catalog", BUCKET).await;
    snapshot(&d, "2026-11-19");
    snapshot(&d, "2026-11-20");
    // One day after the other, so every day's version is in the table's history.
    snaplake(&d, &backfill_19_to_21("1")).expect(0);
    let live = location(&d, "shop_orders").await;
    assert!(live.ends_with("/v=20261120T190000Z/"), "{live}");

    let unconfirmed = snaplake(&d, &["rollback", "--table", "shop_orders"]).expect(5);
    assert!(unconfirmed.stderr.contains("--yes"), "{}", unconfirmed.stderr);
    assert_eq!(location(&d, "shop_orders").await, live);

    snaplake(
        &d,
        &["rollback", "--table", "shop_orders", "--to", "2026-11-19", "--yes"],
    )
    .expect(0);
    assert!(location(&d, "shop_orders").await.ends_with("/v=20261118T190000Z/"));
    snaplake(
        &d,
        &["rollback", "--table", "shop_orders", "--to", "2026-11-21", "--yes"],
    )
    .expect(0);
    assert_eq!(location(&d, "shop_orders").await, live);

    let before = keys(&d).await;
    let dry = snaplake(&d, &["-o", "json", "gc", "--keep", "2", "--dry-run"])
        .expect(0)
        .json();
    let orders = find_table(&dry["succeeded"], "shop_orders");
    let doomed: Vec<&str> = orders["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        doomed.len() == 1 && doomed[0].ends_with("/v=20261118T190000Z/"),
        "{doomed:?}"
    );
    snaplake(&d, &["gc", "--keep", "2"]).expect(5);
    assert_eq!(
        keys(&d).await,
        before,
        "neither a dry run nor an unconfirmed gc deletes"
    );

    snaplake(&d, &["gc", "--keep", "2", "--yes"]).expect(0);
    let after = keys(&d).await;
    assert!(!after.iter().any(|k| k.contains("/v=20261118T190000Z/")), "{after:?}");
    assert!(after.iter().any(|k| k.contains("shop_orders/v=20261120T190000Z/")));
}

#[tokio::test]
async fn doctor_passes_a_good_deployment_and_names_the_fix_for_a_missing_role() {
    let d = deploy("cli-doctor", BUCKET).await;
    let checks = snaplake(&d, &["-o", "json", "doctor", "--date", "2026-11-21"]).json();
    let failed = failed_checks(&checks);
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(checks.as_array().unwrap().len(), 15);
    let named = |name: &str| checks.as_array().unwrap().iter().find(|c| c["check"] == name).cloned();
    assert!(
        named("masking policy").unwrap()["detail"]
            .as_str()
            .unwrap()
            .contains("pinned, sha256"),
        "{checks:#}"
    );
    assert!(
        named("hash salt").unwrap()["detail"]
            .as_str()
            .unwrap()
            .contains("has a current value (not read)"),
        "{checks:#}"
    );
    assert!(
        !checks.to_string().contains(snaplake_tests::TEST_SALT),
        "the salt is never shown"
    );

    // An operator who may not read the salt still sees that it is there.
    let iam = aws_sdk_iam::Client::new(&d.standin.sdk);
    let user = format!("{}-operator", d.stack);
    iam.create_user().user_name(&user).send().await.unwrap();
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]});
    iam.put_user_policy()
        .user_name(&user)
        .policy_name("no-salt")
        .policy_document(policy.to_string())
        .send()
        .await
        .unwrap();
    let key = iam.create_access_key().user_name(&user).send().await.unwrap();
    let key = key.access_key().unwrap();
    let as_operator = snaplake_as(
        &d,
        (key.access_key_id(), key.secret_access_key()),
        &["-o", "json", "doctor", "--date", "2026-11-21"],
    )
    .json();
    let salt = as_operator
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "hash salt")
        .unwrap();
    assert_eq!(salt["passed"], json!(true), "{salt:#}");

    // A disabled curated key fails every Transform: doctor names it and the fix.
    let curated = snaplake_tests::workgroup_key(&d.standin.context(BUCKET)).await;
    let kms = &d.standin.clients.kms;
    let key_id = curated.rsplit('/').next().unwrap(); // moto 5.2.5 disables by id, not ARN
    kms.disable_key().key_id(key_id).send().await.unwrap();
    let checks = snaplake(&d, &["-o", "json", "doctor", "--date", "2026-11-21"])
        .expect(1)
        .json();
    kms.enable_key().key_id(key_id).send().await.unwrap();
    let failed = failed_checks(&checks);
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(failed[0]["check"], "curated key");
    assert!(
        failed[0]["detail"].as_str().unwrap().contains(&curated),
        "{:#}",
        failed[0]
    );
    assert!(
        failed[0]["fix"].as_str().unwrap().contains("enable the key"),
        "{:#}",
        failed[0]
    );

    // A bucket that does not send its events to EventBridge never wakes a run.
    d.standin
        .clients
        .s3
        .put_bucket_notification_configuration()
        .bucket(BUCKET)
        .notification_configuration(aws_sdk_s3::types::NotificationConfiguration::builder().build())
        .send()
        .await
        .unwrap();
    let checks = snaplake(&d, &["-o", "json", "doctor", "--date", "2026-11-21"])
        .expect(1)
        .json();
    let failed = failed_checks(&checks);
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(failed[0]["check"], "eventbridge");
    assert!(
        failed[0]["fix"].as_str().unwrap().contains("EventBridgeConfiguration"),
        "{:#}",
        failed[0]
    );
    d.standin
        .clients
        .s3
        .put_bucket_notification_configuration()
        .bucket(BUCKET)
        .notification_configuration(
            aws_sdk_s3::types::NotificationConfiguration::builder()
                .event_bridge_configuration(aws_sdk_s3::types::EventBridgeConfiguration::builder().build())
                .build(),
        )
        .send()
        .await
        .unwrap();

    // A schedule whose input snapshot-export would refuse is named by the
    // function's own rule, not by whatever RDS answers.
    let scheduler = aws_sdk_scheduler::Client::new(&d.standin.sdk);
    let replace = |input: Value| {
        let scheduler = scheduler.clone();
        let (standin, stack, machine) = (&d.standin, d.stack.clone(), d.machine.clone());
        async move {
            let name = format!("{stack}-daily");
            scheduler.delete_schedule().name(&name).send().await.unwrap();
            snaplake_tests::schedule(standin, &stack, &machine, &input).await;
        }
    };
    let mut bad = d.run_input.clone();
    bad["logical_time"] = json!("<aws.scheduler.scheduled-time>");
    bad["export"]["source_id"] = json!("shop prod;drop");
    replace(bad).await;
    let checks = snaplake(&d, &["-o", "json", "doctor", "--date", "2026-11-21"])
        .expect(1)
        .json();
    let failed = failed_checks(&checks);
    let schedule = failed
        .iter()
        .find(|c| c["check"] == "schedule input")
        .expect("the schedule input fails");
    assert!(
        schedule["detail"].as_str().unwrap().contains("source_id"),
        "{schedule:#}"
    );
    let mut good = d.run_input.clone();
    good["logical_time"] = json!("<aws.scheduler.scheduled-time>");
    replace(good).await;

    let iam = aws_sdk_iam::Client::new(&d.standin.sdk);
    let role = "cli-doctor-rds-export";
    iam.delete_role_policy()
        .role_name(role)
        .policy_name("write-exports")
        .send()
        .await
        .unwrap();
    iam.delete_role().role_name(role).send().await.unwrap();
    let out = snaplake(&d, &["-o", "json", "doctor", "--date", "2026-11-21"]).expect(1);
    let checks = out.json();
    let failed = failed_checks(&checks);
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(failed[0]["check"], "export role");
    assert!(
        failed[0]["fix"].as_str().unwrap().contains("Terraform"),
        "{:#}",
        failed[0]
    );

    let text = snaplake(&d, &["--stack", "nope", "doctor"]).expect(1).stdout;
    assert!(text.contains("FAIL  stack"), "{text}");
}

#[tokio::test]
async fn a_key_aws_does_not_know_is_named_in_one_line_with_the_fix() {
    let d = deploy("cli-bad-key", BUCKET).await;
    let out = snaplake_as(
        &d,
        ("AKIAUNKNOWNUNKNOWN00", "not-the-secret"),
        &["status", "--last", "1"],
    );
    assert_eq!(out.code, 4, "AWS refused: {} {}", out.stdout, out.stderr);
    let line = out.stderr.trim();
    assert!(!line.contains('\n') && line.len() < 400, "one short line: {line}");
    assert!(
        line.contains("(UnrecognizedClientException): The security token included in the request is invalid")
            || line.contains("(InvalidClientTokenId): The security token included in the request is invalid"),
        "{line}"
    );
    assert!(line.contains("Fix: the access key is not known here"), "{line}");
}

#[tokio::test]
async fn help_teaches_and_completions_print() {
    let d = deploy("cli-help", BUCKET).await;
    let help = snaplake(&d, &["--help"]).expect(0).stdout;
    for word in ["backfill", "doctor", "Exit codes", "--stack"] {
        assert!(help.contains(word), "{word}: {help}");
    }
    let bash = snaplake(&d, &["completions", "bash"]).expect(0).stdout;
    assert!(bash.contains("_snaplake") && bash.contains("backfill"), "{bash}");
}

#[tokio::test]
async fn policy_init_writes_a_complete_policy_and_check_names_columns_without_a_rule() {
    let d = deploy("cli-policy", BUCKET).await;
    snaplake(&d, &["run", "--date", "2026-11-21", "--wait", "--poll-seconds", "1"]).expect(0);

    let init = snaplake(&d, &["policy", "init"]).expect(0).json();
    let tables = init["tables"].as_object().unwrap();
    assert_eq!(tables.len(), 3, "every raw table: {init:#}");
    let customers = &init["tables"]["shop.customers"];
    assert_eq!(
        customers["columns"].as_object().unwrap().len(),
        9,
        "every column: {customers:#}"
    );
    assert_eq!(customers["columns"]["email"], "hash_salted");
    assert_eq!(customers["columns"]["full_name"], "drop");
    // What snaplake cannot classify is never `keep`, and every column is to review.
    assert_eq!(customers["columns"]["id"], "drop");
    assert_eq!(
        customers["review"].as_object().unwrap().len(),
        9,
        "every column is marked for review: {customers:#}"
    );

    let dir = std::env::temp_dir().join(format!("snaplake-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let unreviewed = dir.join("unreviewed.json");
    std::fs::write(&unreviewed, init.to_string()).unwrap();
    let out = snaplake(&d, &["policy", "check", "--file", unreviewed.to_str().unwrap()]).expect(2);
    assert!(
        out.stderr.contains("tables.shop.customers.review:") && out.stderr.contains("email"),
        "{}",
        out.stderr
    );

    // Reviewed: every note removed, the rules decided.
    let mut reviewed = init.clone();
    for table in reviewed["tables"].as_object_mut().unwrap().values_mut() {
        table.as_object_mut().unwrap().remove("review");
        table["columns"]["id"] = json!("keep");
    }
    let complete = dir.join("complete.json");
    std::fs::write(&complete, reviewed.to_string()).unwrap();
    snaplake(&d, &["policy", "check", "--file", complete.to_str().unwrap()]).expect(0);

    let mut incomplete = reviewed.clone();
    incomplete["tables"]["shop.customers"]["columns"]
        .as_object_mut()
        .unwrap()
        .remove("phone");
    let file = dir.join("incomplete.json");
    std::fs::write(&file, incomplete.to_string()).unwrap();
    let out = snaplake(&d, &["policy", "check", "--file", file.to_str().unwrap()]).expect(2);
    assert!(
        out.stderr.contains("tables.shop.customers.columns") && out.stderr.contains("phone"),
        "{}",
        out.stderr
    );
    // The deployment's own (pinned) policy is complete for the sample.
    snaplake(&d, &["policy", "check"]).expect(0);
    std::fs::remove_dir_all(&dir).ok();
}
