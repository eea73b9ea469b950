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
    /// The salt of `hash_salted`, read at start-up when
    /// `SNAPLAKE_HASH_SALT_SECRET` is set (query-runner's environment).
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

    /// Reads and checks the configuration, builds the clients, then reads
    /// the salt if one is configured (a salt that cannot be read fails the
    /// start-up: nothing is published with a missing salt).
    pub async fn from_env() -> Result<Self, Error> {
        let config = Config::from_env()?;
        let clients = Clients::from_env().await;
        let salt = match &config.hash_salt_secret {
            Some(secret) => Some(secrets::hash_salt(&clients.secrets, secret).await?),
            None => None,
        };
        Ok(Env { config, clients, salt })
    }
}
