# The AWS provider as snaplake's terraform tests mock it: the ARNs the
# module reads, and the two keys apart so a test can tell which one is used.
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

# The two keys get ARNs of their own, so a test can tell which one is used.
override_resource {
  target = aws_kms_key.raw
  values = { arn = "arn:aws:kms:ap-northeast-1:123456789012:key/raw-11111111", key_id = "raw-11111111" }
}
override_resource {
  target = aws_kms_key.curated
  values = { arn = "arn:aws:kms:ap-northeast-1:123456789012:key/curated-2222222", key_id = "curated-2222222" }
}
