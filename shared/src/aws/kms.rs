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
            return Err(match err.code() {
                _ if err.as_service_error().is_some_and(|e| e.is_not_found_exception()) => preflight(
                    format!("the key does not exist ({})", err.message().unwrap_or_default()),
                    "give kms_key the ARN of a customer managed key in the snapshot's region",
                ),
                Some("AccessDeniedException") => preflight(
                    format!("kms:DescribeKey was denied ({})", err.message().unwrap_or_default()),
                    "allow the snapshot-export function's role kms:DescribeKey and kms:CreateGrant in the key policy",
                ),
                _ => Error::sdk("kms", "DescribeKey", key, &err),
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_kms::operation::describe_key::{DescribeKeyError, DescribeKeyOutput};
    use aws_sdk_kms::types::KeyMetadata;
    use aws_sdk_kms::types::error::NotFoundException;
    use aws_smithy_mocks::{mock, mock_client};

    fn key(manager: KeyManagerType, state: KeyState) -> DescribeKeyOutput {
        DescribeKeyOutput::builder()
            .key_metadata(
                KeyMetadata::builder()
                    .key_id("k-1")
                    .arn("arn:aws:kms:us-east-1:123456789012:key/k-1")
                    .key_manager(manager)
                    .enabled(state == KeyState::Enabled)
                    .key_state(state)
                    .build()
                    .unwrap(),
            )
            .build()
    }

    async fn check(output: DescribeKeyOutput) -> Result<String, Error> {
        let rule = mock!(Client::describe_key).then_output(move || output.clone());
        check_export_key(&mock_client!(aws_sdk_kms, [&rule]), "alias/snaplake").await
    }

    #[tokio::test]
    async fn a_customer_managed_enabled_key_passes_with_its_arn() {
        let arn = check(key(KeyManagerType::Customer, KeyState::Enabled)).await.unwrap();
        assert_eq!(arn, "arn:aws:kms:us-east-1:123456789012:key/k-1");
    }

    #[tokio::test]
    async fn aws_managed_disabled_and_missing_keys_are_refused_with_the_fix() {
        let err = check(key(KeyManagerType::Aws, KeyState::Enabled))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("AWS managed") && err.contains("customer managed"), "{err}");
        let err = check(key(KeyManagerType::Customer, KeyState::PendingDeletion))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("PendingDeletion") && err.contains("cancel its deletion"),
            "{err}"
        );
        let rule = mock!(Client::describe_key)
            .then_error(|| DescribeKeyError::NotFoundException(NotFoundException::builder().message("gone").build()));
        let err = check_export_key(&mock_client!(aws_sdk_kms, [&rule]), "alias/x")
            .await
            .unwrap_err();
        assert_eq!(err.name(), "PreflightFailed");
        assert!(
            err.to_string().contains("does not exist") && err.to_string().contains("alias/x"),
            "{err}"
        );
    }
}
