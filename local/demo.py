"""make demo: snaplake end to end on this machine.

Starts the stand-in (or reuses the one `make standin` started), applies the
Terraform module to it (infra/envs/local), creates the sample Aurora cluster
and the automated snapshot of the day, runs the real state machine, whose
Lambda tasks are the real handler binaries, shows its progress, and sums up.
Then runs the same day again, which changes nothing. Stops what it started,
also on Ctrl-C.

    python local/demo.py [--date YYYY-MM-DD] [--table-format hive|iceberg]
        (default: yesterday in Asia/Tokyo, hive)

With `--table-format iceberg` each day is one Iceberg snapshot of each
table: the summary shows each table's snapshots, and a run of another day
adds one.
"""

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
import urllib.error
import zoneinfo
from pathlib import Path

import boto3

from driving import control

TOP = Path(__file__).resolve().parents[1]
ZONE = zoneinfo.ZoneInfo("Asia/Tokyo")
STATE = TOP / ".local" / "demo"
PY = sys.executable


def sh(*args, **kw):
    out = subprocess.run(args, text=True, **kw)
    if out.returncode != 0:
        # Terraform's own error (the denied call, with its statement) is in what was captured.
        sys.stderr.write((out.stdout or "") + (out.stderr or ""))
        out.check_returncode()
    return out


def standin(command: str, env: dict) -> str:
    out = subprocess.run([PY, "-m", "standin", command], cwd=TOP / "local", env=env, text=True, capture_output=True)
    return out.stdout.strip() if out.returncode == 0 else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    yesterday = (dt.datetime.now(ZONE) - dt.timedelta(days=1)).date()
    parser.add_argument("--date", type=dt.date.fromisoformat, default=yesterday, help="logical day (YYYY-MM-DD)")
    parser.add_argument("--table-format", choices=["hive", "iceberg"], default="hive",
                        help="how curated tables are published (the module's table_format)")
    args = parser.parse_args()
    # The schedule fires at 04:00 Tokyo: that instant is the run's logical time.
    logical = dt.datetime.combine(args.date, dt.time(4), ZONE).astimezone(dt.timezone.utc)
    logical_time = logical.strftime("%Y-%m-%dT%H:%M:%SZ")

    target = Path(os.environ.get("CARGO_TARGET_DIR", TOP / "target"))
    env = dict(os.environ, SNAPLAKE_STANDIN_FUNCTIONS=str(target / "debug"))
    endpoint = standin("status", env)
    started_here = not endpoint
    if started_here:
        env["SNAPLAKE_STANDIN_DIR"] = str(STATE / "standin")
        print("starting the local AWS stand-in ...")
        endpoint = standin("start", env)
        if not endpoint:
            print("the stand-in did not start; see .local/demo/standin/server.log", file=sys.stderr)
            return 1
    print(f"stand-in: {endpoint}")
    try:
        return demo(endpoint, logical_time, args.date, args.table_format)
    except KeyboardInterrupt:
        print("\ninterrupted")
        return 130
    finally:
        if started_here:
            standin("stop", env)
            print("stopped the stand-in")


# The local root's deployment: its name and the stand-in's account and region.
DEPLOYMENT = ["-var=name=snaplake-local", "-var=account_id=123456789012", "-var=region=us-east-1"]


def deployer_policy(tf_env: dict) -> dict:
    """The policy the module's deployer-policy submodule draws up for the
    local deployment (kept in .local/demo/deployer-policy.json, which
    scripts/check-infra gives the deployer it plans as)."""
    module = ["terraform", f"-chdir={TOP / 'infra/modules/snaplake/modules/deployer-policy'}"]
    state = f"-state={STATE / 'deployer-policy.tfstate'}"
    env = dict(tf_env, TF_DATA_DIR=str(STATE / "deployer-policy.terraform"))
    sh(*module, "init", "-backend=false", "-input=false", env=env, capture_output=True)
    sh(*module, "apply", "-auto-approve", "-input=false", state, *DEPLOYMENT, env=env, capture_output=True)
    policy = json.loads(sh(*module, "output", "-raw", state, "policy_json", env=env, capture_output=True).stdout)
    (STATE / "deployer-policy.json").write_text(json.dumps(policy, indent=1))
    return policy


def demo(endpoint: str, logical_time: str, day: dt.date, table_format: str) -> int:
    # IAM is enforced: Terraform applies as a deployer holding exactly the
    # policy infra/modules/snaplake/modules/deployer-policy draws up; the demo
    # then looks as the stand-in's administrator; each function runs as the
    # role Terraform gives it.
    admin = control(endpoint, "/_snaplake/iam/admin", {"enforce": True})
    keys = dict(AWS_ACCESS_KEY_ID=admin["access_key_id"], AWS_SECRET_ACCESS_KEY=admin["secret_access_key"])
    tf_env = dict(os.environ, TF_CLI_CONFIG_FILE=sh(str(TOP / "scripts/terraform-env"), capture_output=True).stdout.strip())
    STATE.mkdir(parents=True, exist_ok=True)
    deployer = control(endpoint, "/_snaplake/iam/user", {"user": "snaplake-deployer", "policy": deployer_policy(tf_env)})
    tf_env.update(AWS_ACCESS_KEY_ID=deployer["access_key_id"], AWS_SECRET_ACCESS_KEY=deployer["secret_access_key"])
    state = STATE / "terraform.tfstate"
    tf = ["terraform", f"-chdir={TOP / 'infra/envs/local'}"]
    print(f"terraform apply infra/envs/local (the module, against the stand-in, as the deployer; table_format {table_format}) ...")
    sh(*tf, "init", "-backend=false", "-input=false", "-lockfile=readonly", env=tf_env, capture_output=True)
    sh(*tf, "apply", "-auto-approve", "-input=false", f"-state={state}", f"-var=endpoint={endpoint}",
       f"-var=table_format={table_format}", env=tf_env, capture_output=True)
    outputs = json.loads(sh(*tf, "output", "-json", f"-state={state}", env=tf_env, capture_output=True).stdout)
    aws = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
               aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"])
    rds, sfn, glue, athena = (boto3.client(s, **aws) for s in ("rds", "stepfunctions", "glue", "athena"))
    # Run manifests are under the control prefix, which the bucket policy
    # keeps from the deployer: read them as the operator role.
    operator = boto3.client("sts", **aws).assume_role(RoleArn=outputs["operator_role_arn"]["value"],
                                                      RoleSessionName="demo")["Credentials"]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id=operator["AccessKeyId"], aws_secret_access_key=operator["SecretAccessKey"],
                      aws_session_token=operator["SessionToken"])

    source = outputs["run_input"]["value"]["export"]["source_id"]
    if not rds.describe_db_clusters(Filters=[{"Name": "db-cluster-id", "Values": [source]}])["DBClusters"]:
        rds.create_db_cluster(DBClusterIdentifier=source, Engine="aurora-mysql", MasterUsername="admin",
                              MasterUserPassword="demo-only-password")
    snapshot = f"rds:{source}-{day.isoformat()}-03-00"
    taken = dt.datetime.combine(day, dt.time(3), ZONE).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        control(endpoint, "/_snaplake/snapshots", {"cluster": source, "snapshot_id": snapshot, "create_time": taken})
    except urllib.error.HTTPError:
        pass  # made by an earlier demo of the same day
    run_input = dict(outputs["run_input"]["value"], logical_time=logical_time)
    # The policy the local root pins (infra/envs/local applies this file).
    policy = json.loads((TOP / "events" / "masking-policy.json").read_text())

    for attempt in ("", " again"):
        print(f"\nrun {day} (logical time {logical_time}){attempt}")
        name = f"demo-{day.isoformat()}-{int(time.time())}"
        result = run(sfn, outputs["state_machine_arn"]["value"], name, run_input, rds)
        if result["status"] != "SUCCEEDED":
            print(f"FAILED: {result.get('error')}: {result.get('cause')}", file=sys.stderr)
            return 1
        summary(json.loads(result["output"]), athena, s3, result["seconds"], policy)
        if table_format == "iceberg":
            snapshots(glue, s3, athena)
    print(f"""
look at it:
  export AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID={keys["AWS_ACCESS_KEY_ID"]} AWS_SECRET_ACCESS_KEY={keys["AWS_SECRET_ACCESS_KEY"]} AWS_DEFAULT_REGION=us-east-1
  (the stand-in's administrator, IAM user snaplake-admin: the stand-in enforces IAM; each function runs as its own role;
  the bucket policy keeps exports/ and _snaplake/ from it: assume {outputs["operator_role_arn"]["value"]} to read them)
  the curated tables are in the Glue database snaplake_local_curated; the stand-in's Athena runs SQL on them,
  e.g. SELECT email, transformed_at FROM "snaplake_local_curated"."shop_customers" LIMIT 5 (workgroup snaplake-local);
  Iceberg tables also FOR VERSION AS OF <snapshot id> or FOR TIMESTAMP AS OF TIMESTAMP '<when>' after the table name
  `make demo` with another day (python local/demo.py --date YYYY-MM-DD) swaps in a new version; the old one stays for rollback.""")
    return 0


def run(sfn, machine: str, name: str, run_input: dict, rds) -> dict:
    started = time.time()
    arn = sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps(run_input))["executionArn"]
    seen = 0
    while True:
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        for e in events[seen:]:
            entered = e.get("stateEnteredEventDetails")
            if entered and not entered["name"].endswith("?"):
                print(f"  {time.time() - started:5.1f}s  {entered['name']}")
        seen = len(events)
        out = sfn.describe_execution(executionArn=arn)
        if out["status"] != "RUNNING":
            return dict(out, seconds=time.time() - started)
        for task in rds.describe_export_tasks()["ExportTasks"]:
            if task["Status"] in ("STARTING", "IN_PROGRESS"):
                print(f"         export {task['ExportTaskIdentifier']}: {task['Status']} {task.get('PercentProgress', 0)}%")
        time.sleep(1)


def summary(output: dict, athena, s3, seconds: float, policy: dict) -> None:
    print(f"SUCCEEDED in {seconds:.0f} s")
    # Every table's outcome is in the run's manifest (the state holds only counts).
    manifest_uri = output["report"]["summary"]["manifest"]
    bucket, key = manifest_uri.removeprefix("s3://").split("/", 1)
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    print(f"  run manifest: {manifest_uri}")
    print(f"  {'table':16} {'outcome':10} {'rows':>6}  {'masked':28} new location (was)")
    for t in manifest["tables"]:
        source = t["table"].replace("_", ".", 1)
        rules = policy.get("tables", {}).get(source, {}).get("columns", {})
        masked = ", ".join(f"{c}:{r}" for c, r in rules.items() if r != "keep") or "-"
        rows = count(athena, t["table"])
        print(f"  {t['table']:16} {t['outcome']:10} {rows:>6}  {masked[:28]:28} {t.get('location', '')} ({t.get('previous_location') or 'new'})")


def snapshots(glue, s3, athena) -> None:
    """Each Iceberg table's snapshots, from the metadata its Glue table
    points at, and the rows of the one before, read by time travel."""
    print(f"  {'Iceberg table':16} {'snapshots':>9}  {'current snapshot':>20}  {'rows':>6}  {'before':>6}  its run (table@logical time)")
    for table in glue.get_tables(DatabaseName="snaplake_local_curated")["TableList"]:
        location = table.get("Parameters", {}).get("metadata_location")
        if not location:
            print(f"  {table['Name']:16} not an Iceberg table")
            continue
        bucket, key = location.removeprefix("s3://").split("/", 1)
        metadata = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        current = next(s for s in metadata["snapshots"] if s["snapshot-id"] == metadata["current-snapshot-id"])
        summary = current["summary"]
        parent = current.get("parent-snapshot-id")
        before = count(athena, table["Name"], f" FOR VERSION AS OF {parent}") if parent else "-"
        print(f"  {table['Name']:16} {len(metadata['snapshots']):>9}  {current['snapshot-id']:>20}  "
              f"{summary.get('total-records', '?'):>6}  {before:>6}  {summary.get('snaplake.run', '?')}")


def count(athena, table: str, version: str = "") -> str:
    q = athena.start_query_execution(QueryString=f'SELECT count(*) FROM "snaplake_local_curated"."{table}"{version}',
                                     WorkGroup="snaplake-local")
    for _ in range(100):
        e = athena.get_query_execution(QueryExecutionId=q["QueryExecutionId"])["QueryExecution"]["Status"]["State"]
        if e == "SUCCEEDED":
            rows = athena.get_query_results(QueryExecutionId=q["QueryExecutionId"])["ResultSet"]["Rows"]
            return rows[1]["Data"][0]["VarCharValue"]
        if e in ("FAILED", "CANCELLED"):
            return "?"
        time.sleep(0.1)
    return "?"


if __name__ == "__main__":
    sys.exit(main())
