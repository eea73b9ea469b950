//! export-callback: park the execution's task token, and resume it from the
//! S3 event of the export's export_info file. The logic is
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
