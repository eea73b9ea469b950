//! The quality gate before a swap: a table whose new version has far fewer
//! rows than the live one (a truncated source, a bad row filter) is held:
//! the live version stays, and the run reports the numbers and the reason.
//! The next run tries again; `--force-table` (or a per-table bound in the
//! masking policy) accepts a legitimate drop knowingly.
//!
//! Pure: the numbers come from queries that already run (the live count is
//! kept on the curated table by the previous swap, the new one is the
//! verification's count of the filtered raw rows).

use serde::Serialize;

/// Whether the pinned policy changed since the live version was made: then
/// its columns and rows differ because the policy says so (a column now
/// dropped, a tighter row filter), and neither the gate nor the schema
/// check may keep the old version, with what the policy now removes, live.
/// A live version that records no digest is not known to differ.
pub fn policy_changed(live_digest: Option<&str>, pinned: Option<&str>) -> bool {
    matches!((live_digest, pinned), (Some(live), Some(pin)) if live != pin)
}

/// The drop accepted when neither the policy nor the run says otherwise.
pub const DEFAULT_MAX_DROP_PERCENT: u32 = 50;

/// How far a table's row count may fall from one version to the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// 0 to 100: the largest drop accepted, in percent of the live rows
    /// (100 accepts anything, 0 no drop at all).
    pub max_drop_percent: u32,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            max_drop_percent: DEFAULT_MAX_DROP_PERCENT,
        }
    }
}

impl Bounds {
    /// The table's own bound (masking policy, `max_row_drop_percent`) wins
    /// over the run's (`publish.max_row_drop_percent`), then the default.
    pub fn resolve(table: Option<u32>, run: Option<u32>) -> Bounds {
        Bounds {
            max_drop_percent: table.or(run).unwrap_or(DEFAULT_MAX_DROP_PERCENT).min(100),
        }
    }
}

/// The gate's answer for one table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "gate", rename_all = "snake_case")]
pub enum Decision {
    Pass,
    /// The live version stays; the report shows these numbers.
    Held {
        live_rows: u64,
        new_rows: u64,
        /// How far the count fell, in whole percent (rounded down).
        drop_percent: u32,
        max_drop_percent: u32,
        reason: String,
    },
}

/// Decides whether `table`'s new version may replace the live one.
/// `live_rows` is `None` when there is no live version or its count is not
/// known (a version published before the gate): nothing to compare, so it
/// passes. `force` (the run's `--force-table`) passes whatever the numbers.
pub fn decide(table: &str, live_rows: Option<u64>, new_rows: u64, bounds: Bounds, force: bool) -> Decision {
    let Some(live) = live_rows else {
        return Decision::Pass;
    };
    if force || new_rows >= live {
        return Decision::Pass;
    }
    let dropped = u128::from(live - new_rows);
    // Exact: dropped / live > max / 100, in integers.
    if dropped * 100 <= u128::from(live) * u128::from(bounds.max_drop_percent) {
        return Decision::Pass;
    }
    let drop_percent = (dropped * 100 / u128::from(live)) as u32;
    Decision::Held {
        live_rows: live,
        new_rows,
        drop_percent,
        max_drop_percent: bounds.max_drop_percent,
        reason: format!(
            "{table}: rows fell from {live} to {new_rows} (-{drop_percent}%), more than the {}% allowed, so the \
             live version stays; if the drop is expected, publish it with `snaplake run --date <day> --retry \
             --force-table {table}` (or set max_row_drop_percent for it in the masking policy)",
            bounds.max_drop_percent
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_ninety_percent_drop_is_held_with_its_numbers_and_the_fix() {
        let d = decide("shop_orders", Some(1000), 100, Bounds::default(), false);
        let Decision::Held {
            live_rows,
            new_rows,
            drop_percent,
            max_drop_percent,
            reason,
        } = d
        else {
            panic!("held: {d:?}");
        };
        assert_eq!(
            (live_rows, new_rows, drop_percent, max_drop_percent),
            (1000, 100, 90, 50)
        );
        assert!(
            reason.starts_with("shop_orders: rows fell from 1000 to 100 (-90%)"),
            "{reason}"
        );
        assert!(reason.contains("--force-table shop_orders"), "{reason}");
    }

    #[test]
    fn the_bound_is_inclusive_and_a_first_version_passes() {
        assert_eq!(decide("t", Some(1000), 500, Bounds::default(), false), Decision::Pass);
        assert!(matches!(
            decide("t", Some(1000), 499, Bounds::default(), false),
            Decision::Held { .. }
        ));
        assert_eq!(decide("t", None, 0, Bounds::default(), false), Decision::Pass);
        assert_eq!(decide("t", Some(0), 0, Bounds::default(), false), Decision::Pass);
        assert_eq!(decide("t", Some(1000), 0, Bounds::default(), true), Decision::Pass);
    }

    #[test]
    fn the_tables_bound_wins_over_the_runs_then_the_default() {
        assert_eq!(Bounds::resolve(Some(95), Some(10)).max_drop_percent, 95);
        assert_eq!(Bounds::resolve(None, Some(10)).max_drop_percent, 10);
        assert_eq!(Bounds::resolve(None, None).max_drop_percent, 50);
        assert_eq!(Bounds::resolve(Some(250), None).max_drop_percent, 100);
    }

    proptest! {
        #[test]
        fn held_exactly_when_the_drop_exceeds_the_bound(
            live in 0u64..=u64::MAX, new in 0u64..=u64::MAX, max in 0u32..=100, force: bool,
        ) {
            let d = decide("t", Some(live), new, Bounds { max_drop_percent: max }, force);
            // In rationals: (live - new) / live > max / 100.
            let over = new < live && (live - new) as f64 / live as f64 > f64::from(max) / 100.0 + 1e-9;
            let under = new >= live || ((live - new) as f64 / live as f64) < f64::from(max) / 100.0 - 1e-9;
            if force || under {
                prop_assert_eq!(d, Decision::Pass);
            } else if over {
                let held = matches!(d, Decision::Held { live_rows, new_rows, .. } if live_rows == live && new_rows == new);
                prop_assert!(held);
            }
        }

        #[test]
        fn fewer_rows_are_never_better(live in 1u64..1_000_000, a in 0u64..1_000_000, b in 0u64..1_000_000, max in 0u32..=100) {
            let (low, high) = (a.min(b), a.max(b));
            let bounds = Bounds { max_drop_percent: max };
            if decide("t", Some(live), low, bounds, false) == Decision::Pass {
                prop_assert_eq!(decide("t", Some(live), high, bounds, false), Decision::Pass);
            }
        }

        #[test]
        fn the_reported_drop_is_within_the_numbers(live in 1u64..=u64::MAX, new in 0u64..=u64::MAX) {
            if let Decision::Held { drop_percent, max_drop_percent, .. } = decide("t", Some(live), new, Bounds { max_drop_percent: 0 }, false) {
                prop_assert!(drop_percent <= 100 && max_drop_percent == 0);
                prop_assert!(new < live);
            }
        }
    }

    #[test]
    fn the_policy_changed_only_when_both_digests_are_known_and_differ() {
        assert!(policy_changed(Some("a"), Some("b")));
        assert!(!policy_changed(Some("a"), Some("a")));
        assert!(!policy_changed(None, Some("b")));
        assert!(!policy_changed(Some("a"), None));
    }
}
