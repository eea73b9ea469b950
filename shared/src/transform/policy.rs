//! The masking policy: per table, per column what analysts may see, which
//! rows they may see, and what happens to tables the policy does not name.
//! Checked against the raw tables' real columns before any query runs.
//!
//! ```json
//! {
//!   "default": "publish",
//!   "tables": {
//!     "shop.customers": {
//!       "columns": {"email": "hash", "phone": "redact", "full_name": "drop", "created_at": "truncate_day"},
//!       "row_filter": "is_active = 1"
//!     },
//!     "shop.articles": {"columns": {"author_email": "hash_salted"}, "row_filter": "status = 'published'"}
//!   }
//! }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::sql;
use crate::catalog::schema::Column;
use crate::error::Error;

/// What happens to one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// As exported.
    Keep,
    /// Not published at all.
    Drop,
    /// SHA-256 of the value as text, uppercase hex (joinable across tables).
    Hash,
    /// SHA-256 of a secret salt and the value (`SNAPLAKE_HASH_SALT`), so
    /// hashes cannot be reversed by hashing guesses.
    HashSalted,
    /// Published as NULL of the column's type.
    Redact,
    /// A timestamp truncated to its day.
    TruncateDay,
}

impl Rule {
    /// Whether the rule applies to a column of this Glue type.
    pub fn fits(self, glue_type: &str) -> bool {
        let t = glue_type.to_ascii_lowercase();
        match self {
            Rule::Keep | Rule::Drop | Rule::Redact => true,
            Rule::Hash | Rule::HashSalted => {
                t == "string"
                    || t.starts_with("varchar")
                    || t.starts_with("char")
                    || ["tinyint", "smallint", "int", "integer", "bigint"].contains(&t.as_str())
            }
            Rule::TruncateDay => t == "timestamp",
        }
    }
}

/// What happens to a table the policy does not name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultTable {
    /// Published as exported (every column kept).
    #[default]
    Publish,
    /// Not published.
    Skip,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TablePolicy {
    #[serde(default)]
    pub columns: BTreeMap<String, Rule>,
    /// Rows analysts may see, as an Athena (Trino) boolean expression.
    #[serde(default)]
    pub row_filter: Option<String>,
    /// Queries that must return no rows on the published table (e.g. no
    /// e-mail address left in clear), by name. `{table}` stands for it.
    #[serde(default)]
    pub assertions: BTreeMap<String, String>,
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
            default: DefaultTable::Publish,
            tables: BTreeMap::new(),
            transformed_at_column: transformed_at(),
        }
    }
}

impl MaskingPolicy {
    /// The policy for a source table, or None when it is not published.
    pub fn for_table(&self, source: &str) -> Option<TablePolicy> {
        match (self.tables.get(source), self.default) {
            (Some(policy), _) => Some(policy.clone()),
            (None, DefaultTable::Publish) => Some(TablePolicy::default()),
            (None, DefaultTable::Skip) => None,
        }
    }

    pub fn uses_salt(&self) -> bool {
        self.tables
            .values()
            .any(|t| t.columns.values().any(|r| *r == Rule::HashSalted))
    }

    /// Checks the policy against the exported tables (source name and raw
    /// columns), listing every problem at once.
    pub fn validate(&self, tables: &[(String, Vec<Column>)], salt_available: bool) -> Result<(), Error> {
        let mut problems = Vec::new();
        if let Err(e) = sql::ident("transformed_at_column", &self.transformed_at_column) {
            problems.push(e.to_string());
        }
        for source in self.tables.keys() {
            if !tables.iter().any(|(name, _)| name == source) {
                let known: Vec<&str> = tables.iter().map(|(n, _)| n.as_str()).collect();
                problems.push(format!(
                    "tables.{source}: no such table in the export (it has: {})",
                    known.join(", ")
                ));
            }
        }
        for (source, columns) in tables {
            problems.extend(self.table_problems(source, columns));
        }
        if self.uses_salt() && !salt_available {
            problems.push("hash_salted is used but SNAPLAKE_HASH_SALT is not set for query-runner".into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid_input("masking policy", problems.join("; ")))
        }
    }

    /// Checks what the policy says about one table against its raw columns.
    pub fn validate_table(&self, source: &str, columns: &[Column], salt_available: bool) -> Result<(), Error> {
        let mut problems = self.table_problems(source, columns);
        let salted = self
            .tables
            .get(source)
            .is_some_and(|t| t.columns.values().any(|r| *r == Rule::HashSalted));
        if salted && !salt_available {
            problems.push("hash_salted is used but SNAPLAKE_HASH_SALT is not set for query-runner".into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid_input("masking policy", problems.join("; ")))
        }
    }

    fn table_problems(&self, source: &str, columns: &[Column]) -> Vec<String> {
        let mut problems = Vec::new();
        let Some(policy) = self.tables.get(source) else {
            return problems;
        };
        for (column, rule) in &policy.columns {
            match columns.iter().find(|c| c.name.eq_ignore_ascii_case(column)) {
                None => problems.push(format!(
                    "tables.{source}.columns.{column}: {source} has no column {column}"
                )),
                Some(c) if !rule.fits(&c.glue_type) => problems.push(format!(
                    "tables.{source}.columns.{column}: rule {} does not fit its type {}",
                    serde_json::to_string(rule).unwrap_or_default(),
                    c.glue_type
                )),
                Some(_) => {}
            }
        }
        if let Some(filter) = &policy.row_filter
            && let Err(e) = sql::check_row_filter(&format!("tables.{source}.row_filter"), filter)
        {
            problems.push(e.to_string());
        }
        for (name, query) in &policy.assertions {
            if let Err(e) = sql::check_row_filter(&format!("tables.{source}.assertions.{name}"), query) {
                problems.push(e.to_string());
            }
        }
        if columns
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(&self.transformed_at_column))
        {
            problems.push(format!(
                "transformed_at_column: {source} already has a column {}; choose another name",
                self.transformed_at_column
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::schema::columns;
    use serde_json::json;

    fn customers() -> Vec<Column> {
        columns(&[
            ("id", "bigint"),
            ("email", "string"),
            ("phone", "string"),
            ("full_name", "string"),
            ("is_active", "int"),
            ("birth_date", "date"),
            ("credit_limit", "decimal(12,2)"),
            ("created_at", "timestamp"),
        ])
    }

    fn tables() -> Vec<(String, Vec<Column>)> {
        vec![("shop.customers".into(), customers())]
    }

    fn policy(v: serde_json::Value) -> MaskingPolicy {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_good_policy_passes() {
        let p = policy(json!({"tables": {"shop.customers": {
            "columns": {"email": "hash", "phone": "hash_salted", "full_name": "drop", "created_at": "truncate_day",
                        "birth_date": "redact"},
            "row_filter": "is_active = 1"}}}));
        p.validate(&tables(), true).unwrap();
    }

    #[test]
    fn every_problem_is_named_before_any_query_runs() {
        let p = policy(json!({"tables": {
        "shop.customer": {},
        "shop.customers": {
            "columns": {"emial": "hash", "credit_limit": "hash", "birth_date": "truncate_day", "phone": "hash_salted"},
            "row_filter": "1=1; DROP TABLE x"
        }}}));
        let err = p.validate(&tables(), false).unwrap_err().to_string();
        for expected in [
            "tables.shop.customer: no such table",
            "tables.shop.customers.columns.emial: shop.customers has no column emial",
            "columns.credit_limit: rule \"hash\" does not fit its type decimal(12,2)",
            "columns.birth_date: rule \"truncate_day\" does not fit its type date",
            "row_filter",
            "SNAPLAKE_HASH_SALT",
        ] {
            assert!(err.contains(expected), "missing {expected:?} in {err}");
        }
    }

    #[test]
    fn unknown_rules_and_fields_are_refused_by_name() {
        let err = serde_json::from_value::<MaskingPolicy>(json!({"tables": {"t": {"columns": {"a": "encrypt"}}}}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("encrypt") && err.contains("hash_salted"), "{err}");
        let err = serde_json::from_value::<MaskingPolicy>(json!({"tabels": {}}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("tabels"), "{err}");
    }

    #[test]
    fn tables_the_policy_does_not_name_follow_the_default() {
        let publish = MaskingPolicy::default();
        assert_eq!(publish.for_table("shop.orders"), Some(TablePolicy::default()));
        let skip = policy(json!({"default": "skip"}));
        assert_eq!(skip.for_table("shop.orders"), None);
    }

    #[test]
    fn transformed_at_may_not_collide() {
        let p = policy(json!({"transformed_at_column": "created_at", "tables": {"shop.customers": {}}}));
        assert!(
            p.validate(&tables(), false)
                .unwrap_err()
                .to_string()
                .contains("already has a column created_at")
        );
    }
}
