"""Athena queries that really run.

moto 5.2.5 answers every query SUCCEEDED at once with canned rows and writes
nothing, so an UNLOAD would leave a curated location empty. Here a query is
run by DuckDB over the Parquet data in the stand-in's S3:

- tables named `"database"."table"` are resolved through the stand-in's Glue
  catalog to their S3 location; the Parquet objects under it (recursively,
  skipping `_`/`.` files) are copied to a scratch folder and exposed as a
  DuckDB view of the same name;
- `UNLOAD (SELECT ...) TO 's3://...' WITH (format = 'PARQUET', ...)` runs the
  SELECT and writes Parquet objects under the target prefix, which must be
  empty (as Athena requires);
- a SELECT's rows are kept for GetQueryResults (paginated with NextToken);
- the state moves QUEUED -> RUNNING -> SUCCEEDED, or FAILED with DuckDB's
  error as the StateChangeReason, or CANCELLED by StopQueryExecution;
- ClientRequestToken is idempotent: the same token returns the same query;
- an untagged workgroup lists no tags (moto says it does not exist, which
  stops `terraform apply`).

The dialect bridge is small (see local/README.md): `to_utf8(x)` is `x`,
`to_hex(sha256(..))` gives uppercase hex as Athena's does, and execution
parameters replace `?` in order, as the literal text Athena takes them as.

Faults for tests (control API): a query whose text contains `match` fails
with `fail`, or takes `delay_seconds` longer while reporting `scanned_bytes`.
"""

import json
import re
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import duckdb
from moto.athena import responses
from moto.glue.models import glue_backends
from moto.s3.models import s3_backends

LOCK = threading.Lock()
# (account, region) -> {id: Query}
QUERIES: dict[tuple[str, str], dict[str, "Query"]] = {}
TOKENS: dict[tuple[str, str, str], str] = {}
faults: list[dict] = []
PAGE = 1000

TABLE_REF = re.compile(r'"((?:[^"]|"")+)"\s*\.\s*"((?:[^"]|"")+)"')
UNLOAD = re.compile(r"^\s*UNLOAD\s*\((?P<select>.*)\)\s*TO\s*'(?P<target>(?:[^']|'')*)'\s*WITH\s*\((?P<opts>[^)]*)\)\s*;?\s*$", re.S | re.I)


def reset() -> None:
    with LOCK:
        QUERIES.clear()
        TOKENS.clear()
        faults.clear()


class Query:
    def __init__(self, account: str, region: str, sql: str, params: list[str], workgroup: str, output: str | None):
        self.id = str(uuid.uuid4())
        self.account, self.region = account, region
        self.sql, self.params, self.workgroup, self.output = sql, params, workgroup, output
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
        sql = _bind(q.sql, q.params)
        con = duckdb.connect()
        con.execute("CREATE MACRO to_utf8(x) AS x; CREATE MACRO to_hex(x) AS upper(x);")
        q.scanned = _expose_tables(con, q, sql, scratch) + int(fault.get("scanned_bytes", 0))
        if fault.get("delay_seconds"):
            if q.cancelled.wait(float(fault["delay_seconds"])):
                return
        if fault.get("fail"):
            raise RuntimeError(fault["fail"])
        unload = UNLOAD.match(sql)
        if unload:
            _unload(con, q, unload, scratch)
        else:
            result = con.execute(sql)
            q.columns = [(d[0], str(d[1])) for d in result.description or []]
            q.rows = [[None if v is None else str(v) for v in row] for row in result.fetchall()]
        if not q.cancelled.is_set():
            q.state = "SUCCEEDED"
    except Exception as exc:  # the engine's reason is the query's reason
        if not q.cancelled.is_set():
            q.state, q.reason = "FAILED", f"{type(exc).__name__}: {exc}"
    finally:
        q.engine_ms = int((time.time() - started) * 1000)
        q.completed = q.completed or time.time()
        shutil.rmtree(scratch, ignore_errors=True)


def _bind(sql: str, params: list[str]) -> str:
    """Replaces `?` outside string literals with the parameters, in order."""
    if not params:
        return sql
    out, i, quoted = [], 0, False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
        if ch == "?" and not quoted:
            if i >= len(params):
                raise ValueError(f"the query has more ? than the {len(params)} execution parameters given")
            out.append(params[i])
            i += 1
        else:
            out.append(ch)
    if i != len(params):
        raise ValueError(f"{len(params)} execution parameters given for {i} ?")
    return "".join(out)


def _objects(s3, bucket: str, prefix: str) -> list:
    """Every object under a prefix (moto's list_objects stops at MaxKeys)."""
    store = s3.get_bucket(bucket).keys
    return [store[name] for name in sorted(store.keys()) if name.startswith(prefix)]


def _expose_tables(con, q: Query, sql: str, scratch: Path) -> int:
    glue = glue_backends[q.account][q.region]
    s3 = s3_backends[q.account]["aws"]
    scanned = 0
    for db, table in sorted({(m.group(1).replace('""', '"'), m.group(2).replace('""', '"')) for m in TABLE_REF.finditer(sql)}):
        try:
            descriptor = glue.get_table(db, table).as_dict()["StorageDescriptor"]
            location = descriptor["Location"]
        except Exception:
            raise RuntimeError(f"TABLE_NOT_FOUND: Table '{db}.{table}' does not exist") from None
        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        folder = scratch / f"{len(list(scratch.iterdir()))}"
        folder.mkdir()
        files = []
        for key in _objects(s3, bucket, prefix):
            name = key.name.rsplit("/", 1)[-1]
            if name.startswith(("_", ".")) or not key.value:
                continue
            path = folder / f"{len(files)}.parquet"
            path.write_bytes(key.value)
            files.append(str(path))
            scanned += len(key.value)
        quoted_db, quoted_table = db.replace('"', '""'), table.replace('"', '""')
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{quoted_db}"')
        if files:
            con.execute(f'CREATE VIEW "{quoted_db}"."{quoted_table}" AS SELECT * FROM read_parquet({json.dumps(files)})')
        else:
            # As Athena: a table without data files has no rows (an empty table
            # of an export), with the columns Glue gives it.
            columns = ", ".join(
                f'CAST(NULL AS {c["Type"]}) AS "{c["Name"].replace(chr(34), chr(34) * 2)}"'
                for c in descriptor.get("Columns") or []
            )
            if not columns:
                raise RuntimeError(f"HIVE_CANNOT_OPEN_SPLIT: no data files and no columns for {db}.{table}")
            con.execute(f'CREATE VIEW "{quoted_db}"."{quoted_table}" AS SELECT {columns} WHERE false')
    return scanned


def _unload(con, q: Query, m: re.Match, scratch: Path) -> None:
    target = m.group("target").replace("''", "'")
    opts = {k.strip().lower(): v.strip().strip("'").lower() for k, v in
            (o.split("=", 1) for o in m.group("opts").split(",") if "=" in o)}
    if opts.get("format") != "parquet":
        raise RuntimeError(f"the stand-in's UNLOAD writes only format = 'PARQUET', not {opts.get('format')!r}")
    bucket, _, prefix = target.removeprefix("s3://").partition("/")
    s3 = s3_backends[q.account]["aws"]
    if _objects(s3, bucket, prefix):
        raise RuntimeError(f"HIVE_PATH_ALREADY_EXISTS: Target directory for table already exists: {target}")
    out = scratch / "unload"
    out.mkdir()
    compression = opts.get("compression", "snappy")
    con.execute(f"COPY ({m.group('select')}) TO '{out}/part.parquet' (FORMAT PARQUET, COMPRESSION {compression})")
    for i, path in enumerate(sorted(out.iterdir())):
        s3.put_object(bucket, f"{prefix.rstrip('/')}/{q.id}_{i:05d}.{compression}.parquet", path.read_bytes())


def _queries(self) -> dict:
    with LOCK:
        return QUERIES.setdefault((self.current_account, self.region), {})


def _get(self, exec_id: str) -> "Query":
    query = _queries(self).get(exec_id)
    if query is None:
        raise KeyError(exec_id)
    return query


def _not_found(self, exec_id):
    return self.error(f"QueryExecution {exec_id} was not found", 400)


def start_query_execution(self):
    sql = self._get_param("QueryString")
    workgroup = self._get_param("WorkGroup") or "primary"
    if workgroup != "primary" and not self.athena_backend.get_work_group(workgroup):
        return self.error(f"WorkGroup {workgroup} is not found.", 400)
    token = self._get_param("ClientRequestToken")
    key = (self.current_account, self.region, token or "")
    with LOCK:
        if token and key in TOKENS:
            return json.dumps({"QueryExecutionId": TOKENS[key]})
        output = (self._get_param("ResultConfiguration") or {}).get("OutputLocation")
        q = Query(self.current_account, self.region, sql, self._get_param("ExecutionParameters") or [], workgroup, output)
        QUERIES.setdefault((q.account, q.region), {})[q.id] = q
        if token:
            TOKENS[key] = q.id
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
    responses.AthenaResponse.list_tags_for_resource = list_tags_for_resource
    responses.AthenaResponse.start_query_execution = start_query_execution
    responses.AthenaResponse.get_query_execution = get_query_execution
    responses.AthenaResponse.get_query_results = get_query_results
    responses.AthenaResponse.stop_query_execution = stop_query_execution
