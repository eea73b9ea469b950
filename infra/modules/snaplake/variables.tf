variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "snaplake"
  # It is also the first part of every export id (SNAPLAKE_EXPORT_ID_PREFIX),
  # which the functions check by the same rule (export_id::check_prefix);
  # tests/module.tftest.hcl's name_* runs are the examples both sides share.
  validation {
    condition     = length(var.name) >= 3 && length(var.name) <= 20 && can(regex("^[a-z]([a-z0-9]|-[a-z0-9])*$", var.name))
    error_message = "name: 3 to 20 lowercase letters, digits and single hyphens, starting with a letter and not ending with a hyphen (it starts every export id, which RDS limits)."
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
  description = "The raw key: a customer managed KMS key for the exports, the bucket's default encryption (raw tables, the control prefix) and the salt's secret. Empty: one is created, with rotation, usable only by snaplake's roles and raw_reader_arns. An existing key needs the statements of the output raw_key_policy_json in its key policy. The functions pin it: runs export with this key only."
  type        = string
  default     = ""
  validation {
    condition     = var.kms_key_arn == "" || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn: the key's ARN, arn:aws:kms:<region>:<account>:key/<key id> (not its id or an alias), or empty."
  }
}

variable "curated_kms_key_arn" {
  description = "The curated key: a customer managed KMS key for what analysts read (the curated tables, query results) and for the logs, the failure topic, the schedule and the functions' environments. Empty: one is created, with rotation. An existing key needs the statements of the output curated_key_policy_json in its key policy."
  type        = string
  default     = ""
}

variable "raw_reader_arns" {
  description = "IAM principals (existing role or user ARNs) besides snaplake's roles that may read the raw exports/ and control _snaplake/ prefixes and decrypt with the raw key: e.g. an on-call or data engineer role (the deployer need not be one). Everyone else is denied by the bucket policy."
  type        = list(string)
  default     = []
}

variable "raw_retention_days" {
  description = "Days the raw exports (exports/) are kept, for rollback and re-runs (only when the module creates the bucket)."
  type        = number
  default     = 14
  validation {
    condition     = var.raw_retention_days >= 2
    error_message = "raw_retention_days: at least 2 (a run reads the day's export; a re-run may read it the next day)."
  }
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
  # `snaplake policy init` marks every column under a table's "review";
  # the functions refuse a policy with a review open, so it is refused here,
  # before anything is deployed.
  validation {
    condition     = alltrue([for t in values(try(var.masking_policy.tables, {})) : length(try(t.review, {})) == 0])
    error_message = "masking_policy: a table still has columns marked for review; decide each column's rule and remove its note under \"review\" (`snaplake policy check --file` lists them)."
  }
  validation {
    condition     = alltrue([for t in values(try(var.masking_policy.tables, {})) : contains(["hive", "iceberg"], try(t.table_format, "hive"))])
    error_message = "masking_policy: a table's table_format is \"hive\" or \"iceberg\" (leave it out for the module's table_format)."
  }
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

variable "prices" {
  description = "The prices each run's cost is figured with (run manifest, `snaplake status`, the RunCostUSD metric), in US dollars in the units of AWS's pricing pages. Name only those that differ from us-east-1's on-demand list prices as of 2026-12-01, which are the defaults: athena_per_tb 5, athena_min_mb_per_query 10, step_functions_per_1000_transitions 0.025, lambda_per_million_requests 0.20, rds_export_per_gb 0.010."
  type = object({
    region                              = optional(string)
    as_of                               = optional(string)
    athena_per_tb                       = optional(number)
    athena_min_mb_per_query             = optional(number)
    step_functions_per_1000_transitions = optional(number)
    lambda_per_million_requests         = optional(number)
    rds_export_per_gb                   = optional(number)
  })
  default = {}
  validation {
    condition     = alltrue([for k, v in var.prices : v == null || try(v >= 0, false) if !contains(["region", "as_of"], k)])
    error_message = "prices: every price is zero or more."
  }
  validation {
    condition     = var.prices.athena_min_mb_per_query == null || try(floor(var.prices.athena_min_mb_per_query) == var.prices.athena_min_mb_per_query, false)
    error_message = "prices.athena_min_mb_per_query: a whole number of MB."
  }
}

variable "lineage_to_glue" {
  description = "Post each run's OpenLineage events (START, then COMPLETE or FAIL with every published table's schema, column lineage and audit) to the AWS Glue Data Catalog's lineage graph with glue:PostLineageEvent. The events are written beside each run's manifest either way; a post that fails never fails a run. Set false in a Region without Data Catalog lineage."
  type        = bool
  default     = true
}

variable "table_format" {
  description = "How curated tables are published: \"hive\" repoints each table at the day's folder; \"iceberg\" publishes each day as one Apache Iceberg snapshot of the same table (one Glue UpdateTable, the UUID kept), earlier days readable by time travel (FOR VERSION AS OF) while their folders are kept. A table already published in the other format is not converted: its publish fails with the fix until it is dropped. A table's entry in masking_policy may set its own table_format."
  type        = string
  default     = "hive"
  validation {
    condition     = contains(["hive", "iceberg"], var.table_format)
    error_message = "table_format: \"hive\" or \"iceberg\"."
  }
}

variable "max_row_drop_percent" {
  description = "The quality gate: a table whose new version has more than this many percent fewer rows than the live one is held (the live version stays; `snaplake run --force-table` or the table's max_row_drop_percent in the masking policy accepts it). 100 turns the gate off."
  type        = number
  default     = 50
  validation {
    condition     = var.max_row_drop_percent >= 0 && var.max_row_drop_percent <= 100 && floor(var.max_row_drop_percent) == var.max_row_drop_percent
    error_message = "max_row_drop_percent: a whole number from 0 to 100."
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
  description = "Secret salt of the hash_salted masking rule. Written to Secrets Manager through a write-only attribute: never in Terraform state nor in an environment. Used only when hash_salt_version > 0."
  type        = string
  default     = ""
  sensitive   = true
  ephemeral   = true
}

variable "hash_salt_version" {
  description = "Version of hash_salt: 0, no salt (the hash_salted rule is not available); raise it to write a new salt (Terraform cannot see a write-only value change)."
  type        = number
  default     = 0
  validation {
    condition     = var.hash_salt_version >= 0 && floor(var.hash_salt_version) == var.hash_salt_version
    error_message = "hash_salt_version: a whole number, 0 for no salt."
  }
}

variable "log_retention_days" {
  description = "Days of CloudWatch Logs kept (a year by default: runs are audited)."
  type        = number
  default     = 365
}

variable "export_wait_seconds" {
  description = "How long the run waits for the export's S3 event before it polls: every minute at first, then a tenth of the export's age, at most 15 minutes (a failed export writes no file, so this bounds how late a failure is seen)."
  type        = number
  default     = 900
}

variable "max_concurrency" {
  description = "Batches of raw tables registered in Glue at once (no Athena query runs there)."
  type        = number
  default     = 10
}

variable "athena_max_queries" {
  description = "Athena queries a run keeps active at once (queued and running). Athena refuses a query beyond the account's active DML quota, which counts every workgroup's queries and differs by Region (AWS's example is 25): keep this below it, with room for the analysts' own queries."
  type        = number
  default     = 20
  validation {
    condition     = var.athena_max_queries >= 1 && var.athena_max_queries == floor(var.athena_max_queries)
    error_message = "athena_max_queries must be a whole number of at least 1; see the account's \"Active DML queries\" quota in Service Quotas and keep below it."
  }
}

variable "query_wait_seconds" {
  description = "Seconds a Transform or Verify invocation of query-runner waits for its Athena query before handing the wait to the state machine (a Wait and a poll: 3 state transitions, the price of 18 s of query-runner). At most 40: query-runner's timeout is 60 s. 0 hands every wait to the state machine."
  type        = number
  default     = 15
  validation {
    condition     = var.query_wait_seconds >= 0 && var.query_wait_seconds <= 40 && floor(var.query_wait_seconds) == var.query_wait_seconds
    error_message = "query_wait_seconds: a whole number of seconds from 0 to 40 (query-runner's timeout is 60 s)."
  }
}

variable "no_success_alarm_hours" {
  description = "Hours without a successful run after which the no-successful-run alarm notifies the topic; also the window in which the stale-table alarm expects a report. Above the schedule's interval (a day), at most 168 (CloudWatch's 7-day window)."
  type        = number
  default     = 26
  validation {
    condition     = var.no_success_alarm_hours >= 2 && var.no_success_alarm_hours <= 168 && floor(var.no_success_alarm_hours) == var.no_success_alarm_hours
    error_message = "no_success_alarm_hours: a whole number of hours, 2 to 168 (CloudWatch evaluates at most 7 days)."
  }
}

variable "run_deadline_hours" {
  description = "Hours after its scheduled time by which a run must have finished (its report written), or the run-past-deadline alarm notifies the topic."
  type        = number
  default     = 6
  validation {
    condition     = var.run_deadline_hours >= 1 && var.run_deadline_hours <= 144 && floor(var.run_deadline_hours) == var.run_deadline_hours
    error_message = "run_deadline_hours: a whole number of hours, 1 to 144 (its window, a day plus the deadline, is at most CloudWatch's 7 days)."
  }
}

variable "stale_table_days" {
  description = "Age in days of a table's live version (from its logical time) past which the stale-table alarm notifies the topic."
  type        = number
  default     = 3
  validation {
    condition     = var.stale_table_days > 0
    error_message = "stale_table_days: more than 0."
  }
}
