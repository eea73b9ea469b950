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
}
