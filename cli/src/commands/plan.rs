//! `snaplake plan --date D`: what a run of D would export and publish, read
//! from the same request types and decisions the functions use. It only
//! reads (Describe, List, Get), so it is safe against production.

use snaplake::catalog::parameters;
use std::process::ExitCode;

use jiff::Timestamp;
use serde_json::{Value, json};
use snaplake::aws::{glue, rds};
use snaplake::catalog::location::{S3Prefix, next_location};
use snaplake::catalog::ops;
use snaplake::contract::catalog_swap::Layout;
use snaplake::contract::masking_policy::Unlisted;
use snaplake::contract::snapshot_export::ExportRequest;
use snaplake::export::{day_prefix, export_path};
use snaplake::export_ops::start_export;
use snaplake::handlers::parse;
use snaplake::transform::policy::unlisted;

use crate::args::{Format, PlanArgs};
use crate::failure::Failure;
use crate::output::{self, Table};
use crate::schedule::check_not_future;
use crate::stack::Stack;

pub async fn plan(stack: &Stack, args: &PlanArgs, format: Format) -> Result<ExitCode, Failure> {
    check_not_future(args.date, &stack.env.config.time_zone, "--date")?;
    let cfg = &stack.env.config;
    let t = stack.logical_time(args.date)?;
    let input = stack.input(t);
    let mut export_input = input["export"].clone();
    export_input["logical_time"] = json!(t.to_string());
    let request: ExportRequest = parse("schedule input `export`", export_input)?;
    request.validate()?;
    let export_id = stack.export_id(args.date)?;
    let prefix = day_prefix(&cfg.export_prefix, &request.source_id, args.date);
    let bucket = request.bucket.clone().unwrap_or_else(|| cfg.bucket.clone());

    let (snapshot, snapshot_problem) = match start_export::day_snapshot(&stack.env, &request, Timestamp::now()).await {
        Ok(s) => (
            json!({"id": s.id, "arn": s.arn, "created": s.created.to_string(), "kind": s.kind}),
            None,
        ),
        Err(e) => (Value::Null, Some(e.to_string())),
    };
    let existing = rds::find_export(&stack.env.clients.rds, &export_id)
        .await?
        .map(|task| task.status().unwrap_or_default().to_ascii_uppercase());

    let policy = stack.policy().await?;
    let layout: Layout = parse("schedule input `publish.layout`", input["publish"]["layout"].clone())?;
    let mut tables = Vec::new();
    // The tables of the last run (the raw catalog) are what the next run
    // will most likely export; a first run only learns them from its export.
    for (name, raw) in glue::list_tables(&stack.env.clients.glue, &cfg.raw_database).await? {
        let Some(source) = raw.parameters.get(parameters::SOURCE).cloned() else {
            continue;
        };
        let live = glue::get_table(&stack.env.clients.glue, &cfg.curated_database, &name).await?;
        let live_location = live.as_ref().and_then(|l| l.location.clone());
        let entry = match policy.for_table(&source) {
            None => json!({"table": name, "source": source, "action": "not published (the policy does not name it)"}),
            Some(rules) => {
                let no_rule = unlisted(rules, &raw.columns);
                let live_prefix = live_location
                    .as_deref()
                    .and_then(|l| S3Prefix::parse("location", l).ok());
                let target = next_location(
                    layout,
                    &ops::curated_base(&stack.env, &name),
                    t.timestamp(),
                    live_prefix.as_ref(),
                )?;
                let done =
                    live.as_ref().and_then(|l| l.parameters.get(parameters::LOGICAL_TIME)) == Some(&t.to_string());
                let masking: Vec<String> = rules
                    .columns
                    .iter()
                    .map(|(c, r)| format!("{c}={}", json!(r).as_str().unwrap_or("?")))
                    .collect();
                let action = match (done, no_rule.is_empty(), rules.unlisted_columns) {
                    (true, _, _) => "unchanged (already published for this day)".to_string(),
                    (false, true, _) => "publish".to_string(),
                    (false, false, Unlisted::Fail) => format!(
                        "NOT published: no rule for {} (add rules under tables.{source}.columns)",
                        no_rule.join(", ")
                    ),
                    (false, false, Unlisted::Drop) => format!("publish, dropping {} (no rule)", no_rule.join(", ")),
                };
                json!({
                    "table": name,
                    "source": source,
                    "action": action,
                    "columns_without_rule": no_rule,
                    "masking": masking,
                    "row_filter": rules.row_filter,
                    "live": live_location,
                    "target": target.to_string(),
                })
            }
        };
        tables.push(entry);
    }

    let plan = json!({
        "day": args.date.to_string(),
        "logical_time": t.to_string(),
        "export": {
            "source_id": request.source_id,
            "snapshot": snapshot,
            "snapshot_problem": snapshot_problem,
            "export_id": export_id,
            "existing_export": existing,
            "destination": format!("s3://{bucket}/{}/", export_path(&prefix, &export_id)),
            "tables": if request.tables.is_empty() { json!("all") } else { json!(request.tables) },
        },
        "policy_digest": cfg.policy_digest,
        "publish": tables,
    });
    output::print(format, &plan, || render(&plan));
    Ok(ExitCode::SUCCESS)
}

fn render(plan: &Value) -> String {
    let e = &plan["export"];
    let snapshot = match e["snapshot"]["id"].as_str() {
        Some(id) => format!("{id} (created {})", e["snapshot"]["created"].as_str().unwrap_or("?")),
        None => format!("none: {}", e["snapshot_problem"].as_str().unwrap_or("?")),
    };
    let mut text = format!(
        "Plan for {} (logical time {}); nothing is changed.\nMasking policy {}\n\nExport\n  source      {}\n  snapshot    {snapshot}\n  export id   {}{}\n  destination {}\n  tables      {}\n\nPublish\n",
        plan["day"].as_str().unwrap_or("?"),
        plan["logical_time"].as_str().unwrap_or("?"),
        plan["policy_digest"]
            .as_str()
            .map(|d| format!("pinned, sha256 {d}"))
            .unwrap_or_else(|| "not pinned: the run input's".into()),
        e["source_id"].as_str().unwrap_or("?"),
        e["export_id"].as_str().unwrap_or("?"),
        e["existing_export"]
            .as_str()
            .map(|s| format!(" (exists: {s}; it is adopted, not started again)"))
            .unwrap_or_default(),
        e["destination"].as_str().unwrap_or("?"),
        if e["tables"].is_string() {
            "all".to_string()
        } else {
            e["tables"].to_string()
        },
    );
    let list = plan["publish"].as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        text += "  the tables are known once the first export completes\n";
        return text;
    }
    let mut table = Table::new(&["TABLE", "SOURCE", "ACTION", "MASKING", "ROW FILTER", "TARGET"]);
    for t in list {
        let masking: Vec<&str> = t["masking"]
            .as_array()
            .map(|m| m.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        table.row(vec![
            t["table"].as_str().unwrap_or("?").into(),
            t["source"].as_str().unwrap_or("?").into(),
            t["action"].as_str().unwrap_or("?").into(),
            if masking.is_empty() {
                "-".into()
            } else {
                masking.join(" ")
            },
            output::or_dash(t["row_filter"].as_str()),
            output::or_dash(t["target"].as_str()),
        ]);
    }
    text + &table.render()
}
