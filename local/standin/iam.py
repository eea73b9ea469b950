"""IAM as strict as AWS for the calls snaplake makes.

moto 5.2.5 enforces IAM (switched on at run time with `POST /moto-api/reset-auth`
body `0`, off with `inf`) but checks every call outside S3 against resource
`*`, HeadBucket as `s3:HeadBucket`, DeleteObjects against the bucket, and never
evaluates conditions or `iam:PassRole`. This module replaces its authorisation
step: the signature is still checked by moto, then each call is turned into the
(action, resource, context) triples AWS evaluates (`required`) and the caller's
identity policies are evaluated as AWS does (`evaluate`): an explicit Deny wins,
else an Allow whose Action, Resource and Condition all match, else denied.

Every denial is logged (`standin: AccessDenied ...`) with the principal, the
action and the resource, since the Rust SDK shows some (HEAD requests) only as
"unhandled error".

Not evaluated (see local/README.md): resource policies (bucket policies, key
policies, trust policy conditions), SCPs, permission boundaries, session
policies, the KMS calls S3 makes for SSE-KMS objects, the Glue and S3 calls
Athena makes for a query. Requests of moto's Step Functions engine (signed
with its fixed key `ak`) are not checked: the state machine's role is not
enforced.
"""

import json
import re
import sys
import threading
import xml.etree.ElementTree as ET
from urllib.parse import unquote

from moto import settings
from moto.core import authorization
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import AccessDeniedError, _RESTError
from moto.iam.access_control import IAMPolicy, S3IAMRequest
from moto.s3.exceptions import S3AccessDeniedError

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


# -- policy evaluation ---------------------------------------------------------


def _listed(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _substitute(pattern: str, context: dict) -> str | None:
    """Policy variables (`${aws:username}`); None when one is not in the context."""
    missing = False

    def value(m):
        nonlocal missing
        name = m.group(1)
        if name in ("*", "?", "$"):
            return name
        if not isinstance(context.get(name), str):
            missing = True
            return ""
        return context[name]

    text = re.sub(r"\$\{([^}]+)\}", value, pattern)
    return None if missing else text


def wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


def _matches_any(patterns, value: str, context: dict, ignore_case=False, variables=True) -> bool:
    for pattern in _listed(patterns):
        if variables:
            pattern = _substitute(pattern, context)
            if pattern is None:
                continue
        if wildcard(pattern, value, ignore_case):
            return True
    return False


NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"}
COMPARE = {
    "StringEquals": lambda want, got, ctx: want == got,
    "StringEqualsIgnoreCase": lambda want, got, ctx: want.lower() == got.lower(),
    "StringLike": lambda want, got, ctx: _matches_any(want, got, ctx),
    "ArnEquals": lambda want, got, ctx: want == got,
    "ArnLike": lambda want, got, ctx: _matches_any(want, got, ctx),
    "Bool": lambda want, got, ctx: want.lower() == got.lower(),
}
POSITIVE = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def condition_holds(operator: str, key: str, expected, context: dict) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    wanted = [str(v).lower() if isinstance(v, bool) else str(v) for v in _listed(expected)]
    actual = context.get(key)
    if base == "Null":
        return (actual is None) == (wanted[0].lower() == "true")
    if actual is None:
        return if_exists or base in NEGATED
    compare = COMPARE.get(POSITIVE.get(base, base))
    if compare is None:
        log(f"standin: IAM condition operator {operator} is not evaluated here; the statement does not apply")
        return False

    def one(value: str) -> bool:
        hit = any(compare(w, value, context) for w in wanted)
        return not hit if base in NEGATED else hit

    values = _listed(actual)
    if qualifier == "ForAllValues":
        return all(one(v) for v in values)
    return any(one(v) for v in values)


def _statement_applies(statement: dict, action: str, resource: str, context: dict) -> bool:
    if "Action" in statement and not _matches_any(statement["Action"], action, context, True, False):
        return False
    if "NotAction" in statement and _matches_any(statement["NotAction"], action, context, True, False):
        return False
    if "Resource" in statement and not _matches_any(statement["Resource"], resource, context):
        return False
    if "NotResource" in statement and _matches_any(statement["NotResource"], resource, context):
        return False
    for operator, block in (statement.get("Condition") or {}).items():
        for key, expected in block.items():
            if not condition_holds(operator, key, expected, context):
                return False
    return True


def evaluate(documents: list[dict], action: str, resource: str, context: dict) -> str:
    """"Allow", "Deny" (explicit) or "ImplicitDeny", as AWS evaluates identity policies."""
    allowed = False
    for document in documents:
        for statement in _listed(document.get("Statement")):
            if _statement_applies(statement, action, resource, context):
                if statement.get("Effect") == "Deny":
                    return "Deny"
                allowed = True
    return "Allow" if allowed else "ImplicitDeny"


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


def required(response, service: str, action: str, resource: str, region: str, account: str) -> list[tuple[str, str, dict]]:
    """The (action, resource, extra context) triples AWS evaluates for this request."""
    name = action.split(":", 1)[1]
    if service == "s3":
        return _s3(response, name, resource)
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
        return [(action, r, {}) for r in resources]
    if service == "athena":
        workgroup = p.get("WorkGroup") or p.get("Name")
        if "QueryExecutionId" in p:
            from . import athena

            with athena.LOCK:
                query = athena.QUERIES.get((account, region), {}).get(p["QueryExecutionId"])
            workgroup = query.workgroup if query else None
        if name == "StartQueryExecution":
            workgroup = workgroup or "primary"
        return [(action, arn.format("athena", f"workgroup/{workgroup}") if workgroup else "*", {})]
    if service == "kms":
        key = _kms_key(p.get("KeyId"), region, account)
        context = {"kms:GrantIsForAWSResource": "false"} if name == "CreateGrant" else {}
        return [(action, key or "*", context)]
    if service == "secretsmanager" and "SecretId" in p:
        return [(action, _secret(p["SecretId"], region, account), {})]
    if service == "rds" and name == "StartExportTask" and p.get("IamRoleArn"):
        # Which service RDS names in iam:PassedToService is not documented; the module allows both.
        return [(action, "*", {}), ("iam:PassRole", p["IamRoleArn"], {"iam:PassedToService": "export.rds.amazonaws.com"})]
    if service == "sns" and "TopicArn" in p:
        return [(action, p["TopicArn"], {})]
    if service == "states":
        target = p.get("stateMachineArn") or p.get("executionArn")
        return [(action, target or "*", {})]
    if service == "sts" and "RoleArn" in p:
        return [(action, p["RoleArn"], {})]
    return [(action, "*", {})]


def _s3(response, name: str, resource: str) -> list[tuple[str, str, dict]]:
    bucket_arn = resource.split("/", 1)[0]
    if name == "HeadBucket":
        name = "ListBucket"
    if name in ("ListBucket", "ListBucketVersions"):
        qs = response.querystring or {}
        prefix = qs.get("prefix")
        context = {"s3:prefix": prefix[0] if isinstance(prefix, list) else prefix} if prefix is not None else {}
        return [(f"s3:{name}", bucket_arn, context)]
    if response.method == "POST" and "delete" in (response.querystring or {}):
        body = response.body.decode() if isinstance(response.body, bytes) else (response.body or "")
        keys = [e.text or "" for e in ET.fromstring(body).iter() if e.tag.endswith("Key")] if body else []
        return [("s3:DeleteObject", f"{bucket_arn}/{key}", {}) for key in keys] or [("s3:DeleteObject", bucket_arn, {})]
    needs = [(f"s3:{name}", resource, {})]
    source = response.headers.get("x-amz-copy-source")
    if source and name == "PutObject":
        source = unquote(source).lstrip("/").split("?versionId=")[0]
        needs.append(("s3:GetObject", f"arn:aws:s3:::{source}", {}))
    return needs


def _kms_key(key_id: str | None, region: str, account: str) -> str | None:
    if not key_id:
        return None
    from moto.kms.models import kms_backends

    try:
        return kms_backends[account][region].describe_key(key_id).arn
    except Exception:
        return key_id if key_id.startswith("arn:") else f"arn:aws:kms:{region}:{account}:key/{key_id}"


def _secret(secret_id: str, region: str, account: str) -> str:
    from moto.secretsmanager.models import secretsmanager_backends

    try:
        return secretsmanager_backends[account][region].secrets[secret_id].arn
    except Exception:
        return secret_id if secret_id.startswith("arn:") else f"arn:aws:secretsmanager:{region}:{account}:secret:{secret_id}"


# -- the hook ------------------------------------------------------------------


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


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
    if request._action == "sts:GetCallerIdentity":
        return
    account, region = self.current_account, request._region
    principal, context = principal_context(request._access_key, account, region)
    documents = [IAMPolicy(p)._policy_json for p in request._access_key.collect_policies()]
    for action, target, extra in required(self, request._service, request._action, resource, region, account):
        decision = evaluate(documents, action, target, {**context, **extra})
        if decision != "Allow":
            why = "an explicit deny in an identity-based policy" if decision == "Deny" else "no identity-based policy allows the action"
            message = f"User: {principal} is not authorized to perform: {action} on resource: {target} because {why}"
            log(f"standin: AccessDenied {action} on {target} for {principal} ({why}; context {extra or '-'})")
            if iam_request_cls is S3IAMRequest:
                error = S3AccessDeniedError()
                error.message = message
                raise error
            raise _Denied(message, json_protocol="json" in self.headers.get("Content-Type", "") or request._service in ("lambda", "scheduler"))


class _Denied(AccessDeniedError):
    """AccessDenied as the service's protocol writes it, so the SDKs parse its
    code and message (moto writes `<Errors>` around the error, which the Rust
    SDK reads as an "unhandled error")."""

    def __init__(self, message: str, json_protocol: bool):
        _RESTError.__init__(self, "AccessDenied", message)
        if json_protocol:
            self.error_type = "AccessDeniedException"
            self.description = json.dumps({"__type": "AccessDeniedException", "message": message, "Message": message})
            self.content_type = "application/json"
        else:
            from xml.sax.saxutils import escape

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
