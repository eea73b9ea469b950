//! export-callback: park the execution's task token, and resume it from the
//! export_info file's S3 event (through EventBridge) or RDS's export-failed
//! event; and keep the day lock. The logic is
//! `snaplake::handlers::export_callback`.

use lambda_runtime::{LambdaEvent, run, service_fn};
use snaplake::handlers::{Context, export_callback};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let ctx = Context::start().await?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        export_callback::handle(&ctx, event.payload)
    }))
    .await
}
