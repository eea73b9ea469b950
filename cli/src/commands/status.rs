//! `snaplake status`: for each run, the export's progress, where the
//! execution is, and what happened to every table.

use std::process::ExitCode;

use serde_json::{Value, json};

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
    let mut summaries = Vec::new();
    for e in &executions {
        summaries.push(summary(stack, e).await?);
    }
    let ok = executions.iter().all(|e| e.running() || e.succeeded());
    let detailed = args.date.is_some();
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
    let tables = if e.running() {
        Vec::new()
    } else {
        runs::table_outcomes(stack, e).await?
    };
    Ok(json!({
        "day": day.map(|d| d.to_string()),
        "execution": e,
        "step": step,
        "export": export,
        "tables": tables,
    }))
}

fn render(summaries: &[Value], detailed: bool) -> String {
    let mut runs = Table::new(&["DAY", "EXECUTION", "STATE", "STEP", "EXPORT", "TABLES", "ERROR"]);
    let mut causes = String::new();
    let mut tables = Table::new(&["DAY", "TABLE", "OUTCOME", "DETAIL"]);
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
            output::or_dash(s["execution"]["error"].as_str()),
        ]);
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
    }
    text
}
