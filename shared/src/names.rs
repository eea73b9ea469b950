//! Checks for the names of AWS resources snaplake is configured with, so a
//! typo fails at start-up with the rule it breaks rather than deep in a call.

/// S3 bucket naming rules (general purpose buckets).
pub fn check_bucket(name: &str) -> Result<(), String> {
    if !(3..=63).contains(&name.len()) {
        return Err("a bucket name has 3 to 63 characters".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    {
        return Err("a bucket name has only lowercase letters, digits, '-' and '.'".into());
    }
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !name.starts_with(alnum) || !name.ends_with(alnum) {
        return Err("a bucket name starts and ends with a letter or digit".into());
    }
    if name.contains("..") {
        return Err("a bucket name has no two adjacent periods".into());
    }
    Ok(())
}

/// A key prefix snaplake writes under: plain path segments, no empty ones.
pub fn check_key_prefix(prefix: &str) -> Result<(), String> {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() {
        return Err("an empty prefix would mix snaplake's objects with the bucket's root".into());
    }
    for segment in trimmed.split('/') {
        if segment.is_empty() {
            return Err("a prefix has no empty segments ('//')".into());
        }
        if segment == "." || segment == ".." {
            return Err("a prefix has no '.' or '..' segments".into());
        }
        if !segment.chars().all(|c| c.is_ascii_alphanumeric() || "-_.=".contains(c)) {
            return Err(format!(
                "segment {segment:?} may hold only letters, digits, '-', '_', '.' and '='"
            ));
        }
    }
    Ok(())
}

/// Glue database and table names as Athena can query them without quoting
/// surprises: lowercase letters, digits and underscores, at most 255.
pub fn check_glue_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 255 {
        return Err("a Glue name has 1 to 255 characters".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err("a Glue name for Athena has only lowercase letters, digits and '_'".into());
    }
    Ok(())
}

/// Athena workgroup names: 1 to 128 of letters, digits, '.', '_' and '-'.
pub fn check_workgroup(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 128 {
        return Err("a workgroup name has 1 to 128 characters".into());
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        return Err("a workgroup name has only letters, digits, '.', '_' and '-'".into());
    }
    Ok(())
}

/// A KMS key's ARN, `arn:<partition>:kms:<region>:<account>:key/<key id>`:
/// the one form that names a key everywhere (an id or alias means the key of
/// whichever account and region reads it, and an alias can be moved).
pub fn check_kms_key_arn(arn: &str) -> Result<(), String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "kms"
        && !parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5]
            .strip_prefix("key/")
            .is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if ok {
        Ok(())
    } else {
        Err("a KMS key ARN is arn:aws:kms:<region>:<account>:key/<key id> (not a key id or an alias)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kms_key_arns() {
        let good = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";
        assert_eq!(check_kms_key_arn(good), Ok(()));
        assert_eq!(
            check_kms_key_arn("arn:aws-cn:kms:cn-north-1:123456789012:key/mrk-1"),
            Ok(())
        );
        for bad in [
            "11111111-2222-3333-4444-555555555555",
            "alias/snaplake",
            "arn:aws:kms:us-east-1:123456789012:alias/snaplake",
            "arn:aws:kms:us-east-1:1234:key/k",
            "arn:aws:s3:us-east-1:123456789012:key/k",
        ] {
            assert!(check_kms_key_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn buckets() {
        for good in ["abc", "my.lake-2026", "a".repeat(63).as_str()] {
            assert_eq!(check_bucket(good), Ok(()), "{good}");
        }
        for bad in ["ab", "Upper", "under_score", "-start", "end-", "a..b", &"a".repeat(64)] {
            assert!(check_bucket(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_prefixes() {
        for good in ["exports", "a/b/c", "/lake/raw/", "v=1"] {
            assert_eq!(check_key_prefix(good), Ok(()), "{good}");
        }
        for bad in ["", "/", "a//b", "a/../b", "sp ace", "a/b*"] {
            assert!(check_key_prefix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn glue_names_and_workgroups() {
        assert_eq!(check_glue_name("snaplake_raw"), Ok(()));
        for bad in ["", "Raw", "raw-db", "raw db", &"a".repeat(256)] {
            assert!(check_glue_name(bad).is_err(), "{bad}");
        }
        assert_eq!(check_workgroup("primary.v2_x-y"), Ok(()));
        for bad in ["", "a b", "a/b", &"a".repeat(129)] {
            assert!(check_workgroup(bad).is_err(), "{bad}");
        }
    }
}
