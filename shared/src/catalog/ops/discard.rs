//! Discard: a version that failed its audit (or could not be audited) is
//! deleted, with its candidate table. It was never tagged readable, so no
//! analyst read it; deleting it keeps it from retention's "newest folders"
//! and from any later rollback. The live location is never deleted.

use tracing::{info, warn};

use super::check_table_name;
use super::judge::check_under_base;
use crate::aws::{glue, s3};
use crate::catalog::audit;
use crate::catalog::location::S3Prefix;
use crate::contract::catalog_swap::{DiscardItem, Discarded};
use crate::env::Env;
use crate::error::Error;

pub async fn discard(env: &Env, item: &DiscardItem) -> Result<Discarded, Error> {
    check_table_name(&item.table)?;
    let location = S3Prefix::parse("location", &item.location)?;
    check_under_base(env, &item.table, &location)?;
    let live = glue::get_table(&env.clients.glue, &env.config.curated_database, &item.table)
        .await?
        .and_then(|t| t.location)
        .map(|l| S3Prefix::parse("location", &l))
        .transpose()?;
    if let Some(live) = live.filter(|l| l.overlaps(&location)) {
        return Err(Error::invalid_input(
            "location",
            format!(
                "{location} holds {}.{}'s live version {live}; snaplake never deletes what analysts read",
                env.config.curated_database, item.table
            ),
        ));
    }
    // The candidate first: once it is gone, nothing points at the files.
    let candidate = audit::candidate_table(&item.table);
    let raw = &env.config.raw_database;
    if let Some(t) = glue::get_table(&env.clients.glue, raw, &candidate).await?
        && t.location.as_deref().and_then(|l| S3Prefix::parse("location", l).ok()) == Some(location.clone())
    {
        glue::delete_table(&env.clients.glue, raw, &candidate).await?;
    }
    let deleted_objects = s3::delete_prefix(&env.clients.s3, &location.bucket, &location.key).await?;
    if deleted_objects == 0 {
        warn!(table = %item.table, %location, "nothing to delete: the transform wrote nothing there");
    } else {
        info!(table = %item.table, %location, deleted_objects, "discarded the version that failed its audit");
    }
    Ok(Discarded {
        table: item.table.clone(),
        location: location.to_string(),
        deleted_objects,
    })
}
