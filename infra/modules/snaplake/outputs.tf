output "bucket" {
  value = local.bucket
}

output "state_machine_arn" {
  value = aws_sfn_state_machine.pipeline.arn
}

output "failure_topic_arn" {
  value = aws_sns_topic.failures.arn
}

output "function_names" {
  value = { for k, f in aws_lambda_function.fn : k => f.function_name }
}

output "raw_database" {
  value = aws_glue_catalog_database.raw.name
}

output "curated_database" {
  value = aws_glue_catalog_database.curated.name
}

output "run_input" {
  description = "The input the schedule sends (with the scheduled time as logical_time)."
  value       = local.run_input
}
