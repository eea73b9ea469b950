//! catalog-swap: zero-downtime publishing to the Glue catalog. Parses the
//! request and runs its action on every table of the batch; the work itself
//! is in `crate::catalog::ops`, one file per action.

use super::{Context, parse};
use crate::catalog::ops::batch::for_each;
use crate::catalog::ops::{gc, prepare, register_raw, report, rollback, swap};
use crate::contract::catalog_swap::{CatalogRequest, CatalogResponse};
use crate::error::Error;

pub async fn handle(ctx: &Context, input: serde_json::Value) -> Result<CatalogResponse, Error> {
    let request: CatalogRequest = parse("catalog-swap input", input)?;
    run(ctx, request).await
}

pub async fn run(ctx: &Context, request: CatalogRequest) -> Result<CatalogResponse, Error> {
    Ok(match request {
        CatalogRequest::RegisterRaw(batch) => CatalogResponse::Registered(
            for_each(ctx, batch, |ctx, item, s| async move {
                register_raw::register_raw(&ctx, &item, &s).await
            })
            .await?,
        ),
        CatalogRequest::Prepare(batch) => CatalogResponse::Prepared(
            for_each(ctx, batch, |ctx, item, s| async move {
                prepare::prepare(&ctx, &item.table, &s).await
            })
            .await?,
        ),
        CatalogRequest::Swap(batch) => CatalogResponse::Swapped(
            for_each(
                ctx,
                batch,
                |ctx, item, s| async move { swap::swap(&ctx, &item, &s).await },
            )
            .await?,
        ),
        CatalogRequest::Rollback(batch) => CatalogResponse::Swapped(
            for_each(ctx, batch, |ctx, item, _| async move {
                rollback::rollback(&ctx, &item).await
            })
            .await?,
        ),
        CatalogRequest::Gc(batch) => CatalogResponse::Collected(
            for_each(
                ctx,
                batch,
                |ctx, item, s| async move { gc::gc(&ctx, &item.table, &s).await },
            )
            .await?,
        ),
        CatalogRequest::Report(request) => CatalogResponse::Reported(report::report(request)?),
    })
}
