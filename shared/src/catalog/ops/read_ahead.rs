//! A swap batch's tables, read ahead. A swap reads two tables before it
//! decides, the raw one and the curated one, so a batch of n tables read one
//! by one sends 2n GetTable calls. GetTables returns up to 100 tables a
//! page: when a batch is large next to its databases, reading both whole
//! costs far fewer calls (a 500-table batch over 500-table databases: 10
//! pages instead of 1,000 GetTable).
//!
//! How large the databases are is not known before reading them, so a batch
//! spends at most a quarter of the calls it could save: `page_budget` pages a
//! database. A database with more pages than that is read table by table as
//! before; at worst a batch sends a quarter more calls than one by one. A
//! batch of one table (the state machine's Swap) reads nothing ahead.
//!
//! A table read ahead can be seconds old when its turn comes. That is as safe
//! as a read just before: the swap's UpdateTable carries the VersionId read,
//! Glue refuses it if the table changed since, and the swap reads the table
//! again and decides again (`swap.rs`). So a listing is used only when every
//! table in it has its VersionId.

use std::collections::HashMap;

use tracing::{info, warn};

use crate::aws::glue::{self, TableState};
use crate::env::Env;
use crate::error::Error;

/// GetTables pages a batch of `tables` may spend reading one database whole:
/// a quarter of the GetTable calls it saves there.
pub fn page_budget(tables: usize) -> usize {
    tables / 4
}

/// Each database's tables by name, where it was read whole.
#[derive(Debug, Default)]
pub struct ReadAhead {
    raw: Option<HashMap<String, TableState>>,
    curated: Option<HashMap<String, TableState>>,
}

impl ReadAhead {
    /// Reads the raw and the curated database whole if each fits the budget
    /// of a batch of `tables`; a database that does not, or whose listing
    /// fails, is read table by table (those reads name any error).
    pub async fn for_batch(env: &Env, tables: usize) -> ReadAhead {
        let budget = page_budget(tables);
        if budget == 0 {
            return ReadAhead::default();
        }
        let (raw, curated) = tokio::join!(
            whole(env, &env.config.raw_database, budget),
            whole(env, &env.config.curated_database, budget)
        );
        ReadAhead { raw, curated }
    }

    /// The raw table, as read ahead or read now.
    pub async fn raw(&self, env: &Env, table: &str) -> Result<Option<TableState>, Error> {
        read(env, &env.config.raw_database, self.raw.as_ref(), table).await
    }

    /// The curated table, as read ahead or read now.
    pub async fn curated(&self, env: &Env, table: &str) -> Result<Option<TableState>, Error> {
        read(env, &env.config.curated_database, self.curated.as_ref(), table).await
    }
}

async fn read(
    env: &Env,
    database: &str,
    listed: Option<&HashMap<String, TableState>>,
    table: &str,
) -> Result<Option<TableState>, Error> {
    match listed {
        // The whole database was read: a table not in it did not exist then.
        Some(tables) => Ok(tables.get(table).cloned()),
        None => glue::get_table(&env.clients.glue, database, table).await,
    }
}

async fn whole(env: &Env, database: &str, budget: usize) -> Option<HashMap<String, TableState>> {
    match glue::list_tables_within(&env.clients.glue, database, budget).await {
        Ok(Some(tables)) => usable(tables).or_else(|| {
            warn!(%database, "GetTables gave a table without its VersionId; reading the batch's tables one by one");
            None
        }),
        Ok(None) => {
            info!(%database, pages = budget, "more tables than the batch's page budget; reading them one by one");
            None
        }
        Err(err) => {
            warn!(%database, error = %err, "could not read the database whole; reading the batch's tables one by one");
            None
        }
    }
}

/// The listing by name, if every table has the VersionId the optimistic
/// lock needs.
fn usable(tables: Vec<(String, TableState)>) -> Option<HashMap<String, TableState>> {
    tables
        .into_iter()
        .map(|(name, state)| state.version_id.is_some().then_some((name, state)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(version: Option<&str>) -> TableState {
        TableState {
            location: None,
            version_id: version.map(str::to_string),
            columns: Vec::new(),
            parameters: HashMap::new(),
        }
    }

    #[test]
    fn a_batch_of_fewer_than_four_tables_reads_nothing_ahead_and_the_budget_is_a_quarter() {
        assert_eq!(page_budget(1), 0);
        assert_eq!(page_budget(3), 0);
        assert_eq!(page_budget(4), 1);
        assert_eq!(page_budget(500), 125);
    }

    #[test]
    fn a_listing_is_used_only_when_every_table_has_its_version_id() {
        let listed = |versions: &[Option<&str>]| {
            versions
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("t{i}"), state(*v)))
                .collect::<Vec<_>>()
        };
        let all = usable(listed(&[Some("1"), Some("7")])).expect("every table has its VersionId");
        assert_eq!(all["t1"].version_id.as_deref(), Some("7"));
        assert!(usable(listed(&[Some("1"), None])).is_none());
        assert_eq!(usable(Vec::new()).map(|t| t.len()), Some(0));
    }

    proptest::proptest! {
        #[test]
        fn reading_ahead_never_costs_more_than_a_quarter_more_calls(tables in 1usize..20_000, database in 0usize..2_000_000) {
            // One database: one by one is `tables` GetTable calls; ahead, the
            // pages read (all of them if they fit the budget, else the budget
            // wasted) plus, if they did not fit, the calls one by one.
            let pages = database.div_ceil(glue::TABLES_PAGE).max(1);
            let budget = page_budget(tables);
            let ahead = if budget == 0 { tables } else if pages <= budget { pages } else { budget + tables };
            proptest::prop_assert!(ahead * 4 <= tables * 5, "{tables} tables, {database} in the database: {ahead} calls");
        }
    }
}
