//! export-poller: the export's status for the Wait/Choice loop, and the table
//! plan once it is complete. The logic is `snaplake::handlers::export_poller`.

use snaplake::env::Env;
use snaplake::handlers::{export_poller, serve::serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let env = Env::start().await?;
    serve("export-poller", &[], |input| export_poller::handle(&env, input)).await
}
