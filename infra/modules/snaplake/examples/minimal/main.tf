# The smallest deployment: the module creates the lake bucket, both KMS keys
# and everything else. Build the functions first
# (`cargo lambda build --release --arm64 --output-format zip`), then
# `terraform apply -var source_id=<your Aurora cluster>`.
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

variable "packages" {
  description = "The folder where cargo lambda wrote <function>/bootstrap.zip."
  type        = string
  default     = "../../../../../target/lambda"
}

module "snaplake" {
  source    = "../.."
  source_id = var.source_id
  # Publish one table: every column has a rule (keep, hash, redact, drop, ...);
  # a column without one holds its table back. `snaplake policy init` drafts it.
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
      }
    }
  }
  lambda_packages = { for f in ["snapshot-export", "export-callback", "export-poller", "catalog-swap", "query-runner"] : f => "${var.packages}/${f}/bootstrap.zip" }
}

output "state_machine_arn" {
  description = "Start a day by hand with `snaplake run --date <day>`."
  value       = module.snaplake.state_machine_arn
}

output "analyst_policy_json" {
  description = "Attach it to the analysts' role."
  value       = module.snaplake.analyst_policy_json
}

# The deployer's policy: attach it to the role that runs this Terraform
# (apply it from a stack the deployer cannot change).
data "aws_caller_identity" "current" {}

module "deployer_policy" {
  source     = "../../modules/deployer-policy"
  name       = "snaplake"
  account_id = data.aws_caller_identity.current.account_id
  region     = var.region
}

output "deployer_policy_json" {
  description = "The identity policy of the principal that applies this deployment."
  value       = module.deployer_policy.policy_json
}
