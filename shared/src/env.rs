//! What every function (and the CLI) works with.

use crate::aws::secrets::{self, Salt};
use crate::clients::Clients;
use crate::config::Config;
use crate::error::Error;

/// A function's environment: its checked configuration, its AWS clients
/// and the salt, built once per Lambda instance (the CLI builds one from the
/// deployed stack's configuration). Passed to the handlers and operations as
/// `env`; not to be confused with `lambda_runtime::Context`, an invocation's.
#[derive(Clone, Debug)]
pub struct Env {
    pub config: Config,
    pub clients: Clients,
    /// The salt of `hash_salted`: query-runner's start-up reads it
    /// ([`Env::start_with_salt`]) when `SNAPLAKE_HASH_SALT_SECRET` is set.
    pub salt: Option<Salt>,
}

impl Env {
    /// A function's start-up: logging, then the checked configuration and the
    /// clients. A bad configuration is logged in full before the init fails.
    pub async fn start() -> Result<Self, Error> {
        crate::telemetry::init();
        Self::from_env()
            .await
            .inspect_err(|e| tracing::error!(error = %e, "cannot start"))
    }

    /// query-runner's start-up: [`Env::start`], then the salt. The other
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
        Ok(Env {
            clients: Clients::from_env(&sdk),
            config,
            salt: None,
        })
    }

    /// [`Env::from_env`], then the salt if one is configured (a salt that
    /// cannot be read fails the start-up: nothing is published with a
    /// missing salt).
    pub async fn from_env_with_salt() -> Result<Self, Error> {
        let config = Config::from_env()?;
        let sdk = crate::clients::sdk_config().await;
        let salt = match &config.hash_salt_secret {
            Some(secret) => Some(secrets::hash_salt(&secrets::client(&sdk), secret).await?),
            None => None,
        };
        Ok(Env {
            clients: Clients::from_env(&sdk),
            config,
            salt,
        })
    }
}
