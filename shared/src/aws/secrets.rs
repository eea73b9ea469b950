//! Secrets Manager: the salt of the `hash_salted` masking rule. It lives in a
//! secret, never in an environment variable or Terraform state, is read once
//! when query-runner starts, and never appears in a log line or an error.

use crate::error::Error;

/// A secret value. Its `Debug` does not show it; [`Salt::expose`] is the one
/// way to read it, used where the query parameter is built.
#[derive(Clone, PartialEq, Eq)]
pub struct Salt(String);

impl Salt {
    pub fn new(value: impl Into<String>) -> Self {
        Salt(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Salt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Salt(<redacted>)")
    }
}

/// A Secrets Manager client. Built only where a secret is read (query-runner's
/// start-up, the CLI's doctor), not among the shared [`crate::clients::Clients`].
pub fn client(sdk: &aws_config::SdkConfig) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(sdk)
}

/// Whether the secret has a current value, without reading it
/// (DescribeSecret: an operator's `snaplake doctor` needs no right to the
/// salt itself).
pub async fn has_current_value(client: &aws_sdk_secretsmanager::Client, secret_id: &str) -> Result<bool, Error> {
    let out = client
        .describe_secret()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| Error::sdk("secretsmanager", "DescribeSecret", secret_id, &e))?;
    Ok(out
        .version_ids_to_stages()
        .is_some_and(|versions| versions.values().flatten().any(|stage| stage == "AWSCURRENT")))
}

/// Reads the salt from `secret_id` (an ARN or a name). An empty secret is
/// refused: a salt of "" is an unsalted hash.
pub async fn hash_salt(client: &aws_sdk_secretsmanager::Client, secret_id: &str) -> Result<Salt, Error> {
    let out = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| {
            Error::sdk("secretsmanager", "GetSecretValue", secret_id, &e).with_fix(format!(
                "give the secret a value (aws secretsmanager put-secret-value --secret-id {secret_id} \
                 --secret-string <salt>), and let query-runner's role call secretsmanager:GetSecretValue on it \
                 and kms:Decrypt on its key"
            ))
        })?;
    match out.secret_string() {
        Some(s) if !s.trim().is_empty() => Ok(Salt::new(s)),
        _ => Err(Error::invalid_input(
            "SNAPLAKE_HASH_SALT_SECRET",
            format!(
                "secret {secret_id} holds no text: store the salt as its SecretString \
                 (aws secretsmanager put-secret-value --secret-id {secret_id} --secret-string <salt>)"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_salt_never_prints() {
        let s = Salt::new("pepper");
        assert_eq!(format!("{s:?}"), "Salt(<redacted>)");
        assert!(!format!("{:?}", Some(s.clone())).contains("pepper"));
        assert_eq!(s.expose(), "pepper");
    }
}
