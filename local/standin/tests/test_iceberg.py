"""The stand-in's Athena reads Iceberg tables registered in its Glue catalog
(`standin/iceberg.py`): the current snapshot, time travel, and data files
without field ids through the table's name mapping.

The tables are written by pyiceberg's own Glue catalog pointed at the
stand-in, a writer nobody on the team wrote, as snaplake's Iceberg tables
will be read: Parquet files as Athena's UNLOAD writes them (no field ids)
added to the table, one day after another."""

import io
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.catalog.glue import GlueCatalog
from pyiceberg.expressions import AlwaysTrue

from test_athena_dialect import run, succeeded

BUCKET = "lake"
TABLE = '"shop"."customers"'


def unload_like(s3, key: str, ids: list[int]) -> str:
    """A Parquet file as UNLOAD writes one: plain column names, no field ids."""
    rows = pa.table({"id": pa.array(ids, pa.int64()), "email": pa.array([f"{i}@example.com" for i in ids])})
    out = io.BytesIO()
    pq.write_table(rows, out)
    s3.put_object(Bucket=BUCKET, Key=key, Body=out.getvalue())
    return f"s3://{BUCKET}/{key}"


@pytest.fixture
def catalog(aws, endpoint):
    aws("s3").create_bucket(Bucket=BUCKET)
    aws("glue").create_database(DatabaseInput={"Name": "shop"})
    properties = {"glue.endpoint": endpoint, "glue.region": "us-east-1", "glue.access-key-id": "test",
                  "glue.secret-access-key": "test", "s3.endpoint": endpoint, "s3.region": "us-east-1",
                  "s3.access-key-id": "test", "s3.secret-access-key": "test"}
    return GlueCatalog("lake", **properties)


@pytest.fixture
def two_days(aws, catalog):
    """`shop.customers`: day 1 holds ids 1-3, day 2 (current) ids 2-5; returns the table."""
    s3 = aws("s3")
    day1 = unload_like(s3, "curated/customers/day=1/q1_00000.snappy.parquet", [1, 2, 3])
    schema = pa.schema([("id", pa.int64()), ("email", pa.string())])
    table = catalog.create_table("shop.customers", schema=schema, location=f"s3://{BUCKET}/curated/customers")
    table.add_files([day1])
    day2 = unload_like(s3, "curated/customers/day=2/q2_00000.snappy.parquet", [2, 3, 4, 5])
    with table.transaction() as tx:
        tx.delete(AlwaysTrue())
        tx.add_files([day2])
    return catalog.load_table("shop.customers")


def day_one(table):
    """Day 1's snapshot: the first in the table's history."""
    return table.snapshot_by_id(table.history()[0].snapshot_id)


def test_the_current_snapshot_is_read_through_the_name_mapping(aws, two_days):
    assert two_days.name_mapping() is not None  # what pyiceberg's add_files sets for files without ids
    result = succeeded(aws("athena"), f"SELECT id, email FROM {TABLE} ORDER BY id")
    assert result["header"] == ["id", "email"]
    assert result["rows"] == [[str(i), f"{i}@example.com"] for i in (2, 3, 4, 5)]


def test_time_travel_by_snapshot_id_and_by_timestamp(aws, two_days):
    athena, first = aws("athena"), day_one(two_days)
    by_id = succeeded(athena, f"SELECT id FROM {TABLE} FOR VERSION AS OF {first.snapshot_id} ORDER BY id")
    assert by_id["rows"] == [["1"], ["2"], ["3"]]
    at = datetime.fromtimestamp(first.timestamp_ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    by_time = succeeded(athena, f"SELECT count(*) FROM {TABLE} FOR TIMESTAMP AS OF TIMESTAMP '{at} UTC'")
    assert by_time["rows"] == [["3"]]
    both = succeeded(athena, f"SELECT (SELECT count(*) FROM {TABLE} FOR VERSION AS OF {first.snapshot_id}), "
                             f"(SELECT count(*) FROM {TABLE})")
    assert both["rows"] == [["3", "4"]]


def test_time_travel_to_no_snapshot_fails_as_trino_does(aws, two_days):
    athena, first = aws("athena"), day_one(two_days)
    missing = run(athena, f"SELECT id FROM {TABLE} FOR VERSION AS OF 42")
    assert missing["state"] == "FAILED" and "Iceberg snapshot ID does not exists: 42" in missing["reason"], missing
    before = datetime.fromtimestamp((first.timestamp_ms - 60_000) / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    early = run(athena, f"SELECT id FROM {TABLE} FOR TIMESTAMP AS OF TIMESTAMP '{before} UTC'")
    assert early["state"] == "FAILED" and 'No version history table "shop"."customers" at or before' in early["reason"], early
    future = run(athena, f"SELECT id FROM {TABLE} FOR TIMESTAMP AS OF TIMESTAMP '2999-01-01 00:00:00 UTC'")
    assert future["state"] == "FAILED" and "Pointer in time is in the future" in future["reason"], future


def test_without_the_name_mapping_files_without_ids_read_as_nulls(aws, two_days):
    # The spec's column projection: no field id and no mapping, no value.
    two_days.transaction().remove_properties("schema.name-mapping.default").commit_transaction()
    result = succeeded(aws("athena"), f"SELECT count(*), count(id), count(email) FROM {TABLE}")
    assert result["rows"] == [["4", "0", "0"]]


def test_files_with_field_ids_are_read_by_id_after_a_rename(aws, catalog):
    rows = pa.table({"id": pa.array([7], pa.int64()), "email": pa.array(["7@example.com"])})
    table = catalog.create_table("shop.customers", schema=rows.schema, location=f"s3://{BUCKET}/curated/customers")
    table.append(rows)  # pyiceberg's own writer: files with field ids
    with table.update_schema() as update:
        update.rename_column("email", "contact")
    result = succeeded(aws("athena"), f"SELECT id, contact FROM {TABLE}")
    assert result["rows"] == [["7", "7@example.com"]]


def test_an_iceberg_table_without_a_snapshot_has_no_rows(aws, catalog):
    catalog.create_table("shop.customers", schema=pa.schema([("id", pa.int64())]),
                         location=f"s3://{BUCKET}/curated/customers")
    result = succeeded(aws("athena"), f"SELECT count(*) FROM {TABLE}")
    assert result["rows"] == [["0"]]


def test_time_travel_on_a_hive_table_is_refused(aws):
    aws("s3").create_bucket(Bucket=BUCKET)
    glue = aws("glue")
    glue.create_database(DatabaseInput={"Name": "shop"})
    glue.create_table(DatabaseName="shop", TableInput={"Name": "customers", "StorageDescriptor": {
        "Columns": [{"Name": "id", "Type": "bigint"}], "Location": f"s3://{BUCKET}/curated/customers/"}})
    result = run(aws("athena"), f"SELECT id FROM {TABLE} FOR VERSION AS OF 1")
    assert result["state"] == "FAILED" and "does not support versioned tables" in result["reason"], result


def test_an_iceberg_table_without_its_metadata_location_fails(aws):
    aws("s3").create_bucket(Bucket=BUCKET)
    glue = aws("glue")
    glue.create_database(DatabaseInput={"Name": "shop"})
    glue.create_table(DatabaseName="shop", TableInput={"Name": "customers", "Parameters": {"table_type": "ICEBERG"},
                                                        "StorageDescriptor": {"Columns": [{"Name": "id", "Type": "bigint"}],
                                                                              "Location": f"s3://{BUCKET}/curated/customers/"}})
    result = run(aws("athena"), f"SELECT id FROM {TABLE}")
    assert result["state"] == "FAILED" and "missing [metadata_location]" in result["reason"], result
