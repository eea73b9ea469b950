resource "aws_sns_topic" "failures" {
  name = "${var.name}-failures"
  # Curated key: the topic carries run inputs and failure causes, no rows.
  kms_master_key_id = local.curated_key
}

resource "aws_sns_topic_subscription" "email" {
  for_each  = toset(var.notification_emails)
  topic_arn = aws_sns_topic.failures.arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_sns_topic_policy" "failures" {
  arn = aws_sns_topic.failures.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "RdsExportFailureEvents"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sns:Publish"
      Resource  = aws_sns_topic.failures.arn
      Condition = { ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.export_failed.arn } }
      }, {
      # The freshness alarms (monitoring.tf).
      Sid       = "FreshnessAlarms"
      Effect    = "Allow"
      Principal = { Service = "cloudwatch.amazonaws.com" }
      Action    = "sns:Publish"
      Resource  = aws_sns_topic.failures.arn
      Condition = { StringEquals = { "aws:SourceAccount" = local.account }, ArnLike = { "aws:SourceArn" = local.alarm_arn_pattern } }
    }]
  })
}

# RDS reports failed and canceled exports as events; they reach the topic
# even when no run is waiting. Matched by event id, never by message text
# (RDS's wording has changed before): RDS-EVENT-0159/0160 are a DB snapshot
# export failed/canceled, 0162/0163 a cluster snapshot's.
resource "aws_cloudwatch_event_rule" "export_failed" {
  name        = "${var.name}-export-failed"
  description = "RDS snapshot export failed or canceled"
  event_pattern = jsonencode({
    source        = ["aws.rds"]
    "detail-type" = ["RDS DB Snapshot Event", "RDS DB Cluster Snapshot Event"]
    detail        = { EventID = ["RDS-EVENT-0159", "RDS-EVENT-0160", "RDS-EVENT-0162", "RDS-EVENT-0163"] }
  })
}

resource "aws_cloudwatch_event_target" "export_failed" {
  rule = aws_cloudwatch_event_rule.export_failed.name
  arn  = aws_sns_topic.failures.arn
}

# A failed export writes no export_info (no S3 event): the event answers the
# waiting run at once instead of when its wait times out.
resource "aws_cloudwatch_event_target" "export_failed_resumes_the_run" {
  rule = aws_cloudwatch_event_rule.export_failed.name
  arn  = aws_lambda_function.fn["export-callback"].arn
}

resource "aws_lambda_permission" "events_invoke_export_callback" {
  statement_id  = "rds-export-failed"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.fn["export-callback"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.export_failed.arn
}

# RDS's "export completed" events (RDS-EVENT-0161 a DB snapshot's, 0164 a
# cluster snapshot's) resume the waiting run too: whether RDS writes the
# export's last file (whose S3 event resumes it) before or after the task
# says COMPLETE is not documented. To export-callback only, not the topic.
resource "aws_cloudwatch_event_rule" "export_completed" {
  name        = "${var.name}-export-completed"
  description = "RDS snapshot export completed"
  event_pattern = jsonencode({
    source        = ["aws.rds"]
    "detail-type" = ["RDS DB Snapshot Event", "RDS DB Cluster Snapshot Event"]
    detail        = { EventID = ["RDS-EVENT-0161", "RDS-EVENT-0164"] }
  })
}

resource "aws_cloudwatch_event_target" "export_completed_resumes_the_run" {
  rule = aws_cloudwatch_event_rule.export_completed.name
  arn  = aws_lambda_function.fn["export-callback"].arn
}

resource "aws_lambda_permission" "events_invoke_export_callback_on_completion" {
  statement_id  = "rds-export-completed"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.fn["export-callback"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.export_completed.arn
}

resource "aws_cloudwatch_log_group" "pipeline" {
  name              = "/aws/vendedlogs/states/${var.name}-pipeline"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.curated_key
}

resource "aws_iam_role" "pipeline" {
  name = "${var.name}-pipeline"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "states.amazonaws.com" }
      Condition = {
        StringEquals = { "aws:SourceAccount" = local.account }
        # The state machine, and its Distributed Map runs (<state machine>/<map run>).
        ArnLike = { "aws:SourceArn" = ["arn:${local.partition}:states:${local.region}:${local.account}:stateMachine:${var.name}-pipeline", "arn:${local.partition}:states:${local.region}:${local.account}:stateMachine:${var.name}-pipeline/*"] }
      }
    }]
  })
}

locals {
  pipeline_arn = "arn:${local.partition}:states:${local.region}:${local.account}:stateMachine:${var.name}-pipeline"
}

resource "aws_iam_role_policy" "pipeline" {
  name = "run-the-pipeline"
  role = aws_iam_role.pipeline.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Sid = "InvokeTheFunctions", Effect = "Allow", Action = ["lambda:InvokeFunction"], Resource = [for f in aws_lambda_function.fn : f.arn] },
      { Sid = "ReadThePlan", Effect = "Allow", Action = ["s3:GetObject"], Resource = "${local.bucket_arn}/${local.control_prefix}/plans/*" },
      # PublishTables' ResultWriter: the tables' outcomes go to S3, not into the state. The actions are those of the Step Functions
      # developer guide's "IAM policies for ResultWriter" (it writes in multipart uploads).
      { Sid = "WriteTheMapResults", Effect = "Allow", Action = ["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"], Resource = "${local.bucket_arn}/${local.control_prefix}/map-results/*" },
      # "IAM policies for using Distributed Map states": StartExecution on the state machine, Describe/StopExecution on its executions.
      { Sid = "DistributedMapChildren", Effect = "Allow", Action = ["states:StartExecution", "states:DescribeExecution", "states:StopExecution"], Resource = [local.pipeline_arn, "arn:${local.partition}:states:${local.region}:${local.account}:execution:${var.name}-pipeline/*"] },
      { Sid = "NotifyFailures", Effect = "Allow", Action = ["sns:Publish"], Resource = aws_sns_topic.failures.arn },
      merge(local.raw_read_write, { Sid = "RawKeyForPlansAndMapResults" }),
      merge(local.curated_use, { Sid = "CuratedKeyForTheTopic" }),
      { Sid = "LogDeliveryNoResourceLevel", Effect = "Allow", Action = ["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"], Resource = "*" },
      { Sid = "TracingNoResourceLevel", Effect = "Allow", Action = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"], Resource = "*" },
    ]
  })
}

# A table has at most one Athena query active at a time (its transform, then
# its verification), so the queries active at once are the batches published
# at once times the tables of a batch worked on at once.
locals {
  tables_per_batch_concurrency = min(5, var.athena_max_queries)
  publish_concurrency          = max(1, floor(var.athena_max_queries / local.tables_per_batch_concurrency))
}

resource "aws_sfn_state_machine" "pipeline" {
  #checkov:skip=CKV_AWS_285:Logs errors only, without execution data (issue 12.4): states carry table names, locations and the masking policy; the execution history keeps them for 90 days and the functions log what they do.
  name     = "${var.name}-pipeline"
  role_arn = aws_iam_role.pipeline.arn
  definition = templatefile("${path.module}/pipeline.asl.json", {
    snapshot_export_arn     = aws_lambda_function.fn["snapshot-export"].arn
    export_callback_arn     = aws_lambda_function.fn["export-callback"].arn
    export_poller_arn       = aws_lambda_function.fn["export-poller"].arn
    catalog_swap_arn        = aws_lambda_function.fn["catalog-swap"].arn
    query_runner_arn        = aws_lambda_function.fn["query-runner"].arn
    failure_topic_arn       = aws_sns_topic.failures.arn
    export_wait_seconds     = var.export_wait_seconds
    export_poll_seconds     = 60
    query_poll_seconds      = 10
    query_wait_seconds      = var.query_wait_seconds
    snapshot_retry_seconds  = 900
    snapshot_retry_attempts = 12
    # Tables per Map child: the history budget of transform/poll_cadence.rs.
    batch_size                   = 5
    bucket                       = local.bucket
    control_prefix               = local.control_prefix
    max_concurrency              = var.max_concurrency
    publish_concurrency          = local.publish_concurrency
    tables_per_batch_concurrency = local.tables_per_batch_concurrency
  })
  logging_configuration {
    log_destination = "${aws_cloudwatch_log_group.pipeline.arn}:*"
    # Errors only, without the states' input and output (table names,
    # locations, the masking policy): the functions' own logs tell on call
    # what each step did, and the execution history keeps the data.
    include_execution_data = false
    level                  = "ERROR"
  }
  tracing_configuration {
    enabled = true
  }
}

# The run's input: what the schedule sends, with its scheduled time as the
# logical time. `snaplake run --date` sends the same shape.
locals {
  run_input = {
    logical_time = "<aws.scheduler.scheduled-time>"
    export = {
      source_id                = var.source_id
      source_kind              = var.source_kind
      kms_key                  = local.raw_key
      export_role_arn          = aws_iam_role.export.arn
      tables                   = var.tables
      include_manual_snapshots = false
      snapshot_deadline_hours  = 6
    }
    publish = {
      policy_digest     = local.policy_digest
      on_table_failure  = var.on_table_failure
      schema_policy     = "fail"
      layout            = "versioned"
      scan_budget_bytes = var.scan_budget_bytes
      keep              = var.keep_versions
      # The quality gate: a table whose rows fall by more is held.
      max_row_drop_percent = var.max_row_drop_percent
    }
  }
}

resource "aws_sqs_queue" "schedule_dlq" {
  name                      = "${var.name}-schedule-dlq"
  kms_master_key_id         = local.curated_key
  message_retention_seconds = 1209600
}

resource "aws_iam_role" "scheduler" {
  name = "${var.name}-scheduler"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "scheduler.amazonaws.com" }
      Condition = {
        StringEquals = { "aws:SourceAccount" = local.account }
        ArnLike      = { "aws:SourceArn" = "arn:${local.partition}:scheduler:${local.region}:${local.account}:schedule-group/default" }
      }
    }]
  })
}

resource "aws_iam_role_policy" "scheduler" {
  name = "start-the-pipeline"
  role = aws_iam_role.scheduler.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Sid = "StartRuns", Effect = "Allow", Action = ["states:StartExecution"], Resource = aws_sfn_state_machine.pipeline.arn },
      { Sid = "DeadLetters", Effect = "Allow", Action = ["sqs:SendMessage"], Resource = aws_sqs_queue.schedule_dlq.arn },
      merge(local.curated_use, { Sid = "CuratedKeyForDeadLetters" }),
    ]
  })
}

resource "aws_scheduler_schedule" "daily" {
  name                         = "${var.name}-daily"
  schedule_expression          = var.schedule_expression
  schedule_expression_timezone = var.schedule_time_zone
  kms_key_arn                  = local.curated_key
  flexible_time_window {
    mode = "OFF"
  }
  target {
    arn      = aws_sfn_state_machine.pipeline.arn
    role_arn = aws_iam_role.scheduler.arn
    # Scheduler replaces <aws.scheduler.scheduled-time> in the raw text;
    # jsonencode escapes < and > as \u003c and \u003e, which it would not
    # recognise. Undone here (< and > need no escape in JSON).
    input = replace(replace(jsonencode(local.run_input), "\\u003c", "<"), "\\u003e", ">")
    retry_policy {
      maximum_event_age_in_seconds = 3600
      maximum_retry_attempts       = 5
    }
    dead_letter_config {
      arn = aws_sqs_queue.schedule_dlq.arn
    }
  }
}
