variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "snaplake"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name: 3 to 32 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "source_id" {
  description = "Identifier of the Aurora cluster (or RDS instance) whose automated snapshots are exported."
  type        = string
}

variable "source_kind" {
  description = "cluster (Aurora) or instance (other RDS engines)."
  type        = string
  default     = "cluster"
  validation {
    condition     = contains(["cluster", "instance"], var.source_kind)
    error_message = "source_kind: cluster or instance."
  }
}

variable "bucket_name" {
  description = "The lake bucket. Empty: <name>-lake-<account id>."
  type        = string
  default     = ""
}

variable "create_bucket" {
  description = "Create the bucket (true) or use an existing one named bucket_name (false); an existing bucket's notifications are left alone: turn on its EventBridge delivery (snaplake doctor checks it)."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for exports, the bucket, logs and the topic. Empty: one is created, with rotation."
  type        = string
  default     = ""
}

variable "schedule_expression" {
  description = "EventBridge Scheduler expression of the daily run."
  type        = string
  default     = "cron(0 4 * * ? *)"
  validation {
    condition     = can(regex("^cron\\(\\S+ \\S+ \\S+ \\S+ \\S+ \\S+\\)$", var.schedule_expression)) || can(regex("^rate\\([1-9][0-9]* (minutes?|hours?|days?)\\)$", var.schedule_expression))
    error_message = "schedule_expression: cron(minutes hours day-of-month month day-of-week year) or rate(n unit)."
  }
}

variable "schedule_time_zone" {
  description = "IANA time zone of the schedule, and in which a run's logical day is counted."
  type        = string
  default     = "Asia/Tokyo"
}

variable "tables" {
  description = "ExportOnly: databases, db.table or db.schema.table. Empty exports everything."
  type        = list(string)
  default     = []
}

variable "masking_policy" {
  description = "The masking policy (see events/masking-policy.json)."
  type        = any
  default     = {}
}

variable "on_table_failure" {
  description = "Tables the export did not complete: fail the run, or skip them and report."
  type        = string
  default     = "fail"
  validation {
    condition     = contains(["fail", "skip"], var.on_table_failure)
    error_message = "on_table_failure: fail or skip."
  }
}

variable "keep_versions" {
  description = "Curated versions kept per table (at least 2)."
  type        = number
  default     = 4
  validation {
    condition     = var.keep_versions >= 2 && var.keep_versions <= 1000
    error_message = "keep_versions: 2 to 1000."
  }
}

variable "scan_budget_bytes" {
  description = "Bytes one query may scan before snaplake stops it (and the workgroup's cutoff)."
  type        = number
  default     = 107374182400
}

variable "notification_emails" {
  description = "E-mail addresses told about failed runs and failed exports."
  type        = list(string)
  default     = []
}

variable "architecture" {
  description = "Lambda architecture: arm64 or x86_64."
  type        = string
  default     = "arm64"
  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture: arm64 or x86_64."
  }
}

variable "lambda_packages" {
  description = "Zip per function (snapshot-export, export-callback, export-poller, catalog-swap, query-runner), as `cargo lambda build --release --arm64 --output-format zip` writes them under target/lambda/<function>/bootstrap.zip."
  type        = map(string)
}

variable "hash_salt" {
  description = "Secret salt of the hash_salted masking rule (empty: the rule is not available)."
  type        = string
  default     = ""
  sensitive   = true
}

variable "log_retention_days" {
  description = "Days of CloudWatch Logs kept (a year by default: runs are audited)."
  type        = number
  default     = 365
}

variable "export_wait_seconds" {
  description = "How long the run waits for the export's S3 event before it polls every minute (a failed export writes no file, so this bounds how late a failure is seen)."
  type        = number
  default     = 900
}

variable "max_concurrency" {
  description = "Batches of tables worked on at once."
  type        = number
  default     = 10
}
