//! Runs one operation over a batch of tables, a few at once: one failing
//! table does not stop the others, and each failure is named.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tracing::warn;

use crate::contract::catalog_swap::{BatchRequest, BatchResult, Item, ItemFailure};
use crate::env::Env;
use crate::error::Error;

/// Runs `work` on every item of the batch, at most `concurrency` at once;
/// one failing item does not stop the others. Results keep the items' order.
pub async fn for_each<I, S, O, F, Fut>(env: &Env, batch: BatchRequest<I, S>, work: F) -> Result<BatchResult<O>, Error>
where
    I: Item + Send + 'static,
    S: Send + Sync + 'static,
    O: Send + 'static,
    F: Fn(Env, I, Arc<S>) -> Fut,
    Fut: Future<Output = Result<O, Error>> + Send + 'static,
{
    let concurrency = batch.concurrency;
    if !(1..=64).contains(&concurrency) {
        return Err(Error::invalid_input(
            "concurrency",
            format!("is {concurrency}; use 1 to 64"),
        ));
    }
    let shared = Arc::new(batch.shared);
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut tasks = Vec::with_capacity(batch.items.len());
    for item in batch.items {
        let table = item.table();
        let permits = permits.clone();
        let job = work(env.clone(), item, shared.clone());
        tasks.push((
            table,
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await.expect("the semaphore is never closed");
                job.await
            }),
        ));
    }
    let single = tasks.len() == 1;
    let mut result = BatchResult::default();
    for (table, task) in tasks {
        let outcome = task.await.unwrap_or_else(|e| {
            Err(Error::invalid_input(
                table.clone(),
                format!("the work on this table panicked: {e}"),
            ))
        });
        match outcome {
            Ok(value) => result.succeeded.push(value),
            // A batch of one is a plain call: its error is the call's, so the
            // state machine can Retry/Catch it by name.
            Err(err) if single => return Err(err),
            Err(err) => {
                warn!(%table, error = %err, "table failed");
                result.failed_tables.push(table.clone());
                result.failed.push(ItemFailure {
                    table,
                    error: err.name().to_string(),
                    cause: err.to_string(),
                });
            }
        }
    }
    Ok(result)
}
