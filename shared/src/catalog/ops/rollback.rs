//! RollBack: points a table back at its previous version (the newest at
//! another location), or at the version published for a given day, if that
//! version passed its audit (`catalog::audit`). Run by `snaplake rollback`:
//! the state machine no longer needs it, since a version is audited before
//! it is published.

use crate::catalog::parameters;
use tracing::info;

use super::iceberg_commit;
use super::judge::new_version;
use super::swap::swapped;
use super::{check_table_name, conflict, data_objects};
use crate::aws::glue::{self, TableDef, TableState, Update};
use crate::catalog::audit;
use crate::catalog::compat::SchemaDiff;
use crate::catalog::location::S3Prefix;
use crate::catalog::quality;
use crate::contract::catalog_swap::{RollbackItem, SwapOutcome, Swapped};
use crate::env::Env;
use crate::error::Error;

pub async fn rollback(env: &Env, item: &RollbackItem) -> Result<Swapped, Error> {
    check_table_name(&item.table)?;
    let database = match item.database.as_deref() {
        None | Some("curated") => &env.config.curated_database,
        Some("raw") => &env.config.raw_database,
        Some(other) => {
            return Err(Error::invalid_input(
                "database",
                format!("{other:?}: use \"curated\" or \"raw\""),
            ));
        }
    };
    let qualified = format!("{database}.{}", item.table);
    let current = glue::get_table(&env.clients.glue, database, &item.table)
        .await?
        .ok_or_else(|| Error::invalid_input("table", format!("{qualified} does not exist; nothing to roll back")))?;
    let versions = glue::table_versions(&env.clients.glue, database, &item.table).await?;
    let target = target(&qualified, &current, &versions, item.to_day.as_deref())?;
    if database == &env.config.curated_database && !audit::passed(&target.parameters) {
        return Err(Error::invalid_input(
            "table",
            format!(
                "{qualified}'s version at {} is not recorded as audited ({} is not {:?}): snaplake never \
                 publishes a version that did not pass its audit. Run that day again (snaplake run --date D --retry), \
                 which audits before it publishes",
                target.location.as_deref().unwrap_or("?"),
                parameters::AUDIT,
                audit::PASSED
            ),
        ));
    }
    let made_under = target.parameters.get(parameters::POLICY_DIGEST).map(String::as_str);
    if quality::policy_changed(made_under, env.config.policy_digest.as_deref()) && !item.allow_other_policy {
        return Err(Error::invalid_input(
            "table",
            format!(
                "{qualified}'s version at {} was made under the masking policy {}, not the pinned {}: going back \
                 would publish what the pinned policy may remove. Run the day again under the pinned policy, or \
                 roll back knowingly with --allow-other-policy",
                target.location.as_deref().unwrap_or("?"),
                made_under.unwrap_or_default(),
                env.config.policy_digest.as_deref().unwrap_or_default()
            ),
        ));
    }
    let target_location = S3Prefix::parse("location", target.location.as_deref().unwrap_or_default())?;
    if data_objects(env, &target_location).await?.is_empty() {
        return Err(Error::invalid_input(
            "table",
            format!("{qualified} cannot go back to {target_location}: it no longer holds data (removed by retention?)"),
        ));
    }
    let mut parameters = target.parameters.clone();
    parameters.insert(
        parameters::ROLLED_BACK_FROM.into(),
        current.location.clone().unwrap_or_default(),
    );
    let def = TableDef {
        database: database.clone(),
        name: item.table.clone(),
        location: target_location.to_string(),
        columns: target.columns.clone(),
        parameters,
        description: format!(
            "Rolled back by snaplake from {}",
            current.location.as_deref().unwrap_or("nowhere")
        ),
    };
    // An Iceberg table goes back by a new snapshot of the target version's
    // files: its history and UUID stay, and the days after stay readable
    // by time travel.
    let update = if parameters::is_iceberg(&current.parameters) {
        let (_, files, _) = new_version(env, &target_location).await?;
        let run = format!("{}@rollback@{}", item.table, jiff::Timestamp::now());
        let publish = iceberg_commit::Publish {
            def: &def,
            files: &files,
            run: &run,
        };
        iceberg_commit::publish(env, Some(&current), &publish).await?.0
    } else {
        glue::update_table(&env.clients.glue, &def, current.version_id.as_deref()).await?
    };
    match update {
        Update::Done => {
            info!(table = %qualified, to = %target_location, "rolled back");
            let outcome = SwapOutcome::RolledBack;
            Ok(swapped(
                &item.table,
                outcome,
                Some(&current),
                &def,
                SchemaDiff::default(),
            ))
        }
        Update::Conflict => Err(conflict(database, &item.table)),
    }
}

/// The version to go back to: the newest published for `to_day`, else the
/// newest at another location than the live one.
pub fn target<'a>(
    qualified: &str,
    current: &TableState,
    versions: &'a [TableState],
    to_day: Option<&str>,
) -> Result<&'a TableState, Error> {
    let mut by_newest: Vec<&TableState> = versions.iter().collect();
    by_newest.sort_by_key(|v| std::cmp::Reverse(v.version_id.as_deref().and_then(|id| id.parse::<i64>().ok())));
    match to_day {
        Some(day) => by_newest
            .into_iter()
            .find(|v| v.parameters.get(parameters::LOGICAL_DAY).map(String::as_str) == Some(day))
            .ok_or_else(|| {
                Error::invalid_input(
                    "to_day",
                    format!("{qualified} has no version published for {day} in its history"),
                )
            }),
        None => by_newest
            .into_iter()
            .find(|v| v.location.is_some() && v.location != current.location)
            .ok_or_else(|| {
                Error::invalid_input(
                    "table",
                    format!("{qualified} has no earlier version at another location"),
                )
            }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn version(id: &str, location: &str, day: &str) -> TableState {
        TableState {
            parameters: HashMap::from([(parameters::LOGICAL_DAY.to_string(), day.to_string())]),
            location: Some(location.to_string()),
            version_id: Some(id.to_string()),
            columns: Vec::new(),
        }
    }

    #[test]
    fn the_previous_version_is_the_newest_elsewhere_or_the_days() {
        let versions = [
            version("9", "s3://l/t/v=3/", "2026-11-21"),
            version("10", "s3://l/t/v=2/", "2026-11-20"),
            version("2", "s3://l/t/v=1/", "2026-11-19"),
            version("11", "s3://l/t/v=3/", "2026-11-21"),
        ];
        let live = &versions[3];
        let previous = target("db.t", live, &versions, None).unwrap();
        assert_eq!(
            previous.version_id.as_deref(),
            Some("10"),
            "10 sorts after 9 as a number"
        );
        let day = target("db.t", live, &versions, Some("2026-11-19")).unwrap();
        assert_eq!(day.version_id.as_deref(), Some("2"));
        let err = target("db.t", live, &versions, Some("2026-11-01")).unwrap_err();
        assert!(err.to_string().contains("no version published for 2026-11-01"), "{err}");
        let only = [version("1", "s3://l/t/v=3/", "2026-11-21")];
        assert!(target("db.t", &only[0], &only, None).is_err());
    }
}

/// A fault the stand-in cannot produce on demand: a table that vanished.
#[cfg(test)]
mod mocked {
    use aws_sdk_glue::operation::get_table::GetTableError;
    use aws_sdk_glue::types::error::EntityNotFoundException;
    use aws_smithy_mocks::mock;

    use super::*;
    use crate::catalog::ops::swap::mocked::context;
    use crate::contract::catalog_swap::RollbackItem;

    #[tokio::test]
    async fn a_table_that_is_gone_cannot_be_rolled_back() {
        let missing = mock!(aws_sdk_glue::Client::get_table)
            .then_error(|| GetTableError::EntityNotFoundException(EntityNotFoundException::builder().build()));
        let env = context(&[&missing], 1);
        let item = RollbackItem {
            table: "shop_customers".into(),
            to_day: None,
            database: None,
            allow_other_policy: false,
        };
        let err = rollback(&env, &item).await.unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
    }
}
