"""Glue's lineage API: PostLineageEvent and GetLineageNode, which moto 5.2.5 lacks.

PostLineageEvent (`{"Event": "<OpenLineage JSON>"}`) takes an OpenLineage
2-0-2 run event or dataset event, checks it and answers 200 with an empty
body; anything refused is InvalidInputException, with a message naming the
field (a JSON path such as `run.runId` or `inputs[0].facets.schema._producer`).
Checked: the Event is at most 300,000 bytes in UTF-8; it is JSON, an object;
`eventTime` (an RFC 3339 date-time with its offset), `producer` and
`schemaURL` (URIs) are there; a run event has `run.runId` (a UUID, written
8-4-4-4-12), `job.namespace` and `job.name` (non-empty strings), `eventType`
if given one of START, RUNNING, COMPLETE, ABORT, FAIL, OTHER, and `inputs` and
`outputs` lists of datasets each with a non-empty string `namespace` and
`name`; a dataset event has `dataset.namespace` and `dataset.name` and neither
`run` nor `job`; a job event (`job` without `run`) is refused as unsupported;
every facet (run, job, dataset, input and output facets) is an object with
`_producer` and `_schemaURL` URIs. IAM: `glue:PostLineageEvent` on resource
`*` (it supports no resource-level permissions, so a statement naming any
other resource does not grant it).

The graph (per account and region) has a node per dataset and per run:
every input of a run event points at the run's node, which points at every
output, so GetLineageNode on an output lists the run upstream and the run
lists the inputs. Node ids are UUIDs (36 characters). A dataset's
SourceIdentifier is the Glue table's ARN for namespace
`arn:aws:glue:<region>:<account>` and name `table/<database>/<table>`,
`s3://<bucket>/<path>` for namespace `s3://<bucket>` and name `/<path>`,
else `<namespace>/<name>`; a run's is `<job namespace>.<job name>/<runId>`.
GetLineageNode (`{"Identifier": ...}`, 1 to 2150 characters, a node id or a
SourceIdentifier) answers `Id`, `TypeName`, `SourceIdentifier`,
`EventTimestamp` (epoch seconds of the latest event naming the node), `Name`,
`Description` (from a `documentation` facet, if any), `UpstreamNodes` and
`DownstreamNodes` (`[{"Id"}]`, at most 250 each) and `FormsOutput`;
EntityNotFoundException for an unknown identifier. IAM: `glue:GetLineageNode`
on resource `*`, like PostLineageEvent.

Where it differs from AWS (also in local/README.md):
- the graph is updated before PostLineageEvent answers; AWS updates it
  asynchronously (a 200 there does not mean GetLineageNode sees the event yet);
- the graph has no job nodes (Glue: "A node represents one dataset or one run";
  DataZone's graph has them, SourceIdentifier `<namespace>.<name>`);
- `TypeName` is `amazon.datazone.DatasetLineageNodeType` or
  `amazon.datazone.JobRunLineageNodeType`, DataZone's names, not documented for
  Glue; `FormsOutput` is the stand-in's own: one form per OpenLineage facet the
  node got last (`TypeName` the facet's key, `Content` its JSON). Neither is
  to be relied on outside the stand-in;
- stricter wherever AWS does not say: 300,000 counts UTF-8 bytes (the API
  reference says length, the guide bytes); eventTime must be RFC 3339 with an
  offset; runId must be the hyphenated UUID form; namespaces and names must be
  non-empty; duplicate keys, NaN and Infinity are refused; a dataset event
  may not carry `job`; the 250 neighbours given are the first 250 linked;
- no ThrottlingException or InternalServiceException of its own: a fault makes
  them (below).

Control API (`control.py`):
    GET  /_snaplake/glue/lineage   {"events": [<event as parsed JSON>, ...]}: the events
                                   PostLineageEvent accepted since the last reset, in order
    POST /_snaplake/glue/faults    {"operations": ["PostLineageEvent"], "code": "ThrottlingException",
                                    "fail": "<message>", "database": "snaplake_curated",
                                    "table": "orders", "times": 1}: a valid event naming that
                                   Glue table (any event when database and table are "*" or left
                                   out) is refused with that code (400; 500 for
                                   InternalServiceException), `times` times (always if unset);
                                   nothing of it is kept
    POST /moto-api/reset           forgets the events, the graph and the faults
"""

import datetime as dt
import json
import re
import threading
import uuid

from moto.glue import responses
from moto.glue.exceptions import EntityNotFoundException, InvalidInputException

from . import glue

MAX_EVENT_BYTES = 300_000
MAX_IDENTIFIER = 2150
MAX_NEIGHBOURS = 250
EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")
JSON = "application/x-amz-json-1.1"
DATASET_TYPE = "amazon.datazone.DatasetLineageNodeType"
RUN_TYPE = "amazon.datazone.JobRunLineageNodeType"

LOCK = threading.Lock()
# Accepted events, as parsed, in the order accepted (GET /_snaplake/glue/lineage).
EVENTS: list[dict] = []
# (account, region) -> Graph
GRAPHS: dict[tuple[str, str], "Graph"] = {}

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s]+")
_GLUE_NAMESPACE = re.compile(r"arn:aws[a-z-]*:glue:[a-z0-9-]+:\d{12}")
_GLUE_TABLE = re.compile(r"table/([^/]+)/([^/]+)")


class Refused(Exception):
    """An event that is not one Glue takes; the message names the field."""


def reset() -> None:
    with LOCK:
        EVENTS.clear()
        GRAPHS.clear()


def events() -> list[dict]:
    with LOCK:
        return json.loads(json.dumps(EVENTS))


# -- checking an event -----------------------------------------------------------


def _no_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise Refused(f"the key {key!r} appears twice in one object")
        seen[key] = value
    return seen


def _no_constant(name):
    raise Refused(f"{name} is not JSON")


def parse(text) -> dict:
    """The event, checked; Refused if Glue would not take it."""
    if not isinstance(text, str):
        raise Refused("Event is required: an OpenLineage event as a JSON string")
    size = len(text.encode("utf-8"))
    if size > MAX_EVENT_BYTES:
        raise Refused(f"Event is {size} bytes; at most {MAX_EVENT_BYTES} are taken")
    try:
        event = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except ValueError as exc:
        raise Refused(f"Event is not valid JSON: {exc}") from None
    if not isinstance(event, dict):
        raise Refused("Event is not a JSON object")
    for key in ("eventTime", "producer", "schemaURL"):
        if key not in event:
            raise Refused(f"{key} is required")
    _date_time(event["eventTime"], "eventTime")
    _uri(event["producer"], "producer")
    _uri(event["schemaURL"], "schemaURL")
    if "run" in event:
        if "dataset" in event:
            raise Refused("dataset: a run event has no dataset (it names inputs and outputs)")
        _run_event(event)
    elif "dataset" in event:
        if "job" in event:
            raise Refused("job: a dataset event has neither run nor job")
        _dataset(event["dataset"], "dataset", ("facets",))
    elif "job" in event:
        raise Refused("run is missing: a job event (job without run) is not supported; Glue takes run events and dataset events")
    else:
        raise Refused("run is missing: the event is neither a run event (run, job) nor a dataset event (dataset)")
    return event


def _run_event(event: dict) -> None:
    run, job = event["run"], event.get("job")
    if not isinstance(run, dict):
        raise Refused("run is not an object")
    if "runId" not in run:
        raise Refused("run.runId is required")
    if not isinstance(run["runId"], str) or not _UUID.fullmatch(run["runId"]):
        raise Refused(f"run.runId is not a UUID: {run['runId']!r}")
    _facets(run, "run")
    if job is None:
        raise Refused("job is required in a run event")
    if not isinstance(job, dict):
        raise Refused("job is not an object")
    for key in ("namespace", "name"):
        _name(job, key, "job")
    _facets(job, "job")
    if "eventType" in event and event["eventType"] not in EVENT_TYPES:
        raise Refused(f"eventType {event['eventType']!r} is not one of {', '.join(EVENT_TYPES)}")
    for side, own in (("inputs", "inputFacets"), ("outputs", "outputFacets")):
        datasets = event.get(side, [])
        if not isinstance(datasets, list):
            raise Refused(f"{side} is not a list")
        for i, dataset in enumerate(datasets):
            _dataset(dataset, f"{side}[{i}]", ("facets", own))


def _dataset(dataset, path: str, facet_keys: tuple) -> None:
    if not isinstance(dataset, dict):
        raise Refused(f"{path} is not an object")
    for key in ("namespace", "name"):
        _name(dataset, key, path)
    for key in facet_keys:
        _facets(dataset, path, key)


def _name(holder: dict, key: str, path: str) -> None:
    if key not in holder:
        raise Refused(f"{path}.{key} is required")
    if not isinstance(holder[key], str) or not holder[key]:
        raise Refused(f"{path}.{key} is not a non-empty string")


def _facets(holder: dict, path: str, key: str = "facets") -> None:
    if key not in holder:
        return
    facets = holder[key]
    if not isinstance(facets, dict):
        raise Refused(f"{path}.{key} is not an object")
    for name, facet in facets.items():
        where = f"{path}.{key}.{name}"
        if not isinstance(facet, dict):
            raise Refused(f"{where} is not an object")
        for field in ("_producer", "_schemaURL"):
            if field not in facet:
                raise Refused(f"{where}.{field} is required")
            _uri(facet[field], f"{where}.{field}")
        if "_deleted" in facet and not isinstance(facet["_deleted"], bool):
            raise Refused(f"{where}._deleted is not a boolean")


def _uri(value, path: str) -> None:
    if not isinstance(value, str) or not _URI.fullmatch(value):
        raise Refused(f"{path} is not a URI: {value!r}")


def _date_time(value, path: str) -> float:
    if isinstance(value, str) and _DATE_TIME.fullmatch(value):
        try:
            return dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    raise Refused(f"{path} is not a date-time with an offset (RFC 3339, e.g. 2026-11-20T18:00:00Z): {value!r}")


# -- the graph -------------------------------------------------------------------


def source_identifier(namespace: str, name: str) -> str:
    """A dataset node's SourceIdentifier."""
    if _GLUE_NAMESPACE.fullmatch(namespace) and _GLUE_TABLE.fullmatch(name):
        return f"{namespace}:{name}"
    if namespace.startswith("s3://"):
        return f"{namespace.rstrip('/')}/{name.lstrip('/')}"
    return f"{namespace}/{name}"


def glue_table(namespace: str, name: str) -> tuple[str, str] | None:
    """(database, table) of a dataset that is a Glue table."""
    match = _GLUE_TABLE.fullmatch(name)
    if _GLUE_NAMESPACE.fullmatch(namespace) and match:
        return match.group(1), match.group(2)
    return None


def tables(event: dict) -> list[tuple[str, str]]:
    datasets = [event["dataset"]] if "dataset" in event else event.get("inputs", []) + event.get("outputs", [])
    return [t for t in (glue_table(d["namespace"], d["name"]) for d in datasets) if t]


class Node:
    def __init__(self, type_name: str, source: str, name: str):
        self.id = str(uuid.uuid4())
        self.type_name = type_name
        self.source = source
        self.name = name
        self.timestamp = 0.0
        self.description = None
        self.forms: dict[str, dict] = {}
        self.upstream: dict[str, None] = {}
        self.downstream: dict[str, None] = {}

    def saw(self, timestamp: float, facets: dict) -> None:
        self.timestamp = max(self.timestamp, timestamp)
        self.forms.update(facets)
        description = (facets.get("documentation") or {}).get("description")
        if isinstance(description, str):
            self.description = description

    def answer(self) -> dict:
        body = {"Id": self.id, "TypeName": self.type_name, "SourceIdentifier": self.source,
                "EventTimestamp": self.timestamp, "Name": self.name,
                "UpstreamNodes": [{"Id": i} for i in list(self.upstream)[:MAX_NEIGHBOURS]],
                "DownstreamNodes": [{"Id": i} for i in list(self.downstream)[:MAX_NEIGHBOURS]],
                "FormsOutput": [{"TypeName": k, "Content": json.dumps(v, sort_keys=True)} for k, v in self.forms.items()]}
        if self.description is not None:
            body["Description"] = self.description
        return body


class Graph:
    def __init__(self):
        self.nodes: dict[str, Node] = {}
        self.by_source: dict[str, Node] = {}

    def node(self, type_name: str, source: str, name: str) -> Node:
        if source not in self.by_source:
            node = Node(type_name, source, name)
            self.nodes[node.id] = node
            self.by_source[source] = node
        return self.by_source[source]

    def dataset(self, dataset: dict, timestamp: float) -> Node:
        node = self.node(DATASET_TYPE, source_identifier(dataset["namespace"], dataset["name"]), dataset["name"])
        node.saw(timestamp, dataset.get("facets") or {})
        return node

    def add(self, event: dict) -> None:
        timestamp = _date_time(event["eventTime"], "eventTime")
        if "dataset" in event:
            self.dataset(event["dataset"], timestamp)
            return
        job = event["job"]
        run = self.node(RUN_TYPE, f"{job['namespace']}.{job['name']}/{event['run']['runId']}", job["name"])
        run.saw(timestamp, event["run"].get("facets") or {})
        job_doc = (job.get("facets") or {}).get("documentation") or {}
        if isinstance(job_doc.get("description"), str):
            run.description = job_doc["description"]
        for dataset in event.get("inputs", []):
            node = self.dataset(dataset, timestamp)
            node.downstream[run.id] = None
            run.upstream[node.id] = None
        for dataset in event.get("outputs", []):
            node = self.dataset(dataset, timestamp)
            node.upstream[run.id] = None
            run.downstream[node.id] = None

    def find(self, identifier: str) -> Node | None:
        return self.nodes.get(identifier) or self.by_source.get(identifier)


# -- the operations --------------------------------------------------------------


def _body(handler) -> dict:
    try:
        body = json.loads(handler.body or "{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise InvalidInputException("", "the request body is not a JSON object")
    return body


def post_lineage_event(self):
    try:
        event = parse(_body(self).get("Event"))
    except Refused as refused:
        raise InvalidInputException("PostLineageEvent", str(refused)) from None
    glue.check_lineage_fault(tables(event))
    with LOCK:
        GRAPHS.setdefault((self.current_account, self.region), Graph()).add(event)
        EVENTS.append(event)
    return "", {"status": 200, "Content-Type": JSON}


def get_lineage_node(self):
    identifier = _body(self).get("Identifier")
    if not isinstance(identifier, str) or not 1 <= len(identifier) <= MAX_IDENTIFIER:
        raise InvalidInputException("GetLineageNode", f"Identifier is required: a string of 1 to {MAX_IDENTIFIER} characters")
    with LOCK:
        graph = GRAPHS.get((self.current_account, self.region))
        node = graph.find(identifier) if graph else None
        if node is None:
            raise EntityNotFoundException(f"Lineage node {identifier} not found.")
        return json.dumps(node.answer()), {"status": 200, "Content-Type": JSON}


def install() -> None:
    responses.GlueResponse.post_lineage_event = post_lineage_event
    responses.GlueResponse.get_lineage_node = get_lineage_node
