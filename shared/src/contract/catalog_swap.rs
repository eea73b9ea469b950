//! catalog-swap's requests and responses. Every action but `report` and
//! `lineage_failed` takes a
//! batch (`Items`, the Distributed Map `ItemBatcher` shape, a single table
//! being a batch of one) and answers per item, so one failing table does not
//! stop the others and the state machine can name the ones that failed.
//! Action names are snake_case, as query-runner's; `register-raw` (the
//! spelling of earlier definitions) is still accepted.

use serde::{Deserialize, Serialize};

use crate::contract::masking_policy::TableFormat;
use crate::contract::run_report::{ReportRequest, RunSummary, TableReport};
use crate::export::plan::PlanItem;
use crate::lineage::LineageRecord;
use crate::logical_time::LogicalTime;

fn default_concurrency() -> usize {
    8
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CatalogRequest {
    /// Create or update the raw table of each plan item at its export location.
    #[serde(alias = "register-raw")]
    RegisterRaw(BatchRequest<PlanItem, RegisterRawShared>),
    /// Where each table's new curated version must be written this run,
    /// cleared of leftovers of an interrupted attempt.
    Prepare(BatchRequest<TableRef, PrepareShared>),
    /// Judge each table's new version and make it queryable for its audit
    /// through a candidate table no analyst can read (`catalog::audit`).
    Stage(BatchRequest<SwapItem, SwapShared>),
    /// Point each curated table at its version written this run, once it
    /// passed its audit.
    Swap(BatchRequest<SwapItem, SwapShared>),
    /// Delete each version that failed its audit, and its candidate table.
    Discard(BatchRequest<DiscardItem, NoShared>),
    /// Point each table back at its previous version, or a given day's.
    Rollback(BatchRequest<RollbackItem, NoShared>),
    /// Delete versions beyond retention, and surplus Glue table versions.
    Gc(BatchRequest<TableRef, GcShared>),
    /// Sum up a run's per-table results; fail naming the tables that failed.
    /// The tables the export did not complete (the plan's `skipped`) are
    /// reported too, as `not_exported`. Boxed: it is the largest request.
    Report(Box<ReportRequest>),
    /// End the lineage of a run that failed before Report could: its
    /// OpenLineage FAIL (shared/src/lineage.rs), posted and written where
    /// Report would have written its events. Never fails the run's end.
    LineageFailed(RunFailed),
}

/// `lineage_failed`: the failed run, and the step and error it failed with
/// (its failure notification's `step` and `error`; never the cause, which
/// may quote data).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunFailed {
    /// The execution's name.
    pub run_id: String,
    pub execution_arn: String,
    pub logical_time: LogicalTime,
    #[serde(default)]
    pub started_at: Option<jiff::Timestamp>,
    pub step: String,
    pub error: String,
}

/// An item of a batch, named by the table it is about.
pub trait Item {
    fn table(&self) -> String;
}

impl Item for PlanItem {
    fn table(&self) -> String {
        self.name.clone()
    }
}

impl Item for TableRef {
    fn table(&self) -> String {
        self.table.clone()
    }
}

impl Item for SwapItem {
    fn table(&self) -> String {
        self.table.clone()
    }
}

impl Item for DiscardItem {
    fn table(&self) -> String {
        self.table.clone()
    }
}

impl Item for RollbackItem {
    fn table(&self) -> String {
        self.table.clone()
    }
}

/// A request over a batch of tables: the items, what they share, and how
/// many are worked on at once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchRequest<I, S> {
    #[serde(rename = "Items")]
    pub items: Vec<I>,
    #[serde(flatten)]
    pub shared: S,
    /// Tables worked on at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoShared {}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisterRawShared {
    pub logical_time: LogicalTime,
    pub export_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableRef {
    /// The Glue table name (as the plan names it, e.g. `shop_customers`).
    pub table: String,
}

/// How a curated table's versions are laid out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// `<base>/v=<logical time>/`, one per run (the default): old versions
    /// stay for rollback until retention removes them.
    #[default]
    Versioned,
    /// `<base>/blue/` and `<base>/green/`, alternating, for tables already
    /// managed that way: the next run writes the colour readers do not use.
    BlueGreen,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrepareShared {
    pub logical_time: LogicalTime,
    #[serde(default)]
    pub layout: Layout,
    /// The run's export: the raw table must show it before a transform
    /// reads it. Without it, only the logical time is checked.
    #[serde(default)]
    pub export_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwapItem {
    pub table: String,
    /// The location written this run (see `prepare`).
    pub new_location: String,
    /// The source table, recorded in the table's parameters.
    #[serde(default)]
    pub source: Option<String>,
    /// The masking policy's bound on this table's row drop (quality gate).
    #[serde(default)]
    pub max_row_drop_percent: Option<u32>,
    /// The masking policy's format for this table (`table_format`), over
    /// the deployment's.
    #[serde(default)]
    pub table_format: Option<TableFormat>,
    /// The table's line in the run's report as the state machine knows it
    /// (its queries, rows and bytes); Swap completes it with the outcome and
    /// answers it, so the table's last state is Swap itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<TableReport>,
}

/// What a swap does when the new version removes or retypes a column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaPolicy {
    /// Refuse a swap that removes or retypes a column (the default: queries
    /// that worked yesterday keep working).
    #[default]
    Fail,
    /// Swap anyway and report the changes.
    Accept,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SwapShared {
    pub logical_time: LogicalTime,
    #[serde(default)]
    pub export_id: Option<String>,
    #[serde(default)]
    pub schema_policy: SchemaPolicy,
    /// The run (execution name): the table's `snaplake.run_manifest`
    /// parameter points at the manifest its report writes.
    #[serde(default)]
    pub run_id: Option<String>,
    /// The run's publish settings the quality gate reads.
    #[serde(default)]
    pub publish: GateSettings,
    /// Retention after publishing: with it, a table this run's version is
    /// live on is collected as `gc` does (the state machine's Swap; keep is
    /// at least 2, so the version RollBack returns to stays).
    #[serde(default)]
    pub retention: Option<GcShared>,
}

/// What a run says to the quality gate (`catalog::quality`), from its
/// `publish` settings (their other fields are for other steps).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GateSettings {
    /// Tables whose new version replaces the live one whatever the row drop
    /// (`snaplake run --force-table`).
    #[serde(default)]
    pub force_tables: Vec<String>,
    /// The run's bound on a table's row drop, in percent (default 50).
    #[serde(default)]
    pub max_row_drop_percent: Option<u32>,
}

/// `discard`: a version that failed its audit, to delete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscardItem {
    pub table: String,
    /// The version's location (`PrepareTarget`'s), never the live one.
    pub location: String,
}

/// What `discard` removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discarded {
    pub table: String,
    pub location: String,
    pub deleted_objects: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackItem {
    pub table: String,
    /// The logical day (`2026-11-20`) to go back to; default: the previous version.
    #[serde(default)]
    pub to_day: Option<String>,
    /// `curated` (default) or `raw`.
    #[serde(default)]
    pub database: Option<String>,
    /// Go back to a version made under another masking policy than the
    /// pinned one (`snaplake rollback --allow-other-policy`): it may publish
    /// what the pinned policy removes. Refused otherwise.
    #[serde(default)]
    pub allow_other_policy: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GcShared {
    /// Versions kept per table; default `SNAPLAKE_KEEP_VERSIONS`.
    #[serde(default)]
    pub keep: Option<u32>,
    /// List what would go, delete nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// The answer to a batch action: each item's result, or its failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchResult<O> {
    pub succeeded: Vec<O>,
    pub failed: Vec<ItemFailure>,
    /// The names of the failed tables, for the state machine's Fail state.
    pub failed_tables: Vec<String>,
}

impl<O> Default for BatchResult<O> {
    fn default() -> Self {
        BatchResult {
            succeeded: Vec::new(),
            failed: Vec::new(),
            failed_tables: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemFailure {
    pub table: String,
    /// The error's name (`snaplake::Error::name`).
    pub error: String,
    pub cause: String,
}

/// What catalog-swap answers: the result of the request's action.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum CatalogResponse {
    Registered(BatchResult<Registered>),
    Prepared(BatchResult<Prepared>),
    Swapped(BatchResult<Swapped>),
    Discarded(BatchResult<Discarded>),
    Collected(BatchResult<Collected>),
    Reported(RunSummary),
    /// `lineage_failed`: where the run's events are and what was posted.
    Told(LineageRecord),
}

/// `register_raw`: what happened to the raw table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegisterOutcome {
    Created,
    Updated,
    /// It already showed this export.
    Unchanged,
    /// A newer run registered it; left as it is.
    Superseded,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registered {
    pub table: String,
    pub outcome: RegisterOutcome,
    pub location: String,
    pub columns: usize,
}

/// `prepare`: whether this run has a version to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrepareOutcome {
    /// The location is ready for this run's version.
    Prepared,
    /// The table already shows this run's version.
    Unchanged,
    /// The table shows a newer run's version.
    Superseded,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prepared {
    pub table: String,
    /// Where this run's version goes (or already is).
    pub location: String,
    pub live: Option<String>,
    /// The table already shows this run's version, or a newer run's: nothing
    /// to transform or swap.
    pub current: bool,
    pub outcome: PrepareOutcome,
    /// Objects removed from `location`: leftovers of an interrupted attempt.
    pub cleared: usize,
}

/// `swap` and `rollback`: what happened to the table's location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwapOutcome {
    /// `stage`: written and queryable for its audit; not published.
    Staged,
    /// The table did not exist; it does now.
    Created,
    Swapped,
    /// It already pointed there.
    Unchanged,
    /// A newer run published it; it stays on that version.
    Superseded,
    RolledBack,
    /// The quality gate kept the live version (`reason` says why).
    Held,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Swapped {
    pub table: String,
    pub outcome: SwapOutcome,
    pub previous_location: Option<String>,
    pub new_location: String,
    pub previous_version: Option<String>,
    pub schema_changes: String,
    /// Why the quality gate held the table; null otherwise. Always present:
    /// the state machine's TableHeld reads it.
    pub reason: Option<String>,
    /// What retention did after the swap, when the request asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
    /// The request's report line, completed: what the state machine's Swap
    /// state answers for the table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<TableReport>,
}

/// Retention run by a swap: the version folders it deleted, or why it did
/// not run. The table is published either way; the next run collects what
/// this one left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retention {
    pub deleted: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `gc`: what retention kept and deleted of one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Collected {
    pub table: String,
    pub dry_run: bool,
    pub kept: Vec<String>,
    /// Versions deleted (a dry run: that would be).
    pub deleted: Vec<String>,
    /// Versions beyond retention not (or not wholly) deleted: past this
    /// call's budget of objects; the next gc goes on with them.
    #[serde(default)]
    pub left: Vec<String>,
    pub objects_deleted: usize,
    pub glue_versions_deleted: usize,
    /// The raw table's Glue versions pruned: updated every day, it
    /// accumulates versions as the curated one does.
    pub raw_glue_versions_deleted: usize,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::handlers::parse;

    #[test]
    fn unknown_actions_and_fields_are_named() {
        let err = parse::<CatalogRequest>("catalog-swap input", json!({"action": "explode", "Items": []})).unwrap_err();
        assert!(err.to_string().contains("report"), "{err}");
        assert!(
            err.to_string().contains("explode") && err.to_string().contains("swap"),
            "{err}"
        );
        let err = parse::<CatalogRequest>(
            "catalog-swap input",
            json!({"action": "swap", "logical_time": "2026-11-20T19:00:00Z", "Items": [{"table": "t"}]}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("new_location"), "{err}");
    }

    #[test]
    fn register_raw_is_snake_case_and_the_old_spelling_is_still_accepted() {
        let batch = |action: &str| {
            json!({"action": action, "logical_time": "2026-11-20T19:00:00Z", "export_id": "e",
                   "Items": []})
        };
        for action in ["register_raw", "register-raw"] {
            let parsed = parse::<CatalogRequest>("catalog-swap input", batch(action));
            assert!(
                matches!(parsed, Ok(CatalogRequest::RegisterRaw(_))),
                "{action}: {parsed:?}"
            );
        }
        let sent = serde_json::to_value(parse::<CatalogRequest>("x", batch("register-raw")).unwrap()).unwrap();
        assert_eq!(sent["action"], "register_raw");
    }

    #[test]
    fn every_example_event_parses() {
        for (name, text) in [
            (
                "register-raw",
                include_str!("../../../events/catalog-swap-register-raw.json"),
            ),
            ("swap", include_str!("../../../events/catalog-swap-swap.json")),
            ("prepare", include_str!("../../../events/catalog-swap-prepare.json")),
            ("rollback", include_str!("../../../events/catalog-swap-rollback.json")),
            ("gc", include_str!("../../../events/catalog-swap-gc.json")),
        ] {
            let value: serde_json::Value = serde_json::from_str(text).unwrap();
            assert!(
                parse::<CatalogRequest>("catalog-swap input", value).is_ok(),
                "events/catalog-swap-{name}.json"
            );
        }
    }
}
