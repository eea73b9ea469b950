//! `snaplake run --date D`: what the schedule would start for D, under a
//! name that belongs to D, so a second call finds the first.

use std::process::ExitCode;
use std::time::Duration;

use jiff::civil::Date;
use serde_json::{Value, json};

use super::exit;
use crate::args::{Format, RunArgs, Wait};
use crate::failure::Failure;
use crate::output;
use crate::runs::{self, Start};
use crate::schedule::check_not_future;
use crate::stack::Stack;

pub async fn run(stack: &Stack, args: &RunArgs, format: Format) -> Result<ExitCode, Failure> {
    check_not_future(args.date, &stack.env.config.time_zone, "--date")?;
    let t = stack.logical_time(args.date)?;
    let export_id = stack.export_id(args.date)?;
    let mut input = stack.input(t);
    force_tables(&mut input, &args.force_table)?;
    let started = runs::start(stack, &export_id, &input, args.retry).await?;
    report(stack, args.date, started, &args.wait, format).await
}

/// `--force-table T`: the run's quality gate lets T's new version replace
/// the live one whatever its row count (`snaplake::catalog::quality`).
pub fn force_tables(input: &mut Value, tables: &[String]) -> Result<(), Failure> {
    for table in tables {
        snaplake::names::check_glue_name(table).map_err(|why| {
            Failure::Usage(format!(
                "--force-table {table:?}: {why}; give the Glue table name, e.g. shop_orders"
            ))
        })?;
    }
    if !tables.is_empty() {
        input["publish"]["force_tables"] = json!(tables);
    }
    Ok(())
}

/// Says what happened to a start (shared with `publish`), waiting if asked.
pub async fn report(
    stack: &Stack,
    day: Date,
    started: Start,
    wait: &Wait,
    format: Format,
) -> Result<ExitCode, Failure> {
    let (execution, started) = match started {
        Start::New(e) => (e, true),
        Start::Already(e) => (e, false),
        Start::PreviousFailed(e) => {
            return Err(Failure::Failed(format!(
                "{} ({day}) failed: {} {}. Fix the cause (see `snaplake status --date {day}`), then start \
                 the next attempt with `snaplake run --date {day} --retry`",
                e.name,
                e.error.as_deref().unwrap_or("-"),
                e.cause
                    .as_deref()
                    .unwrap_or_default()
                    .lines()
                    .next()
                    .unwrap_or_default(),
            )));
        }
    };
    let execution = if wait.wait && execution.running() {
        runs::wait(stack, execution, Duration::from_secs(wait.poll_seconds)).await?
    } else {
        execution
    };
    let failed = !(execution.running() || execution.succeeded());
    output::print(
        format,
        &json!({"day": day.to_string(), "started": started, "execution": execution}),
        || {
            let mut text = if started {
                format!("started {} for {day}\n", execution.name)
            } else {
                format!(
                    "nothing to do: {} for {day} was already started at {}\n",
                    execution.name, execution.started
                )
            };
            text += &format!("{}: {}\n", execution.name, execution.status);
            if let Some(error) = &execution.error {
                text += &format!("  {error}: {}\n", execution.cause.as_deref().unwrap_or_default());
            }
            text
        },
    );
    Ok(exit(!failed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forced_tables_travel_in_the_runs_publish_settings() {
        let mut input = json!({"publish": {"keep": 4}});
        force_tables(&mut input, &[]).unwrap();
        assert_eq!(input, json!({"publish": {"keep": 4}}), "nothing forced, nothing added");
        force_tables(&mut input, &["shop_orders".into(), "shop_customers".into()]).unwrap();
        assert_eq!(
            input["publish"]["force_tables"],
            json!(["shop_orders", "shop_customers"])
        );
        assert_eq!(input["publish"]["keep"], 4);
        let err = force_tables(&mut input, &["shop.orders".into()]).unwrap_err();
        assert!(err.to_string().contains("--force-table \"shop.orders\""), "{err}");
        assert_eq!(err.exit_code(), std::process::ExitCode::from(2));
    }
}
