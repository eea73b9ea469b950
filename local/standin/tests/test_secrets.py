"""Secrets Manager uses a secret's customer managed key with the caller's
credentials (standin/needs.py `_secret_key`): writing a value needs
kms:GenerateDataKey, reading it kms:Decrypt, allowed by the key policy with
kms:ViaService and the secret's ARN as encryption context."""

import json

from test_iam import _as_role, _denied, enforced  # noqa: F401 (a fixture)

ACCOUNT = "123456789012"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:lake/hash-salt-*"


def _key(kms, condition_secret=SECRET):
    """A key the account administers, whose use only Secrets Manager may have, for one secret, as IAM grants."""
    root = f"arn:aws:iam::{ACCOUNT}:root"
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Administer", "Effect": "Allow", "Principal": {"AWS": root}, "Action": ["kms:Describe*", "kms:Put*", "kms:Get*"], "Resource": "*"},
        {"Sid": "SecretsManagerKeepsTheSalt", "Effect": "Allow", "Principal": {"AWS": root},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*", "Condition": {
             "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"},
             "StringLike": {"kms:EncryptionContext:SecretARN": condition_secret}}}]}
    return kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]


def test_writing_and_reading_a_secret_needs_its_key_through_secrets_manager(enforced):  # noqa: F811
    key = _key(enforced("kms"))
    enforced("secretsmanager").create_secret(Name="lake/hash-salt", KmsKeyId=key)
    manage = {"Effect": "Allow", "Action": ["secretsmanager:PutSecretValue", "secretsmanager:GetSecretValue"], "Resource": SECRET}
    without = _as_role(enforced, [manage])("secretsmanager")
    _denied(lambda: without.put_secret_value(SecretId="lake/hash-salt", SecretString="salt"), "kms:GenerateDataKey", key)
    enforced("iam").put_role_policy(RoleName="fn", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        manage, {"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": key}]}))
    without.put_secret_value(SecretId="lake/hash-salt", SecretString="salt")
    assert without.get_secret_value(SecretId="lake/hash-salt")["SecretString"] == "salt"


def test_a_key_policy_for_another_secret_lets_nobody_write_this_one(enforced):  # noqa: F811
    key = _key(enforced("kms"), condition_secret=SECRET.replace("lake/", "other/"))
    secrets = enforced("secretsmanager")
    secrets.create_secret(Name="lake/hash-salt", KmsKeyId=key)
    _denied(lambda: secrets.put_secret_value(SecretId="lake/hash-salt", SecretString="salt"), "kms:GenerateDataKey")
    # No value, no key: describing the secret needs none.
    assert secrets.describe_secret(SecretId="lake/hash-salt")["KmsKeyId"] == key
