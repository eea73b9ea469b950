//! catalog-swap: register raw tables, repoint curated tables in one
//! optimistic UpdateTable, roll back, and apply retention. The logic is
//! `snaplake::handlers::catalog_swap`.

use lambda_runtime::{LambdaEvent, run, service_fn};
use snaplake::handlers::{Context, catalog_swap};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let ctx = Context::start().await?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        catalog_swap::handle(&ctx, event.payload)
    }))
    .await
}
