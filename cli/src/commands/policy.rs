//! `snaplake policy init | check`: the masking policy for large schemas.
//! `init` writes a complete starting policy from the raw tables (every column
//! listed, personal-looking ones protected and marked for review); `check`
//! holds a policy (the deployment's, or a file about to be applied) against
//! the raw tables and names every problem and every column with no rule.

use snaplake::catalog::parameters;
use std::path::Path;
use std::process::ExitCode;

use serde_json::{Value, json};
use snaplake::aws::glue;
use snaplake::catalog::schema::Column;
use snaplake::contract::masking_policy::MaskingPolicy;
use snaplake::handlers::parse;
use snaplake::transform::suggest::{initial_policy, open_reviews};

use crate::args::{Format, PolicyCheckArgs, PolicyInitArgs};
use crate::failure::Failure;
use crate::output::{self, Table};
use crate::stack::Stack;

/// The raw tables snaplake registered (source name and columns).
async fn raw_tables(stack: &Stack) -> Result<Vec<(String, Vec<Column>)>, Failure> {
    let database = &stack.env.config.raw_database;
    let mut tables: Vec<(String, Vec<Column>)> = glue::list_tables(&stack.env.clients.glue, database)
        .await?
        .into_iter()
        .filter_map(|(_, t)| Some((t.parameters.get(parameters::SOURCE)?.clone(), t.columns)))
        .collect();
    if tables.is_empty() {
        return Err(Failure::not_found(
            format!("raw tables in {database}"),
            "the first run registers them even while the policy publishes nothing: `snaplake run --date <day> --wait`",
        ));
    }
    tables.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(tables)
}

pub async fn init(stack: &Stack, args: &PolicyInitArgs) -> Result<ExitCode, Failure> {
    let tables = raw_tables(stack).await?;
    let policy = initial_policy(&tables);
    let text = serde_json::to_string_pretty(&policy).expect("a policy serializes") + "\n";
    let reviews: usize = open_reviews(&policy).values().map(Vec::len).sum();
    match &args.out {
        Some(path) => {
            if path.exists() && !args.force {
                return Err(Failure::Usage(format!(
                    "{} exists; pass --force to overwrite it",
                    path.display()
                )));
            }
            std::fs::write(path, text).map_err(|e| Failure::Usage(format!("cannot write {}: {e}", path.display())))?;
            eprintln!(
                "wrote {} ({} tables; {reviews} column(s) marked for review under \"review\": columns snaplake cannot \
                 classify are dropped). Decide each rule and remove its note (`snaplake policy check --file` fails \
                 while one is open), then set the Terraform module's masking_policy to it and apply.",
                path.display(),
                tables.len()
            );
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn check(stack: &Stack, args: &PolicyCheckArgs, format: Format) -> Result<ExitCode, Failure> {
    let policy = match &args.file {
        Some(path) => read_policy(path)?,
        None => stack.policy().await?,
    };
    let tables = raw_tables(stack).await?;
    // A salt is the deployment's business (doctor checks it); here the rules.
    let found = policy.validate(&tables, true)?;
    let reviews = open_reviews(&policy);
    let report = json!({
        "missing": found.missing,
        "published": found.published,
        "skipped": found.skipped,
        "columns_without_rule": found.unclassified,
        "dropped_without_rule": found.dropped_unlisted,
        "to_review": reviews,
    });
    output::print(format, &report, || render(&report));
    if !found.missing.is_empty() {
        return Err(snaplake::Error::invalid_input(
            "tables",
            format!(
                "the policy names {}, which the raw tables do not hold (known: {}); fix the name or remove it",
                found.missing.join(", "),
                tables.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>().join(", ")
            ),
        )
        .into());
    }
    if let Some((table, columns)) = found.unclassified.iter().next() {
        return Err(snaplake::transform::policy::unclassified_error(table, columns).into());
    }
    Ok(ExitCode::SUCCESS)
}

fn read_policy(path: &Path) -> Result<MaskingPolicy, Failure> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    let value: Value =
        serde_json::from_str(&text).map_err(|e| Failure::Usage(format!("{} is not JSON: {e}", path.display())))?;
    Ok(parse(&path.display().to_string(), value)?)
}

fn render(report: &Value) -> String {
    let mut table = Table::new(&["SOURCE", "PUBLISHED", "NOTE"]);
    let names = |key: &str| -> Vec<String> {
        report[key]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let columns = |key: &str, source: &str| -> String {
        report[key][source]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    };
    for source in names("published") {
        let dropped = columns("dropped_without_rule", &source);
        let review = columns("to_review", &source);
        let mut note = Vec::new();
        if !dropped.is_empty() {
            note.push(format!("drops {dropped} (no rule)"));
        }
        if !review.is_empty() {
            note.push(format!("review {review}"));
        }
        let note = if note.is_empty() {
            "-".to_string()
        } else {
            note.join("; ")
        };
        table.row(vec![source, "yes".into(), note]);
    }
    if let Some(map) = report["columns_without_rule"].as_object() {
        for (source, cols) in map {
            let cols: Vec<&str> = cols
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str())
                .collect();
            table.row(vec![
                source.clone(),
                "NO".into(),
                format!("no rule for {}", cols.join(", ")),
            ]);
        }
    }
    for source in names("skipped") {
        table.row(vec![source, "no".into(), "not in the policy".into()]);
    }
    table.render()
}
