//! Glue's column types as Athena's DML (Trino) names them. The masking
//! UNLOAD casts a redacted column to its type (`generate`), and the policy
//! allows `redact` only on a type that has such a name (`policy`); both ask
//! here, so that neither reaches into the other.

use crate::error::Error;

/// The Trino (Athena DML) name of a Glue (Hive DDL) column type, for a CAST.
/// Athena takes Hive names in DDL only: `CAST(NULL AS string)` fails with
/// "Unknown type: string". Covers every type the schema reader produces
/// (`catalog::schema`) and Glue's parameterised and nested types.
pub fn trino_type(column: &str, glue_type: &str) -> Result<String, Error> {
    let t = glue_type.trim().to_ascii_lowercase();
    let unsupported = || {
        Error::invalid_input(
            "type",
            format!(
                "column {column} has type {glue_type:?}, which snaplake cannot write as an Athena (Trino) type; \
                 use the rule drop for it"
            ),
        )
    };
    let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == ',' || c == ' ');
    let mapped = match t.as_str() {
        "string" => "varchar".to_string(),
        "float" => "real".to_string(),
        "binary" => "varbinary".to_string(),
        "int" | "integer" => "integer".to_string(),
        "tinyint" | "smallint" | "bigint" | "boolean" | "double" | "date" | "timestamp" | "varchar" => t.clone(),
        _ => {
            let (head, args) = t
                .strip_suffix(')')
                .and_then(|s| s.split_once('('))
                .ok_or_else(unsupported)?;
            match head.trim() {
                "decimal" | "varchar" | "char" if plain(args) => format!("{}({})", head.trim(), args.replace(' ', "")),
                _ => return Err(unsupported()),
            }
        }
    };
    Ok(mapped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glue_names_become_athena_dml_type_names() {
        for (glue, trino) in [
            ("string", "varchar"),
            ("float", "real"),
            ("binary", "varbinary"),
            ("int", "integer"),
            ("char(2)", "char(2)"),
            ("decimal(10, 2)", "decimal(10,2)"),
        ] {
            assert_eq!(trino_type("c", glue).unwrap(), trino, "{glue}");
        }
        let err = trino_type("tags", "array<string>").unwrap_err().to_string();
        assert!(
            err.contains("tags") && err.contains("array<string>") && err.contains("drop"),
            "{err}"
        );
    }
}
