"""IAM as strict as AWS for the calls snaplake makes.

moto 5.2.5 enforces IAM (switched on at run time with `POST /moto-api/reset-auth`
body `0`, off with `inf`) but checks every call outside S3 against resource
`*`, HeadBucket as `s3:HeadBucket`, DeleteObjects against the bucket, and never
evaluates conditions, principals in resource policies, key policies or
`iam:PassRole`. This module replaces its authorisation step: the signature is
still checked by moto, then each call is turned into what AWS evaluates
(`needs.required`: each action and resource, the context keys the request
sets, the resource's own policy) and decided as AWS decides (`evaluation.decide`):
explicit Deny first, identity and resource policies within one account, a KMS
key policy that must allow. S3's part (bucket policy, encryption headers, the
KMS key behind an SSE-KMS object, 403 for a missing key) is in `s3_access.py`.

Every denial is logged (`standin: AccessDenied ...`) with the principal, the
action, the resource and the reason (the statement that denied it), since the
Rust SDK shows some (HEAD requests) only as "unhandled error".

Not evaluated (see local/README.md): SCPs, permission boundaries, session
policies (sessions.py evaluates the trust policies of Lambda's, Step
Functions', RDS export's and Scheduler's roles), the KMS calls other services than S3 and
Secrets Manager make (SNS, Lambda, CloudWatch Logs), the Glue calls Athena makes
for a query (its S3 reads and writes are made as the caller: `athena.Caller`). moto's Step Functions engine signs with its fixed key
`ak`; `stepfunctions.py` makes it sign as the execution's role instead, and a
request still signed `ak` (none of snaplake's) is let through.
"""

import json
import os
import threading

from moto import settings
from moto.core import authorization
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import AccessDeniedError, _RESTError
from moto.iam.access_control import IAMPolicy, S3IAMRequest
from moto.s3.exceptions import S3AccessDeniedError, S3ClientError

from . import s3_access
from .evaluation import decide, log
from .needs import required

# Services whose signing name differs from their IAM prefix.
SIGNING_NAMES = {"monitoring": "cloudwatch"}
# STANDIN_TRACE_ALLOWED=1 logs every allowed (action, resource) too, to learn
# what a principal needs (the deployer policy was drawn up so).
TRACE = os.environ.get("STANDIN_TRACE_ALLOWED") == "1"
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
        service, action = request._service, request._action
        if service in SIGNING_NAMES:
            # CloudWatch signs as `monitoring`; its IAM actions are `cloudwatch:`.
            service = SIGNING_NAMES[service]
            action = f"{service}:{action.split(':', 1)[1]}"
        needs = required(self, service, action, resource, region, account, principal_arn)
    except s3_access.KeyUnusable as unusable:
        log(f"standin: {unusable.code} for {principal_arn}: {unusable.message}")
        raise S3ClientError(unusable.code, unusable.message)
    for need in needs:
        decision, why = decide(documents, need.policy, principal, need.action, need.resource, {**context, **need.context}, need.key_policy)
        if decision == "Allow":
            if TRACE:
                log(f"standin: Allow {need.action} on {need.resource} for {principal_arn}")
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


def user(body: dict) -> dict:
    """An IAM user holding exactly `policy` (a document) as its one inline
    policy, with a fresh access key: the deployer, drawn up by the module's
    deployer-policy submodule. Made in-process, like the administrator."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    name, policy = body.get("user"), body.get("policy")
    if not name or not isinstance(policy, dict):
        raise ValueError('iam/user: give {"user": <name>, "policy": <policy document>}')
    backend = iam_backends[body.get("account_id", DEFAULT_ACCOUNT_ID)]["global"]
    if name not in backend.users:
        backend.create_user(region_name="us-east-1", user_name=name)
    for old in list(backend.list_user_policies(name)):
        backend.delete_user_policy(name, old)
    backend.put_user_policy(name, "only-this", json.dumps(policy))
    for key in list(backend.list_access_keys(name)):
        backend.delete_access_key(key.access_key_id, name)
    key = backend.create_access_key(name)
    return {"user": name, "arn": backend.users[name].arn, "access_key_id": key.access_key_id, "secret_access_key": key.secret_access_key}


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
