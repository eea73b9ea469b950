# Two customer managed keys (RDS cannot export with an AWS managed key):
#
# - raw: the exports, the raw tables, the control prefix (plans, task tokens,
#   large results) through the bucket's default encryption, and the salt's
#   secret. Only snaplake's roles, the RDS export and raw_reader_arns may use
#   it: the account's IAM policies cannot grant its use (the root statement
#   administers the key but does not use it).
# - curated: what analysts read (UNLOAD writes the curated tables with the
#   Athena workgroup's key) and what services hold on snaplake's behalf: the
#   log groups, the failure topic, the schedule's dead letters, the schedule
#   and the functions' environments. None of these holds a row of raw data
#   (the logs carry ids and names, the topic and queue carry run inputs), so
#   they stay off the raw key, whose policy then names no service at all but
#   Secrets Manager. The account's IAM policies grant its use (the analyst
#   policy does).
resource "aws_kms_key" "raw" {
  count                   = var.kms_key_arn == "" ? 1 : 0
  description             = "${var.name}: raw snapshot exports and snaplake's control files"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = jsonencode(local.raw_key_policy)
  # The deployer policy (modules/deployer-policy) administers the keys so tagged.
  tags = { snaplake = var.name }
}

resource "aws_kms_alias" "raw" {
  count         = var.kms_key_arn == "" ? 1 : 0
  name          = "alias/${var.name}-raw"
  target_key_id = aws_kms_key.raw[0].key_id
}

resource "aws_kms_key" "curated" {
  count                   = var.curated_kms_key_arn == "" ? 1 : 0
  description             = "${var.name}: curated tables, query results, logs and notifications"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = jsonencode(local.curated_key_policy)
  # The deployer policy (modules/deployer-policy) administers the keys so tagged.
  tags = { snaplake = var.name }
}

resource "aws_kms_alias" "curated" {
  count         = var.curated_kms_key_arn == "" ? 1 : 0
  name          = "alias/${var.name}-curated"
  target_key_id = aws_kms_key.curated[0].key_id
}

# The one key of earlier versions becomes the raw key.
moved {
  from = aws_kms_key.lake
  to   = aws_kms_key.raw
}

moved {
  from = aws_kms_alias.lake
  to   = aws_kms_alias.raw
}

locals {
  raw_key     = var.kms_key_arn != "" ? var.kms_key_arn : aws_kms_key.raw[0].arn
  curated_key = var.curated_kms_key_arn != "" ? var.curated_kms_key_arn : aws_kms_key.curated[0].arn
  # A request may name a key by its ARN or its id (the bucket policy checks both).
  raw_key_names     = distinct([local.raw_key, element(split("/", local.raw_key), 1)])
  curated_key_names = distinct([local.curated_key, element(split("/", local.curated_key), 1)])

  account_root = "arn:${local.partition}:iam::${local.account}:root"
  # Key administration without use: no Decrypt, GenerateDataKey, ReEncrypt or
  # CreateGrant, so IAM policies in the account cannot open the raw key.
  key_administration = [
    "kms:CreateAlias", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
    "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
    "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
  ]
  # A role named in the key policy needs nothing more from IAM, so each is
  # named for what it does with raw objects (the roles' policies say the same):
  # write (S3 SSE-KMS: GenerateDataKey, and Decrypt to read back and to
  # finish multipart uploads) or only read.
  # catalog-swap writes each run's manifest and the pipeline role the
  # PublishTables Map's results (ResultWriter), under the control prefix.
  raw_key_writers = concat([for f in ["export-callback", "export-poller", "query-runner", "catalog-swap"] : aws_iam_role.fn[f].arn], [aws_iam_role.export.arn, aws_iam_role.pipeline.arn])
  raw_key_readers = concat([aws_iam_role.fn["catalog-swap"].arn, aws_iam_role.pipeline.arn], var.raw_reader_arns)

  raw_key_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministersTheKeyButCannotUseIt"
        Effect    = "Allow"
        Principal = { AWS = local.account_root }
        Action    = local.key_administration
        Resource  = "*"
      },
      {
        Sid       = "SnaplakeRolesWriteRawObjects"
        Effect    = "Allow"
        Principal = { AWS = local.raw_key_writers }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = "*"
      },
      {
        Sid       = "SnaplakeRolesAndRawReadersReadRawObjects"
        Effect    = "Allow"
        Principal = { AWS = local.raw_key_readers }
        Action    = "kms:Decrypt"
        Resource  = "*"
      },
      {
        Sid       = "SnapshotExportChecksTheKey"
        Effect    = "Allow"
        Principal = { AWS = aws_iam_role.fn["snapshot-export"].arn }
        Action    = "kms:DescribeKey"
        Resource  = "*"
      },
      {
        # StartExportTask makes RDS create a grant for the export with the
        # caller's credentials; only that kind of grant is allowed.
        Sid       = "SnapshotExportLetsRdsGrantItself"
        Effect    = "Allow"
        Principal = { AWS = aws_iam_role.fn["snapshot-export"].arn }
        Action    = "kms:CreateGrant"
        Resource  = "*"
        Condition = { Bool = { "kms:GrantIsForAWSResource" = "true" } }
      },
      {
        # Secrets Manager encrypts the salt with the caller's credentials
        # (the deployer writes it, query-runner reads it); who may do so is
        # decided by the secret's IAM permissions.
        Sid       = "SecretsManagerKeepsTheSalt"
        Effect    = "Allow"
        Principal = { AWS = local.account_root }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = "*"
        Condition = {
          StringEquals = { "kms:ViaService" = "secretsmanager.${local.region}.amazonaws.com" }
          StringLike   = { "kms:EncryptionContext:SecretARN" = "arn:${local.partition}:secretsmanager:${local.region}:${local.account}:secret:${local.salt_secret_name}-*" }
        }
      },
    ]
  }

  curated_key_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        # Lets IAM policies grant use of the key (the roles' and the analyst
        # policy do; Lambda encrypts the environments with the deployer's kms:Encrypt).
        Sid       = "AccountUsesTheKeyThroughIAM"
        Effect    = "Allow"
        Principal = { AWS = local.account_root }
        Action    = concat(local.key_administration, ["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"])
        Resource  = "*"
      },
      {
        # Lambda (environments) and Scheduler grant themselves the key.
        Sid       = "AccountLetsAwsServicesGrantThemselves"
        Effect    = "Allow"
        Principal = { AWS = local.account_root }
        Action    = "kms:CreateGrant"
        Resource  = "*"
        Condition = { Bool = { "kms:GrantIsForAWSResource" = "true" } }
      },
      {
        # The encryption context names the log group, so this binds the
        # service to this account's snaplake log groups (the form the
        # CloudWatch Logs documentation gives).
        Sid       = "CloudWatchLogsEncryptsTheLogGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = { ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws/*/${var.name}-*" } }
      },
      {
        # CloudWatch cannot publish to an encrypted topic without the key
        # (SNS developer guide, "compatibility with AWS services").
        Sid       = "FreshnessAlarmsPublishToTheTopic"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = local.account }, ArnLike = { "aws:SourceArn" = local.alarm_arn_pattern } }
      },
      {
        Sid       = "EventsPublishExportFailuresToTheTopic"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = local.account } }
      },
    ]
  }

  # What a role needs to read and write objects encrypted with a key
  # (S3 SSE-KMS: GenerateDataKey to write, Decrypt to read and to finish
  # multipart uploads). Nobody calls kms:Encrypt directly.
  raw_read       = { Effect = "Allow", Action = ["kms:Decrypt"], Resource = local.raw_key }
  raw_read_write = { Effect = "Allow", Action = ["kms:Decrypt", "kms:GenerateDataKey"], Resource = local.raw_key }
  curated_read   = { Effect = "Allow", Action = ["kms:Decrypt"], Resource = local.curated_key }
  curated_use    = { Effect = "Allow", Action = ["kms:Decrypt", "kms:GenerateDataKey"], Resource = local.curated_key }
}
