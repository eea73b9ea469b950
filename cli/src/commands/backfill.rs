//! `snaplake backfill --from D1 --to D2`: one run per day, at most
//! `--concurrency` at once (each run holds at most one export, and RDS allows
//! five in progress per account). Days already published are skipped, a day
//! whose last run failed gets its next attempt.

use std::collections::VecDeque;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use jiff::civil::Date;
use serde::Serialize;
use serde_json::Value;
use snaplake::contract::run_report::RunCounts;

use super::exit;
use crate::args::{BackfillArgs, Format};
use crate::failure::Failure;
use crate::output::{self, Table};
use crate::runs::{self, Execution, Start};
use crate::schedule::{check_not_future, days};
use crate::stack::Stack;

/// A backfill covers at most a year, so a typo in a year cannot start a
/// thousand runs.
const MAX_DAYS: usize = 366;

#[derive(Serialize)]
struct DayResult {
    day: String,
    execution: Option<String>,
    result: String,
    took: String,
    detail: String,
}

pub async fn backfill(stack: &Stack, args: &BackfillArgs, format: Format) -> Result<ExitCode, Failure> {
    check_not_future(args.to, &stack.env.config.time_zone, "--to")?;
    let all = days(args.from, args.to)?;
    if all.len() > MAX_DAYS {
        return Err(Failure::Usage(format!(
            "{} days asked; backfill at most {MAX_DAYS} at once",
            all.len()
        )));
    }
    // Every day's name and input first: a bad day fails before anything starts.
    let mut pending = VecDeque::new();
    for day in &all {
        pending.push_back((*day, stack.logical_time(*day)?, stack.export_id(*day)?));
    }
    let bar = ProgressBar::new(all.len() as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} days ({elapsed}) {msg}").expect("a valid template"),
    );
    let mut results: Vec<DayResult> = Vec::new();
    let mut running: Vec<(Date, Execution)> = Vec::new();
    let poll = Duration::from_secs(args.poll_seconds);
    loop {
        while running.len() < usize::from(args.concurrency)
            && let Some((day, t, id)) = pending.pop_front()
        {
            match runs::start(stack, &id, &stack.input(t), true).await {
                Ok(Start::Already(e)) if e.succeeded() => {
                    results.push(finished(day, &e, "skipped", "already published"));
                    bar.inc(1);
                }
                Ok(Start::New(e) | Start::Already(e) | Start::PreviousFailed(e)) => running.push((day, e)),
                Err(failure) => {
                    results.push(DayResult {
                        day: day.to_string(),
                        execution: None,
                        result: "not started".into(),
                        took: "-".into(),
                        detail: failure.to_string(),
                    });
                    bar.inc(1);
                }
            }
        }
        if running.is_empty() {
            break;
        }
        let names: Vec<String> = running.iter().map(|(d, _)| d.to_string()).collect();
        bar.set_message(format!("running {}", names.join(", ")));
        tokio::time::sleep(poll).await;
        let mut still = Vec::new();
        for (day, execution) in running {
            match runs::describe(stack, &execution.arn).await? {
                Some(now) if now.running() => still.push((day, now)),
                Some(done) => {
                    let (result, detail) = if done.succeeded() {
                        what_it_did(done.output.as_ref())
                    } else {
                        ("failed", done.error.clone().unwrap_or_default())
                    };
                    results.push(finished(day, &done, result, &detail));
                    bar.inc(1);
                }
                None => still.push((day, execution)),
            }
        }
        running = still;
    }
    bar.finish_and_clear();
    results.sort_by(|a, b| a.day.cmp(&b.day));
    let ok = results
        .iter()
        .all(|r| r.result != "failed" && r.result != "not started");
    output::print(format, &serde_json::to_value(&results).expect("serializes"), || {
        let mut table = Table::new(&["DAY", "EXECUTION", "RESULT", "TOOK", "DETAIL"]);
        for r in &results {
            table.row(vec![
                r.day.clone(),
                output::or_dash(r.execution.as_ref()),
                r.result.clone(),
                r.took.clone(),
                r.detail.clone(),
            ]);
        }
        table.render()
    });
    Ok(exit(ok))
}

fn finished(day: Date, e: &Execution, result: &str, detail: &str) -> DayResult {
    DayResult {
        day: day.to_string(),
        execution: Some(e.name.clone()),
        result: result.into(),
        took: runs::duration(e),
        detail: detail.into(),
    }
}

/// What a run that succeeded did, from its report's counts: a day older
/// than the newest published one gives no table a new version (each stays
/// on the newer day: superseded), and the quality gate may hold tables.
fn what_it_did(output: Option<&Value>) -> (&'static str, String) {
    let counts =
        output.and_then(|o| serde_json::from_value::<RunCounts>(o["report"]["summary"]["counts"].clone()).ok());
    match counts {
        Some(c) if c.new_versions > 0 => (
            "published",
            format!("{} table(s) got a new version", c.new_versions)
                + &held(c.held)
                + &if c.failed > 0 {
                    format!(", {} failed", c.failed)
                } else {
                    String::new()
                },
        ),
        Some(c) if c.held > 0 => ("held", format!("no new version{}", held(c.held))),
        Some(_) => (
            "nothing new",
            "no table got a new version: each stays on a newer day (superseded) or already had this one".into(),
        ),
        None => ("succeeded", "its report gave no counts".into()),
    }
}

fn held(n: usize) -> String {
    if n > 0 {
        format!(", {n} held by the quality gate")
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(counts: Value) -> Value {
        json!({"report": {"summary": {"manifest": null, "failed_tables": [], "more_failed": 0, "counts": counts}}})
    }

    #[test]
    fn a_run_is_labelled_by_what_it_did_not_by_its_status() {
        let counts = |new, held| json!({"published": 3, "new_versions": new, "held": held, "failed": 0, "skipped": 0});
        assert_eq!(what_it_did(Some(&run(counts(3, 0)))).0, "published");
        assert_eq!(what_it_did(Some(&run(counts(0, 0)))).0, "nothing new");
        assert_eq!(
            what_it_did(Some(&run(counts(0, 1)))),
            ("held", "no new version, 1 held by the quality gate".into())
        );
        assert!(
            what_it_did(Some(&run(counts(2, 1))))
                .1
                .contains("2 table(s) got a new version, 1 held")
        );
        assert_eq!(what_it_did(None).0, "succeeded");
    }
}
