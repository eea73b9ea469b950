# One customer managed key for the exports, the bucket, the logs and the
# topic: RDS cannot export with an AWS managed key.
resource "aws_kms_key" "lake" {
  count                   = var.kms_key_arn == "" ? 1 : 0
  description             = "${var.name}: snapshot exports and the data lake"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = jsonencode(local.key_policy)
}

resource "aws_kms_alias" "lake" {
  count         = var.kms_key_arn == "" ? 1 : 0
  name          = "alias/${var.name}-lake"
  target_key_id = aws_kms_key.lake[0].key_id
}

locals {
  key_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        # Lets IAM policies grant use of the key (the function and export roles' policies do).
        Sid       = "AccountAdministersTheKeyThroughIAM"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogsEncryptsTheLogGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = { ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws/*/${var.name}-*" } }
      },
      {
        Sid       = "EventsPublishExportFailuresToTheTopic"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
      },
    ]
  }
  # What a role needs to read and write the lake's encrypted objects.
  kms_use = {
    Effect   = "Allow"
    Action   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:DescribeKey"]
    Resource = local.kms_key
  }
}
