"""Bucket policies with conditions; S3 event records as AWS writes them.

moto 5.2.5 evaluates a bucket policy's statements but ignores their
Condition blocks, so the standard "deny unless aws:SecureTransport" statement
(which snaplake's bucket has) denies every request. The stand-in is reached
over plain HTTP on loopback and stands for AWS, where requests use TLS:
statements with a Condition are left out of the evaluation, as moto cannot
decide them.

moto's S3 event records lack `userIdentity`, `requestParameters`,
`responseElements`, the bucket's `ownerIdentity` and the object's `versionId`
and `sequencer`, and encode `/` in the key as `%2F`: `full_event` adds them
and keeps `/` as the S3 user guide's "Event message
structure" documents them (ids are the stand-in's own).
"""

import itertools
import json
import threading
import uuid
from urllib.parse import quote_plus

from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.s3 import models, notifications

_SEQUENCE = itertools.count(1)
_SEQUENCE_LOCK = threading.Lock()
_original_event = notifications._get_s3_event


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


def full_event(event_name, bucket, key, notification_id):
    event = _original_event(event_name, bucket, key, notification_id)
    principal = f"AWS:{bucket.account_id}"
    with _SEQUENCE_LOCK:
        sequencer = f"{next(_SEQUENCE):018X}"
    for record in event["Records"]:
        record["userIdentity"] = {"principalId": principal}
        record["requestParameters"] = {"sourceIPAddress": "127.0.0.1"}
        record["responseElements"] = {"x-amz-request-id": uuid.uuid4().hex[:16].upper(), "x-amz-id-2": uuid.uuid4().hex}
        record["s3"]["bucket"]["ownerIdentity"] = {"principalId": bucket.account_id}
        version = getattr(key, "version_id", None)
        if version and version != "null":
            record["s3"]["object"]["versionId"] = version
        record["s3"]["object"]["sequencer"] = sequencer
        # URL-encoded as S3 writes it: a space as `+`, but `/` kept (moto: `%2F`).
        record["s3"]["object"]["key"] = quote_plus(key.name, safe="/")
    return event


def install() -> None:
    models.FakeBucket.get_permission = get_permission
    notifications._get_s3_event = full_event
