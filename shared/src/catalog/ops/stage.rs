//! Stage, the middle of write, audit, publish (`catalog::audit`): the new
//! version, judged as the swap will judge it, is made queryable for its
//! audit through a candidate table in the raw database, which analysts
//! cannot see; the curated table is not touched and the files stay untagged.

use tracing::info;

use super::conflict;
use super::judge::{Verdict, judge, read_version};
use super::read_ahead::ReadAhead;
use super::swap::swapped;
use crate::aws::glue::{self, TableDef, Update};
use crate::catalog::audit;
use crate::catalog::compat::SchemaDiff;
use crate::contract::catalog_swap::{SwapItem, SwapOutcome, SwapShared, Swapped};
use crate::env::Env;
use crate::error::Error;

/// Stage: the new version, judged as the swap will judge it, made queryable
/// for its audit through the candidate table in the raw database
/// ([`audit::candidate_table`]); the curated table is not touched. A table
/// the swap would not move (superseded, held, already there) is answered as
/// such, with no candidate.
pub async fn stage(env: &Env, item: &SwapItem, shared: &SwapShared, ahead: &ReadAhead) -> Result<Swapped, Error> {
    let version = read_version(env, item, shared, ahead).await?;
    let (new, def, current) = (&version.new, &version.def, version.current.as_ref());
    let verdict = judge(env, item, shared, &version, current)?;
    let done = |outcome, diff| swapped(&item.table, outcome, current, def, diff);
    match verdict {
        Verdict::Superseded => Ok(done(SwapOutcome::Superseded, SchemaDiff::default())),
        Verdict::Unchanged => Ok(done(SwapOutcome::Unchanged, SchemaDiff::default())),
        Verdict::Held(reason) => {
            let mut held = done(SwapOutcome::Held, SchemaDiff::default());
            held.reason = Some(reason);
            Ok(held)
        }
        Verdict::Create | Verdict::Update(_) => {
            let diff = match verdict {
                Verdict::Update(diff) => diff,
                _ => SchemaDiff::default(),
            };
            let candidate = TableDef {
                database: env.config.raw_database.clone(),
                name: audit::candidate_table(&item.table),
                description: format!(
                    "Candidate version of {}.{}, awaiting its audit (snaplake; not for analysts)",
                    env.config.curated_database, item.table
                ),
                ..def.clone()
            };
            match glue::get_table(&env.clients.glue, &candidate.database, &candidate.name).await? {
                None => glue::create_table(&env.clients.glue, &candidate).await?,
                Some(old) => {
                    if glue::update_table(&env.clients.glue, &candidate, old.version_id.as_deref()).await?
                        == Update::Conflict
                    {
                        return Err(conflict(&candidate.database, &candidate.name));
                    }
                }
            }
            info!(table = %item.table, candidate = %candidate.name, location = %new, "staged for its audit");
            Ok(done(SwapOutcome::Staged, diff))
        }
    }
}
