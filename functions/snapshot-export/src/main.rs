//! snapshot-export: find the snapshot of the run's day and find-or-start its
//! export. The logic is `snaplake::handlers::snapshot_export`.

use lambda_runtime::{LambdaEvent, run, service_fn};
use snaplake::handlers::{Context, snapshot_export};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let ctx = Context::start().await?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        snapshot_export::handle(&ctx, event.payload)
    }))
    .await
}
