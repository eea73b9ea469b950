//! export-callback: park the execution's task token, and resume it from the
//! S3 event of the export's export_info file. The logic is
//! `snaplake::handlers::export_callback`.

use snaplake::handlers::{Context, export_callback, serve::serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let ctx = Context::start().await?;
    serve("export-callback", &["aws:s3", "aws.rds"], |input| {
        export_callback::handle(&ctx, input)
    })
    .await
}
