//! One module per function: each reads like the box of the flow it
//! implements. The binaries under `functions/` only call these.

pub mod catalog_swap;
pub mod export_callback;
pub mod export_poller;
pub mod query_runner;
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
    /// A function's start-up: logging, then the checked configuration and the
    /// clients. A bad configuration is logged in full before the init fails.
    pub async fn start() -> Result<Self, Error> {
        crate::telemetry::init();
        Self::from_env()
            .await
            .inspect_err(|e| tracing::error!(error = %e, "cannot start"))
    }

    /// Reads and checks the configuration, then builds the clients.
    pub async fn from_env() -> Result<Self, Error> {
        let config = Config::from_env()?;
        Ok(Context {
            config,
            clients: Clients::from_env().await,
        })
    }
}

/// Parses a handler's input, so a bad one is an `InvalidInput` that names
/// the field by its path (and the state machine does not retry it).
pub fn parse<T: DeserializeOwned>(what: &str, input: serde_json::Value) -> Result<T, Error> {
    serde_path_to_error::deserialize(input).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { what.to_string() } else { path };
        Error::invalid_input(field, format!("in the {what}: {}", e.into_inner()))
    })
}
