# What an analyst needs, and nothing raw: no exports/, no _snaplake/, no raw
# database, not the raw key. Glue access is plain IAM (see README on Lake
# Formation).
locals {
  analyst_workgroup_arn = "arn:${local.partition}:athena:${local.region}:${local.account}:workgroup/${var.name}-analysts"
  analyst_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "QueryInTheAnalystWorkgroup"
        Effect   = "Allow"
        Action   = ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution", "athena:GetWorkGroup", "athena:ListQueryExecutions", "athena:BatchGetQueryExecution"]
        Resource = local.analyst_workgroup_arn
      },
      {
        Sid    = "CuratedCatalog"
        Effect = "Allow"
        Action = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions"]
        Resource = [
          "arn:${local.partition}:glue:${local.region}:${local.account}:catalog",
          "arn:${local.partition}:glue:${local.region}:${local.account}:database/${local.curated_db}",
          "arn:${local.partition}:glue:${local.region}:${local.account}:table/${local.curated_db}/*",
        ]
      },
      {
        Sid       = "ListCuratedAndOwnResults"
        Effect    = "Allow"
        Action    = "s3:ListBucket"
        Resource  = local.bucket_arn
        Condition = { StringLike = { "s3:prefix" = ["${local.curated_prefix}/*", "${local.analyst_results_prefix}/*"] } }
      },
      {
        Sid      = "LocateTheBucket"
        Effect   = "Allow"
        Action   = "s3:GetBucketLocation"
        Resource = local.bucket_arn
      },
      {
        # Write, audit, publish: a curated version is readable only once its
        # audit passed and snaplake tagged its files (shared/src/catalog/audit.rs),
        # so a version that failed is never read, even before it is deleted.
        Sid       = "ReadAuditedCurated"
        Effect    = "Allow"
        Action    = "s3:GetObject"
        Resource  = "${local.bucket_arn}/${local.curated_prefix}/*"
        Condition = { StringEquals = { "s3:ExistingObjectTag/snaplake-audit" = "passed" } }
      },
      {
        Sid      = "ReadOwnQueryResults"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = "${local.bucket_arn}/${local.analyst_results_prefix}/*"
      },
      {
        Sid      = "WriteQueryResults"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:AbortMultipartUpload"]
        Resource = "${local.bucket_arn}/${local.analyst_results_prefix}/*"
      },
      {
        Sid      = "CuratedKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = local.curated_key
      },
    ]
  }
}
