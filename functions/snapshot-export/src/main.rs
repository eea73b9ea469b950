//! snapshot-export: find the snapshot of the run's day and find-or-start its
//! export. The logic is `snaplake::handlers::snapshot_export`.

use snaplake::env::Env;
use snaplake::handlers::{serve::serve, snapshot_export};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let env = Env::start().await?;
    serve("snapshot-export", &[], |input| snapshot_export::handle(&env, input)).await
}
