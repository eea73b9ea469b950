//! export-poller: the export's status for the Wait/Choice loop, and the table
//! plan once it is complete. The logic is `snaplake::handlers::export_poller`.

use snaplake::handlers::{Context, export_poller, serve::serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let ctx = Context::start().await?;
    serve("export-poller", &[], |input| export_poller::handle(&ctx, input)).await
}
