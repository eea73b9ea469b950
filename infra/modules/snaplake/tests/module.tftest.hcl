# terraform test (plan and apply against a mocked provider: no AWS account).
mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { name = "ap-northeast-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:ap-northeast-1:123456789012:key/11111111-2222-3333-4444-555555555555" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mocked" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:ap-northeast-1:123456789012:function:mocked" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:ap-northeast-1:123456789012:mocked" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:ap-northeast-1:123456789012:mocked" }
  }
  mock_resource "aws_sfn_state_machine" {
    defaults = { arn = "arn:aws:states:ap-northeast-1:123456789012:stateMachine:mocked" }
  }
  mock_resource "aws_cloudwatch_event_rule" {
    defaults = { arn = "arn:aws:events:ap-northeast-1:123456789012:rule/mocked" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:ap-northeast-1:123456789012:log-group:mocked" }
  }
}

variables {
  source_id = "shop-prod"
  lambda_packages = {
    "snapshot-export" = "../../envs/local/placeholder.zip"
    "export-callback" = "../../envs/local/placeholder.zip"
    "export-poller"   = "../../envs/local/placeholder.zip"
    "catalog-swap"    = "../../envs/local/placeholder.zip"
    "query-runner"    = "../../envs/local/placeholder.zip"
  }
}

run "defaults_are_encrypted_private_and_scheduled" {
  command = apply

  assert {
    condition     = aws_scheduler_schedule.daily.schedule_expression == "cron(0 4 * * ? *)" && aws_scheduler_schedule.daily.schedule_expression_timezone == "Asia/Tokyo"
    error_message = "the default schedule is daily at 04:00 Asia/Tokyo"
  }
  assert {
    condition     = jsondecode(aws_scheduler_schedule.daily.target[0].input).logical_time == "<aws.scheduler.scheduled-time>"
    error_message = "runs are keyed by the schedule's scheduled time"
  }
  assert {
    condition     = aws_scheduler_schedule.daily.target[0].dead_letter_config[0].arn != "" && aws_scheduler_schedule.daily.target[0].retry_policy[0].maximum_retry_attempts > 0
    error_message = "the schedule retries and has a dead-letter queue"
  }
  assert {
    condition     = aws_kms_key.lake[0].enable_key_rotation
    error_message = "the created key rotates"
  }
  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.lake[0].rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms"
    error_message = "the bucket is SSE-KMS"
  }
  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.lake[0].block_public_acls,
      aws_s3_bucket_public_access_block.lake[0].block_public_policy,
      aws_s3_bucket_public_access_block.lake[0].ignore_public_acls,
      aws_s3_bucket_public_access_block.lake[0].restrict_public_buckets,
    ])
    error_message = "public access is blocked"
  }
  assert {
    condition     = jsondecode(aws_s3_bucket_policy.lake[0].policy).Statement[0].Effect == "Deny" && jsondecode(aws_s3_bucket_policy.lake[0].policy).Statement[0].Condition.Bool["aws:SecureTransport"] == "false"
    error_message = "the bucket refuses requests without TLS"
  }
  assert {
    condition     = aws_athena_workgroup.snaplake.configuration[0].enforce_workgroup_configuration && aws_athena_workgroup.snaplake.configuration[0].result_configuration[0].encryption_configuration[0].encryption_option == "SSE_KMS"
    error_message = "the workgroup enforces KMS-encrypted results"
  }
  assert {
    condition     = alltrue([for f in aws_lambda_function.fn : f.runtime == "provided.al2023" && f.architectures[0] == "arm64" && f.kms_key_arn != ""])
    error_message = "functions are provided.al2023 on arm64 with encrypted environments"
  }
  assert {
    condition     = jsondecode(aws_iam_role.export.assume_role_policy).Statement[0].Principal.Service == "export.rds.amazonaws.com"
    error_message = "the export role is trusted by export.rds.amazonaws.com only"
  }
  assert {
    condition = alltrue(flatten([for p in aws_iam_role_policy.fn : [for s in jsondecode(p.policy).Statement :
    [for a in flatten([s.Action]) : a != "*" && !endswith(a, ":*")]]]))
    error_message = "no function may use a wildcard action"
  }
  assert {
    condition = alltrue(flatten([for p in aws_iam_role_policy.fn : [for s in jsondecode(p.policy).Statement :
    s.Resource != "*" || strcontains(s.Sid, "NoResourceLevel")]]))
    error_message = "a wildcard resource is only allowed where the API has no resource-level permissions (Sid says so)"
  }
  assert {
    condition     = aws_s3_bucket_notification.exports[0].eventbridge && length(aws_s3_bucket_notification.exports[0].lambda_function) == 0
    error_message = "the created bucket sends its events to EventBridge"
  }
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.export_info.event_pattern).detail.bucket.name == ["snaplake-lake-123456789012"] && (
    jsondecode(aws_cloudwatch_event_rule.export_info.event_pattern).detail.object.key[0].wildcard == "exports/*export_info_*.json")
    error_message = "export_info files in the lake bucket reach export-callback through EventBridge"
  }
  assert {
    condition     = aws_cloudwatch_event_target.export_info_resumes_the_run.arn == aws_lambda_function.fn["export-callback"].arn && aws_lambda_permission.export_info_invokes_export_callback.principal == "events.amazonaws.com"
    error_message = "the export_info rule invokes export-callback, which lets it"
  }
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.export_failed.event_pattern).detail == {
      EventID = ["RDS-EVENT-0159", "RDS-EVENT-0160", "RDS-EVENT-0162", "RDS-EVENT-0163"]
    }
    error_message = "failed and canceled exports (instance and cluster) are matched by EventID, not by message text"
  }
  assert {
    condition     = aws_sfn_state_machine.pipeline.logging_configuration[0].level != "OFF" && aws_sfn_state_machine.pipeline.tracing_configuration[0].enabled
    error_message = "the state machine logs and traces"
  }
}

run "an_existing_key_and_bucket_are_used_not_created" {
  command = apply
  variables {
    kms_key_arn   = "arn:aws:kms:ap-northeast-1:123456789012:key/existing"
    create_bucket = false
    bucket_name   = "my-existing-lake"
  }
  assert {
    condition     = length(aws_kms_key.lake) == 0 && length(aws_s3_bucket.lake) == 0
    error_message = "nothing is created when given"
  }
  assert {
    condition     = length(aws_s3_bucket_notification.exports) == 0
    error_message = "an existing bucket's notifications are never touched (other consumers keep theirs)"
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.export_info.event_pattern).detail.bucket.name == ["my-existing-lake"] && aws_lambda_permission.export_info_invokes_export_callback.source_arn == aws_cloudwatch_event_rule.export_info.arn
    error_message = "export_info events of the existing bucket arrive through EventBridge"
  }
  assert {
    condition     = aws_athena_workgroup.snaplake.configuration[0].result_configuration[0].encryption_configuration[0].kms_key_arn == "arn:aws:kms:ap-northeast-1:123456789012:key/existing"
    error_message = "the given key is used"
  }
}

run "a_bad_schedule_is_refused" {
  command = plan
  variables {
    schedule_expression = "every day at four"
  }
  expect_failures = [var.schedule_expression]
}
