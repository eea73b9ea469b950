"""Reads a curated Iceberg table as a reader nobody on the team wrote does:
pyiceberg's own Glue catalog, pointed at the stand-in, loads the table from
Glue (its `metadata_location`), lists its snapshots and scans each one.

    python local/iceberg_check.py <endpoint> <database> <table>

Credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. Prints
one JSON object: the table's UUID, its current snapshot, and per snapshot
(oldest first) its id, parent, operation, schema's columns and rows (each
row a list, sorted). Exits 1 with pyiceberg's error when it cannot.
"""

import json
import os
import sys

from pyiceberg.catalog.glue import GlueCatalog


def main(endpoint: str, database: str, table: str) -> dict:
    key, secret = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
    catalog = GlueCatalog("snaplake", **{
        "glue.endpoint": endpoint, "glue.region": "us-east-1",
        "glue.access-key-id": key, "glue.secret-access-key": secret,
        "s3.endpoint": endpoint, "s3.region": "us-east-1",
        "s3.access-key-id": key, "s3.secret-access-key": secret,
    })
    loaded = catalog.load_table(f"{database}.{table}")
    snapshots = []
    for entry in loaded.history():
        snapshot = loaded.snapshot_by_id(entry.snapshot_id)
        schema = loaded.schemas()[snapshot.schema_id]
        rows = loaded.scan(snapshot_id=snapshot.snapshot_id).to_arrow()
        snapshots.append({
            "id": snapshot.snapshot_id,
            "parent": snapshot.parent_snapshot_id,
            "operation": snapshot.summary.operation.value,
            "columns": [field.name for field in schema.fields],
            "rows": sorted([list(row.values()) for row in rows.to_pylist()]),
        })
    return {
        "uuid": str(loaded.metadata.table_uuid),
        "current": loaded.metadata.current_snapshot_id,
        "snapshots": snapshots,
    }


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    print(json.dumps(main(*sys.argv[1:]), default=str))
