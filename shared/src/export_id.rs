//! The RDS export task identifier, derived from the run so that a retried or
//! repeated run finds the export it already started instead of starting another.
//!
//! RDS accepts 1–60 characters: ASCII letters, digits and hyphens, a letter
//! first, no `--` and no trailing `-`. Hand-written exporters break exactly
//! here, so every id snaplake derives is checked against [`validate`].

use jiff::civil::Date;
use sha2::{Digest, Sha256};

use crate::error::Error;

/// The longest identifier RDS accepts.
pub const MAX_LEN: usize = 60;
/// The longest configurable prefix: leaves room for a readable source name.
pub const MAX_PREFIX_LEN: usize = 20;
/// The shortest configurable prefix (the module's `name`).
pub const MIN_PREFIX_LEN: usize = 3;
const HASH_LEN: usize = 8;

/// The export id for one source on one logical day, e.g.
/// `snaplake-shop-prod-20261120`.
///
/// The source name is kept readable when it can be. When it has characters
/// RDS does not accept, or is too long to fit, it is shortened and a hash of
/// the original name is appended, so two different sources never share an id.
pub fn export_id(prefix: &str, source: &str, day: Date) -> Result<String, Error> {
    validate_prefix(prefix)?;
    let prefix = prefix.to_ascii_lowercase();
    let day = day.strftime("%Y%m%d").to_string();
    let clean = sanitize(source);

    let plain = format!("{prefix}-{clean}-{day}");
    if clean == source && !clean.is_empty() && plain.len() <= MAX_LEN {
        return Ok(plain);
    }

    // prefix + "-" + name + "-" + hash + "-" + day
    let room = MAX_LEN - prefix.len() - day.len() - HASH_LEN - 3;
    let short = clean[..clean.len().min(room)].trim_end_matches('-');
    let hash = short_hash(source);
    let id = if short.is_empty() {
        format!("{prefix}-{hash}-{day}")
    } else {
        format!("{prefix}-{short}-{hash}-{day}")
    };
    debug_assert!(validate(&id).is_ok(), "derived an invalid export id {id}");
    Ok(id)
}

/// The export id of a day's `attempt`: the day's id for the first, then
/// `<day id>-2`, `<day id>-3`, … RDS cannot delete an export task and an id
/// that FAILED stays taken, so a retry of the day exports under the next
/// attempt's id. When `<day id>-<n>` would pass 60 characters, what comes
/// before the day is shortened and a hash of the day's id keeps it unique.
/// An attempt id never equals a day's id: those end in the 8-digit day.
pub fn attempt_id(day_id: &str, attempt: u32) -> String {
    if attempt <= 1 {
        return day_id.to_string();
    }
    let suffix = format!("-{attempt}");
    if day_id.len() + suffix.len() <= MAX_LEN {
        return format!("{day_id}{suffix}");
    }
    let (head, day) = day_id.rsplit_once('-').unwrap_or((day_id, ""));
    // head + "-" + hash + "-" + day + suffix
    let room = MAX_LEN.saturating_sub(suffix.len() + day.len() + HASH_LEN + 2);
    let head = head[..head.len().min(room)].trim_end_matches('-');
    let id = format!("{head}-{}-{day}{suffix}", short_hash(day_id));
    debug_assert!(validate(&id).is_ok(), "derived an invalid attempt id {id}");
    id
}

/// Checks an identifier against the RDS rules, naming the rule it breaks.
pub fn validate(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_LEN {
        return Err(format!("must be 1 to {MAX_LEN} characters, has {}", id.len()));
    }
    if !id.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err("must start with a letter".into());
    }
    if let Some(c) = id.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
        return Err(format!("may hold only letters, digits and hyphens, found {c:?}"));
    }
    if id.contains("--") {
        return Err("may not contain two consecutive hyphens".into());
    }
    if id.ends_with('-') {
        return Err("may not end with a hyphen".into());
    }
    Ok(())
}

/// Checks a configured export id prefix: the module's `name`, by the same
/// rule its validation applies (3 to 20 lowercase letters, digits and single
/// hyphens, a letter first, no hyphen last). The module's test runs
/// `name_*` are the examples both sides are tested with.
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    if !(MIN_PREFIX_LEN..=MAX_PREFIX_LEN).contains(&prefix.len()) {
        return Err(format!(
            "is {} characters; {MIN_PREFIX_LEN} to {MAX_PREFIX_LEN} are allowed",
            prefix.len()
        ));
    }
    if prefix.chars().any(|c| c.is_ascii_uppercase()) {
        return Err("may hold only lowercase letters, digits and hyphens".into());
    }
    validate(prefix)
}

fn validate_prefix(prefix: &str) -> Result<(), Error> {
    check_prefix(prefix).map_err(|reason| {
        Error::invalid_input(
            "export_id_prefix",
            format!("{prefix:?} {reason}; use a short name such as \"snaplake\""),
        )
    })
}

/// Lowercase, every run of characters RDS rejects (and of hyphens) becomes
/// one hyphen, and no hyphen at either end.
fn sanitize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

fn short_hash(name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    digest.iter().take(HASH_LEN / 2).map(|b| format!("{b:02x}")).collect()
}

/// The run id of a day's `run`th run: its Step Functions execution name,
/// `run-<export id>` for the first, `run-<export id>-<n>` after (query-runner
/// receives it as `run_id` and keys its query tokens on it). At most 80
/// letters, digits, `-` and `_`: the export id is at most 60.
pub fn run_id(export_id: &str, run: u32) -> String {
    match run {
        1 => format!("run-{export_id}"),
        n => format!("run-{export_id}-{n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    const DAY: Date = date(2026, 11, 20);

    #[test]
    fn readable_when_the_name_already_fits() {
        assert_eq!(
            export_id("snaplake", "shop-prod", DAY).unwrap(),
            "snaplake-shop-prod-20261120"
        );
    }

    #[test]
    fn name_that_would_leave_a_trailing_hyphen() {
        let id = export_id("snaplake", "shop-", DAY).unwrap();
        assert_eq!(validate(&id), Ok(()));
        assert!(id.starts_with("snaplake-shop-"), "{id}");
        assert_ne!(id, "snaplake-shop-20261120", "a changed name must carry its hash");
    }

    #[test]
    fn name_with_double_hyphens_and_odd_characters() {
        let id = export_id("snaplake", "Shop--Prod_EU.1", DAY).unwrap();
        assert_eq!(validate(&id), Ok(()));
        assert!(id.starts_with("snaplake-shop-prod-eu-1-"), "{id}");
    }

    #[test]
    fn name_too_long_is_shortened_with_a_stable_hash() {
        let long = "analytics-".repeat(10) + "primary";
        let a = export_id("snaplake", &long, DAY).unwrap();
        assert_eq!(a.len(), MAX_LEN);
        assert_eq!(validate(&a), Ok(()));
        assert_eq!(a, export_id("snaplake", &long, DAY).unwrap());
        let other = "analytics-".repeat(10) + "replica";
        assert_ne!(a, export_id("snaplake", &other, DAY).unwrap());
    }

    #[test]
    fn name_starting_with_a_digit_is_fine_behind_the_prefix() {
        let id = export_id("snaplake", "1st-cluster", DAY).unwrap();
        assert_eq!(id, "snaplake-1st-cluster-20261120");
    }

    #[test]
    fn name_with_nothing_usable_still_gets_an_id() {
        let id = export_id("snaplake", "___", DAY).unwrap();
        assert_eq!(validate(&id), Ok(()));
    }

    #[test]
    fn bad_prefixes_are_refused_with_the_field_name() {
        for bad in [
            "",
            "ab",
            "Snaplake",
            "1abc",
            "a--b",
            "abc-",
            "has space",
            "a-very-long-prefix-over-20",
        ] {
            let err = export_id(bad, "shop", DAY).unwrap_err().to_string();
            assert!(err.contains("export_id_prefix"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn validate_names_each_public_rule() {
        assert!(validate("9abc").unwrap_err().contains("letter"));
        assert!(validate("a--b").unwrap_err().contains("consecutive"));
        assert!(validate("ab-").unwrap_err().contains("end"));
        assert!(validate(&"a".repeat(61)).unwrap_err().contains("60"));
        assert!(validate("a_b").unwrap_err().contains("'_'"));
    }

    #[test]
    fn different_days_give_different_ids() {
        let a = export_id("snaplake", "shop", date(2026, 11, 20)).unwrap();
        let b = export_id("snaplake", "shop", date(2026, 11, 21)).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn attempts_after_the_first_are_numbered() {
        let day = export_id("snaplake", "shop-prod", DAY).unwrap();
        assert_eq!(attempt_id(&day, 1), day);
        assert_eq!(attempt_id(&day, 2), "snaplake-shop-prod-20261120-2");
        assert_eq!(attempt_id(&day, 12), "snaplake-shop-prod-20261120-12");
    }

    #[test]
    fn attempts_of_a_day_id_of_60_characters_stay_within_60() {
        let day = export_id("snaplake", &("analytics-".repeat(10) + "primary"), DAY).unwrap();
        assert_eq!(day.len(), MAX_LEN);
        let second = attempt_id(&day, 2);
        assert_eq!(validate(&second), Ok(()));
        assert!(
            second.starts_with("snaplake-analytics-") && second.ends_with("-20261120-2"),
            "{second}"
        );
        assert_ne!(second, attempt_id(&day, 3));
    }

    proptest! {
        #[test]
        fn every_attempt_id_is_valid_stable_and_belongs_to_its_day(
            source in "\\PC{0,120}",
            prefix in "[a-z][a-z0-9]{2,19}",
            days in 0i32..20000,
            attempt in 2u32..10000,
        ) {
            let day = date(2000, 1, 1).checked_add(jiff::Span::new().days(days)).unwrap();
            let day_id = export_id(&prefix, &source, day).unwrap();
            let id = attempt_id(&day_id, attempt);
            prop_assert_eq!(validate(&id), Ok(()));
            prop_assert_eq!(&id, &attempt_id(&day_id, attempt));
            let tail = format!("-{}-{attempt}", day.strftime("%Y%m%d"));
            prop_assert!(id.ends_with(&tail), "{} does not end with {}", id, tail);
            prop_assert_ne!(&id, &day_id);
            prop_assert_ne!(&id, &attempt_id(&day_id, attempt + 1));
        }

        #[test]
        fn attempts_of_different_sources_never_share_an_id(
            a in "[a-zA-Z0-9_.-]{1,80}",
            b in "[a-zA-Z0-9_.-]{1,80}",
            attempt in 2u32..100,
        ) {
            prop_assume!(a != b);
            let id = |s: &str| attempt_id(&export_id("snaplake", s, DAY).unwrap(), attempt);
            prop_assert_ne!(id(&a), id(&b));
        }

        #[test]
        fn every_derived_id_is_valid_and_stable(
            source in "\\PC{0,120}",
            prefix in "[a-z][a-z0-9]{2,19}",
            days in 0i32..20000,
        ) {
            let day = date(2000, 1, 1).checked_add(jiff::Span::new().days(days)).unwrap();
            let id = export_id(&prefix, &source, day).unwrap();
            prop_assert_eq!(validate(&id), Ok(()));
            prop_assert_eq!(&id, &export_id(&prefix, &source, day).unwrap());
            let day_text = day.strftime("%Y%m%d").to_string();
            prop_assert!(id.ends_with(&day_text));
        }

        #[test]
        fn different_sources_never_share_an_id(a in "[a-zA-Z0-9_.-]{1,80}", b in "[a-zA-Z0-9_.-]{1,80}") {
            prop_assume!(a != b);
            prop_assert_ne!(export_id("snaplake", &a, DAY).unwrap(), export_id("snaplake", &b, DAY).unwrap());
        }
    }
}
