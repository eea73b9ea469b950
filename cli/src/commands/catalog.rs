//! `snaplake rollback` and `snaplake gc`: catalog-swap's operations, run with the
//! operator's credentials through the same library code the function runs.

use snaplake::catalog::parameters;
use std::process::ExitCode;

use serde_json::json;
use snaplake::aws::glue;
use snaplake::catalog::ops;
use snaplake::contract::catalog_swap::{BatchRequest, Collected, GcShared, RollbackItem, TableRef};

use super::exit;
use crate::args::{Format, GcArgs, RollbackArgs};
use crate::failure::Failure;
use crate::output::{self, Table, confirm};
use crate::stack::Stack;

/// Tables worked on at once by gc.
const CONCURRENCY: usize = 8;

pub async fn rollback(stack: &Stack, args: &RollbackArgs, format: Format) -> Result<ExitCode, Failure> {
    let cfg = &stack.env.config;
    let database = if args.raw {
        &cfg.raw_database
    } else {
        &cfg.curated_database
    };
    let current = glue::get_table(&stack.env.clients.glue, database, &args.table)
        .await?
        .ok_or_else(|| {
            Failure::not_found(
                format!("table {database}.{}", args.table),
                "check the name (Glue names are lower case, e.g. shop_customers); `snaplake status --date <day>` lists a run's tables",
            )
        })?;
    if !args.yes {
        let target = match args.to {
            Some(day) => format!("its version of {day}"),
            None => "its previous version".into(),
        };
        confirm(&format!(
            "Roll back {database}.{} (live at {}) to {target}?",
            args.table,
            current.location.as_deref().unwrap_or("nowhere")
        ))?;
    }
    let item = RollbackItem {
        table: args.table.clone(),
        to_day: args.to.map(|d| d.to_string()),
        database: Some(if args.raw { "raw" } else { "curated" }.into()),
        allow_other_policy: args.allow_other_policy,
    };
    let outcome = ops::rollback::rollback(&stack.env, &item).await?;
    output::print(format, &json!(outcome), || {
        format!(
            "rolled back {database}.{}: {} -> {}\n",
            args.table,
            outcome.previous_location.as_deref().unwrap_or("-"),
            outcome.new_location,
        )
    });
    Ok(ExitCode::SUCCESS)
}

pub async fn gc(stack: &Stack, args: &GcArgs, format: Format) -> Result<ExitCode, Failure> {
    let cfg = &stack.env.config;
    let tables = if args.table.is_empty() {
        glue::list_tables(&stack.env.clients.glue, &cfg.curated_database)
            .await?
            .into_iter()
            .filter(|(_, t)| t.parameters.contains_key(parameters::LOGICAL_TIME))
            .map(|(name, _)| name)
            .collect()
    } else {
        args.table.clone()
    };
    let run = |dry_run| {
        let request = BatchRequest {
            items: tables.iter().map(|t| TableRef { table: t.clone() }).collect(),
            shared: GcShared {
                keep: args.keep,
                dry_run,
            },
            concurrency: CONCURRENCY,
        };
        ops::batch::for_each(&stack.env, request, |env, item, shared| async move {
            ops::gc::gc(&env, &item.table, &shared).await
        })
    };
    // Always look first: the question says exactly what would go.
    let mut result = run(true).await?;
    let doomed: usize = result.succeeded.iter().map(|t| t.deleted.len()).sum();
    if !args.dry_run && doomed > 0 {
        if !args.yes {
            eprint!("{}", render(&result.succeeded, true));
            confirm(&format!(
                "Delete {doomed} version(s) of {} table(s) from {}?",
                tables.len(),
                cfg.bucket
            ))?;
        }
        result = run(false).await?;
        // Each gc deletes a bounded number of objects (it also runs inside a
        // Lambda); the command goes on until every doomed version is gone.
        loop {
            let left: usize = result.succeeded.iter().map(|t| t.left.len()).sum();
            if left == 0 || !result.failed.is_empty() {
                break;
            }
            eprintln!("{left} version(s) still being deleted…");
            let mut next = run(false).await?;
            for t in &mut next.succeeded {
                if let Some(before) = result.succeeded.iter().find(|b| b.table == t.table) {
                    t.deleted.splice(0..0, before.deleted.iter().cloned());
                    t.objects_deleted += before.objects_deleted;
                }
            }
            result = next;
        }
    }
    let ok = result.failed.is_empty();
    output::print(format, &json!(result), || {
        let mut text = render(&result.succeeded, args.dry_run || doomed == 0);
        for f in &result.failed {
            text += &format!("failed: {}: {}: {}\n", f.table, f.error, f.cause);
        }
        if tables.is_empty() {
            text += "no curated table is managed by snaplake yet\n";
        }
        text
    });
    Ok(exit(ok))
}

fn render(outcomes: &[Collected], would: bool) -> String {
    let verb = if would { "WOULD DELETE" } else { "DELETED" };
    let mut table = Table::new(&["TABLE", "KEPT", verb]);
    for t in outcomes {
        let deleted: Vec<&str> = t
            .deleted
            .iter()
            .map(|uri| uri.trim_end_matches('/').rsplit('/').next().unwrap_or(uri))
            .collect();
        table.row(vec![
            t.table.clone(),
            t.kept.len().to_string(),
            if deleted.is_empty() {
                "-".into()
            } else {
                deleted.join(" ")
            },
        ]);
    }
    table.render()
}
