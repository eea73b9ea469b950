//! catalog-swap: register raw tables, repoint curated tables in one
//! optimistic UpdateTable, roll back, and apply retention. The logic is
//! `snaplake::handlers::catalog_swap`.

use snaplake::handlers::{Context, catalog_swap, serve::serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let ctx = Context::start().await?;
    serve("catalog-swap", &[], |input| catalog_swap::handle(&ctx, input)).await
}
