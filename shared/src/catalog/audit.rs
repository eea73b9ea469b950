//! Write, audit, publish: a table's new version is written to a location no
//! analyst can read, audited there (the policy's assertions, the row count),
//! and only then published. This module holds the names and the rules; the
//! steps are `ops::stage`, `ops::swap` and `ops::discard`.
//!
//! - **Unreadable until audited.** Analysts read a curated object only if it
//!   carries the tag [`TAG`] = [`PASSED`] (the module's analyst policy
//!   requires `s3:ExistingObjectTag/snaplake-audit`). Athena writes UNLOAD's
//!   files untagged, and the swap tags them just before the catalog points
//!   at them, so a version that failed its audit is never readable, not even
//!   for the moment before it is deleted. A tag, not a separate prefix: the
//!   files stay where the table will point, nothing is copied.
//! - **Audited where it lies.** The audit queries a candidate table in the
//!   raw database ([`candidate_table`]), which analysts cannot see, pointing
//!   at the new location: no curated table exists, or moves, before its
//!   version passed.
//! - **Recorded.** The curated table carries [`parameters::AUDIT`] = [`PASSED`]; a
//!   retry never takes a table without it as done, and a rollback never
//!   returns to a version without it.

use crate::catalog::parameters;
use std::collections::HashMap;

/// The S3 object tag that makes a curated file readable to analysts.
pub const TAG: &str = "snaplake-audit";
/// The value of both once the audit passed.
pub const PASSED: &str = "passed";
/// What a candidate table's name adds to its curated table's.
pub const CANDIDATE_SUFFIX: &str = "__candidate";

/// The table in the raw database through which a new version is audited.
pub fn candidate_table(table: &str) -> String {
    format!("{table}{CANDIDATE_SUFFIX}")
}

/// Whether a table's parameters say its version passed its audit.
pub fn passed(table_parameters: &HashMap<String, String>) -> bool {
    table_parameters.get(parameters::AUDIT).map(String::as_str) == Some(PASSED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_recorded_pass_counts() {
        let with = |v: &str| HashMap::from([(parameters::AUDIT.to_string(), v.to_string())]);
        assert!(passed(&with("passed")));
        assert!(!passed(&with("failed")));
        assert!(!passed(&with("PASSED")));
        assert!(!passed(&HashMap::new()), "a version made before audits is not audited");
        assert_eq!(candidate_table("shop_orders"), "shop_orders__candidate");
    }
}
