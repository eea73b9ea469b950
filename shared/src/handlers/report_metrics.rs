//! The run's metrics, written by catalog-swap's report step (the end of a
//! run): how its tables ended, whether it succeeded, the delay from the
//! export's COMPLETE to the report, the age of the oldest live version, and
//! the run's duration. What they mean: [`crate::metrics`].

use jiff::Timestamp;
use tracing::warn;

use crate::aws::glue;
use crate::contract::catalog_swap::{ReportRequest, TableReport};
use crate::env::Env;
use crate::logical_time::LogicalTime;
use crate::metrics::{self, RunTimes};

/// Writes the report's EMF lines. Reading the live versions' ages from the
/// curated database is the one call it makes; when that fails, the age is
/// left out (its alarm treats missing data as breaching) and the report goes on.
pub async fn emit(env: &Env, request: &ReportRequest, entries: &[TableReport]) {
    let counts = metrics::count(entries, 0);
    let tables = metrics::policy_tables(entries);
    let oldest_live = match glue::list_tables(&env.clients.glue, &env.config.curated_database).await {
        Ok(live) => {
            let live: Vec<(String, Option<LogicalTime>)> = live
                .into_iter()
                .map(|(name, t)| {
                    let time = t.parameters.get("snaplake.logical_time");
                    (name, time.and_then(|t| LogicalTime::parse(t).ok()))
                })
                .collect();
            metrics::oldest_live(&tables, &live)
        }
        Err(e) => {
            warn!(error = %e, "cannot read the live versions; the run's metrics leave out their age");
            None
        }
    };
    let times = RunTimes {
        now: Some(Timestamp::now()),
        logical_time: request.run.logical_time,
        export_completed: request.run.export_completed_at.as_deref().and_then(|t| t.parse().ok()),
        oldest_live,
    };
    for doc in metrics::run_report(metrics::source(&env.config), &counts, times) {
        doc.emit();
    }
}
