"""Bucket policies, conditional writes, checksums, listings, notifications.

moto 5.2.5 evaluates a bucket policy's statements without their principals
or Condition blocks, so the standard "deny unless aws:SecureTransport"
statement (which snaplake's bucket has) denies every request. With IAM
enforced, the stand-in evaluates the bucket policy with the caller, the
conditions and the encryption keys behind the objects (`s3_access.py`, called
from `iam.py`), and moto's own check stands aside. With IAM not enforced
(`SNAPLAKE_STANDIN_IAM=off`) nobody is authenticated, so statements with a
Condition are left out, as before.

Conditional PutObject (`If-None-Match: *`, `If-Match: <etag>`): moto 5.2.5
answers 412 when the condition fails, but checks it and then writes without
a lock, on a threaded server: two concurrent writers could both "create" the
same key (a probe of 10 races of 8 writers saw one winner each time; nothing
guarantees it). On S3 exactly one wins and the other gets 412
PreconditionFailed (or 409 ConditionalRequestConflict). Here conditional puts
run one at a time, so the check and the write are one step.

A SHA-256 checksum sent with PutObject (`x-amz-checksum-sha256`, as a
header or an aws-chunked trailer): moto 5.2.5 stores it as given and gives
it back from HeadObject and GetObject in checksum mode, even when it is not
the body's. S3 computes it and refuses a mismatch with 400 BadDigest, and so
does the stand-in (snapshot-export trusts that checksum to match the pinned
policy's digest). Other algorithms are stored as moto stores them.

Listing under a prefix: moto looks up every key of the bucket (three
Python calls each) before it compares the prefix, about 2 ms a listing at
1,000 keys, all under the GIL, so one listing slows every request served
beside it. Here the keys are narrowed to the prefix first; the answer is
the same.

Actions: moto 5.2.5 names the action of a bucket request it does not know
by the method's default, so GetBucketEncryption was `s3:ListBucket` and
PutBucketEncryption `s3:CreateBucket`, and HeadBucket `s3:HeadBucket`,
which IAM does not have. Here they are what the Service Authorization
Reference says (`BUCKET_ACTIONS`): HeadBucket is `s3:ListBucket`, so a
bucket policy that denies a listing denies it too.

GetBucketNotificationConfiguration: moto keeps a bucket's
EventBridgeConfiguration (and sends its events to EventBridge) but leaves it
out of the answer; here it is in.
"""

import base64
import hashlib
import json
import re
import threading

from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.s3 import models, responses

from . import iam

CONDITIONAL_PUTS = threading.Lock()


def get_permission(self, action: str, resource: str):
    if self.policy is None or iam.enforcing():
        return PermissionResult.NEUTRAL
    policy = json.loads(self.policy.decode())
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    policy["Statement"] = [s for s in statements if "Condition" not in s]
    if not policy["Statement"]:
        return PermissionResult.NEUTRAL
    return IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource)


_original_put_object = responses.S3Response.put_object


BAD_DIGEST = (
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>BadDigest</Code>'
    "<Message>The SHA256 you specified did not match the calculated checksum.</Message></Error>"
)


def stated_sha256(self) -> str | None:
    """The SHA-256 a PutObject states for its body: a header, or a trailer."""
    value = self.headers.get("x-amz-checksum-sha256")
    if value is None and (self.headers.get("x-amz-trailer") or "").lower() == "x-amz-checksum-sha256":
        found = re.findall(rb"x-amz-checksum-sha256:\s*([A-Za-z0-9+/=]+)", self.raw_body or b"")
        value = found[-1].decode() if found else ""
    return value


def put_object(self):
    stated = stated_sha256(self)
    if stated is not None and stated != base64.b64encode(hashlib.sha256(self.body or b"").digest()).decode():
        return 400, {"Content-Type": "application/xml"}, BAD_DIGEST
    if self.headers.get("If-None-Match") or self.headers.get("If-Match"):
        with CONDITIONAL_PUTS:
            response = _original_put_object(self)
    else:
        response = _original_put_object(self)
    if stated and isinstance(response, tuple) and response[0] == 200:
        # moto keeps a checksum only when the algorithm is named as well
        # (x-amz-sdk-checksum-algorithm); S3 keeps the one given.
        key = self.backend.get_object(self.bucket_name, self.parse_key_name())
        if key is not None and not key.checksum_algorithm:
            key.checksum_algorithm, key.checksum_value = "SHA256", stated
    return response


class _Under:
    """A bucket as moto's listing reads it (`bucket.keys.items()`): only the
    keys under one prefix, each at its latest version."""

    def __init__(self, bucket, prefix: str):
        versions = dict(bucket.keys)  # one copy: name -> versions, oldest first
        self.keys = {name: v[-1] for name, v in versions.items() if name.startswith(prefix) and v}


_original_list_objects = models.S3Backend.list_objects


def list_objects(self, bucket, prefix, delimiter, marker, max_keys):
    if prefix and not isinstance(bucket, models.FakeTableStorageBucket):
        bucket = _Under(bucket, prefix)
    return _original_list_objects(self, bucket, prefix, delimiter, marker, max_keys)


_original_get_notification = responses.S3Response.get_bucket_notification


def get_bucket_notification(self):
    """GetBucketNotificationConfiguration with the `<EventBridgeConfiguration/>`
    moto stores but never returns (Terraform and `snaplake doctor` read it)."""
    response = _original_get_notification(self)
    config = self.backend.get_bucket_notification_configuration(self.bucket_name)
    if config is None or config.event_bridge is None:
        return response
    status, headers, body = response if isinstance(response, tuple) else (200, {}, response)
    text = body.decode() if isinstance(body, bytes) else body
    element = "<EventBridgeConfiguration></EventBridgeConfiguration>"
    if "</NotificationConfiguration>" in text:
        text = text.replace("</NotificationConfiguration>", element + "</NotificationConfiguration>")
    else:
        text = text.replace("/>", ">" + element + "</NotificationConfiguration>", 1) if "<NotificationConfiguration" in text \
            else '<?xml version="1.0" encoding="UTF-8"?><NotificationConfiguration>' + element + "</NotificationConfiguration>"
    headers = dict(headers or {})
    headers.pop("Content-Length", None)
    headers.pop("content-length", None)
    return status, headers, text


# Bucket subresources moto's ACTION_MAP lacks or misnames, by method: the
# IAM action each needs (Service Authorization Reference, Amazon S3).
BUCKET_ACTIONS = {
    "HEAD": {"DEFAULT": "ListBucket"},
    "GET": {
        "encryption": "GetEncryptionConfiguration",
        "ownershipControls": "GetBucketOwnershipControls",
        "object-lock": "GetBucketObjectLockConfiguration",
        "replication": "GetReplicationConfiguration",
        "requestPayment": "GetBucketRequestPayment",
        "publicAccessBlock": "GetBucketPublicAccessBlock",
        "intelligent-tiering": "GetIntelligentTieringConfiguration",
        "analytics": "GetAnalyticsConfiguration",
        "metrics": "GetMetricsConfiguration",
        "inventory": "GetInventoryConfiguration",
        "notification": "GetBucketNotification",
    },
    "PUT": {
        "encryption": "PutEncryptionConfiguration",
        "ownershipControls": "PutBucketOwnershipControls",
        "object-lock": "PutBucketObjectLockConfiguration",
        "replication": "PutReplicationConfiguration",
        "requestPayment": "PutBucketRequestPayment",
        "publicAccessBlock": "PutBucketPublicAccessBlock",
        "intelligent-tiering": "PutIntelligentTieringConfiguration",
        "analytics": "PutAnalyticsConfiguration",
        "metrics": "PutMetricsConfiguration",
        "inventory": "PutInventoryConfiguration",
    },
    "DELETE": {
        "encryption": "PutEncryptionConfiguration",
        "ownershipControls": "PutBucketOwnershipControls",
        "replication": "PutReplicationConfiguration",
        "publicAccessBlock": "PutBucketPublicAccessBlock",
    },
}


def install() -> None:
    for method, actions in BUCKET_ACTIONS.items():
        responses.ACTION_MAP["BUCKET"][method].update(actions)
    models.FakeBucket.get_permission = get_permission
    responses.S3Response.put_object = put_object
    models.S3Backend.list_objects = list_objects
    responses.S3Response.get_bucket_notification = get_bucket_notification
