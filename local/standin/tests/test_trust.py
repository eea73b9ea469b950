"""Trust policies as AWS evaluates them when a service assumes a role
(`sessions.trusts`): the service principal, `aws:SourceAccount`, and
`aws:SourceArn` for a service acting for one resource (a state machine)."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT  # noqa: E402
from moto.iam.models import iam_backends  # noqa: E402

from standin import sessions  # noqa: E402

MACHINE = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:snaplake-pipeline"


def role(name: str, service: str, condition: dict | None = None) -> str:
    statement = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": service}}
    if condition:
        statement["Condition"] = condition
    backend = iam_backends[ACCOUNT]["global"]
    if name in [r.name for r in backend.roles.values()]:
        backend.delete_role(name)
    created = backend.create_role(role_name=name, assume_role_policy_document=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
                                  path="/", permissions_boundary=None, description="", tags=[], max_session_duration=3600)
    return created.arn


def test_a_service_assumes_a_role_only_as_its_trust_policy_says():
    lam = role("fn", "lambda.amazonaws.com", {"StringEquals": {"aws:SourceAccount": ACCOUNT}})
    assert sessions.trusts(ACCOUNT, lam, "lambda.amazonaws.com")[0]
    assert not sessions.trusts(ACCOUNT, lam, "states.amazonaws.com")[0], "another service"
    other = role("fn-other", "lambda.amazonaws.com", {"StringEquals": {"aws:SourceAccount": "999999999999"}})
    allowed, why = sessions.trusts(ACCOUNT, other, "lambda.amazonaws.com")
    assert not allowed and "ImplicitDeny" in why, why


def test_a_source_arn_condition_needs_the_resource_the_service_acts_for():
    pipeline = role("pipeline", "states.amazonaws.com", {"ArnLike": {"aws:SourceArn": MACHINE}})
    assert sessions.trusts(ACCOUNT, pipeline, "states.amazonaws.com", MACHINE)[0]
    assert not sessions.trusts(ACCOUNT, pipeline, "states.amazonaws.com", MACHINE + "-other")[0]
    assert not sessions.trusts(ACCOUNT, pipeline, "states.amazonaws.com")[0], "a key the service does not send fails"
    assert not sessions.trusts(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:role/missing", "states.amazonaws.com")[0]
