# Deploy snaplake to AWS: `terraform apply -var-file=my.tfvars` (see example.tfvars).
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
  default_tags {
    tags = { application = "snaplake" }
  }
}

variable "region" {
  type = string
}

variable "snaplake" {
  description = "The inputs of infra/modules/snaplake (see its variables.tf), except the salt."
  type        = any
}

variable "hash_salt" {
  description = "Salt of the hash_salted masking rule (TF_VAR_hash_salt; with snaplake.hash_salt_version > 0). Goes to Secrets Manager only, never to state."
  type        = string
  default     = ""
  sensitive   = true
  ephemeral   = true
}

module "snaplake" {
  source              = "../../modules/snaplake"
  name                = lookup(var.snaplake, "name", "snaplake")
  source_id           = var.snaplake.source_id
  source_kind         = lookup(var.snaplake, "source_kind", "cluster")
  bucket_name         = lookup(var.snaplake, "bucket_name", "")
  create_bucket       = lookup(var.snaplake, "create_bucket", true)
  kms_key_arn         = lookup(var.snaplake, "kms_key_arn", "")
  curated_kms_key_arn = lookup(var.snaplake, "curated_kms_key_arn", "")
  raw_reader_arns     = lookup(var.snaplake, "raw_reader_arns", [])
  raw_retention_days  = lookup(var.snaplake, "raw_retention_days", 14)
  hash_salt           = var.hash_salt
  hash_salt_version   = lookup(var.snaplake, "hash_salt_version", 0)
  schedule_expression = lookup(var.snaplake, "schedule_expression", "cron(0 4 * * ? *)")
  schedule_time_zone  = lookup(var.snaplake, "schedule_time_zone", "Asia/Tokyo")
  tables              = lookup(var.snaplake, "tables", [])
  masking_policy      = lookup(var.snaplake, "masking_policy", {})
  keep_versions       = lookup(var.snaplake, "keep_versions", 4)
  prices              = lookup(var.snaplake, "prices", {})
  lineage_to_glue     = lookup(var.snaplake, "lineage_to_glue", true)
  table_format        = lookup(var.snaplake, "table_format", "hive")
  notification_emails = lookup(var.snaplake, "notification_emails", [])
  architecture        = lookup(var.snaplake, "architecture", "arm64")
  lambda_packages     = var.snaplake.lambda_packages
}

output "state_machine_arn" {
  value = module.snaplake.state_machine_arn
}

output "bucket" {
  value = module.snaplake.bucket
}

output "analyst_workgroup" {
  value = module.snaplake.analyst_workgroup
}

output "analyst_policy_json" {
  value = module.snaplake.analyst_policy_json
}
