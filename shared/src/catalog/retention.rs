//! Retention: which versions of a table Gc (`catalog::ops::gc`) keeps and
//! which it may delete. A pure decision, property-tested: it never selects
//! the live location, a kept one, anything a kept location lies in or
//! holds, or anything outside the prefix snaplake manages.

use super::location::S3Prefix;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Version folders kept: the newest `keep`, plus the live one.
    pub keep: Vec<S3Prefix>,
    pub delete: Vec<S3Prefix>,
}

/// `versions` are the version folders found under `managed` (their names
/// sort by time, as `v=<logical time>` does); `protected` are locations that
/// must survive whatever their age (e.g. what the raw table points at).
pub fn select(
    managed: &S3Prefix,
    versions: &[S3Prefix],
    live: &S3Prefix,
    protected: &[S3Prefix],
    keep: usize,
) -> Selection {
    let mut candidates: Vec<&S3Prefix> = versions
        .iter()
        .filter(|v| managed.contains(v) && *v != managed)
        .collect();
    candidates.sort();
    candidates.dedup();
    let mut kept: Vec<S3Prefix> = candidates.iter().rev().take(keep).map(|v| (*v).clone()).collect();
    if !kept.contains(live) && managed.contains(live) {
        kept.push(live.clone());
    }
    kept.sort();
    let guarded = |v: &S3Prefix| {
        v.overlaps(live) || kept.iter().any(|k| v.overlaps(k)) || protected.iter().any(|p| v.overlaps(p))
    };
    let delete = candidates.into_iter().filter(|v| !guarded(v)).cloned().collect();
    Selection { keep: kept, delete }
}

/// Glue table versions to delete so a table stays far below Glue's 100,000:
/// all but the newest `keep`, never the current one.
pub fn prune_table_versions(mut version_ids: Vec<i64>, current: i64, keep: usize) -> Vec<i64> {
    version_ids.sort_unstable_by(|a, b| b.cmp(a));
    version_ids.dedup();
    version_ids.into_iter().skip(keep).filter(|v| *v != current).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn managed() -> S3Prefix {
        S3Prefix::new("lake", "curated/t")
    }

    fn v(n: u32) -> S3Prefix {
        managed().child(&format!("v=2026{n:04}"))
    }

    #[test]
    fn keeps_the_newest_n_and_the_live_one() {
        let versions: Vec<S3Prefix> = (1..=8).map(v).collect();
        let gc = select(&managed(), &versions, &v(2), &[], 3);
        assert_eq!(gc.keep, [v(2), v(6), v(7), v(8)]);
        assert_eq!(gc.delete, [v(1), v(3), v(4), v(5)]);
    }

    #[test]
    fn nothing_outside_the_managed_prefix_nor_the_prefix_itself() {
        let outside = S3Prefix::new("lake", "curated/other/v=1");
        let gc = select(&managed(), &[outside, managed(), v(1), v(2)], &v(2), &[], 1);
        assert_eq!(gc.delete, [v(1)]);
    }

    #[test]
    fn protected_locations_and_their_parents_survive() {
        let inside_v1 = v(1).child("part=1");
        let gc = select(&managed(), &[v(1), v(2), v(3)], &v(3), &[inside_v1], 1);
        assert_eq!(gc.delete, [v(2)]);
    }

    #[test]
    fn glue_versions_keep_the_newest_and_the_current() {
        assert_eq!(prune_table_versions(vec![1, 2, 3, 4, 5, 6], 6, 3), [3, 2, 1]);
        assert_eq!(prune_table_versions(vec![1, 2, 3, 4, 5, 6], 2, 3), [3, 1]);
        assert!(prune_table_versions(vec![1, 2], 2, 5).is_empty());
    }

    fn prefix() -> impl Strategy<Value = S3Prefix> {
        // Random histories: versions, nested folders, neighbours and strangers.
        let segment = prop_oneof![
            (0u32..40).prop_map(|n| format!("curated/t/v=2026{n:04}")),
            (0u32..40, 0u32..3).prop_map(|(n, k)| format!("curated/t/v=2026{n:04}/part={k}")),
            Just("curated/t".to_string()),
            Just("curated".to_string()),
            (0u32..5).prop_map(|n| format!("curated/t{n}/v=1")),
            (0u32..5).prop_map(|n| format!("raw/t/{n}")),
        ];
        (prop_oneof![Just("lake"), Just("other")], segment).prop_map(|(b, k)| S3Prefix::new(b, &k))
    }

    proptest! {
        #[test]
        fn never_deletes_live_kept_protected_or_their_relatives(
            versions in proptest::collection::vec(prefix(), 0..30),
            live in prefix(),
            protected in proptest::collection::vec(prefix(), 0..3),
            keep in 0usize..6,
        ) {
            let gc = select(&managed(), &versions, &live, &protected, keep);
            for d in &gc.delete {
                prop_assert!(managed().contains(d) && *d != managed(), "{d} is outside the managed prefix");
                prop_assert!(!d.overlaps(&live), "{d} overlaps the live {live}");
                for k in &gc.keep {
                    prop_assert!(!d.overlaps(k), "{d} overlaps the kept {k}");
                }
                for p in &protected {
                    prop_assert!(!d.overlaps(p), "{d} overlaps the protected {p}");
                }
                prop_assert!(versions.contains(d), "{d} was not a version found");
            }
            let mut candidates: Vec<&S3Prefix> = versions.iter().filter(|v| managed().contains(v) && **v != managed()).collect();
            candidates.sort();
            candidates.dedup();
            for newest in candidates.iter().rev().take(keep) {
                prop_assert!(gc.keep.contains(newest), "newest {newest} not kept");
            }
        }
    }
}
