//! export-callback: park the execution's task token, and resume it from the
//! export_info file's S3 event (through EventBridge) or RDS's export-failed
//! event; and keep the day lock. The logic is
//! `snaplake::handlers::export_callback`.

use snaplake::env::Env;
use snaplake::handlers::{export_callback, serve::serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let env = Env::start().await?;
    serve("export-callback", &["aws:s3", "aws.s3", "aws.rds"], |input| {
        export_callback::handle(&env, input)
    })
    .await
}
