//! Safe SQL text: every identifier validated and quoted, every literal
//! escaped. Nothing from a table, a column name or an operator reaches a
//! query except through these functions.

use crate::error::Error;

/// A double-quoted identifier (Trino/Athena). Names with control characters
/// or that are empty are refused; a `"` inside is doubled, so a name
/// designed to break out of the quotes stays one identifier.
pub fn ident(field: &str, name: &str) -> Result<String, Error> {
    if name.is_empty() || name.len() > 255 {
        return Err(Error::invalid_input(
            field,
            format!("{name:?} must be 1 to 255 characters"),
        ));
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(Error::invalid_input(
            field,
            format!("{name:?} holds control characters"),
        ));
    }
    Ok(format!("\"{}\"", name.replace('"', "\"\"")))
}

/// `"database"."table"`.
pub fn table(database: &str, name: &str) -> Result<String, Error> {
    Ok(format!("{}.{}", ident("database", database)?, ident("table", name)?))
}

/// A single-quoted string literal; `'` is doubled. Control characters are
/// refused (nothing snaplake writes needs them).
pub fn literal(field: &str, value: &str) -> Result<String, Error> {
    if value.chars().any(|c| c.is_control()) {
        return Err(Error::invalid_input(
            field,
            format!("{value:?} holds control characters"),
        ));
    }
    Ok(format!("'{}'", value.replace('\'', "''")))
}

/// An operator's row filter (`status = 'published'`). It is configuration,
/// trusted to be SQL, but it must stay one boolean expression over the
/// table's own columns: no statement separator, no comment that could
/// swallow the rest of the query, balanced quotes and parentheses, and no
/// subquery (which could read another table into the published one).
pub fn check_row_filter(field: &str, filter: &str) -> Result<(), Error> {
    let bad = |why: &str| Err(Error::invalid_input(field, format!("{filter:?} {why}")));
    if filter.trim().is_empty() {
        return bad("is empty; leave row_filter out to keep every row");
    }
    let words = unquoted_words(field, filter)?;
    if words.iter().any(|w| w == "SELECT") {
        return bad(
            "contains a subquery (SELECT): a row filter is one boolean expression over the table's own columns",
        );
    }
    Ok(())
}

/// An assertion: one SELECT statement (`SELECT 1 FROM {table} WHERE ...`)
/// whose rows count as failures. Anything else (DELETE, DROP, INSERT, ...)
/// is refused, as are statement separators and comments.
pub fn check_assertion(field: &str, query: &str) -> Result<(), Error> {
    let words = unquoted_words(field, query)?;
    if words.first().map(String::as_str) != Some("SELECT") {
        return Err(Error::invalid_input(
            field,
            format!(
                "{query:?} is not a SELECT: an assertion is one SELECT whose rows are failures, e.g. \
                     SELECT 1 FROM {{table}} WHERE email LIKE '%@%'"
            ),
        ));
    }
    Ok(())
}

/// The upper-cased words of one SQL expression outside its quotes, after
/// checking it cannot end the statement it is put in.
fn unquoted_words(field: &str, text: &str) -> Result<Vec<String>, Error> {
    let bad = |why: &str| Err(Error::invalid_input(field, format!("{text:?} {why}")));
    let (mut depth, mut quote): (i32, Option<char>) = (0, None);
    let mut outside = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            outside.push(' ');
            continue;
        }
        let next = chars.get(i + 1).copied();
        match c {
            '\'' | '"' => quote = Some(c),
            ';' => return bad("contains ';': it must be one expression, not a statement"),
            '-' if next == Some('-') => return bad("contains a '--' comment"),
            '/' if next == Some('*') => return bad("contains a '/*' comment"),
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return bad("closes a parenthesis it did not open");
                }
            }
            c if c.is_control() && c != '\n' && c != '\t' => return bad("holds control characters"),
            _ => {}
        }
        outside.push(if c.is_alphanumeric() || c == '_' { c } else { ' ' });
    }
    if quote.is_some() {
        return bad("has an unterminated quote");
    }
    if depth != 0 {
        return bad("has unbalanced parentheses");
    }
    Ok(outside.split_whitespace().map(str::to_ascii_uppercase).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_and_cannot_break_out() {
        assert_eq!(ident("c", "email").unwrap(), "\"email\"");
        assert_eq!(ident("c", "we\"ird").unwrap(), "\"we\"\"ird\"");
        let hostile = "x\" FROM secrets --";
        assert_eq!(ident("c", hostile).unwrap(), "\"x\"\" FROM secrets --\"");
        assert!(ident("column", "a\nb").unwrap_err().to_string().contains("`column`"));
        assert!(ident("c", "").is_err());
    }

    #[test]
    fn literals_are_escaped() {
        assert_eq!(literal("l", "s3://b/it's/").unwrap(), "'s3://b/it''s/'");
        assert_eq!(literal("l", "'; DROP TABLE x; --").unwrap(), "'''; DROP TABLE x; --'");
        assert!(literal("l", "a\0b").is_err());
    }

    #[test]
    fn row_filters_stay_one_expression() {
        for ok in [
            "status = 'published'",
            "a = 'x;y' AND (b > 1 OR c IS NULL)",
            "note <> 'it''s -- fine'",
            "title <> 'SELECT me'",
            "\"select\" = 1",
        ] {
            assert!(check_row_filter("row_filter", ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("1=1; DROP TABLE t", "';'"),
            ("1=1 -- everything", "'--'"),
            ("1=1 /* x */", "'/*'"),
            ("a = 'open", "unterminated"),
            ("(a = 1", "unbalanced"),
            ("a = 1) OR (1=1", "did not open"),
            ("  ", "empty"),
            ("id IN (SELECT id FROM secret.customers)", "subquery"),
            ("EXISTS (select 1 from other)", "subquery"),
        ] {
            let err = check_row_filter("tables.shop.articles.row_filter", bad)
                .unwrap_err()
                .to_string();
            assert!(err.contains(why) && err.contains("row_filter"), "{bad}: {err}");
        }
    }

    #[test]
    fn assertions_are_one_select() {
        for ok in [
            "SELECT 1 FROM {table} WHERE email LIKE '%@%'",
            "  select id from {table} where total < 0",
        ] {
            assert!(check_assertion("a", ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("DELETE FROM {table}", "is not a SELECT"),
            ("DROP TABLE {table}", "is not a SELECT"),
            ("SELECT 1; DELETE FROM {table}", "';'"),
            ("'SELECT' 1", "is not a SELECT"),
        ] {
            let err = check_assertion("tables.t.assertions.x", bad).unwrap_err().to_string();
            assert!(
                err.contains(why) && err.contains("tables.t.assertions.x"),
                "{bad}: {err}"
            );
        }
    }
}
