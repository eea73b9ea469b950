"""Glue's lineage API in the stand-in (standin/lineage.py): PostLineageEvent
and GetLineageNode, IAM on resource `*`, the posted events and the faults of
the control API.

boto3's botocore (1.44.5, pinned) has no model of these two operations, so
the requests are written as the API reference gives them (awsJson1.1, an
`X-Amz-Target: AWSGlue.<Operation>` header, the JSON body) and signed with
botocore's own SigV4Auth, as a client would sign them: the test sends what
goes on the wire and nothing of ours stands between, where a hand-written
service-model patch would be our reading of AWS's model, not AWS's.
"""

import json
import urllib.error
import urllib.request
import uuid

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from test_iam import enforced  # noqa: F401 (the fixture)

ACCOUNT = "123456789012"
REGION = "us-east-1"
GLUE = f"arn:aws:glue:{REGION}:{ACCOUNT}"
RUN_ID = "0f6b1c3e-1a2b-4c3d-8e9f-0123456789ab"
PRODUCER = "https://github.com/snaplake/snaplake/tree/main/catalog-swap"


def glue_call(endpoint, operation, body, credentials=None, raw=None):
    """(status, parsed JSON body or None) of a signed Glue JSON request."""
    data = raw if raw is not None else json.dumps(body).encode()
    request = AWSRequest(method="POST", url=f"{endpoint}/", data=data,
                         headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"AWSGlue.{operation}"})
    SigV4Auth(credentials or Credentials("test", "test"), "glue", REGION).add_auth(request)
    prepared = request.prepare()
    sent = urllib.request.Request(prepared.url, data=prepared.body, headers=dict(prepared.headers), method="POST")
    try:
        with urllib.request.urlopen(sent, timeout=30) as answer:
            status, text = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    return status, (json.loads(text) if text.strip() else None)


def post(endpoint, event, credentials=None):
    text = event if isinstance(event, str) else json.dumps(event)
    return glue_call(endpoint, "PostLineageEvent", {"Event": text}, credentials)


def node(endpoint, identifier, credentials=None):
    return glue_call(endpoint, "GetLineageNode", {"Identifier": identifier}, credentials)


def control(endpoint, path, body=None):
    request = urllib.request.Request(f"{endpoint}{path}", method="GET" if body is None else "POST",
                                     data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def facet(**fields):
    return {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet", **fields}


def run_event(**changes):
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-21T03:15:00Z",
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": RUN_ID},
        "job": {"namespace": "snaplake", "name": "catalog-swap"},
        "inputs": [
            {"namespace": GLUE, "name": "table/snaplake_raw/shop_orders",
             "facets": {"schema": facet(fields=[{"name": "id", "type": "bigint"}])}},
            {"namespace": "s3://lake", "name": "/exports/2026-11-20/shop.orders"},
        ],
        "outputs": [{"namespace": GLUE, "name": "table/snaplake_curated/shop_orders"}],
    }
    event.update(changes)
    return event


def refused(answer, *names):
    status, body = answer
    assert status == 400, answer
    assert body["__type"] == "InvalidInputException", body
    for name in names:
        assert name in body["message"], body


def test_a_run_event_links_its_inputs_through_the_run_to_its_outputs(aws, endpoint):
    event = run_event()
    assert post(endpoint, event) == (200, None)
    assert control(endpoint, "/_snaplake/glue/lineage") == {"events": [event]}

    status, curated = node(endpoint, f"{GLUE}:table/snaplake_curated/shop_orders")
    assert status == 200, curated
    assert curated["SourceIdentifier"] == f"{GLUE}:table/snaplake_curated/shop_orders"
    assert curated["Name"] == "table/snaplake_curated/shop_orders"
    assert curated["EventTimestamp"] == 1795230900.0  # 2026-11-21T03:15:00Z
    assert curated["DownstreamNodes"] == [] and len(curated["UpstreamNodes"]) == 1
    assert len(curated["Id"]) <= 36

    # One hop up: the run, found by its Id; it names both inputs upstream.
    status, run = node(endpoint, curated["UpstreamNodes"][0]["Id"])
    assert status == 200, run
    assert run["SourceIdentifier"] == f"snaplake.catalog-swap/{RUN_ID}"
    assert run["DownstreamNodes"] == [{"Id": curated["Id"]}]
    assert len(run["UpstreamNodes"]) == 2
    # By SourceIdentifier too, the same node.
    assert node(endpoint, f"snaplake.catalog-swap/{RUN_ID}")[1]["Id"] == run["Id"]

    # Two hops from the curated table: the raw table and the export's files.
    upstream = {node(endpoint, n["Id"])[1]["SourceIdentifier"]: node(endpoint, n["Id"])[1] for n in run["UpstreamNodes"]}
    assert set(upstream) == {f"{GLUE}:table/snaplake_raw/shop_orders", "s3://lake/exports/2026-11-20/shop.orders"}
    raw = upstream[f"{GLUE}:table/snaplake_raw/shop_orders"]
    assert raw["DownstreamNodes"] == [{"Id": run["Id"]}] and raw["UpstreamNodes"] == []
    assert [f["TypeName"] for f in raw["FormsOutput"]] == ["schema"]

    # A reset forgets the events and the graph.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=30).read()
    assert control(endpoint, "/_snaplake/glue/lineage") == {"events": []}
    assert node(endpoint, curated["Id"])[1]["__type"] == "EntityNotFoundException"


def test_a_dataset_event_makes_a_node_without_edges(aws, endpoint):
    event = {"eventTime": "2026-11-21T03:15:00.250+09:00", "producer": PRODUCER,
             "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
             "dataset": {"namespace": GLUE, "name": "table/snaplake_curated/shop_customers"}}
    assert post(endpoint, event) == (200, None)
    status, found = node(endpoint, f"{GLUE}:table/snaplake_curated/shop_customers")
    assert status == 200, found
    assert (found["UpstreamNodes"], found["DownstreamNodes"]) == ([], [])
    assert found["EventTimestamp"] == 1795198500.25


def _padded(size: int, filler: str = "x") -> str:
    """A valid run event of `size` UTF-8 bytes (a custom run facet carries the
    padding); with a filler of two bytes, of `size` or `size` + 1."""
    def text(n):
        event = run_event()
        event["run"]["facets"] = {"snaplake_padding": facet(pad=filler * n)}
        return json.dumps(event, ensure_ascii=False)
    base = len(text(0).encode())
    width = len(filler.encode())
    padded = text(-(-(size - base) // width))
    assert size <= len(padded.encode()) < size + width
    return padded


def test_an_event_over_300000_bytes_is_refused_and_one_of_300000_taken(aws, endpoint):
    refused(post(endpoint, _padded(300_001)), "300001 bytes")
    assert control(endpoint, "/_snaplake/glue/lineage") == {"events": []}
    assert post(endpoint, _padded(300_000)) == (200, None)
    assert post(endpoint, _padded(299_999)) == (200, None)
    # Bytes, not characters: fewer than 300,000 characters of two bytes each are too many.
    two_bytes = _padded(300_001, "é")
    assert len(two_bytes) < 300_000
    refused(post(endpoint, two_bytes), f"{len(two_bytes.encode())} bytes")
    assert len(control(endpoint, "/_snaplake/glue/lineage")["events"]) == 2


def _without(path):
    event = run_event()
    holder = event
    for key in path[:-1]:
        holder = holder[key]
    del holder[path[-1]]
    return event


@pytest.mark.parametrize("event, names", [
    ('{"eventTime": "2026-11-21T03:15:00Z", "producer": ', ["not valid JSON"]),
    ('[1, 2]', ["not a JSON object"]),
    (_without(["run", "runId"]), ["run.runId", "required"]),
    (run_event(run={"runId": "run-1"}), ["run.runId", "not a UUID", "run-1"]),
    (run_event(run={"runId": "0f6b1c3e1a2b4c3d8e9f0123456789ab"}), ["run.runId", "not a UUID"]),
    (run_event(eventType="DONE"), ["eventType", "DONE"]),
    (_without(["run"]), ["job event", "not supported"]),
    (_without(["job"]), ["job", "required"]),
    (_without(["eventTime"]), ["eventTime", "required"]),
    (run_event(eventTime="2026-11-21T03:15:00"), ["eventTime", "offset"]),
    (run_event(eventTime="yesterday"), ["eventTime"]),
    (_without(["producer"]), ["producer", "required"]),
    (run_event(schemaURL="not a uri"), ["schemaURL", "not a URI"]),
    (run_event(inputs={"namespace": GLUE}), ["inputs", "not a list"]),
    (run_event(outputs=[{"namespace": GLUE}]), ["outputs[0].name", "required"]),
    (run_event(inputs=[{"namespace": GLUE, "name": "t", "facets": {"schema": {"_producer": PRODUCER}}}]),
     ["inputs[0].facets.schema._schemaURL", "required"]),
    (run_event(job={"namespace": "snaplake", "name": "x", "facets": {"jobType": facet(_producer="no uri")}}),
     ["job.facets.jobType._producer", "not a URI"]),
    (run_event(dataset={"namespace": GLUE, "name": "t"}), ["dataset", "run event"]),
], ids=["malformed-json", "not-an-object", "no-runId", "runId-not-uuid", "runId-unhyphenated", "unknown-eventType",
        "job-event", "no-job", "no-eventTime", "eventTime-without-offset", "eventTime-not-a-date", "no-producer",
        "schemaURL-not-uri", "inputs-not-list", "output-without-name", "facet-without-schemaURL",
        "facet-producer-not-uri", "run-and-dataset"])
def test_a_malformed_event_is_refused_naming_the_field(aws, endpoint, event, names):
    refused(post(endpoint, event), *names)
    assert control(endpoint, "/_snaplake/glue/lineage") == {"events": []}


def test_a_request_without_event_or_identifier_is_refused(aws, endpoint):
    refused(glue_call(endpoint, "PostLineageEvent", {}), "Event is required")
    refused(glue_call(endpoint, "PostLineageEvent", {"Event": {"eventTime": "x"}}), "Event is required")
    refused(glue_call(endpoint, "GetLineageNode", {}), "Identifier")
    refused(node(endpoint, "x" * 2151), "Identifier")


def test_an_unknown_node_is_entity_not_found(aws, endpoint):
    assert post(endpoint, run_event()) == (200, None)
    status, body = node(endpoint, f"{GLUE}:table/snaplake_curated/nothing")
    assert status == 400 and body["__type"] == "EntityNotFoundException", body
    status, body = node(endpoint, str(uuid.uuid4()))
    assert status == 400 and body["__type"] == "EntityNotFoundException", body


def _role(enforced, name, statements):  # noqa: F811 (the fixture)
    iam = enforced("iam")
    user = iam.get_user(UserName="snaplake-admin")["User"]["Arn"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": user}}]}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    creds = enforced("sts").assume_role(RoleArn=arn, RoleSessionName="test")["Credentials"]
    return Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


def _denied(answer, action):
    status, body = answer
    assert status == 403 and body["__type"] == "AccessDeniedException", answer
    assert action in body["message"] and "resource: *" in body["message"], body


def test_iam_grants_the_lineage_actions_only_on_resource_star(enforced, endpoint):  # noqa: F811 (the fixture)
    other = _role(enforced, "other", [{"Effect": "Allow", "Action": ["glue:GetTable", "glue:CreateTable"], "Resource": "*"}])
    _denied(post(endpoint, run_event(), other), "glue:PostLineageEvent")
    named = _role(enforced, "named", [{"Effect": "Allow", "Action": ["glue:PostLineageEvent", "glue:GetLineageNode"],
                                       "Resource": [f"{GLUE}:catalog", f"{GLUE}:*", f"{GLUE}:table/snaplake_curated/*"]}])
    _denied(post(endpoint, run_event(), named), "glue:PostLineageEvent")
    _denied(node(endpoint, f"snaplake.catalog-swap/{RUN_ID}", named), "glue:GetLineageNode")
    assert control(endpoint, "/_snaplake/glue/lineage") == {"events": []}
    star = _role(enforced, "star", [{"Effect": "Allow", "Action": ["glue:PostLineageEvent", "glue:GetLineageNode"], "Resource": "*"}])
    assert post(endpoint, run_event(), star) == (200, None)
    assert node(endpoint, f"snaplake.catalog-swap/{RUN_ID}", star)[0] == 200
    poster = _role(enforced, "poster", [{"Effect": "Allow", "Action": "glue:PostLineageEvent", "Resource": "*"}])
    _denied(node(endpoint, f"snaplake.catalog-swap/{RUN_ID}", poster), "glue:GetLineageNode")


def test_a_fault_refuses_valid_posts_as_told(aws, endpoint):
    control(endpoint, "/_snaplake/glue/faults", {"operations": ["PostLineageEvent"], "code": "ThrottlingException",
                                                 "fail": "Rate exceeded", "times": 1})
    status, body = post(endpoint, run_event())
    assert (status, body["__type"], body["message"]) == (400, "ThrottlingException", "Rate exceeded")
    # An invalid event is still refused as invalid (checked before the fault).
    control(endpoint, "/_snaplake/glue/faults", {"operations": ["PostLineageEvent"], "database": "snaplake_curated",
                                                 "table": "shop_orders", "code": "InternalServiceException"})
    refused(post(endpoint, run_event(eventType="DONE")), "eventType")
    # The second fault names a table: an event without it goes through, one with it fails with a 500.
    assert post(endpoint, run_event(outputs=[{"namespace": GLUE, "name": "table/snaplake_curated/other"}])) == (200, None)
    status, body = post(endpoint, run_event())
    assert (status, body["__type"]) == (500, "InternalServiceException")
    assert [e["outputs"][0]["name"] for e in control(endpoint, "/_snaplake/glue/lineage")["events"]] == ["table/snaplake_curated/other"]


def test_glue_faults_still_need_a_table_for_the_table_operations(aws, endpoint):
    with pytest.raises(urllib.error.HTTPError) as caught:
        control(endpoint, "/_snaplake/glue/faults", {"operations": ["CreateTable"], "code": "AccessDeniedException"})
    assert caught.value.code == 400
    with pytest.raises(urllib.error.HTTPError) as caught:
        control(endpoint, "/_snaplake/glue/faults", {"operations": ["GetLineageNode"]})
    assert caught.value.code == 400
