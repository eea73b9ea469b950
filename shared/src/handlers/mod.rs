//! One module per function: each reads like the box of the flow it
//! implements. The binaries under `functions/` only call these.

pub mod catalog_swap;
pub mod export_callback;
pub mod export_poller;
pub mod query_runner;
pub mod serve;
pub mod snapshot_export;

use serde::de::DeserializeOwned;

use crate::aws::secrets::{self, Salt};
use crate::clients::Clients;
use crate::config::Config;
use crate::error::Error;

/// What every handler needs, built once per Lambda instance.
#[derive(Clone, Debug)]
pub struct Context {
    pub config: Config,
    pub clients: Clients,
    /// The salt of `hash_salted`: query-runner's start-up reads it
    /// ([`Context::start_with_salt`]) when `SNAPLAKE_HASH_SALT_SECRET` is set.
    pub salt: Option<Salt>,
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

    /// query-runner's start-up: [`Context::start`], then the salt. The other
    /// functions never call this, so their binaries do not link a Secrets
    /// Manager client (which grew every zip by up to 0.2 MiB).
    pub async fn start_with_salt() -> Result<Self, Error> {
        crate::telemetry::init();
        Self::from_env_with_salt()
            .await
            .inspect_err(|e| tracing::error!(error = %e, "cannot start"))
    }

    /// Reads and checks the configuration and builds the clients; no salt.
    pub async fn from_env() -> Result<Self, Error> {
        let config = Config::from_env()?;
        let sdk = crate::clients::sdk_config().await;
        Ok(Context {
            clients: Clients::from_env(&sdk),
            config,
            salt: None,
        })
    }

    /// [`Context::from_env`], then the salt if one is configured (a salt
    /// that cannot be read fails the start-up: nothing is published with a
    /// missing salt).
    pub async fn from_env_with_salt() -> Result<Self, Error> {
        let config = Config::from_env()?;
        let sdk = crate::clients::sdk_config().await;
        let salt = match &config.hash_salt_secret {
            Some(secret) => Some(secrets::hash_salt(&secrets::client(&sdk), secret).await?),
            None => None,
        };
        Ok(Context {
            clients: Clients::from_env(&sdk),
            config,
            salt,
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
