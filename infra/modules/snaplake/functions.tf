# Curated key (see kms.tf): logs carry ids, table names and SQL, never rows
# or the salt; CloudWatch Logs decrypts for whoever may read the group.
resource "aws_cloudwatch_log_group" "fn" {
  for_each          = local.functions
  name              = "/aws/lambda/${var.name}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.curated_key
}

resource "aws_lambda_function" "fn" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by Step Functions (errors go to its Retry/Catch) or by S3 (the run falls back to polling); a DLQ would hold nothing actionable.
  #checkov:skip=CKV_AWS_117:Talks only to AWS APIs; a VPC would add NAT cost and cold-start time for no isolation gain. Add vpc_config in a fork if policy requires.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile the operator owns.
  #checkov:skip=CKV_AWS_115:Concurrency is bounded by the state machine's MaxConcurrency; reserving it would take from the account pool.
  for_each         = local.functions
  function_name    = "${var.name}-${each.key}"
  role             = aws_iam_role.fn[each.key].arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  filename         = var.lambda_packages[each.key]
  source_code_hash = filebase64sha256(var.lambda_packages[each.key])
  memory_size      = 256
  timeout          = 60
  kms_key_arn      = local.curated_key
  environment {
    # query-runner reads the salt from Secrets Manager at start-up: the
    # environment holds where it is, never the salt.
    variables = each.key == "query-runner" && var.hash_salt_version > 0 ? merge(local.function_env, { SNAPLAKE_HASH_SALT_SECRET = aws_secretsmanager_secret.hash_salt.arn }) : local.function_env
  }
  tracing_config {
    mode = "Active"
  }
  # Logs go to /aws/lambda/<name> (the group above, created first so its
  # retention and key apply); the functions write JSON lines themselves.
  depends_on = [aws_cloudwatch_log_group.fn]
}
