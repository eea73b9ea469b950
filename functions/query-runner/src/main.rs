//! query-runner: start, poll, read and stop the Athena queries of Transform
//! and Verify. The logic is `snaplake::handlers::query_runner`.

use lambda_runtime::{LambdaEvent, run, service_fn};
use snaplake::handlers::{Context, query_runner};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let ctx = Context::start().await?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        query_runner::handle(&ctx, event.payload)
    }))
    .await
}
