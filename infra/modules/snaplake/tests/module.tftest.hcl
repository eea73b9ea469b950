# terraform test (plan and apply against a mocked provider: no AWS account).
mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  source_id = "shop-prod"
  # terraform test hands an ephemeral variable to apply only when it is set.
  hash_salt = ""
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
    condition     = aws_kms_key.raw[0].enable_key_rotation && aws_kms_key.curated[0].enable_key_rotation
    error_message = "the created keys rotate"
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
    condition = jsondecode(aws_cloudwatch_event_rule.export_completed.event_pattern).detail == {
      EventID = ["RDS-EVENT-0161", "RDS-EVENT-0164"]
    } && aws_cloudwatch_event_target.export_completed_resumes_the_run.arn == aws_lambda_function.fn["export-callback"].arn
    error_message = "completed exports (instance and cluster) resume the run through export-callback, by EventID"
  }
  assert {
    condition     = aws_sfn_state_machine.pipeline.logging_configuration[0].level == "ERROR" && !aws_sfn_state_machine.pipeline.logging_configuration[0].include_execution_data && aws_sfn_state_machine.pipeline.tracing_configuration[0].enabled
    error_message = "the state machine logs errors only, without execution data (states carry table names and the masking policy), and traces"
  }
}

run "an_existing_key_and_bucket_are_used_not_created" {
  command = apply
  variables {
    kms_key_arn         = "arn:aws:kms:ap-northeast-1:123456789012:key/existing-raw"
    curated_kms_key_arn = "arn:aws:kms:ap-northeast-1:123456789012:key/existing-curated"
    create_bucket       = false
    bucket_name         = "my-existing-lake"
  }
  assert {
    condition     = length(aws_kms_key.raw) == 0 && length(aws_kms_key.curated) == 0 && length(aws_s3_bucket.lake) == 0 && length(aws_s3_bucket_lifecycle_configuration.lake) == 0
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
    condition     = aws_athena_workgroup.snaplake.configuration[0].result_configuration[0].encryption_configuration[0].kms_key_arn == "arn:aws:kms:ap-northeast-1:123456789012:key/existing-curated"
    error_message = "the given curated key encrypts what UNLOAD writes"
  }
  assert {
    condition     = output.run_input.export.kms_key == "arn:aws:kms:ap-northeast-1:123456789012:key/existing-raw" && aws_secretsmanager_secret.hash_salt.kms_key_id == "arn:aws:kms:ap-northeast-1:123456789012:key/existing-raw"
    error_message = "the given raw key (kms_key_arn) encrypts the exports and the salt"
  }
}

# Issue 17.2: Scheduler replaces <aws.scheduler.scheduled-time> in the raw
# text of the input; jsonencode writes < and > as \u003c and \u003e, which
# Scheduler would pass on untouched. So the raw string is asserted, not its
# jsondecode (which would hide the escapes).
run "the_schedule_input_holds_the_placeholder_literally" {
  command = apply
  assert {
    condition     = strcontains(aws_scheduler_schedule.daily.target[0].input, "\"logical_time\":\"<aws.scheduler.scheduled-time>\"")
    error_message = "the schedule's input must hold <aws.scheduler.scheduled-time> literally: ${aws_scheduler_schedule.daily.target[0].input}"
  }
  assert {
    condition     = !strcontains(aws_scheduler_schedule.daily.target[0].input, "\\u003c") && !strcontains(aws_scheduler_schedule.daily.target[0].input, "\\u003e")
    error_message = "no escaped < or > may remain in the schedule's input"
  }
}

# Athena refuses a query beyond the account's active DML quota (queued and
# running together; AWS's example quota is 25). A table has one query active
# at a time, so a run keeps (batches at once) x (tables of a batch at once)
# queries active: that product must stay within athena_max_queries.
run "a_run_keeps_no_more_athena_queries_active_than_it_is_allowed" {
  command = apply
  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.pipeline.definition).States.PublishTables.MaxConcurrency *
      jsondecode(aws_sfn_state_machine.pipeline.definition).States.PublishTables.ItemProcessor.States.PublishBatch.MaxConcurrency
    ) <= 20
    error_message = "by default a run may keep at most 20 Athena queries active, below the quota of 25"
  }
}

run "a_smaller_athena_budget_narrows_the_publishing_maps" {
  command = apply
  variables {
    athena_max_queries = 7
  }
  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.pipeline.definition).States.PublishTables.MaxConcurrency *
      jsondecode(aws_sfn_state_machine.pipeline.definition).States.PublishTables.ItemProcessor.States.PublishBatch.MaxConcurrency
    ) <= 7
    error_message = "athena_max_queries = 7 must bound the queries active at once"
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.pipeline.definition).States.RegisterRawTables.MaxConcurrency == var.max_concurrency
    error_message = "registering raw tables runs no query; it keeps max_concurrency"
  }
}

run "an_athena_budget_below_one_is_refused" {
  command = plan
  variables {
    athena_max_queries = 0
  }
  expect_failures = [var.athena_max_queries]
}

# Issue 17.10: what rds:StartExportTask and iam:PassRole are authorized against.
run "the_export_is_allowed_as_rds_authorizes_it" {
  command = apply
  assert {
    condition = alltrue([for s in jsondecode(aws_iam_role_policy.fn["snapshot-export"].policy).Statement :
    s.Resource == "*" if contains(flatten([s.Action]), "rds:StartExportTask")])
    error_message = "the Service Authorization Reference lists no resource type for rds:StartExportTask: its statement must name Resource \"*\""
  }
  assert {
    condition = alltrue([for s in jsondecode(aws_iam_role_policy.fn["snapshot-export"].policy).Statement :
    try(contains(flatten([s.Condition.StringEquals["iam:PassedToService"]]), "export.rds.amazonaws.com"), false) if contains(flatten([s.Action]), "iam:PassRole")])
    error_message = "the export role is passed to the service that assumes it, export.rds.amazonaws.com"
  }
}

# Issue 12.3: raw stays raw.
run "raw_and_curated_data_have_their_own_keys" {
  command = apply
  assert {
    condition     = length(aws_kms_key.raw) == 1 && length(aws_kms_key.curated) == 1
    error_message = "two keys are created: raw and curated"
  }
  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.lake[0].rule).apply_server_side_encryption_by_default[0].kms_master_key_id == aws_kms_key.raw[0].arn
    error_message = "the bucket's default encryption (exports, control prefix) is the raw key"
  }
  assert {
    condition     = output.run_input.export.kms_key == aws_kms_key.raw[0].arn
    error_message = "RDS exports with the raw key"
  }
  assert {
    condition     = aws_athena_workgroup.snaplake.configuration[0].result_configuration[0].encryption_configuration[0].kms_key_arn == aws_kms_key.curated[0].arn
    error_message = "UNLOAD writes the curated tables with the workgroup's key: the curated key"
  }
  assert {
    condition = alltrue([for s in jsondecode(aws_kms_key.raw[0].policy).Statement :
    try(!contains(flatten([s.Action]), "kms:Decrypt") || !contains(flatten([s.Principal.AWS]), "arn:aws:iam::123456789012:root") || can(s.Condition), true)])
    error_message = "the raw key lets no principal of the account decrypt through IAM alone: only snaplake's roles and raw_reader_arns"
  }
}

run "the_raw_key_is_used_by_each_role_only_as_it_needs" {
  command = apply
  override_resource {
    target = aws_iam_role.fn["snapshot-export"]
    values = { arn = "arn:aws:iam::123456789012:role/snaplake-snapshot-export" }
  }
  override_resource {
    target = aws_iam_role.fn["catalog-swap"]
    values = { arn = "arn:aws:iam::123456789012:role/snaplake-catalog-swap" }
  }
  assert {
    condition = alltrue([for s in jsondecode(aws_kms_key.raw[0].policy).Statement :
    !contains(flatten([try(s.Principal.AWS, [])]), "arn:aws:iam::123456789012:role/snaplake-snapshot-export") if contains(flatten([s.Action]), "kms:Decrypt")])
    error_message = "snapshot-export reads no raw object: the raw key lets it describe the key and grant RDS, not decrypt"
  }
  assert {
    condition = alltrue([for s in jsondecode(aws_kms_key.raw[0].policy).Statement :
    !contains(flatten([try(s.Principal.AWS, [])]), "arn:aws:iam::123456789012:role/snaplake-catalog-swap") if contains(flatten([s.Action]), "kms:GenerateDataKey")])
    error_message = "catalog-swap writes no raw object"
  }
}

run "the_bucket_policy_keeps_raw_and_control_prefixes_from_other_principals" {
  command = apply
  variables {
    raw_reader_arns = ["arn:aws:iam::123456789012:role/deployer"]
  }
  assert {
    condition = length([for s in jsondecode(aws_s3_bucket_policy.lake[0].policy).Statement : s
      if try(s.Effect == "Deny" && s.Principal == "*" && toset(s.Action) == toset(["s3:GetObject", "s3:GetObjectVersion"])
        && toset(s.NotResource) == toset(["arn:aws:s3:::snaplake-lake-123456789012/curated/*", "arn:aws:s3:::snaplake-lake-123456789012/analyst-results/*", "arn:aws:s3:::snaplake-lake-123456789012/_snaplake/policy/*", "arn:aws:s3:::snaplake-lake-123456789012/_snaplake/runs/*"])
        && contains(s.Condition.ArnNotLike["aws:PrincipalArn"], "arn:aws:iam::123456789012:role/deployer")
        && contains(s.Condition.ArnNotLike["aws:PrincipalArn"], aws_iam_role.fn["query-runner"].arn)
        && contains(s.Condition.ArnNotLike["aws:PrincipalArn"], aws_iam_role.export.arn)
        && contains(s.Condition.ArnNotLike["aws:PrincipalArn"], aws_iam_role.pipeline.arn)
    && !contains(s.Condition.ArnNotLike["aws:PrincipalArn"], "arn:aws:iam::123456789012:role/analyst"), false)]) == 1
    error_message = "reading any object but curated data, analysts' results and the pinned policy (which the deployer reads back) and the run manifests (operators follow runs) is denied to every principal but snaplake's roles and raw_reader_arns"
  }
  assert {
    condition = length([for s in jsondecode(aws_s3_bucket_policy.lake[0].policy).Statement : s
      if try(s.Effect == "Deny" && toset(s.Action) == toset(["s3:ListBucket", "s3:ListBucketVersions"])
        && toset(s.Condition.StringLike["s3:prefix"]) == toset(["exports*", "_snaplake*"])
    && contains(s.Condition.ArnNotLike["aws:PrincipalArn"], "arn:aws:iam::123456789012:role/deployer"), false)]) == 1
    error_message = "listing exports/ and _snaplake/ (or the start of either) is denied likewise"
  }
  assert {
    condition     = !strcontains(aws_s3_bucket_policy.lake[0].policy, "IfExists")
    error_message = "no IfExists operator: a missing header makes it true, which denies every write without one (UploadPart, the bucket default's writes)"
  }
  assert {
    condition = length([for s in jsondecode(aws_s3_bucket_policy.lake[0].policy).Statement : s
      if try(s.Effect == "Deny" && s.Action == "s3:PutObject" && s.Condition.Null["s3:x-amz-server-side-encryption"] == "false"
    && s.Condition.Null["s3:x-amz-server-side-encryption-aws-kms-key-id"] == "true", false)]) == 1
    error_message = "a write naming aws:kms without a key (the account's aws/s3 key) is denied"
  }
  assert {
    condition = length([for s in jsondecode(aws_s3_bucket_policy.lake[0].policy).Statement : s
    if try(s.Effect == "Deny" && s.Action == "s3:PutObject" && s.Condition.Null["s3:x-amz-server-side-encryption-customer-algorithm"] == "false", false)]) == 1
    error_message = "a write with a customer-provided key (SSE-C) is denied"
  }
  assert {
    condition = length([for s in jsondecode(aws_s3_bucket_policy.lake[0].policy).Statement : s
      if try(s.Effect == "Deny" && s.Action == "s3:PutObject" && s.Condition.Null["s3:x-amz-server-side-encryption"] == "false"
    && s.Condition.StringNotEquals["s3:x-amz-server-side-encryption"] == "aws:kms", false)]) == 1
    error_message = "a write naming another encryption than SSE-KMS (AES256, aws:kms:dsse) is denied"
  }
  assert {
    condition = length([for s in jsondecode(aws_s3_bucket_policy.lake[0].policy).Statement : s
      if try(s.Effect == "Deny" && s.Action == "s3:PutObject"
        && contains(flatten([s.Resource]), "arn:aws:s3:::snaplake-lake-123456789012/curated/*")
        && s.Condition.Null["s3:x-amz-server-side-encryption-aws-kms-key-id"] == "false"
    && contains(s.Condition.StringNotEquals["s3:x-amz-server-side-encryption-aws-kms-key-id"], aws_kms_key.curated[0].arn), false)]) == 1
    error_message = "writes under curated/ that name another key than the curated key are denied"
  }
  assert {
    condition = length([for s in jsondecode(aws_s3_bucket_policy.lake[0].policy).Statement : s
      if try(s.Effect == "Deny" && s.Action == "s3:PutObject" && contains(flatten([s.NotResource]), "arn:aws:s3:::snaplake-lake-123456789012/curated/*")
        && s.Condition.Null["s3:x-amz-server-side-encryption-aws-kms-key-id"] == "false"
    && contains(s.Condition.StringNotEquals["s3:x-amz-server-side-encryption-aws-kms-key-id"], aws_kms_key.raw[0].arn), false)]) == 1
    error_message = "writes elsewhere that name another key than the raw key are denied"
  }
}

run "raw_exports_and_control_files_expire" {
  command = apply
  variables {
    raw_retention_days = 30
  }
  assert {
    condition     = one([for r in aws_s3_bucket_lifecycle_configuration.lake[0].rule : r.expiration[0].days if try(r.filter[0].prefix == "exports/", false)]) == 30
    error_message = "exports/ expires after raw_retention_days"
  }
  assert {
    condition     = length([for r in aws_s3_bucket_lifecycle_configuration.lake[0].rule : r if try(contains(["_snaplake/plans/", "_snaplake/tokens/"], r.filter[0].prefix) && r.expiration[0].days > 0, false)]) == 2
    error_message = "plans and task tokens expire"
  }
}

run "raw_retention_below_two_days_is_refused" {
  command = plan
  variables {
    raw_retention_days = 1
  }
  expect_failures = [var.raw_retention_days]
}

run "the_analyst_policy_grants_nothing_raw" {
  command = apply
  assert {
    condition = alltrue(flatten([for s in jsondecode(output.analyst_policy_json).Statement : [
      [for r in flatten([s.Resource]) : !strcontains(r, "/exports") && !strcontains(r, "/_snaplake") && !strcontains(r, "_raw") && r != aws_kms_key.raw[0].arn],
      [for p in flatten([try(s.Condition.StringLike["s3:prefix"], [])]) : !startswith(p, "exports") && !startswith(p, "_snaplake")],
    ]]))
    error_message = "the analyst policy names nothing under exports/ or _snaplake/, no raw table and not the raw key"
  }
  assert {
    condition = length([for s in jsondecode(output.analyst_policy_json).Statement : s
    if try(contains(flatten([s.Action]), "kms:Decrypt") && contains(flatten([s.Resource]), aws_kms_key.curated[0].arn), false)]) == 1
    error_message = "analysts decrypt with the curated key"
  }
  assert {
    condition = length([for s in jsondecode(output.analyst_policy_json).Statement : s
    if try(contains(flatten([s.Action]), "s3:ListBucket") && length(s.Condition.StringLike["s3:prefix"]) > 0, false)]) == 1
    error_message = "analysts list only the prefixes they may read"
  }
  assert {
    condition = alltrue([for s in jsondecode(output.analyst_policy_json).Statement :
      try(s.Condition.StringEquals["s3:ExistingObjectTag/snaplake-audit"] == "passed", false)
    if contains(flatten([s.Action]), "s3:GetObject") && anytrue([for r in flatten([s.Resource]) : strcontains(r, "/curated")])])
    error_message = "analysts read a curated file only once snaplake tagged it audited (snaplake-audit = passed): write, audit, publish"
  }
}

run "the_operator_policy_follows_runs_without_raw_access" {
  command = apply
  assert {
    condition = alltrue(flatten([for s in jsondecode(output.operator_policy_json).Statement : [
      [for r in flatten([s.Resource]) : !strcontains(r, "/exports") && (!strcontains(r, "/_snaplake") || endswith(r, "/_snaplake/runs/*")) && !strcontains(r, "_raw") && r != aws_kms_key.raw[0].arn],
      [for p in flatten([try(s.Condition.StringLike["s3:prefix"], [])]) : p == "_snaplake/runs/*"],
    ]]))
    error_message = "the operator policy names nothing raw: of the bucket only the run manifests (_snaplake/runs/), no raw table, not the raw key"
  }
  assert {
    condition = alltrue([for s in jsondecode(output.operator_policy_json).Statement : alltrue([for a in flatten([s.Action]) :
    can(regex("^(lambda:Get|scheduler:Get|states:(List|Describe|Get)|rds:Describe|glue:Get|s3:(Get|List)|kms:Decrypt$)", a))])])
    error_message = "the operator policy only reads"
  }
  assert {
    condition     = contains(jsondecode(output.bucket_policy_json).Statement[1].NotResource, "arn:aws:s3:::${output.bucket}/_snaplake/runs/*")
    error_message = "the bucket policy leaves the run manifests to IAM"
  }
}

run "no_grant_without_its_condition_and_no_unused_kms_action" {
  command = apply
  assert {
    condition = alltrue([for s in flatten([
      [for p in aws_iam_role_policy.fn : jsondecode(p.policy).Statement],
      jsondecode(aws_iam_role_policy.export.policy).Statement,
      jsondecode(aws_iam_role_policy.pipeline.policy).Statement,
      jsondecode(aws_iam_role_policy.scheduler.policy).Statement,
      jsondecode(aws_kms_key.raw[0].policy).Statement,
      jsondecode(aws_kms_key.curated[0].policy).Statement,
      # Any action pattern that covers kms:CreateGrant (kms:*, kms:Create*, ...).
      ]) : try(s.Condition.Bool["kms:GrantIsForAWSResource"], "") == "true" if anytrue([for a in flatten([s.Action]) :
    can(regex("^${replace(replace(lower(a), ".", "\\."), "*", ".*")}$", "kms:creategrant"))])])
    error_message = "kms:CreateGrant (or an action pattern covering it) only with kms:GrantIsForAWSResource = true"
  }
  assert {
    condition = alltrue([for p in aws_iam_role_policy.fn : alltrue([for s in jsondecode(p.policy).Statement :
    !contains(flatten([s.Action]), "kms:Encrypt") && !contains(flatten([s.Action]), "kms:GenerateDataKey*")])])
    error_message = "no function encrypts with KMS directly (S3 SSE-KMS needs kms:GenerateDataKey and kms:Decrypt)"
  }
  assert {
    condition = alltrue([for role in concat(values(aws_iam_role.fn), [aws_iam_role.export, aws_iam_role.pipeline, aws_iam_role.scheduler]) :
    alltrue([for s in jsondecode(role.assume_role_policy).Statement : try(s.Condition.StringEquals["aws:SourceAccount"] == "123456789012", false)])])
    error_message = "every service trust policy is limited to this account (aws:SourceAccount)"
  }
}

# Issue 12.4: the hash salt lives in Secrets Manager, never in state or an environment.
run "the_hash_salt_is_a_secret_not_an_environment_variable" {
  command = apply
  variables {
    hash_salt         = "test-only-salt"
    hash_salt_version = 1
  }
  assert {
    condition     = aws_secretsmanager_secret.hash_salt.kms_key_id == aws_kms_key.raw[0].arn
    error_message = "the salt's secret is encrypted with the raw key"
  }
  assert {
    condition     = aws_secretsmanager_secret_version.hash_salt[0].secret_string_wo_version == 1 && aws_secretsmanager_secret_version.hash_salt[0].secret_id == aws_secretsmanager_secret.hash_salt.id
    error_message = "the salt is written through the write-only attribute (secret_string_wo), versioned by hash_salt_version"
  }
  assert {
    condition     = alltrue([for f in aws_lambda_function.fn : alltrue([for k, v in f.environment[0].variables : !strcontains(v, "test-only-salt") && k != "SNAPLAKE_HASH_SALT"])])
    error_message = "no function environment holds the salt"
  }
  assert {
    condition     = aws_lambda_function.fn["query-runner"].environment[0].variables["SNAPLAKE_HASH_SALT_SECRET"] == aws_secretsmanager_secret.hash_salt.arn
    error_message = "query-runner is told where the salt is"
  }
  assert {
    condition = length([for s in jsondecode(aws_iam_role_policy.fn["query-runner"].policy).Statement : s
    if try(contains(flatten([s.Action]), "secretsmanager:GetSecretValue") && s.Resource == aws_secretsmanager_secret.hash_salt.arn, false)]) == 1
    error_message = "query-runner may read that secret only"
  }
  assert {
    condition = alltrue([for k, p in aws_iam_role_policy.fn : k == "query-runner" || alltrue([for s in jsondecode(p.policy).Statement :
    !contains(flatten([s.Action]), "secretsmanager:GetSecretValue")])])
    error_message = "no other function may read the salt"
  }
}

run "only_the_prices_given_reach_the_functions" {
  command = plan
  variables {
    prices = { athena_per_tb = 6.25, region = "eu-central-1" }
  }
  assert {
    condition     = jsondecode(aws_lambda_function.fn["catalog-swap"].environment[0].variables.SNAPLAKE_PRICES) == { athena_per_tb = 6.25, region = "eu-central-1" }
    error_message = "SNAPLAKE_PRICES holds the prices given and nothing else (the rest keep snaplake's defaults)"
  }
}

run "lineage_is_posted_to_glue_unless_turned_off" {
  command = plan
  assert {
    condition     = alltrue([for f in ["snapshot-export", "catalog-swap"] : aws_lambda_function.fn[f].environment[0].variables.SNAPLAKE_LINEAGE == "glue" && strcontains(aws_iam_role_policy.fn[f].policy, "glue:PostLineageEvent")])
    error_message = "by default StartExport and Report post the run's lineage: SNAPLAKE_LINEAGE=glue and glue:PostLineageEvent in their roles"
  }
  assert {
    condition     = alltrue([for f in ["export-poller", "export-callback", "query-runner"] : !strcontains(aws_iam_role_policy.fn[f].policy, "glue:PostLineageEvent")])
    error_message = "no other function may post lineage"
  }
}

run "lineage_turned_off_leaves_no_lineage_permission" {
  command = plan
  variables {
    lineage_to_glue = false
  }
  assert {
    condition     = alltrue([for f in ["snapshot-export", "catalog-swap"] : aws_lambda_function.fn[f].environment[0].variables.SNAPLAKE_LINEAGE == "" && !strcontains(aws_iam_role_policy.fn[f].policy, "glue:PostLineageEvent")])
    error_message = "lineage_to_glue = false: nothing is posted and no role may post"
  }
}

run "iceberg_tables_are_chosen_by_table_format" {
  command = plan
  variables {
    table_format = "iceberg"
  }
  assert {
    condition     = aws_lambda_function.fn["catalog-swap"].environment[0].variables.SNAPLAKE_TABLE_FORMAT == "iceberg"
    error_message = "table_format = \"iceberg\" reaches catalog-swap as SNAPLAKE_TABLE_FORMAT"
  }
  assert {
    condition     = strcontains(aws_iam_role_policy.fn["catalog-swap"].policy, "WriteIcebergMetadata") && alltrue([for f in ["snapshot-export", "export-poller", "export-callback", "query-runner"] : !strcontains(aws_iam_role_policy.fn[f].policy, "WriteIcebergMetadata")])
    error_message = "only catalog-swap may write the tables' Iceberg metadata"
  }
}

run "hive_tables_leave_no_iceberg_permission" {
  command = plan
  assert {
    condition     = !strcontains(aws_iam_role_policy.fn["catalog-swap"].policy, "WriteIcebergMetadata")
    error_message = "with the default table_format (hive) no function may write Iceberg metadata"
  }
}

run "a_table_the_policy_publishes_as_iceberg_gives_catalog_swap_the_permission" {
  command = plan
  variables {
    masking_policy = { tables = { "shop.orders" = { columns = { id = "keep" }, table_format = "iceberg" }, "shop.customers" = { columns = { id = "keep" } } } }
  }
  assert {
    condition     = aws_lambda_function.fn["catalog-swap"].environment[0].variables.SNAPLAKE_TABLE_FORMAT == "hive"
    error_message = "the module's table_format stays hive for the other tables"
  }
  assert {
    condition     = strcontains(aws_iam_role_policy.fn["catalog-swap"].policy, "WriteIcebergMetadata") && alltrue([for f in ["snapshot-export", "export-poller", "export-callback", "query-runner"] : !strcontains(aws_iam_role_policy.fn[f].policy, "WriteIcebergMetadata")])
    error_message = "a table published as Iceberg by the policy: only catalog-swap may write its metadata"
  }
}

run "an_unknown_table_format_in_the_policy_is_refused" {
  command = plan
  variables {
    masking_policy = { tables = { "shop.orders" = { columns = { id = "keep" }, table_format = "delta" } } }
  }
  expect_failures = [var.masking_policy]
}

run "an_unknown_table_format_is_refused" {
  command = plan
  variables {
    table_format = "delta"
  }
  expect_failures = [var.table_format]
}

run "a_negative_price_is_refused" {
  command = plan
  variables {
    prices = { lambda_per_million_requests = -1 }
  }
  expect_failures = [var.prices]
}

run "a_bad_schedule_is_refused" {
  command = plan
  variables {
    schedule_expression = "every day at four"
  }
  expect_failures = [var.schedule_expression]
}

run "a_raw_key_given_by_id_or_alias_is_refused" {
  command = plan
  variables {
    kms_key_arn = "alias/snaplake"
  }
  expect_failures = [var.kms_key_arn]
}

run "the_masking_policy_is_pinned_by_the_deployment" {
  command = apply
  variables {
    masking_policy = { tables = { "shop.orders" = { columns = { id = "keep" } } } }
  }
  assert {
    condition     = aws_s3_object.policy.content == jsonencode(var.masking_policy) && aws_s3_object.policy.key == "_snaplake/policy/${sha256(aws_s3_object.policy.content)}.json"
    error_message = "the policy is stored under the control prefix by the SHA-256 of its bytes"
  }
  assert {
    condition     = output.run_input.publish.policy_digest == sha256(aws_s3_object.policy.content) && !contains(keys(output.run_input.publish), "policy")
    error_message = "runs name the pinned policy by digest and carry no policy of their own"
  }
  assert {
    condition = alltrue([for f in aws_lambda_function.fn :
      f.environment[0].variables.SNAPLAKE_POLICY_DIGEST == sha256(aws_s3_object.policy.content)
      && f.environment[0].variables.SNAPLAKE_SOURCE_ID == "shop-prod"
      && f.environment[0].variables.SNAPLAKE_EXPORT_ROLE_ARN == aws_iam_role.export.arn
    ])
    error_message = "every function knows the pinned policy, source and export role"
  }
  assert {
    condition = alltrue([for f in aws_lambda_function.fn :
      f.environment[0].variables.SNAPLAKE_EXPORT_KMS_KEY == aws_kms_key.raw[0].arn
      && f.environment[0].variables.SNAPLAKE_SOURCE_KIND == "cluster"
      && f.environment[0].variables.SNAPLAKE_BUCKET == "snaplake-lake-123456789012"
      && f.environment[0].variables.SNAPLAKE_EXPORT_ID_PREFIX == "snaplake"
    ])
    error_message = "every function knows the pinned raw key, source kind, bucket and export id prefix: a run input cannot send the export elsewhere"
  }
  assert {
    condition     = output.run_input.export.kms_key == aws_kms_key.raw[0].arn && output.run_input.export.source_kind == "cluster" && !contains(keys(output.run_input.export), "bucket") && !contains(keys(output.run_input.export), "export_id")
    error_message = "the schedule's input repeats the pinned key and source kind, and names no bucket or export id of its own"
  }
  assert {
    condition = anytrue([for s in jsondecode(aws_iam_role_policy.fn["snapshot-export"].policy).Statement :
    contains(flatten([s.Action]), "s3:GetObject") && s.Resource == "arn:aws:s3:::snaplake-lake-123456789012/_snaplake/policy/*"])
    error_message = "snapshot-export may read the pinned policy's checksum (HeadObject is s3:GetObject) to refuse another"
  }
  assert {
    condition     = aws_s3_object.policy.checksum_algorithm == "SHA256"
    error_message = "S3 keeps the policy's SHA-256, which snapshot-export compares with the digest without reading the object"
  }
}

# The names a deployment may take: the same examples are read by the
# functions' test of SNAPLAKE_EXPORT_ID_PREFIX (tests/tests/terraform.rs), so
# the module never accepts a name the functions refuse at start-up.
run "name_accepted_short" {
  command = plan
  variables {
    name = "a1b"
  }
  assert {
    condition     = aws_lambda_function.fn["snapshot-export"].environment[0].variables.SNAPLAKE_EXPORT_ID_PREFIX == "a1b"
    error_message = "the name is the export id prefix"
  }
}

run "name_accepted_twenty_characters" {
  command = plan
  variables {
    name = "analytics-snaplake-p"
  }
  assert {
    condition     = aws_lambda_function.fn["snapshot-export"].environment[0].variables.SNAPLAKE_EXPORT_ID_PREFIX == "analytics-snaplake-p"
    error_message = "the name is the export id prefix"
  }
}

run "name_refused_longer_than_twenty" {
  command = plan
  variables {
    name = "analytics-snaplake-prod"
  }
  expect_failures = [var.name]
}

run "name_refused_double_hyphen" {
  command = plan
  variables {
    name = "snap--lake"
  }
  expect_failures = [var.name]
}

run "name_refused_trailing_hyphen" {
  command = plan
  variables {
    name = "snaplake-"
  }
  expect_failures = [var.name]
}

run "name_refused_leading_digit" {
  command = plan
  variables {
    name = "1snaplake"
  }
  expect_failures = [var.name]
}

run "name_refused_upper_case" {
  command = plan
  variables {
    name = "Snaplake"
  }
  expect_failures = [var.name]
}

run "name_refused_two_characters" {
  command = plan
  variables {
    name = "ab"
  }
  expect_failures = [var.name]
}

run "a_masking_policy_with_a_review_open_is_refused" {
  command = plan
  variables {
    masking_policy = { tables = { "shop.orders" = { columns = { id = "drop" }, review = { id = "not classified: dropped until a person decides" } } } }
  }
  expect_failures = [var.masking_policy]
}
