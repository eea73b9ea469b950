"""Bucket policies with conditions.

moto 5.2.5 evaluates a bucket policy's statements but ignores their
Condition blocks, so the standard "deny unless aws:SecureTransport" statement
(which snaplake's bucket has) denies every request. The stand-in is reached
over plain HTTP on loopback and stands for AWS, where requests use TLS:
statements with a Condition are left out of the evaluation, as moto cannot
decide them.
"""

import json

from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.s3 import models


def get_permission(self, action: str, resource: str):
    if self.policy is None:
        return PermissionResult.NEUTRAL
    policy = json.loads(self.policy.decode())
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    policy["Statement"] = [s for s in statements if "Condition" not in s]
    if not policy["Statement"]:
        return PermissionResult.NEUTRAL
    return IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource)


def install() -> None:
    models.FakeBucket.get_permission = get_permission
