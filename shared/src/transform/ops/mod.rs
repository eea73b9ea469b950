//! query-runner's work, one file per step of the run: `validate` (the
//! policy against the raw tables), `progress` (Transform and Verify as the
//! state machine runs them: `start` and `query` in one invocation), `start`
//! (the masking UNLOAD, the verification), `query` (where a query is, its
//! rows, its checks). Each
//! takes and answers the types of `crate::contract::query_runner`.

pub mod empty;
pub mod progress;
pub mod query;
pub mod start;
pub mod validate;

use tracing::info;

use crate::aws::athena::{self, Start};
use crate::aws::glue;
use crate::catalog::schema::Column;
use crate::contract::query_runner::TableNames;
use crate::env::Env;
use crate::error::Error;
use crate::transform::generate;

pub(crate) async fn raw_columns(env: &Env, table: &TableNames) -> Result<Vec<Column>, Error> {
    let database = &env.config.raw_database;
    let state = glue::get_table(&env.clients.glue, database, &table.name)
        .await?
        .ok_or_else(|| {
            Error::invalid_input(
                "table",
                format!(
                    "raw table {database}.{} for {} does not exist; RegisterRaw registers it before the transform",
                    table.name, table.source
                ),
            )
        })?;
    Ok(state.columns)
}

/// Run ids key the queries' idempotency tokens: an execution name (at most
/// 80 characters), with the attempt appended when a transform runs again.
pub(crate) fn check_run_id(run_id: &str) -> Result<(), Error> {
    let valid =
        (1..=128).contains(&run_id.len()) && run_id.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c));
    if valid {
        Ok(())
    } else {
        Err(Error::invalid_input(
            "run_id",
            format!("{run_id:?} must be 1 to 128 letters, digits, '-' or '_'"),
        ))
    }
}

pub(crate) async fn start(
    env: &Env,
    run_id: &str,
    step: &str,
    table: &str,
    query: &generate::Query,
) -> Result<String, Error> {
    let id = athena::start(
        &env.clients.athena,
        &Start {
            workgroup: &env.config.athena_workgroup,
            sql: &query.sql,
            parameters: &query.parameters,
            token: athena::request_token(run_id, step, table),
            output_location: Some(format!(
                "s3://{}/{}/athena/",
                env.config.bucket, env.config.control_prefix
            )),
        },
    )
    .await?;
    // The SQL is logged; the parameters (a salt) are not.
    info!(%table, step, query_execution_id = %id, sql = %query.sql, "started query");
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_have_the_shape_of_execution_names() {
        assert!(check_run_id("run-snaplake-shop-prod-20261121").is_ok());
        for bad in ["", "has space", "v=1", &"x".repeat(129)] {
            assert!(check_run_id(bad).unwrap_err().to_string().contains("run_id"), "{bad}");
        }
    }
}
