"""Bucket policies with conditions, and conditional writes.

moto 5.2.5 evaluates a bucket policy's statements but ignores their
Condition blocks, so the standard "deny unless aws:SecureTransport" statement
(which snaplake's bucket has) denies every request. The stand-in is reached
over plain HTTP on loopback and stands for AWS, where requests use TLS:
statements with a Condition are left out of the evaluation, as moto cannot
decide them.

Conditional PutObject (`If-None-Match: *`, `If-Match: <etag>`): moto 5.2.5
answers 412 when the condition fails, but checks it and then writes without
a lock, on a threaded server: two concurrent writers could both "create" the
same key (a probe of 10 races of 8 writers saw one winner each time; nothing
guarantees it). On S3 exactly one wins and the other gets 412
PreconditionFailed (or 409 ConditionalRequestConflict). Here conditional puts
run one at a time, so the check and the write are one step.

GetBucketNotificationConfiguration: moto keeps a bucket's
EventBridgeConfiguration (and sends its events to EventBridge) but leaves it
out of the answer; here it is in.
"""

import json
import threading

from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.s3 import models, responses

CONDITIONAL_PUTS = threading.Lock()


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


_original_put_object = responses.S3Response.put_object


def put_object(self):
    if self.headers.get("If-None-Match") or self.headers.get("If-Match"):
        with CONDITIONAL_PUTS:
            return _original_put_object(self)
    return _original_put_object(self)


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


def install() -> None:
    models.FakeBucket.get_permission = get_permission
    responses.S3Response.put_object = put_object
    responses.S3Response.get_bucket_notification = get_bucket_notification
