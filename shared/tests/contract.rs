//! Reads the state machine definition against the typed contract
//! (`snaplake::contract`): every field a state reads from a Lambda task's
//! result (its `ResultSelector`, then what later states read under its
//! `ResultPath`) exists in what that function answers for that action, and
//! every Choice on a result compares against a value the type can produce.
//!
//! Each action's answers are built here from the contract's types, one per
//! variant of every enum in them (the `match`es make a new variant fail to
//! compile until it is added), then serialized: a field renamed or removed
//! in a type is a path the definition reads that no answer holds.

mod asl;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};
use snaplake::contract::catalog_swap::*;
use snaplake::contract::export_callback::{ExportAnswer, Outcome};
use snaplake::contract::export_poller::{PlanRef, PollResult};
use snaplake::contract::masking_policy::TableFormat;
use snaplake::contract::query_runner::*;
use snaplake::contract::run_report::{RunCounts, RunSummary, TableOutcome, TableReport};
use snaplake::contract::snapshot_export::ExportRun;
use snaplake::export::status::ExportStatus;

fn values<T: Serialize>(items: impl IntoIterator<Item = T>) -> Vec<Value> {
    items.into_iter().map(|i| serde_json::to_value(i).unwrap()).collect()
}

/// A batch answer with one item (the state machine sends batches of one).
fn batch<O>(item: O) -> BatchResult<O> {
    BatchResult {
        succeeded: vec![item],
        failed: vec![],
        failed_tables: vec![],
    }
}

fn register_outcomes() -> Vec<RegisterOutcome> {
    use RegisterOutcome::*;
    let all = vec![Created, Updated, Unchanged, Superseded];
    all.iter().for_each(|o| match o {
        Created | Updated | Unchanged | Superseded => {}
    });
    all
}

fn prepare_outcomes() -> Vec<PrepareOutcome> {
    use PrepareOutcome::*;
    let all = vec![Prepared, Unchanged, Superseded];
    all.iter().for_each(|o| match o {
        Prepared | Unchanged | Superseded => {}
    });
    all
}

fn swap_outcomes() -> Vec<SwapOutcome> {
    use SwapOutcome::*;
    let all = vec![Staged, Created, Swapped, Unchanged, Superseded, RolledBack, Held];
    all.iter().for_each(|o| match o {
        Staged | Created | Swapped | Unchanged | Superseded | RolledBack | Held => {}
    });
    all
}

fn progresses() -> Vec<Progress> {
    use Progress::*;
    let all = vec![Done, Running, Skipped, Unchanged, Superseded, Held];
    all.iter().for_each(|o| match o {
        Done | Running | Skipped | Unchanged | Superseded | Held => {}
    });
    all
}

fn outcomes() -> Vec<Outcome> {
    let id = || "snaplake-shop-prod-20261121".to_string();
    let day = || "2026-11-21".to_string();
    let all = vec![
        Outcome::Waiting { export_id: id() },
        Outcome::Answered {
            export_id: id(),
            status: ExportStatus::Complete,
            delivered: true,
        },
        Outcome::NoToken { export_id: id() },
        Outcome::StillRunning {
            export_id: id(),
            status: ExportStatus::InProgress,
        },
        Outcome::Ignored { key: "k".into() },
        Outcome::IgnoredEvent { event_id: "e".into() },
        Outcome::DayAcquired { day: day() },
        Outcome::DayBusy {
            day: day(),
            holder: "arn".into(),
        },
        Outcome::DayReleased {
            day: day(),
            released: true,
        },
    ];
    all.iter().for_each(|o| match o {
        Outcome::Waiting { .. }
        | Outcome::Answered { .. }
        | Outcome::NoToken { .. }
        | Outcome::StillRunning { .. }
        | Outcome::Ignored { .. }
        | Outcome::IgnoredEvent { .. }
        | Outcome::DayAcquired { .. }
        | Outcome::DayBusy { .. }
        | Outcome::DayReleased { .. } => {}
    });
    all
}

fn statuses() -> Vec<ExportStatus> {
    ExportStatus::KNOWN.to_vec()
}

fn plan_ref() -> PlanRef {
    PlanRef {
        bucket: "lake".into(),
        key: "_snaplake/plans/x.json".into(),
        tables: 2,
        batches: 1,
        skipped: 1,
        skipped_key: Some("_snaplake/plans/x.skipped.json".into()),
        warnings: vec!["w".into()],
    }
}

/// Every answer `function` can give to `action` (the action is "" for the
/// functions that have one job).
fn answers(function: &str, action: &str) -> Vec<Value> {
    let s = || "x".to_string();
    let loc = || "s3://lake/curated/t/v=1/".to_string();
    match (function, action) {
        ("snapshot_export", "") => values(statuses().into_iter().flat_map(|status| {
            [true, false].map(|adopted| ExportRun {
                export_id: s(),
                logical_day: s(),
                source_id: s(),
                snapshot_arn: s(),
                snapshot_time: s(),
                snapshot_gb: None,
                bucket: s(),
                s3_prefix: s(),
                export_path: s(),
                status: status.clone(),
                adopted,
            })
        })),
        ("export_poller", "") => values(statuses().into_iter().map(|status| PollResult {
            export_id: s(),
            done: status == ExportStatus::Complete,
            plan: (status == ExportStatus::Complete).then(plan_ref),
            completed_at: (status == ExportStatus::Complete).then(s),
            snapshot_arn: Some(s()),
            status,
            percent_progress: 100,
            extracted_gb: 1,
            wait_seconds: 60,
        })),
        ("export_callback", "day_lock") => values(outcomes().into_iter().map(|o| vec![o])),
        // A `.waitForTaskToken` task's result is what the token is answered with.
        ("export_callback", "wait") => values(statuses().into_iter().map(|status| ExportAnswer {
            export_id: s(),
            status,
            percent_progress: 100,
        })),
        ("catalog_swap", "register_raw") => values(register_outcomes().into_iter().map(|outcome| {
            let mut answer = batch(Registered {
                table: s(),
                outcome,
                location: loc(),
                columns: 3,
            });
            answer.failed.push(ItemFailure {
                table: s(),
                error: s(),
                cause: s(),
            });
            answer.failed_tables.push(s());
            answer
        })),
        ("catalog_swap", "prepare") => values(prepare_outcomes().into_iter().flat_map(|outcome| {
            [true, false].map(|current| {
                batch(Prepared {
                    table: s(),
                    location: loc(),
                    live: current.then(loc),
                    current,
                    outcome,
                    cleared: 0,
                })
            })
        })),
        ("catalog_swap", "discard") => values([batch(Discarded {
            table: s(),
            location: loc(),
            deleted_objects: 3,
        })]),
        ("catalog_swap", "stage" | "swap" | "rollback") => values(swap_outcomes().into_iter().map(|outcome| {
            batch(Swapped {
                table: s(),
                outcome,
                previous_location: Some(loc()),
                new_location: loc(),
                previous_version: Some("1".into()),
                schema_changes: s(),
                reason: (outcome == SwapOutcome::Held).then(s),
                retention: (outcome == SwapOutcome::Swapped).then_some(Retention {
                    deleted: 1,
                    error: None,
                }),
                report: Some(TableReport {
                    table: s(),
                    outcome: Some(TableOutcome::Swapped),
                    location: Some(loc()),
                    ..TableReport::default()
                }),
            })
        })),
        ("catalog_swap", "gc") => values([batch(Collected {
            table: s(),
            dry_run: false,
            kept: vec![loc()],
            deleted: vec![],
            left: vec![loc()],
            objects_deleted: 0,
            glue_versions_deleted: 0,
            raw_glue_versions_deleted: 0,
        })]),
        ("catalog_swap", "report") => values([RunSummary {
            manifest: Some(s()),
            counts: RunCounts::default(),
            failed_tables: vec![],
            more_failed: 0,
        }]),
        ("query_runner", "validate") => values([Validated {
            valid: true,
            published_count: 1,
            lists_cut: false,
            published: vec![s()],
            skipped: vec![],
            unclassified: BTreeMap::new(),
            dropped_unlisted: BTreeMap::new(),
            missing: vec![],
        }]),
        ("query_runner", "start_transform") => values([true, false].map(|skipped| TransformStarted {
            skipped,
            table: s(),
            query_execution_id: (!skipped).then(s),
            new_location: (!skipped).then(loc),
            dropped_unlisted: vec![],
            max_row_drop_percent: None,
            table_format: (!skipped).then_some(TableFormat::Iceberg),
        })),
        ("query_runner", "transform") => values(progresses().into_iter().map(|status| TransformProgress {
            status,
            table: s(),
            query_execution_id: (status == Progress::Done || status == Progress::Running).then(s),
            new_location: Some(loc()),
            dropped_unlisted: vec![],
            max_row_drop_percent: None,
            table_format: None,
            scanned_bytes: 1,
            wait_seconds: 10,
            polls: 1,
        })),
        ("query_runner", "verify") => values(progresses().into_iter().map(|status| VerifyProgress {
            status,
            table: s(),
            query_execution_id: (status == Progress::Done || status == Progress::Running).then(s),
            rows_in: (status == Progress::Done).then_some(1),
            rows_out: None,
            wait_seconds: 10,
            scanned_bytes: 1,
            polls: 1,
        })),
        ("query_runner", "start_verify") => values([true, false].map(|skipped| VerifyStarted {
            skipped,
            table: s(),
            query_execution_id: (!skipped).then(s),
        })),
        ("query_runner", "poll") => values(["QUEUED", "RUNNING", "SUCCEEDED"].map(|state| Polled {
            query_execution_id: s(),
            state: state.into(),
            done: state == "SUCCEEDED",
            data_scanned_bytes: 1,
            engine_ms: 1,
            wait_seconds: 10,
        })),
        ("query_runner", "check_verify") => values([Verified {
            verified: true,
            table: s(),
            checks: vec![s()],
            rows_in: Some(1),
            rows_out: None,
        }]),
        other => panic!("no typed answers for {other:?}: add them to `answers`"),
    }
}

/// The function a task invokes (`${catalog_swap_arn}`, read as
/// `catalog_swap_arn`, is `catalog_swap`) and the action it asks for.
fn function_and_action(state: &Value) -> (String, String) {
    let params = &state["Parameters"];
    let function = params["FunctionName"]
        .as_str()
        .and_then(|f| f.strip_suffix("_arn"))
        .unwrap_or_else(|| panic!("a Lambda task names its function as ${{<function>_arn}}: {params}"))
        .to_string();
    let payload = &params["Payload"];
    let action = if let Some(action) = payload["action"].as_str() {
        action.to_string()
    } else if payload.get("day_lock").is_some() {
        "day_lock".into()
    } else if payload.get("task_token.$").is_some() {
        "wait".into()
    } else {
        String::new()
    };
    (function, action)
}

/// A JSONPath of the definition's kind (`$.a.b`), resolved in `value`.
fn resolve<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let rest = path.strip_prefix('$')?;
    rest.split('.')
        .filter(|s| !s.is_empty())
        .try_fold(value, |v, key| v.get(key))
}

/// A `ResultSelector` value, evaluated as Step Functions would on `result`.
fn select(expr: &str, result: &Value) -> Result<Value, String> {
    if let Some(args) = expr
        .strip_prefix("States.ArrayGetItem(")
        .and_then(|a| a.strip_suffix(')'))
    {
        let (path, index) = args.split_once(',').unwrap();
        let list = resolve(result, path.trim()).ok_or(format!("{} is missing", path.trim()))?;
        let index: usize = index.trim().parse().unwrap();
        return list
            .get(index)
            .cloned()
            .ok_or(format!("{} has no item {index}", path.trim()));
    }
    assert!(
        expr.starts_with("$."),
        "a ResultSelector this test does not read: {expr}"
    );
    resolve(result, expr).cloned().ok_or(format!("{expr} is missing"))
}

/// A task's results as its `ResultSelector` shapes them, one per answer.
fn task_results(name: &str, state: &Value) -> Vec<Value> {
    let (function, action) = function_and_action(state);
    let waits = state["Resource"].as_str().unwrap().ends_with(".waitForTaskToken");
    let answers = answers(&function, &action);
    answers
        .into_iter()
        .map(|answer| {
            let result = if waits { answer } else { json!({ "Payload": answer }) };
            let Some(selector) = state["ResultSelector"].as_object() else {
                return result;
            };
            let mut selected = serde_json::Map::new();
            for (key, expr) in selector {
                let key = key.strip_suffix(".$").expect("every selector field is a path");
                let value = select(expr.as_str().unwrap(), &result).unwrap_or_else(|why| {
                    panic!("{name}'s ResultSelector `{key}`: {why} in {function}'s answer to {action:?}: {result}")
                });
                selected.insert(key.to_string(), value);
            }
            Value::Object(selected)
        })
        .collect()
}

/// The `$.a.b` paths in a string (`States.Format('{}', $.x)` holds one too).
fn paths_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices("$.") {
        if i > 0 && bytes[i - 1] == b'$' {
            continue; // `$$.` is the context object
        }
        let end = text[i + 2..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .map_or(text.len(), |e| i + 2 + e);
        out.push(text[i..end].trim_end_matches('.').to_string());
    }
    out
}

/// Every path a state reads, with where: `Parameters`, `ItemSelector`,
/// `ItemReader`, `ItemsPath`, Choice variables (not its nested states).
fn reads(name: &str, state: &Value, out: &mut Vec<(String, String)>) {
    match state {
        Value::String(text) => out.extend(paths_in(text).into_iter().map(|p| (name.to_string(), p))),
        Value::Array(items) => items.iter().for_each(|v| reads(name, v, out)),
        Value::Object(fields) => {
            for (key, value) in fields {
                let skip = [
                    "ItemProcessor",
                    "Iterator",
                    "ResultPath",
                    "ResultSelector",
                    "Catch",
                    "OutputPath",
                ];
                if !skip.contains(&key.as_str()) {
                    reads(name, value, out);
                }
            }
        }
        _ => {}
    }
}

/// What one scope (a `States` object, without its nested maps' states) finds.
#[derive(Default)]
struct Findings {
    checked: usize,
    problems: Vec<String>,
}

fn check_scope(states: &serde_json::Map<String, Value>, findings: &mut Findings) {
    // Where each Lambda task puts its result, and the results it can hold.
    let mut results: BTreeMap<String, (Vec<String>, Vec<Value>)> = BTreeMap::new();
    for (name, state) in states {
        let is_lambda = state["Resource"]
            .as_str()
            .is_some_and(|r| r.starts_with("arn:aws:states:::lambda:invoke"));
        let Some(path) = state["ResultPath"].as_str().filter(|_| is_lambda) else {
            continue;
        };
        let entry = results.entry(path.to_string()).or_default();
        entry.0.push(name.clone());
        entry.1.extend(task_results(name, state));
    }
    // Every read under a task's ResultPath resolves in one of its results.
    for (name, state) in states {
        let mut read = Vec::new();
        reads(name, state, &mut read);
        for (_, path) in read {
            for (result_path, (tasks, values)) in &results {
                let Some(rest) = path.strip_prefix(result_path.as_str()) else {
                    continue;
                };
                if !(rest.is_empty() || rest.starts_with('.')) {
                    continue;
                }
                findings.checked += 1;
                if !values.iter().any(|v| resolve(v, &format!("${rest}")).is_some()) {
                    findings.problems.push(format!(
                        "{name} reads {path}, which no answer of {} holds",
                        tasks.join("/")
                    ));
                }
            }
        }
        // Every Choice on a result compares against a value it can hold.
        for choice in state["Choices"].as_array().into_iter().flatten() {
            let variable = choice["Variable"].as_str().unwrap();
            for (result_path, (tasks, values)) in &results {
                let Some(rest) = variable.strip_prefix(result_path.as_str()) else {
                    continue;
                };
                if !rest.starts_with('.') {
                    continue;
                }
                let found: Vec<&Value> = values.iter().filter_map(|v| resolve(v, &format!("${rest}"))).collect();
                let (op, expected) = choice
                    .as_object()
                    .unwrap()
                    .iter()
                    .find(|(k, _)| !["Variable", "Next"].contains(&k.as_str()))
                    .unwrap();
                let producible = match op.as_str() {
                    "StringEquals" | "BooleanEquals" | "NumericEquals" => found.contains(&expected),
                    op if op.starts_with("Numeric") => found.iter().any(|v| v.is_number()),
                    op => panic!("{name}: a comparison this test does not read: {op}"),
                };
                findings.checked += 1;
                if !producible {
                    findings.problems.push(format!(
                        "{name} compares {variable} {op} {expected}, which no answer of {} holds (they hold {found:?})",
                        tasks.join("/")
                    ));
                }
            }
        }
    }
    for state in states.values() {
        for inner in ["ItemProcessor", "Iterator"] {
            if let Some(inner) = state[inner]["States"].as_object() {
                check_scope(inner, findings);
            }
        }
    }
}

#[test]
fn every_field_the_state_machine_reads_from_a_result_is_in_the_functions_typed_answer() {
    let machine = asl::definition();
    let mut findings = Findings::default();
    check_scope(machine["States"].as_object().unwrap(), &mut findings);
    assert!(findings.problems.is_empty(), "{}", findings.problems.join("\n"));
    // What the definition reads today: a test that checked nothing would pass too.
    assert!(findings.checked >= 30, "only {} reads checked", findings.checked);
}

#[test]
fn every_action_the_state_machine_sends_is_one_the_function_takes() {
    for (name, state) in asl::states(&asl::definition()) {
        if !state["Resource"]
            .as_str()
            .is_some_and(|r| r.starts_with("arn:aws:states:::lambda:invoke"))
        {
            continue;
        }
        let (function, action) = function_and_action(&state);
        if action.is_empty() || function == "export_callback" {
            continue;
        }
        let request = json!({ "action": action });
        let parsed = match function.as_str() {
            "catalog_swap" => serde_json::from_value::<CatalogRequest>(request).map(|_| ()),
            "query_runner" => serde_json::from_value::<QueryRequest>(request).map(|_| ()),
            other => panic!("{name}: {other} takes no action"),
        };
        // Fields may be missing from this request, never the action.
        if let Err(err) = parsed {
            assert!(
                !err.to_string().contains("unknown variant"),
                "{name} sends action {action:?} to {function}: {err}"
            );
        }
    }
}
