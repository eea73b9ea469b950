//! Gc (state Gc, action `gc`, `snaplake gc`): deletes a curated table's versions
//! beyond retention (the newest `keep`, never the live one, and of an
//! Iceberg table never one its kept snapshots read; the choice is
//! `catalog::retention`) and its Glue table versions beyond
//! [`GLUE_VERSIONS_KEPT`], the raw table's too. It deletes at most
//! [`OBJECTS_PER_GC`] objects a call, oldest version first, and names the
//! versions it left for the next call.

use tracing::{info, warn};

use super::{check_table_name, curated_base};
use crate::aws::glue::{self, TableState};
use crate::aws::s3;
use crate::catalog::iceberg;
use crate::catalog::location::S3Prefix;
use crate::catalog::parameters;
use crate::catalog::retention;
use crate::contract::catalog_swap::{Collected, GcShared, Retention, SwapOutcome, Swapped};
use crate::env::Env;
use crate::error::Error;

/// Glue table versions kept per table; far below Glue's 100,000.
pub const GLUE_VERSIONS_KEPT: usize = 100;

/// Objects one gc deletes at most (10 listings and 10 DeleteObjects): a
/// table's versions beyond retention may hold millions (`keep` lowered from
/// 1,000 to 4, thousands of files a version), and gc runs inside Swap's
/// invocation, whose timeout is 60 s. The rest waits for the next gc.
pub const OBJECTS_PER_GC: usize = 10_000;

pub async fn gc(env: &Env, table: &str, shared: &GcShared) -> Result<Collected, Error> {
    gc_within(env, table, shared, OBJECTS_PER_GC).await
}

/// [`gc`], deleting at most `objects_budget` objects.
pub async fn gc_within(env: &Env, table: &str, shared: &GcShared, objects_budget: usize) -> Result<Collected, Error> {
    check_table_name(table)?;
    let keep = check_keep(shared.keep.unwrap_or(env.config.keep_versions))?;
    let database = &env.config.curated_database;
    let current = glue::get_table(&env.clients.glue, database, table)
        .await?
        .ok_or_else(|| Error::invalid_input("table", format!("{database}.{table} does not exist")))?;
    let live = S3Prefix::parse("location", current.location.as_deref().unwrap_or_default())?;
    let iceberg = parameters::is_iceberg(&current.parameters);
    let keep = versions_kept(keep, iceberg, env.config.keep_versions);
    let base = curated_base(env, table);
    // The version folders, not their files: a table of `keep` versions of
    // thousands of files each is listed in one request.
    let folders = s3::list_folders(&env.clients.s3, &base.bucket, &base.key).await?;
    let versions: Vec<S3Prefix> = folders
        .iter()
        .filter_map(|f| Some(base.child(f.strip_prefix(&base.key)?.trim_end_matches('/'))))
        .collect();
    // An Iceberg table's metadata folder is not a version: never deleted.
    let metadata = base.child(iceberg::METADATA_FOLDER);
    let kept = retention::select(&base, &versions, &live, &[metadata], keep);
    let prune = glue_versions_to_prune(env, database, table, &current).await?;
    let raw_prune = match glue::get_table(&env.clients.glue, &env.config.raw_database, table).await? {
        Some(raw) => glue_versions_to_prune(env, &env.config.raw_database, table, &raw).await?,
        None => Vec::new(),
    };
    let mut objects_deleted = 0;
    let (mut deleted, mut left) = (Vec::new(), Vec::new());
    if shared.dry_run {
        deleted = kept.delete.clone();
    } else {
        // Oldest first, within the budget; what is left, the next gc deletes.
        for prefix in &kept.delete {
            let budget = objects_budget.saturating_sub(objects_deleted);
            let (count, emptied) = match budget {
                0 => (0, false),
                _ => s3::delete_prefix_within(&env.clients.s3, &prefix.bucket, &prefix.key, budget).await?,
            };
            objects_deleted += count;
            if emptied { &mut deleted } else { &mut left }.push(prefix.clone());
        }
        glue::delete_table_versions(&env.clients.glue, database, table, &prune).await?;
        glue::delete_table_versions(&env.clients.glue, &env.config.raw_database, table, &raw_prune).await?;
    }
    info!(
        table,
        dry_run = shared.dry_run,
        deleted = deleted.len(),
        left = left.len(),
        objects_deleted,
        "retention"
    );
    Ok(Collected {
        table: table.to_string(),
        dry_run: shared.dry_run,
        kept: kept.keep.iter().map(ToString::to_string).collect(),
        deleted: deleted.iter().map(ToString::to_string).collect(),
        left: left.iter().map(ToString::to_string).collect(),
        objects_deleted,
        glue_versions_deleted: if shared.dry_run { 0 } else { prune.len() },
        raw_glue_versions_deleted: if shared.dry_run { 0 } else { raw_prune.len() },
    })
}

/// Retention after a swap (`SwapShared::retention`): only when this run's
/// version is live (created, swapped, or already there). A failure is
/// logged and answered, not raised: the table is published, and failing
/// the swap would fail a table that is live.
pub async fn after_swap(env: &Env, swapped: &Swapped, retention: &GcShared) -> Option<Retention> {
    if !matches!(
        swapped.outcome,
        SwapOutcome::Created | SwapOutcome::Swapped | SwapOutcome::Unchanged
    ) {
        return None;
    }
    Some(match gc(env, &swapped.table, retention).await {
        Ok(collected) => Retention {
            deleted: collected.deleted.len(),
            error: None,
        },
        Err(err) => {
            warn!(table = %swapped.table, error = %err, "retention after the swap failed; the next run collects");
            Retention {
                deleted: 0,
                error: Some(format!("{}: {err}", err.name())),
            }
        }
    })
}

/// The previous version is what readers that resolved the table just before
/// the last swap are still reading, and what rollback returns to: at least 2.
/// The versions gc keeps of a table: `keep`, and of an Iceberg table at
/// least as many as the snapshots its commits keep (`keep_versions`): time
/// travel reads a kept snapshot's files from its day's folder, so a lower
/// `keep` (`snaplake gc --keep 2`) must not delete them.
pub fn versions_kept(keep: usize, iceberg: bool, snapshots_kept: u32) -> usize {
    if iceberg {
        keep.max(snapshots_kept as usize)
    } else {
        keep
    }
}

pub fn check_keep(keep: u32) -> Result<usize, Error> {
    if keep < 2 {
        return Err(Error::invalid_input(
            "keep",
            format!("is {keep}; keep at least 2 (the live and the previous version)"),
        ));
    }
    Ok(keep as usize)
}

/// A table's Glue versions beyond the newest [`GLUE_VERSIONS_KEPT`], never
/// its current one (of a raw table only its versions: its data, the
/// exports, is not snaplake's to delete).
async fn glue_versions_to_prune(
    env: &Env,
    database: &str,
    table: &str,
    current: &TableState,
) -> Result<Vec<i64>, Error> {
    let ids = glue::table_versions(&env.clients.glue, database, table)
        .await?
        .iter()
        .filter_map(|v| v.version_id.as_deref()?.parse().ok())
        .collect();
    let current = current
        .version_id
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or(i64::MAX);
    Ok(retention::prune_table_versions(ids, current, GLUE_VERSIONS_KEPT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_iceberg_table_keeps_the_folders_of_its_kept_snapshots() {
        assert_eq!(versions_kept(2, false, 4), 2);
        assert_eq!(versions_kept(2, true, 4), 4);
        assert_eq!(versions_kept(6, true, 4), 6);
    }

    #[test]
    fn keep_holds_the_live_and_the_previous_version() {
        assert_eq!(check_keep(2).unwrap(), 2);
        let err = check_keep(1).unwrap_err().to_string();
        assert!(err.contains("`keep` is 1; keep at least 2"), "{err}");
    }
}
