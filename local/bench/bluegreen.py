"""The classic hand-glued blue/green swap, for comparison with catalog-swap
(`make bench`): one table after another, GetTable, check that the new
location holds data (ListObjectsV2), UpdateTable with the location changed
and everything else copied back. No schema check, no optimistic
concurrency: less than catalog-swap does per table.

    python -m bench.bluegreen --endpoint URL --tables N --location 's3://bucket/curated/{table}/v=2/'

prints {"seconds": <wall time of the swaps>, "tables": N}; tables are t0000, t0001, ...
"""

import argparse
import json
import os
import sys
import time

import boto3
from botocore.config import Config

# GetTable returns read-only fields that UpdateTable rejects.
TABLE_INPUT_FIELDS = {
    "Name", "Description", "Owner", "LastAccessTime", "LastAnalyzedTime", "Retention", "StorageDescriptor",
    "PartitionKeys", "ViewOriginalText", "ViewExpandedText", "TableType", "Parameters", "TargetTable",
}


def swap(glue, s3, database: str, table: str, location: str) -> None:
    current = glue.get_table(DatabaseName=database, Name=table)["Table"]
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    if not s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("KeyCount"):
        raise RuntimeError(f"{location} is empty; not swapping {table}")
    table_input = {k: v for k, v in current.items() if k in TABLE_INPUT_FIELDS}
    table_input["StorageDescriptor"] = dict(current["StorageDescriptor"], Location=location)
    glue.update_table(DatabaseName=database, TableInput=table_input)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--database", default="snaplake_curated")
    parser.add_argument("--tables", type=int, required=True)
    parser.add_argument("--location", required=True, help="new location; {table} is the table's name")
    args = parser.parse_args()
    aws = dict(endpoint_url=args.endpoint, region_name="us-east-1", aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
               aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"), config=Config(s3={"addressing_style": "path"}))
    glue, s3 = boto3.client("glue", **aws), boto3.client("s3", **aws)
    started = time.monotonic()
    for i in range(args.tables):
        table = f"t{i:04}"
        swap(glue, s3, args.database, table, args.location.format(table=table))
    print(json.dumps({"seconds": time.monotonic() - started, "tables": args.tables}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
