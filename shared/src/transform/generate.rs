//! The SQL snaplake sends to Athena: the masking UNLOAD into a table's new
//! curated location, and the checks run on the published table.

use super::trino_types::trino_type;
use super::{policy_sql, sql};
use crate::catalog::location::S3Prefix;
use crate::catalog::schema::Column;
use crate::contract::masking_policy::{Rule, TablePolicy};
use crate::error::Error;
use crate::logical_time::LogicalTime;

/// A query and the execution parameters its `?` take, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub sql: String,
    pub parameters: Vec<String>,
}

/// `UNLOAD (SELECT <masked columns>, <logical time> AS transformed_at FROM raw
/// [WHERE filter]) TO '<target>' WITH (format = 'PARQUET', compression = 'SNAPPY')`.
/// Only the columns in `rules` are read (from
/// [`MaskingPolicy::column_rules`](super::policy::MaskingPolicy::column_rules)):
/// a column with no rule cannot reach the output.
#[allow(clippy::too_many_arguments)]
pub fn unload(
    raw_database: &str,
    raw_table: &str,
    rules: &[(Column, Rule)],
    policy: &TablePolicy,
    transformed_at_column: &str,
    logical_time: LogicalTime,
    target: &S3Prefix,
    salt: Option<&str>,
) -> Result<Query, Error> {
    let mut select = Vec::with_capacity(rules.len() + 1);
    let mut parameters = Vec::new();
    for (column, rule) in rules {
        let name = sql::ident("column", &column.name)?;
        let expr = match *rule {
            Rule::Drop => continue,
            Rule::Keep => name.clone(),
            Rule::Hash => format!("to_hex(sha256(to_utf8(CAST({name} AS varchar))))"),
            Rule::HashSalted => {
                let salt = salt.ok_or_else(|| {
                    Error::invalid_input(
                        "SNAPLAKE_HASH_SALT_SECRET",
                        format!(
                            "is needed to hash {} with a salt: name the Secrets Manager secret holding it",
                            column.name
                        ),
                    )
                })?;
                // Never through `sql::literal`: its errors quote the value.
                if salt.chars().any(char::is_control) {
                    return Err(Error::invalid_input(
                        "SNAPLAKE_HASH_SALT_SECRET",
                        "the salt holds control characters; store one without them",
                    ));
                }
                parameters.push(format!("'{}'", salt.replace('\'', "''")));
                // `||`, not concat(): NULL in, NULL out, in Trino and DuckDB alike.
                format!("to_hex(sha256(to_utf8(? || CAST({name} AS varchar))))")
            }
            Rule::Redact => format!("CAST(NULL AS {})", trino_type(&column.name, &column.glue_type)?),
            Rule::TruncateDay => format!("date_trunc('day', {name})"),
        };
        select.push(if expr == name {
            name
        } else {
            format!("{expr} AS {name}")
        });
    }
    select.push(format!(
        "{} AS {}",
        timestamp(logical_time),
        sql::ident("transformed_at_column", transformed_at_column)?
    ));
    let mut query = format!(
        "SELECT {} FROM {}",
        select.join(", "),
        sql::table(raw_database, raw_table)?
    );
    if let Some(filter) = &policy.row_filter {
        policy_sql::check_row_filter("row_filter", filter)?;
        query.push_str(&format!(" WHERE ({filter})"));
    }
    let target = sql::literal("target", &target.to_string())?;
    Ok(Query {
        sql: format!("UNLOAD ({query}) TO {target} WITH (format = 'PARQUET', compression = 'SNAPPY')"),
        parameters,
    })
}

/// The columns the masking UNLOAD writes, in its order, with the Glue
/// types a file of its output reads back as (Trino writes names in lower
/// case). An empty version is written with them (`catalog::empty_file`).
pub fn output_columns(rules: &[(Column, Rule)], transformed_at_column: &str) -> Vec<Column> {
    let mut out: Vec<Column> = rules
        .iter()
        .filter(|(_, rule)| *rule != Rule::Drop)
        .map(|(column, rule)| Column {
            name: column.name.to_ascii_lowercase(),
            glue_type: match rule {
                Rule::Hash | Rule::HashSalted => "string".to_string(),
                _ => column.glue_type.clone(),
            },
        })
        .collect();
    out.push(Column {
        name: transformed_at_column.to_ascii_lowercase(),
        glue_type: "timestamp".into(),
    });
    out
}

/// A Trino timestamp literal of the logical time (UTC, millisecond precision).
fn timestamp(t: LogicalTime) -> String {
    format!("TIMESTAMP '{}'", t.timestamp().strftime("%Y-%m-%d %H:%M:%S%.3f"))
}

/// One row: `expected_rows`, `actual_rows`, then one column per assertion
/// (`assert_<name>`) counting the rows it found, which must be zero.
pub fn verify(raw: (&str, &str), curated: (&str, &str), policy: &TablePolicy) -> Result<Query, Error> {
    let raw_table = sql::table(raw.0, raw.1)?;
    let curated_table = sql::table(curated.0, curated.1)?;
    let filter = match &policy.row_filter {
        Some(f) => {
            policy_sql::check_row_filter("row_filter", f)?;
            format!(" WHERE ({f})")
        }
        None => String::new(),
    };
    let mut checks = vec![
        format!("(SELECT count(*) FROM {raw_table}{filter}) AS \"expected_rows\""),
        format!("(SELECT count(*) FROM {curated_table}) AS \"actual_rows\""),
    ];
    for (name, assertion) in &policy.assertions {
        policy_sql::check_assertion(&format!("assertions.{name}"), assertion)?;
        let body = assertion.replace("{table}", &curated_table);
        checks.push(format!(
            "(SELECT count(*) FROM ({body})) AS {}",
            sql::ident("assertion", &format!("assert_{name}"))?
        ));
    }
    Ok(Query {
        sql: format!("SELECT {}", checks.join(", ")),
        parameters: Vec::new(),
    })
}

/// Reads the verification row: the first failed check, named.
pub fn check_verification(table: &str, header: &[String], row: &[Option<String>]) -> Result<(), Error> {
    let value = |name: &str| -> Option<i64> {
        let i = header.iter().position(|h| h == name)?;
        row.get(i)?.as_deref()?.parse().ok()
    };
    let fail = |check: &str, detail: String| {
        Err(Error::VerificationFailed {
            table: table.to_string(),
            check: check.to_string(),
            detail,
        })
    };
    match (value("expected_rows"), value("actual_rows")) {
        (Some(e), Some(a)) if e == a => {}
        (Some(e), Some(a)) => {
            return fail(
                "row count",
                format!("{a} rows published, {e} expected from the raw table"),
            );
        }
        _ => return fail("row count", "the verification query returned no counts".into()),
    }
    for (i, name) in header.iter().enumerate() {
        if let Some(check) = name.strip_prefix("assert_") {
            let found = row
                .get(i)
                .and_then(|v| v.as_deref())
                .and_then(|v| v.parse::<i64>().ok());
            if found != Some(0) {
                return fail(
                    check,
                    format!(
                        "{} row(s) match, none should",
                        found.map_or("?".into(), |n| n.to_string())
                    ),
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::schema::columns;
    use crate::contract::masking_policy::MaskingPolicy;
    use serde_json::json;

    fn customers() -> Vec<Column> {
        columns(&[
            ("id", "bigint"),
            ("email", "string"),
            ("phone", "string"),
            ("full_name", "string"),
            ("birth_date", "date"),
            ("created_at", "timestamp"),
        ])
    }

    fn t() -> LogicalTime {
        LogicalTime::parse("2026-11-20T19:00:00Z").unwrap()
    }

    fn target() -> S3Prefix {
        S3Prefix::new("lake", "curated/shop_customers/v=20261120T190000Z")
    }

    fn policy(v: serde_json::Value) -> TablePolicy {
        serde_json::from_value(v).unwrap()
    }

    /// The columns the policy names, with their rules (as `column_rules` gives them).
    fn ruled(cols: &[Column], p: &TablePolicy) -> Vec<(Column, Rule)> {
        cols.iter()
            .filter_map(|c| p.columns.get(&c.name).map(|r| (c.clone(), *r)))
            .collect()
    }

    #[test]
    fn golden_customers() {
        let p = policy(json!({
            "columns": {"id": "keep", "email": "hash", "phone": "hash_salted", "full_name": "drop",
                        "birth_date": "redact", "created_at": "truncate_day"},
            "row_filter": "is_active = 1"
        }));
        let q = unload(
            "snaplake_raw",
            "shop_customers",
            &ruled(&customers(), &p),
            &p,
            "transformed_at",
            t(),
            &target(),
            Some("pepper"),
        )
        .unwrap();
        assert_eq!(
            q.sql,
            "UNLOAD (SELECT \"id\", to_hex(sha256(to_utf8(CAST(\"email\" AS varchar)))) AS \"email\", \
             to_hex(sha256(to_utf8(? || CAST(\"phone\" AS varchar)))) AS \"phone\", \
             CAST(NULL AS date) AS \"birth_date\", date_trunc('day', \"created_at\") AS \"created_at\", \
             TIMESTAMP '2026-11-20 19:00:00.000' AS \"transformed_at\" \
             FROM \"snaplake_raw\".\"shop_customers\" WHERE (is_active = 1)) \
             TO 's3://lake/curated/shop_customers/v=20261120T190000Z/' WITH (format = 'PARQUET', compression = 'SNAPPY')"
        );
        assert_eq!(q.parameters, ["'pepper'"]);
    }

    #[test]
    fn the_output_columns_are_the_unloads_select_list_with_hashes_as_strings() {
        let p = policy(json!({
            "columns": {"id": "keep", "email": "hash", "phone": "hash_salted", "full_name": "drop",
                        "birth_date": "redact", "created_at": "truncate_day"}
        }));
        assert_eq!(
            output_columns(&ruled(&customers(), &p), "Transformed_At"),
            columns(&[
                ("id", "bigint"),
                ("email", "string"),
                ("phone", "string"),
                ("birth_date", "date"),
                ("created_at", "timestamp"),
                ("transformed_at", "timestamp"),
            ])
        );
    }

    #[test]
    fn golden_orders_published_as_exported() {
        let orders = columns(&[("id", "bigint"), ("total", "decimal(10,2)")]);
        let p = policy(json!({"columns": {"id": "keep", "total": "keep"}}));
        let q = unload(
            "snaplake_raw",
            "shop_orders",
            &ruled(&orders, &p),
            &p,
            "transformed_at",
            t(),
            &target(),
            None,
        )
        .unwrap();
        assert_eq!(
            q.sql,
            "UNLOAD (SELECT \"id\", \"total\", TIMESTAMP '2026-11-20 19:00:00.000' AS \"transformed_at\" \
             FROM \"snaplake_raw\".\"shop_orders\") \
             TO 's3://lake/curated/shop_customers/v=20261120T190000Z/' WITH (format = 'PARQUET', compression = 'SNAPPY')"
        );
        assert!(q.parameters.is_empty());
    }

    #[test]
    fn hostile_names_stay_quoted_identifiers() {
        let hostile = columns(&[("x\" FROM secret.t --", "string")]);
        let p = policy(json!({"columns": {"x\" FROM secret.t --": "hash"}}));
        let q = unload(
            "raw",
            "t\"; DROP",
            &ruled(&hostile, &p),
            &p,
            "transformed_at",
            t(),
            &target(),
            None,
        )
        .unwrap();
        assert!(
            q.sql.contains("CAST(\"x\"\" FROM secret.t --\" AS varchar)"),
            "{}",
            q.sql
        );
        assert!(q.sql.contains("FROM \"raw\".\"t\"\"; DROP\""), "{}", q.sql);
        let p = policy(json!({"columns": {"a\u{0}b": "keep"}}));
        let err = unload(
            "raw",
            "t",
            &ruled(&columns(&[("a\u{0}b", "string")]), &p),
            &p,
            "transformed_at",
            t(),
            &target(),
            None,
        );
        assert!(err.is_err(), "control characters are refused");
        let p = policy(json!({"columns": {"e": "hash_salted"}}));
        let quote_in_salt = unload(
            "raw",
            "t",
            &ruled(&columns(&[("e", "string")]), &p),
            &p,
            "transformed_at",
            t(),
            &target(),
            Some("it's"),
        )
        .unwrap();
        assert_eq!(quote_in_salt.parameters, ["'it''s'"]);
    }

    #[test]
    fn a_filter_that_would_end_the_statement_is_refused() {
        let p = policy(json!({"row_filter": "1=1) TO 's3://evil/' WITH (format='PARQUET'); --"}));
        assert!(
            unload(
                "raw",
                "t",
                &ruled(&customers(), &p),
                &p,
                "transformed_at",
                t(),
                &target(),
                None
            )
            .is_err()
        );
    }

    #[test]
    fn salted_hash_without_a_salt_is_refused() {
        let p = policy(json!({"columns": {"email": "hash_salted"}}));
        let err = unload(
            "raw",
            "t",
            &ruled(&customers(), &p),
            &p,
            "transformed_at",
            t(),
            &target(),
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("SNAPLAKE_HASH_SALT_SECRET"), "{err}");
    }

    #[test]
    fn golden_verification_and_its_reading() {
        let p = policy(json!({"row_filter": "status = 'published'",
                              "assertions": {"no_clear_email": "SELECT 1 FROM {table} WHERE author_email LIKE '%@%'"}}));
        let q = verify(
            ("snaplake_raw", "shop_articles"),
            ("snaplake_curated", "shop_articles"),
            &p,
        )
        .unwrap();
        assert_eq!(
            q.sql,
            "SELECT (SELECT count(*) FROM \"snaplake_raw\".\"shop_articles\" WHERE (status = 'published')) AS \"expected_rows\", \
             (SELECT count(*) FROM \"snaplake_curated\".\"shop_articles\") AS \"actual_rows\", \
             (SELECT count(*) FROM (SELECT 1 FROM \"snaplake_curated\".\"shop_articles\" WHERE author_email LIKE '%@%')) \
             AS \"assert_no_clear_email\""
        );
        let header: Vec<String> = ["expected_rows", "actual_rows", "assert_no_clear_email"]
            .map(String::from)
            .to_vec();
        let row = |e: &str, a: &str, n: &str| vec![Some(e.to_string()), Some(a.to_string()), Some(n.to_string())];
        check_verification("t", &header, &row("40", "40", "0")).unwrap();
        let err = check_verification("curated.t", &header, &row("40", "39", "0"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("row count") && err.contains("39 rows published, 40 expected"),
            "{err}"
        );
        let err = check_verification("curated.t", &header, &row("40", "40", "3"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no_clear_email") && err.contains("3 row(s)"), "{err}");
    }

    #[test]
    fn a_whole_policy_round_trips_from_json() {
        let p: MaskingPolicy = serde_json::from_str(include_str!("../../../events/masking-policy.json")).unwrap();
        assert!(p.tables.contains_key("shop.customers"));
    }
}
