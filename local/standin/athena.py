"""Athena queries that really run.

moto 5.2.5 answers every query SUCCEEDED at once with canned rows and writes
nothing, so an UNLOAD would leave a curated location empty. Here a query is
run by DuckDB over the Parquet data in the stand-in's S3:

- the query is parsed and checked as Athena engine v3 (Trino) SQL and
  written out as DuckDB SQL with Trino's meaning (`athena_sql.py`);
- tables named `database.table` (or `table` in the execution context's
  database) are resolved through the stand-in's Glue catalog to their S3
  location; the Parquet objects under it (recursively, skipping `_`/`.`
  files) are copied to a scratch folder and exposed as a DuckDB view of the
  same name, its columns lower-cased; a location without data files is an
  empty table with the Glue columns;
- a table whose Glue `table_type` is ICEBERG is read from its metadata
  instead: the current snapshot's data files, or the snapshot `FOR VERSION
  AS OF` / `FOR TIMESTAMP AS OF` names (`iceberg.py`); time travel on any
  other table is refused;
- `UNLOAD (SELECT ...) TO 's3://...' WITH (format = 'PARQUET', ...)` runs the
  SELECT and writes Parquet objects under the target prefix, which must be
  empty (as Athena requires): one, or one per `unload_rows_per_file` rows
  (`POST /_snaplake/athena/settings`), as Athena writes several in parallel;
  an empty result writes no object at all (Athena does not document what it
  writes then: the stricter case);
- a SELECT's rows are kept for GetQueryResults (paginated with NextToken);
- the state moves QUEUED -> RUNNING -> SUCCEEDED, or FAILED with Athena's
  error (or DuckDB's) as the StateChangeReason, or CANCELLED by
  StopQueryExecution;
- ClientRequestToken is idempotent: the same token returns the same query;
  the same token with another query, parameters or workgroup is refused;
- the account's active DML quota counts queued and running queries alike:
  a StartQueryExecution beyond it is refused with TooManyRequestsException,
  as Athena does (`ACTIVE_DML_QUOTA`, env `STANDIN_ATHENA_ACTIVE_DML`,
  default 25, the figure of AWS's own example; regions differ);
- an untagged workgroup lists no tags (moto says it does not exist, which
  stops `terraform apply`);
- with IAM enforced, a query writes UNLOAD's objects with the caller's
  credentials, through the stand-in's own S3, as Athena does ("Athena uses
  the caller's permissions"), encrypted as the workgroup's result
  configuration says (SSE_KMS with its key, SSE_S3); so the bucket policy
  and the key policy decide, and a disabled key fails the query naming it.
  The tables' objects are still read as the stand-in: reading each one over
  HTTP as the caller made queries slow enough to change what the scale test
  measures (more poll loops), so reads are not checked.

Faults for tests (control API): a query whose text contains `match` fails
with `fail`, or takes `delay_seconds` longer while reporting `scanned_bytes`.
"""

import json
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import os

import duckdb
from moto.athena import responses
from moto.glue.models import glue_backends
from moto.s3.models import s3_backends

from . import athena_sql, calls, iam, iceberg, needs, sessions
from .athena_sql import QueryError

LOCK = threading.Lock()
# (account, region) -> {id: Query}
QUERIES: dict[tuple[str, str], dict[str, "Query"]] = {}
# (account, region, token) -> the query it started
TOKENS: dict[tuple[str, str, str], "Query"] = {}
faults: list[dict] = []
PAGE = 1000
ACTIVE_DML_QUOTA = int(os.environ.get("STANDIN_ATHENA_ACTIVE_DML", "25"))


# Rows per file UNLOAD writes (0: all rows in one file). Athena writes
# "multiple files in parallel"; tests ask for many to see the swap read them.
settings = {"unload_rows_per_file": 0}


def reset() -> None:
    with LOCK:
        QUERIES.clear()
        TOKENS.clear()
        faults.clear()
        settings["unload_rows_per_file"] = 0


class Caller:
    """The credentials a query was started with, to read and write S3 as Athena does for its caller."""

    def __init__(self, region: str, access_key_id: str, secret_access_key: str, session_token: str | None):
        self.s3 = sessions.client("s3", region, access_key_id, secret_access_key, session_token)

    @staticmethod
    def of(request) -> "Caller | None":
        """The caller of `request` when IAM is enforced (else None: the stand-in reads and writes itself)."""
        from moto.iam.models import iam_backends
        from moto.sts.models import sts_backends

        if not iam.enforcing():
            return None
        header = request.headers.get("Authorization", "")
        if "Credential=" not in header:
            return None
        key_id = header.split("Credential=", 1)[1].split("/", 1)[0]
        account = request.current_account
        for role in sts_backends[account]["aws"].assumed_roles:
            if role.access_key_id == key_id:
                return Caller(request.region, key_id, role.secret_access_key, role.session_token)
        for user in iam_backends[account]["global"].users.values():
            for key in user.access_keys:
                if key.access_key_id == key_id:
                    return Caller(request.region, key_id, key.secret_access_key, None)
        return None

    def read_all(self, bucket: str, prefix: str, wanted) -> list[tuple[str, bytes]]:
        from botocore.exceptions import ClientError

        found, path = [], f"s3://{bucket}/{prefix}"
        try:
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for entry in page.get("Contents", []):
                    if wanted(entry["Key"]) and entry.get("Size"):
                        path = f"s3://{bucket}/{entry['Key']}"
                        found.append((entry["Key"], self.s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()))
        except ClientError as e:
            raise QueryError(f"Permission denied on S3 path: {path}: {_said(e)}" if _what(e) == "Access denied"
                             else f"HIVE_CANNOT_OPEN_SPLIT: Error opening Hive split {path}: {_said(e)}") from None
        return found

    def read_one(self, bucket: str, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise QueryError(f"ICEBERG_MISSING_METADATA: s3://{bucket}/{key} does not exist") from None
            raise QueryError(f"Permission denied on S3 path: s3://{bucket}/{key}: {_said(e)}" if _what(e) == "Access denied"
                             else f"ICEBERG_FILESYSTEM_ERROR: s3://{bucket}/{key}: {_said(e)}") from None

    def write(self, bucket: str, key: str, body: bytes, encryption: dict) -> None:
        from botocore.exceptions import ClientError

        try:
            self.s3.put_object(Bucket=bucket, Key=key, Body=body, **encryption)
        except ClientError as e:
            raise QueryError(f"{_what(e)} when writing output to url: s3://{bucket}/{key}: {_said(e)}") from None


def _what(e) -> str:
    return "Access denied" if e.response.get("Error", {}).get("Code") in ("AccessDenied", "403") else "Error"


def _said(e) -> str:
    error = e.response.get("Error", {})
    return f"{error.get('Code')}: {error.get('Message')}"


def _encryption(backend, workgroup: str) -> dict:
    """The S3 encryption headers of the workgroup's result configuration."""
    config = (backend.get_work_group(workgroup) or {}).get("Configuration") or {}
    setting = (config.get("ResultConfiguration") or {}).get("EncryptionConfiguration") or {}
    option = setting.get("EncryptionOption")
    if option == "SSE_KMS":
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": setting.get("KmsKey")}
    if option == "SSE_S3":
        return {"ServerSideEncryption": "AES256"}
    return {}


class Query:
    def __init__(self, account: str, region: str, sql: str, params: list[str], workgroup: str, database: str,
                 output: str | None, caller: Caller | None = None, encryption: dict | None = None):
        self.id = str(uuid.uuid4())
        self.caller, self.encryption = caller, encryption or {}
        self.account, self.region = account, region
        self.sql, self.params, self.workgroup, self.database, self.output = sql, params, workgroup, database, output
        self.state, self.reason = "QUEUED", None
        self.submitted = time.time()
        self.completed = None
        self.scanned = 0
        self.engine_ms = 0
        self.columns: list[tuple[str, str]] = []
        self.rows: list[list[str | None]] = []
        self.cancelled = threading.Event()

    def status(self) -> dict:
        out = {"State": self.state, "SubmissionDateTime": self.submitted}
        if self.reason:
            out["StateChangeReason"] = self.reason
        if self.state == "FAILED":
            out["AthenaError"] = {"ErrorCategory": 2, "ErrorType": 1000, "Retryable": False, "ErrorMessage": self.reason}
        if self.completed:
            out["CompletionDateTime"] = self.completed
        return out


def _fault(sql: str) -> dict:
    """The first fault matching the query; one with `times` wears out."""
    with LOCK:
        for fault in faults:
            if fault.get("match", "") in sql and fault.get("times", 1) > 0:
                if "times" in fault:
                    fault["times"] -= 1
                return fault
        return {}


def _run(q: Query) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="standin-athena-"))
    started = time.time()
    try:
        fault = _fault(q.sql)
        q.state = "RUNNING"
        statement = athena_sql.parse(q.sql, q.params)
        con = duckdb.connect()
        columns, q.scanned = _expose_tables(con, q, athena_sql.tables(statement.tree, q.database), scratch)
        sql = athena_sql.to_duckdb(statement.tree, columns)
        q.scanned += int(fault.get("scanned_bytes", 0))
        if fault.get("delay_seconds"):
            if q.cancelled.wait(float(fault["delay_seconds"])):
                return
        if fault.get("fail"):
            raise QueryError(fault["fail"])
        if statement.target is not None:
            _unload(con, q, sql, statement, scratch)
        else:
            result = con.execute(sql)
            q.columns = [(d[0], str(d[1])) for d in result.description or []]
            q.rows = [[None if v is None else str(v) for v in row] for row in result.fetchall()]
        if not q.cancelled.is_set():
            q.state = "SUCCEEDED"
            # What Athena bills (a failed query is free): the run's cost is checked against these.
            calls.count("athena:succeeded-queries")
            calls.count("athena:scanned-bytes", q.scanned)
    except Exception as exc:  # Athena's reason, or the engine's
        if not q.cancelled.is_set():
            q.state, q.reason = "FAILED", str(exc) if isinstance(exc, QueryError) else f"{type(exc).__name__}: {exc}"
    finally:
        q.engine_ms = int((time.time() - started) * 1000)
        q.completed = q.completed or time.time()
        shutil.rmtree(scratch, ignore_errors=True)


def _objects(s3, bucket: str, prefix: str) -> list:
    """Every object under a prefix (moto's list_objects stops at MaxKeys)."""
    store = s3.get_bucket(bucket).keys
    return [store[name] for name in sorted(store.keys()) if name.startswith(prefix)]


def _expose_tables(con, q: Query, reads: list[athena_sql.TableRead], scratch: Path) -> tuple[dict, int]:
    """A DuckDB view per table read; returns each view's columns (Hive
    types) and the bytes scanned."""
    glue = glue_backends[q.account][q.region]
    s3 = s3_backends[q.account]["aws"]
    columns, scanned = {}, 0
    for read in reads:
        db, table = read.db, read.table
        try:
            found = glue.get_table(db, table).as_dict()
        except Exception:
            raise QueryError(f"TABLE_NOT_FOUND: Table 'awsdatacatalog.{db}.{table}' does not exist") from None
        folder = scratch / f"{len(list(scratch.iterdir()))}"
        folder.mkdir()
        if iceberg.is_iceberg(found.get("Parameters") or {}):
            cols, view, size = _iceberg_view(con, q, s3, read, found["Parameters"], folder)
        elif read.as_of is not None:
            raise QueryError(f"NOT_SUPPORTED: This connector does not support versioned tables: {db}.{table} "
                             "(time travel reads Iceberg tables only)")
        else:
            cols, view, size = _hive_view(con, q, s3, db, table, found["StorageDescriptor"], folder)
        columns[(db, read.view)] = cols
        scanned += size
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(db)}")
        con.execute(f"CREATE VIEW {_quote(db)}.{_quote(read.view)} AS {view}")
    return columns, scanned


def _hive_view(con, q: Query, s3, db: str, table: str, storage: dict, folder: Path) -> tuple[list, str, int]:
    """A Hive table: the Parquet files under its location."""
    location = storage["Location"]
    columns = [(c["Name"], c["Type"]) for c in storage.get("Columns", [])]
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    files, scanned = [], 0
    for name, body in _table_files(q, s3, bucket, prefix):
        path = folder / f"{len(files)}.parquet"
        path.write_bytes(body)
        files.append(str(path))
        scanned += len(body)
    if files:
        source = f"read_parquet({json.dumps(files)})"
        names = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        select = ", ".join(f"{_quote(n)} AS {_quote(n.lower())}" for n in names)
        return columns, f"SELECT {select} FROM {source}", scanned
    if columns:
        # Athena reads a location without data files as an empty table
        select = ", ".join(f"CAST(NULL AS {athena_sql.duckdb_type(t)}) AS {_quote(n.lower())}" for n, t in columns)
        return columns, f"SELECT {select} WHERE false", 0
    raise QueryError(f"HIVE_INVALID_METADATA: Table '{db}.{table}' has no columns and no data files under {location}")


def _iceberg_view(con, q: Query, s3, read: athena_sql.TableRead, parameters: dict,
                  folder: Path) -> tuple[list, str, int]:
    """An Iceberg table: the data files of the snapshot read (`iceberg.py`)."""
    as_of = read.as_of
    if as_of is not None and as_of[0] == "timestamp":
        try:
            instant = con.execute(f"SELECT epoch_ms(CAST(({as_of[1]}) AS TIMESTAMPTZ))").fetchone()[0]
        except duckdb.Error as exc:
            raise QueryError(f"TYPE_MISMATCH: FOR TIMESTAMP AS OF takes a timestamp with time zone: {exc}") from None
        as_of = ("timestamp", instant)
    found = iceberg.resolve(read.db, read.table, parameters, as_of, lambda uri: _read_object(q, s3, uri),
                            int(time.time() * 1000))
    paths, scanned = [], 0
    for uri, _ in found.files:
        path = folder / f"{len(paths)}.parquet"
        body = _read_object(q, s3, uri)
        path.write_bytes(body)
        paths.append(str(path))
        scanned += len(body)
    return [(f.name, f.hive) for f in found.fields], iceberg.view(con, found, paths), scanned


def _read_object(q: Query, s3, uri: str) -> bytes:
    """One object, as the caller when IAM is enforced."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if q.caller is not None:
        return q.caller.read_one(bucket, key)
    try:
        found = s3.get_object(bucket, key)
    except Exception:
        found = None
    if found is None:
        raise QueryError(f"ICEBERG_MISSING_METADATA: {uri} does not exist")
    return found.value


def _table_files(q: Query, s3, bucket: str, prefix: str):
    """The data files under a table's location, as (key, bytes): listed and
    read with the caller's credentials when IAM is enforced, as Athena reads
    a table's data as the principal that started the query."""
    wanted = lambda key: not key.rsplit("/", 1)[-1].startswith(("_", "."))  # noqa: E731
    if q.caller is None:
        return [(k.name, k.value) for k in _objects(s3, bucket, prefix) if wanted(k.name) and k.value]
    return q.caller.read_all(bucket, prefix, wanted)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _unload(con, q: Query, sql: str, statement: athena_sql.Statement, scratch: Path) -> None:
    target, opts = statement.target, statement.options
    if opts.get("format") != "parquet":
        raise QueryError(f"NOT_SUPPORTED: the stand-in's UNLOAD writes only format = 'PARQUET', not {opts.get('format')!r}")
    bucket, _, prefix = target.removeprefix("s3://").partition("/")
    s3 = s3_backends[q.account]["aws"]
    if _objects(s3, bucket, prefix):
        raise QueryError(f"HIVE_PATH_ALREADY_EXISTS: Target directory for table already exists: {target}")
    out = scratch / "unload"
    out.mkdir()
    compression = opts.get("compression", "snappy")
    written = con.execute(f"COPY ({sql}) TO '{out}/part.parquet' (FORMAT PARQUET, COMPRESSION {compression})").fetchone()
    rows = written[0] if written else 0
    if rows == 0:
        # Whether Athena writes a file for an empty result is not documented:
        # the stricter case, none.
        return
    per_file = settings["unload_rows_per_file"]
    if per_file and rows > per_file:
        whole = out / "part.parquet"
        for n, offset in enumerate(range(0, rows, per_file)):
            con.execute(f"COPY (SELECT * FROM read_parquet('{whole}') LIMIT {per_file} OFFSET {offset}) "
                        f"TO '{out}/part-{n:05d}.parquet' (FORMAT PARQUET, COMPRESSION {compression})")
        whole.unlink()
    for i, path in enumerate(sorted(out.iterdir())):
        key = f"{prefix.rstrip('/')}/{q.id}_{i:05d}.{compression}.parquet"
        if q.caller:
            q.caller.write(bucket, key, path.read_bytes(), q.encryption)
        else:
            s3.put_object(bucket, key, path.read_bytes())


def _queries(self) -> dict:
    with LOCK:
        return QUERIES.setdefault((self.current_account, self.region), {})


def _get(self, exec_id: str) -> "Query":
    query = _queries(self).get(exec_id)
    if query is None:
        raise KeyError(exec_id)
    return query


def workgroup_of(account: str, region: str, query_id: str) -> str | None:
    """The workgroup a query ran in (None for an unknown query), which IAM decides its calls against."""
    with LOCK:
        query = QUERIES.get((account, region), {}).get(query_id)
    return query.workgroup if query else None


def _not_found(self, exec_id):
    return self.error(f"QueryExecution {exec_id} was not found", 400)


def start_query_execution(self):
    sql = self._get_param("QueryString")
    params = self._get_param("ExecutionParameters") or []
    workgroup = self._get_param("WorkGroup") or "primary"
    database = (self._get_param("QueryExecutionContext") or {}).get("Database") or "default"
    if workgroup != "primary" and not self.athena_backend.get_work_group(workgroup):
        return self.error(f"WorkGroup {workgroup} is not found.", 400)
    token = self._get_param("ClientRequestToken")
    key = (self.current_account, self.region, token or "")
    with LOCK:
        if token and key in TOKENS:
            q = TOKENS[key]
            if (q.sql, q.params, q.workgroup, q.database) != (sql, params, workgroup, database):
                return self.error(f"Idempotent parameters do not match: ClientRequestToken {token} started "
                                  f"query {q.id} with another QueryString, ExecutionParameters, WorkGroup or "
                                  "QueryExecutionContext; use a new token for a new query", 400)
            return json.dumps({"QueryExecutionId": q.id})
        active = sum(1 for other in QUERIES.get((self.current_account, self.region), {}).values()
                     if other.state in ("QUEUED", "RUNNING"))
        if active >= ACTIVE_DML_QUOTA:
            message = (f"You have exceeded the limit for the number of queries you can run concurrently "
                       f"({ACTIVE_DML_QUOTA} active DML queries, queued and running). Reduce the number of "
                       "concurrent queries submitted by this account.")
            return json.dumps({"__type": "TooManyRequestsException", "Message": message}), {"status": 400}
        output = (self._get_param("ResultConfiguration") or {}).get("OutputLocation")
        q = Query(self.current_account, self.region, sql, params, workgroup, database, output,
                  Caller.of(self), _encryption(self.athena_backend, workgroup))
        QUERIES.setdefault((q.account, q.region), {})[q.id] = q
        if token:
            TOKENS[key] = q
    threading.Thread(target=_run, args=(q,), daemon=True).start()
    return json.dumps({"QueryExecutionId": q.id})


def get_query_execution(self):
    exec_id = self._get_param("QueryExecutionId")
    try:
        q = _get(self, exec_id)
    except KeyError:
        return _not_found(self, exec_id)
    kind = "UTILITY" if q.sql.lstrip().upper().startswith(("SHOW", "DESCRIBE")) else "DML"
    return json.dumps({"QueryExecution": {
        "QueryExecutionId": q.id,
        "Query": q.sql,
        "StatementType": kind,
        "WorkGroup": q.workgroup,
        "ResultConfiguration": {"OutputLocation": f"{(q.output or '').rstrip('/')}/{q.id}.csv"} if q.output else {},
        "Status": q.status(),
        "Statistics": {
            "EngineExecutionTimeInMillis": q.engine_ms,
            "DataScannedInBytes": q.scanned,
            "TotalExecutionTimeInMillis": int(((q.completed or time.time()) - q.submitted) * 1000),
        },
        "ExecutionParameters": q.params,
    }})


def get_query_results(self):
    exec_id = self._get_param("QueryExecutionId")
    try:
        q = _get(self, exec_id)
    except KeyError:
        return _not_found(self, exec_id)
    if q.state != "SUCCEEDED":
        return self.error(f"Query has not yet finished. Current state: {q.state}", 400)
    start = int(self._get_param("NextToken") or 0)
    size = min(int(self._get_param("MaxResults") or PAGE), PAGE)
    header = [{"Data": [{"VarCharValue": name} for name, _ in q.columns]}] if start == 0 and q.columns else []
    page = q.rows[start:start + size]
    body = {
        "UpdateCount": 0,
        "ResultSet": {
            "Rows": header + [{"Data": [({"VarCharValue": v} if v is not None else {}) for v in row]} for row in page],
            "ResultSetMetadata": {"ColumnInfo": [{"Name": n, "Label": n, "Type": t.lower(), "CatalogName": "hive",
                                                  "SchemaName": "", "TableName": ""} for n, t in q.columns]},
        },
    }
    if start + size < len(q.rows):
        body["NextToken"] = str(start + size)
    return json.dumps(body)


def stop_query_execution(self):
    exec_id = self._get_param("QueryExecutionId")
    try:
        q = _get(self, exec_id)
    except KeyError:
        return _not_found(self, exec_id)
    if q.state in ("QUEUED", "RUNNING"):
        q.cancelled.set()
        q.state, q.reason, q.completed = "CANCELLED", "Query cancelled by user", time.time()
    return json.dumps({})


def list_tags_for_resource(self):
    """moto answers "does not exist" for an untagged workgroup; AWS answers no tags."""
    tags = self.athena_backend.list_tags_for_resource(self._get_param("ResourceARN"))
    return json.dumps(tags or {"Tags": []})


def install() -> None:
    needs.query_workgroups(workgroup_of)
    responses.AthenaResponse.list_tags_for_resource = list_tags_for_resource
    responses.AthenaResponse.start_query_execution = start_query_execution
    responses.AthenaResponse.get_query_execution = get_query_execution
    responses.AthenaResponse.get_query_results = get_query_results
    responses.AthenaResponse.stop_query_execution = stop_query_execution
