//! catalog-swap: register raw tables, repoint curated tables in one
//! optimistic UpdateTable, roll back, and apply retention. The logic is
//! `snaplake::handlers::catalog_swap`.

use snaplake::env::Env;
use snaplake::handlers::{catalog_swap, serve::serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let env = Env::start().await?;
    serve("catalog-swap", &[], |input| catalog_swap::handle(&env, input)).await
}
