//! The run's metrics, written by catalog-swap's report step (the end of a
//! run): how its tables ended, whether it succeeded, the delay from the
//! export's COMPLETE to the report, the age of the oldest live version, the
//! run's duration and its cost. What they mean: [`crate::metrics`].

use crate::catalog::parameters;
use jiff::Timestamp;
use tracing::warn;

use crate::aws::glue::TableState;
use crate::contract::run_report::{ReportRequest, TableReport};
use crate::cost::RunCost;
use crate::env::Env;
use crate::error::Error;
use crate::logical_time::LogicalTime;
use crate::metrics::{self, RunTimes};

/// Writes the report's EMF lines, with the live versions' ages from the
/// curated database (`live`, which Report lists once for the metrics and the
/// lineage); when it could not be listed, the age is left out (its alarm
/// treats missing data as breaching) and the report goes on.
pub fn emit(
    env: &Env,
    request: &ReportRequest,
    entries: &[TableReport],
    cost: Option<&RunCost>,
    live: &Result<Vec<(String, TableState)>, Error>,
) {
    let counts = metrics::count(entries, 0);
    let tables = metrics::policy_tables(entries);
    let oldest_live = match live {
        Ok(live) => {
            let live: Vec<(String, Option<LogicalTime>)> = live
                .iter()
                .map(|(name, t)| {
                    let time = t.parameters.get(parameters::LOGICAL_TIME);
                    (name.clone(), time.and_then(|t| LogicalTime::parse(t).ok()))
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
        export_completed: export_completed(request.run.export_completed_at.as_deref()),
        oldest_live,
    };
    let cost_usd = cost.map(|c| c.total_usd);
    for doc in metrics::run_report(metrics::source(&env.config), &counts, times, cost_usd) {
        doc.emit();
    }
}

/// When the export completed, from the run's state. A value that is not a
/// time leaves PublishDelay out, said in the log with the value and where it
/// comes from, never silently.
fn export_completed(text: Option<&str>) -> Option<Timestamp> {
    let text = text?;
    match text.parse() {
        Ok(t) => Some(t),
        Err(e) => {
            warn!(export_completed_at = text, error = %e,
                  "the run's export_completed_at (export-poller's completed_at) is not an RFC 3339 time; \
                   the PublishDelay metric is left out of this run");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_completion_time_is_left_out_and_a_good_one_read() {
        assert_eq!(
            export_completed(Some("2026-11-21T02:00:00Z")),
            Some("2026-11-21T02:00:00Z".parse().unwrap())
        );
        assert_eq!(export_completed(Some("yesterday")), None);
        assert_eq!(export_completed(None), None);
    }
}
