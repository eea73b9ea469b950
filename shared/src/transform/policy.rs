//! The masking policy: per table, per column what analysts may see, which
//! rows they may see. It fails closed: a table the policy does not name is
//! not published, and every column of a published table has a rule (`keep`
//! is a rule, and must be written). A column with no rule, such as one added
//! in production since the policy was written, is handled by the table's
//! `unlisted_columns`: `fail` (the default: the table is not published and
//! its live version stays) or `drop`. There is no "keep the rest".
//!
//! ```json
//! {
//!   "tables": {
//!     "shop.customers": {
//!       "columns": {"id": "keep", "email": "hash_salted", "phone": "redact", "full_name": "drop",
//!                   "created_at": "truncate_day", "is_active": "keep"},
//!       "row_filter": "is_active = 1",
//!       "assertions": {"no_clear_email": "SELECT 1 FROM {table} WHERE email LIKE '%@%'"}
//!     },
//!     "shop.orders": {"columns": {"id": "keep", "total": "keep"}, "unlisted_columns": "drop"}
//!   }
//! }
//! ```

use std::collections::BTreeMap;

use serde::Serialize;

use super::trino_types::trino_type;
use super::{policy_sql, sql};
use crate::catalog::schema::Column;
use crate::contract::masking_policy::{DefaultTable, MaskingPolicy, Rule, TablePolicy, Unlisted};
use crate::error::Error;

impl Rule {
    /// Whether the rule applies to a column of this Glue type.
    pub fn fits(self, glue_type: &str) -> bool {
        let t = glue_type.to_ascii_lowercase();
        match self {
            Rule::Keep | Rule::Drop => true,
            Rule::Redact => trino_type("column", glue_type).is_ok(),
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

/// Every raw column of a table with the rule it is published under, and the
/// columns `unlisted_columns: drop` dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRules {
    pub rules: Vec<(Column, Rule)>,
    pub dropped_unlisted: Vec<String>,
}

/// What a policy makes of one export's tables: no error means nothing
/// stops the run; tables listed in `unclassified` are not published.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Classification {
    /// Tables to publish (source names).
    pub published: Vec<String>,
    /// Tables the policy does not name (not published).
    pub skipped: Vec<String>,
    /// Published tables with columns that have no rule, under `fail`: these
    /// tables are not published this run.
    pub unclassified: BTreeMap<String, Vec<String>>,
    /// Columns dropped because they have no rule, under `drop`.
    pub dropped_unlisted: BTreeMap<String, Vec<String>>,
    /// Tables the policy names that the export does not hold (RDS skipped
    /// or failed them, `tables` left them out, or a typo): nothing to
    /// publish, reported; `snaplake policy check` names them as problems.
    pub missing: Vec<String>,
}

impl MaskingPolicy {
    /// The policy for a source table, or None when it is not published.
    pub fn for_table(&self, source: &str) -> Option<&TablePolicy> {
        self.tables.get(source)
    }

    pub fn uses_salt(&self) -> bool {
        self.tables
            .values()
            .any(|t| t.columns.values().any(|r| *r == Rule::HashSalted))
    }

    /// Checks what can be checked without the tables, listing every problem.
    pub fn check(&self) -> Result<(), Error> {
        into_result(self.structure_problems())
    }

    fn structure_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.default == DefaultTable::Publish {
            problems.push(
                "default: \"publish\" would publish tables and columns no rule names; only \"skip\" is allowed. \
                 Name each table to publish under tables, with a rule for every column \
                 (`snaplake policy init` writes a complete starting policy)"
                    .into(),
            );
        }
        if self.tables.is_empty() {
            problems.push(
                "tables: the policy names no table, so nothing would be published; list the tables to publish \
                 with a rule for every column (`snaplake policy init` writes a complete starting policy)"
                    .into(),
            );
        }
        if let Err(e) = sql::ident("transformed_at_column", &self.transformed_at_column) {
            problems.push(e.to_string());
        }
        problems.extend(same_but_for_case("tables", self.tables.keys()));
        for (source, policy) in &self.tables {
            problems.extend(same_but_for_case(
                &format!("tables.{source}.columns"),
                policy.columns.keys(),
            ));
            if !policy.review.is_empty() {
                problems.push(format!(
                    "tables.{source}.review: {} still marked for review; decide each column's rule, then remove \
                     its note (a policy with a review open publishes nothing)",
                    policy.review.keys().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
            if let Some(filter) = &policy.row_filter
                && let Err(e) = policy_sql::check_row_filter(&format!("tables.{source}.row_filter"), filter)
            {
                problems.push(e.to_string());
            }
            for (name, query) in &policy.assertions {
                if let Err(e) = policy_sql::check_assertion(&format!("tables.{source}.assertions.{name}"), query) {
                    problems.push(e.to_string());
                }
            }
            if let Some(max) = policy.max_row_drop_percent.filter(|m| *m > 100) {
                problems.push(format!(
                    "tables.{source}.max_row_drop_percent: {max} is not a percentage; use 0 to 100 \
                     (100 accepts any drop)"
                ));
            }
        }
        problems
    }

    /// Checks the policy against the exported tables (source name and raw
    /// columns), listing every problem at once. Problems stop the run before
    /// any query; columns with no rule do not (see [`Classification`]).
    pub fn validate(&self, tables: &[(String, Vec<Column>)], salt_available: bool) -> Result<Classification, Error> {
        let mut problems = self.structure_problems();
        let mut out = Classification::default();
        for source in self.tables.keys() {
            if !tables.iter().any(|(name, _)| name == source) {
                out.missing.push(source.clone());
            }
        }
        for (source, columns) in tables {
            let Some(policy) = self.for_table(source) else {
                out.skipped.push(source.clone());
                continue;
            };
            problems.extend(self.table_problems(source, policy, columns));
            let unlisted = unlisted(policy, columns);
            match (unlisted.is_empty(), policy.unlisted_columns) {
                (true, _) => out.published.push(source.clone()),
                (false, Unlisted::Fail) => {
                    out.unclassified.insert(source.clone(), unlisted);
                }
                (false, Unlisted::Drop) => {
                    out.published.push(source.clone());
                    out.dropped_unlisted.insert(source.clone(), unlisted);
                }
            }
        }
        if self.uses_salt() && !salt_available {
            problems.push(NO_SALT.into());
        }
        into_result(problems).map(|()| out)
    }

    /// The rule of every raw column of one published table; fails (naming the
    /// columns and the rule to add) when a column has no rule under `fail`.
    pub fn column_rules(&self, source: &str, columns: &[Column], salt_available: bool) -> Result<ColumnRules, Error> {
        let policy = self.for_table(source).ok_or_else(|| {
            Error::invalid_input(
                format!("tables.{source}"),
                "is not in the masking policy, so it is not published; add it with a rule for every column",
            )
        })?;
        let mut problems = self.structure_problems();
        problems.extend(self.table_problems(source, policy, columns));
        if !salt_available && policy.columns.values().any(|r| *r == Rule::HashSalted) {
            problems.push(NO_SALT.into());
        }
        into_result(problems)?;
        let unlisted = unlisted(policy, columns);
        if !unlisted.is_empty() && policy.unlisted_columns == Unlisted::Fail {
            return Err(unclassified_error(source, &unlisted));
        }
        let rules = columns
            .iter()
            .filter_map(|c| rule_of(policy, &c.name).map(|r| (c.clone(), r)))
            .collect();
        Ok(ColumnRules {
            rules,
            dropped_unlisted: unlisted,
        })
    }

    fn table_problems(&self, source: &str, policy: &TablePolicy, columns: &[Column]) -> Vec<String> {
        let mut problems = Vec::new();
        for (column, rule) in &policy.columns {
            match columns.iter().find(|c| c.name.eq_ignore_ascii_case(column)) {
                None => problems.push(format!(
                    "tables.{source}.columns.{column}: {source} has no column {column}; remove the rule"
                )),
                Some(c) if !rule.fits(&c.glue_type) => problems.push(format!(
                    "tables.{source}.columns.{column}: rule {} does not fit its type {}",
                    rule.name(),
                    c.glue_type
                )),
                Some(_) => {}
            }
        }
        if let Some(filter) = &policy.row_filter {
            for name in policy_sql::filter_columns(filter) {
                if !columns.iter().any(|c| c.name.eq_ignore_ascii_case(&name)) {
                    problems.push(format!(
                        "tables.{source}.row_filter: reads {name}, which {source} does not have; a row filter \
                         reads the table's own columns"
                    ));
                }
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

const NO_SALT: &str = "hash_salted is used but query-runner has no salt: set SNAPLAKE_HASH_SALT_SECRET to a \
                       Secrets Manager secret holding it (the Terraform module's hash_salt_secret)";

/// Names that differ only in case: Glue and Athena fold names to lower
/// case, so which one applied would depend on the order they sort in (a
/// `keep` beside a `hash_salted` could publish a column in clear).
fn same_but_for_case<'a>(field: &str, names: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    let mut problems = Vec::new();
    for name in names {
        if let Some(first) = seen.insert(name.to_ascii_lowercase(), name) {
            problems.push(format!(
                "{field}: {first} and {name} differ only in case and name the same thing in Glue and Athena; \
                 keep one of them"
            ));
        }
    }
    problems
}

fn into_result(problems: Vec<String>) -> Result<(), Error> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid_input("masking policy", problems.join("; ")))
    }
}

fn rule_of(policy: &TablePolicy, column: &str) -> Option<Rule> {
    policy
        .columns
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(column))
        .map(|(_, rule)| *rule)
}

/// The raw columns the table's policy has no rule for, in table order.
pub fn unlisted(policy: &TablePolicy, columns: &[Column]) -> Vec<String> {
    columns
        .iter()
        .filter(|c| rule_of(policy, &c.name).is_none())
        .map(|c| c.name.clone())
        .collect()
}

/// A table with columns that have no rule under `unlisted_columns: fail`.
pub fn unclassified_error(source: &str, columns: &[String]) -> Error {
    let example = columns
        .iter()
        .map(|c| format!("\"{c}\": \"drop\""))
        .collect::<Vec<_>>()
        .join(", ");
    Error::invalid_input(
        format!("tables.{source}.columns"),
        format!(
            "has no rule for column(s) {} of the export, so {source} is not published and its live version stays. \
             Add a rule for each ({example}; or keep, hash_salted, redact), or set \
             tables.{source}.unlisted_columns to \"drop\"",
            columns.join(", ")
        ),
    )
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
        vec![
            ("shop.customers".into(), customers()),
            ("shop.orders".into(), columns(&[("id", "bigint")])),
        ]
    }

    fn policy(v: serde_json::Value) -> MaskingPolicy {
        serde_json::from_value(v).unwrap()
    }

    fn complete() -> serde_json::Value {
        json!({"id": "keep", "email": "hash", "phone": "hash_salted", "full_name": "drop",
               "created_at": "truncate_day", "birth_date": "redact", "is_active": "keep", "credit_limit": "keep"})
    }

    #[test]
    fn a_row_filter_reads_only_the_tables_own_columns() {
        let p = policy(
            json!({"tables": {"shop.customers": {"columns": complete(), "row_filter": "is_active = 1 AND salary > 0"}}}),
        );
        assert!(
            p.check().is_ok(),
            "the form is fine; the columns are known only with the table"
        );
        let err = p.validate(&tables(), true).unwrap_err().to_string();
        assert!(err.contains("tables.shop.customers.row_filter: reads salary"), "{err}");
        let err = p
            .column_rules("shop.customers", &customers(), true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("reads salary"), "{err}");
    }

    #[test]
    fn names_differing_only_in_case_are_refused_not_resolved_by_order() {
        // "EMAIL" sorts first: resolved by order, email would be published in clear.
        let mut columns = complete();
        columns["EMAIL"] = json!("keep");
        columns["email"] = json!("hash_salted");
        let p = policy(
            json!({"tables": {"shop.customers": {"columns": columns}, "shop.Customers": {"columns": complete()}}}),
        );
        for err in [p.check().unwrap_err(), p.validate(&tables(), true).unwrap_err()] {
            let text = err.to_string();
            assert!(
                text.contains("tables.shop.customers.columns: EMAIL and email"),
                "{text}"
            );
            assert!(text.contains("tables: shop.Customers and shop.customers"), "{text}");
        }
        let err = p.column_rules("shop.customers", &customers(), true).unwrap_err();
        assert!(err.to_string().contains("EMAIL and email"), "{err}");
    }

    #[test]
    fn a_complete_policy_passes_and_unnamed_tables_are_skipped() {
        let p = policy(json!({"tables": {"shop.customers": {"columns": complete(), "row_filter": "is_active = 1"}}}));
        let c = p.validate(&tables(), true).unwrap();
        assert_eq!(c.published, ["shop.customers"]);
        assert_eq!(c.skipped, ["shop.orders"]);
        assert!(c.unclassified.is_empty());
        assert_eq!(p.for_table("shop.orders"), None);
    }

    #[test]
    fn every_problem_is_named_before_any_query_runs() {
        let p = policy(json!({"tables": {
        "shop.customers": {
            "columns": {"emial": "hash", "credit_limit": "hash", "birth_date": "truncate_day", "phone": "hash_salted"},
            "row_filter": "1=1; DROP TABLE x",
            "assertions": {"wipe": "DELETE FROM {table}"}
        }}}));
        let err = p.validate(&tables(), false).unwrap_err().to_string();
        for expected in [
            "tables.shop.customers.columns.emial: shop.customers has no column emial",
            "columns.credit_limit: rule hash does not fit its type decimal(12,2)",
            "columns.birth_date: rule truncate_day does not fit its type date",
            "tables.shop.customers.row_filter",
            "tables.shop.customers.assertions.wipe",
            "SNAPLAKE_HASH_SALT_SECRET",
        ] {
            assert!(err.contains(expected), "missing {expected:?} in {err}");
        }
    }

    #[test]
    fn a_tables_row_drop_bound_is_a_percentage() {
        let ok = policy(json!({"tables": {"shop.customers": {"columns": complete(), "max_row_drop_percent": 95}}}));
        assert_eq!(ok.for_table("shop.customers").unwrap().max_row_drop_percent, Some(95));
        assert!(ok.validate(&tables(), true).is_ok());
        let bad = policy(json!({"tables": {"shop.customers": {"columns": complete(), "max_row_drop_percent": 150}}}));
        let err = bad.validate(&tables(), true).unwrap_err().to_string();
        assert!(
            err.contains("tables.shop.customers.max_row_drop_percent: 150 is not a percentage; use 0 to 100"),
            "{err}"
        );
    }

    #[test]
    fn a_tables_own_format_is_hive_or_iceberg() {
        let ok = policy(json!({"tables": {"shop.customers": {"columns": complete(), "table_format": "iceberg"}}}));
        let format = ok.for_table("shop.customers").unwrap().table_format;
        assert_eq!(format, Some(crate::contract::masking_policy::TableFormat::Iceberg));
        assert_eq!(
            policy(json!({"tables": {"shop.customers": {}}})).tables["shop.customers"].table_format,
            None
        );
        let bad = json!({"tables": {"shop.customers": {"columns": complete(), "table_format": "delta"}}});
        let err = serde_json::from_value::<MaskingPolicy>(bad).unwrap_err().to_string();
        assert!(
            err.contains("unknown variant `delta`, expected `hive` or `iceberg`"),
            "{err}"
        );
    }

    #[test]
    fn a_table_the_export_lacks_is_reported_not_fatal() {
        let p = policy(json!({"tables": {"shop.customer": {}, "shop.orders": {"columns": {"id": "keep"}}}}));
        let c = p.validate(&tables(), false).unwrap();
        assert_eq!(c.missing, ["shop.customer"]);
        assert_eq!(c.published, ["shop.orders"]);
    }

    #[test]
    fn an_empty_policy_and_default_publish_are_refused() {
        let err = MaskingPolicy::default().check().unwrap_err().to_string();
        assert!(err.contains("tables: the policy names no table"), "{err}");
        let err = policy(json!({"default": "publish", "tables": {"shop.orders": {"columns": {"id": "keep"}}}}))
            .check()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("default: \"publish\"") && err.contains("snaplake policy init"),
            "{err}"
        );
    }

    #[test]
    fn a_column_without_a_rule_stops_only_its_table_under_fail() {
        let mut cols = complete();
        cols.as_object_mut().unwrap().remove("phone");
        let p = policy(
            json!({"tables": {"shop.customers": {"columns": cols}, "shop.orders": {"columns": {"id": "keep"}}}}),
        );
        let c = p.validate(&tables(), true).unwrap();
        assert_eq!(c.published, ["shop.orders"]);
        assert_eq!(c.unclassified["shop.customers"], ["phone"]);
        let err = p.column_rules("shop.customers", &customers(), true).unwrap_err();
        assert_eq!(err.name(), "InvalidInput");
        let err = err.to_string();
        assert!(
            err.contains("tables.shop.customers.columns")
                && err.contains("column(s) phone")
                && err.contains("\"phone\": \"drop\"")
                && err.contains("live version stays"),
            "{err}"
        );
    }

    #[test]
    fn unlisted_drop_drops_and_reports_the_column() {
        let mut cols = complete();
        cols.as_object_mut().unwrap().remove("phone");
        let p = policy(json!({"tables": {"shop.customers": {"columns": cols, "unlisted_columns": "drop"}}}));
        let c = p.validate(&tables(), true).unwrap();
        assert_eq!(c.dropped_unlisted["shop.customers"], ["phone"]);
        let r = p.column_rules("shop.customers", &customers(), true).unwrap();
        assert_eq!(r.dropped_unlisted, ["phone"]);
        assert!(r.rules.iter().all(|(c, _)| c.name != "phone"));
        assert_eq!(r.rules.len(), customers().len() - 1);
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
        let err = serde_json::from_value::<MaskingPolicy>(json!({"tables": {"t": {"unlisted_columns": "keep"}}}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("keep") && err.contains("fail"), "{err}");
    }

    #[test]
    fn transformed_at_may_not_collide() {
        let p = policy(
            json!({"transformed_at_column": "created_at", "tables": {"shop.customers": {"columns": complete()}}}),
        );
        assert!(
            p.validate(&tables(), false)
                .unwrap_err()
                .to_string()
                .contains("already has a column created_at")
        );
    }

    #[test]
    fn the_shipped_examples_are_complete_for_the_sample_database() {
        let p: MaskingPolicy = serde_json::from_str(include_str!("../../../events/masking-policy.json")).unwrap();
        p.check().unwrap();
        assert!(
            !p.tables.values().any(|t| t.columns.values().any(|r| *r == Rule::Hash)),
            "the examples hash identifiers with a salt"
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::catalog::schema::columns;
    use proptest::prelude::*;

    proptest! {
        /// Whatever columns an export has and whatever the policy names, no
        /// column without a rule is ever published.
        #[test]
        fn no_column_without_a_rule_is_published(
            names in proptest::collection::btree_set("[a-z]{1,6}", 1..8),
            listed in proptest::collection::vec(any::<bool>(), 8),
            drop_unlisted in any::<bool>(),
        ) {
            let names: Vec<String> = names.into_iter().collect();
            let cols: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "string")).collect();
            let raw = columns(&cols);
            let table = TablePolicy {
                columns: names.iter().zip(&listed).filter(|(_, l)| **l).map(|(n, _)| (n.clone(), Rule::Keep)).collect(),
                unlisted_columns: if drop_unlisted { Unlisted::Drop } else { Unlisted::Fail },
                ..TablePolicy::default()
            };
            let p = MaskingPolicy { tables: [("s.t".to_string(), table.clone())].into(), ..MaskingPolicy::default() };
            match p.column_rules("s.t", &raw, false) {
                Ok(r) => {
                    for (c, _) in &r.rules {
                        prop_assert!(table.columns.contains_key(&c.name));
                    }
                    prop_assert_eq!(r.rules.len() + r.dropped_unlisted.len(), raw.len());
                }
                Err(e) => {
                    prop_assert!(!drop_unlisted);
                    prop_assert!(e.to_string().contains("has no rule"));
                }
            }
        }
    }
}
