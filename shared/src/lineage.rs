//! Lineage: a run told as OpenLineage run events (spec 2-0-2), which the
//! AWS Glue Data Catalog's lineage graph, DataHub, OpenMetadata and Marquez
//! read.
//!
//! - **One OpenLineage run per execution.** Its `runId` is a UUID derived
//!   from the execution's ARN ([`run_id`]), so every step of the run, and a
//!   retried step, names the same run. The job is the state machine.
//! - **START** ([`start_event`]) at the execution's start time, posted by
//!   StartExport; **COMPLETE** or **FAIL** ([`end_events`]) when Report ends
//!   the run, with the outputs: each curated table the run published.
//! - **Each output** carries its schema (the live curated table's columns),
//!   its column lineage from the raw table (the policy's rule for each
//!   column: `keep` is DIRECT/IDENTITY; `hash`, `hash_salted`, `redact` and
//!   `truncate_day` are DIRECT/TRANSFORMATION with `masking: true`; the row
//!   filter's columns are INDIRECT/FILTER for the whole dataset; a dropped
//!   column appears nowhere), the rows published and the audit that passed.
//! - **The inputs** are each published table's raw Glue table and its source
//!   table in the snapshot (namespace: the snapshot's ARN).
//! - **At most [`MAX_EVENT_BYTES`] an event**, as PostLineageEvent takes:
//!   an end event too large is split by table into OTHER events of the same
//!   run, the last one carrying COMPLETE or FAIL ([`fit`]).
//!
//! Pure: Report and StartExport gather the facts, post the events
//! (`aws::glue::post_lineage_event`) and write them beside the manifest.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::catalog::schema::Column;
use crate::contract::masking_policy::{Rule, TablePolicy};
use crate::contract::run_report::{RunCounts, TableOutcome, TableReport};
use crate::logical_time::LogicalTime;

/// The most bytes one event may have: PostLineageEvent's limit.
pub const MAX_EVENT_BYTES: usize = 300_000;

/// Who wrote the events (a URI, as the spec requires).
pub const PRODUCER: &str = concat!("urn:snaplake:", env!("CARGO_PKG_VERSION"));
/// The job namespace of every snaplake run.
pub const JOB_NAMESPACE: &str = "snaplake";
const RUN_EVENT: &str = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
const NOMINAL_TIME: &str =
    "https://openlineage.io/spec/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet";
const JOB_TYPE: &str = "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet";
const ERROR_MESSAGE: &str =
    "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet";
const SCHEMA: &str = "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet";
const COLUMN_LINEAGE: &str =
    "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet";
const QUALITY_METRICS: &str = "https://openlineage.io/spec/facets/1-0-1/DataQualityMetricsDatasetFacet.json#/$defs/DataQualityMetricsDatasetFacet";
/// snaplake's own run facet; its JSON schema is docs/lineage/SnaplakeRunFacet.json.
pub const SNAPLAKE_RUN: &str = "urn:snaplake:schema:SnaplakeRunFacet:1";
/// snaplake's own output facet, the audit a published table passed
/// (docs/lineage/SnaplakeAuditDatasetFacet.json). OpenLineage's
/// `dataQualityAssertions` is an input facet: the audit is of an output.
pub const SNAPLAKE_AUDIT: &str = "urn:snaplake:schema:SnaplakeAuditDatasetFacet:1";

/// What the manifest records of the run's lineage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LineageRecord {
    /// `s3://…` of the run's events, when they were written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<String>,
    /// End events accepted by the Glue Data Catalog (0 when not posted).
    pub posted: usize,
    /// What went wrong or was left out, each naming what and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// Every facet's two fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facet<T> {
    #[serde(rename = "_producer")]
    pub producer: String,
    #[serde(rename = "_schemaURL")]
    pub schema_url: String,
    #[serde(flatten)]
    pub body: T,
}

fn facet<T>(schema_url: &str, body: T) -> Facet<T> {
    Facet {
        producer: PRODUCER.into(),
        schema_url: schema_url.into(),
        body,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum EventType {
    Start,
    Complete,
    Fail,
    /// A part of a run's end too large for one event.
    Other,
}

/// An event. Its datasets are kept as their JSON ([`Dataset`] serialized
/// once): a run's end at 10,000 tables holds tens of MB of lineage, which
/// Report (256 MB) keeps once, not as many small strings, and moves, never
/// copies, into the events.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunEvent {
    pub event_type: EventType,
    pub event_time: String,
    pub run: Run,
    pub job: Job,
    pub inputs: Vec<Box<RawValue>>,
    pub outputs: Vec<Box<RawValue>>,
    pub producer: String,
    #[serde(rename = "schemaURL")]
    pub schema_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub run_id: String,
    pub facets: RunFacets,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunFacets {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nominal_time: Option<Facet<NominalTime>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<Facet<ErrorMessage>>,
    #[serde(rename = "snaplake_run", skip_serializing_if = "Option::is_none")]
    pub snaplake: Option<Facet<SnaplakeRun>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NominalTime {
    pub nominal_start_time: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorMessage {
    pub message: String,
    pub programming_language: String,
}

/// What only snaplake knows of a run (docs/lineage/SnaplakeRunFacet.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnaplakeRun {
    pub logical_time: String,
    pub execution_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    pub published: usize,
    pub held: usize,
    pub failed: usize,
    pub skipped: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub namespace: String,
    pub name: String,
    pub facets: JobFacets,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobFacets {
    pub job_type: Facet<JobType>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobType {
    pub processing_type: String,
    pub integration: String,
    pub job_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    pub namespace: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "DatasetFacets::is_empty")]
    pub facets: DatasetFacets,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasetFacets {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<Facet<Schema>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column_lineage: Option<Facet<ColumnLineage>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_quality_metrics: Option<Facet<QualityMetrics>>,
    #[serde(rename = "snaplake_audit", skip_serializing_if = "Option::is_none")]
    pub audit: Option<Facet<Audit>>,
}

impl DatasetFacets {
    fn is_empty(&self) -> bool {
        self == &DatasetFacets::default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    pub fields: Vec<SchemaField>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaField {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnLineage {
    pub fields: BTreeMap<String, ColumnFrom>,
    /// What shapes the whole dataset: the row filter's columns.
    pub dataset: Vec<InputField>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ColumnFrom {
    pub input_fields: Vec<InputField>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputField {
    pub namespace: String,
    pub name: String,
    pub field: String,
    pub transformations: Vec<Transformation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transformation {
    #[serde(rename = "type")]
    pub kind: String,
    pub subtype: String,
    pub description: String,
    pub masking: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QualityMetrics {
    pub row_count: i64,
    pub column_metrics: BTreeMap<String, serde_json::Value>,
}

/// The audit a table passed before it was published: snaplake's
/// verification query (rows and masking) and the policy's assertions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Audit {
    pub passed: bool,
    pub assertions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_query_id: Option<String>,
}

/// The run's OpenLineage id: a UUID (version 8, RFC 9562) of the SHA-256 of
/// the execution's ARN, the same for every step of the execution.
pub fn run_id(execution_arn: &str) -> String {
    let hash = Sha256::digest(execution_arn.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&hash[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Where an execution runs: partition, Region, account and state machine,
/// read from its ARN (`arn:<partition>:states:<region>:<account>:execution:<machine>:<name>`).
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub arn: String,
    pub partition: String,
    pub region: String,
    pub account: String,
    pub machine: String,
}

impl Execution {
    pub fn parse(arn: &str) -> Result<Execution, String> {
        let parts: Vec<&str> = arn.splitn(8, ':').collect();
        match parts[..] {
            ["arn", partition, "states", region, account, "execution", machine, name]
                if [partition, region, account, machine, name]
                    .iter()
                    .all(|p| !p.is_empty()) =>
            {
                Ok(Execution {
                    arn: arn.to_string(),
                    partition: partition.into(),
                    region: region.into(),
                    account: account.into(),
                    machine: machine.into(),
                })
            }
            _ => Err(format!(
                "`{arn}` is not an execution ARN (arn:<partition>:states:<region>:<account>:execution:<state machine>:<name>)"
            )),
        }
    }

    /// A Glue table as OpenLineage names it for AWS Glue: namespace
    /// `arn:<partition>:glue:<region>:<account>`, name `table/<database>/<table>`.
    fn glue_table(&self, database: &str, table: &str) -> (String, String) {
        (
            format!("arn:{}:glue:{}:{}", self.partition, self.region, self.account),
            format!("table/{database}/{table}"),
        )
    }

    fn job(&self) -> Job {
        Job {
            namespace: JOB_NAMESPACE.into(),
            name: self.machine.clone(),
            facets: JobFacets {
                job_type: facet(
                    JOB_TYPE,
                    JobType {
                        processing_type: "BATCH".into(),
                        integration: "SNAPLAKE".into(),
                        job_type: "JOB".into(),
                    },
                ),
            },
        }
    }
}

fn nominal(logical_time: LogicalTime) -> Facet<NominalTime> {
    facet(
        NOMINAL_TIME,
        NominalTime {
            nominal_start_time: logical_time.to_string(),
        },
    )
}

/// The run's START: what is known when it begins, so StartExport (which
/// posts it) and Report (which writes it beside the manifest) build the
/// same event.
pub fn start_event(execution: &Execution, started_at: Timestamp, logical_time: LogicalTime) -> RunEvent {
    RunEvent {
        event_type: EventType::Start,
        event_time: started_at.to_string(),
        run: Run {
            run_id: run_id(&execution.arn),
            facets: RunFacets {
                nominal_time: Some(nominal(logical_time)),
                ..RunFacets::default()
            },
        },
        job: execution.job(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        producer: PRODUCER.into(),
        schema_url: RUN_EVENT.into(),
    }
}

/// What Report knows at the end of a run.
#[derive(Debug, Clone)]
pub struct RunEnd<'a> {
    pub execution: &'a Execution,
    pub ended_at: Timestamp,
    pub logical_time: LogicalTime,
    pub snapshot_arn: Option<&'a str>,
    pub export_id: Option<&'a str>,
    pub policy_digest: Option<&'a str>,
    pub manifest: Option<String>,
    pub raw_database: &'a str,
    pub curated_database: &'a str,
    pub counts: &'a RunCounts,
    /// The reason the run failed (data-free: Report's own summary), None
    /// when it completed.
    pub failure: Option<String>,
}

/// One published table, as Report knows it.
#[derive(Debug, Clone)]
pub struct Published<'a> {
    pub report: &'a TableReport,
    /// The table's source name in the snapshot (`shop.customers`).
    pub source: Option<&'a str>,
    /// The live curated table's columns (its schema), when they were read.
    pub columns: Option<&'a [Column]>,
    /// The policy's rules for the table, when the pinned policy was read.
    pub policy: Option<&'a TablePolicy>,
    /// The row filter's columns.
    pub filter_columns: Vec<String>,
}

/// Whether a table's outcome published it (a version is live from this run).
pub fn is_published(report: &TableReport) -> bool {
    matches!(
        report.outcome,
        Some(TableOutcome::Created | TableOutcome::Swapped | TableOutcome::Unchanged)
    ) && !report.failed
}

/// The run's end: the event without its datasets, and each published
/// table's inputs and output ([`fit`] makes events of them).
#[derive(Debug, Clone)]
pub struct End {
    pub head: RunEvent,
    pub tables: Vec<TableLineage>,
}

/// One published table: its inputs (its source table in the snapshot, its
/// raw table) and itself, as JSON.
#[derive(Debug, Clone)]
pub struct TableLineage {
    pub inputs: Vec<Box<RawValue>>,
    pub output: Box<RawValue>,
}

impl TableLineage {
    fn input_bytes(&self) -> usize {
        self.inputs.iter().map(|d| d.get().len()).sum()
    }
}

impl End {
    /// The end as one event, whatever its size.
    pub fn whole(&self) -> RunEvent {
        let mut event = self.head.clone();
        for table in &self.tables {
            event.inputs.extend(table.inputs.iter().cloned());
            event.outputs.push(table.output.clone());
        }
        event
    }
}

fn raw(dataset: &Dataset) -> Box<RawValue> {
    serde_json::value::to_raw_value(dataset).expect("a dataset serializes")
}

/// The run's end, COMPLETE or FAIL, its datasets each within `limit` bytes
/// alone (see [`fit`]): a table too large alone loses its column lineage,
/// then its schema, each said in the returned notes.
pub fn end_event(end: &RunEnd, published: &[Published], limit: usize) -> (End, Vec<String>) {
    let execution = end.execution;
    let head = end_head(end);
    let head_size = size(&head);
    let mut notes = Vec::new();
    let mut tables = Vec::with_capacity(published.len());
    for table in published {
        let (raw_ns, raw_name) = execution.glue_table(end.raw_database, &table.report.table);
        let mut inputs = Vec::new();
        if let (Some(snapshot), Some(source)) = (end.snapshot_arn, table.source) {
            inputs.push(raw(&Dataset {
                namespace: snapshot.to_string(),
                name: source.to_string(),
                facets: DatasetFacets::default(),
            }));
        }
        inputs.push(raw(&Dataset {
            namespace: raw_ns.clone(),
            name: raw_name.clone(),
            facets: DatasetFacets::default(),
        }));
        let (namespace, name) = execution.glue_table(end.curated_database, &table.report.table);
        let mut output = Dataset {
            namespace,
            name,
            facets: output_facets(table, &raw_ns, &raw_name),
        };
        let inputs_size: usize = inputs.iter().map(|d| d.get().len()).sum();
        let alone =
            |output: &Dataset| head_size + grown(0, inputs.len(), inputs_size) + grown(0, 1, raw(output).get().len());
        if alone(&output) > limit {
            output.facets.column_lineage = None;
            notes.push(format!(
                "{}: column lineage left out (the event would pass {limit} bytes)",
                output.name
            ));
        }
        if alone(&output) > limit {
            output.facets.schema = None;
            notes.push(format!(
                "{}: schema left out (the event would pass {limit} bytes)",
                output.name
            ));
        }
        tables.push(TableLineage {
            inputs,
            output: raw(&output),
        });
    }
    (End { head, tables }, notes)
}

fn end_head(end: &RunEnd) -> RunEvent {
    let execution = end.execution;
    let failure = end.failure.clone().map(|message| {
        facet(
            ERROR_MESSAGE,
            ErrorMessage {
                message,
                programming_language: "rust".into(),
            },
        )
    });
    RunEvent {
        event_type: if end.failure.is_some() {
            EventType::Fail
        } else {
            EventType::Complete
        },
        event_time: end.ended_at.to_string(),
        run: Run {
            run_id: run_id(&execution.arn),
            facets: RunFacets {
                nominal_time: Some(nominal(end.logical_time)),
                error_message: failure,
                snaplake: Some(facet(
                    SNAPLAKE_RUN,
                    SnaplakeRun {
                        logical_time: end.logical_time.to_string(),
                        execution_arn: execution.arn.clone(),
                        snapshot_arn: end.snapshot_arn.map(str::to_string),
                        export_id: end.export_id.map(str::to_string),
                        policy_digest: end.policy_digest.map(str::to_string),
                        manifest: end.manifest.clone(),
                        published: end.counts.published,
                        held: end.counts.held,
                        failed: end.counts.failed,
                        skipped: end.counts.skipped,
                    },
                )),
            },
        },
        job: execution.job(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        producer: PRODUCER.into(),
        schema_url: RUN_EVENT.into(),
    }
}

fn output_facets(table: &Published, raw_ns: &str, raw_name: &str) -> DatasetFacets {
    let from = |field: &str, kind: &str, subtype: &str, description: &str, masking: bool| InputField {
        namespace: raw_ns.to_string(),
        name: raw_name.to_string(),
        field: field.to_string(),
        transformations: vec![Transformation {
            kind: kind.into(),
            subtype: subtype.into(),
            description: description.into(),
            masking,
        }],
    };
    let schema = table.columns.map(|columns| {
        facet(
            SCHEMA,
            Schema {
                fields: columns
                    .iter()
                    .map(|c| SchemaField {
                        name: c.name.clone(),
                        kind: c.glue_type.clone(),
                    })
                    .collect(),
            },
        )
    });
    let column_lineage = match (table.columns, table.policy) {
        (Some(columns), Some(policy)) => {
            let fields = columns
                .iter()
                .filter_map(|c| {
                    let rule = *policy.columns.get(&c.name)?;
                    let (subtype, masking) = match rule {
                        Rule::Drop => return None,
                        Rule::Keep => ("IDENTITY", false),
                        Rule::Hash | Rule::HashSalted | Rule::Redact | Rule::TruncateDay => ("TRANSFORMATION", true),
                    };
                    let input = from(&c.name, "DIRECT", subtype, rule.name(), masking);
                    Some((
                        c.name.clone(),
                        ColumnFrom {
                            input_fields: vec![input],
                        },
                    ))
                })
                .collect();
            let dataset = table
                .filter_columns
                .iter()
                .map(|c| from(c, "INDIRECT", "FILTER", "row_filter", false))
                .collect();
            Some(facet(COLUMN_LINEAGE, ColumnLineage { fields, dataset }))
        }
        _ => None,
    };
    let data_quality_metrics = table.report.rows_out.map(|rows| {
        facet(
            QUALITY_METRICS,
            QualityMetrics {
                row_count: rows,
                column_metrics: BTreeMap::new(),
            },
        )
    });
    // Published means the audit passed: the verification query and every
    // assertion the policy names.
    let audit = facet(
        SNAPLAKE_AUDIT,
        Audit {
            passed: true,
            assertions: table
                .policy
                .map(|p| p.assertions.keys().cloned().collect())
                .unwrap_or_default(),
            verify_query_id: table.report.verify_query_id.clone(),
        },
    );
    DatasetFacets {
        schema,
        column_lineage,
        data_quality_metrics,
        audit: Some(audit),
    }
}

/// The end as events of at most `limit` bytes (each table's datasets fit
/// alone: [`end_event`]): one event when it fits; otherwise its tables
/// split in order (each output with its inputs) into OTHER events of the
/// same run, the last one carrying the end's type.
pub fn fit(end: End, limit: usize) -> Vec<RunEvent> {
    // Sizes are added up, not measured again: an event's JSON is its head's
    // (with empty lists) plus each dataset's JSON and a comma between two.
    let head = size(&end.head);
    let inputs = end.tables.iter().map(|t| t.inputs.len()).sum();
    let whole = head
        + grown(0, inputs, end.tables.iter().map(TableLineage::input_bytes).sum())
        + grown(
            0,
            end.tables.len(),
            end.tables.iter().map(|t| t.output.get().len()).sum(),
        );
    let mut events: Vec<RunEvent> = Vec::new();
    let mut current = end.head.clone();
    let mut current_size = head;
    for table in end.tables {
        let growth = |current: &RunEvent| {
            grown(current.inputs.len(), table.inputs.len(), table.input_bytes())
                + grown(current.outputs.len(), 1, table.output.get().len())
        };
        if whole > limit && current_size + growth(&current) > limit && !current.outputs.is_empty() {
            events.push(std::mem::replace(&mut current, end.head.clone()));
            current_size = head;
        }
        current_size += growth(&current);
        current.inputs.extend(table.inputs);
        current.outputs.push(table.output);
    }
    events.push(current);
    let last = events.len() - 1;
    for event in &mut events[..last] {
        event.event_type = EventType::Other;
    }
    events
}

/// What adding `added` elements of `bytes` JSON bytes in all to a JSON list
/// of `had` elements adds to its size: the elements and their commas.
fn grown(had: usize, added: usize, bytes: usize) -> usize {
    match added {
        0 => 0,
        n => bytes + n - 1 + usize::from(had > 0),
    }
}

/// The event's size as posted: its JSON.
pub fn size(event: &RunEvent) -> usize {
    serde_json::to_vec(event).expect("an event serializes").len()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:snaplake-pipeline:run-1";

    fn execution() -> Execution {
        Execution::parse(ARN).unwrap()
    }

    fn logical() -> LogicalTime {
        LogicalTime::parse("2026-11-20T19:00:00Z").unwrap()
    }

    fn customers_policy() -> TablePolicy {
        serde_json::from_value(json!({
            "columns": {"id": "keep", "email": "hash_salted", "full_name": "drop", "born": "truncate_day", "country": "keep"},
            "row_filter": "country <> 'XX'",
            "assertions": {"no_clear_email": "SELECT 1 FROM {table} WHERE email LIKE '%@%'"}
        }))
        .unwrap()
    }

    fn columns() -> Vec<Column> {
        [
            "id:bigint",
            "email:string",
            "born:timestamp",
            "country:string",
            "transformed_at:timestamp",
        ]
        .iter()
        .map(|c| {
            let (name, glue_type) = c.split_once(':').unwrap();
            Column {
                name: name.into(),
                glue_type: glue_type.into(),
            }
        })
        .collect()
    }

    /// A published table as Report gathers it.
    fn published<'a>(
        report: &'a TableReport,
        source: &'a str,
        columns: &'a [Column],
        policy: &'a TablePolicy,
        filter: &[&str],
    ) -> Published<'a> {
        Published {
            report,
            source: Some(source),
            columns: Some(columns),
            policy: Some(policy),
            filter_columns: filter.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn report(table: &str, outcome: TableOutcome) -> TableReport {
        TableReport {
            table: table.into(),
            outcome: Some(outcome),
            rows_out: Some(42),
            ..TableReport::default()
        }
    }

    fn end<'a>(execution: &'a Execution, counts: &'a RunCounts, failure: Option<String>) -> RunEnd<'a> {
        RunEnd {
            execution,
            ended_at: "2026-11-21T03:00:00Z".parse().unwrap(),
            logical_time: logical(),
            snapshot_arn: Some("arn:aws:rds:us-east-1:123456789012:cluster-snapshot:rds:shop-2026-11-20"),
            export_id: Some("snaplake-2026-11-20"),
            policy_digest: Some("abc"),
            manifest: Some("s3://lake/_snaplake/runs/2026-11-20/run-1.json".into()),
            raw_database: "snaplake_raw",
            curated_database: "snaplake_curated",
            counts,
            failure,
        }
    }

    #[test]
    fn a_run_id_is_a_uuid_fixed_by_the_execution() {
        let id = run_id(ARN);
        assert_eq!(id, run_id(ARN));
        assert_ne!(id, run_id(&format!("{ARN}x")));
        let groups: Vec<&str> = id.split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12],
            "{id}"
        );
        assert!(groups[2].starts_with('8'), "version 8: {id}");
        assert!(matches!(&groups[3][..1], "8" | "9" | "a" | "b"), "RFC variant: {id}");
    }

    #[test]
    fn an_execution_arn_is_read_and_anything_else_refused() {
        let e = execution();
        assert_eq!(
            (
                e.partition.as_str(),
                e.region.as_str(),
                e.account.as_str(),
                e.machine.as_str()
            ),
            ("aws", "us-east-1", "123456789012", "snaplake-pipeline")
        );
        for bad in [
            "",
            "arn:aws:states:us-east-1:1:stateMachine:m",
            "arn:aws:states::1:execution:m:n",
        ] {
            let err = Execution::parse(bad).unwrap_err();
            assert!(err.contains("is not an execution ARN"), "{err}");
        }
    }

    #[test]
    fn the_start_is_the_same_whoever_builds_it() {
        let started: Timestamp = "2026-11-20T19:00:05Z".parse().unwrap();
        let a = serde_json::to_value(start_event(&execution(), started, logical())).unwrap();
        assert_eq!(
            a,
            serde_json::to_value(start_event(&execution(), started, logical())).unwrap()
        );
        assert_eq!(a["eventType"], "START");
        assert_eq!(a["eventTime"], "2026-11-20T19:00:05Z");
        assert_eq!(
            a["job"],
            json!({"namespace": "snaplake", "name": "snaplake-pipeline", "facets": {"jobType": {
            "_producer": PRODUCER, "_schemaURL": JOB_TYPE,
            "processingType": "BATCH", "integration": "SNAPLAKE", "jobType": "JOB"}}})
        );
        assert_eq!(
            a["run"]["facets"]["nominalTime"]["nominalStartTime"],
            "2026-11-20T19:00:00Z"
        );
    }

    #[test]
    fn a_published_table_says_which_columns_were_masked_and_filtered() {
        let (e, counts) = (execution(), RunCounts::default());
        let r = report("shop_customers", TableOutcome::Swapped);
        let (policy, columns) = (customers_policy(), columns());
        let published = [published(&r, "shop.customers", &columns, &policy, &["country"])];
        let event = serde_json::to_value(
            end_event(&end(&e, &counts, None), &published, MAX_EVENT_BYTES)
                .0
                .whole(),
        )
        .unwrap();
        assert_eq!(event["eventType"], "COMPLETE");
        let output = &event["outputs"][0];
        assert_eq!(output["namespace"], "arn:aws:glue:us-east-1:123456789012");
        assert_eq!(output["name"], "table/snaplake_curated/shop_customers");
        let lineage = &output["facets"]["columnLineage"];
        let email = &lineage["fields"]["email"]["inputFields"][0];
        assert_eq!(email["name"], "table/snaplake_raw/shop_customers");
        assert_eq!(email["field"], "email");
        assert_eq!(
            email["transformations"],
            json!([{"type": "DIRECT", "subtype": "TRANSFORMATION", "description": "hash_salted", "masking": true}])
        );
        assert_eq!(
            lineage["fields"]["id"]["inputFields"][0]["transformations"][0]["subtype"],
            "IDENTITY"
        );
        assert_eq!(
            lineage["fields"]["id"]["inputFields"][0]["transformations"][0]["masking"],
            false
        );
        assert_eq!(
            lineage["fields"]["born"]["inputFields"][0]["transformations"][0]["masking"],
            true
        );
        assert!(
            lineage["fields"].get("full_name").is_none(),
            "a dropped column appears nowhere"
        );
        assert!(
            !event.to_string().contains("full_name"),
            "a dropped column appears nowhere"
        );
        assert!(lineage["fields"].get("transformed_at").is_none());
        assert_eq!(
            lineage["dataset"],
            json!([{"namespace": "arn:aws:glue:us-east-1:123456789012", "name": "table/snaplake_raw/shop_customers",
                    "field": "country", "transformations": [{"type": "INDIRECT", "subtype": "FILTER",
                    "description": "row_filter", "masking": false}]}])
        );
        assert_eq!(
            output["facets"]["schema"]["fields"][1],
            json!({"name": "email", "type": "string"})
        );
        assert_eq!(output["facets"]["dataQualityMetrics"]["rowCount"], 42);
        let audit = &output["facets"]["snaplake_audit"];
        assert_eq!(
            (&audit["passed"], &audit["assertions"]),
            (&json!(true), &json!(["no_clear_email"]))
        );
        assert_eq!(audit["_schemaURL"], SNAPLAKE_AUDIT);
        let inputs: Vec<&str> = event["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap())
            .collect();
        assert_eq!(inputs, ["shop.customers", "table/snaplake_raw/shop_customers"]);
        assert_eq!(
            event["run"]["facets"]["snaplake_run"]["exportId"],
            "snaplake-2026-11-20"
        );
    }

    /// snaplake's facets and their published schemas (docs/lineage/) name
    /// the same fields, and each schema's id is its facet's `_schemaURL`.
    #[test]
    fn snaplakes_own_facets_are_what_their_schemas_say() {
        let (e, counts) = (execution(), RunCounts::default());
        let r = TableReport {
            verify_query_id: Some("q-1".into()),
            ..report("shop_customers", TableOutcome::Swapped)
        };
        let (policy, columns) = (customers_policy(), columns());
        let published = [published(&r, "shop.customers", &columns, &policy, &[])];
        let event = serde_json::to_value(
            end_event(&end(&e, &counts, None), &published, MAX_EVENT_BYTES)
                .0
                .whole(),
        )
        .unwrap();
        for (schema, id, facet) in [
            (
                include_str!("../../docs/lineage/SnaplakeRunFacet.json"),
                SNAPLAKE_RUN,
                &event["run"]["facets"]["snaplake_run"],
            ),
            (
                include_str!("../../docs/lineage/SnaplakeAuditDatasetFacet.json"),
                SNAPLAKE_AUDIT,
                &event["outputs"][0]["facets"]["snaplake_audit"],
            ),
        ] {
            let schema: serde_json::Value = serde_json::from_str(schema).unwrap();
            assert_eq!(schema["$id"], id);
            let facet = facet.as_object().unwrap();
            let mut sent: Vec<&String> = facet.keys().collect();
            sent.sort();
            let mut known: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
            known.sort();
            assert_eq!(
                sent, known,
                "{id}: every field, and only those, as the schema names them"
            );
            for required in schema["required"].as_array().unwrap() {
                assert!(facet.contains_key(required.as_str().unwrap()), "{id}: {required}");
            }
        }
    }

    #[test]
    fn a_failed_run_ends_in_fail_with_its_reason() {
        let (e, counts) = (execution(), RunCounts::default());
        let event = end_event(
            &end(&e, &counts, Some("1 table(s) failed: b (QueryFailed)".into())),
            &[],
            MAX_EVENT_BYTES,
        )
        .0
        .whole();
        assert_eq!(event.event_type, EventType::Fail);
        let message = &event.run.facets.error_message.as_ref().unwrap().body.message;
        assert_eq!(message, "1 table(s) failed: b (QueryFailed)");
        assert_eq!(event.run.run_id, run_id(ARN));
    }

    #[test]
    fn only_tables_live_from_the_run_are_published() {
        for (outcome, published) in [
            (TableOutcome::Created, true),
            (TableOutcome::Swapped, true),
            (TableOutcome::Unchanged, true),
            (TableOutcome::Held, false),
            (TableOutcome::Superseded, false),
            (TableOutcome::Skipped, false),
            (TableOutcome::NotExported, false),
        ] {
            assert_eq!(is_published(&report("t", outcome)), published, "{outcome:?}");
        }
    }

    fn many(n: usize) -> (Vec<TableReport>, TablePolicy, Vec<Column>) {
        let reports = (0..n)
            .map(|i| report(&format!("shop_t{i:04}"), TableOutcome::Swapped))
            .collect();
        (reports, customers_policy(), columns())
    }

    fn outputs(e: &RunEvent) -> &Vec<Box<RawValue>> {
        &e.outputs
    }

    fn inputs(e: &RunEvent) -> &Vec<Box<RawValue>> {
        &e.inputs
    }

    /// The JSON of each dataset of a list of events, in order.
    fn texts(events: &[RunEvent], which: fn(&RunEvent) -> &Vec<Box<RawValue>>) -> Vec<String> {
        events
            .iter()
            .flat_map(|e| which(e).iter().map(|d| d.get().to_string()))
            .collect()
    }

    #[test]
    fn an_end_too_large_is_split_by_table_and_ends_with_its_type() {
        let (e, counts) = (execution(), RunCounts::default());
        let (reports, policy, columns) = many(300);
        let sources: Vec<String> = reports.iter().map(|r| r.table.replacen('_', ".", 1)).collect();
        let published: Vec<Published> = reports
            .iter()
            .zip(&sources)
            .map(|(r, s)| published(r, s, &columns, &policy, &["country"]))
            .collect();
        let (parts, notes) = end_event(&end(&e, &counts, None), &published, MAX_EVENT_BYTES);
        assert!(notes.is_empty(), "{notes:?}");
        let whole = parts.whole();
        let limit = size(&whole) / 3;
        let events = fit(parts.clone(), limit);
        assert!(events.len() >= 3, "{}", events.len());
        assert!(events.iter().all(|e| size(e) <= limit));
        // Full but for the last: the next table would not have fitted.
        for pair in events.windows(2) {
            let mut more = pair[0].clone();
            more.outputs.push(pair[1].outputs[0].clone());
            more.inputs.extend(pair[1].inputs.iter().take(2).cloned());
            assert!(size(&more) > limit, "an event was cut short");
        }
        let types: Vec<EventType> = events.iter().map(|e| e.event_type).collect();
        assert_eq!(types.last(), Some(&EventType::Complete));
        assert!(
            types[..types.len() - 1].iter().all(|t| *t == EventType::Other),
            "{types:?}"
        );
        assert_eq!(
            texts(&events, outputs),
            texts(std::slice::from_ref(&whole), outputs),
            "every output once, in order, unchanged"
        );
        assert_eq!(
            texts(&events, inputs),
            texts(std::slice::from_ref(&whole), inputs),
            "each output's inputs beside it"
        );
        assert!(events.iter().all(|x| x.run.run_id == whole.run.run_id));
        let one = fit(parts, size(&whole));
        assert_eq!(one.len(), 1);
        assert_eq!(
            serde_json::to_value(&one[0]).unwrap(),
            serde_json::to_value(&whole).unwrap()
        );
    }

    /// What `fit` adds up is what the JSON of a list of datasets measures.
    #[test]
    fn a_list_grows_by_its_new_elements_and_their_commas() {
        let dataset = |n: usize| Dataset {
            namespace: "s3://lake".into(),
            name: "x".repeat(n),
            facets: DatasetFacets::default(),
        };
        let len = |list: &[Dataset]| serde_json::to_vec(list).unwrap().len();
        for had in 0..4 {
            for added in 0..4 {
                let old: Vec<Dataset> = (0..had).map(dataset).collect();
                let new: Vec<Dataset> = (10..10 + added).map(dataset).collect();
                let bytes: usize = new.iter().map(|d| raw(d).get().len()).sum();
                let both: Vec<Dataset> = old.iter().chain(&new).cloned().collect();
                assert_eq!(len(&both), len(&old) + grown(had, added, bytes), "{had} + {added}");
            }
        }
    }

    proptest::proptest! {
        /// Whatever the limit, every event fits it and every table is told
        /// once, in order: the sizes `fit` adds up are the real ones.
        #[test]
        fn every_split_fits_its_limit(tables in 1usize..40, share in 1usize..100) {
            let (e, counts) = (execution(), RunCounts::default());
            let (reports, policy, columns) = many(tables);
            let published: Vec<Published> =
                reports.iter().map(|r| published(r, "shop.t", &columns, &policy, &["country"])).collect();
            let (parts, _) = end_event(&end(&e, &counts, None), &published, MAX_EVENT_BYTES);
            let whole = parts.whole();
            let one_table = size(&RunEvent { inputs: parts.tables[0].inputs.clone(),
                outputs: vec![parts.tables[0].output.clone()], ..parts.head.clone() });
            let limit = one_table + (size(&whole) - one_table) * share / 100;
            let events = fit(parts, limit);
            for event in &events {
                proptest::prop_assert!(size(event) <= limit, "{} > {limit}", size(event));
            }
            proptest::prop_assert_eq!(texts(&events, outputs), texts(std::slice::from_ref(&whole), outputs));
        }
    }

    #[test]
    fn a_table_too_large_alone_loses_its_column_lineage_and_says_so() {
        let (e, counts) = (execution(), RunCounts::default());
        let r = report("shop_wide", TableOutcome::Swapped);
        let columns: Vec<Column> = (0..4000)
            .map(|i| Column {
                name: format!("column_{i:05}"),
                glue_type: "string".into(),
            })
            .collect();
        let policy = TablePolicy {
            columns: columns.iter().map(|c| (c.name.clone(), Rule::HashSalted)).collect(),
            ..TablePolicy::default()
        };
        let published = [published(&r, "shop.wide", &columns, &policy, &[])];
        let (whole, _) = end_event(&end(&e, &counts, None), &published, usize::MAX);
        assert!(size(&whole.whole()) > MAX_EVENT_BYTES, "{}", size(&whole.whole()));
        let (parts, notes) = end_event(&end(&e, &counts, None), &published, MAX_EVENT_BYTES);
        let events = fit(parts, MAX_EVENT_BYTES);
        assert_eq!(events.len(), 1);
        assert!(size(&events[0]) <= MAX_EVENT_BYTES);
        let output: serde_json::Value = serde_json::from_str(events[0].outputs[0].get()).unwrap();
        assert!(output["facets"].get("columnLineage").is_none(), "{output}");
        assert!(output["facets"].get("schema").is_some(), "{output}");
        assert_eq!(
            notes,
            [format!(
                "table/snaplake_curated/shop_wide: column lineage left out (the event would pass {MAX_EVENT_BYTES} bytes)"
            )]
        );
    }
}
