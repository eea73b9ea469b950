"""What AWS evaluates for a request outside S3: each (action, resource), with
the context keys the request sets and the resource's own policy.

moto checks every call outside S3 against resource `*`, so a policy that
names its resources (as least privilege asks) could not be tried. This module
derives the resource each call names as the Service Authorization Reference
lists it: Glue's catalog, database and table; an Athena workgroup; a KMS key
(with its key policy and tags) and alias; a secret (and its key, which Secrets
Manager uses as the caller); an SNS topic; a state
machine or execution; a Lambda function; a schedule; an IAM role or user; a
CloudWatch alarm or dashboard; a log group; an EventBridge rule; an SQS
queue; and any resource a tagging call names by ARN. Calls that create a
resource are decided against the resource they would create. A call that
hands a role to a service (CreateFunction, CreateStateMachine, CreateSchedule
and their updates, StartExportTask) needs `iam:PassRole` on it too, with
`iam:PassedToService`. Anything else is decided against `*`, as moto does.
S3's part is `s3_access.py`.
"""

import json
from urllib.parse import unquote

from . import s3_access
from .s3_access import Need


# Actions that support no resource-level permissions ("Use "Resource": "*""):
# decided against `*` alone, so only a statement whose Resource matches `*` grants them.
RESOURCELESS = {"glue:PostLineageEvent", "glue:GetLineageNode"}


def _params(response) -> dict:
    body = response.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if body and body.lstrip().startswith("{"):
        try:
            return json.loads(body)
        except ValueError:
            pass
    return {k: (v[0] if isinstance(v, list) and v else v) for k, v in (response.querystring or {}).items()}


def _members(p: dict, name: str) -> list[str]:
    """A list parameter, in JSON (`AlarmNames`) or query form (`AlarmNames.member.1`)."""
    if isinstance(p.get(name), list):
        return [str(v) for v in p[name]]
    return [v for k, v in sorted(p.items()) if k.startswith(f"{name}.member.")]


def _no_query(account: str, region: str, query_id: str) -> str | None:
    return None


# The workgroup of an Athena query, which a call naming the query is decided
# against. The queries are athena.py's: it registers its lookup at install
# (`query_workgroups`), since it imports this module (and iam.py).
_query_workgroup = _no_query


def query_workgroups(lookup) -> None:
    """`lookup(account, region, query_id)` answers a query's workgroup, or None."""
    global _query_workgroup
    _query_workgroup = lookup


def _pass_role(role_arn: str | None, service: str) -> list[Need]:
    """Handing a role to a service: iam:PassRole on it ("Granting a user
    permissions to pass a role to an AWS service", with iam:PassedToService)."""
    return [Need("iam:PassRole", role_arn, {"iam:PassedToService": service})] if role_arn else []


def required(response, service: str, action: str, resource: str, region: str, account: str, caller: str = "") -> list[Need]:
    """What AWS evaluates for this request: each (action, resource) with the
    context keys the request sets and the resource's own policy. `caller` is
    the principal's ARN (IAM's GetUser without a name is about the caller)."""
    name = action.split(":", 1)[1]
    if service == "s3":
        return s3_access.needs(response, name, resource, region, account)
    p = _params(response)
    arn = f"arn:aws:{{}}:{region}:{account}:{{}}"
    tagged = p.get("ResourceArn") or p.get("ResourceARN") or p.get("resourceArn")
    if name in ("TagResource", "UntagResource", "ListTagsForResource", "GetTags", "ListTags") and tagged:
        return [Need(action, tagged)]
    if service in ("lambda", "scheduler") and "/tags/" in response.raw_path:
        return [Need(action, unquote(response.raw_path.split("/tags/", 1)[1]))]
    if action in RESOURCELESS:
        return [Need(action, "*")]
    if service == "glue":
        catalog = arn.format("glue", "catalog")
        table_input = p.get("TableInput") or {}
        db = p.get("DatabaseName") or (p.get("Name") if name in ("GetDatabase", "DeleteDatabase", "UpdateDatabase") else None)
        db = db or (p.get("DatabaseInput") or {}).get("Name")
        table = p.get("TableName") or table_input.get("Name") or (p.get("Name") if db and name.endswith("Table") else None)
        resources = [catalog]
        if db:
            resources.append(arn.format("glue", f"database/{db}"))
        if db and table:
            resources.append(arn.format("glue", f"table/{db}/{table}"))
            for version in p.get("VersionsToDelete") or ([p["VersionId"]] if p.get("VersionId") else []):
                resources.append(arn.format("glue", f"tableVersion/{db}/{table}/{version}"))
        return [Need(action, r) for r in resources]
    if service == "athena":
        workgroup = p.get("WorkGroup") or p.get("Name")
        if "QueryExecutionId" in p:
            workgroup = _query_workgroup(account, region, p["QueryExecutionId"])
        if name == "StartQueryExecution":
            workgroup = workgroup or "primary"
        return [Need(action, arn.format("athena", f"workgroup/{workgroup}") if workgroup else "*")]
    if service == "kms":
        return _kms(action, name, p, region, account)
    if service == "secretsmanager" and "SecretId" in p:
        secret = _secret(p["SecretId"], region, account)
        return [Need(action, secret), *_secret_key(name, p, secret, _secret_key_id(p["SecretId"], region, account), region, account)]
    if service == "secretsmanager" and name == "CreateSecret" and p.get("Name"):
        # The ARN it will have ends in six random characters.
        secret = arn.format("secretsmanager", f"secret:{p['Name']}-??????")
        return [Need(action, secret), *_secret_key(name, p, secret, p.get("KmsKeyId"), region, account)]
    if service == "rds" and name == "StartExportTask" and p.get("IamRoleArn"):
        # Which service RDS names in iam:PassedToService is not documented; the module allows both.
        return [Need(action, "*"), *_pass_role(p["IamRoleArn"], "export.rds.amazonaws.com")]
    if service == "sns" and "TopicArn" in p:
        return [Need(action, p["TopicArn"])]
    if service == "sns" and name == "CreateTopic" and p.get("Name"):
        return [Need(action, arn.format("sns", p["Name"]))]
    if service == "states":
        target = p.get("stateMachineArn") or p.get("executionArn")
        if name == "CreateStateMachine" and p.get("name"):
            target = arn.format("states", f"stateMachine:{p['name']}")
        return [Need(action, target or "*"), *_pass_role(p.get("roleArn"), "states.amazonaws.com")]
    if service == "lambda":
        return _lambda(action, response, p, arn)
    if service == "scheduler" and "/schedules/" in response.raw_path:
        # A schedule is named within its group (`default` unless the query names one).
        name_ = unquote(response.raw_path.split("/schedules/", 1)[1].split("/", 1)[0])
        group = p.get("groupName") or p.get("GroupName") or "default"
        passed = (p.get("Target") or {}).get("RoleArn") if name in ("CreateSchedule", "UpdateSchedule") else None
        return [Need(action, arn.format("scheduler", f"schedule/{group}/{name_}")), *_pass_role(passed, "scheduler.amazonaws.com")]
    if service == "sts" and "RoleArn" in p:
        return [Need(action, p["RoleArn"])]
    if service == "iam":
        return _iam(action, p, account, caller)
    if service == "cloudwatch":
        alarms = _members(p, "AlarmNames") or ([p["AlarmName"]] if p.get("AlarmName") else [])
        dashboards = _members(p, "DashboardNames") or ([p["DashboardName"]] if p.get("DashboardName") else [])
        found = [Need(action, arn.format("cloudwatch", f"alarm:{a}")) for a in alarms]
        found += [Need(action, f"arn:aws:cloudwatch::{account}:dashboard/{d}") for d in dashboards]
        return found or [Need(action, "*")]
    if service == "logs":
        group = p.get("logGroupName")
        if group:
            return [Need(action, arn.format("logs", f"log-group:{group}"))]
        # DescribeLogGroups lists the account's groups: log-group:* whatever the prefix.
        return [Need(action, arn.format("logs", "log-group:*") if name == "DescribeLogGroups" else "*")]
    if service == "events":
        rule = p.get("Rule") or (p.get("Name") if name in ("PutRule", "DescribeRule", "DeleteRule", "EnableRule", "DisableRule") else None)
        return [Need(action, arn.format("events", f"rule/{rule}") if rule else "*")]
    if service == "sqs":
        queue = p.get("QueueName") or (p.get("QueueUrl") or "").rstrip("/").rsplit("/", 1)[-1]
        return [Need(action, arn.format("sqs", queue) if queue else "*")]
    return [Need(action, "*")]


def _lambda(action: str, response, p: dict, arn: str) -> list[Need]:
    path = response.raw_path.rstrip("/")
    if path.endswith("/functions") and response.method == "POST":
        # CreateFunction: the function it names, and the role it hands to Lambda.
        function = arn.format("lambda", f"function:{p.get('FunctionName')}")
        return [Need(action, function), *_pass_role(p.get("Role"), "lambda.amazonaws.com")]
    if "/functions/" in path:
        # The function the path names (a name or an ARN, maybe qualified):
        # Invoke is lambda:InvokeFunction on it, GetFunctionConfiguration and
        # the others their own action on it.
        named = unquote(path.split("/functions/", 1)[1].split("/", 1)[0])
        function = named if named.startswith("arn:") else arn.format("lambda", f"function:{named}")
        if path.endswith("/invocations"):
            return [Need("lambda:InvokeFunction", function)]
        passed = p.get("Role") if path.endswith("/configuration") and response.method == "PUT" else None
        return [Need(action, function), *_pass_role(passed, "lambda.amazonaws.com")]
    return [Need(action, "*")]


def _iam(action: str, p: dict, account: str, caller: str) -> list[Need]:
    """Roles, users and policies by name (path `/`, as snaplake makes them)."""
    if p.get("RoleName"):
        path = p.get("Path") or "/"
        return [Need(action, f"arn:aws:iam::{account}:role{path}{p['RoleName']}")]
    if p.get("UserName"):
        return [Need(action, f"arn:aws:iam::{account}:user/{p['UserName']}")]
    if action == "iam:GetUser" and ":user/" in caller:
        return [Need(action, caller)]
    if p.get("PolicyArn"):
        return [Need(action, p["PolicyArn"])]
    return [Need(action, "*")]


def _kms(action: str, name: str, p: dict, region: str, account: str) -> list[Need]:
    """A key's calls are decided with its key policy, and with its tags as
    aws:ResourceTag/<key>; CreateKey with the tags it sets as aws:RequestTag;
    an alias's calls need the action on the alias and on its key."""
    context = {"kms:GrantIsForAWSResource": "false"} if name == "CreateGrant" else {}
    if name == "CreateKey":
        tags = {t.get("TagKey"): t.get("TagValue") for t in p.get("Tags") or []}
        context = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
        if not tags:
            return [Need(action, "*")]
        # Tagging on create needs kms:TagResource too (CreateKey's Tags parameter).
        context["aws:TagKeys"] = list(tags)
        return [Need(action, "*", context), Need("kms:TagResource", "*", context)]
    if p.get("AliasName") and name in ("CreateAlias", "DeleteAlias", "UpdateAlias"):
        alias = f"arn:aws:kms:{region}:{account}:{p['AliasName']}"
        target = p.get("TargetKeyId") or _alias_target(p["AliasName"], region, account)
        return [Need(action, alias), *(_kms(action, "", {"KeyId": target}, region, account) if target else [])]
    key = s3_access._kms_key(p["KeyId"], region, account) if p.get("KeyId") else None
    if key is None:
        return [Need(action, _kms_arn(p.get("KeyId"), region, account) or "*", context)]
    context.update({f"aws:ResourceTag/{k}": v for k, v in _key_tags(key, region, account).items()})
    return [Need(action, key.arn, context, json.loads(key.policy), key_policy=True)]


def _alias_target(alias: str, region: str, account: str) -> str | None:
    from moto.kms.models import kms_backends

    try:
        return kms_backends[account][region].get_key_id_from_alias(alias)
    except Exception:
        return None


def _key_tags(key, region: str, account: str) -> dict:
    from moto.kms.models import kms_backends

    try:
        tags = kms_backends[account][region].list_resource_tags(key.id).get("Tags", [])
    except Exception:
        return {}
    return {t["TagKey"]: t["TagValue"] for t in tags}


def _kms_arn(key_id: str | None, region: str, account: str) -> str | None:
    """The ARN a key id names when the key does not exist (KMS answers NotFound itself)."""
    if not key_id:
        return None
    return key_id if key_id.startswith("arn:") else f"arn:aws:kms:{region}:{account}:key/{key_id}"


def _secret_key(name: str, p: dict, secret: str, key_id: str | None, region: str, account: str) -> list[Need]:
    """Secrets Manager encrypts and decrypts a secret's value with the
    caller's credentials: writing one needs kms:GenerateDataKey, reading one
    kms:Decrypt, on the secret's customer managed key, with kms:ViaService
    and the secret's ARN as encryption context (the Secrets Manager guide's
    "Secret encryption and decryption"). Nothing for the AWS managed key."""
    if name == "GetSecretValue":
        kms_action = "kms:Decrypt"
    elif name in ("PutSecretValue", "CreateSecret", "UpdateSecret") and ("SecretString" in p or "SecretBinary" in p):
        kms_action = "kms:GenerateDataKey"
    else:
        return []
    key = s3_access._kms_key(key_id, region, account) if key_id else None
    if key is None:
        return []
    context = {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com", "kms:CallerAccount": account,
               "kms:EncryptionContext:SecretARN": secret}
    return [Need(kms_action, key.arn, context, json.loads(key.policy), key_policy=True)]


def _secret_key_id(secret_id: str, region: str, account: str) -> str | None:
    from moto.secretsmanager.models import secretsmanager_backends

    try:
        return secretsmanager_backends[account][region].secrets[secret_id].kms_key_id
    except Exception:
        return None


def _secret(secret_id: str, region: str, account: str) -> str:
    from moto.secretsmanager.models import secretsmanager_backends

    try:
        return secretsmanager_backends[account][region].secrets[secret_id].arn
    except Exception:
        return secret_id if secret_id.startswith("arn:") else f"arn:aws:secretsmanager:{region}:{account}:secret:{secret_id}"
