//! CloudWatch metrics as Embedded Metric Format (EMF) log lines: a function
//! writes one JSON document per line to stdout, Lambda sends it to CloudWatch
//! Logs, and CloudWatch Logs extracts the metrics. No API call, no
//! `cloudwatch:PutMetricData` permission.
//!
//! The document, per AWS's specification ("Specification: Embedded metric
//! format", CloudWatch user guide): a root object whose `_aws` member holds
//! `Timestamp` (milliseconds since the epoch) and `CloudWatchMetrics`, an
//! array of directives `{Namespace, Dimensions: [[keys]], Metrics: [{Name,
//! Unit}]}`; every dimension key and metric name is itself a member of the
//! root (a string for a dimension, a number for a metric). The log event must
//! be that JSON object alone, so the line is printed as it is, never as a
//! field of a tracing event.
//!
//! Dimensions stay few: the source (`SourceId`) on every metric, the table
//! (`Table`) only on rows. The alarms and the dashboard of the Terraform
//! module (`infra/modules/snaplake/monitoring.tf`) read these names.

use std::io::Write;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::config::Config;
use crate::contract::run_report::{RunCounts, TableOutcome, TableReport};
use crate::logical_time::LogicalTime;

pub const NAMESPACE: &str = "Snaplake";
pub const SOURCE: &str = "SourceId";
pub const TABLE: &str = "Table";

/// Tables of a run published (`created`, `swapped`, or already live: `unchanged`).
pub const TABLES_PUBLISHED: &str = "TablesPublished";
/// Tables the quality gate kept on their live version.
pub const TABLES_HELD: &str = "TablesHeld";
pub const TABLES_FAILED: &str = "TablesFailed";
/// Tables not published by design: not in the policy (`skipped`), a newer
/// run's (`superseded`), or not exported with `on_table_failure: skip`.
pub const TABLES_SKIPPED: &str = "TablesSkipped";
/// 1 when a run's report found no failed table, else 0.
pub const RUN_SUCCEEDED: &str = "RunSucceeded";
/// Seconds from a run's logical (scheduled) time to its report, stamped at
/// the logical time: the deadline alarm reads it there.
pub const RUN_DURATION: &str = "RunDuration";
/// Seconds from the export's COMPLETE to the report, which follows the last
/// table published; only when this run published a new version.
pub const PUBLISH_DELAY: &str = "PublishDelay";
/// Seconds from the logical time of the oldest live version among the
/// policy's tables to the report.
pub const OLDEST_LIVE_VERSION_AGE: &str = "OldestLiveVersionAge";
/// Seconds the export took (RDS's task start to task end).
pub const EXPORT_DURATION: &str = "ExportDuration";
/// Rows of a table's new version (verification's count).
pub const ROWS: &str = "Rows";
/// Bytes an Athena query scanned (transform or verification).
pub const BYTES_SCANNED: &str = "BytesScanned";
/// What a run cost in US dollars at the deployment's prices (`crate::cost`),
/// stamped at its report.
pub const RUN_COST: &str = "RunCostUSD";

/// Every metric the functions publish.
pub const ALL: &[&str] = &[
    TABLES_PUBLISHED,
    TABLES_HELD,
    TABLES_FAILED,
    TABLES_SKIPPED,
    RUN_SUCCEEDED,
    RUN_DURATION,
    PUBLISH_DELAY,
    OLDEST_LIVE_VERSION_AGE,
    EXPORT_DURATION,
    ROWS,
    BYTES_SCANNED,
    RUN_COST,
];

/// CloudWatch units snaplake uses (the specification accepts CloudWatch's
/// standard units).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    Seconds,
    Bytes,
    /// A figure with no CloudWatch unit (dollars).
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Seconds => "Seconds",
            Unit::Bytes => "Bytes",
            Unit::None => "None",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: Unit,
    pub value: f64,
}

impl Metric {
    pub fn new(name: &'static str, unit: Unit, value: f64) -> Self {
        Metric { name, unit, value }
    }
}

/// One EMF document: metrics sharing a time and dimensions. `dimension_sets`
/// lists the combinations CloudWatch aggregates by (each a list of keys of
/// `dimensions`).
#[derive(Clone, Debug, PartialEq)]
pub struct Emf {
    pub timestamp: Timestamp,
    pub dimensions: Vec<(&'static str, String)>,
    pub dimension_sets: Vec<Vec<&'static str>>,
    pub metrics: Vec<Metric>,
}

impl Emf {
    /// Metrics of a source, aggregated by source only.
    pub fn for_source(timestamp: Timestamp, source: &str, metrics: Vec<Metric>) -> Self {
        Emf {
            timestamp,
            dimensions: vec![(SOURCE, source.to_string())],
            dimension_sets: vec![vec![SOURCE]],
            metrics,
        }
    }

    /// The document as one line of JSON.
    pub fn to_line(&self) -> String {
        let mut root = Map::new();
        let names: Vec<Value> = self
            .metrics
            .iter()
            .map(|m| json!({"Name": m.name, "Unit": m.unit.as_str()}))
            .collect();
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": self.timestamp.as_millisecond(),
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": self.dimension_sets,
                    "Metrics": names,
                }],
            }),
        );
        for (key, value) in &self.dimensions {
            root.insert((*key).into(), json!(value));
        }
        for m in &self.metrics {
            root.insert(m.name.into(), number(m.value));
        }
        Value::Object(root).to_string()
    }

    /// Writes the document to stdout as a line of its own (nothing when it
    /// holds no metric). A metric is never worth failing a step for: a write
    /// error is ignored.
    pub fn emit(&self) {
        if self.metrics.is_empty() {
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", self.to_line());
        let _ = out.flush();
    }
}

/// Whole numbers as integers (`3`, not `3.0`); JSON numbers either way.
fn number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9e15 {
        json!(value as i64)
    } else {
        json!(value)
    }
}

/// The `SourceId` dimension: the source the deployment pins.
pub fn source(config: &Config) -> &str {
    config.pinned_source_id.as_deref().unwrap_or("unpinned")
}

fn seconds_between(from: Timestamp, to: Timestamp) -> f64 {
    (to.as_millisecond() - from.as_millisecond()) as f64 / 1000.0
}

/// export-poller, once the export is COMPLETE: how long RDS took.
pub fn export_duration(source: &str, now: Timestamp, started: Option<Timestamp>, ended: Option<Timestamp>) -> Emf {
    let metrics = match (started, ended) {
        (Some(s), Some(e)) if e >= s => vec![Metric::new(EXPORT_DURATION, Unit::Seconds, seconds_between(s, e))],
        _ => Vec::new(),
    };
    Emf::for_source(now, source, metrics)
}

/// query-runner, once a table's verification passed: its rows, by source
/// and by table. `None` when the verification gave no count.
pub fn table_rows(source: &str, now: Timestamp, table: &str, header: &[String], row: &[Option<String>]) -> Emf {
    let rows = header
        .iter()
        .position(|h| h == "actual_rows")
        .and_then(|i| row.get(i)?.as_deref()?.parse::<f64>().ok());
    Emf {
        timestamp: now,
        dimensions: vec![(SOURCE, source.to_string()), (TABLE, table.to_string())],
        dimension_sets: vec![vec![SOURCE], vec![SOURCE, TABLE]],
        metrics: rows.map(|r| Metric::new(ROWS, Unit::Count, r)).into_iter().collect(),
    }
}

/// query-runner, once a query ended: the bytes it scanned.
pub fn bytes_scanned(source: &str, now: Timestamp, bytes: i64) -> Emf {
    Emf::for_source(now, source, vec![Metric::new(BYTES_SCANNED, Unit::Bytes, bytes as f64)])
}

/// Counts the flat entries of a report (`{"table", "outcome"}` or
/// `{"table", "failed": true}`); `not_exported` tables count as skipped.
pub fn count(entries: &[TableReport], not_exported: usize) -> RunCounts {
    let mut c = RunCounts {
        skipped: not_exported,
        ..RunCounts::default()
    };
    for entry in entries {
        if entry.failed {
            c.failed += 1;
            continue;
        }
        match entry.outcome {
            Some(TableOutcome::Created | TableOutcome::Swapped) => {
                c.published += 1;
                c.new_versions += 1;
            }
            Some(TableOutcome::Unchanged) => c.published += 1,
            Some(TableOutcome::Held) => c.held += 1,
            _ => c.skipped += 1,
        }
    }
    c
}

/// The tables a report names that the policy publishes (all but `skipped`):
/// those whose live version's age counts.
pub fn policy_tables(entries: &[TableReport]) -> Vec<&str> {
    entries
        .iter()
        .filter(|e| e.outcome != Some(TableOutcome::Skipped))
        .map(|e| e.table.as_str())
        .collect()
}

/// The logical time of the oldest live version among `tables`, from the
/// curated tables' `snaplake.logical_time` (tables never published have none).
pub fn oldest_live(tables: &[&str], live: &[(String, Option<LogicalTime>)]) -> Option<LogicalTime> {
    live.iter()
        .filter(|(name, _)| tables.contains(&name.as_str()))
        .filter_map(|(_, t)| *t)
        .min()
}

/// What the report knows about the run besides its tables.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RunTimes {
    pub now: Option<Timestamp>,
    pub logical_time: Option<LogicalTime>,
    pub export_completed: Option<Timestamp>,
    pub oldest_live: Option<LogicalTime>,
}

/// The report's metrics: the run's totals now, and its duration stamped at
/// its logical time (a separate document: CloudWatch takes timestamps up to
/// two weeks old, so a backfill's duration is dropped, not its totals).
pub fn run_report(source: &str, counts: &RunCounts, times: RunTimes, cost_usd: Option<f64>) -> Vec<Emf> {
    let now = times.now.unwrap_or_else(Timestamp::now);
    let count = |name, n: usize| Metric::new(name, Unit::Count, n as f64);
    let mut totals = vec![
        count(RUN_SUCCEEDED, usize::from(counts.failed == 0)),
        count(TABLES_PUBLISHED, counts.published),
        count(TABLES_HELD, counts.held),
        count(TABLES_FAILED, counts.failed),
        count(TABLES_SKIPPED, counts.skipped),
    ];
    if let (Some(completed), true) = (times.export_completed, counts.new_versions > 0) {
        totals.push(Metric::new(
            PUBLISH_DELAY,
            Unit::Seconds,
            seconds_between(completed, now),
        ));
    }
    if let Some(oldest) = times.oldest_live {
        totals.push(Metric::new(
            OLDEST_LIVE_VERSION_AGE,
            Unit::Seconds,
            seconds_between(oldest.timestamp(), now),
        ));
    }
    if let Some(usd) = cost_usd {
        totals.push(Metric::new(RUN_COST, Unit::None, usd));
    }
    let mut docs = vec![Emf::for_source(now, source, totals)];
    if let Some(t) = times.logical_time {
        let duration = Metric::new(RUN_DURATION, Unit::Seconds, seconds_between(t.timestamp(), now));
        docs.push(Emf::for_source(t.timestamp(), source, vec![duration]));
    }
    docs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    /// Checks a line against the EMF specification's structure and returns it parsed.
    fn check_emf(line: &str) -> Value {
        assert!(!line.contains('\n'), "one line: {line}");
        let doc: Value = serde_json::from_str(line).unwrap();
        let aws = doc["_aws"].as_object().expect("_aws is an object");
        assert!(aws["Timestamp"].is_i64(), "Timestamp is a number of ms");
        let directives = aws["CloudWatchMetrics"]
            .as_array()
            .expect("CloudWatchMetrics is an array");
        assert!(!directives.is_empty());
        for d in directives {
            let mut keys: Vec<&String> = d.as_object().unwrap().keys().collect();
            keys.sort();
            assert_eq!(keys, ["Dimensions", "Metrics", "Namespace"], "no other members");
            assert_eq!(d["Namespace"], "Snaplake");
            for set in d["Dimensions"].as_array().unwrap() {
                let set = set.as_array().expect("a dimension set is an array of keys");
                assert!(!set.is_empty() && set.len() <= 30);
                for key in set {
                    assert!(
                        doc[key.as_str().unwrap()].is_string(),
                        "dimension {key} is a string member"
                    );
                }
            }
            let metrics = d["Metrics"].as_array().unwrap();
            assert!(!metrics.is_empty() && metrics.len() <= 100);
            for m in metrics {
                let name = m["Name"].as_str().unwrap();
                assert!(ALL.contains(&name), "{name} is one of ALL");
                assert!(["Count", "Seconds", "Bytes", "None"].contains(&m["Unit"].as_str().unwrap()));
                assert!(doc[name].is_number(), "the value of {name} is a number member");
            }
        }
        doc
    }

    #[test]
    fn a_document_follows_the_emf_specification() {
        let emf = table_rows(
            "shop-prod",
            at("2026-11-21T04:10:00Z"),
            "shop_orders",
            &["expected_rows".into(), "actual_rows".into()],
            &[Some("12".into()), Some("12".into())],
        );
        let doc = check_emf(&emf.to_line());
        assert_eq!(doc["_aws"]["Timestamp"], 1_795_234_200_000_i64);
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["SourceId"], ["SourceId", "Table"]])
        );
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "Rows", "Unit": "Count"}])
        );
        assert_eq!(
            (doc["SourceId"].as_str(), doc["Table"].as_str()),
            (Some("shop-prod"), Some("shop_orders"))
        );
        assert_eq!(doc["Rows"], 12, "a whole number stays an integer");
    }

    #[test]
    fn nothing_to_measure_writes_nothing() {
        let now = at("2026-11-21T04:10:00Z");
        assert!(
            table_rows("s", now, "t", &["actual_rows".into()], &[None])
                .metrics
                .is_empty()
        );
        assert!(export_duration("s", now, None, Some(now)).metrics.is_empty());
        let bytes = bytes_scanned("s", now, 1_048_576);
        assert_eq!(check_emf(&bytes.to_line())["BytesScanned"], 1_048_576);
    }

    #[test]
    fn the_export_duration_is_rds_start_to_end() {
        let e = export_duration(
            "shop-prod",
            at("2026-11-21T04:30:00Z"),
            Some(at("2026-11-21T04:00:00Z")),
            Some(at("2026-11-21T04:20:30Z")),
        );
        assert_eq!(check_emf(&e.to_line())["ExportDuration"], 1230);
    }

    fn entries() -> Vec<TableReport> {
        serde_json::from_value(json!([
            {"table": "a", "outcome": "created"},
            {"table": "b", "outcome": "swapped"},
            {"table": "c", "outcome": "unchanged"},
            {"table": "d", "outcome": "held"},
            {"table": "e", "outcome": "skipped"},
            {"table": "f", "outcome": "superseded"},
            {"table": "g", "failed": true, "error": "QueryFailed"},
        ]))
        .unwrap()
    }

    #[test]
    fn a_reports_entries_are_counted_by_outcome() {
        let c = count(&entries(), 2);
        assert_eq!(
            c,
            RunCounts {
                published: 3,
                new_versions: 2,
                held: 1,
                failed: 1,
                skipped: 4
            }
        );
        assert_eq!(policy_tables(&entries()), ["a", "b", "c", "d", "f", "g"]);
    }

    #[test]
    fn the_oldest_live_version_is_among_the_policys_tables_only() {
        let t = |s: &str| Some(LogicalTime::parse(s).unwrap());
        let live = vec![
            ("a".to_string(), t("2026-11-20T19:00:00Z")),
            ("d".to_string(), t("2026-11-15T19:00:00Z")),
            ("removed_from_policy".to_string(), t("2025-01-01T00:00:00Z")),
            ("hand_made".to_string(), None),
        ];
        let entries = entries();
        let tables = policy_tables(&entries);
        assert_eq!(oldest_live(&tables, &live), t("2026-11-15T19:00:00Z"));
        assert_eq!(oldest_live(&["never_published"], &live), None);
    }

    #[test]
    fn a_report_gives_the_totals_now_and_the_duration_at_the_logical_time() {
        let now = at("2026-11-21T05:00:00Z");
        let times = RunTimes {
            now: Some(now),
            logical_time: Some(LogicalTime::parse("2026-11-20T19:00:00Z").unwrap()),
            export_completed: Some(at("2026-11-21T04:20:00Z")),
            oldest_live: Some(LogicalTime::parse("2026-11-15T19:00:00Z").unwrap()),
        };
        let docs = run_report("shop-prod", &count(&entries(), 0), times, Some(0.0123));
        let totals = check_emf(&docs[0].to_line());
        assert_eq!(totals["_aws"]["Timestamp"], now.as_millisecond());
        assert_eq!(totals["RunSucceeded"], 0, "a table failed");
        assert_eq!(
            [
                totals["TablesPublished"].clone(),
                totals["TablesHeld"].clone(),
                totals["TablesFailed"].clone(),
                totals["TablesSkipped"].clone()
            ],
            [json!(3), json!(1), json!(1), json!(2)]
        );
        assert_eq!(totals["PublishDelay"], 2400);
        assert_eq!(totals["OldestLiveVersionAge"], 5 * 86400 + 10 * 3600);
        assert_eq!(totals["RunCostUSD"], 0.0123);
        let duration = check_emf(&docs[1].to_line());
        assert_eq!(duration["_aws"]["Timestamp"], 1_795_201_200_000_i64);
        assert_eq!(duration["RunDuration"], 10 * 3600);

        let rerun: Vec<TableReport> = serde_json::from_value(json!([{"table": "a", "outcome": "unchanged"}])).unwrap();
        let docs = run_report("shop-prod", &count(&rerun, 0), times, None);
        let totals = check_emf(&docs[0].to_line());
        assert_eq!(totals["RunSucceeded"], 1);
        assert!(totals.get("RunCostUSD").is_none(), "no cost, no metric");
        assert!(
            totals.get("PublishDelay").is_none(),
            "a run that published nothing new has no delay to measure"
        );
    }

    /// The module's alarms and dashboard read metrics by name: each must be one the functions publish.
    #[test]
    fn the_modules_alarms_and_dashboard_name_published_metrics() {
        let tf = include_str!("../../infra/modules/snaplake/monitoring.tf");
        let mut named = 0;
        for part in tf.split("metric_name").skip(1) {
            let name = part.split('"').nth(1).unwrap();
            assert!(
                ALL.contains(&name),
                "monitoring.tf names {name}, which no function publishes"
            );
            named += 1;
        }
        for name in ALL {
            assert!(tf.contains(name), "the dashboard shows {name}");
        }
        assert!(named >= 3, "the alarms name their metrics");
    }
}
