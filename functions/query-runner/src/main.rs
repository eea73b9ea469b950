//! query-runner: start, poll, read and stop the Athena queries of Transform
//! and Verify. The logic is `snaplake::handlers::query_runner`.

use snaplake::env::Env;
use snaplake::handlers::{query_runner, serve::serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let env = Env::start_with_salt().await?;
    serve("query-runner", &[], |input| query_runner::handle(&env, input)).await
}
