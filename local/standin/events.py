"""Events as AWS delivers them: S3 through EventBridge, RDS export events, Lambda targets.

moto 5.2.5:
- sends a bucket's S3 events to EventBridge when the bucket has an
  EventBridgeConfiguration, but with a fixed event id, a numeric `time`, and
  `reason` "ObjectCreated" (AWS: the API call, e.g. "PutObject");
- raises NotImplementedError for a rule whose target is a Lambda function
  (and swallows it: the event is silently lost);
- gives direct S3 -> Lambda notifications no `userIdentity`,
  `requestParameters` or `responseElements`, which AWS always sends;
- emits no RDS events at all.

Here S3 events reach EventBridge in the shape the S3 user guide documents
("EventBridge event message structure"); rules on the default bus invoke their
Lambda targets asynchronously, as on AWS; and an export that ends emits RDS's
event with its `EventID` (RDS-EVENT-0159/0160/0161 for a DB snapshot's export
failed/canceled/completed, 0162/0163/0164 for a cluster snapshot's).
"""

import copy
import datetime as dt
import threading
import uuid

from moto.events import models as events_models
from moto.events.models import events_backends
from moto.s3 import notifications

from . import lambdas

# (is_cluster, status) -> (EventID, Message)
RDS_EXPORT_EVENTS = {
    (False, "FAILED"): ("RDS-EVENT-0159", "The snapshot export task failed."),
    (False, "CANCELED"): ("RDS-EVENT-0160", "The snapshot export task was canceled."),
    (False, "COMPLETE"): ("RDS-EVENT-0161", "The snapshot export task completed."),
    (True, "FAILED"): ("RDS-EVENT-0162", "The cluster snapshot export task failed."),
    (True, "CANCELED"): ("RDS-EVENT-0163", "The cluster snapshot export task was canceled."),
    (True, "COMPLETE"): ("RDS-EVENT-0164", "The cluster snapshot export task completed."),
}

# S3 event name -> the API call S3 names as `reason`.
S3_REASONS = {
    "s3:ObjectCreated:Put": "PutObject",
    "s3:ObjectCreated:Post": "POST Object",
    "s3:ObjectCreated:Copy": "CopyObject",
    "s3:ObjectCreated:CompleteMultipartUpload": "CompleteMultipartUpload",
}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def put_event(account_id: str, region: str, event: dict) -> None:
    """Delivers an AWS service event to the matching rules of the default bus."""
    bus = events_backends[account_id][region].event_buses.get("default")
    if bus is None:
        return
    for rule in list(bus.rules.values()):
        if rule.state == "ENABLED":
            rule.send_to_targets(copy.deepcopy(event), transform_input=True)


_original_send_to_targets = events_models.Rule.send_to_targets


def send_to_targets(self, original_event, transform_input=True):
    """moto's delivery, plus Lambda targets (invoked asynchronously, as EventBridge does)."""
    if not self.event_pattern.matches_event(original_event):
        return
    others = [t for t in self.targets if ":lambda:" not in t["Arn"]]
    for target in self.targets:
        if ":lambda:" in target["Arn"]:
            event = dict(copy.deepcopy(original_event), _rule_arn=self.arn)
            threading.Thread(target=lambdas.invoke_async, args=(self.account_id, event, target["Arn"]), daemon=True).start()
    if others:
        saved = self.targets
        self.targets = others
        try:
            _original_send_to_targets(self, original_event, transform_input)
        finally:
            self.targets = saved


def s3_event_to_eventbridge(account_id, bucket, event_name, key) -> None:
    """S3 -> EventBridge, as the S3 user guide's "Object Created" example."""
    detail_type = notifications._detail_type(event_name)
    obj = {"key": key.name, "size": key.size, "etag": key.etag.replace('"', ""), "sequencer": uuid.uuid4().hex[:18].upper()}
    if key.version_id and key.version_id != "null":
        obj["version-id"] = key.version_id
    detail = {
        "version": "0",
        "bucket": {"name": bucket.name},
        "object": obj,
        "request-id": uuid.uuid4().hex[:16].upper(),
        "requester": account_id,
        "source-ip-address": "127.0.0.1",
    }
    if detail_type == "Object Created":
        detail["reason"] = S3_REASONS.get(event_name, "PutObject")
    put_event(account_id, bucket.region_name, {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": "aws.s3",
        "account": account_id,
        "time": _now(),
        "region": bucket.region_name,
        "resources": [bucket.arn],
        "detail": detail,
    })


_original_get_s3_event = notifications._get_s3_event


def s3_notification(event_name, bucket, key, notification_id):
    """moto's record with the fields AWS always sends and moto leaves out."""
    event = _original_get_s3_event(event_name, bucket, key, notification_id)
    for record in event["Records"]:
        record["userIdentity"] = {"principalId": "AWS:AROASTANDIN:standin"}
        record["requestParameters"] = {"sourceIPAddress": "127.0.0.1"}
        record["responseElements"] = {"x-amz-request-id": uuid.uuid4().hex[:16].upper(), "x-amz-id-2": uuid.uuid4().hex}
        record["s3"]["bucket"]["ownerIdentity"] = {"principalId": "STANDIN"}
        record["s3"]["object"]["sequencer"] = uuid.uuid4().hex[:18].upper()
    return event


def rds_export_ended(task) -> None:
    """RDS's event for an export that ended (called with the task's final status)."""
    cluster = ":cluster-snapshot:" in task.source_arn
    found = RDS_EXPORT_EVENTS.get((cluster, task.status))
    if not found:
        return
    event_id, message = found
    backend = task.backend
    source_identifier = task.source_arn.split(":", 6)[-1]
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "RDS DB Cluster Snapshot Event" if cluster else "RDS DB Snapshot Event",
        "source": "aws.rds",
        "account": backend.account_id,
        "time": _now(),
        "region": backend.region_name,
        "resources": [task.source_arn],
        "detail": {
            "EventCategories": ["notification"],
            "SourceType": "CLUSTER_SNAPSHOT" if cluster else "SNAPSHOT",
            "SourceArn": task.source_arn,
            "Date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "Message": message,
            "SourceIdentifier": source_identifier,
            "EventID": event_id,
        },
    }
    # Asynchronous, as on AWS, and never under the export lock.
    threading.Thread(target=put_event, args=(backend.account_id, backend.region_name, event), daemon=True).start()


def install() -> None:
    events_models.Rule.send_to_targets = send_to_targets
    notifications._send_event_bridge_message = s3_event_to_eventbridge
    notifications._get_s3_event = s3_notification
