//! catalog-swap: zero-downtime publishing to the Glue catalog. Parses the
//! request and runs its action on every table of the batch; the work itself
//! is in `crate::catalog::ops`, one file per action.

use std::sync::Arc;

use jiff::Timestamp;
use tokio::sync::OnceCell;

use super::parse;
use crate::catalog::ops::batch::for_each;
use crate::catalog::ops::read_ahead::ReadAhead;
use crate::catalog::ops::{discard, gc, prepare, register_raw, report, rollback, stage, swap};
use crate::contract::catalog_swap::{
    BatchRequest, BatchResult, CatalogRequest, CatalogResponse, SwapItem, SwapShared, Swapped,
};
use crate::env::Env;
use crate::error::Error;

pub async fn handle(env: &Env, input: serde_json::Value) -> Result<CatalogResponse, Error> {
    let request: CatalogRequest = parse("catalog-swap input", input)?;
    run(env, request).await
}

pub async fn run(env: &Env, request: CatalogRequest) -> Result<CatalogResponse, Error> {
    Ok(match request {
        CatalogRequest::RegisterRaw(batch) => CatalogResponse::Registered(
            for_each(env, batch, |env, item, s| async move {
                register_raw::register_raw(&env, &item, &s).await
            })
            .await?,
        ),
        CatalogRequest::Prepare(batch) => CatalogResponse::Prepared(
            for_each(env, batch, |env, item, s| async move {
                prepare::prepare(&env, &item.table, &s).await
            })
            .await?,
        ),
        CatalogRequest::Stage(batch) => CatalogResponse::Swapped(judged(env, batch, false).await?),
        CatalogRequest::Swap(batch) => CatalogResponse::Swapped(judged(env, batch, true).await?),
        CatalogRequest::Discard(batch) => CatalogResponse::Discarded(
            for_each(
                env,
                batch,
                |env, item, _| async move { discard::discard(&env, &item).await },
            )
            .await?,
        ),
        CatalogRequest::Rollback(batch) => CatalogResponse::Swapped(
            for_each(env, batch, |env, item, _| async move {
                rollback::rollback(&env, &item).await
            })
            .await?,
        ),
        CatalogRequest::Gc(batch) => CatalogResponse::Collected(
            for_each(
                env,
                batch,
                |env, item, s| async move { gc::gc(&env, &item.table, &s).await },
            )
            .await?,
        ),
        CatalogRequest::Report(request) => {
            let tables = report::entries(env, &request).await?;
            let cost = report::cost(env, &request, &tables).await;
            // The live curated tables, read once: the metrics' ages and the
            // lineage's schemas.
            let live = crate::aws::glue::list_tables(&env.clients.glue, &env.config.curated_database).await;
            super::report_metrics::emit(env, &request, &tables, cost.as_ref(), &live);
            let lineage = super::lineage::end_of_run(env, &request, &tables, live).await;
            CatalogResponse::Reported(report::report(env, *request, tables, cost, lineage).await?)
        }
        CatalogRequest::LineageFailed(failed) => CatalogResponse::Told(super::lineage::run_failed(env, &failed).await),
    })
}

/// Stage (`publish` false) or Swap each table of the batch, the tables read
/// ahead by the first table's task, so only once the batch is checked (a
/// bad request reads nothing); the others wait for it. A swap applies
/// retention after it, when the request asks.
async fn judged(
    env: &Env,
    batch: BatchRequest<SwapItem, SwapShared>,
    publish: bool,
) -> Result<BatchResult<Swapped>, Error> {
    let tables = batch.items.len();
    let ahead = Arc::new(OnceCell::new());
    for_each(env, batch, |env, item, s| {
        let ahead = ahead.clone();
        async move {
            let ahead = ahead.get_or_init(|| ReadAhead::for_batch(&env, tables)).await;
            if !publish {
                return stage::stage(&env, &item, &s, ahead).await;
            }
            let mut swapped = swap::swap(&env, &item, &s, ahead).await?;
            if let Some(retention) = &s.retention {
                swapped.retention = gc::after_swap(&env, &swapped, retention).await;
            }
            swapped.report = item
                .report
                .clone()
                .map(|line| swap::report_line(line, &swapped, Timestamp::now()));
            Ok(swapped)
        }
    })
    .await
}
