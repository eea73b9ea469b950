"""Checks OpenLineage events with the OpenLineage project's own Python client.

    .venv/bin/python local/lineage_check.py EVENTS.json   # a file holding one event or a list of events
    ... | .venv/bin/python local/lineage_check.py -       # the same from standard input

Each event is built into the client's classes (openlineage-python, pinned in
local/requirements.txt): a run event into `event_v2.RunEvent`, a dataset event
into `event_v2.DatasetEvent` (a job event is refused: Glue's PostLineageEvent
takes run and dataset events only), recursively, field by field, from the
attrs fields and type hints of the client's classes, so that:

- a field the client's class does not have is refused (also where the spec
  lets a class take additional properties: nothing we send may be ignored),
  a required field missing, a value of the wrong type (str, bool, int,
  float, enum, literal, list, map, nested class) or not one of an enum's;
- each facet of a standard key (`schema`, `columnLineage`, `dataQualityMetrics`,
  `nominalTime`, `parent`, ...: `FACETS` below, the keys the OpenLineage spec
  gives its facets) is built into the client's class for it, in the place
  the spec puts it (dataset `facets`, `inputFacets`, `outputFacets`, run or
  job `facets`); a standard key in the wrong place is refused; any other key
  (a custom facet such as `snaplake_run`) must be an object carrying
  `_producer` and `_schemaURL` URIs, and is not given to the client; one
  whose `_schemaURL` is snaplake's (`urn:snaplake:schema:...`) must be a
  schema of docs/lineage/ (its `$id`) and is held to it (jsonschema);
- the client's own validators run (eventTime, runId, producer, schemaURL),
  each on its own field, so a refusal names it;
- a few rules the client types loosely are held to the spec: eventTime must
  carry its offset, runId is the hyphenated UUID form, producer, schemaURL,
  `_producer` and `_schemaURL` are URIs, a column lineage transformation's
  `type` is DIRECT or INDIRECT and its `subtype` one of that type's
  (`SUBTYPES`), as Glue's stand-in takes them (local/standin/lineage.py).

Then the event is serialized back with the client's serializer
(`openlineage.client.serde.Serde`) and compared with the input: a value the
client dropped, changed (a `schemaURL` or `_schemaURL` other than the one of
the client's class) or added (other than an empty default list or map) is a
problem. So what passes here is what the client itself would have written.

Prints one line per problem, naming the event (its eventType and run id, or
its dataset) and the JSON path, and exits 1; else prints a one-line summary
and exits 0. Exit 2: usage.
"""

import argparse
import enum
import json
import re
import sys
import types
import typing
from pathlib import Path

import attr
import jsonschema
from openlineage.client import constants, event_v2
from openlineage.client.generated import (
    base,
    base_subset_dataset,
    catalog_dataset,
    column_lineage_dataset,
    data_quality_assertions_dataset,
    data_quality_metrics_dataset,
    data_quality_metrics_input_dataset,
    dataset_type_dataset,
    dataset_version_dataset,
    datasource_dataset,
    documentation_dataset,
    documentation_job,
    environment_variables_run,
    error_message_run,
    execution_parameters_run,
    external_query_run,
    extraction_error_run,
    hierarchy_dataset,
    input_statistics_input_dataset,
    job_dependencies_run,
    job_type_job,
    lifecycle_state_change_dataset,
    lineage,
    nominal_time_run,
    output_statistics_output_dataset,
    ownership_dataset,
    ownership_job,
    parent_run,
    processing_engine_run,
    schema_dataset,
    source_code_job,
    source_code_location_job,
    sql_job,
    storage_dataset,
    symlinks_dataset,
    tags_dataset,
    tags_job,
    tags_run,
    test_run,
)
from openlineage.client.serde import Serde

# Facet key -> the client's class, per place. The keys are the property names
# of the OpenLineage spec's facet schemas (spec/facets/*.json); the client has
# no registry of them. tests/test_lineage_check.py checks every facet class of
# the client is here, so a client with new facets shows up.
FACETS: dict[type, dict[str, type]] = {
    base.RunFacet: {
        "environmentVariables": environment_variables_run.EnvironmentVariablesRunFacet,
        "errorMessage": error_message_run.ErrorMessageRunFacet,
        "executionParameters": execution_parameters_run.ExecutionParametersRunFacet,
        "externalQuery": external_query_run.ExternalQueryRunFacet,
        "extractionError": extraction_error_run.ExtractionErrorRunFacet,
        "jobDependencies": job_dependencies_run.JobDependenciesRunFacet,
        "nominalTime": nominal_time_run.NominalTimeRunFacet,
        "parent": parent_run.ParentRunFacet,
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet,
        "tags": tags_run.TagsRunFacet,
        "test": test_run.TestRunFacet,
    },
    base.JobFacet: {
        "documentation": documentation_job.DocumentationJobFacet,
        "jobType": job_type_job.JobTypeJobFacet,
        "lineage": lineage.LineageJobFacet,
        "ownership": ownership_job.OwnershipJobFacet,
        "sourceCode": source_code_job.SourceCodeJobFacet,
        "sourceCodeLocation": source_code_location_job.SourceCodeLocationJobFacet,
        "sql": sql_job.SQLJobFacet,
        "tags": tags_job.TagsJobFacet,
    },
    base.DatasetFacet: {
        "catalog": catalog_dataset.CatalogDatasetFacet,
        "columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet,
        "dataQualityMetrics": data_quality_metrics_dataset.DataQualityMetricsDatasetFacet,
        "dataSource": datasource_dataset.DatasourceDatasetFacet,
        "datasetType": dataset_type_dataset.DatasetTypeDatasetFacet,
        "documentation": documentation_dataset.DocumentationDatasetFacet,
        "hierarchy": hierarchy_dataset.HierarchyDatasetFacet,
        "lifecycleStateChange": lifecycle_state_change_dataset.LifecycleStateChangeDatasetFacet,
        "lineage": lineage.LineageDatasetFacet,
        "ownership": ownership_dataset.OwnershipDatasetFacet,
        "schema": schema_dataset.SchemaDatasetFacet,
        "storage": storage_dataset.StorageDatasetFacet,
        "symlinks": symlinks_dataset.SymlinksDatasetFacet,
        "tags": tags_dataset.TagsDatasetFacet,
        "version": dataset_version_dataset.DatasetVersionDatasetFacet,
    },
    base.InputDatasetFacet: {
        "dataQualityAssertions": data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet,
        "dataQualityMetrics": data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet,
        "inputStatistics": input_statistics_input_dataset.InputStatisticsInputDatasetFacet,
        "subset": base_subset_dataset.InputSubsetInputDatasetFacet,
    },
    base.OutputDatasetFacet: {
        "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet,
        "subset": base_subset_dataset.OutputSubsetOutputDatasetFacet,
    },
}
PLACES = {base.RunFacet: "run facets", base.JobFacet: "job facets", base.DatasetFacet: "dataset facets",
          base.InputDatasetFacet: "inputFacets", base.OutputDatasetFacet: "outputFacets"}

# A column lineage transformation's type and subtype: the client types both
# as str; its doc says "Allowed values are: DIRECT, INDIRECT", and the
# OpenLineage column lineage facet page lists each type's subtypes.
SUBTYPES = {
    "DIRECT": {"IDENTITY", "TRANSFORMATION", "AGGREGATION"},
    "INDIRECT": {"JOIN", "GROUP_BY", "FILTER", "SORT", "WINDOW", "CONDITIONAL"},
}

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_OFFSET = re.compile(r".*[Tt]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
INVALID = object()


SNAPLAKE_SCHEMA = "urn:snaplake:schema:"
SNAPLAKE_SCHEMAS = {
    schema["$id"]: schema
    for schema in (
        json.loads(f.read_text()) for f in sorted((Path(__file__).resolve().parent.parent / "docs" / "lineage").glob("*.json"))
    )
}


def step(path: str, key) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if _NAME.fullmatch(key) else f"{path}[{json.dumps(key)}]"


class Check:
    """The problems of one event, and the custom facets left out of the round trip."""

    def __init__(self):
        self.problems: list[tuple[str, str]] = []
        self.custom: set[str] = set()

    def fail(self, path: str, message: str):
        self.problems.append((path, message))
        return INVALID

    # -- building the client's objects ------------------------------------------

    def build(self, cls: type, data, path: str):
        if not isinstance(data, dict):
            return self.fail(path, f"is not an object (the client's {cls.__name__})")
        hints = typing.get_type_hints(cls)
        fields = {a.name: a for a in attr.fields(cls)}
        kwargs, ok = {}, True
        for key, value in data.items():
            where = step(path, key)
            field = fields.get(key)
            if field is None:
                known = ", ".join(sorted(n for n, a in fields.items() if a.init or n in ("schemaURL", "_schemaURL")))
                self.fail(where, f"unknown field: the client's {cls.__name__} has {known}")
                ok = False
            elif not field.init:
                # schemaURL, _schemaURL: the class sets its own; the round trip compares.
                ok &= self.uri(value, where)
            else:
                built = self.convert(hints[key], value, where)
                if built is INVALID:
                    ok = False
                else:
                    kwargs[field.alias] = built
        for name, field in fields.items():
            required = field.init and field.default is attr.NOTHING
            # The spec requires these; the client fills in a default.
            required |= name in ("producer", "schemaURL", "_producer", "_schemaURL")
            if required and name not in data:
                self.fail(step(path, name), f"is required (the client's {cls.__name__})")
                ok = False
        if not ok:
            return INVALID
        try:
            with attr.validators.disabled():
                built = cls(**kwargs)
        except (TypeError, ValueError) as exc:
            return self.fail(path, f"the client's {cls.__name__} refused it: {exc}")
        # The client's validators, one field at a time, so a refusal names its field.
        for name, field in fields.items():
            if field.validator is not None and name in data:
                try:
                    field.validator(built, field, getattr(built, name))
                except Exception as exc:  # noqa: BLE001 (whatever the client's validator raises)
                    self.fail(step(path, name), f"the client's {cls.__name__} refused {data[name]!r}: {exc}")
                    ok = False
        self.rules(cls, data, path)
        return built if ok else INVALID

    def convert(self, tp, value, path: str):
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if tp is typing.Any:
            return value
        if origin in (typing.Union, types.UnionType):
            if value is None:
                if type(None) in args:
                    return self.fail(path, "is null: leave the field out (the client's serializer drops nulls)")
                return self.fail(path, "is null")
            options = [a for a in args if a is not type(None)]
            if len(options) == 1:
                return self.convert(options[0], value, path)
            attempts = []
            for option in options:
                trial = Check()
                built = trial.convert(option, value, path)
                if built is not INVALID and not trial.problems:
                    self.custom |= trial.custom
                    return built
                attempts.append(trial.problems)
            names = ", ".join(getattr(o, "__name__", str(o)) for o in options)
            closest = min(attempts, key=len)
            return self.fail(path, f"matches none of the client's {names}; closest: "
                             + "; ".join(f"{p}: {m}" for p, m in closest))
        if origin is typing.Literal:
            return value if value in args and isinstance(value, str) else self.fail(path, f"is {value!r}, not {' or '.join(map(repr, args))}")
        if origin is list:
            if not isinstance(value, list):
                return self.fail(path, "is not a list")
            items = [self.convert(args[0], v, step(path, i)) for i, v in enumerate(value)]
            return INVALID if INVALID in items else items
        if origin is dict:
            if not isinstance(value, dict):
                return self.fail(path, "is not an object")
            if isinstance(args[1], type) and issubclass(args[1], base.BaseFacet):
                return self.facets(args[1], value, path)
            items = {k: self.convert(args[1], v, step(path, k)) for k, v in value.items()}
            return INVALID if INVALID in items.values() else items
        if attr.has(tp):
            return self.build(tp, value, path)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            allowed = [m.value for m in tp]
            if value not in allowed or not isinstance(value, type(allowed[0])):
                return self.fail(path, f"is {value!r}, not one of the client's {tp.__name__}: {', '.join(map(str, allowed))}")
            return tp(value)
        if tp is bool:
            return value if isinstance(value, bool) else self.fail(path, f"is {value!r}, not a boolean")
        if tp is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
            return value if ok else self.fail(path, f"is {value!r}, not an integer")
        if tp is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            return value if ok else self.fail(path, f"is {value!r}, not a number")
        if tp is str:
            return value if isinstance(value, str) else self.fail(path, f"is {value!r}, not a string")
        return self.fail(path, f"has a type this check does not know: {tp}")

    def facets(self, place: type, value: dict, path: str):
        built, ok = {}, True
        for key, facet in value.items():
            where = step(path, key)
            cls = FACETS[place].get(key)
            if cls is not None:
                one = self.build(cls, facet, where)
                ok &= one is not INVALID
                built[key] = one
                continue
            elsewhere = [PLACES[p] for p, known in FACETS.items() if key in known]
            if elsewhere:
                self.fail(where, f"the standard {key!r} facet belongs in {' or '.join(elsewhere)}, not in {PLACES[place]}")
                ok = False
                continue
            # A custom facet: it must say who wrote it and after which schema.
            self.custom.add(where)
            if not isinstance(facet, dict):
                self.fail(where, "is not an object (a custom facet)")
                ok = False
                continue
            for field in ("_producer", "_schemaURL"):
                if field not in facet:
                    self.fail(step(where, field), "is required (every facet carries it; this custom one does not)")
                    ok = False
                else:
                    ok &= self.uri(facet[field], step(where, field))
            schema_url = facet.get("_schemaURL")
            if isinstance(schema_url, str) and schema_url.startswith(SNAPLAKE_SCHEMA):
                schema = SNAPLAKE_SCHEMAS.get(schema_url)
                if schema is None:
                    self.fail(step(where, "_schemaURL"), f"is {schema_url!r}, which no schema of docs/lineage/ has as its $id")
                    ok = False
                else:
                    for error in jsonschema.Draft202012Validator(schema).iter_errors(facet):
                        inner = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
                        self.fail(where + inner, f"{error.message} (docs/lineage/{schema['title']}.json)")
                        ok = False
            if "_deleted" in facet and not isinstance(facet["_deleted"], bool):
                self.fail(step(where, "_deleted"), "is not a boolean")
                ok = False
        return built if ok else INVALID

    # -- the rules the client types loosely ---------------------------------------

    def uri(self, value, path: str) -> bool:
        if isinstance(value, str) and _URI.fullmatch(value):
            return True
        self.fail(path, f"is {value!r}, not a URI")
        return False

    def rules(self, cls: type, data: dict, path: str) -> None:
        if issubclass(cls, base.BaseEvent):
            if isinstance(data.get("eventTime"), str) and not _OFFSET.fullmatch(data["eventTime"]):
                self.fail(step(path, "eventTime"), f"is {data['eventTime']!r}: a date-time with its offset (Z or +hh:mm)")
            if "producer" in data:
                self.uri(data["producer"], step(path, "producer"))
        if issubclass(cls, base.BaseFacet) and "_producer" in data:
            self.uri(data["_producer"], step(path, "_producer"))
        if cls is base.Run and isinstance(data.get("runId"), str) and not _UUID.fullmatch(data["runId"]):
            self.fail(step(path, "runId"), f"is {data['runId']!r}: a UUID written 8-4-4-4-12")
        if cls is column_lineage_dataset.Transformation:
            kind, subtype = data.get("type"), data.get("subtype")
            if kind not in SUBTYPES:
                self.fail(step(path, "type"), f"is {kind!r}, not DIRECT or INDIRECT")
            elif subtype is not None and subtype not in SUBTYPES[kind]:
                self.fail(step(path, "subtype"), f"is {subtype!r}, not a subtype of {kind}: {', '.join(sorted(SUBTYPES[kind]))}")

    # -- the round trip ------------------------------------------------------------

    def compare(self, sent, written, path: str) -> None:
        if isinstance(sent, dict) and isinstance(written, dict):
            for key, value in sent.items():
                where = step(path, key)
                if where in self.custom:
                    continue
                if key not in written:
                    self.fail(where, "was dropped by the client's serializer")
                else:
                    self.compare(value, written[key], where)
            for key, value in written.items():
                if key not in sent and value not in ([], {}):
                    self.fail(step(path, key), f"was added by the client's serializer: {value!r}")
        elif isinstance(sent, list) and isinstance(written, list):
            if len(sent) != len(written):
                self.fail(path, f"has {len(sent)} items; the client's serializer wrote {len(written)}")
            for i, (a, b) in enumerate(zip(sent, written)):
                self.compare(a, b, step(path, i))
        elif type(sent) is not type(written) or sent != written:
            if path.endswith(("schemaURL", "_schemaURL")):
                self.fail(path, f"is {sent!r}; the client's class is {written!r}")
            else:
                self.fail(path, f"is {sent!r}; the client's serializer wrote {written!r}")


def check_event(event) -> list[tuple[str, str]]:
    """(JSON path, problem) for one event; none when it passes."""
    check = Check()
    if not isinstance(event, dict):
        return [("$", "is not an object")]
    if "run" in event:
        cls = event_v2.RunEvent
        if "dataset" in event:
            return [("$.dataset", "a run event names inputs and outputs, not a dataset")]
    elif "dataset" in event:
        cls = event_v2.DatasetEvent
    elif "job" in event:
        return [("$.run", "is missing: a job event (job without run) is not taken by Glue's PostLineageEvent")]
    else:
        return [("$", "is neither a run event (run, job) nor a dataset event (dataset)")]
    built = check.build(cls, event, "$")
    if built is not INVALID and not check.problems:
        check.compare(event, Serde.to_dict(built), "$")
    return check.problems


def name_of(event, index: int) -> str:
    if not isinstance(event, dict):
        return f"event {index}"
    if isinstance(event.get("dataset"), dict):
        d = event["dataset"]
        return f"event {index} (dataset event, {d.get('namespace')}/{d.get('name')})"
    run = event.get("run") if isinstance(event.get("run"), dict) else {}
    return f"event {index} ({event.get('eventType', 'no eventType')}, run {run.get('runId', '?')})"


def _no_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"the key {key!r} appears twice in one object")
        seen[key] = value
    return seen


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="lineage_check", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("events", help="a JSON file holding one OpenLineage event or a list of them; - for standard input")
    args = parser.parse_args(argv)
    try:
        text = sys.stdin.read() if args.events == "-" else open(args.events, encoding="utf-8").read()
        loaded = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (OSError, ValueError) as exc:
        print(f"lineage_check: {args.events}: {exc}")
        return 1
    events = loaded if isinstance(loaded, list) else [loaded]
    if not events:
        print(f"lineage_check: {args.events}: no event in it")
        return 1
    failed = 0
    for index, event in enumerate(events, 1):
        problems = check_event(event)
        failed += bool(problems)
        for path, message in problems:
            print(f"{name_of(event, index)}: {path}: {message}")
    if failed:
        print(f"lineage_check: {failed} of {len(events)} events refused (openlineage-python {constants.__version__})", file=sys.stderr)
        return 1
    print(f"lineage_check: {len(events)} event(s) pass: built into openlineage-python {constants.__version__}'s classes "
          "and written back unchanged by its serializer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
