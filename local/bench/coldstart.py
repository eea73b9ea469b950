"""Cold start and peak memory per function: each Rust handler binary and
the Python boto3 handler written for the same first call (pyhandler.py),
started the same way, behind the stand-in's Lambda Runtime API
(standin.lambdas.Runtime), one event each whose handling makes one or two
AWS calls to the running stand-in (snapshot-export looks for the day's
export, then lists snapshots; catalog-swap reads the curated table and the
raw one).

    python -m bench.coldstart --endpoint URL --functions DIR [--runs 11]

prints one JSON object: per function, the median time of the same call
from a warm boto3 client (the stand-in's share), and per language the
median times from process spawn to the end of init (the first request for
an event at the Runtime API), to the first AWS request arriving at the
stand-in (its answer time excluded), and to the invocation's answer
arriving, the median peak RSS
(VmHWM: the process's own high-water mark; wait4's ru_maxrss would count the
spawning parent's pages), and the AWS calls and outcome of the first run,
with whether that outcome is the one its event is made for (`as_intended`:
a figure of an event handled otherwise measures something else).
Runs alternate between the languages so both see the same machine noise.
"""

import argparse
import json
import os
import statistics
import sys
import time
import types
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

from standin import lambdas

FUNCTIONS = ["snapshot-export", "export-callback", "export-poller", "catalog-swap", "query-runner"]
BUCKET = "snaplake-bench"
EXPORT_ID = "snaplake-shop-prod-20261121"
LOGICAL_TIME = "2026-11-20T19:00:00Z"
PYHANDLER = Path(__file__).with_name("pyhandler.py")
REPO = Path(__file__).resolve().parents[2]


def control(endpoint: str, method: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(endpoint + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def prepare(endpoint: str) -> tuple[dict[str, dict], dict]:
    """The stand-in state each first call reads, the event per function, and
    the same call made from a warm client (to tell the stand-in's share)."""
    aws = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"), aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
               config=Config(s3={"addressing_style": "path"}))
    s3, glue, rds, kms, athena = (boto3.client(s, **aws) for s in ("s3", "glue", "rds", "kms", "athena"))
    s3.create_bucket(Bucket=BUCKET)
    # This run's audited version is live, and the raw table shows this run's export.
    for database, parameters, folder in (
        ("snaplake_curated", {"snaplake.logical_time": LOGICAL_TIME, "snaplake.audit": "passed"},
         "curated/shop_customers/v=20261120T190000Z/"),
        ("snaplake_raw", {"snaplake.logical_time": LOGICAL_TIME, "snaplake.export_id": EXPORT_ID},
         f"exports/{EXPORT_ID}/shop/shop.customers/"),
    ):
        glue.create_database(DatabaseInput={"Name": database})
        glue.create_table(DatabaseName=database, TableInput={
            "Name": "shop_customers", "Parameters": parameters,
            "StorageDescriptor": {"Columns": [{"Name": "id", "Type": "bigint"}], "Location": f"s3://{BUCKET}/{folder}"},
        })
    rds.create_db_cluster(DBClusterIdentifier="shop-prod", Engine="aurora-mysql", MasterUsername="admin",
                          MasterUserPassword="not-a-secret-123")
    snapshot = control(endpoint, "POST", "/_snaplake/snapshots", {
        "cluster": "shop-prod", "snapshot_id": "rds:shop-prod-2026-11-20-18-00", "create_time": "2026-11-20T18:00:00Z"})
    # Long enough that the poller finds it running: one DescribeExportTasks.
    control(endpoint, "POST", "/_snaplake/exports/settings", {"duration_seconds": 3600})
    key = kms.create_key()["KeyMetadata"]["Arn"]
    # RDS refuses an export role that does not exist (it never writes here: the export runs for an hour).
    boto3.client("iam", **aws).create_role(RoleName="snaplake-export", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "export.rds.amazonaws.com"}}]}))
    rds.start_export_task(ExportTaskIdentifier=EXPORT_ID, SourceArn=snapshot["arn"], S3BucketName=BUCKET,
                          IamRoleArn="arn:aws:iam::123456789012:role/snaplake-export", KmsKeyId=key, S3Prefix="exports")
    query = athena.start_query_execution(QueryString="SELECT 1", WorkGroup="primary",
                                         ResultConfiguration={"OutputLocation": f"s3://{BUCKET}/results/"})
    deadline = time.monotonic() + 30
    while athena.get_query_execution(QueryExecutionId=query["QueryExecutionId"])["QueryExecution"]["Status"]["State"] in ("QUEUED", "RUNNING"):
        assert time.monotonic() < deadline, "the stand-in's Athena did not finish SELECT 1"
        time.sleep(0.05)
    info_key = f"exports/{EXPORT_ID}/export_info_{EXPORT_ID}.json"

    def day_without_snapshot():
        try:
            rds.describe_export_tasks(ExportTaskIdentifier="snaplake-shop-prod-20261118")
        except rds.exceptions.ExportTaskNotFoundFault:
            pass
        rds.describe_db_cluster_snapshots(DBClusterIdentifier="shop-prod", SnapshotType="automated")

    def missing_token():
        s3.list_objects_v2(Bucket=BUCKET, Prefix=f"_snaplake/tokens/{EXPORT_ID}/")

    warm_calls = {
        "snapshot-export": day_without_snapshot,
        "export-callback": missing_token,
        "export-poller": lambda: rds.describe_export_tasks(ExportTaskIdentifier=EXPORT_ID),
        "catalog-swap": lambda: [glue.get_table(DatabaseName=d, Name="shop_customers") for d in ("snaplake_curated", "snaplake_raw")],
        "query-runner": lambda: athena.get_query_execution(QueryExecutionId=query["QueryExecutionId"]),
    }
    events = {
        # A day without a snapshot, long past: SnapshotNotFound after the one listing.
        "snapshot-export": {"logical_time": "2026-11-17T19:00:00Z", "source_id": "shop-prod", "source_kind": "cluster",
                            "kms_key": key, "export_role_arn": "arn:aws:iam::123456789012:role/snaplake-export"},
        # S3's "Object Created" through EventBridge, as the module's rule sends it
        # (events/export-callback-s3-eventbridge.json). No token is stored for
        # this export: one ListObjectsV2, then "no token".
        "export-callback": object_created(info_key),
        "export-poller": {"export_id": EXPORT_ID, "on_table_failure": "fail", "batch_size": 10},
        # Already published and audited for this run: GetTable of the curated and the raw table, then "unchanged".
        "catalog-swap": {"action": "prepare", "logical_time": LOGICAL_TIME, "layout": "versioned",
                         "Items": [{"table": "shop_customers"}]},
        "query-runner": {"action": "poll", "query_execution_id": query["QueryExecutionId"], "purpose": "bench"},
    }
    return events, warm_calls


# What the answer of each snaplake function to its event holds when the
# event is handled as it is made to be: the figures of another outcome (an
# error, or more work) measure something else.
INTENDED = {
    "snapshot-export": '"errorType":"SnapshotNotFound"',
    "export-callback": '"outcome":"no_token"',
    "export-poller": '"done":false',
    "catalog-swap": '"outcome":"unchanged"',
    "query-runner": '"state":"SUCCEEDED"',
}


def object_created(key: str) -> dict:
    """events/export-callback-s3-eventbridge.json (which tests/tests/events.rs
    drives through the function) for `key` of the bench's bucket."""
    event = json.loads((REPO / "events" / "export-callback-s3-eventbridge.json").read_text())
    event["resources"] = [f"arn:aws:s3:::{BUCKET}"]
    event["detail"]["bucket"]["name"] = BUCKET
    event["detail"]["object"]["key"] = key
    return event


def warm_call_ms(call, runs: int) -> float:
    call()
    times = []
    for _ in range(runs):
        started = time.monotonic()
        call()
        times.append((time.monotonic() - started) * 1000)
    return statistics.median(times)


def vm_hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for {pid}")


def once(endpoint: str, function: str, name: str, binary: Path, command: list[str] | None, event: dict) -> dict:
    fn = types.SimpleNamespace(
        function_name=name, function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        environment_vars={"SNAPLAKE_BUCKET": BUCKET, "SNAPLAKE_TIME_ZONE": "Asia/Tokyo"},
        timeout=30, memory_size=128, region="us-east-1")
    control(endpoint, "POST", "/_snaplake/calls/reset")
    started = time.monotonic()
    runtime = lambdas.Runtime(fn, binary, command)
    try:
        payload, errored = runtime.invoke(json.dumps(event))
        seconds = time.monotonic() - started
        first = control(endpoint, "GET", "/_snaplake/calls/first")["monotonic"]
        # Let it finish posting the answer (killing it mid-write breaks the pipe) and block on the next event.
        time.sleep(0.05)
        rss = vm_hwm_kib(runtime.process.pid)
    finally:
        runtime.stop()
    calls = control(endpoint, "GET", "/_snaplake/calls")
    return {"ms": seconds * 1000, "rss_kib": rss,
            "init_ms": (runtime.first_next - runtime.spawned) * 1000,
            "first_request_ms": (first - runtime.spawned) * 1000, "calls": sum(calls.values()), "operations": sorted(calls),
            "errored": errored, "error_type": json.loads(payload).get("errorType") if errored else None,
            "answer": payload[:160], "as_intended": INTENDED[function] in payload}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--functions", required=True, type=Path, help="folder of the release handler binaries")
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--baseline", type=Path, help="folder of other builds of the binaries (e.g. before a change), run alike")
    args = parser.parse_args()
    lambdas.ENDPOINT["url"] = args.endpoint
    logs = REPO / ".local" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    os.environ["SNAPLAKE_STANDIN_LOGS"] = str(logs)
    events, warm_calls = prepare(args.endpoint)
    ways = {
        "rust": lambda f: (f"snaplake-bench-{f}", args.functions / f, None),
        "python": lambda f: (f"py-bench-{f}", PYHANDLER, [sys.executable, str(PYHANDLER)]),
    }
    if args.baseline:
        ways["baseline"] = lambda f: (f"snaplake-bench-{f}", args.baseline / f, None)
    samples = {f: {way: [] for way in ways} for f in FUNCTIONS}
    # Run 0 warms the page cache for both and is not counted.
    for run in range(args.runs + 1):
        for f in FUNCTIONS:
            for way, spec in ways.items():
                sample = once(args.endpoint, f, *spec(f), events[f])
                if run:
                    samples[f][way].append(sample)
    result = {}
    for f, by_way in samples.items():
        result[f] = {"warm_call_ms": warm_call_ms(warm_calls[f], args.runs)}
        for way, runs in by_way.items():
            result[f][way] = {
                "median_ms": statistics.median(s["ms"] for s in runs),
                "median_init_ms": statistics.median(s["init_ms"] for s in runs),
                "median_first_request_ms": statistics.median(s["first_request_ms"] for s in runs),
                "min_ms": min(s["ms"] for s in runs),
                "max_ms": max(s["ms"] for s in runs),
                "median_rss_mib": statistics.median(s["rss_kib"] for s in runs) / 1024,
                "calls": runs[0]["calls"],
                "operations": runs[0]["operations"],
                "errored": runs[0]["errored"],
                "error_type": runs[0]["error_type"],
                "answer": runs[0]["answer"],
                "as_intended": runs[0]["as_intended"],
            }
    print(json.dumps({"runs": args.runs, "python": sys.version.split()[0], "baseline": str(args.baseline or ""),
                      "functions": result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
