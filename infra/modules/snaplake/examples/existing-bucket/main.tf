# Onto an existing lake bucket and existing KMS keys. Before the first apply
# the deployer must be able to use both keys: the curated key's policy must
# let IAM policies grant its use (KMS's default key policy does), and the
# raw key's policy needs the statement SecretsManagerKeepsTheSalt of the
# output raw_key_policy_json (Terraform writes the salt through Secrets
# Manager; the statement names only the account and the secret
# <name>/hash-salt). The module leaves the bucket's policy, lifecycle,
# notifications and keys alone: after the apply,
# merge the output bucket_policy_json into the bucket's policy and the outputs
# raw_key_policy_json and curated_key_policy_json into the keys' policies,
# make the raw key the bucket's default encryption, turn on the bucket's
# EventBridge delivery, and add lifecycle rules like
# those the module sets on a bucket it creates (its s3.tf: raw exports after
# raw_retention_days, plans and task tokens after a week, query results).
# `snaplake doctor` checks what it can of this; the repository's
# scripts/plan-examples does exactly this against the local stand-in, as
# the deployer, and runs a day from the schedule.
terraform {
  required_version = ">= 1.11"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  description = "The region of the database and of the lake."
  type        = string
  default     = "us-east-1"
}

variable "source_id" {
  description = "The Aurora cluster whose automated snapshots are published."
  type        = string
}

variable "bucket_name" {
  description = "The existing lake bucket (versioned, in the same region)."
  type        = string
}

variable "raw_kms_key_arn" {
  description = "The existing customer managed key for the exports and the raw tables."
  type        = string
}

variable "curated_kms_key_arn" {
  description = "The existing customer managed key for what analysts read."
  type        = string
}

variable "on_call_role_arn" {
  description = "The role that may read raw exports and run manifests when something breaks."
  type        = string
}

variable "packages" {
  description = "The folder where cargo lambda wrote <function>/bootstrap.zip."
  type        = string
  default     = "../../../../../target/lambda"
}

module "snaplake" {
  source              = "../.."
  name                = "lake-shop"
  source_id           = var.source_id
  create_bucket       = false
  bucket_name         = var.bucket_name
  kms_key_arn         = var.raw_kms_key_arn
  curated_kms_key_arn = var.curated_kms_key_arn
  raw_reader_arns     = [var.on_call_role_arn]
  schedule_expression = "cron(0 4 * * ? *)"
  schedule_time_zone  = "Europe/Berlin"
  masking_policy = {
    tables = {
      "shop.customers" = {
        columns = {
          id           = "keep"
          email        = "hash"
          phone        = "redact"
          full_name    = "drop"
          country      = "keep"
          is_active    = "keep"
          birth_date   = "redact"
          credit_limit = "keep"
          created_at   = "truncate_day"
        }
        unlisted_columns = "fail"
        row_filter       = "is_active = 1"
      }
    }
  }
  lambda_packages = { for f in ["snapshot-export", "export-callback", "export-poller", "catalog-swap", "query-runner"] : f => "${var.packages}/${f}/bootstrap.zip" }
}

output "bucket_policy_json" {
  description = "Merge these statements into the bucket's policy."
  value       = module.snaplake.bucket_policy_json
}

output "role_arns" {
  description = "snaplake's roles, which raw_key_policy_json names."
  value       = module.snaplake.role_arns
}

output "raw_key_policy_json" {
  description = "Merge these statements into the raw key's policy."
  value       = module.snaplake.raw_key_policy_json
}

output "curated_key_policy_json" {
  description = "Merge these statements into the curated key's policy."
  value       = module.snaplake.curated_key_policy_json
}

output "analyst_policy_json" {
  description = "Attach it to the analysts' role."
  value       = module.snaplake.analyst_policy_json
}

# The deployer's policy: attach it to the role that runs this Terraform
# (apply it from a stack the deployer cannot change).
data "aws_caller_identity" "current" {}

module "deployer_policy" {
  source              = "../../modules/deployer-policy"
  name                = "lake-shop"
  account_id          = data.aws_caller_identity.current.account_id
  region              = var.region
  bucket_name         = var.bucket_name
  create_bucket       = false
  kms_key_arn         = var.raw_kms_key_arn
  curated_kms_key_arn = var.curated_kms_key_arn
}

output "deployer_policy_json" {
  description = "The identity policy of the principal that applies this deployment."
  value       = module.deployer_policy.policy_json
}
