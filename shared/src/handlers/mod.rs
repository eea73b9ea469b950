//! One module per function: each reads like the box of the flow it
//! implements. The binaries under `functions/` only call these.

pub mod export_callback;
pub mod export_poller;
pub mod snapshot_export;

use serde::de::DeserializeOwned;

use crate::clients::Clients;
use crate::config::Config;
use crate::error::Error;

/// What every handler needs, built once per Lambda instance.
#[derive(Clone, Debug)]
pub struct Context {
    pub config: Config,
    pub clients: Clients,
}

impl Context {
    /// Reads and checks the configuration, then builds the clients.
    pub async fn from_env() -> Result<Self, Error> {
        let config = Config::from_env()?;
        Ok(Context { config, clients: Clients::from_env().await })
    }
}

/// Parses a handler's input, so a bad one is an `InvalidInput` that names
/// the field (and the state machine does not retry it).
pub fn parse<T: DeserializeOwned>(what: &str, input: serde_json::Value) -> Result<T, Error> {
    serde_json::from_value(input).map_err(|e| Error::invalid_input(what, format!("is malformed: {e}")))
}
