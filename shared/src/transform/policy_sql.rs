//! The SQL an operator writes in the masking policy, parsed rather than
//! scanned for words: a row filter is one boolean expression over the
//! table's own columns, an assertion one SELECT that reads `{table}` and
//! nothing else. A scan for `SELECT` let `id IN (TABLE other)` read another
//! table into a published one.
//!
//! Parsed with `sqlparser`'s generic dialect, which reads the Trino (Athena
//! engine v3) syntax policies use; what it cannot read is refused, naming
//! the field. Its parser stops at 50 levels of nesting, so no input can
//! exhaust the stack. Comments and `;` are refused before parsing: the
//! filter is pasted into a larger statement, where they could end it or
//! swallow its rest.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, Query, SetExpr, Statement, TableFactor, Visit, Visitor};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};

use crate::error::Error;

/// The longest filter or assertion accepted: a policy's, not a program's.
const MAX_LEN: usize = 4096;

/// What stands for `{table}` while an assertion is parsed.
const TABLE: &str = "snaplake_assertion_table";

/// Checks a row filter's form: one expression, no subquery, columns named
/// without a qualifier. Which columns it reads: [`filter_columns`].
pub fn check_row_filter(field: &str, filter: &str) -> Result<(), Error> {
    if filter.trim().is_empty() {
        return Err(refused(
            field,
            filter,
            "is empty; leave row_filter out to keep every row",
        ));
    }
    let expr = parse_filter(field, filter)?;
    let mut walk = FilterWalk::default();
    if expr.visit(&mut walk).is_break() {
        return Err(refused(field, filter, &walk.problem));
    }
    Ok(())
}

/// The columns a (checked) row filter reads, as written.
pub fn filter_columns(filter: &str) -> Vec<String> {
    let Ok(expr) = parse_filter("row_filter", filter) else {
        return Vec::new();
    };
    let mut walk = FilterWalk::default();
    let _ = expr.visit(&mut walk);
    walk.columns
}

/// Checks an assertion: one SELECT whose every table is `{table}`.
pub fn check_assertion(field: &str, query: &str) -> Result<(), Error> {
    let example = "e.g. SELECT 1 FROM {table} WHERE email LIKE '%@%'";
    let text = query.replace("{table}", TABLE);
    tokens(field, query, &text)?;
    let statements = Parser::new(&GenericDialect {})
        .try_with_sql(&text)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| {
            refused(
                field,
                query,
                &format!("cannot be read as SQL ({e}); an assertion is one SELECT, {example}"),
            )
        })?;
    let [Statement::Query(select)] = statements.as_slice() else {
        return Err(refused(
            field,
            query,
            &format!("is not a SELECT: an assertion is one SELECT whose rows are failures, {example}"),
        ));
    };
    let mut walk = AssertionWalk::default();
    if select.visit(&mut walk).is_break() {
        return Err(refused(field, query, &walk.problem));
    }
    if !walk.reads_table {
        return Err(refused(field, query, &format!("does not read {{table}}; {example}")));
    }
    Ok(())
}

fn refused(field: &str, text: &str, why: &str) -> Error {
    Error::invalid_input(field, format!("{text:?} {why}"))
}

/// One expression and nothing after it.
fn parse_filter(field: &str, filter: &str) -> Result<Expr, Error> {
    tokens(field, filter, filter)?;
    let unreadable = |e: &dyn std::fmt::Display| {
        refused(
            field,
            filter,
            &format!("cannot be read as SQL ({e}); a row filter is one boolean expression, e.g. status = 'published'"),
        )
    };
    let mut parser = Parser::new(&GenericDialect {})
        .try_with_sql(filter)
        .map_err(|e| unreadable(&e))?;
    let expr = parser.parse_expr().map_err(|e| unreadable(&e))?;
    let rest = parser.peek_token();
    if rest.token != Token::EOF {
        return Err(refused(
            field,
            filter,
            &format!(
                "goes on after one expression (at {}): a row filter is one boolean expression",
                rest.token
            ),
        ));
    }
    Ok(expr)
}

/// The text's tokens hold no statement separator and no comment.
fn tokens(field: &str, shown: &str, text: &str) -> Result<(), Error> {
    if text.len() > MAX_LEN {
        return Err(refused(field, shown, &format!("is longer than {MAX_LEN} characters")));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(refused(field, shown, "holds control characters"));
    }
    let tokens = Tokenizer::new(&GenericDialect {}, text)
        .tokenize()
        .map_err(|e| refused(field, shown, &format!("cannot be read as SQL ({e})")))?;
    for token in tokens {
        match token {
            Token::SemiColon => {
                return Err(refused(
                    field,
                    shown,
                    "contains ';': it must be one expression or query",
                ));
            }
            Token::Whitespace(Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_)) => {
                return Err(refused(
                    field,
                    shown,
                    "contains a comment, which could hide the rest of the query",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

#[derive(Default)]
struct FilterWalk {
    columns: Vec<String>,
    problem: String,
}

impl Visitor for FilterWalk {
    type Break = ();

    fn pre_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
        self.problem =
            "contains a subquery: a row filter is one boolean expression over the table's own columns".into();
        ControlFlow::Break(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        match expr {
            Expr::Identifier(ident) => self.columns.push(ident.value.clone()),
            Expr::CompoundIdentifier(parts) => {
                let name = parts.iter().map(|p| p.value.as_str()).collect::<Vec<_>>().join(".");
                self.problem = format!("names {name}: write the table's own columns without a qualifier");
                return ControlFlow::Break(());
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

#[derive(Default)]
struct AssertionWalk {
    reads_table: bool,
    problem: String,
}

impl Visitor for AssertionWalk {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let SetExpr::Table(table) = query.body.as_ref() {
            self.problem = format!(
                "reads TABLE {}: an assertion reads {{table}} only",
                table.table_name.as_ref().map_or("?".to_string(), |n| n.value.clone())
            );
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        match factor {
            TableFactor::Table { name, args: None, .. } if name.to_string() == TABLE => {
                self.reads_table = true;
                ControlFlow::Continue(())
            }
            TableFactor::Table { name, .. } => {
                self.problem = format!("reads {name}: an assertion reads {{table}} only");
                ControlFlow::Break(())
            }
            TableFactor::Derived { .. } | TableFactor::NestedJoin { .. } => ControlFlow::Continue(()),
            other => {
                self.problem = format!("reads {other}: an assertion reads {{table}} only");
                ControlFlow::Break(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_filters_are_one_expression_over_the_tables_columns() {
        for (ok, columns) in [
            ("status = 'published'", vec!["status"]),
            ("a = 'x;y' AND (b > 1 OR c IS NULL)", vec!["a", "b", "c"]),
            ("note <> 'it''s -- fine'", vec!["note"]),
            ("title <> 'SELECT me'", vec!["title"]),
            ("\"select\" = 1", vec!["select"]),
            (
                "lower(email) NOT LIKE '%@example.com' AND country IN ('JP', 'US')",
                vec!["email", "country"],
            ),
            (
                "created_at >= DATE '2020-01-01' AND deleted_at IS NULL",
                vec!["created_at", "deleted_at"],
            ),
        ] {
            check_row_filter("row_filter", ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(filter_columns(ok), columns, "{ok}");
        }
        let deep = format!("{}a = 1{}", "(".repeat(500), ")".repeat(500));
        for (bad, why) in [
            ("1=1; DROP TABLE t", "';'"),
            ("1=1 -- everything", "comment"),
            ("1=1 /* x */", "comment"),
            ("a = 'open", "cannot be read as SQL"),
            ("(a = 1", "cannot be read as SQL"),
            ("a = 1) OR (1=1", "goes on after one expression"),
            ("  ", "empty"),
            ("id IN (SELECT id FROM secret.customers)", "subquery"),
            ("EXISTS (select 1 from other)", "subquery"),
            // A scan for the word SELECT let this one through.
            ("id IN (TABLE other)", "subquery"),
            ("secret.customers.id = 1", "without a qualifier"),
            (deep.as_str(), "cannot be read as SQL"),
        ] {
            let err = check_row_filter("tables.shop.articles.row_filter", bad)
                .unwrap_err()
                .to_string();
            assert!(err.contains(why) && err.contains("row_filter"), "{bad:.60}: {err:.300}");
        }
    }

    #[test]
    fn assertions_are_one_select_over_the_table_alone() {
        for ok in [
            "SELECT 1 FROM {table} WHERE email LIKE '%@%'",
            "  select id from {table} where total < 0",
            "SELECT id FROM {table} GROUP BY id HAVING count(*) > 1",
            "SELECT 1 FROM (SELECT id FROM {table}) AS t WHERE id IS NULL",
        ] {
            check_assertion("a", ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for (bad, why) in [
            ("DELETE FROM {table}", "is not a SELECT"),
            ("DROP TABLE {table}", "is not a SELECT"),
            ("SELECT 1; DELETE FROM {table}", "';'"),
            ("'SELECT' 1", "cannot be read as SQL"),
            (
                "SELECT 1 FROM {table} JOIN secret.customers c ON true",
                "reads secret.customers",
            ),
            ("SELECT 1 FROM {table} WHERE id IN (TABLE other)", "reads TABLE other"),
            ("SELECT 1", "does not read {table}"),
            ("SELECT 1 FROM {table} -- x", "comment"),
        ] {
            let err = check_assertion("tables.t.assertions.x", bad).unwrap_err().to_string();
            assert!(
                err.contains(why) && err.contains("tables.t.assertions.x"),
                "{bad}: {err}"
            );
        }
    }
}
