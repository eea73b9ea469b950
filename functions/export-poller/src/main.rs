//! export-poller: the export's status for the Wait/Choice loop, and the table
//! plan once it is complete. The logic is `snaplake::handlers::export_poller`.

use lambda_runtime::{LambdaEvent, run, service_fn};
use snaplake::handlers::{Context, export_poller};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let ctx = Context::start().await?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        export_poller::handle(&ctx, event.payload)
    }))
    .await
}
