data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  region    = data.aws_region.current.name
  partition = data.aws_partition.current.partition
  bucket    = var.bucket_name != "" ? var.bucket_name : "${var.name}-lake-${local.account}"

  export_prefix  = "exports"
  curated_prefix = "curated"
  control_prefix = "_snaplake"
  # Where analysts' queries write their results (their own workgroup).
  analyst_results_prefix = "analyst-results"
  # Written with the curated key: the curated tables (UNLOAD), and the
  # results of snaplake's and the analysts' queries (the workgroups' key).
  # (and the pinned masking policy: configuration, not data, written by the
  # deployer, who may not use the raw key).
  runs_prefix          = "${local.control_prefix}/runs/"
  curated_key_prefixes = ["${local.curated_prefix}/", "${local.control_prefix}/athena/", "${local.control_prefix}/policy/", local.runs_prefix, "${local.analyst_results_prefix}/"]
  salt_secret_name     = "${var.name}/hash-salt"
  raw_database         = replace("${var.name}_raw", "-", "_")
  curated_db           = replace("${var.name}_curated", "-", "_")

  # The masking policy the deployment pins (shared/src/pinning.rs): stored
  # by its digest, which the functions and the run input carry. Runs cannot
  # bring another.
  policy_json   = jsonencode(var.masking_policy)
  policy_digest = sha256(local.policy_json)
  policy_key    = "${local.control_prefix}/policy/${local.policy_digest}.json"

  functions = toset(["snapshot-export", "export-callback", "export-poller", "catalog-swap", "query-runner"])

  # What every function reads at start-up (shared/src/config.rs). The
  # bucket, export prefix, export id prefix, source, source kind, export role
  # and raw key are pinned: a run input naming others is refused, and an
  # export task made with others is not adopted (shared/src/pinning.rs).
  function_env = {
    SNAPLAKE_BUCKET           = local.bucket
    SNAPLAKE_TIME_ZONE        = var.schedule_time_zone
    SNAPLAKE_EXPORT_PREFIX    = local.export_prefix
    SNAPLAKE_CURATED_PREFIX   = local.curated_prefix
    SNAPLAKE_CONTROL_PREFIX   = local.control_prefix
    SNAPLAKE_EXPORT_ID_PREFIX = var.name
    SNAPLAKE_RAW_DATABASE     = local.raw_database
    SNAPLAKE_CURATED_DATABASE = local.curated_db
    SNAPLAKE_ATHENA_WORKGROUP = var.name
    SNAPLAKE_KEEP_VERSIONS    = tostring(var.keep_versions)
    SNAPLAKE_POLICY_DIGEST    = local.policy_digest
    SNAPLAKE_SOURCE_ID        = var.source_id
    SNAPLAKE_SOURCE_KIND      = var.source_kind
    SNAPLAKE_EXPORT_ROLE_ARN  = aws_iam_role.export.arn
    SNAPLAKE_EXPORT_KMS_KEY   = local.raw_key
    SNAPLAKE_CURATED_KMS_KEY  = local.curated_key
    # Only the prices given: the rest keep their defaults (shared/src/cost.rs).
    SNAPLAKE_PRICES       = jsonencode({ for k, v in var.prices : k => v if v != null })
    SNAPLAKE_LINEAGE      = var.lineage_to_glue ? "glue" : ""
    SNAPLAKE_TABLE_FORMAT = var.table_format
  }

  bucket_arn = "arn:${local.partition}:s3:::${local.bucket}"
}
