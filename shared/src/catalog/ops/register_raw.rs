//! RegisterRaw: points each raw Glue table at this run's export, with the
//! columns read from a data file's footer. The raw table is snaplake's own:
//! the day's export wins, whatever changed, unless a newer run registered it.

use crate::catalog::parameters;
use std::collections::HashMap;

use tracing::info;

use super::{check_table_name, conflict, newer_run, read_schema};
use crate::aws::glue::{self, TableDef, TableState, Update};
use crate::catalog::location::S3Prefix;
use crate::catalog::schema;
use crate::contract::catalog_swap::{RegisterOutcome, RegisterRawShared, Registered};
use crate::env::Env;
use crate::error::Error;
use crate::export::plan::PlanItem;
use crate::logical_time::LogicalTime;

/// Registers one plan item's raw table.
pub async fn register_raw(env: &Env, item: &PlanItem, shared: &RegisterRawShared) -> Result<Registered, Error> {
    check_table_name(&item.name)?;
    item.check_against(&env.config.bucket, &env.config.export_prefix, &shared.export_id)?;
    let location = S3Prefix::parse("location", &item.location)?;
    let database = &env.config.raw_database;
    let existing = glue::get_table(&env.clients.glue, database, &item.name).await?;
    let columns = match &item.sample_key {
        Some(sample) => read_schema(env, &location.bucket, sample).await?.0.columns,
        // An empty table: RDS wrote no data file, so no footer to read.
        None => empty_table_columns(item, existing.as_ref())?,
    };
    let def = TableDef {
        database: database.clone(),
        name: item.name.clone(),
        location: location.to_string(),
        columns,
        parameters: HashMap::from([
            (parameters::SOURCE.into(), item.source.clone()),
            (parameters::EXPORT_ID.into(), shared.export_id.clone()),
            (parameters::LOGICAL_TIME.into(), shared.logical_time.to_string()),
        ]),
        description: format!("Raw export of {} (restricted; managed by snaplake)", item.source),
    };
    let outcome = decide(existing.as_ref(), &def, shared.logical_time);
    match outcome {
        RegisterOutcome::Created => glue::create_table(&env.clients.glue, &def).await?,
        RegisterOutcome::Superseded => {
            info!(table = %item.name, "a newer run registered this raw table; left as it is");
        }
        RegisterOutcome::Unchanged => {}
        RegisterOutcome::Updated => {
            let version = existing.as_ref().and_then(|t| t.version_id.as_deref());
            if let Update::Conflict = glue::update_table(&env.clients.glue, &def, version).await? {
                return Err(conflict(database, &item.name));
            }
        }
    }
    Ok(Registered {
        table: item.name.clone(),
        outcome,
        location: def.location,
        columns: def.columns.len(),
    })
}

/// What registering `def` does to the raw table as it is.
pub fn decide(existing: Option<&TableState>, def: &TableDef, run: LogicalTime) -> RegisterOutcome {
    match existing {
        None => RegisterOutcome::Created,
        Some(current) if newer_run(current, run) => RegisterOutcome::Superseded,
        Some(current)
            if current.location.as_deref() == Some(def.location.as_str())
                && current.columns == def.columns
                && [parameters::LOGICAL_TIME, parameters::EXPORT_ID]
                    .iter()
                    .all(|k| current.parameters.get(*k) == def.parameters.get(*k)) =>
        {
            RegisterOutcome::Unchanged
        }
        Some(_) => RegisterOutcome::Updated,
    }
}

/// The columns of a table the export wrote no data file for: the raw
/// table's own when it exists (they came from a footer of an earlier day, so
/// the curated schema does not change), else the export's `schemaMetadata`.
fn empty_table_columns(item: &PlanItem, existing: Option<&TableState>) -> Result<Vec<schema::Column>, Error> {
    match existing {
        Some(table) if !table.columns.is_empty() => Ok(table.columns.clone()),
        _ if !item.columns.is_empty() => Ok(item.columns.clone()),
        _ => Err(Error::invalid_input(
            "columns",
            format!(
                "{} has no data file and its export_tables_info entry no schemaMetadata to take its columns \
                 from; export it again once it has rows, or export it with the others left out (ExportOnly)",
                item.source
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::table_at;
    use super::*;

    fn def(logical_time: &str, export_id: &str) -> TableDef {
        TableDef {
            database: "raw".into(),
            name: "t".into(),
            location: "s3://lake/exports/x/".into(),
            columns: Vec::new(),
            parameters: table_at(logical_time, export_id).parameters,
            description: String::new(),
        }
    }

    #[test]
    fn the_days_export_wins_unless_a_newer_run_registered_the_table() {
        let run = LogicalTime::parse("2026-11-20T19:00:00Z").unwrap();
        let today = def("2026-11-20T19:00:00Z", "e-20261121");
        assert_eq!(decide(None, &today, run), RegisterOutcome::Created);
        let mut same = table_at("2026-11-20T19:00:00Z", "e-20261121");
        same.location = Some(today.location.clone());
        assert_eq!(decide(Some(&same), &today, run), RegisterOutcome::Unchanged);
        let yesterday = table_at("2026-11-19T19:00:00Z", "e-20261120");
        assert_eq!(decide(Some(&yesterday), &today, run), RegisterOutcome::Updated);
        let retried = def("2026-11-20T19:00:00Z", "e-20261121-2");
        assert_eq!(decide(Some(&same), &retried, run), RegisterOutcome::Updated);
        let newer = table_at("2026-11-21T19:00:00Z", "e-20261122");
        assert_eq!(decide(Some(&newer), &today, run), RegisterOutcome::Superseded);
    }
}
