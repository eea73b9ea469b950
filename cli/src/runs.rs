//! The runs of the pipeline: Step Functions executions, named after the day's
//! export id so that a day has one name (`run-<export id>`, then `-2`, `-3`
//! for the attempts after a failure) and starting it twice is a no-op.

use std::time::Duration;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent, HistoryEventType};
use indicatif::{ProgressBar, ProgressStyle};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};
use snaplake::aws::{rds, s3, to_timestamp};
use snaplake::catalog::run_manifest;
use snaplake::contract::run_report::flatten;
use snaplake::export_id::{attempt_id, run_id};
use snaplake::export_ops::start_export::MAX_EXPORT_ATTEMPTS;
use snaplake::logical_time::LogicalTime;

use crate::failure::{self, Failure};
use crate::stack::Stack;

/// Runs of one day after which snaplake stops and asks for a person.
const MAX_RUNS_PER_DAY: u32 = 9;

#[derive(Debug, Clone, Serialize)]
pub struct Execution {
    pub name: String,
    pub arn: String,
    pub status: String,
    pub started: String,
    pub stopped: Option<String>,
    #[serde(skip)]
    pub input: Value,
    #[serde(skip)]
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

impl Execution {
    pub fn running(&self) -> bool {
        self.status == "RUNNING"
    }

    pub fn succeeded(&self) -> bool {
        self.status == "SUCCEEDED"
    }

    pub fn logical_time(&self) -> Option<LogicalTime> {
        LogicalTime::parse(self.input["logical_time"].as_str()?).ok()
    }
}

/// A Lambda task's cause is its error as JSON; people need the message.
fn cause_message(cause: &str) -> String {
    serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|v| v["errorMessage"].as_str().map(str::to_string))
        .unwrap_or_else(|| cause.to_string())
}

pub async fn describe(stack: &Stack, arn: &str) -> Result<Option<Execution>, Failure> {
    let out = match stack
        .env
        .clients
        .sfn
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if e.as_service_error().is_some_and(|e| e.is_execution_does_not_exist()) => return Ok(None),
        Err(e) => return Err(failure::aws("states", "DescribeExecution", arn, e)),
    };
    let parse = |text: Option<&str>| text.and_then(|t| serde_json::from_str(t).ok());
    Ok(Some(Execution {
        name: out.name().unwrap_or_default().to_string(),
        arn: arn.to_string(),
        status: out.status().as_str().to_string(),
        started: to_timestamp(out.start_date()).to_string(),
        stopped: out.stop_date().map(|t| to_timestamp(t).to_string()),
        input: parse(out.input()).unwrap_or(Value::Null),
        output: parse(out.output()),
        error: out.error().map(str::to_string),
        cause: out.cause().map(cause_message),
    }))
}

/// Every attempt of a day so far, first to last.
pub async fn attempts(stack: &Stack, export_id: &str) -> Result<Vec<Execution>, Failure> {
    let mut out = Vec::new();
    for n in 1..=MAX_RUNS_PER_DAY {
        match describe(stack, &stack.execution_arn(&run_id(export_id, n))).await? {
            Some(e) => out.push(e),
            None => break,
        }
    }
    Ok(out)
}

pub enum Start {
    New(Execution),
    /// The day's last attempt is running or succeeded: nothing to do.
    Already(Execution),
    /// The day's last attempt failed and no retry was asked for.
    PreviousFailed(Execution),
}

/// Starts the day's run unless one is running or succeeded; with `retry`,
/// a failed day gets its next attempt.
/// A day's next attempt starts only after a failed one (with `retry`), or,
/// with `retry` and tables forced past the quality gate, after a succeeded
/// run that held them: the held run's advice is exactly that command.
pub async fn start(stack: &Stack, export_id: &str, input: &Value, retry: bool) -> Result<Start, Failure> {
    let previous = attempts(stack, export_id).await?;
    let forced = input["publish"]["force_tables"]
        .as_array()
        .is_some_and(|t| !t.is_empty());
    let attempt = match previous.last() {
        None => 1,
        Some(last) if last.running() => return Ok(Start::Already(last.clone())),
        Some(last) if last.succeeded() && !(retry && forced) => return Ok(Start::Already(last.clone())),
        Some(last) if !retry => return Ok(Start::PreviousFailed(last.clone())),
        Some(_) if previous.len() as u32 >= MAX_RUNS_PER_DAY => {
            return Err(Failure::Failed(format!(
                "{export_id} failed {MAX_RUNS_PER_DAY} times; read `snaplake status` and fix the cause first"
            )));
        }
        Some(_) => previous.len() as u32 + 1,
    };
    start_named(stack, &run_id(export_id, attempt), input).await
}

/// Starts an execution by name; a name already taken means someone else
/// started it first, which is reported as such, never as an error.
pub async fn start_named(stack: &Stack, name: &str, input: &Value) -> Result<Start, Failure> {
    let arn = stack.execution_arn(name);
    if let Some(existing) = describe(stack, &arn).await? {
        return Ok(Start::Already(existing));
    }
    let sent = stack
        .env
        .clients
        .sfn
        .start_execution()
        .state_machine_arn(&stack.state_machine_arn)
        .name(name)
        .input(input.to_string())
        .send()
        .await;
    match sent {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|e| e.is_execution_already_exists()) => {}
        Err(e) => return Err(failure::aws("states", "StartExecution", &stack.state_machine_arn, e)),
    }
    let execution = describe(stack, &arn)
        .await?
        .ok_or_else(|| Failure::Failed(format!("{name} was started but cannot be described")))?;
    Ok(Start::New(execution))
}

/// The state the execution is in (running), or the step it failed at: the
/// failure path's bookkeeping states are named `FailedAt<step>`.
pub async fn current_step(stack: &Stack, arn: &str) -> Result<Option<String>, Failure> {
    let events = newest_events(stack, arn).await?;
    // Ordered by event id here, whatever order the service answered in.
    let mut entered: Vec<(i64, &str)> = events
        .iter()
        .filter_map(|e| Some((e.id(), e.state_entered_event_details()?.name())))
        .collect();
    entered.sort_by_key(|(id, _)| std::cmp::Reverse(*id));
    let failed_at = entered.iter().find_map(|(_, name)| name.strip_prefix("FailedAt"));
    Ok(failed_at.or(entered.first().map(|(_, name)| *name)).map(str::to_string))
}

/// What a finished run's record holds: each table's outcome, and what the
/// run cost (`snaplake::cost::RunCost`; null when its manifest has none).
pub struct RunRecord {
    pub tables: Vec<Value>,
    pub cost: Value,
    /// The manifest's `lineage`: where the run's OpenLineage events are,
    /// how many were posted, and what went wrong.
    pub lineage: Value,
}

/// A finished run's record: from its manifest (its report writes one,
/// whether tables failed or not); for a run of an earlier state machine,
/// the tables from the output when it succeeded, else from the input of its
/// Report step, and no cost.
pub async fn run_record(stack: &Stack, execution: &Execution) -> Result<RunRecord, Failure> {
    if let Some(manifest) = manifest(stack, execution).await? {
        return Ok(RunRecord {
            tables: manifest["tables"].as_array().cloned().unwrap_or_default(),
            cost: manifest["cost"].clone(),
            lineage: manifest["lineage"].clone(),
        });
    }
    let published = match &execution.output {
        Some(output) => output["report"]["published"].clone(),
        None => report_input(stack, &execution.arn).await?["published"].clone(),
    };
    let mut tables = Vec::new();
    flatten(published, &mut tables);
    Ok(RunRecord {
        tables,
        cost: Value::Null,
        lineage: Value::Null,
    })
}

/// Where the run's manifest is (`catalog::run_manifest`): bucket and key.
pub fn manifest_location(stack: &Stack, execution: &Execution) -> Option<(String, String)> {
    let day = stack.day_of(execution.logical_time()?);
    let config = &stack.env.config;
    let key = run_manifest::key(&config.control_prefix, day, &execution.name);
    Some((config.bucket.clone(), key))
}

/// The run's manifest, if its report wrote one.
pub async fn manifest(stack: &Stack, execution: &Execution) -> Result<Option<Value>, Failure> {
    let Some((bucket, key)) = manifest_location(stack, execution) else {
        return Ok(None);
    };
    let body = s3::get_bytes(&stack.env.clients.s3, &bucket, &key).await?;
    body.map(|b| {
        serde_json::from_slice(&b).map_err(|e| {
            Failure::Failed(format!(
                "{} is not a run manifest ({e}); was it edited?",
                run_manifest::uri(&bucket, &key)
            ))
        })
    })
    .transpose()
}

async fn report_input(stack: &Stack, arn: &str) -> Result<Value, Failure> {
    Ok(newest_events(stack, arn)
        .await?
        .iter()
        .filter(|e| e.r#type() == &HistoryEventType::TaskStateEntered)
        .filter_map(|e| e.state_entered_event_details())
        .find(|d| d.name() == "Report")
        .and_then(|d| serde_json::from_str(d.input()?).ok())
        .unwrap_or(Value::Null))
}

/// The last events of an execution (the states a run passes through are far
/// fewer: its tables run in child executions of the Distributed Map).
async fn newest_events(stack: &Stack, arn: &str) -> Result<Vec<HistoryEvent>, Failure> {
    let out = stack
        .env
        .clients
        .sfn
        .get_execution_history()
        .execution_arn(arn)
        .reverse_order(true)
        .max_results(1000)
        .send()
        .await
        .map_err(|e| failure::aws("states", "GetExecutionHistory", arn, e))?;
    Ok(out.events().to_vec())
}

/// The export of a run: its id, status and progress, if RDS knows it.
pub async fn export_state(stack: &Stack, export_id: &str) -> Result<Value, Failure> {
    Ok(match rds::find_export(&stack.env.clients.rds, export_id).await? {
        Some(task) => json!({
            "export_id": export_id,
            "status": task.status().unwrap_or_default().to_ascii_uppercase(),
            "percent": task.percent_progress().unwrap_or(0),
        }),
        None => json!({"export_id": export_id, "status": "NOT_STARTED", "percent": 0}),
    })
}

/// The id of the day's newest export attempt that exists (the day's id when
/// none does): after a FAILED export, a retry exports under the next one.
pub async fn newest_export_attempt(stack: &Stack, day_id: &str) -> Result<String, Failure> {
    let mut newest = day_id.to_string();
    for n in 2..=MAX_EXPORT_ATTEMPTS {
        let id = attempt_id(day_id, n);
        if rds::find_export(&stack.env.clients.rds, &id).await?.is_none() {
            break;
        }
        newest = id;
    }
    Ok(newest)
}

/// The newest executions of the state machine, newest first.
pub async fn recent(stack: &Stack, limit: usize) -> Result<Vec<String>, Failure> {
    let mut arns = Vec::new();
    let mut token = None;
    while arns.len() < limit {
        let page = stack
            .env
            .clients
            .sfn
            .list_executions()
            .state_machine_arn(&stack.state_machine_arn)
            .max_results(100)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| failure::aws("states", "ListExecutions", &stack.state_machine_arn, e))?;
        let mut items: Vec<_> = page.executions().to_vec();
        items.sort_by_key(|e| std::cmp::Reverse(to_timestamp(e.start_date())));
        arns.extend(items.iter().map(|e| e.execution_arn().to_string()));
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => break,
        }
    }
    arns.truncate(limit);
    Ok(arns)
}

/// Waits for an execution to end, showing its step on stderr.
pub async fn wait(stack: &Stack, execution: Execution, poll: Duration) -> Result<Execution, Failure> {
    let spinner = ProgressBar::new_spinner()
        .with_style(ProgressStyle::with_template("{spinner} {prefix} {msg} ({elapsed})").expect("a valid template"));
    spinner.set_prefix(execution.name.clone());
    let mut current = execution;
    while current.status == ExecutionStatus::Running.as_str() {
        let step = current_step(stack, &current.arn).await?.unwrap_or_default();
        spinner.set_message(step);
        spinner.tick();
        tokio::time::sleep(poll).await;
        current = describe(stack, &current.arn.clone())
            .await?
            .ok_or_else(|| Failure::Failed(format!("{} disappeared while waiting", current.name)))?;
    }
    spinner.finish_and_clear();
    Ok(current)
}

/// How long a run took, for tables.
pub fn duration(execution: &Execution) -> String {
    let (Ok(start), Some(Ok(stop))) = (
        execution.started.parse::<Timestamp>(),
        execution.stopped.as_deref().map(str::parse::<Timestamp>),
    ) else {
        return "-".into();
    };
    let seconds = stop.as_second() - start.as_second();
    format!("{}m{:02}s", seconds / 60, seconds % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_after_the_first_are_numbered() {
        assert_eq!(
            run_id("snaplake-shop-1a2b-20261121", 1),
            "run-snaplake-shop-1a2b-20261121"
        );
        assert_eq!(
            run_id("snaplake-shop-1a2b-20261121", 2),
            "run-snaplake-shop-1a2b-20261121-2"
        );
    }

    #[test]
    fn every_run_id_is_a_valid_execution_name() {
        // The longest export id (60) with the largest attempt fits in 80.
        let id = "a".repeat(60);
        let name = run_id(&id, MAX_RUNS_PER_DAY);
        assert!(name.len() <= 80, "{}", name.len());
    }
}
