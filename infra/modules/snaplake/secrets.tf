# The salt of the hash_salted masking rule. query-runner reads it at start-up
# (SNAPLAKE_HASH_SALT_SECRET); it is written through the write-only
# secret_string_wo, so it is in neither the Terraform state nor a function's
# environment. An ephemeral value cannot decide `count`, so hash_salt_version
# says whether a salt is given.
resource "aws_secretsmanager_secret" "hash_salt" {
  #checkov:skip=CKV2_AWS_57:The salt is not rotated automatically: a new salt changes every hashed value, so it is a decision (raise hash_salt_version).
  name                    = local.salt_secret_name
  description             = "${var.name}: salt of the hash_salted masking rule"
  kms_key_id              = local.raw_key
  recovery_window_in_days = 30
}

resource "aws_secretsmanager_secret_version" "hash_salt" {
  count                    = var.hash_salt_version > 0 ? 1 : 0
  secret_id                = aws_secretsmanager_secret.hash_salt.id
  secret_string_wo         = var.hash_salt
  secret_string_wo_version = var.hash_salt_version
}
