# Onto an existing lake bucket and existing KMS keys. The module leaves the
# bucket's policy, lifecycle and notifications alone: merge the output
# bucket_policy_json into the bucket's policy, add the lifecycle rules the
# module's README lists, turn on the bucket's EventBridge delivery, and give
# snaplake's roles (output role_arns) the use of the raw key in its key
# policy. `snaplake doctor` checks what it can of this.
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
  description = "The raw key's policy lets these use the key (README lists the statements)."
  value       = module.snaplake.role_arns
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
