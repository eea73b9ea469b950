resource "aws_s3_bucket" "lake" {
  #checkov:skip=CKV_AWS_18:Access logging needs a separate log bucket the operator owns; enable it there.
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice of the operator, not of snaplake.
  #checkov:skip=CKV2_AWS_62:Event notifications are configured (aws_s3_bucket_notification.exports).
  count         = var.create_bucket ? 1 : 0
  bucket        = local.bucket
  force_destroy = false
}

resource "aws_s3_bucket_versioning" "lake" {
  count  = var.create_bucket ? 1 : 0
  bucket = aws_s3_bucket.lake[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "lake" {
  count  = var.create_bucket ? 1 : 0
  bucket = aws_s3_bucket.lake[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = local.raw_key
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "lake" {
  count                   = var.create_bucket ? 1 : 0
  bucket                  = aws_s3_bucket.lake[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_policy" "lake" {
  count  = var.create_bucket ? 1 : 0
  bucket = aws_s3_bucket.lake[0].id
  policy = jsonencode(local.bucket_policy)
}

locals {
  # Who may read and list the raw (exports/) and control (_snaplake/)
  # prefixes: snaplake's roles (Athena reads exports/ with query-runner's
  # credentials) and raw_reader_arns. Nobody else, the deployer's
  # administrator rights included: an explicit Deny beats every Allow.
  raw_readers = concat([for r in aws_iam_role.fn : r.arn], [aws_iam_role.export.arn, aws_iam_role.pipeline.arn], var.raw_reader_arns)
  # What the account's IAM policies may open to anyone else, fail closed:
  # a prefix added later is raw until it is listed here. The pinned policy
  # (a masking policy, no data) is here because Terraform reads it back
  # (HeadObject needs s3:GetObject) as whoever deploys; the run manifests
  # (table names, outcomes and counts, no rows; written with the curated
  # key) are here so operators follow runs without raw access
  # (operator_policy_json).
  open_prefixes = ["${local.curated_prefix}/", "${local.analyst_results_prefix}/", "${local.control_prefix}/policy/", local.runs_prefix]

  bucket_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [local.bucket_arn, "${local.bucket_arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid         = "RawAndControlObjectsOnlyForSnaplakeAndRawReaders"
        Effect      = "Deny"
        Principal   = "*"
        Action      = ["s3:GetObject", "s3:GetObjectVersion"]
        NotResource = [for p in local.open_prefixes : "${local.bucket_arn}/${p}*"]
        Condition   = { ArnNotLike = { "aws:PrincipalArn" = local.raw_readers } }
      },
      {
        # Listings that name the raw or control prefix (or the start of
        # one). A listing without a prefix cannot be denied here: HeadBucket
        # is s3:ListBucket without a prefix too, and Terraform and the
        # console need it. Such a listing shows key names (export and table
        # names), never contents. What anyone may read, anyone may list:
        # Terraform lists the pinned policy's versions (s3:ListBucketVersions
        # with the key as prefix) when it replaces or destroys it.
        Sid       = "RawAndControlListingOnlyForSnaplakeAndRawReaders"
        Effect    = "Deny"
        Principal = "*"
        Action    = ["s3:ListBucket", "s3:ListBucketVersions"]
        Resource  = local.bucket_arn
        Condition = {
          StringLike    = { "s3:prefix" = ["${local.export_prefix}*", "${local.control_prefix}*"] }
          StringNotLike = { "s3:prefix" = [for p in local.open_prefixes : "${p}*"] }
          ArnNotLike    = { "aws:PrincipalArn" = local.raw_readers }
        }
      },
      # Who writes what, and with which key:
      # - RDS export: exports/ with the raw key (the deployment pins it);
      # - the functions and the state machine: plans, tokens, locks, Map
      #   results under _snaplake/ with no encryption header, so the
      #   bucket's default, the raw key (UploadPart never carries one); run
      #   manifests under _snaplake/runs/ with the curated key;
      # - Athena (snaplake's and the analysts' workgroups): UNLOAD into
      #   curated/ and query results into _snaplake/athena/ and
      #   analyst-results/, with the workgroup's key, the curated key.
      # A write that names an encryption must name SSE-KMS with the prefix's
      # key. The checks test presence with Null rather than `…IfExists`: a
      # missing key makes an IfExists condition true, which would deny every
      # write without a header (IAM condition operators reference).
      {
        Sid       = "DenyWritesNamingAnotherEncryptionThanSseKms"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:PutObject"
        Resource  = "${local.bucket_arn}/*"
        Condition = {
          Null            = { "s3:x-amz-server-side-encryption" = "false" }
          StringNotEquals = { "s3:x-amz-server-side-encryption" = "aws:kms" }
        }
      },
      {
        # S3 encrypts `aws:kms` without a key id with the account's aws/s3
        # key, which every principal of the account can use through S3.
        Sid       = "DenyWritesNamingSseKmsWithoutAKey"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:PutObject"
        Resource  = "${local.bucket_arn}/*"
        Condition = {
          Null = {
            "s3:x-amz-server-side-encryption"                = "false"
            "s3:x-amz-server-side-encryption-aws-kms-key-id" = "true"
          }
        }
      },
      {
        Sid       = "DenyWritesWithCustomerProvidedKeys"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:PutObject"
        Resource  = "${local.bucket_arn}/*"
        Condition = { Null = { "s3:x-amz-server-side-encryption-customer-algorithm" = "false" } }
      },
      {
        Sid       = "DenyCuratedWritesWithAnotherKey"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:PutObject"
        Resource  = [for p in local.curated_key_prefixes : "${local.bucket_arn}/${p}*"]
        Condition = {
          Null            = { "s3:x-amz-server-side-encryption-aws-kms-key-id" = "false" }
          StringNotEquals = { "s3:x-amz-server-side-encryption-aws-kms-key-id" = local.curated_key_names }
        }
      },
      {
        Sid         = "DenyOtherWritesWithAnotherKeyThanRaw"
        Effect      = "Deny"
        Principal   = "*"
        Action      = "s3:PutObject"
        NotResource = [for p in local.curated_key_prefixes : "${local.bucket_arn}/${p}*"]
        Condition = {
          Null            = { "s3:x-amz-server-side-encryption-aws-kms-key-id" = "false" }
          StringNotEquals = { "s3:x-amz-server-side-encryption-aws-kms-key-id" = local.raw_key_names }
        }
      },
    ]
  }
}

# This resource replaces the bucket's whole lifecycle configuration, so it is
# only made for a bucket the module creates (README lists the rules to add to
# an existing one).
resource "aws_s3_bucket_lifecycle_configuration" "lake" {
  count  = var.create_bucket ? 1 : 0
  bucket = aws_s3_bucket.lake[0].id
  # Raw exports are kept for rollback and re-runs, then go.
  rule {
    id     = "raw-exports"
    status = "Enabled"
    filter {
      prefix = "${local.export_prefix}/"
    }
    expiration {
      days = var.raw_retention_days
    }
  }
  # Plans and task tokens serve one run (a day); kept a week for on call.
  rule {
    id     = "plans"
    status = "Enabled"
    filter {
      prefix = "${local.control_prefix}/plans/"
    }
    expiration {
      days = 7
    }
  }
  rule {
    id     = "task-tokens"
    status = "Enabled"
    filter {
      prefix = "${local.control_prefix}/tokens/"
    }
    expiration {
      days = 7
    }
  }
  rule {
    id     = "analyst-query-results"
    status = "Enabled"
    filter {
      prefix = "${local.analyst_results_prefix}/"
    }
    expiration {
      days = 30
    }
  }
  # Query results and large result sets are temporary.
  rule {
    id     = "temporary-query-output"
    status = "Enabled"
    filter {
      prefix = "${local.control_prefix}/athena/"
    }
    expiration {
      days = 7
    }
  }
  rule {
    id     = "temporary-results"
    status = "Enabled"
    filter {
      prefix = "${local.control_prefix}/results/"
    }
    expiration {
      days = 7
    }
  }
  # Retention deletes old versions; versioning would otherwise keep them.
  rule {
    id     = "deleted-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 2
    }
  }
}

# RDS writes export_info_<id>.json last: its creation resumes the waiting run.
# It arrives through EventBridge, for a bucket the module creates and for an
# existing one alike: aws_s3_bucket_notification owns a bucket's whole
# notification configuration (it replaces what is there and removes it all on
# destroy), so the module sets it only on its own bucket, and there only to
# turn on EventBridge delivery. On an existing bucket the operator turns that
# on (`snaplake doctor` checks it and says how). One path for both cases is
# one path to test.
resource "aws_s3_bucket_notification" "exports" {
  count       = var.create_bucket ? 1 : 0
  bucket      = aws_s3_bucket.lake[0].id
  eventbridge = true
}

resource "aws_cloudwatch_event_rule" "export_info" {
  name        = "${var.name}-export-info"
  description = "export_info files RDS writes into the lake bucket: the export is done"
  event_pattern = jsonencode({
    source        = ["aws.s3"]
    "detail-type" = ["Object Created"]
    detail = {
      bucket = { name = [local.bucket] }
      object = { key = [{ wildcard = "${local.export_prefix}/*export_info_*.json" }] }
    }
  })
}

resource "aws_cloudwatch_event_target" "export_info_resumes_the_run" {
  rule = aws_cloudwatch_event_rule.export_info.name
  arn  = aws_lambda_function.fn["export-callback"].arn
}

resource "aws_lambda_permission" "export_info_invokes_export_callback" {
  statement_id  = "s3-export-info"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.fn["export-callback"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.export_info.arn
}

# The masking policy the deployment pins, by its digest (see main.tf). A new
# policy is a new object; runs started with the old digest are refused.
# S3 verifies and keeps its SHA-256, which is the digest: snapshot-export
# compares the two before exporting, without reading the policy.
resource "aws_s3_object" "policy" {
  bucket                 = local.bucket
  key                    = local.policy_key
  content                = local.policy_json
  content_type           = "application/json"
  checksum_algorithm     = "SHA256"
  server_side_encryption = "aws:kms"
  kms_key_id             = local.curated_key
  depends_on             = [aws_s3_bucket.lake, aws_s3_bucket_server_side_encryption_configuration.lake]
}

