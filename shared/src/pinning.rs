//! What the deployment pins and a run's input may only repeat: the masking
//! policy, and the export (`export.rs`: bucket, prefixes, source, kind, role,
//! key). Anyone allowed `states:StartExecution` can write a run's input;
//! without pins, such a caller could publish with an all-`keep` policy, or
//! export the database to a bucket of their own.
//!
//! Terraform stores the policy as `<control prefix>/policy/<sha256>.json` and
//! gives the functions its digest (`SNAPLAKE_POLICY_DIGEST`), the source
//! (`SNAPLAKE_SOURCE_ID`, `SNAPLAKE_SOURCE_KIND`), the export role
//! (`SNAPLAKE_EXPORT_ROLE_ARN`) and the raw key (`SNAPLAKE_EXPORT_KMS_KEY`).
//! snapshot-export refuses a run whose input differs, before anything is
//! exported, and adopts no export task made otherwise; query-runner only ever
//! masks with the pinned policy.

mod export;

pub use export::{Judged, check_export};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use sha2::{Digest, Sha256};
use tracing::warn;

use crate::aws::s3;
use crate::config::Config;
use crate::contract::masking_policy::MaskingPolicy;
use crate::contract::snapshot_export::PolicyRef;
use crate::env::Env;
use crate::error::Error;

/// The hex SHA-256 of a stored policy's bytes.
pub fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Where Terraform stores the policy of a digest.
pub fn policy_key(control_prefix: &str, digest: &str) -> String {
    format!("{control_prefix}/policy/{digest}.json")
}

/// Which policy a run uses, decided from the pins and the input alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// The deployment's pinned policy (an input policy, if any, must equal it).
    Pinned(String),
    /// No pin, in local tests only (`SNAPLAKE_LOCAL_ONLY_INPUT_POLICY`): the
    /// input's policy.
    Input,
}

pub fn choose(config: &Config, input: &PolicyRef) -> Result<Choice, Error> {
    match (&config.policy_digest, &input.policy_digest) {
        (Some(pinned), Some(given)) if pinned != given => Err(Error::invalid_input(
            "publish.policy_digest",
            format!(
                "is {given}, but this deployment pins the masking policy {pinned}; runs always use the pinned \
                 policy: change masking_policy in Terraform and apply, then start the run again"
            ),
        )),
        (Some(pinned), _) => Ok(Choice::Pinned(pinned.clone())),
        (None, Some(given)) => Err(Error::invalid_input(
            "publish.policy_digest",
            format!(
                "names policy {given}, but no policy is pinned (SNAPLAKE_POLICY_DIGEST is not set): \
                 deploy with the Terraform module, which pins it"
            ),
        )),
        (None, None) if input.policy.is_some() && config.local_only_input_policy => Ok(Choice::Input),
        (None, None) => Err(Error::invalid_input(
            "SNAPLAKE_POLICY_DIGEST",
            "is not set, so no masking policy is pinned and nothing is published: a run's input never chooses \
             its own policy. Deploy with the Terraform module, which pins masking_policy",
        )),
    }
}

/// snapshot-export's check of the pin, before anything is exported: the
/// input names the pinned policy and carries none of its own, and the object
/// Terraform stored still hashes to the digest. The module stores it with a
/// SHA-256 checksum (`checksum_algorithm`), which S3 verified on upload and
/// gives back without the object being read: reading it would link S3's
/// response checksum code into this function (half a MiB of its zip) for one
/// comparison. query-runner, which masks with the policy, reads and hashes
/// it (`policy`).
pub async fn check_pinned(env: &Env, input: &PolicyRef) -> Result<(), Error> {
    let digest = match choose(&env.config, input)? {
        Choice::Input => {
            warn!("local only: no masking policy is pinned; the run input's will be used");
            return Ok(());
        }
        Choice::Pinned(digest) => digest,
    };
    if input.policy.is_some() {
        return Err(Error::invalid_input(
            "publish.policy",
            format!(
                "is set, but this deployment pins the masking policy {digest} and runs always use it: start the \
                 run with publish.policy_digest alone (to change the policy, change masking_policy in Terraform \
                 and apply)"
            ),
        ));
    }
    let (bucket, key) = (&env.config.bucket, policy_key(&env.config.control_prefix, &digest));
    let fault = match s3::stored_sha256(&env.clients.s3, bucket, &key).await? {
        None => MISSING,
        Some(None) => "was stored without a SHA-256 checksum, so it cannot be checked against the pin",
        Some(Some(stored)) if stored != sha256_checksum(&digest) => CHANGED,
        Some(Some(_)) => return Ok(()),
    };
    Err(broken_pin(bucket, &key, fault))
}

const MISSING: &str = "does not exist";
const CHANGED: &str = "does not hash to the pinned digest: it was changed outside Terraform";

/// The pinned policy's object is not the one Terraform stored.
fn broken_pin(bucket: &str, key: &str, fault: &str) -> Error {
    Error::invalid_input(
        "SNAPLAKE_POLICY_DIGEST",
        format!("the pinned policy s3://{bucket}/{key} {fault}; apply the Terraform module again, which stores it"),
    )
}

/// A digest as S3 gives an object's SHA-256 checksum: base64 of the bytes.
fn sha256_checksum(digest: &str) -> String {
    let bytes: Vec<u8> = (0..digest.len() / 2)
        .filter_map(|i| u8::from_str_radix(&digest[2 * i..2 * i + 2], 16).ok())
        .collect();
    aws_smithy_types::base64::encode(bytes)
}

/// The policy a run masks with: the pinned one, read once per digest (the
/// digest is its content, so the cache cannot go stale), or, where nothing
/// is pinned, the input's. An input policy that differs from the pin is
/// refused.
pub async fn policy(env: &Env, input: &PolicyRef) -> Result<Arc<MaskingPolicy>, Error> {
    let digest = match choose(&env.config, input)? {
        Choice::Input => {
            warn!("local only: no masking policy is pinned; using the run input's");
            return Ok(Arc::new(input.policy.clone().expect("chosen because present")));
        }
        Choice::Pinned(digest) => digest,
    };
    let pinned = load(env, &digest).await?;
    if let Some(given) = &input.policy
        && given != pinned.as_ref()
    {
        return Err(Error::invalid_input(
            "publish.policy",
            format!(
                "differs from the masking policy this deployment pins ({digest}); runs always use the pinned \
                 policy: change masking_policy in Terraform and apply, and start runs without a policy"
            ),
        ));
    }
    Ok(pinned)
}

async fn load(env: &Env, digest: &str) -> Result<Arc<MaskingPolicy>, Error> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<MaskingPolicy>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(p) = cache.lock().expect("not poisoned").get(digest) {
        return Ok(p.clone());
    }
    let cfg = &env.config;
    let key = policy_key(&cfg.control_prefix, digest);
    let where_ = format!("s3://{}/{key}", cfg.bucket);
    let bytes = s3::get_bytes(&env.clients.s3, &cfg.bucket, &key)
        .await?
        .ok_or_else(|| broken_pin(&cfg.bucket, &key, MISSING))?;
    if self::digest(&bytes) != digest {
        return Err(broken_pin(&cfg.bucket, &key, CHANGED));
    }
    let policy: MaskingPolicy = serde_json::from_slice(&bytes)
        .map_err(|e| Error::invalid_input("masking policy", format!("{where_} is not a masking policy: {e}")))?;
    let policy = Arc::new(policy);
    cache
        .lock()
        .expect("not poisoned")
        .insert(digest.to_string(), policy.clone());
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::check_digest;
    use serde_json::json;

    fn config(digest: Option<&str>, source: Option<&str>) -> Config {
        config_with(digest, source, None)
    }

    fn config_with(digest: Option<&str>, source: Option<&str>, local: Option<&str>) -> Config {
        Config::from_lookup(|name| match name {
            "SNAPLAKE_BUCKET" => Some("lake".into()),
            "SNAPLAKE_POLICY_DIGEST" => digest.map(str::to_string),
            "SNAPLAKE_SOURCE_ID" => source.map(str::to_string),
            "SNAPLAKE_LOCAL_ONLY_INPUT_POLICY" => local.map(str::to_string),
            _ => None,
        })
        .unwrap()
    }

    const PIN: &str = "0000000000000000000000000000000000000000000000000000000000000001";

    #[test]
    fn a_pinned_digest_wins_and_another_is_refused() {
        let pinned = config(Some(PIN), None);
        assert_eq!(
            choose(&pinned, &PolicyRef::default()).unwrap(),
            Choice::Pinned(PIN.into())
        );
        let other = PolicyRef {
            policy_digest: Some("f".repeat(64)),
            policy: None,
        };
        let err = choose(&pinned, &other).unwrap_err().to_string();
        assert!(err.contains("publish.policy_digest") && err.contains("pins"), "{err}");
    }

    #[test]
    fn no_pin_no_run_unless_a_local_test_allows_the_input_policy() {
        let given = PolicyRef {
            policy: Some(serde_json::from_value(json!({"tables": {}})).unwrap()),
            policy_digest: None,
        };
        let unpinned = config(None, None);
        for input in [PolicyRef::default(), given.clone()] {
            let err = choose(&unpinned, &input).unwrap_err().to_string();
            assert!(err.contains("`SNAPLAKE_POLICY_DIGEST` is not set"), "{err}");
        }
        let local = config_with(None, None, Some("allow"));
        assert!(choose(&local, &PolicyRef::default()).is_err());
        assert_eq!(choose(&local, &given).unwrap(), Choice::Input);
        let typo = Config::from_lookup(|name| match name {
            "SNAPLAKE_BUCKET" => Some("lake".into()),
            "SNAPLAKE_LOCAL_ONLY_INPUT_POLICY" => Some("yes".into()),
            _ => None,
        });
        assert!(
            typo.unwrap_err()
                .to_string()
                .contains("SNAPLAKE_LOCAL_ONLY_INPUT_POLICY")
        );
    }

    #[test]
    fn the_module_never_allows_an_input_policy() {
        for (file, text) in [
            ("main.tf", include_str!("../../infra/modules/snaplake/main.tf")),
            (
                "variables.tf",
                include_str!("../../infra/modules/snaplake/variables.tf"),
            ),
            (
                "functions.tf",
                include_str!("../../infra/modules/snaplake/functions.tf"),
            ),
        ] {
            assert!(
                !text.contains("SNAPLAKE_LOCAL_ONLY"),
                "infra/modules/snaplake/{file} sets a local-only switch"
            );
        }
    }

    #[test]
    fn the_example_input_names_the_example_policy() {
        let input: serde_json::Value = serde_json::from_str(include_str!("../../events/pipeline-input.json")).unwrap();
        let policy = include_bytes!("../../events/masking-policy.json");
        assert_eq!(input["publish"]["policy_digest"], json!(digest(policy)));
    }

    #[test]
    fn a_digest_compares_with_the_checksum_s3_keeps() {
        // S3's x-amz-checksum-sha256 of "{}": base64 of the same 32 bytes.
        assert_eq!(
            sha256_checksum(&digest(b"{}")),
            "RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o="
        );
    }

    #[test]
    fn digests_are_hex_sha256() {
        assert_eq!(
            digest(b"{}"),
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert!(check_digest("d", &digest(b"x")).is_ok());
        assert!(check_digest("d", "ABC").is_err());
    }
}
