"""IAM as strict as AWS for the calls snaplake makes.

moto 5.2.5 enforces IAM (switched on at run time with `POST /moto-api/reset-auth`
body `0`, off with `inf`) but checks every call outside S3 against resource
`*`, HeadBucket as `s3:HeadBucket`, DeleteObjects against the bucket, and never
evaluates conditions, principals in resource policies, key policies or
`iam:PassRole`. This module replaces its authorisation step: the signature is
still checked by moto, then each call is turned into what AWS evaluates
(`required`: each action and resource, the context keys the request sets, the
resource's own policy) and decided as AWS decides (`evaluation.decide`):
explicit Deny first, identity and resource policies within one account, a KMS
key policy that must allow. S3's part (bucket policy, encryption headers, the
KMS key behind an SSE-KMS object, 403 for a missing key) is in `s3_access.py`.

Every denial is logged (`standin: AccessDenied ...`) with the principal, the
action, the resource and the reason (the statement that denied it), since the
Rust SDK shows some (HEAD requests) only as "unhandled error".

Not evaluated (see local/README.md): SCPs, permission boundaries, session
policies, trust policies of Scheduler (sessions.py evaluates Lambda's, Step
Functions' and RDS export's), the KMS calls other services than S3 make
(Secrets Manager, SNS, Lambda, CloudWatch Logs), the Glue calls Athena makes
for a query (its S3 reads and writes are made as the caller: `athena.Caller`). moto's Step Functions engine signs with its fixed key
`ak`; `stepfunctions.py` makes it sign as the execution's role instead, and a
request still signed `ak` (none of snaplake's) is let through.
"""

import json
import threading
from urllib.parse import unquote

from moto import settings
from moto.core import authorization
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import AccessDeniedError, _RESTError
from moto.iam.access_control import IAMPolicy, S3IAMRequest
from moto.s3.exceptions import S3AccessDeniedError, S3ClientError

from . import s3_access
from .evaluation import decide, log
from .s3_access import Need

# moto's Step Functions engine signs every call it makes with this key.
ENGINE_ACCESS_KEY = "ak"
# The raw body of a form-encoded (query protocol) request, kept by
# `keep_form_body` for the signature check (moto re-encodes it with `+`).
_LOCAL = threading.local()


def enforcing() -> bool:
    return ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT


def keep_form_body(environ) -> None:
    """Called by the control layer before moto reads the request."""
    _LOCAL.form_body = None
    if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", "") and environ.get("CONTENT_LENGTH"):
        import io

        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        environ["wsgi.input"] = io.BytesIO(body)
        _LOCAL.form_body = body


# -- what a request needs -------------------------------------------------------


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


def _no_query(account: str, region: str, query_id: str) -> str | None:
    return None


# The workgroup of an Athena query, which a call naming the query is decided
# against. The queries are athena.py's: it registers its lookup at install
# (`query_workgroups`), since it imports this module to ask `enforcing`.
_query_workgroup = _no_query


def query_workgroups(lookup) -> None:
    """`lookup(account, region, query_id)` answers a query's workgroup, or None."""
    global _query_workgroup
    _query_workgroup = lookup


def required(response, service: str, action: str, resource: str, region: str, account: str) -> list[Need]:
    """What AWS evaluates for this request: each (action, resource) with the
    context keys the request sets and the resource's own policy."""
    name = action.split(":", 1)[1]
    if service == "s3":
        return s3_access.needs(response, name, resource, region, account)
    p = _params(response)
    arn = f"arn:aws:{{}}:{region}:{account}:{{}}"
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
        context = {"kms:GrantIsForAWSResource": "false"} if name == "CreateGrant" else {}
        key = s3_access._kms_key(p["KeyId"], region, account) if p.get("KeyId") else None
        if key is None:
            return [Need(action, _kms_arn(p.get("KeyId"), region, account) or "*", context)]
        return [Need(action, key.arn, context, json.loads(key.policy), key_policy=True)]
    if service == "secretsmanager" and "SecretId" in p:
        return [Need(action, _secret(p["SecretId"], region, account))]
    if service == "rds" and name == "StartExportTask" and p.get("IamRoleArn"):
        # Which service RDS names in iam:PassedToService is not documented; the module allows both.
        return [Need(action, "*"), Need("iam:PassRole", p["IamRoleArn"], {"iam:PassedToService": "export.rds.amazonaws.com"})]
    if service == "sns" and "TopicArn" in p:
        return [Need(action, p["TopicArn"])]
    if service == "states":
        target = p.get("stateMachineArn") or p.get("executionArn")
        return [Need(action, target or "*")]
    if service == "lambda" and response.raw_path.split("/functions/", 1)[-1].strip("/") and "/functions/" in response.raw_path:
        # The function the path names (a name or an ARN, maybe qualified):
        # Invoke is lambda:InvokeFunction on it, GetFunctionConfiguration and
        # the others their own action on it.
        named = unquote(response.raw_path.split("/functions/", 1)[1].split("/", 1)[0])
        function = named if named.startswith("arn:") else arn.format("lambda", f"function:{named}")
        if response.raw_path.endswith("/invocations"):
            return [Need("lambda:InvokeFunction", function)]
        return [Need(action, function)]
    if service == "scheduler" and "/schedules/" in response.raw_path:
        # A schedule is named within its group (`default` unless the query names one).
        name_ = unquote(response.raw_path.split("/schedules/", 1)[1].split("/", 1)[0])
        group = p.get("groupName") or "default"
        return [Need(action, arn.format("scheduler", f"schedule/{group}/{name_}"))]
    if service == "sts" and "RoleArn" in p:
        return [Need(action, p["RoleArn"])]
    return [Need(action, "*")]


def _kms_arn(key_id: str | None, region: str, account: str) -> str | None:
    """The ARN a key id names when the key does not exist (KMS answers NotFound itself)."""
    if not key_id:
        return None
    return key_id if key_id.startswith("arn:") else f"arn:aws:kms:{region}:{account}:key/{key_id}"


def _secret(secret_id: str, region: str, account: str) -> str:
    from moto.secretsmanager.models import secretsmanager_backends

    try:
        return secretsmanager_backends[account][region].secrets[secret_id].arn
    except Exception:
        return secret_id if secret_id.startswith("arn:") else f"arn:aws:secretsmanager:{region}:{account}:secret:{secret_id}"


# -- the hook ------------------------------------------------------------------


def principal_context(access_key, account: str, region: str) -> tuple[str, dict]:
    arn = access_key.arn
    context = {"aws:PrincipalAccount": account, "aws:RequestedRegion": region, "aws:SecureTransport": "true"}
    if ":assumed-role/" in arn:
        role = arn.split(":assumed-role/")[1].split("/")[0]
        context["aws:PrincipalArn"] = f"arn:aws:iam::{account}:role/{role}"
    else:
        context["aws:PrincipalArn"] = arn
        context["aws:username"] = arn.rsplit("/", 1)[-1]
    return arn, context


def authorize(self, iam_request_cls: type, resource: str = "*") -> None:
    """Replaces ActionAuthenticatorMixin._authenticate_and_authorize_action."""
    if not enforcing():
        ActionAuthenticatorMixin.request_count += 1
        return
    if self.headers.get("X-Amz-Target") in ActionAuthenticatorMixin.PUBLIC_OPERATIONS:
        return
    if f"Credential={ENGINE_ACCESS_KEY}/" in self.headers.get("Authorization", ""):
        return
    from urllib.parse import urlparse

    path = self.raw_path
    query = urlparse(self.uri).query
    if query:
        path += "?" + query
    body = self.raw_body or getattr(_LOCAL, "form_body", None)
    json_protocol = iam_request_cls is not S3IAMRequest and _json_protocol(self)
    try:
        request = iam_request_cls(
            account_id=self.current_account,
            method=self.method,
            path=path,
            data=self.data,
            body=body,
            headers=self.headers,
            action=self._get_action(),
        )
        if iam_request_cls is not S3IAMRequest:
            # moto signs `data` when there is no body, and `data` of a GET without a
            # query string is the request's headers: the payload is the empty body.
            request._data = {}
        try:
            request.check_signature()
        except Exception:
            log(f"standin: SignatureDoesNotMatch {self.method} {path} ({request._action}; body {len(body or b'')} bytes)")
            raise
    except _RESTError as refused:
        # moto writes these in XML whatever the protocol; a JSON service
        # (Lambda, Step Functions, Glue, Athena, ...) answers in JSON on AWS.
        if json_protocol:
            raise _JsonError(JSON_AUTH_CODES.get(refused.error_type, refused.error_type), refused.message, refused.code)
        raise
    if request._action == "sts:GetCallerIdentity":
        return
    account, region = self.current_account, request._region
    principal_arn, context = principal_context(request._access_key, account, region)
    principal = {"arn": context["aws:PrincipalArn"], "account": account, "account_root": f"arn:aws:iam::{account}:root"}
    documents = [IAMPolicy(p)._policy_json for p in request._access_key.collect_policies()]
    try:
        needs = required(self, request._service, request._action, resource, region, account)
    except s3_access.KeyUnusable as unusable:
        log(f"standin: {unusable.code} for {principal_arn}: {unusable.message}")
        raise S3ClientError(unusable.code, unusable.message)
    for need in needs:
        decision, why = decide(documents, need.policy, principal, need.action, need.resource, {**context, **need.context}, need.key_policy)
        if decision == "Allow":
            continue
        message = need.denial or f"User: {principal_arn} is not authorized to perform: {need.action} on resource: {need.resource} because {why}"
        log(f"standin: AccessDenied {need.action} on {need.resource} for {principal_arn} ({why}; context {need.context or '-'})")
        if iam_request_cls is S3IAMRequest:
            error = S3AccessDeniedError()
            error.message = message
            raise error
        if json_protocol:
            raise _JsonError("AccessDeniedException", message, 403)
        raise _Denied(message)


# What JSON services call moto's (query-protocol) credential errors: Lambda,
# CloudWatch Logs, ECS, Cognito answer an unknown key with
# UnrecognizedClientException, a bad signature with InvalidSignatureException.
JSON_AUTH_CODES = {"InvalidClientTokenId": "UnrecognizedClientException", "SignatureDoesNotMatch": "InvalidSignatureException"}


def _json_protocol(handler) -> bool:
    """JSON services (awsJson, restJson): their requests name a JSON content
    type, or the service is a restJson one whose GETs carry no body."""
    service = handler.headers.get("Authorization", "").split("Credential=", 1)[-1].split("/")[3:4]
    return "json" in handler.headers.get("Content-Type", "") or service in (["lambda"], ["scheduler"])


class _JsonError(_RESTError):
    """An error as a JSON service writes it: `__type` and `message` in the
    body and the code in `x-amzn-ErrorType`, so the SDKs parse its code and
    message (moto writes XML, which they read as an "unhandled error")."""

    code = 403

    def __init__(self, error_type: str, message: str, status: int):
        _RESTError.__init__(self, error_type, message)
        self.code = status
        self.error_type = error_type
        self.description = json.dumps({"__type": error_type, "message": message, "Message": message})
        self.content_type = "application/json"


class _Denied(AccessDeniedError):
    """AccessDenied as a query or REST-XML service writes it (moto writes
    `<Errors>` around the error, which the Rust SDK reads as an "unhandled
    error")."""

    def __init__(self, message: str):
        from xml.sax.saxutils import escape

        _RESTError.__init__(self, "AccessDenied", message)
        self.description = (
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
            f"<Message>{escape(message)}</Message></Error><RequestId>standin</RequestId></ErrorResponse>"
        )


ADMIN_USER = "snaplake-admin"
ADMINISTRATOR = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def admin(body: dict) -> dict:
    """An IAM user allowed everything (the deployer, the tests, the demo) with a
    fresh access key, made in-process so it works with enforcement on; then
    enforcement on or off as `enforce` says (default on)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    backend = iam_backends[body.get("account_id", DEFAULT_ACCOUNT_ID)]["global"]
    if ADMIN_USER not in backend.users:
        backend.create_user(region_name="us-east-1", user_name=ADMIN_USER)
    backend.put_user_policy(ADMIN_USER, "administrator", ADMINISTRATOR)
    for key in backend.list_access_keys(ADMIN_USER):
        backend.delete_access_key(key.access_key_id, ADMIN_USER)
    key = backend.create_access_key(ADMIN_USER)
    enforce = bool(body.get("enforce", True))
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0 if enforce else float("inf")
    ActionAuthenticatorMixin.request_count = 0
    return {"user": ADMIN_USER, "access_key_id": key.access_key_id, "secret_access_key": key.secret_access_key, "enforcing": enforce}


def install() -> None:
    authorization.ActionAuthenticatorMixin._authenticate_and_authorize_action = authorize
