resource "aws_glue_catalog_database" "raw" {
  name        = local.raw_database
  description = "Raw snapshot exports (personal data in clear): restrict to snaplake and data engineers."
}

resource "aws_glue_catalog_database" "curated" {
  name        = local.curated_db
  description = "Masked, filtered tables for analysts, published by snaplake."
}

resource "aws_athena_workgroup" "snaplake" {
  name          = var.name
  force_destroy = false
  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.scan_budget_bytes
    result_configuration {
      output_location = "s3://${local.bucket}/${local.control_prefix}/athena/"
      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = local.curated_key
      }
    }
  }
}

# Analysts query in a workgroup of their own: its results go to
# analyst-results/, never to the control prefix, encrypted with the curated
# key (enforced, so a client cannot choose another location or key).
resource "aws_athena_workgroup" "analysts" {
  name          = "${var.name}-analysts"
  force_destroy = false
  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.scan_budget_bytes
    result_configuration {
      output_location = "s3://${local.bucket}/${local.analyst_results_prefix}/"
      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = local.curated_key
      }
    }
  }
}
