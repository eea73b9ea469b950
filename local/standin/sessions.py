"""Temporary credentials of a role, and clients that call the stand-in with them.

Lambda runtimes, the Step Functions engine and RDS's export all act as a
role on AWS. Here each gets that role's temporary credentials from moto's STS
backend in-process (moto answers AssumeRole over HTTP for a service-trusted
role with a 500), and, where it calls AWS itself, a boto3 client signed with
them against the stand-in's own endpoint, so IAM, bucket and key policies
decide its requests as they decide anyone's.
"""

import boto3
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for


class TrustRefused(Exception):
    """The role's trust policy does not let the service assume it."""


def trusts(account: str, role_arn: str, service: str, source_arn: str | None = None) -> tuple[bool, str]:
    """Whether the role's trust policy lets `service` assume it, evaluated as
    AWS does for a service principal: with `aws:SourceAccount`, and
    `aws:SourceArn` when the service names the resource it acts for (a state
    machine); a condition on a key the service does not send fails."""
    import json

    from moto.iam.models import iam_backends

    from .evaluation import evaluate_resource

    try:
        role = iam_backends[account]["global"].get_role_by_arn(role_arn)
    except Exception:  # moto's IAMNotFoundException
        return False, "no such role"
    document = role.assume_role_policy_document
    document = json.loads(document) if isinstance(document, str) else document
    context = {"aws:SourceAccount": account}
    if source_arn:
        context["aws:SourceArn"] = source_arn
    outcome, sid = evaluate_resource(document, {"service": service}, "sts:AssumeRole", role_arn, context)
    return outcome == "Allow", f"{outcome} by {sid or 'no statement'} (context {context})"


def assume(account: str, region: str, role_arn: str, session_name: str, duration: int = 43200,
           service: str | None = None, source_arn: str | None = None):
    """Temporary credentials of `role_arn` (access_key_id, secret_access_key,
    session_token); when a `service` assumes it, only if the role's trust
    policy lets that service in (`trusts`), else TrustRefused."""
    from moto.sts.models import sts_backends

    if service is not None:
        allowed, why = trusts(account, role_arn, service, source_arn)
        if not allowed:
            from .evaluation import log

            log(f"standin: {service} may not assume {role_arn}: {why}")
            raise TrustRefused(f"{service} cannot assume {role_arn}: its trust policy does not allow it ({why})")
    return sts_backends[account]["aws"].assume_role(
        region_name=region, role_session_name=session_name[:64], role_arn=role_arn,
        policy=None, duration=duration, external_id=None)


def valid(credentials) -> bool:
    """False after a reset (which forgets every session) or when it expired."""
    from moto.sts.models import sts_backends

    backend = sts_backends[credentials.account_id]["aws"]
    return any(r.access_key_id == credentials.access_key_id for r in backend.assumed_roles)


def client(service: str, region: str, access_key_id: str, secret_access_key: str, session_token: str | None = None,
           config=None):
    """A boto3 client for the stand-in itself, signed with these credentials.
    (moto's own `boto_client_for` knows where the stand-in listens.)"""
    endpoint = boto_client_for(region, service).meta.endpoint_url
    return boto3.client(service, region_name=region, endpoint_url=endpoint, config=config,
                        aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key,
                        aws_session_token=session_token or None)
