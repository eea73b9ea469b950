//! A complete starting policy from the raw tables (`snaplake policy init`):
//! every column listed, so nothing is published by omission, and every
//! column marked in the table's `review` for a person to decide. Columns
//! whose name or type looks like personal data get a protective rule; the
//! ones snaplake cannot classify are `drop`, never `keep`. These are guesses
//! from names: the review is the real classification, and a policy with a
//! review still open is refused (`policy check`, the pipeline, the module).

use std::collections::BTreeMap;

use crate::catalog::schema::Column;
use crate::contract::masking_policy::{MaskingPolicy, Rule, TablePolicy};

/// The suggested rule for one column and why.
pub fn suggest(column: &Column) -> (Rule, &'static str) {
    let name = column.name.to_ascii_lowercase();
    let words: Vec<&str> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let has = |candidates: &[&str]| words.iter().any(|w| candidates.contains(w));
    let text = {
        let t = column.glue_type.to_ascii_lowercase();
        t == "string" || t.starts_with("varchar") || t.starts_with("char")
    };
    let (rule, why) = if has(&["email", "mail", "emailaddress"]) || name.contains("e_mail") {
        (Rule::HashSalted, "looks like an e-mail address")
    } else if has(&["phone", "tel", "telephone", "mobile", "fax", "msisdn"]) {
        (Rule::Redact, "looks like a phone number")
    } else if has(&["ssn", "passport", "nin", "sin", "license", "licence"])
        || name.contains("national_id")
        || name.contains("tax_id")
    {
        (Rule::Drop, "looks like a national or official identifier")
    } else if has(&["birth", "dob", "birthday", "birthdate"]) {
        (Rule::Redact, "looks like a birth date")
    } else if has(&["ip", "ipv4", "ipv6", "ipaddress"]) {
        (Rule::HashSalted, "looks like an IP address")
    } else if has(&[
        "name",
        "firstname",
        "lastname",
        "surname",
        "fullname",
        "nickname",
        "username",
    ]) {
        (Rule::Drop, "looks like a person's name")
    } else if has(&["address", "street", "zip", "zipcode", "postcode", "postal", "addr"]) {
        (Rule::Drop, "looks like an address")
    } else if text
        && has(&[
            "body",
            "comment",
            "comments",
            "note",
            "notes",
            "description",
            "message",
            "text",
            "bio",
            "memo",
        ])
    {
        (Rule::Drop, "free text, which can hold any personal data")
    } else {
        (
            Rule::Drop,
            "not classified (nothing in its name says what it holds): dropped until a person decides",
        )
    };
    // A rule must fit the column's type; drop fits every type.
    if rule.fits(&column.glue_type) {
        (rule, why)
    } else {
        (Rule::Drop, why)
    }
}

/// A policy that names every table and every column, each marked for review.
pub fn initial_policy(tables: &[(String, Vec<Column>)]) -> MaskingPolicy {
    let mut policy = MaskingPolicy::default();
    for (source, columns) in tables {
        let mut table = TablePolicy::default();
        for column in columns {
            let (rule, why) = suggest(column);
            table.columns.insert(column.name.clone(), rule);
            table.review.insert(
                column.name.clone(),
                format!(
                    "{why}: suggested {}; confirm or change the rule, then remove this note",
                    rule.name()
                ),
            );
        }
        policy.tables.insert(source.clone(), table);
    }
    policy
}

/// The suggestions still marked for review, per table.
pub fn open_reviews(policy: &MaskingPolicy) -> BTreeMap<String, Vec<String>> {
    policy
        .tables
        .iter()
        .filter(|(_, t)| !t.review.is_empty())
        .map(|(s, t)| (s.clone(), t.review.keys().cloned().collect()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::schema::columns;

    #[test]
    fn personal_looking_columns_get_protective_rules_for_review() {
        let cols = columns(&[
            ("id", "bigint"),
            ("email", "string"),
            ("contact_e_mail", "varchar(255)"),
            ("phone", "string"),
            ("full_name", "string"),
            ("street_address", "string"),
            ("birth_date", "date"),
            ("last_login_ip", "string"),
            ("ssn", "string"),
            ("body", "string"),
            ("status", "string"),
            ("total", "decimal(10,2)"),
            ("email_raw", "binary"),
        ]);
        let got: Vec<(&str, Rule, bool)> = cols
            .iter()
            .map(|c| {
                let (r, why) = suggest(c);
                (c.name.as_str(), r, why.starts_with("not classified"))
            })
            .collect();
        assert_eq!(
            got,
            [
                // What snaplake cannot classify is never `keep`.
                ("id", Rule::Drop, true),
                ("email", Rule::HashSalted, false),
                ("contact_e_mail", Rule::HashSalted, false),
                ("phone", Rule::Redact, false),
                ("full_name", Rule::Drop, false),
                ("street_address", Rule::Drop, false),
                ("birth_date", Rule::Redact, false),
                ("last_login_ip", Rule::HashSalted, false),
                ("ssn", Rule::Drop, false),
                ("body", Rule::Drop, false),
                ("status", Rule::Drop, true),
                ("total", Rule::Drop, true),
                // hash_salted does not fit binary: drop does.
                ("email_raw", Rule::Drop, false),
            ]
        );
    }

    #[test]
    fn the_initial_policy_is_complete_and_valid() {
        let tables = vec![
            (
                "shop.customers".to_string(),
                columns(&[("id", "bigint"), ("email", "string"), ("created_at", "timestamp")]),
            ),
            (
                "shop.orders".to_string(),
                columns(&[("id", "bigint"), ("total", "decimal(10,2)")]),
            ),
        ];
        let p = initial_policy(&tables);
        assert!(p.tables.values().all(|t| t.columns.values().all(|r| *r != Rule::Keep)));
        assert_eq!(open_reviews(&p)["shop.customers"], ["created_at", "email", "id"]);
        assert_eq!(open_reviews(&p)["shop.orders"], ["id", "total"]);
        // Refused while a review is open, by the same check the pipeline runs.
        let err = p.validate(&tables, true).unwrap_err().to_string();
        assert!(
            err.contains("tables.shop.customers.review: created_at, email, id"),
            "{err}"
        );
        let text = serde_json::to_string(&p).unwrap();
        let back: MaskingPolicy = serde_json::from_str(&text).unwrap();
        assert_eq!(back, p, "what init writes is what the pipeline reads");

        // Reviewed: every note removed, the rules decided.
        let mut reviewed = p;
        for table in reviewed.tables.values_mut() {
            table.review.clear();
            table.columns.insert("id".into(), Rule::Keep);
        }
        let found = reviewed.validate(&tables, true).unwrap();
        assert_eq!(found.published, ["shop.customers", "shop.orders"]);
        assert!(found.unclassified.is_empty());
    }
}
