//! The masking policy as a document: what the deployment pins (Terraform
//! stores it under `<control prefix>/policy/`) and a run may carry. Its
//! rules (what each one does, the checks a policy must pass, the SQL it
//! becomes) are in `transform/policy.rs`; the module doc there shows one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What happens to one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// As exported.
    Keep,
    /// Not published at all.
    Drop,
    /// SHA-256 of the value as text, uppercase hex (joinable across tables).
    /// Reversible for guessable values (e-mails, phones) by hashing guesses:
    /// prefer `hash_salted` for identifiers.
    Hash,
    /// SHA-256 of a secret salt and the value (the salt is read from Secrets
    /// Manager, `SNAPLAKE_HASH_SALT_SECRET`), so hashes cannot be reversed by
    /// hashing guesses. NULL stays NULL.
    HashSalted,
    /// Published as NULL of the column's type.
    Redact,
    /// A timestamp truncated to its day.
    TruncateDay,
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Rule::Keep => "keep",
            Rule::Drop => "drop",
            Rule::Hash => "hash",
            Rule::HashSalted => "hash_salted",
            Rule::Redact => "redact",
            Rule::TruncateDay => "truncate_day",
        }
    }
}

/// What happens to a table the policy does not name. Only `skip`: `publish`
/// is refused by [`MaskingPolicy::check`] with the way forward.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultTable {
    #[default]
    Skip,
    /// Refused: it would publish tables, and columns, no rule names.
    Publish,
}

/// How a curated table is published: the deployment's `table_format`
/// (`SNAPLAKE_TABLE_FORMAT`), or a table's own in the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableFormat {
    /// Each day's folder, the Glue table repointed at it.
    Hive,
    /// Each day one Iceberg snapshot of the same table (`catalog::iceberg`).
    Iceberg,
}

/// What happens to a column of a published table that has no rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unlisted {
    /// The table is not published; its live version stays; the run reports it.
    #[default]
    Fail,
    /// The column is not published; the run reports the drop.
    Drop,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TablePolicy {
    /// Every column of the table with its rule.
    #[serde(default)]
    pub columns: BTreeMap<String, Rule>,
    /// Columns the export has and `columns` does not name.
    #[serde(default)]
    pub unlisted_columns: Unlisted,
    /// Rows analysts may see, as one Athena (Trino) boolean expression over
    /// the table's own columns.
    #[serde(default)]
    pub row_filter: Option<String>,
    /// SELECT queries that must return no rows on the published table (e.g.
    /// no e-mail address left in clear), by name. `{table}` stands for it.
    #[serde(default)]
    pub assertions: BTreeMap<String, String>,
    /// The largest drop of the row count from the live version accepted
    /// before a swap, in percent (0 to 100; the catalog's quality gate). Unset:
    /// the run's bound, else 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_row_drop_percent: Option<u32>,
    /// How this table is published, when not as the deployment's
    /// `table_format` says (e.g. moving tables to Iceberg one at a time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_format: Option<TableFormat>,
    /// Columns still to review (`snaplake policy init` marks every column
    /// here). A policy with a review open is refused: remove each note once
    /// its column's rule is decided.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub review: BTreeMap<String, String>,
}

fn transformed_at() -> String {
    "transformed_at".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskingPolicy {
    #[serde(default)]
    pub default: DefaultTable,
    /// Keyed by the source table as RDS names it (`shop.customers`).
    #[serde(default)]
    pub tables: BTreeMap<String, TablePolicy>,
    /// The column set to the run's logical time in every published table.
    #[serde(default = "transformed_at")]
    pub transformed_at_column: String,
}

impl Default for MaskingPolicy {
    fn default() -> Self {
        MaskingPolicy {
            default: DefaultTable::Skip,
            tables: BTreeMap::new(),
            transformed_at_column: transformed_at(),
        }
    }
}
