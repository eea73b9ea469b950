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
      kms_master_key_id = local.kms_key
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
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [local.bucket_arn, "${local.bucket_arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
}

resource "aws_s3_bucket_lifecycle_configuration" "lake" {
  count  = var.create_bucket ? 1 : 0
  bucket = aws_s3_bucket.lake[0].id
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
