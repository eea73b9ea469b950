"""The stand-in's own HTTP surface, in front of moto's WSGI app.

    GET  /_snaplake/health             200 once the server answers
    POST /_snaplake/exports/faults     {"export_id": "<id>" | "*", "fail": "<cause>",
                                        "fail_tables": ["shop.orders"], "delay_seconds": 5,
                                        "skip_tables": ["shop.orders"], "empty_tables": ["shop.articles"],
                                        "database_warning": "FAILED_TO_EXTRACT_TABLES_LIST_FOR_DATABASE"}
    POST /_snaplake/exports/settings   {"duration_seconds": 1.5, "sample_tables": 100,
                                        "layout": "numbered" | "lettered" | "flat",
                                        "extra_columns": {"customers": ["ssn"]},
                                        "keep_fraction": {"orders": 0.1}}: the share of a sample
                                       table's rows the next exports hold (a source that shrank);
                                        "info_lead_seconds": 3: export_info is written that long
                                       before the task says COMPLETE (AWS does not document the order)
    POST /_snaplake/athena/settings    {"unload_rows_per_file": 2}: UNLOAD writes a file per 2 rows
    POST /_snaplake/athena/faults      {"match": "<text in the query>", "fail": "<reason>",
                                        "delay_seconds": 5, "scanned_bytes": 1000000, "times": 1}
    POST /_snaplake/glue/faults        {"database": "snaplake_raw", "table": "shop_orders",
                                        "operations": ["CreateTable", "UpdateTable", "PostLineageEvent"],
                                        "code": "AccessDeniedException", "fail": "<message>", "times": 1}:
                                       "*" matches any database or table; PostLineageEvent fails
                                       for a valid event naming that Glue table (database and table
                                       may be left out for it: any event); `times`: that many calls
    GET  /_snaplake/glue/lineage       {"events": [<event>, ...]}: the OpenLineage events Glue's
                                       PostLineageEvent accepted since the last reset, in order (`lineage.py`)
    POST /_snaplake/scheduler/fire     {"name": "snaplake-daily", "group": "default", "time": "2026-11-21T19:00:00Z"}:
                                       runs that occurrence of the schedule now, as its role (`scheduler.py`)
    POST /_snaplake/snapshots          {"cluster": "<id>" | "instance": "<id>", "snapshot_id": "..",
                                        "create_time": "2026-11-20T18:00:00Z", "type": "automated",
                                        "account_id": "123456789012", "region": "us-east-1"}
    GET  /_snaplake/calls              AWS requests per operation (S3 by service:METHOD), Step
    POST /_snaplake/calls/reset        Functions history events ("states:<type>") and Lambda runs
                                       ("lambda-run:<function>", and their milliseconds "lambda-ms:<function>") since the last reset, for the benchmarks
    GET  /_snaplake/calls/first        {"monotonic": s}: when the first AWS request since the reset
                                       arrived (time.monotonic(), the machine's clock; null if none)
    POST /_snaplake/latency            {"glue": 50, "s3": 20}: milliseconds added to every call of those
                                       services ({} for none; env STANDIN_LATENCY_MS="glue=50,s3=20")
    POST /_snaplake/states/settings    {"history_limit": 25000}: events an execution may keep
    POST /_snaplake/iam/admin          {"enforce": true}: an administrator's fresh access key
                                       (IAM user snaplake-admin), then IAM enforced (or not)
    POST /_snaplake/iam/user           {"user": "snaplake-deployer", "policy": {...}}: a user holding exactly
                                       that inline policy, with a fresh access key (the deployer)
    POST /moto-api/reset               moto's reset, plus the stand-in's faults and settings

and answers the Step Functions calls the Terraform AWS provider makes that
moto 5.2.5 lacks (ValidateStateMachineDefinition, ListStateMachineVersions), so `terraform apply`
against the stand-in does not retry them until it times out.
"""

import datetime as dt
import json
import os
import time

from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_api._internal.models import moto_api_backend
from moto.rds.models import rds_backends

from . import athena, calls, exports, glue, iam, lineage, replay, sampledb, scheduler, stepfunctions

MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}}

SFN_STUBS = {
    "AWSStepFunctions.ValidateStateMachineDefinition": {"result": "OK", "diagnostics": [], "truncated": False},
    # snaplake never publishes versions, so an empty list is the true answer.
    "AWSStepFunctions.ListStateMachineVersions": {"stateMachineVersions": []},
}


def apply_moto_config() -> None:
    moto_api_backend.set_config(MOTO_CONFIG)
    LATENCY.clear()
    LATENCY.update(latency_from_env())


# Milliseconds added to each call of a service (the optional latency model:
# AWS answers Glue in ~50 ms and S3 in ~20 ms; the stand-in at once).
LATENCY: dict[str, float] = {}


def latency_from_env() -> dict[str, float]:
    text = os.environ.get("STANDIN_LATENCY_MS", "")
    return parse_latency(dict(item.split("=", 1) for item in text.split(",") if item.strip()))


def parse_latency(body: dict) -> dict[str, float]:
    latency = {str(service): float(ms) for service, ms in body.items()}
    if not all(0 <= ms <= 10_000 for ms in latency.values()):
        raise ValueError("latency: milliseconds between 0 and 10000 per service")
    return latency


def _service(environ) -> str:
    credential = environ.get("HTTP_AUTHORIZATION", "").split("/")
    return credential[3] if len(credential) > 3 else "?"


def _operation(environ) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return target.split(".")[-1]
    query = environ.get("QUERY_STRING", "")
    if "Action=" in query:
        return query.split("Action=")[1].split("&")[0]
    service = _service(environ)
    if service == "s3":
        if "list-type=2" in query:
            return "s3:ListObjectsV2"
        if "delete" in query.split("&"):
            return "s3:DeleteObjects"
    return f"{service}:{environ.get('REQUEST_METHOD')}"


class Control:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        arrived = time.monotonic()
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not path.startswith(("/_snaplake/", "/moto-api/")):
            with calls.LOCK:
                calls.FIRST_CALL.setdefault("monotonic", arrived)
            calls.count(_operation(environ))
            iam.keep_form_body(environ)
            delay = LATENCY.get(_service(environ))
            if delay:
                time.sleep(delay / 1000)
        if target in SFN_STUBS:
            return _json(start_response, 200, SFN_STUBS[target], "application/x-amz-json-1.0")
        if path == "/moto-api/reset" and method == "POST":
            result = self.app(environ, start_response)
            exports.reset()
            athena.reset()
            stepfunctions.settings["history_limit"] = stepfunctions.HISTORY_LIMIT
            glue.reset()
            lineage.reset()
            apply_moto_config()
            return result
        if not path.startswith("/_snaplake/"):
            return replay.serve(self.app, environ, start_response)
        try:
            body = _body(environ)
            route = (method, path)
            if route == ("GET", "/_snaplake/calls"):
                with calls.LOCK:
                    return _json(start_response, 200, dict(calls.CALLS))
            if route == ("POST", "/_snaplake/calls/reset"):
                with calls.LOCK:
                    calls.CALLS.clear()
                    calls.FIRST_CALL.clear()
                return _json(start_response, 200, {})
            if route == ("GET", "/_snaplake/calls/first"):
                with calls.LOCK:
                    return _json(start_response, 200, {"monotonic": calls.FIRST_CALL.get("monotonic")})
            if route == ("GET", "/_snaplake/health"):
                return _json(start_response, 200, {"status": "ok"})
            if route == ("POST", "/_snaplake/exports/faults"):
                return _json(start_response, 200, set_fault(body))
            if route == ("POST", "/_snaplake/exports/settings"):
                return _json(start_response, 200, set_settings(body))
            if route == ("POST", "/_snaplake/states/settings"):
                limit = int(body.get("history_limit", stepfunctions.HISTORY_LIMIT))
                if limit < 1:
                    raise ValueError("history_limit must be at least 1")
                stepfunctions.settings["history_limit"] = limit
                return _json(start_response, 200, dict(stepfunctions.settings))
            if route == ("POST", "/_snaplake/athena/settings"):
                per_file = int(body["unload_rows_per_file"])
                if per_file < 0:
                    raise ValueError("unload_rows_per_file must be 0 (one file) or more")
                athena.settings["unload_rows_per_file"] = per_file
                return _json(start_response, 200, dict(athena.settings))
            if route == ("POST", "/_snaplake/athena/faults"):
                return _json(start_response, 200, add_query_fault(body))
            if route == ("POST", "/_snaplake/latency"):
                latency = parse_latency(body)
                LATENCY.clear()
                LATENCY.update(latency)
                return _json(start_response, 200, latency)
            if route == ("POST", "/_snaplake/iam/admin"):
                return _json(start_response, 200, iam.admin(body))
            if route == ("POST", "/_snaplake/iam/user"):
                return _json(start_response, 200, iam.user(body))
            if route == ("POST", "/_snaplake/glue/faults"):
                return _json(start_response, 200, add_glue_fault(body))
            if route == ("GET", "/_snaplake/glue/lineage"):
                return _json(start_response, 200, {"events": lineage.events()})
            if route == ("POST", "/_snaplake/scheduler/fire"):
                return _json(start_response, 200, scheduler.fire(body))
            if route == ("POST", "/_snaplake/snapshots"):
                return _json(start_response, 200, add_snapshot(body))
            return _json(start_response, 404, {"error": f"no such control endpoint: {method} {path}"})
        except (KeyError, ValueError, TypeError) as exc:
            return _json(start_response, 400, {"error": f"{type(exc).__name__}: {exc}"})
        except Exception as exc:  # moto's own errors, e.g. cluster not found
            return _json(start_response, 400, {"error": f"{type(exc).__name__}: {exc}"})


def set_fault(body: dict) -> dict:
    export_id = body["export_id"]
    fault = {
        "fail": body.get("fail"),
        "fail_tables": list(body.get("fail_tables") or []),
        "delay_seconds": float(body.get("delay_seconds", 0)),
        "skip_tables": list(body.get("skip_tables") or []),
        "empty_tables": list(body.get("empty_tables") or []),
        "database_warning": body.get("database_warning"),
    }
    with exports.LOCK:
        exports.faults[export_id] = fault
    return {"export_id": export_id, **fault}


def add_query_fault(body: dict) -> dict:
    fault = {
        "match": str(body["match"]),
        "fail": body.get("fail"),
        "delay_seconds": float(body.get("delay_seconds", 0)),
        "scanned_bytes": int(body.get("scanned_bytes", 0)),
    }
    if "times" in body:
        fault["times"] = int(body["times"])
    with athena.LOCK:
        athena.faults.append(fault)
    return fault


GLUE_FAULT_OPERATIONS = ("CreateTable", "UpdateTable", "PostLineageEvent")


def add_glue_fault(body: dict) -> dict:
    operations = list(body.get("operations") or ["CreateTable", "UpdateTable"])
    unknown = set(operations) - set(GLUE_FAULT_OPERATIONS)
    if unknown:
        raise ValueError(f"operations may be {', '.join(GLUE_FAULT_OPERATIONS)}, not {sorted(unknown)}")
    # A lineage event need not name a table: for PostLineageEvent alone, any event by default.
    any_table = "*" if set(operations) == {"PostLineageEvent"} else None
    fault = {
        "database": str(body["database"] if any_table is None else body.get("database", any_table)),
        "table": str(body["table"] if any_table is None else body.get("table", any_table)),
        "operations": operations,
        "code": str(body.get("code", "AccessDeniedException")),
        "fail": str(body.get("fail", "injected by the stand-in")),
    }
    if "times" in body:
        fault["times"] = int(body["times"])
        if fault["times"] < 1:
            raise ValueError("times must be at least 1")
    with glue.LOCK:
        glue.faults.append(fault)
    return fault


def set_settings(body: dict) -> dict:
    changes = {}
    if "duration_seconds" in body:
        duration = float(body["duration_seconds"])
        if not 0 <= duration <= 3600:
            raise ValueError("duration_seconds must be between 0 and 3600")
        changes["duration"] = duration
    if "sample_tables" in body:
        tables = int(body["sample_tables"])
        if not 1 <= tables <= sampledb.MAX_TABLES:
            raise ValueError(f"sample_tables must be between 1 and {sampledb.MAX_TABLES}")
        changes["tables"] = tables
    if "layout" in body:
        if body["layout"] not in exports.LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(exports.LAYOUTS)}")
        changes["layout"] = body["layout"]
    if "info_lead_seconds" in body:
        lead = float(body["info_lead_seconds"])
        if not 0 <= lead <= 600:
            raise ValueError("info_lead_seconds must be between 0 and 600")
        changes["info_lead"] = lead
    extra = body.get("extra_columns")
    if extra is not None:
        if not isinstance(extra, dict) or not all(
            t in sampledb.TABLES and isinstance(cols, list) and all(isinstance(c, str) and c for c in cols)
            for t, cols in extra.items()
        ):
            raise ValueError(f"extra_columns maps a sample table ({', '.join(sampledb.TABLES)}) to column names")
    keep = body.get("keep_fraction")
    if keep is not None:
        if not isinstance(keep, dict) or not all(
            t in sampledb.TABLES and isinstance(f, (int, float)) and 0 <= f <= 1 for t, f in keep.items()
        ):
            raise ValueError(f"keep_fraction maps a sample table ({', '.join(sampledb.TABLES)}) to a share from 0 to 1")
    if not changes and extra is None and keep is None:
        raise KeyError("duration_seconds, sample_tables, layout, info_lead_seconds, extra_columns or keep_fraction")
    with exports.LOCK:
        if keep is not None:
            sampledb.KEEP_FRACTION.clear()
            sampledb.KEEP_FRACTION.update({t: float(f) for t, f in keep.items()})
        if extra is not None:
            sampledb.EXTRA_COLUMNS.clear()
            sampledb.EXTRA_COLUMNS.update({t: list(cols) for t, cols in extra.items()})
        exports.settings.update(changes)
        return {"duration_seconds": exports.settings["duration"],
                "sample_tables": len(sampledb.table_names(exports.settings["tables"])),
                "layout": exports.settings["layout"]}


def add_snapshot(body: dict) -> dict:
    """An automated (or manual) snapshot created at a chosen time: tests pick
    the day boundaries; moto would only ever stamp "now"."""
    backend = rds_backends[body.get("account_id", DEFAULT_ACCOUNT_ID)][body.get("region", "us-east-1")]
    created = dt.datetime.fromisoformat(body["create_time"].replace("Z", "+00:00"))
    created = created.astimezone(dt.timezone.utc).replace(tzinfo=None)
    kind = body.get("type", "automated")
    if "cluster" in body:
        snapshot = backend.create_db_cluster_snapshot(body["cluster"], body["snapshot_id"], snapshot_type=kind)
    else:
        snapshot = backend.create_db_snapshot(body["instance"], body["snapshot_id"], snapshot_type=kind)
    snapshot.created = created
    if "status" in body:
        snapshot.status = body["status"]
    return {"arn": snapshot.arn, "create_time": created.isoformat() + "Z", "status": snapshot.status}


def _body(environ) -> dict:
    size = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(size) if size else b""
    return json.loads(raw) if raw.strip() else {}


def _json(start_response, status: int, payload, content_type="application/json"):
    data = json.dumps(payload).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    start_response(f"{status} {reason}", [("Content-Type", content_type), ("Content-Length", str(len(data)))])
    return [data]
