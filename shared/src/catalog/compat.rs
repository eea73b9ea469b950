//! Whether a new version of a table can replace the current one for readers:
//! added columns are fine; removed or retyped ones follow the configured
//! policy (fail with the diff, or accept and report it).

use serde::{Deserialize, Serialize};

use super::schema::Column;
use crate::contract::catalog_swap::SchemaPolicy;
use crate::error::Error;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// `name: old -> new`
    pub changed: Vec<String>,
}

impl SchemaDiff {
    pub fn is_breaking(&self) -> bool {
        !self.removed.is_empty() || !self.changed.is_empty()
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && !self.is_breaking()
    }

    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.added.is_empty() {
            parts.push(format!("added: {}", self.added.join(", ")));
        }
        if !self.removed.is_empty() {
            parts.push(format!("removed: {}", self.removed.join(", ")));
        }
        if !self.changed.is_empty() {
            parts.push(format!("changed: {}", self.changed.join(", ")));
        }
        if parts.is_empty() {
            "no changes".into()
        } else {
            parts.join("; ")
        }
    }
}

/// Column names compare case-insensitively, as Glue and Athena treat them.
pub fn diff(old: &[Column], new: &[Column]) -> SchemaDiff {
    let find = |cols: &[Column], name: &str| cols.iter().find(|c| c.name.eq_ignore_ascii_case(name)).cloned();
    let mut out = SchemaDiff::default();
    for column in new {
        match find(old, &column.name) {
            None => out.added.push(format!("{} {}", column.name, column.glue_type)),
            Some(before) if !before.glue_type.eq_ignore_ascii_case(&column.glue_type) => out
                .changed
                .push(format!("{}: {} -> {}", column.name, before.glue_type, column.glue_type)),
            Some(_) => {}
        }
    }
    for column in old {
        if find(new, &column.name).is_none() {
            out.removed.push(format!("{} {}", column.name, column.glue_type));
        }
    }
    out
}

/// The diff, or an error when the policy refuses it.
pub fn check(table: &str, old: &[Column], new: &[Column], policy: SchemaPolicy) -> Result<SchemaDiff, Error> {
    let d = diff(old, new);
    if d.is_breaking() && policy == SchemaPolicy::Fail {
        return Err(Error::SchemaIncompatible {
            table: table.to_string(),
            diff: d.describe(),
        });
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::schema::columns;

    #[test]
    fn added_columns_are_fine() {
        let d = check(
            "t",
            &columns(&[("id", "bigint")]),
            &columns(&[("id", "bigint"), ("email", "string")]),
            SchemaPolicy::Fail,
        )
        .unwrap();
        assert_eq!(d.added, ["email string"]);
        assert!(!d.is_breaking());
    }

    #[test]
    fn removed_and_retyped_columns_fail_with_the_diff() {
        let old = columns(&[("id", "bigint"), ("total", "decimal(10,2)"), ("note", "string")]);
        let new = columns(&[("ID", "bigint"), ("total", "decimal(12,2)")]);
        let err = check("curated.shop_orders", &old, &new, SchemaPolicy::Fail).unwrap_err();
        assert_eq!(err.name(), "SchemaIncompatible");
        let text = err.to_string();
        assert!(text.contains("curated.shop_orders"), "{text}");
        assert!(text.contains("removed: note string"), "{text}");
        assert!(
            text.contains("changed: total: decimal(10,2) -> decimal(12,2)"),
            "{text}"
        );
    }

    #[test]
    fn accept_reports_instead_of_failing() {
        let d = check(
            "t",
            &columns(&[("a", "int")]),
            &columns(&[("b", "int")]),
            SchemaPolicy::Accept,
        )
        .unwrap();
        assert_eq!(d.describe(), "added: b int; removed: a int");
        assert!(diff(&columns(&[("a", "int")]), &columns(&[("A", "INT")])).is_empty());
    }
}
