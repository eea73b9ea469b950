//! snapshot-export: parses the run's export request and starts (or adopts)
//! the day's export; the work is in `crate::export_ops::start_export`. Once
//! the export is started, the run's lineage START is posted.

use jiff::Timestamp;

use super::parse;
use crate::contract::snapshot_export::{ExportRequest, ExportRun};
use crate::env::Env;
use crate::error::Error;
use crate::export_ops::start_export;

pub async fn handle(env: &Env, input: serde_json::Value) -> Result<ExportRun, Error> {
    let request: ExportRequest = parse("snapshot-export input", input)?;
    let run = start_export::run(env, &request, Timestamp::now()).await?;
    super::lineage::post_start(env, &request).await;
    Ok(run)
}
