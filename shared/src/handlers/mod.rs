//! One module per function: each reads like the box of the flow it
//! implements. The binaries under `functions/` only call these.

pub mod catalog_swap;
pub mod export_callback;
pub mod export_poller;
pub mod lineage;
pub mod query_runner;
pub mod report_metrics;
pub mod serve;
pub mod snapshot_export;

use serde::de::DeserializeOwned;

use crate::error::Error;

/// Parses a handler's input, so a bad one is an `InvalidInput` that names
/// the field by its path (and the state machine does not retry it).
pub fn parse<T: DeserializeOwned>(what: &str, input: serde_json::Value) -> Result<T, Error> {
    serde_path_to_error::deserialize(input).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { what.to_string() } else { path };
        Error::invalid_input(field, format!("in the {what}: {}", e.into_inner()))
    })
}
