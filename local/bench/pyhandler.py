"""The Python boto3 side of the cold-start comparison (`make bench`).

What a hand-written Python Lambda handler for each snaplake function would
do on its first invocation: the same first AWS call, made the usual way
(boto3 imported and the client built at init, outside the handler). It runs
behind the same Runtime API as the Rust binaries, with a minimal runtime
loop in place of awslambdaric, which would only add to its start-up.

The function is chosen by the suffix of AWS_LAMBDA_FUNCTION_NAME.
"""

import datetime as dt
import json
import os
import urllib.request

import boto3
from botocore.config import Config

FUNCTION = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
BUCKET = os.environ["SNAPLAKE_BUCKET"]
CONFIG = Config(s3={"addressing_style": "path"})


def snapshot_export(event):
    tokyo = dt.timedelta(hours=9)
    day = (dt.datetime.fromisoformat(event["logical_time"].replace("Z", "+00:00")) + tokyo).date()
    # The day's export, if a retry finds it started, is adopted, not started twice.
    try:
        CLIENT.describe_export_tasks(ExportTaskIdentifier=f"snaplake-{event['source_id']}-{day:%Y%m%d}")
    except CLIENT.exceptions.ExportTaskNotFoundFault:
        pass
    out = CLIENT.describe_db_cluster_snapshots(DBClusterIdentifier=event["source_id"], SnapshotType="automated")
    found = [s for s in out["DBClusterSnapshots"] if (s["SnapshotCreateTime"] + tokyo).date() == day]
    if not found:
        raise LookupError(f"no automated snapshot of {event['source_id']} for {day}")
    return {"snapshot": found[-1]["DBClusterSnapshotArn"]}


def export_callback(event):
    export_id = event["detail"]["object"]["key"].rsplit("export_info_", 1)[1].removesuffix(".json")
    # Tokens are stored per waiting execution: one listing finds them.
    listed = CLIENT.list_objects_v2(Bucket=BUCKET, Prefix=f"_snaplake/tokens/{export_id}/")
    if not listed.get("KeyCount"):
        return [{"outcome": "no_token", "export_id": export_id}]
    return [{"outcome": "token", "export_id": export_id}]


def export_poller(event):
    tasks = CLIENT.describe_export_tasks(ExportTaskIdentifier=event["export_id"])["ExportTasks"]
    return {"export_id": event["export_id"], "status": tasks[0]["Status"] if tasks else None}


def catalog_swap(event):
    name = event["Items"][0]["table"]
    table = CLIENT.get_table(DatabaseName="snaplake_curated", Name=name)["Table"]
    raw = CLIENT.get_table(DatabaseName="snaplake_raw", Name=name)["Table"]
    unchanged = table["Parameters"].get("snaplake.logical_time") == event["logical_time"] == raw["Parameters"].get("snaplake.logical_time")
    return {"location": table["StorageDescriptor"]["Location"], "outcome": "unchanged" if unchanged else "prepare"}


def query_runner(event):
    status = CLIENT.get_query_execution(QueryExecutionId=event["query_execution_id"])["QueryExecution"]["Status"]
    return {"query_execution_id": event["query_execution_id"], "state": status["State"]}


HANDLERS = {
    "snapshot-export": ("rds", snapshot_export),
    "export-callback": ("s3", export_callback),
    "export-poller": ("rds", export_poller),
    "catalog-swap": ("glue", catalog_swap),
    "query-runner": ("athena", query_runner),
}
SERVICE, HANDLER = next(v for k, v in HANDLERS.items() if FUNCTION.endswith(k))
CLIENT = boto3.client(SERVICE, config=CONFIG)


def main() -> None:
    api = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime/invocation"
    while True:
        with urllib.request.urlopen(f"{api}/next") as response:
            request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.load(response)
        try:
            body, kind = HANDLER(event), "response"
        except Exception as exc:
            body, kind = {"errorType": type(exc).__name__, "errorMessage": str(exc)}, "error"
        request = urllib.request.Request(f"{api}/{request_id}/{kind}", data=json.dumps(body, default=str).encode(), method="POST")
        urllib.request.urlopen(request).close()


if __name__ == "__main__":
    main()
