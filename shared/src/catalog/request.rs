//! The typed inputs and outputs of catalog-swap. Every action takes a batch
//! (`Items`, the Distributed Map `ItemBatcher` shape, a single table being a
//! batch of one) and answers per item, so one failing table does not stop
//! the others and the state machine can name the ones that failed.

use serde::{Deserialize, Serialize};

use super::compat::SchemaPolicy;
use super::location::Layout;
use crate::export::plan::PlanItem;
use crate::logical_time::LogicalTime;

fn default_concurrency() -> usize {
    8
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum CatalogRequest {
    /// Create or update the raw table of each plan item at its export location.
    RegisterRaw(Batch<PlanItem, RegisterRawShared>),
    /// Where each table's new curated version must be written this run,
    /// cleared of leftovers of an interrupted attempt.
    Prepare(Batch<TableRef, PrepareShared>),
    /// Point each curated table at the version written this run.
    Swap(Batch<SwapItem, SwapShared>),
    /// Point each table back at its previous version, or a given day's.
    Rollback(Batch<RollbackItem, NoShared>),
    /// Delete versions beyond retention, and surplus Glue table versions.
    Gc(Batch<TableRef, GcShared>),
    /// Sum up a run's per-table results; fail naming the tables that failed.
    /// The tables the export did not complete (the plan's `skipped`) are
    /// reported too, as `not_exported`.
    Report {
        results: serde_json::Value,
        #[serde(default)]
        not_exported: Vec<crate::export::plan::SkippedTable>,
    },
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

impl Item for RollbackItem {
    fn table(&self) -> String {
        self.table.clone()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Batch<I, S> {
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
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SwapShared {
    pub logical_time: LogicalTime,
    #[serde(default)]
    pub export_id: Option<String>,
    #[serde(default)]
    pub schema_policy: SchemaPolicy,
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

/// The answer to any action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchResult {
    pub succeeded: Vec<serde_json::Value>,
    pub failed: Vec<ItemFailure>,
    /// The names of the failed tables, for the state machine's Fail state.
    pub failed_tables: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemFailure {
    pub table: String,
    pub error: String,
    pub cause: String,
}

/// What a swap did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwapOutcome {
    pub table: String,
    /// `created`, `swapped` or `unchanged` (already pointing there).
    pub outcome: String,
    pub previous_location: Option<String>,
    pub new_location: String,
    pub previous_version: Option<String>,
    pub schema_changes: String,
}
