"""The stand-in's Athena speaks Athena engine v3 (Trino), not DuckDB: each
rule has a query DuckDB's dialect would take (or answer differently) that
Athena refuses or answers as shown."""

import hashlib
import json
import urllib.request
import io
import time

import botocore.exceptions
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

BUCKET = "dialect"
PEOPLE = '"dialect"."people"'
EMPTY = '"dialect"."empty"'
COLUMNS = [("id", "bigint"), ("name", "string"), ("code", "string"), ("active", "boolean"),
           ("amount", "int"), ("born", "date")]


@pytest.fixture
def athena(aws):
    """A Glue database `dialect` with `people` (two rows, one name NULL) and
    `empty` (a location holding only a `_SUCCESS` marker)."""
    s3, glue = aws("s3"), aws("glue")
    s3.create_bucket(Bucket=BUCKET)
    rows = pa.table({
        "id": pa.array([1, 2], pa.int64()),
        "name": pa.array(["ada@example.com", None]),
        "code": pa.array(["1", "2"]),
        "active": pa.array([True, False]),
        "amount": pa.array([1, 5], pa.int32()),
        "born": pa.array([pa.scalar(19000, pa.date32()), None], pa.date32()),
    })
    out = io.BytesIO()
    pq.write_table(rows, out)
    s3.put_object(Bucket=BUCKET, Key="tables/people/part-0.parquet", Body=out.getvalue())
    s3.put_object(Bucket=BUCKET, Key="tables/empty/_SUCCESS", Body=b"")
    glue.create_database(DatabaseInput={"Name": "dialect"})
    for table in ("people", "empty"):
        glue.create_table(DatabaseName="dialect", TableInput={"Name": table, "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": t} for n, t in COLUMNS],
            "Location": f"s3://{BUCKET}/tables/{table}/"}})
    return aws("athena")


def start(athena, sql: str, params=None, token=None) -> str:
    args = {"QueryString": sql, "WorkGroup": "primary"}
    if params:
        args["ExecutionParameters"] = params
    if token:
        args["ClientRequestToken"] = token
    return athena.start_query_execution(**args)["QueryExecutionId"]


def run(athena, sql: str, params=None) -> dict:
    """Runs a query to its end: {"state", "reason", "header", "rows"}."""
    query_id = start(athena, sql, params)
    deadline = time.time() + 30
    while True:
        status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
        if status["State"] not in ("QUEUED", "RUNNING"):
            break
        assert time.time() < deadline, f"{sql}: still {status['State']}"
        time.sleep(0.05)
    out = {"state": status["State"], "reason": status.get("StateChangeReason", ""), "header": [], "rows": []}
    if status["State"] == "SUCCEEDED":
        rows = athena.get_query_results(QueryExecutionId=query_id)["ResultSet"]["Rows"]
        values = [[cell.get("VarCharValue") for cell in row["Data"]] for row in rows]
        out["header"], out["rows"] = (values[0], values[1:]) if values else ([], [])
    return out


def succeeded(athena, sql: str, params=None) -> dict:
    result = run(athena, sql, params)
    assert result["state"] == "SUCCEEDED", f"{sql}: {result['reason']}"
    return result


@pytest.mark.parametrize("hive_type", ["string", "float", "binary", "STRING"])
def test_hive_ddl_type_names_are_unknown_types(athena, hive_type):
    # what `redact` generated for a Glue `string` column: CAST(NULL AS string)
    result = run(athena, f'SELECT CAST(NULL AS {hive_type}) AS "name" FROM {PEOPLE}')
    assert result["state"] == "FAILED", result
    assert f"Unknown type: {hive_type.lower()}" in result["reason"], result["reason"]
    assert result["reason"].startswith("TYPE_MISMATCH: line 1:"), result["reason"]


@pytest.mark.parametrize("expr", ["CAST(amount AS int)", "CAST(amount AS integer)", "CAST(NULL AS varchar)",
                                  "CAST(amount AS real)", "CAST(amount AS double)", "CAST(name AS varbinary)",
                                  "CAST(amount AS decimal(10,2))", "CAST(NULL AS array(varchar))",
                                  "TIMESTAMP '2026-11-20 19:00:00.000'", "CAST(amount AS double precision)"])
def test_trino_type_names_are_known(athena, expr):
    succeeded(athena, f"SELECT {expr} FROM {PEOPLE}")


def test_hive_type_names_nested_in_a_trino_type_are_unknown(athena):
    result = run(athena, f"SELECT CAST(NULL AS array(string)) FROM {PEOPLE}")
    assert result["state"] == "FAILED" and "Unknown type" in result["reason"], result


def test_concat_is_null_when_any_argument_is_null(athena):
    result = succeeded(athena, f"SELECT concat('x', name), 'x' || name, concat('x', code) FROM {PEOPLE} WHERE id = 2")
    assert result["rows"] == [[None, None, "x2"]]


def test_a_salted_hash_of_null_is_null(athena):
    # query-runner's hash_salted, with the salt as an execution parameter
    sql = f"SELECT to_hex(sha256(to_utf8(concat(?, CAST(name AS varchar))))) FROM {PEOPLE} ORDER BY id"
    result = succeeded(athena, sql, ["'pepper'"])
    expected = hashlib.sha256(b"pepperada@example.com").hexdigest().upper()
    assert result["rows"] == [[expected], [None]]


def test_a_hash_is_uppercase_hex_as_athena_writes_it(athena):
    result = succeeded(athena, f"SELECT to_hex(sha256(to_utf8(CAST(name AS varchar)))) FROM {PEOPLE} WHERE id = 1")
    assert result["rows"] == [[hashlib.sha256(b"ada@example.com").hexdigest().upper()]]


@pytest.mark.parametrize("condition, message", [
    ("code = 1", "Cannot apply operator: varchar = integer"),
    ("1 < code", "Cannot apply operator: integer < varchar"),
    ("'1' = 1", "Cannot apply operator: varchar(1) = integer"),
    ("active = 1", "Cannot apply operator: boolean = integer"),
    ("code = true", "Cannot apply operator: varchar = boolean"),
    ("born = '2022-01-08'", "Cannot apply operator: date = varchar(10)"),
    ("code IN (1, 2)", "IN value and list items must be the same type"),
    ("code BETWEEN 1 AND 2", "Cannot check if varchar is BETWEEN integer and integer"),
])
def test_comparing_text_with_a_number_boolean_or_date_is_a_type_mismatch(athena, condition, message):
    result = run(athena, f"SELECT count(*) FROM {PEOPLE} WHERE {condition}")
    assert result["state"] == "FAILED", result
    assert result["reason"].startswith("TYPE_MISMATCH: "), result["reason"]
    assert message in result["reason"], result["reason"]


@pytest.mark.parametrize("condition", ["code = '1'", "amount = 1", "id = amount", "CAST(code AS integer) = 1",
                                       "active", "active = true", "born = DATE '2022-01-08'", "name IS NULL",
                                       "amount IN (1, 3)", "code IN ('1', '3')", "amount BETWEEN 1 AND 1",
                                       f"id > ALL (SELECT amount FROM {PEOPLE} WHERE amount < 2)"])
def test_comparisons_of_compatible_types_run(athena, condition):
    assert succeeded(athena, f"SELECT count(*) FROM {PEOPLE} WHERE {condition}")["rows"] == [["1"]]


def test_a_location_without_data_files_is_an_empty_table(athena):
    assert succeeded(athena, f"SELECT count(*) FROM {EMPTY}")["rows"] == [["0"]]
    everything = succeeded(athena, f"SELECT * FROM {EMPTY}")
    assert everything["rows"] == []
    assert everything["header"] == [name for name, _ in COLUMNS]
    joined = succeeded(athena, f"SELECT count(*) FROM {PEOPLE} p LEFT JOIN {EMPTY} e ON p.id = e.id WHERE e.id IS NULL")
    assert joined["rows"] == [["2"]]


TOKEN_1, TOKEN_2 = "run-1-transform-shop_orders-000001", "run-1-transform-shop_orders-000002"


def test_a_request_token_names_one_query(athena):
    first = start(athena, f"SELECT count(*) FROM {PEOPLE}", token=TOKEN_1)
    assert start(athena, f"SELECT count(*) FROM {PEOPLE}", token=TOKEN_1) == first
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        start(athena, f"SELECT count(*) FROM {EMPTY}", token=TOKEN_1)
    assert refused.value.response["Error"]["Code"] == "InvalidRequestException"
    assert TOKEN_1 in refused.value.response["Error"]["Message"]
    assert start(athena, f"SELECT count(*) FROM {EMPTY}", token=TOKEN_2) != first


def test_output_column_names_are_lower_case_and_unnamed_ones_numbered(athena):
    result = succeeded(athena, f'SELECT id AS "Ident", NAME, Code AS Kind, amount + 1, count(*) OVER () FROM {PEOPLE} WHERE id = 1')
    assert result["header"] == ["ident", "name", "kind", "_col3", "_col4"]


def test_unload_writes_parquet_with_lower_case_columns_under_an_empty_target(athena, aws):
    sql = (f"UNLOAD (SELECT id, upper(name) AS Shout FROM {PEOPLE} WHERE (code = '1')) "
           f"TO 's3://{BUCKET}/out/v=1/' WITH (format = 'PARQUET', compression = 'SNAPPY')")
    succeeded(athena, sql)
    s3 = aws("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="out/v=1/")["Contents"]]
    assert len(keys) == 1 and keys[0].endswith(".snappy.parquet"), keys
    table = pq.read_table(io.BytesIO(s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read()))
    assert table.column_names == ["id", "shout"]
    assert table.to_pylist() == [{"id": 1, "shout": "ADA@EXAMPLE.COM"}]
    again = run(athena, sql)
    assert again["state"] == "FAILED" and "HIVE_PATH_ALREADY_EXISTS" in again["reason"], again


def test_unload_writes_a_file_per_n_rows_when_asked(athena, aws, endpoint):
    request = urllib.request.Request(f"{endpoint}/_snaplake/athena/settings", method="POST",
                                     data=json.dumps({"unload_rows_per_file": 1}).encode(),
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=30).read()
    succeeded(athena, f"UNLOAD (SELECT id FROM {PEOPLE}) "
                      f"TO 's3://{BUCKET}/out/many/' WITH (format = 'PARQUET', compression = 'SNAPPY')")
    s3 = aws("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="out/many/")["Contents"]]
    rows = [pq.read_table(io.BytesIO(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read())).num_rows for k in keys]
    total = int(succeeded(athena, f"SELECT count(*) FROM {PEOPLE}")["rows"][0][0])
    assert len(keys) == total > 1 and rows == [1] * total, (keys, rows)


def test_unload_of_no_rows_writes_no_object(athena, aws):
    # Athena does not document it: the stricter case, nothing at all.
    succeeded(athena, f"UNLOAD (SELECT id FROM {PEOPLE} WHERE id < 0) "
                      f"TO 's3://{BUCKET}/out/none/' WITH (format = 'PARQUET', compression = 'SNAPPY')")
    assert aws("s3").list_objects_v2(Bucket=BUCKET, Prefix="out/none/").get("Contents", []) == []


def test_integer_division_truncates(athena):
    assert succeeded(athena, f"SELECT amount / 2, 7 / 2 FROM {PEOPLE} WHERE id = 2")["rows"] == [["2", "3"]]


def test_execution_parameters_bind_to_question_marks_in_order(athena):
    result = succeeded(athena, "WITH c AS (SELECT ? AS a) SELECT a, ? AS b FROM c", ["'first'", "'second'"])
    assert result["rows"] == [["first", "second"]]
    wrong = run(athena, "SELECT ? AS a", ["'one'", "'two'"])
    assert wrong["state"] == "FAILED" and "Incorrect number of parameters" in wrong["reason"], wrong
