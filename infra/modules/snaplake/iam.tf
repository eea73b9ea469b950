# One role per function, each allowed only what its code calls. Where an
# API has no resource-level permissions the statement says so and uses "*":
# rds:DescribeExportTasks, rds:DescribeDBClusterSnapshots/DescribeDBSnapshots
# (filtered by the request, not the resource), rds:StartExportTask (the
# Service Authorization Reference lists no resource type for it: a statement
# naming snapshot ARNs could be denied), states:SendTask* (addressed by
# token), athena:GetQueryExecution is scoped to the workgroup.
#
# KMS: the functions read and write S3 objects with SSE-KMS, which takes
# kms:Decrypt and kms:GenerateDataKey (never kms:Encrypt); only
# snapshot-export calls KMS itself (DescribeKey, and CreateGrant through RDS).

locals {
  # Whether any table is published as Iceberg: the module's table_format, or a table's own in the masking policy.
  any_iceberg = var.table_format == "iceberg" || anytrue([for t in values(try(var.masking_policy.tables, {})) : try(t.table_format, "") == "iceberg"])

  lambda_trust = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "lambda.amazonaws.com" }, Condition = { StringEquals = { "aws:SourceAccount" = local.account } } }]
  })
  log_group_arn = { for f in local.functions : f => "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws/lambda/${var.name}-${f}:*" }

  glue_tables = [
    "arn:${local.partition}:glue:${local.region}:${local.account}:catalog",
    "arn:${local.partition}:glue:${local.region}:${local.account}:database/${local.raw_database}",
    "arn:${local.partition}:glue:${local.region}:${local.account}:database/${local.curated_db}",
    "arn:${local.partition}:glue:${local.region}:${local.account}:table/${local.raw_database}/*",
    "arn:${local.partition}:glue:${local.region}:${local.account}:table/${local.curated_db}/*",
    "arn:${local.partition}:glue:${local.region}:${local.account}:tableVersion/${local.raw_database}/*",
    "arn:${local.partition}:glue:${local.region}:${local.account}:tableVersion/${local.curated_db}/*",
  ]
  workgroup_arn = "arn:${local.partition}:athena:${local.region}:${local.account}:workgroup/${var.name}"

  # StartExport posts the run's lineage START, Report its end (shared/src/lineage.rs). "glue:PostLineageEvent doesn't support
  # resource-level permissions. Use "Resource": "*"." (AWS Glue developer guide, "Permissions required for data lineage").
  post_lineage = var.lineage_to_glue ? [
    { Sid = "PostRunLineageNoResourceLevel", Effect = "Allow", Action = ["glue:PostLineageEvent"], Resource = "*" },
  ] : []

  function_statements = {
    "snapshot-export" = concat([
      { Sid = "FindSnapshotsAndExportsNoResourceLevel", Effect = "Allow", Action = ["rds:DescribeDBClusterSnapshots", "rds:DescribeDBSnapshots", "rds:DescribeExportTasks"], Resource = "*" },
      # What the export can write is bounded by the export role passed with it (this bucket's exports/ only).
      { Sid = "StartExportNoResourceLevel", Effect = "Allow", Action = ["rds:StartExportTask"], Resource = "*" },
      # Which of the two RDS sends as iam:PassedToService is not documented: both are allowed, nothing else.
      { Sid = "HandTheExportRoleToRds", Effect = "Allow", Action = ["iam:PassRole"], Resource = aws_iam_role.export.arn, Condition = { StringEquals = { "iam:PassedToService" = ["export.rds.amazonaws.com", "rds.amazonaws.com"] } } },
      { Sid = "PreflightTheKey", Effect = "Allow", Action = ["kms:DescribeKey"], Resource = local.raw_key },
      { Sid = "LetRdsGrantItselfTheKey", Effect = "Allow", Action = ["kms:CreateGrant"], Resource = local.raw_key, Condition = { Bool = { "kms:GrantIsForAWSResource" = "true" } } },
      { Sid = "PreflightTheBucket", Effect = "Allow", Action = ["s3:ListBucket"], Resource = local.bucket_arn },
      # A run may only name the pinned policy: its object's SHA-256 (HeadObject, s3:GetObject) is compared with the digest before the export starts.
      { Sid = "ReadThePinnedPolicy", Effect = "Allow", Action = ["s3:GetObject"], Resource = "${local.bucket_arn}/${local.control_prefix}/policy/*" },
      merge(local.curated_read, { Sid = "CuratedKeyForThePinnedPolicy" }),
    ], local.post_lineage)
    "export-callback" = [
      { Sid = "ExportStatusNoResourceLevel", Effect = "Allow", Action = ["rds:DescribeExportTasks"], Resource = "*" },
      { Sid = "TaskTokensAndDayLocks", Effect = "Allow", Action = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource = ["${local.bucket_arn}/${local.control_prefix}/tokens/*", "${local.bucket_arn}/${local.control_prefix}/locks/*"] },
      # Unconditioned: S3 answers a GetObject of a missing key with 404 only to a caller with s3:ListBucket on the bucket, else 403 AccessDenied
      # (S3 API reference, GetObject "Permissions"); a released lock or an answered token must read as missing, not as a refusal.
      { Sid = "ListTaskTokensAndMissingKeysAnswer404", Effect = "Allow", Action = ["s3:ListBucket"], Resource = local.bucket_arn },
      { Sid = "DayLockHolderState", Effect = "Allow", Action = ["states:DescribeExecution"], Resource = "arn:${local.partition}:states:${local.region}:${local.account}:execution:${var.name}-pipeline:*" },
      { Sid = "ResumeRunsByTokenNoResourceLevel", Effect = "Allow", Action = ["states:SendTaskSuccess", "states:SendTaskFailure"], Resource = "*" },
      merge(local.raw_read_write, { Sid = "RawKeyForTokens" }),
    ]
    "export-poller" = [
      { Sid = "ExportStatusNoResourceLevel", Effect = "Allow", Action = ["rds:DescribeExportTasks"], Resource = "*" },
      { Sid = "ListExports", Effect = "Allow", Action = ["s3:ListBucket"], Resource = local.bucket_arn, Condition = { StringLike = { "s3:prefix" = ["${local.export_prefix}/*"] } } },
      { Sid = "ReadExportManifests", Effect = "Allow", Action = ["s3:GetObject"], Resource = "${local.bucket_arn}/${local.export_prefix}/*" },
      { Sid = "WritePlans", Effect = "Allow", Action = ["s3:PutObject"], Resource = "${local.bucket_arn}/${local.control_prefix}/plans/*" },
      merge(local.raw_read_write, { Sid = "RawKeyForManifestsAndPlans" }),
    ]
    "catalog-swap" = concat([
      # GetTables: the report reads the live versions' ages for its metrics.
      { Sid = "Catalog", Effect = "Allow", Action = ["glue:GetTable", "glue:GetTables", "glue:CreateTable", "glue:UpdateTable", "glue:GetTableVersions", "glue:BatchDeleteTableVersion"], Resource = local.glue_tables },
      { Sid = "ListTheLake", Effect = "Allow", Action = ["s3:ListBucket"], Resource = local.bucket_arn, Condition = { StringLike = { "s3:prefix" = ["${local.export_prefix}/*", "${local.curated_prefix}/*"] } } },
      { Sid = "ReadFootersAndVersions", Effect = "Allow", Action = ["s3:GetObject"], Resource = ["${local.bucket_arn}/${local.export_prefix}/*", "${local.bucket_arn}/${local.curated_prefix}/*"] },
      { Sid = "RetentionOfCuratedVersions", Effect = "Allow", Action = ["s3:DeleteObject"], Resource = "${local.bucket_arn}/${local.curated_prefix}/*" },
      # Write, audit, publish (shared/src/catalog/audit.rs): a version's files become readable to analysts by this tag, set once its audit passed.
      { Sid = "TagAuditedVersionsReadable", Effect = "Allow", Action = ["s3:PutObjectTagging"], Resource = "${local.bucket_arn}/${local.curated_prefix}/*" },
      { Sid = "DropAuditCandidateTables", Effect = "Allow", Action = ["glue:DeleteTable"], Resource = ["arn:${local.partition}:glue:${local.region}:${local.account}:catalog", "arn:${local.partition}:glue:${local.region}:${local.account}:database/${local.raw_database}", "arn:${local.partition}:glue:${local.region}:${local.account}:table/${local.raw_database}/*__candidate"] },
      # The report reads the PublishTables Map's results and the plan's
      # skipped tables, and writes the run's manifest.
      { Sid = "ReadRunResults", Effect = "Allow", Action = ["s3:GetObject"], Resource = ["${local.bucket_arn}/${local.control_prefix}/map-results/*", "${local.bucket_arn}/${local.control_prefix}/plans/*", "${local.bucket_arn}/${local.control_prefix}/runs/*"] },
      { Sid = "WriteRunManifests", Effect = "Allow", Action = ["s3:PutObject"], Resource = "${local.bucket_arn}/${local.control_prefix}/runs/*" },
      # The run's lineage says what the policy did to each column (shared/src/lineage.rs).
      { Sid = "ReadThePinnedPolicy", Effect = "Allow", Action = ["s3:GetObject"], Resource = "${local.bucket_arn}/${local.control_prefix}/policy/*" },
      # The report counts the states and Lambda tasks its run ran so far, for the run's cost (shared/src/cost.rs).
      { Sid = "ReadItsRunsHistory", Effect = "Allow", Action = ["states:GetExecutionHistory"], Resource = "arn:${local.partition}:states:${local.region}:${local.account}:execution:${local.state_machine_name}:*" },
      merge(local.raw_read_write, { Sid = "RawKeyForExportFootersPlansAndMapResults" }),
      merge(local.curated_use, { Sid = "CuratedKeyForVersionFootersAndRunManifests" }),
      ], local.post_lineage, local.any_iceberg ? [
      # table_format = "iceberg" (the module's, or a table's in the masking policy): each publish writes the table's Iceberg metadata beside its versions (shared/src/catalog/ops/iceberg_commit.rs).
      { Sid = "WriteIcebergMetadata", Effect = "Allow", Action = ["s3:PutObject"], Resource = "${local.bucket_arn}/${local.curated_prefix}/*/metadata/*" },
    ] : [])
    "query-runner" = concat([
      { Sid = "Queries", Effect = "Allow", Action = ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution", "athena:GetWorkGroup"], Resource = local.workgroup_arn },
      # GetTables: ValidatePolicy reads a large run's raw tables a page at a time.
      { Sid = "CatalogRead", Effect = "Allow", Action = ["glue:GetTable", "glue:GetTables", "glue:GetDatabase", "glue:GetPartitions"], Resource = local.glue_tables },
      # Athena reads and writes with the caller's rights; the bucket and object actions are those Athena's user guide lists for query results
      # ("Identity-based policies": GetBucketLocation, ListBucket, ListBucketMultipartUploads; GetObject, PutObject, ListMultipartUploadParts, AbortMultipartUpload).
      { Sid = "ListTheLake", Effect = "Allow", Action = ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"], Resource = local.bucket_arn },
      { Sid = "ReadData", Effect = "Allow", Action = ["s3:GetObject"], Resource = ["${local.bucket_arn}/${local.export_prefix}/*", "${local.bucket_arn}/${local.curated_prefix}/*", "${local.bucket_arn}/${local.control_prefix}/*"] },
      { Sid = "WriteCuratedAndResults", Effect = "Allow", Action = ["s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"], Resource = ["${local.bucket_arn}/${local.curated_prefix}/*", "${local.bucket_arn}/${local.control_prefix}/athena/*", "${local.bucket_arn}/${local.control_prefix}/results/*"] },
      # Raw: reads exports and the plan, writes large results; curated: UNLOAD and query results.
      merge(local.raw_read_write, { Sid = "RawKeyForExportsPlansAndResults" }),
      merge(local.curated_use, { Sid = "CuratedKeyForUnloadAndQueryResults" }),
      ], var.hash_salt_version > 0 ? [
      { Sid = "ReadTheHashSalt", Effect = "Allow", Action = ["secretsmanager:GetSecretValue"], Resource = aws_secretsmanager_secret.hash_salt.arn },
    ] : [])
  }
}

resource "aws_iam_role" "fn" {
  for_each           = local.functions
  name               = "${var.name}-${each.key}"
  assume_role_policy = local.lambda_trust
}

resource "aws_iam_role_policy" "fn" {
  for_each = local.functions
  name     = "${each.key}-least-privilege"
  role     = aws_iam_role.fn[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(local.function_statements[each.key], [
      { Sid = "OwnLogs", Effect = "Allow", Action = ["logs:CreateLogStream", "logs:PutLogEvents"], Resource = local.log_group_arn[each.key] },
      { Sid = "TracingNoResourceLevel", Effect = "Allow", Action = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], Resource = "*" },
    ])
  })
}

# The role RDS assumes to write the export.
resource "aws_iam_role" "export" {
  name = "${var.name}-rds-export"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "export.rds.amazonaws.com" }, Condition = { StringEquals = { "aws:SourceAccount" = local.account } } }]
  })
}

resource "aws_iam_role_policy" "export" {
  name = "write-exports"
  role = aws_iam_role.export.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Sid = "Bucket", Effect = "Allow", Action = ["s3:ListBucket", "s3:GetBucketLocation"], Resource = local.bucket_arn },
      { Sid = "Objects", Effect = "Allow", Action = ["s3:PutObject*", "s3:GetObject*", "s3:DeleteObject*"], Resource = "${local.bucket_arn}/${local.export_prefix}/*" },
      merge(local.raw_read_write, { Sid = "RawKeyForExports" }),
    ]
  })
}
