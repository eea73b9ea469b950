//! PrepareTarget: where this run's version of a table goes. A location no
//! reader uses may hold leftovers of an interrupted attempt (an UNLOAD that
//! was not swapped in); they are removed so the transform starts clean. If
//! the table already shows this run's version, or a newer run's, nothing is
//! touched and the run skips the table's transform and swap.

use crate::catalog::parameters;
use tracing::{info, warn};

use super::{check_table_name, curated_base, newer_run};
use crate::aws::glue::{self, TableState};
use crate::aws::s3;
use crate::catalog::audit;
use crate::catalog::location::{self, S3Prefix};
use crate::contract::catalog_swap::{PrepareOutcome, PrepareShared, Prepared};
use crate::env::Env;
use crate::error::Error;
use crate::logical_time::LogicalTime;

pub async fn prepare(env: &Env, table: &str, shared: &PrepareShared) -> Result<Prepared, Error> {
    check_table_name(table)?;
    let current = glue::get_table(&env.clients.glue, &env.config.curated_database, table).await?;
    let raw = glue::get_table(&env.clients.glue, &env.config.raw_database, table).await?;
    let live = current
        .as_ref()
        .and_then(|t| t.location.as_deref())
        .map(|l| S3Prefix::parse("location", l))
        .transpose()?;
    if let (Some(outcome), Some(live)) = (
        already_published(current.as_ref(), raw.as_ref(), shared.logical_time),
        &live,
    ) {
        info!(table, location = %live, ?outcome, "nothing to publish for this run");
        return Ok(Prepared {
            table: table.into(),
            location: live.to_string(),
            live: Some(live.to_string()),
            current: true,
            outcome,
            cleared: 0,
        });
    }
    // The transform reads the raw table: unless this run registered it (or
    // a newer run did, which the swap then leaves alone), it holds an older
    // export, which must never be published as this run's.
    raw_registered(table, raw.as_ref(), shared.logical_time, shared.export_id.as_deref())?;
    let next = location::next_location(
        shared.layout,
        &curated_base(env, table),
        shared.logical_time.timestamp(),
        live.as_ref(),
    )?;
    // Never clear what readers may use: the live location, or one that holds it.
    let cleared = if live.as_ref().is_some_and(|l| l.overlaps(&next)) {
        0
    } else {
        s3::delete_prefix(&env.clients.s3, &next.bucket, &next.key).await?
    };
    if cleared > 0 {
        warn!(table, location = %next, cleared, "removed leftovers of an interrupted attempt");
    }
    Ok(Prepared {
        table: table.to_string(),
        location: next.to_string(),
        live: live.map(|l| l.to_string()),
        current: false,
        outcome: PrepareOutcome::Prepared,
        cleared,
    })
}

/// Whether the curated table already shows this run's audited version
/// (`unchanged`) or either table a newer run's (`superseded`): then there is
/// nothing to publish. A version of this run not recorded as audited (one
/// published before snaplake audited first) is made and audited again.
pub fn already_published(
    current: Option<&TableState>,
    raw: Option<&TableState>,
    run: LogicalTime,
) -> Option<PrepareOutcome> {
    let this_run = run.to_string();
    if let Some(t) = current
        && t.parameters.get(parameters::LOGICAL_TIME) == Some(&this_run)
        && audit::passed(&t.parameters)
    {
        return Some(PrepareOutcome::Unchanged);
    }
    [current, raw]
        .into_iter()
        .flatten()
        .any(|t| newer_run(t, run))
        .then_some(PrepareOutcome::Superseded)
}

/// Whether the raw table shows this run's export (or a newer run's).
pub fn raw_registered(
    table: &str,
    raw: Option<&TableState>,
    run: LogicalTime,
    export_id: Option<&str>,
) -> Result<(), Error> {
    let wanted = export_id.unwrap_or("of this run").to_string();
    let not_registered = |found: String| Error::RawNotRegistered {
        table: table.to_string(),
        found,
        wanted: wanted.clone(),
    };
    let Some(raw) = raw else {
        return Err(not_registered("does not exist".into()));
    };
    let shown = raw
        .parameters
        .get(parameters::LOGICAL_TIME)
        .and_then(|t| LogicalTime::parse(t).ok());
    let shown_export = raw.parameters.get(parameters::EXPORT_ID).map(String::as_str);
    match shown {
        Some(t) if t > run => Ok(()),
        Some(t) if t == run && (export_id.is_none() || shown_export == export_id) => Ok(()),
        Some(t) => Err(not_registered(format!(
            "shows export {} of {t}",
            shown_export.unwrap_or("(none)")
        ))),
        None => Err(not_registered("was not registered by snaplake".into())),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::super::table_at;
    use super::*;

    #[test]
    fn a_table_showing_this_run_or_a_newer_one_is_already_published() {
        let run = LogicalTime::parse("2026-11-20T19:00:00Z").unwrap();
        let mut today = table_at("2026-11-20T19:00:00Z", "e-20261121");
        let newer = table_at("2026-11-21T19:00:00Z", "e-20261122");
        let older = table_at("2026-11-19T19:00:00Z", "e-20261120");
        assert_eq!(
            already_published(Some(&today), Some(&today), run),
            None,
            "this run's version, but not recorded as audited: a retry audits it again"
        );
        today.parameters.insert(parameters::AUDIT.into(), audit::PASSED.into());
        assert_eq!(
            already_published(Some(&today), Some(&today), run),
            Some(PrepareOutcome::Unchanged)
        );
        assert_eq!(
            already_published(Some(&newer), Some(&newer), run),
            Some(PrepareOutcome::Superseded)
        );
        assert_eq!(
            already_published(Some(&older), Some(&newer), run),
            Some(PrepareOutcome::Superseded),
            "a newer run registered the raw table"
        );
        assert_eq!(already_published(Some(&older), Some(&today), run), None);
        assert_eq!(already_published(None, Some(&today), run), None);
    }

    #[test]
    fn a_raw_table_not_registered_by_this_run_is_refused() {
        let run = LogicalTime::parse("2026-11-20T19:00:00Z").unwrap();
        let id = Some("snaplake-shop-prod-20261121");
        let today = table_at("2026-11-20T19:00:00Z", "snaplake-shop-prod-20261121");
        let newer = table_at("2026-11-21T19:00:00Z", "snaplake-shop-prod-20261122");
        assert!(raw_registered("t", Some(&today), run, id).is_ok());
        assert!(raw_registered("t", Some(&today), run, None).is_ok());
        assert!(
            raw_registered("t", Some(&newer), run, id).is_ok(),
            "a newer run's: the swap leaves it"
        );
        let yesterday = table_at("2026-11-19T19:00:00Z", "snaplake-shop-prod-20261120");
        let err = raw_registered("shop_orders", Some(&yesterday), run, id).unwrap_err();
        assert_eq!(err.name(), "RawNotRegistered");
        let text = err.to_string();
        assert!(
            text.contains("shop_orders")
                && text.contains("snaplake-shop-prod-20261120")
                && text.contains("run the day again"),
            "{text}"
        );
        let other_export = table_at("2026-11-20T19:00:00Z", "snaplake-shop-prod-20261121-2");
        assert!(raw_registered("t", Some(&other_export), run, id).is_err());
        assert!(
            raw_registered("t", None, run, id)
                .unwrap_err()
                .to_string()
                .contains("does not exist")
        );
        let unmanaged = TableState {
            parameters: HashMap::new(),
            ..today
        };
        assert!(raw_registered("t", Some(&unmanaged), run, id).is_err());
    }
}
