//! `snaplake status`: for each run, the export's progress, where the
//! execution is, and what happened to every table.

use std::process::ExitCode;

use jiff::Timestamp;
use serde_json::{Value, json};
use snaplake::contract::run_report::TableReport;
use snaplake::metrics;

use super::exit;
use crate::args::{Format, StatusArgs};
use crate::failure::Failure;
use crate::output::{self, Table};
use crate::runs::{self, Execution};
use crate::stack::Stack;

/// Recent executions looked through for a day's runs started by the schedule
/// (their names are not the day's).
const SCAN_FOR_DAY: usize = 50;

pub async fn status(stack: &Stack, args: &StatusArgs, format: Format) -> Result<ExitCode, Failure> {
    let executions = match args.date {
        Some(day) => {
            let mut found = runs::attempts(stack, &stack.export_id(day)?).await?;
            for arn in runs::recent(stack, SCAN_FOR_DAY).await? {
                if found.iter().any(|e| e.arn == arn) {
                    continue;
                }
                if let Some(e) = runs::describe(stack, &arn).await?
                    && e.logical_time().map(|t| stack.day_of(t)) == Some(day)
                {
                    found.push(e);
                }
            }
            if found.is_empty() {
                return Err(Failure::not_found(
                    format!("a run of {day}"),
                    format!("start one with `snaplake run --date {day}`"),
                ));
            }
            found.sort_by(|a, b| a.started.cmp(&b.started));
            found
        }
        None => {
            let mut found = Vec::new();
            for arn in runs::recent(stack, args.last).await? {
                found.extend(runs::describe(stack, &arn).await?);
            }
            found
        }
    };
    let detailed = args.date.is_some();
    let mut summaries = Vec::new();
    for e in &executions {
        let mut s = summary(stack, e).await?;
        if detailed {
            points_now(stack, &mut s).await?;
        }
        summaries.push(s);
    }
    let ok = executions.iter().all(|e| e.running() || e.succeeded());
    output::print(format, &Value::Array(summaries.clone()), || {
        render(&summaries, detailed)
    });
    Ok(exit(ok))
}

async fn summary(stack: &Stack, e: &Execution) -> Result<Value, Failure> {
    let day = e.logical_time().map(|t| stack.day_of(t));
    // The run's own export (a retry exports under the day's next attempt id),
    // or the one `publish` named, or the day's newest attempt.
    let run_export = e.output.as_ref().and_then(|o| o["run"]["export_id"].as_str());
    let export_id = match (run_export.or(e.input["export"]["export_id"].as_str()), day) {
        (Some(id), _) => Some(id.to_string()),
        (None, Some(day)) => Some(runs::newest_export_attempt(stack, &stack.export_id(day)?).await?),
        (None, None) => None,
    };
    let export = match &export_id {
        Some(id) => runs::export_state(stack, id).await?,
        None => Value::Null,
    };
    let step = if e.succeeded() {
        None
    } else {
        runs::current_step(stack, &e.arn).await?
    };
    let runs::RunRecord { tables, cost, lineage } = if e.running() {
        runs::RunRecord {
            tables: Vec::new(),
            cost: Value::Null,
            lineage: Value::Null,
        }
    } else {
        runs::run_record(stack, e).await?
    };
    let delay = publish_delay(e, &tables);
    let manifest =
        runs::manifest_location(stack, e).map(|(bucket, key)| snaplake::catalog::run_manifest::uri(&bucket, &key));
    Ok(json!({
        "manifest": if tables.is_empty() { None } else { manifest },
        "day": day.map(|d| d.to_string()),
        "execution": e,
        "step": step,
        "export": export,
        "tables": tables,
        "publish_delay_seconds": delay,
        "cost": cost,
        "lineage": lineage,
    }))
}

/// Where each table of the run points now (`live`), read from the catalog:
/// a rollback, or a later day, may have moved it since the run.
async fn points_now(stack: &Stack, summary: &mut Value) -> Result<(), Failure> {
    let database = &stack.env.config.curated_database;
    for t in summary["tables"].as_array_mut().into_iter().flatten() {
        let Some(table) = t["table"].as_str().map(str::to_string) else {
            continue;
        };
        let live = snaplake::aws::glue::get_table(&stack.env.clients.glue, database, &table).await?;
        t["live"] = json!(live.and_then(|l| l.location));
    }
    Ok(())
}

/// What the NOW column says: `same` while the table still points where the
/// run left it, else where it points (or that it is gone).
fn now(t: &Value) -> String {
    match (t["live"].as_str(), t["location"].as_str()) {
        (Some(live), Some(left)) if live == left => "same".into(),
        (Some(live), _) => live.to_string(),
        (None, _) if t.get("live").is_some() => "no table".into(),
        (None, _) => "-".into(),
    }
}

/// Seconds from the export's COMPLETE to the end of a run that gave tables
/// a new version (its report follows the last table published): the metric
/// `PublishDelay`. None for a run still going, failed, or that published
/// nothing new (a re-run's export completed long before).
fn publish_delay(e: &Execution, tables: &[Value]) -> Option<i64> {
    let completed: Timestamp = e.output.as_ref()?["check"]["poll"]["completed_at"]
        .as_str()?
        .parse()
        .ok()?;
    let stopped: Timestamp = e.stopped.as_deref()?.parse().ok()?;
    let reports: Vec<TableReport> = tables
        .iter()
        .filter_map(|t| serde_json::from_value(t.clone()).ok())
        .collect();
    (metrics::count(&reports, 0).new_versions > 0).then(|| stopped.as_second() - completed.as_second())
}

/// The COST column: the run's total at the deployment's prices, or `-`
/// when its manifest records none.
fn dollars(cost: &Value) -> String {
    match cost["total_usd"].as_f64() {
        Some(usd) => format!("${usd:.4}"),
        None => "-".into(),
    }
}

/// The detailed view's line on what a run cost, by service, with the usage
/// each part is priced from; None when its manifest records no cost.
fn cost_line(cost: &Value) -> Option<String> {
    let total = cost["total_usd"].as_f64()?;
    let usd = |k: &str| cost[k].as_f64().unwrap_or(0.0);
    let n = |k: &str| cost["usage"][k].as_u64().unwrap_or(0);
    let export = match (cost["rds_export_usd"].as_f64(), cost["usage"]["snapshot_gb"].as_u64()) {
        (Some(dollars), Some(gb)) => format!("export ${dollars:.4} ({gb} GB of snapshot)"),
        _ => "export not known".into(),
    };
    Some(format!(
        "${total:.4} at {} prices of {}: Athena ${:.4} ({} queries, {:.1} MB billed), \
         Step Functions ${:.4} ({} transitions), Lambda ${:.4} ({} requests), {export}",
        cost["prices"]["region"].as_str().unwrap_or("?"),
        cost["prices"]["as_of"].as_str().unwrap_or("?"),
        usd("athena_usd"),
        n("athena_queries"),
        n("athena_billed_bytes") as f64 / 1e6,
        usd("step_functions_usd"),
        n("state_transitions"),
        usd("lambda_usd"),
        n("lambda_requests"),
    ))
}

/// The detailed view's line on the run's lineage: how many of its events the
/// Glue Data Catalog took, where they are kept, and the first problem; None
/// when its manifest records no lineage.
fn lineage_line(lineage: &Value) -> Option<String> {
    let posted = lineage["posted"].as_u64()?;
    let kept = match lineage["events"].as_str() {
        Some(uri) => format!("events at {uri}"),
        None => "events not written".into(),
    };
    let problems = lineage["problems"].as_array().cloned().unwrap_or_default();
    let first = problems.first().and_then(Value::as_str).map(|p| {
        let more = if problems.len() > 1 {
            format!(" (and {} more)", problems.len() - 1)
        } else {
            String::new()
        };
        format!("; {p}{more}")
    });
    Some(format!(
        "{posted} end event(s) posted to the Glue Data Catalog, {kept}{}",
        first.unwrap_or_default()
    ))
}

fn render(summaries: &[Value], detailed: bool) -> String {
    let mut runs = Table::new(&[
        "DAY",
        "EXECUTION",
        "STATE",
        "STEP",
        "EXPORT",
        "TABLES",
        "EXPORT TO PUBLISHED",
        "COST",
        "ERROR",
    ]);
    let mut causes = String::new();
    let mut manifests = String::new();
    let mut records = String::new(); // each run's cost and lineage lines
    let mut tables = Table::new(&["DAY", "TABLE", "OUTCOME", "NOW", "DETAIL"]);
    for s in summaries {
        let day = s["day"].as_str().unwrap_or("-").to_string();
        let list = s["tables"].as_array().cloned().unwrap_or_default();
        let failed = list.iter().filter(|t| t["failed"] == json!(true)).count();
        let export = match s["export"]["status"].as_str() {
            Some("IN_PROGRESS") => format!("IN_PROGRESS {}%", s["export"]["percent"]),
            Some(status) => status.to_string(),
            None => "-".into(),
        };
        runs.row(vec![
            day.clone(),
            s["execution"]["name"].as_str().unwrap_or("-").to_string(),
            s["execution"]["status"].as_str().unwrap_or("-").to_string(),
            output::or_dash(s["step"].as_str()),
            export,
            if list.is_empty() {
                "-".into()
            } else {
                format!("{} ok, {failed} failed", list.len() - failed)
            },
            match s["publish_delay_seconds"].as_i64() {
                Some(d) => format!("{}m{:02}s", d / 60, d % 60),
                None => "-".into(),
            },
            dollars(&s["cost"]),
            output::or_dash(s["execution"]["error"].as_str()),
        ]);
        if let Some(manifest) = s["manifest"].as_str() {
            manifests += &format!(
                "{} {}: every table's record: {manifest}\n",
                day,
                s["execution"]["name"].as_str().unwrap_or("-")
            );
        }
        if let Some(line) = cost_line(&s["cost"]) {
            records += &format!(
                "{} {}: cost {line}\n",
                day,
                s["execution"]["name"].as_str().unwrap_or("-")
            );
        }
        if let Some(line) = lineage_line(&s["lineage"]) {
            records += &format!(
                "{} {}: lineage {line}\n",
                day,
                s["execution"]["name"].as_str().unwrap_or("-")
            );
        }
        if let Some(cause) = s["execution"]["cause"].as_str() {
            causes += &format!("{} {}: {cause}\n", day, s["execution"]["name"].as_str().unwrap_or("-"));
        }
        for t in &list {
            let (outcome, detail) = if t["failed"] == json!(true) {
                (
                    "failed".to_string(),
                    format!(
                        "{}: {}",
                        t["error"].as_str().unwrap_or("?"),
                        t["cause"].as_str().unwrap_or_default()
                    ),
                )
            } else {
                (
                    t["outcome"].as_str().unwrap_or("?").to_string(),
                    t["location"].as_str().unwrap_or_default().to_string(),
                )
            };
            tables.row(vec![
                day.clone(),
                t["table"].as_str().unwrap_or("?").to_string(),
                outcome,
                now(t),
                detail.lines().next().unwrap_or_default().to_string(),
            ]);
        }
    }
    let mut text = runs.render();
    if detailed {
        if !causes.is_empty() {
            text += &format!("\n{causes}");
        }
        if tables.rows() > 0 {
            text += "\n";
            text += &tables.render();
        }
        if !manifests.is_empty() {
            text += &format!("\n{manifests}");
        }
        if !records.is_empty() {
            text += &format!("\n{records}");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(output: Option<Value>, stopped: Option<&str>) -> Execution {
        Execution {
            name: "run-x".into(),
            arn: "arn".into(),
            status: "SUCCEEDED".into(),
            started: "2026-11-20T19:00:00Z".into(),
            stopped: stopped.map(str::to_string),
            input: Value::Null,
            output,
            error: None,
            cause: None,
        }
    }

    #[test]
    fn the_cost_column_is_the_runs_total_or_a_dash() {
        assert_eq!(dollars(&json!({"total_usd": 0.013_456})), "$0.0135");
        assert_eq!(dollars(&Value::Null), "-", "a manifest without a cost");
    }

    #[test]
    fn the_detailed_view_prices_each_service_from_its_usage() {
        let cost = json!({"total_usd": 0.0107, "athena_usd": 0.0001, "step_functions_usd": 0.000575,
            "lambda_usd": 0.000003, "rds_export_usd": 0.01,
            "usage": {"athena_queries": 2, "athena_billed_bytes": 20_000_000, "state_transitions": 23,
                      "lambda_requests": 15, "snapshot_gb": 1},
            "prices": {"region": "us-east-1", "as_of": "2026-12-01"}});
        assert_eq!(
            cost_line(&cost).unwrap(),
            "$0.0107 at us-east-1 prices of 2026-12-01: Athena $0.0001 (2 queries, 20.0 MB billed), \
             Step Functions $0.0006 (23 transitions), Lambda $0.0000 (15 requests), export $0.0100 (1 GB of snapshot)"
        );
        let published = json!({"total_usd": 0.0007, "usage": {}, "rds_export_usd": null, "prices": {}});
        assert!(cost_line(&published).unwrap().ends_with("export not known"));
        assert_eq!(cost_line(&Value::Null), None);
    }

    #[test]
    fn the_detailed_view_says_what_lineage_was_posted_and_the_first_problem() {
        let told = json!({"events": "s3://lake/_snaplake/runs/2026-11-21/r.lineage.json", "posted": 1});
        assert_eq!(
            lineage_line(&told).unwrap(),
            "1 end event(s) posted to the Glue Data Catalog, events at s3://lake/_snaplake/runs/2026-11-21/r.lineage.json"
        );
        let refused = json!({"posted": 0, "problems": ["PostLineageEvent (Complete, 900 bytes): refused", "b"]});
        assert_eq!(
            lineage_line(&refused).unwrap(),
            "0 end event(s) posted to the Glue Data Catalog, events not written; \
             PostLineageEvent (Complete, 900 bytes): refused (and 1 more)"
        );
        assert_eq!(lineage_line(&Value::Null), None, "a manifest written before lineage");
    }

    #[test]
    fn now_says_same_until_the_table_points_elsewhere() {
        let left = "s3://lake/curated/t/v=2/";
        assert_eq!(now(&json!({"location": left, "live": left})), "same");
        assert_eq!(
            now(&json!({"location": left, "live": "s3://lake/curated/t/v=1/"})),
            "s3://lake/curated/t/v=1/"
        );
        assert_eq!(now(&json!({"location": left, "live": null})), "no table");
        assert_eq!(now(&json!({"location": left})), "-", "not read (no --date)");
    }

    #[test]
    fn the_delay_runs_from_the_exports_complete_to_the_end_of_a_run_that_published() {
        let output = json!({"check": {"poll": {"completed_at": "2026-11-20T19:20:00Z"}}});
        let created = [json!({"table": "a", "outcome": "created"})];
        let e = run(Some(output.clone()), Some("2026-11-20T19:32:05Z"));
        assert_eq!(publish_delay(&e, &created), Some(725));
        let unchanged = [json!({"table": "a", "outcome": "unchanged"})];
        assert_eq!(publish_delay(&e, &unchanged), None, "a re-run published nothing new");
        assert_eq!(publish_delay(&run(Some(output), None), &created), None, "still running");
        assert_eq!(
            publish_delay(&run(None, Some("2026-11-20T19:32:05Z")), &created),
            None,
            "failed"
        );
    }
}
