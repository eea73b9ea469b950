"""local/lineage_check.py: OpenLineage events held to the openlineage-python
client's own classes, validators and serializer."""

import copy
import inspect
import json
import subprocess
import sys

import attr
import pytest

import lineage_check
from standin import lineage as standin_lineage

GLUE = "arn:aws:glue:us-east-1:123456789012"
PRODUCER = "https://github.com/snaplake/snaplake/tree/main/catalog-swap"


def _facet(schema, **fields):
    return {"_producer": PRODUCER, "_schemaURL": schema, **fields}


def _transformation(kind, subtype, masking, description=None):
    t = {"type": kind, "subtype": subtype, "masking": masking}
    if description:
        t["description"] = description
    return t


GOOD = {
    "eventType": "COMPLETE",
    "eventTime": "2026-11-21T03:15:00.123Z",
    "producer": PRODUCER,
    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    "run": {"runId": "0f6b1c3e-1a2b-4c3d-8e9f-0123456789ab", "facets": {
        "nominalTime": _facet("https://openlineage.io/spec/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet",
                              nominalStartTime="2026-11-20T19:00:00Z"),
        "snaplake_run": {"_producer": "urn:snaplake:0.1.0", "_schemaURL": "urn:snaplake:schema:SnaplakeRunFacet:1",
                         "logicalTime": "2026-11-20T19:00:00Z",
                         "executionArn": "arn:aws:states:us-east-1:123456789012:execution:snaplake-pipeline:run-1",
                         "published": 12, "held": 0, "failed": 0, "skipped": 1},
    }},
    "job": {"namespace": "snaplake", "name": "catalog-swap", "facets": {
        "jobType": _facet("https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
                          processingType="BATCH", integration="SNAPLAKE", jobType="JOB"),
    }},
    "inputs": [{"namespace": GLUE, "name": "table/snaplake_raw/shop_orders", "inputFacets": {
        "dataQualityMetrics": _facet(
            "https://openlineage.io/spec/facets/1-0-3/DataQualityMetricsInputDatasetFacet.json#/$defs/DataQualityMetricsInputDatasetFacet",
            rowCount=1200, bytes=40960, columnMetrics={"id": {"nullCount": 0, "distinctCount": 1200}}),
    }}],
    "outputs": [{"namespace": GLUE, "name": "table/snaplake_curated/shop_orders", "facets": {
        "schema": _facet("https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
                         fields=[{"name": "id", "type": "bigint"}, {"name": "email_hash", "type": "string"},
                                 {"name": "status", "type": "string"}]),
        "columnLineage": _facet(
            "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet",
            fields={
                "id": {"inputFields": [{"namespace": GLUE, "name": "table/snaplake_raw/shop_orders", "field": "id",
                                        "transformations": [_transformation("DIRECT", "IDENTITY", False)]}]},
                "email_hash": {"inputFields": [{"namespace": GLUE, "name": "table/snaplake_raw/shop_customers", "field": "email",
                                                "transformations": [_transformation("DIRECT", "TRANSFORMATION", True, "hash_salted")]}]},
                "status": {"inputFields": [{"namespace": GLUE, "name": "table/snaplake_raw/shop_orders", "field": "status",
                                            "transformations": [_transformation("DIRECT", "IDENTITY", False)]}]},
            },
            dataset=[{"namespace": GLUE, "name": "table/snaplake_raw/shop_orders", "field": "status",
                      "transformations": [_transformation("INDIRECT", "FILTER", False, "row_filter")]}]),
        "dataQualityMetrics": _facet(
            "https://openlineage.io/spec/facets/1-0-1/DataQualityMetricsDatasetFacet.json#/$defs/DataQualityMetricsDatasetFacet",
            rowCount=1180, columnMetrics={"status": {"nullCount": 0}}),
    }}],
}
DATASET_EVENT = {
    "eventTime": "2026-11-21T03:15:00+09:00", "producer": PRODUCER,
    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
    "dataset": {"namespace": GLUE, "name": "table/snaplake_curated/shop_orders"},
}


def run(argv, stdin=None):
    """(exit code, stdout lines, stderr) of lineage_check in its own process, as the Rust tests run it."""
    done = subprocess.run([sys.executable, lineage_check.__file__, *argv], input=stdin, capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout.splitlines(), done.stderr


def test_a_good_run_event_passes_from_a_file(tmp_path):
    path = tmp_path / "event.json"
    path.write_text(json.dumps(GOOD))
    code, out, err = run([str(path)])
    assert code == 0, (out, err)
    assert len(out) == 1 and "1 event(s) pass" in out[0] and "openlineage-python 1.54.0" in out[0], out


def test_a_list_passes_from_standard_input():
    code, out, err = run(["-"], json.dumps([GOOD, DATASET_EVENT]))
    assert code == 0, (out, err)
    assert "2 event(s) pass" in out[0]


def test_the_good_events_are_ones_the_standin_takes():
    for event in (GOOD, DATASET_EVENT):
        standin_lineage.parse(json.dumps(event))


def _change(path, value=None, delete=False, rename=None):
    """GOOD with the value at `path` (keys and indexes) replaced, deleted or renamed."""
    event = copy.deepcopy(GOOD)
    holder = event
    for key in path[:-1]:
        holder = holder[key]
    if delete:
        del holder[path[-1]]
    elif rename:
        holder[rename] = holder.pop(path[-1])
    else:
        holder[path[-1]] = value
    return event


COLUMN_LINEAGE = ["outputs", 0, "facets", "columnLineage"]
ID_INPUT = COLUMN_LINEAGE + ["fields", "id", "inputFields", 0]


@pytest.mark.parametrize("event, path, words", [
    (_change(ID_INPUT + ["transformations"], rename="transformtions"),
     "$.outputs[0].facets.columnLineage.fields.id.inputFields[0].transformtions", ["unknown field", "InputField"]),
    (_change(COLUMN_LINEAGE + ["fields", "id", "inputFeilds"], []),
     "$.outputs[0].facets.columnLineage.fields.id.inputFeilds", ["unknown field"]),
    (_change(["run", "runId"], delete=True), "$.run.runId", ["required"]),
    (_change(["run", "facets", "snaplake_run", "_schemaURL"], delete=True),
     "$.run.facets.snaplake_run._schemaURL", ["required", "custom"]),
    (_change(["run", "runId"], "run-7"), "$.run.runId", ["the client's Run refused", "run-7"]),
    (_change(["eventTime"], "2026-11-21T03:15:00"), "$.eventTime", ["offset"]),
    (_change(["eventType"], "DONE"), "$.eventType", ["EventType"]),
    (_change(ID_INPUT + ["transformations", 0, "masking"], "false"),
     "$.outputs[0].facets.columnLineage.fields.id.inputFields[0].transformations[0].masking", ["not a boolean"]),
    (_change(COLUMN_LINEAGE + ["dataset", 0, "transformations", 0, "subtype"], "IDENTITY"),
     "$.outputs[0].facets.columnLineage.dataset[0].transformations[0].subtype", ["not a subtype of INDIRECT"]),
    (_change(ID_INPUT + ["transformations", 0, "type"], "COPY"),
     "$.outputs[0].facets.columnLineage.fields.id.inputFields[0].transformations[0].type", ["DIRECT or INDIRECT"]),
    (_change(["inputs", 0, "inputFacets", "dataQualityMetrics", "rowCount"], "1200"),
     "$.inputs[0].inputFacets.dataQualityMetrics.rowCount", ["not an integer"]),
    (_change(["outputs", 0, "facets", "dataQualityAssertions"],
             _facet("https://openlineage.io/spec/facets/1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet",
                    assertions=[{"assertion": "not_null", "success": True}])),
     "$.outputs[0].facets.dataQualityAssertions", ["belongs in inputFacets"]),
    # Refused by the round trip: the client writes its own schema URLs, and drops nulls it was given in free-form maps.
    (_change(["schemaURL"], "https://openlineage.io/spec/2-0-0/OpenLineage.json#/definitions/RunEvent"),
     "$.schemaURL", ["the client's class is", "2-0-2"]),
    (_change(["outputs", 0, "facets", "schema", "_schemaURL"],
             "https://openlineage.io/spec/facets/1-1-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"),
     "$.outputs[0].facets.schema._schemaURL", ["the client's class is", "1-2-0"]),
    (_change(["inputs", 0, "inputFacets", "dataQualityAssertions"],
             _facet("https://openlineage.io/spec/facets/1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet",
                    assertions=[{"assertion": "row_count", "success": True, "params": {"min": 1, "max": None}}])),
     "$.inputs[0].inputFacets.dataQualityAssertions.assertions[0].params.max", ["dropped by the client's serializer"]),
    (_change(["run"], delete=True), "$.run", ["job event"]),
    # snaplake's own facets are held to their schemas in docs/lineage/.
    (_change(["run", "facets", "snaplake_run", "executionArn"], delete=True),
     "$.run.facets.snaplake_run", ["'executionArn' is a required property", "SnaplakeRunFacet.json"]),
    (_change(["run", "facets", "snaplake_run", "published"], -1),
     "$.run.facets.snaplake_run.published", ["minimum", "SnaplakeRunFacet.json"]),
    (_change(["run", "facets", "snaplake_run", "_schemaURL"], "urn:snaplake:schema:SnaplakeRunFacet:9"),
     "$.run.facets.snaplake_run._schemaURL", ["no schema of docs/lineage/"]),
], ids=["misspelt-transformations", "misspelt-inputFields", "no-runId", "custom-facet-without-schemaURL",
        "runId-not-uuid", "eventTime-without-offset", "unknown-eventType", "masking-not-boolean",
        "subtype-not-of-its-type", "unknown-transformation-type", "rowCount-a-string", "input-facet-in-dataset-facets",
        "event-schemaURL-of-another-version", "facet-schemaURL-of-another-version", "null-dropped-by-serializer",
        "job-event", "snaplake-run-without-execution", "snaplake-run-negative-count", "snaplake-schema-unknown"])
def test_a_bad_event_fails_naming_the_path(event, path, words):
    code, out, err = run(["-"], json.dumps([DATASET_EVENT, event]))
    assert code == 1, (out, err)
    assert out, err
    for line in out:
        assert line.startswith("event 2 ("), line
    named = [line for line in out if f": {path}: " in line]
    assert named, out
    for word in words:
        assert any(word in line for line in named), (word, named)
    # The event is named by its eventType and run id.
    run_id = (event.get("run") or {}).get("runId", "?")
    assert out[0].startswith(f"event 2 ({event['eventType']}, run {run_id}): "), out
    assert "1 of 2 events refused" in err


def test_input_that_is_not_json_or_holds_no_event_fails():
    assert run(["-"], '{"eventTime": ')[0] == 1
    assert run(["-"], "[]")[0] == 1
    code, out, _ = run(["-"], '{"a": 1, "a": 2}')
    assert code == 1 and "twice" in out[0]


def test_every_facet_class_of_the_client_has_its_key():
    from openlineage.client import facet_v2
    from openlineage.client.generated import base

    tabled = {cls for known in lineage_check.FACETS.values() for cls in known.values()}
    for name in facet_v2.__all__:
        module = getattr(facet_v2, name)
        if not inspect.ismodule(module):
            continue
        for cls in vars(module).values():
            if inspect.isclass(cls) and cls.__module__ == module.__name__ and issubclass(cls, base.BaseFacet):
                assert cls in tabled, f"{cls.__module__}.{cls.__name__} has no key in lineage_check.FACETS"
    for place, known in lineage_check.FACETS.items():
        for key, cls in known.items():
            assert issubclass(cls, place) and attr.has(cls), (key, cls)
