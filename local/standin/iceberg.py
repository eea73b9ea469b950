"""Athena's reads of Apache Iceberg tables, for the stand-in.

A Glue table whose `table_type` parameter is `ICEBERG` (any case) is an
Iceberg table: Athena reads it from the metadata file its
`metadata_location` parameter names, not from the storage descriptor. Here:

- the metadata, manifest lists and manifests are read by pyiceberg (a
  reader nobody on the team wrote), through a read-only FileIO over the
  stand-in's S3 (as the caller when IAM is enforced, as Athena reads);
- the snapshot read is the current one, or the one `FOR VERSION AS OF`
  names (a snapshot id, or a branch or tag), or the one that was current at
  `FOR TIMESTAMP AS OF` (the snapshot log), with Trino's errors when there
  is none; a time-travel read uses that snapshot's schema;
- each data file's columns are matched to the schema's fields by field id.
  A file without field ids (as Athena's UNLOAD writes them) is matched by
  the table's name mapping (`schema.name-mapping.default`), and a field
  neither finds reads as NULL: the spec's column projection rules
  ("Column Projection" in the Iceberg table spec), which is what Trino's
  Iceberg connector does;
- the table has no rows without a current snapshot.

Not modelled, and refused with NOT_SUPPORTED rather than read wrongly:
delete files (row-level deletes), data files in a format other than
Parquet, nested columns. Partition values are not filled in from metadata
(snaplake's tables are not partitioned).
"""

import io
from dataclasses import dataclass
from datetime import datetime, timezone

from pyiceberg.catalog.noop import NoopCatalog
from pyiceberg.io import FileIO, InputFile, OutputFile
from pyiceberg.serializers import FromInputFile
from pyiceberg.table import StaticTable
from pyiceberg.types import PrimitiveType

from .athena_sql import QueryError, duckdb_type


def is_iceberg(parameters: dict) -> bool:
    return str(parameters.get("table_type", "")).upper() == "ICEBERG"


class _InputFile(InputFile):
    def __init__(self, location: str, read):
        super().__init__(location)
        self._read, self._body = read, None

    def _bytes(self) -> bytes:
        if self._body is None:
            self._body = self._read(self.location)
        return self._body

    def __len__(self) -> int:
        return len(self._bytes())

    def exists(self) -> bool:
        try:
            self._bytes()
            return True
        except QueryError:
            return False

    def open(self, seekable: bool = True):
        return io.BytesIO(self._bytes())


class ReadOnlyIO(FileIO):
    """pyiceberg's FileIO over a function `read(s3 uri) -> bytes`."""

    def __init__(self, read):
        super().__init__({})
        self._read = read

    def new_input(self, location: str) -> InputFile:
        return _InputFile(location, self._read)

    def new_output(self, location: str) -> OutputFile:
        raise QueryError(f"NOT_SUPPORTED: the stand-in's Athena only reads Iceberg tables (asked to write {location})")

    def delete(self, location) -> None:
        raise QueryError(f"NOT_SUPPORTED: the stand-in's Athena only reads Iceberg tables (asked to delete {location})")


# Iceberg's primitive types as Glue (Hive) names, for the query's type checks.
HIVE = {"boolean": "boolean", "int": "int", "long": "bigint", "float": "float", "double": "double",
        "date": "date", "time": "string", "timestamp": "timestamp", "timestamptz": "timestamp",
        "timestamp_ns": "timestamp", "timestamptz_ns": "timestamp", "string": "string", "uuid": "string",
        "binary": "binary"}


@dataclass
class Field:
    id: int
    name: str
    hive: str    # the type as Glue names it (the query's type checks)
    duckdb: str  # the type the view casts to
    names: list  # what a data file without field ids may call it (the name mapping)


@dataclass
class Read:
    """What a query reads of an Iceberg table: its fields and data files."""
    fields: list[Field]
    files: list[tuple[str, int]]  # (s3 uri, size in bytes)


def _field(field, mapping) -> Field:
    if not isinstance(field.field_type, PrimitiveType):
        raise QueryError(f"NOT_SUPPORTED: the stand-in reads Iceberg tables of flat columns; {field.name} is {field.field_type}")
    name = str(field.field_type)
    if name.startswith("decimal"):
        hive = name.replace(" ", "")
    elif name.startswith("fixed"):
        hive = "binary"
    elif name in HIVE:
        hive = HIVE[name]
    else:
        raise QueryError(f"NOT_SUPPORTED: the stand-in does not read Iceberg's {name} type ({field.name})")
    duck = "TIMESTAMPTZ" if name.startswith("timestamptz") else duckdb_type(hive)
    names = []
    if mapping is not None:
        names = next((list(m.names) for m in mapping if m.field_id == field.field_id), [])
    return Field(field.field_id, field.name.lower(), hive, duck, names)


def resolve(db: str, table: str, parameters: dict, as_of, read, now_ms: int) -> Read:
    """The fields and data files of `db.table` at `as_of` (see
    `athena_sql.TableRead`; a timestamp already in epoch milliseconds)."""
    location = parameters.get("metadata_location")
    if not location:
        raise QueryError(f"ICEBERG_INVALID_METADATA: Table is missing [metadata_location] property: {db}.{table}")
    fileio = ReadOnlyIO(read)
    metadata = FromInputFile.table_metadata(fileio.new_input(location))
    iceberg = StaticTable(identifier=(db, table), metadata=metadata, metadata_location=location, io=fileio,
                          catalog=NoopCatalog(db))
    snapshot = _snapshot(iceberg, db, table, as_of, now_ms)
    schema = iceberg.schema()
    if as_of is not None and snapshot is not None and snapshot.schema_id is not None:
        schema = iceberg.schemas().get(snapshot.schema_id, schema)
    mapping = iceberg.name_mapping()
    fields = [_field(f, mapping) for f in schema.fields]
    files = []
    if snapshot is not None:
        for task in iceberg.scan(snapshot_id=snapshot.snapshot_id).plan_files():
            data = task.file
            if task.delete_files:
                raise QueryError(f"NOT_SUPPORTED: the stand-in does not apply Iceberg delete files ({db}.{table}, "
                                 f"{len(task.delete_files)} for {data.file_path})")
            if str(data.file_format).upper().rsplit(".", 1)[-1] != "PARQUET":
                raise QueryError(f"NOT_SUPPORTED: the stand-in reads Parquet data files only, not {data.file_format} "
                                 f"({data.file_path})")
            files.append((data.file_path, data.file_size_in_bytes))
    return Read(fields, files)


def _snapshot(iceberg: StaticTable, db: str, table: str, as_of, now_ms: int):
    if as_of is None:
        return iceberg.current_snapshot()
    kind, value = as_of
    if kind == "version":
        found = iceberg.snapshot_by_name(value) if isinstance(value, str) else iceberg.snapshot_by_id(value)
        if found is None:
            raise QueryError(f"INVALID_ARGUMENT: Cannot find snapshot with reference name: {value}"
                             if isinstance(value, str) else f"INVALID_ARGUMENT: Iceberg snapshot ID does not exists: {value}")
        return found
    instant = datetime.fromtimestamp(value / 1000, tz=timezone.utc).isoformat().replace("+00:00", "Z")
    if value > now_ms:
        raise QueryError(f"INVALID_ARGUMENT: Pointer in time is in the future: {instant}")
    found = iceberg.snapshot_as_of_timestamp(value)
    if found is None:
        raise QueryError(f'INVALID_ARGUMENT: No version history table "{db}"."{table}" at or before {instant}')
    return found


def view(con, read: Read, paths: list[str]) -> str:
    """The SELECT of a DuckDB view over the data files (downloaded to
    `paths`, in `read.files`' order), one column per field."""
    if not paths:
        return "SELECT " + ", ".join(f"CAST(NULL AS {f.duckdb}) AS {_quote(f.name)}" for f in read.fields) + " WHERE false"
    parts = []
    for path in paths:
        # parquet_schema lists the root, then (for flat files) one row per column
        rows = con.execute("SELECT name, field_id, num_children FROM parquet_schema(?)", [path]).fetchall()[1:]
        if any(children for _, _, children in rows):
            raise QueryError(f"NOT_SUPPORTED: the stand-in reads Iceberg data files of flat columns only ({path})")
        by_id = {field_id: name for name, field_id, _ in rows if field_id is not None}
        present = [name for name, _, _ in rows]
        columns = []
        for f in read.fields:
            source = by_id.get(f.id) if by_id else next((n for n in f.names if n in present), None)
            value = "NULL" if source is None else _quote(source)
            columns.append(f"CAST({value} AS {f.duckdb}) AS {_quote(f.name)}")
        parts.append(f"SELECT {', '.join(columns)} FROM read_parquet('{path}')")
    return " UNION ALL ".join(parts)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
