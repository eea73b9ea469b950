# What an operator needs to follow the runs (`snaplake status`) without raw
# access: the deployment's configuration (the functions' environments and
# the schedule, both encrypted with the curated key), the executions, the
# exports' states, where each curated table points, and the run manifests,
# which Report writes with the curated key under _snaplake/runs/ (the one
# control prefix the bucket policy leaves to IAM, beside the pinned masking
# policy). No export, no raw table, not the raw key: on-call roles that must
# read raw data go in raw_reader_arns.
locals {
  state_machine_name = "${var.name}-pipeline"
  operator_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "FindTheDeployment"
        Effect   = "Allow"
        Action   = ["lambda:GetFunctionConfiguration"]
        Resource = [for f in local.functions : "arn:${local.partition}:lambda:${local.region}:${local.account}:function:${var.name}-${f}"]
      },
      {
        Sid      = "TheScheduleAndItsInput"
        Effect   = "Allow"
        Action   = ["scheduler:GetSchedule"]
        Resource = "arn:${local.partition}:scheduler:${local.region}:${local.account}:schedule/default/${var.name}-daily"
      },
      {
        Sid      = "TheRuns"
        Effect   = "Allow"
        Action   = ["states:ListExecutions", "states:DescribeStateMachine"]
        Resource = "arn:${local.partition}:states:${local.region}:${local.account}:stateMachine:${local.state_machine_name}"
      },
      {
        Sid      = "EachRunAndItsHistory"
        Effect   = "Allow"
        Action   = ["states:DescribeExecution", "states:GetExecutionHistory"]
        Resource = "arn:${local.partition}:states:${local.region}:${local.account}:execution:${local.state_machine_name}:*"
      },
      {
        # Where each curated table points now (a rollback may have moved it).
        Sid    = "CuratedCatalog"
        Effect = "Allow"
        Action = ["glue:GetTable"]
        Resource = [
          "arn:${local.partition}:glue:${local.region}:${local.account}:catalog",
          "arn:${local.partition}:glue:${local.region}:${local.account}:database/${local.curated_db}",
          "arn:${local.partition}:glue:${local.region}:${local.account}:table/${local.curated_db}/*",
        ]
      },
      {
        # rds:DescribeExportTasks has no resource-level permissions.
        Sid      = "ExportStatesNoResourceLevel"
        Effect   = "Allow"
        Action   = ["rds:DescribeExportTasks"]
        Resource = "*"
      },
      {
        Sid       = "ListRunManifests"
        Effect    = "Allow"
        Action    = "s3:ListBucket"
        Resource  = local.bucket_arn
        Condition = { StringLike = { "s3:prefix" = ["${local.runs_prefix}*"] } }
      },
      {
        Sid      = "ReadRunManifests"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = "${local.bucket_arn}/${local.runs_prefix}*"
      },
      {
        # The manifests, the functions' environments and the schedule's input.
        Sid      = "CuratedKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = local.curated_key
      },
    ]
  }
}
