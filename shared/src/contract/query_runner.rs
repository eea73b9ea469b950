//! query-runner's requests and responses: the Athena side of Transform and
//! Verify. One response type per action; [`QueryResponse`] is what the
//! function answers (each variant serializes as its action's type).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::contract::catalog_swap::{Prepared, SwapOutcome};
use crate::contract::masking_policy::{MaskingPolicy, TableFormat};
use crate::logical_time::LogicalTime;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum QueryRequest {
    /// Check the policy against every raw table: those named, or every table
    /// of the plan written by export-poller.
    Validate {
        #[serde(default)]
        policy: Option<MaskingPolicy>,
        #[serde(default)]
        policy_digest: Option<String>,
        #[serde(default)]
        tables: Vec<TableNames>,
        #[serde(default)]
        plan: Option<crate::contract::export_poller::PlanRef>,
        /// At most this many names per list in the answer (the state machine
        /// sends 20: its state must not grow with the number of tables).
        #[serde(default)]
        max_names: Option<usize>,
    },
    /// The state machine's Transform: the masking UNLOAD, started and waited for.
    Transform(TransformRequest),
    /// The state machine's Verify: the checks on the published version.
    Verify(VerifyRequest),
    /// Start the masking UNLOAD of one table into its new curated location
    /// (one step of `transform`, for operators and tests).
    StartTransform {
        run_id: String,
        logical_time: LogicalTime,
        #[serde(default)]
        policy: Option<MaskingPolicy>,
        #[serde(default)]
        policy_digest: Option<String>,
        table: TableNames,
        new_location: String,
    },
    /// Start the checks on a published table (one step of `verify`).
    StartVerify {
        run_id: String,
        #[serde(default)]
        policy: Option<MaskingPolicy>,
        #[serde(default)]
        policy_digest: Option<String>,
        table: TableNames,
    },
    /// Where a query is; stops it (and fails) past its scan budget.
    Poll {
        query_execution_id: String,
        #[serde(default)]
        purpose: Option<String>,
        #[serde(default)]
        scan_budget_bytes: Option<i64>,
        /// The shortest wait before the next poll (`transform::poll_cadence`).
        #[serde(default)]
        min_wait_seconds: Option<u64>,
    },
    /// Reads the verification row and fails naming the check that did not hold.
    CheckVerify {
        query_execution_id: String,
        table: TableNames,
    },
    /// A query's rows: inline when few, else written to S3 and returned as a key.
    Results {
        query_execution_id: String,
    },
    Stop {
        query_execution_id: String,
    },
}

/// The state machine's Transform: starts the masking UNLOAD of one
/// table into the location PrepareTarget chose and waits for it in this
/// invocation, up to `wait_seconds`; with `resume`, waits for the query
/// an earlier answer left running. A table PrepareTarget found already
/// published is answered at once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformRequest {
    pub run_id: String,
    pub logical_time: LogicalTime,
    #[serde(default)]
    pub policy: Option<MaskingPolicy>,
    #[serde(default)]
    pub policy_digest: Option<String>,
    pub table: TableNames,
    /// PrepareTarget's answer for the table.
    pub target: Prepared,
    #[serde(default)]
    pub scan_budget_bytes: Option<i64>,
    /// The longest this invocation waits for the query
    /// (`transform::poll_cadence::MAX_INLINE_WAIT_SECONDS` at most).
    #[serde(default)]
    pub wait_seconds: Option<u64>,
    /// The shortest wait the state machine makes before asking again.
    #[serde(default)]
    pub min_wait_seconds: Option<u64>,
    #[serde(default)]
    pub resume: Option<TransformProgress>,
}

/// The state machine's Verify, the audit of write-audit-publish: starts the
/// checks on the version Stage made queryable (`staged`) and waits for them
/// as Transform does, then reads them; a failed check is the call's error
/// (`VerificationFailed`), and the state machine discards the version. A
/// table Stage will not publish (`superseded`, `held`) is answered at once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    pub run_id: String,
    #[serde(default)]
    pub policy: Option<MaskingPolicy>,
    #[serde(default)]
    pub policy_digest: Option<String>,
    pub table: TableNames,
    /// Stage's outcome for the table.
    pub staged: SwapOutcome,
    #[serde(default)]
    pub scan_budget_bytes: Option<i64>,
    #[serde(default)]
    pub wait_seconds: Option<u64>,
    #[serde(default)]
    pub min_wait_seconds: Option<u64>,
    #[serde(default)]
    pub resume: Option<VerifyProgress>,
}

/// A table by its source name and its Glue name (the same in raw and curated).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableNames {
    /// As RDS names it: `shop.customers`.
    pub source: String,
    /// As the plan names it in Glue: `shop_customers`.
    pub name: String,
}

/// `validate`: what the policy makes of the run's tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validated {
    /// Always true: an invalid policy is an error.
    pub valid: bool,
    /// The Glue names of the tables to publish (the first `max_names` when
    /// the request bounds the lists; `published_count` counts them all).
    pub published: Vec<String>,
    pub published_count: usize,
    /// True when a list was cut to `max_names` (the function's log and
    /// `snaplake policy check` name them all).
    #[serde(default)]
    pub lists_cut: bool,
    /// Source tables the policy does not name (not published).
    pub skipped: Vec<String>,
    /// Source tables with columns that have no rule (not published this run).
    pub unclassified: BTreeMap<String, Vec<String>>,
    /// Columns dropped because they have no rule (`unlisted_columns: drop`).
    pub dropped_unlisted: BTreeMap<String, Vec<String>>,
    /// Tables the policy names that the export does not hold.
    pub missing: Vec<String>,
}

/// `start_transform`: the UNLOAD started, or the table skipped (the policy
/// does not name it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransformStarted {
    pub skipped: bool,
    pub table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_execution_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_location: Option<String>,
    /// Columns with no rule that `unlisted_columns: drop` left out.
    pub dropped_unlisted: Vec<String>,
    /// The policy's bound on the table's row drop for the quality gate
    /// (`catalog::quality`); null for the run's. Always present: the state
    /// machine hands it to the swap.
    pub max_row_drop_percent: Option<u32>,
    /// The table's own format in the policy; null for the deployment's.
    /// Always present: the state machine hands it to the swap.
    pub table_format: Option<TableFormat>,
}

/// Where a table's Transform or Verify is: the state machine's Choice
/// after each routes on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    /// The query succeeded (and, for Verify, every check held).
    Done,
    /// Still queued or running: wait `wait_seconds`, then send the answer
    /// back as `resume`.
    Running,
    /// The policy does not name the table: not published.
    Skipped,
    /// PrepareTarget found this run's version already published.
    Unchanged,
    /// A newer run published the table; it stays on that version.
    Superseded,
    /// The quality gate kept the live version (Verify only).
    Held,
}

/// `transform`: where the table's masking UNLOAD is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformProgress {
    pub status: Progress,
    pub table: String,
    /// Always present (null when no query ran): the state machine reads it.
    pub query_execution_id: Option<String>,
    pub new_location: Option<String>,
    /// Columns with no rule that `unlisted_columns: drop` left out.
    pub dropped_unlisted: Vec<String>,
    /// The policy's bound on the table's row drop for the quality gate; null
    /// for the run's.
    pub max_row_drop_percent: Option<u32>,
    /// The table's own format in the policy; null for the deployment's.
    pub table_format: Option<TableFormat>,
    pub scanned_bytes: i64,
    /// Seconds the state machine waits before resuming a running query
    /// (`transform::poll_cadence`).
    pub wait_seconds: u64,
    /// How many times the state machine resumed it (its poll rounds).
    #[serde(default)]
    pub polls: u32,
}

/// `verify`: where the checks on the published table are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyProgress {
    pub status: Progress,
    pub table: String,
    pub query_execution_id: Option<String>,
    /// As [`Verified`]: null until the checks are read.
    pub rows_in: Option<i64>,
    pub rows_out: Option<i64>,
    pub wait_seconds: u64,
    /// Bytes the audit query scanned (0 until it is done, or when none ran).
    #[serde(default)]
    pub scanned_bytes: i64,
    /// How many times the state machine resumed it (its poll rounds).
    #[serde(default)]
    pub polls: u32,
}

/// `start_verify`: the checks started, or the table skipped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyStarted {
    pub skipped: bool,
    pub table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_execution_id: Option<String>,
}

/// `poll`: where a query is (a failed one is an error instead).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Polled {
    pub query_execution_id: String,
    /// Athena's state: `QUEUED`, `RUNNING` or `SUCCEEDED`.
    pub state: String,
    /// True once `SUCCEEDED`.
    pub done: bool,
    pub data_scanned_bytes: i64,
    pub engine_ms: i64,
    /// Seconds the state machine waits before polling again: longer as the
    /// query ages (`transform::poll_cadence`).
    pub wait_seconds: u64,
}

/// `check_verify`: every check held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verified {
    pub verified: bool,
    pub table: String,
    pub checks: Vec<String>,
    /// The rows the policy's filter keeps of the raw table, and the rows of
    /// the published version (the run's manifest records both). Always
    /// present, null when the query did not give them: the state machine
    /// reads them.
    pub rows_in: Option<i64>,
    pub rows_out: Option<i64>,
}

/// `results`: the rows inline when few, else where they were written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum QueryRows {
    Inline {
        rows: Vec<HashMap<String, Option<String>>>,
        row_count: usize,
        truncated: bool,
    },
    InS3 {
        bucket: String,
        key: String,
        row_count: usize,
        truncated: bool,
    },
}

/// `stop`: the query asked to stop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stopped {
    pub stopped: String,
}

/// What query-runner answers: the response of the request's action.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum QueryResponse {
    Validated(Validated),
    Transform(TransformProgress),
    Verify(VerifyProgress),
    TransformStarted(TransformStarted),
    VerifyStarted(VerifyStarted),
    Polled(Polled),
    Verified(Verified),
    Rows(QueryRows),
    Stopped(Stopped),
}
