# The same module, applied to the local stand-in (make demo). The functions'
# zip is a placeholder: the stand-in runs the handler binaries themselves.
terraform {
  required_version = ">= 1.11"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

variable "endpoint" {
  description = "The stand-in's endpoint (make standin prints it)."
  type        = string
}

variable "masking_policy_file" {
  description = "Another masking policy to pin (scripts/check-infra applies a changed one). Empty: events/masking-policy.json."
  type        = string
  default     = ""
}

variable "lambda_package" {
  description = "The zip every function is given (the stand-in runs the handler binaries whatever it holds; scripts/check-infra applies another, to update the code as the deployer). Empty: placeholder.zip."
  type        = string
  default     = ""
}

variable "hash_salt_version" {
  description = "Raised by scripts/check-infra to write the salt again as the deployer."
  type        = number
  default     = 1
}

variable "source_id" {
  type    = string
  default = "shop-prod"
}

variable "table_format" {
  description = "How curated tables are published: \"hive\" or \"iceberg\" (make demo TABLE_FORMAT=iceberg)."
  type        = string
  default     = "hive"
}

# Credentials from the environment: the stand-in enforces IAM, so the
# deployer is its administrator (POST /_snaplake/iam/admin; make demo does it).
provider "aws" {
  region                      = "us-east-1"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = false
  s3_use_path_style           = true
  endpoints {
    athena         = var.endpoint
    cloudwatch     = var.endpoint
    cloudwatchlogs = var.endpoint
    events         = var.endpoint
    glue           = var.endpoint
    iam            = var.endpoint
    kms            = var.endpoint
    lambda         = var.endpoint
    rds            = var.endpoint
    s3             = var.endpoint
    scheduler      = var.endpoint
    secretsmanager = var.endpoint
    sfn            = var.endpoint
    sns            = var.endpoint
    sqs            = var.endpoint
    sts            = var.endpoint
  }
}

# The on-call role that may read the raw and control prefixes (run
# manifests, exports): the deployer (the stand-in's administrator) is not
# listed, so the bucket policy denies it those prefixes, as it would on AWS.
data "aws_caller_identity" "current" {}

resource "aws_iam_role" "operator" {
  name = "snaplake-local-operator"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" } }]
  })
}

resource "aws_iam_role_policy" "operator" {
  name = "read-the-lake"
  role = aws_iam_role.operator.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Effect = "Allow", Action = ["s3:ListBucket"], Resource = "arn:aws:s3:::${module.snaplake.bucket}" },
      { Effect = "Allow", Action = ["s3:GetObject"], Resource = "arn:aws:s3:::${module.snaplake.bucket}/*" },
      # The raw key's policy names the role (raw_reader_arns); this lets it use it.
      { Effect = "Allow", Action = ["kms:Decrypt"], Resource = "*" },
    ]
  })
}

module "snaplake" {
  source              = "../../modules/snaplake"
  name                = "snaplake-local"
  source_id           = var.source_id
  masking_policy      = jsondecode(file(var.masking_policy_file != "" ? var.masking_policy_file : "${path.module}/../../../events/masking-policy.json"))
  export_wait_seconds = 60
  hash_salt           = "demo-only-salt"
  hash_salt_version   = var.hash_salt_version
  lambda_packages     = { for f in ["snapshot-export", "export-callback", "export-poller", "catalog-swap", "query-runner"] : f => var.lambda_package != "" ? var.lambda_package : "${path.module}/placeholder.zip" }
  raw_reader_arns     = [aws_iam_role.operator.arn]
  table_format        = var.table_format
}

output "operator_role_arn" {
  description = "Assume it to read run manifests and exports (the deployer may not)."
  value       = aws_iam_role.operator.arn
}

output "state_machine_arn" {
  value = module.snaplake.state_machine_arn
}

output "bucket" {
  value = module.snaplake.bucket
}

output "run_input" {
  value = module.snaplake.run_input
}

output "analyst_policy_json" {
  value = module.snaplake.analyst_policy_json
}

output "operator_policy_json" {
  value = module.snaplake.operator_policy_json
}

output "hash_salt_secret_arn" {
  value = module.snaplake.hash_salt_secret_arn
}
