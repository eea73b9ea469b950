output "bucket" {
  description = "The lake bucket: exports/ (raw), curated/, _snaplake/ (control), query results."
  value       = local.bucket
}

output "state_machine_arn" {
  description = "The pipeline's Step Functions state machine: the schedule starts it daily; `snaplake run` starts it for a day."
  value       = aws_sfn_state_machine.pipeline.arn
}

output "failure_topic_arn" {
  description = "The SNS topic a failed run notifies (notification_emails subscribe to it)."
  value       = aws_sns_topic.failures.arn
}

output "function_names" {
  description = "The Lambda functions' names, by function (snapshot-export, export-callback, export-poller, catalog-swap, query-runner)."
  value       = { for k, f in aws_lambda_function.fn : k => f.function_name }
}

output "raw_database" {
  description = "The Glue database of the raw tables (the exports, unmasked): not for analysts."
  value       = aws_glue_catalog_database.raw.name
}

output "curated_database" {
  description = "The Glue database analysts query: the masked, audited tables."
  value       = aws_glue_catalog_database.curated.name
}

output "run_input" {
  description = "The input the schedule sends (with the scheduled time as logical_time)."
  value       = local.run_input
}

output "analyst_workgroup" {
  description = "The Athena workgroup analysts query in (results under analyst-results/)."
  value       = aws_athena_workgroup.analysts.name
}

output "analyst_policy_json" {
  description = "The IAM policy an analyst needs (attach it to their role): the curated database and tables, the curated prefix, the curated key, the analysts' workgroup and its results prefix. Nothing raw."
  value       = jsonencode(local.analyst_policy)
}

output "operator_policy_json" {
  description = "The IAM policy an operator needs for `snaplake status` (attach it to their role): the functions' configuration, the schedule, the executions, the exports' states, where each curated table points, the run manifests and the curated key. Nothing raw."
  value       = jsonencode(local.operator_policy)
}

output "bucket_policy_json" {
  description = "The bucket policy the module sets on a bucket it creates; merge these statements into an existing bucket's policy."
  value       = jsonencode(local.bucket_policy)
}

output "hash_salt_secret_arn" {
  description = "The Secrets Manager secret holding the hash_salted rule's salt."
  value       = aws_secretsmanager_secret.hash_salt.arn
}

output "role_arns" {
  description = "snaplake's roles (functions, RDS export, pipeline): what an existing raw key's policy must let use the key."
  value       = merge({ for k, r in aws_iam_role.fn : k => r.arn }, { "rds-export" = aws_iam_role.export.arn, pipeline = aws_iam_role.pipeline.arn })
}

output "raw_key_policy_json" {
  description = "The key policy the module gives a raw key it creates. For an existing kms_key_arn, merge its statements into the key's policy (the first administers the key; keep your own if you have one): without them snaplake's roles and the RDS export cannot use the key."
  value       = jsonencode(local.raw_key_policy)
}

output "curated_key_policy_json" {
  description = "The key policy the module gives a curated key it creates. For an existing curated_kms_key_arn, merge its statements into the key's policy: CloudWatch Logs, CloudWatch alarms and EventBridge use the key through it."
  value       = jsonencode(local.curated_key_policy)
}
