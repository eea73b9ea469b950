//! KMS: the preflight check of the export's key.

use aws_sdk_kms::Client;
use aws_sdk_kms::types::{KeyManagerType, KeyState};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::error::Error;

/// The key exists, is enabled and is customer managed (RDS cannot export
/// with an AWS managed key). Returns the key's ARN.
pub async fn check_export_key(client: &Client, key: &str) -> Result<String, Error> {
    let preflight = |problem: String, fix: &str| Error::Preflight {
        check: "kms-key".into(),
        resource: key.to_string(),
        problem,
        fix: fix.to_string(),
    };
    let meta = match client.describe_key().key_id(key).send().await {
        Ok(out) => out.key_metadata,
        Err(err) => {
            let err = err.into_service_error();
            return Err(match err.code() {
                Some("NotFoundException") => preflight(
                    format!("the key does not exist ({})", err.message().unwrap_or_default()),
                    "give kms_key the ARN of a customer managed key in the snapshot's region",
                ),
                Some("AccessDeniedException") => preflight(
                    format!("kms:DescribeKey was denied ({})", err.message().unwrap_or_default()),
                    "allow the snapshot-export function's role kms:DescribeKey and kms:CreateGrant in the key policy",
                ),
                _ => Error::aws("kms", "DescribeKey", key, &err),
            });
        }
    };
    let Some(meta) = meta else {
        return Err(preflight(
            "DescribeKey returned no metadata".into(),
            "check the key in the KMS console",
        ));
    };
    if meta.key_manager() == Some(&KeyManagerType::Aws) {
        return Err(preflight(
            "it is an AWS managed key, which RDS cannot export with".into(),
            "create a customer managed key (the Terraform module can) and use its ARN",
        ));
    }
    if !meta.enabled() || meta.key_state().is_some_and(|s| *s != KeyState::Enabled) {
        let state = meta
            .key_state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "disabled".into());
        return Err(preflight(
            format!("the key is {state}"),
            "enable the key (or cancel its deletion) in KMS",
        ));
    }
    Ok(meta.arn().unwrap_or(key).to_string())
}
