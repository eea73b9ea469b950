# What the principal that runs `terraform apply` (and plan, and destroy) for
# one snaplake deployment needs, and nothing of other deployments: every
# statement names the resources `<name>-…` (the bucket, the Glue databases
# `<name>_raw` and `<name>_curated`, the keys tagged snaplake = <name>).
#
# Drawn up from the calls hashicorp/aws 5.100 makes for the module (the local
# stand-in logs every allowed call with STANDIN_TRACE_ALLOWED=1), and tried
# there: `make demo` and `make infra` apply, plan and run as a user holding
# exactly this policy, with the bucket and key policies in force. Actions
# marked "updates" are for later applies that change a resource; an apply
# from scratch and its second plan do not call them.
locals {
  p       = var.partition
  acct    = var.account_id
  rg      = var.region
  bucket  = var.bucket_name != "" ? var.bucket_name : "${var.name}-lake-${var.account_id}"
  dbs     = [replace("${var.name}_raw", "-", "_"), replace("${var.name}_curated", "-", "_")]
  roles   = "arn:${local.p}:iam::${local.acct}:role/${var.name}-*"
  creates = var.kms_key_arn == "" || var.curated_kms_key_arn == ""
  # The keys the deployer administers: those the module creates, which it
  # tags snaplake = <name> (a key's ARN is not known before it exists).
  tagged_keys = { StringEquals = { "aws:ResourceTag/snaplake" = var.name } }
  # The pinned masking policy is written with the curated key.
  curated_key = var.curated_kms_key_arn != "" ? var.curated_kms_key_arn : "arn:${local.p}:kms:${local.rg}:${local.acct}:key/*"
  # The salt's secret is encrypted with the raw key.
  raw_key = var.kms_key_arn != "" ? var.kms_key_arn : "arn:${local.p}:kms:${local.rg}:${local.acct}:key/*"

  statements = concat([
    {
      Sid    = "Roles"
      Effect = "Allow"
      Action = [
        "iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole",
        "iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy", "iam:ListRolePolicies",
        "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole",
      ]
      Resource = local.roles
    },
    {
      # Handing the functions', the state machine's and the schedule's roles
      # to their services. The RDS export role is handed over by the
      # snapshot-export function at run time, not by the deployer.
      Sid       = "PassRolesToTheirServices"
      Effect    = "Allow"
      Action    = "iam:PassRole"
      Resource  = local.roles
      Condition = { StringEquals = { "iam:PassedToService" = ["lambda.amazonaws.com", "states.amazonaws.com", "scheduler.amazonaws.com"] } }
    },
    {
      # The provider reads who it is (aws_caller_identity needs no permission).
      Sid      = "WhoAmI"
      Effect   = "Allow"
      Action   = "iam:GetUser"
      Resource = "arn:${local.p}:iam::${local.acct}:user/$${aws:username}"
    },
    {
      Sid    = "TheBucket"
      Effect = "Allow"
      Action = concat([
        "s3:ListBucket", "s3:GetBucketAcl", "s3:GetBucketCORS", "s3:GetBucketLogging", "s3:GetBucketNotification",
        "s3:PutBucketNotification", "s3:GetBucketObjectLockConfiguration", "s3:GetBucketPolicy", "s3:PutBucketPolicy",
        "s3:DeleteBucketPolicy", "s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock",
        "s3:GetBucketRequestPayment", "s3:GetBucketTagging", "s3:GetBucketVersioning", "s3:PutBucketVersioning",
        "s3:GetBucketWebsite", "s3:GetAccelerateConfiguration", "s3:GetEncryptionConfiguration",
        "s3:PutEncryptionConfiguration", "s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration",
        "s3:GetReplicationConfiguration",
      ], var.create_bucket ? ["s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucketTagging"] : [])
      Resource = "arn:${local.p}:s3:::${local.bucket}"
    },
    {
      # Deleting the pinned policy object deletes its versions: listing
      # them is allowed under _snaplake/policy/ only (so is the bucket
      # policy's exception).
      Sid       = "ListThePinnedPolicysVersions"
      Effect    = "Allow"
      Action    = "s3:ListBucketVersions"
      Resource  = "arn:${local.p}:s3:::${local.bucket}"
      Condition = { StringLike = { "s3:prefix" = "_snaplake/policy/*" } }
    },
    {
      Sid      = "ThePinnedMaskingPolicy"
      Effect   = "Allow"
      Action   = ["s3:PutObject", "s3:GetObject", "s3:GetObjectTagging", "s3:DeleteObject", "s3:DeleteObjectVersion"]
      Resource = "arn:${local.p}:s3:::${local.bucket}/_snaplake/policy/*"
    },
    {
      # Written with the curated key (SSE-KMS through S3 only).
      Sid       = "ThePinnedPolicysDataKey"
      Effect    = "Allow"
      Action    = "kms:GenerateDataKey"
      Resource  = local.curated_key
      Condition = { StringEquals = { "kms:ViaService" = "s3.${local.rg}.amazonaws.com" } }
    },
    {
      # Terraform writes the salt (hash_salt) and waits for the version by
      # reading it back: Secrets Manager encrypts and decrypts it with the
      # raw key as the caller, so the deployer needs the key through Secrets
      # Manager, for that secret only (the raw key's policy lets IAM grant
      # no more: SecretsManagerKeepsTheSalt). It is the deployer who gives
      # the salt, so reading it back opens nothing new.
      Sid      = "TheSaltsKey"
      Effect   = "Allow"
      Action   = ["kms:GenerateDataKey", "kms:Decrypt"]
      Resource = local.raw_key
      Condition = {
        StringEquals = { "kms:ViaService" = "secretsmanager.${local.rg}.amazonaws.com" }
        StringLike   = { "kms:EncryptionContext:SecretARN" = "arn:${local.p}:secretsmanager:${local.rg}:${local.acct}:secret:${var.name}/hash-salt-*" }
      }
    },
    {
      Sid    = "Functions"
      Effect = "Allow"
      Action = [
        "lambda:CreateFunction", "lambda:DeleteFunction", "lambda:GetFunction", "lambda:GetFunctionCodeSigningConfig",
        "lambda:ListVersionsByFunction", "lambda:AddPermission", "lambda:RemovePermission", "lambda:GetPolicy",
        "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:TagResource", "lambda:UntagResource",
        "lambda:ListTags",
      ]
      Resource = "arn:${local.p}:lambda:${local.rg}:${local.acct}:function:${var.name}-*"
    },
    {
      Sid    = "StateMachine"
      Effect = "Allow"
      Action = [
        "states:CreateStateMachine", "states:DeleteStateMachine", "states:DescribeStateMachine",
        "states:UpdateStateMachine", "states:ListTagsForResource", "states:TagResource", "states:UntagResource",
      ]
      Resource = "arn:${local.p}:states:${local.rg}:${local.acct}:stateMachine:${var.name}-*"
    },
    {
      Sid      = "Schedule"
      Effect   = "Allow"
      Action   = ["scheduler:CreateSchedule", "scheduler:DeleteSchedule", "scheduler:GetSchedule", "scheduler:UpdateSchedule"]
      Resource = "arn:${local.p}:scheduler:${local.rg}:${local.acct}:schedule/default/${var.name}-*"
    },
    {
      Sid      = "GlueDatabases"
      Effect   = "Allow"
      Action   = ["glue:CreateDatabase", "glue:DeleteDatabase", "glue:GetDatabase", "glue:UpdateDatabase", "glue:GetTags", "glue:TagResource", "glue:UntagResource"]
      Resource = concat(["arn:${local.p}:glue:${local.rg}:${local.acct}:catalog"], [for d in local.dbs : "arn:${local.p}:glue:${local.rg}:${local.acct}:database/${d}"])
    },
    {
      # Deleting a database deletes its tables (the runs' raw and curated tables).
      Sid      = "GlueTablesGoWithTheirDatabase"
      Effect   = "Allow"
      Action   = ["glue:DeleteDatabase"]
      Resource = flatten([for d in local.dbs : ["arn:${local.p}:glue:${local.rg}:${local.acct}:table/${d}/*", "arn:${local.p}:glue:${local.rg}:${local.acct}:userDefinedFunction/${d}/*"]])
    },
    {
      Sid      = "AthenaWorkgroups"
      Effect   = "Allow"
      Action   = ["athena:CreateWorkGroup", "athena:DeleteWorkGroup", "athena:GetWorkGroup", "athena:UpdateWorkGroup", "athena:ListTagsForResource", "athena:TagResource", "athena:UntagResource"]
      Resource = "arn:${local.p}:athena:${local.rg}:${local.acct}:workgroup/${var.name}*"
    },
    {
      Sid    = "FailureTopic"
      Effect = "Allow"
      Action = [
        "sns:CreateTopic", "sns:DeleteTopic", "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:ListTagsForResource",
        "sns:TagResource", "sns:UntagResource", "sns:Subscribe",
      ]
      Resource = "arn:${local.p}:sns:${local.rg}:${local.acct}:${var.name}-*"
    },
    {
      # The alarm e-mail subscriptions: these actions name a subscription,
      # which IAM cannot scope to a topic.
      Sid      = "FailureTopicSubscriptions"
      Effect   = "Allow"
      Action   = ["sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes", "sns:Unsubscribe"]
      Resource = "*"
    },
    {
      Sid      = "ScheduleDeadLetterQueue"
      Effect   = "Allow"
      Action   = ["sqs:CreateQueue", "sqs:DeleteQueue", "sqs:GetQueueAttributes", "sqs:SetQueueAttributes", "sqs:ListQueueTags", "sqs:TagQueue", "sqs:UntagQueue"]
      Resource = "arn:${local.p}:sqs:${local.rg}:${local.acct}:${var.name}-*"
    },
    {
      Sid    = "LogGroups"
      Effect = "Allow"
      Action = [
        "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy",
        "logs:AssociateKmsKey", "logs:DisassociateKmsKey", "logs:ListTagsForResource", "logs:TagResource", "logs:UntagResource",
      ]
      Resource = [
        "arn:${local.p}:logs:${local.rg}:${local.acct}:log-group:/aws/lambda/${var.name}-*",
        "arn:${local.p}:logs:${local.rg}:${local.acct}:log-group:/aws/vendedlogs/states/${var.name}-*",
      ]
    },
    {
      # DescribeLogGroups is decided on the account's log-group:* whatever
      # prefix it asks for; it shows groups' names and settings, not logs.
      Sid      = "FindLogGroups"
      Effect   = "Allow"
      Action   = "logs:DescribeLogGroups"
      Resource = "arn:${local.p}:logs:${local.rg}:${local.acct}:log-group:*"
    },
    {
      Sid      = "Alarms"
      Effect   = "Allow"
      Action   = ["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms", "cloudwatch:ListTagsForResource", "cloudwatch:TagResource", "cloudwatch:UntagResource"]
      Resource = "arn:${local.p}:cloudwatch:${local.rg}:${local.acct}:alarm:${var.name}-*"
    },
    {
      Sid      = "Dashboard"
      Effect   = "Allow"
      Action   = ["cloudwatch:PutDashboard", "cloudwatch:GetDashboard", "cloudwatch:DeleteDashboards"]
      Resource = "arn:${local.p}:cloudwatch::${local.acct}:dashboard/${var.name}"
    },
    {
      Sid    = "EventRules"
      Effect = "Allow"
      Action = [
        "events:PutRule", "events:DescribeRule", "events:DeleteRule", "events:PutTargets", "events:RemoveTargets",
        "events:ListTargetsByRule", "events:ListTagsForResource", "events:TagResource", "events:UntagResource",
      ]
      Resource = "arn:${local.p}:events:${local.rg}:${local.acct}:rule/${var.name}-*"
    },
    {
      # The salt's secret: the value is written through a write-only
      # attribute (never in state); the provider reads the version back.
      Sid    = "SaltSecret"
      Effect = "Allow"
      Action = [
        "secretsmanager:CreateSecret", "secretsmanager:DeleteSecret", "secretsmanager:DescribeSecret",
        "secretsmanager:GetResourcePolicy", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecret", "secretsmanager:TagResource", "secretsmanager:UntagResource",
      ]
      Resource = "arn:${local.p}:secretsmanager:${local.rg}:${local.acct}:secret:${var.name}/*"
    },
  ], [for s in local.key_statements : s if local.creates])

  key_statements = [
    {
      # CreateKey names no key; the request must tag it snaplake = <name>
      # (tagging on create needs kms:TagResource too).
      Sid       = "CreateTaggedKeys"
      Effect    = "Allow"
      Action    = ["kms:CreateKey", "kms:TagResource"]
      Resource  = "*"
      Condition = { StringEquals = { "aws:RequestTag/snaplake" = var.name } }
    },
    {
      # The key policies delegate administration to the account's IAM
      # (AccountAdministersTheKeyButCannotUseIt): the keys tagged for this
      # deployment only.
      Sid    = "AdministerTheTaggedKeys"
      Effect = "Allow"
      Action = [
        "kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:GetKeyRotationStatus", "kms:EnableKeyRotation",
        "kms:ListResourceTags", "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription",
        "kms:ScheduleKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias",
      ]
      Resource  = "arn:${local.p}:kms:${local.rg}:${local.acct}:key/*"
      Condition = local.tagged_keys
    },
    {
      Sid      = "TheKeysAliases"
      Effect   = "Allow"
      Action   = ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"]
      Resource = "arn:${local.p}:kms:${local.rg}:${local.acct}:alias/${var.name}-*"
    },
    {
      # The provider finds a key's aliases by listing them.
      Sid      = "ListAliases"
      Effect   = "Allow"
      Action   = "kms:ListAliases"
      Resource = "*"
    },
  ]

  policy = { Version = "2012-10-17", Statement = local.statements }
}
