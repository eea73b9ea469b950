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
/// trusted to be SQL, but it must stay one expression: no statement
/// separator, no comment that could swallow the rest of the query, balanced
/// quotes and parentheses.
pub fn check_row_filter(field: &str, filter: &str) -> Result<(), Error> {
    let bad = |why: &str| Err(Error::invalid_input(field, format!("{filter:?} {why}")));
    if filter.trim().is_empty() {
        return bad("is empty; leave row_filter out to keep every row");
    }
    let (mut depth, mut quote): (i32, Option<char>) = (0, None);
    let chars: Vec<char> = filter.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        let next = chars.get(i + 1).copied();
        match c {
            '\'' | '"' => quote = Some(c),
            ';' => return bad("contains ';': a row filter is one expression, not a statement"),
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
    }
    if quote.is_some() {
        return bad("has an unterminated quote");
    }
    if depth != 0 {
        return bad("has unbalanced parentheses");
    }
    Ok(())
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
        ] {
            let err = check_row_filter("tables.shop.articles.row_filter", bad)
                .unwrap_err()
                .to_string();
            assert!(err.contains(why) && err.contains("row_filter"), "{bad}: {err}");
        }
    }
}
