"""The sample Aurora MySQL database the stand-in "exports".

A small shop: customers (personal data to mask), orders (one table RDS splits
over two numbered folders) and articles (drafts to filter out). Rows are a pure
function of the snapshot time: nothing depends on the wall clock, and rows
created after the snapshot are not in it, so two days differ the way two real
snapshots do.

Types follow what RDS writes for MySQL (USER_ExportSnapshot.data-types):
BIGINT -> INT64, INT/TINYINT -> INT32, DECIMAL(p<=9) -> INT32 DECIMAL,
DECIMAL(p<=18) -> INT64 DECIMAL, VARCHAR/CHAR/TEXT -> BYTE_ARRAY STRING,
DATE -> INT32 DATE, DATETIME -> INT64 TIMESTAMP(MICROS). The customers table is
written with INT96 timestamps (as older exports are), so a reader of these
files meets both physical forms.
"""

import datetime as dt
import decimal
import io
import random

import pyarrow as pa
import pyarrow.parquet as pq

DATABASE = "shop"

# column name, MySQL type as RDS reports it, Arrow type. RDS writes every
# column as optional, NOT NULL or not.
TABLES = {
    "customers": [
        ("id", "bigint", pa.int64()),
        ("email", "varchar(255)", pa.string()),
        ("phone", "varchar(32)", pa.string()),
        ("full_name", "varchar(128)", pa.string()),
        ("country", "char(2)", pa.string()),
        ("is_active", "tinyint(1)", pa.int32()),
        ("birth_date", "date", pa.date32()),
        ("credit_limit", "decimal(12,2)", pa.decimal128(12, 2)),
        ("created_at", "datetime", pa.timestamp("us")),
    ],
    "orders": [
        ("id", "bigint", pa.int64()),
        ("customer_id", "bigint", pa.int64()),
        ("status", "varchar(16)", pa.string()),
        ("total", "decimal(10,2)", pa.decimal128(10, 2)),
        ("discount_rate", "decimal(5,4)", pa.decimal128(5, 4)),
        ("item_count", "int", pa.int32()),
        ("ordered_at", "datetime", pa.timestamp("us")),
        ("shipped_on", "date", pa.date32()),
    ],
    "articles": [
        ("id", "bigint", pa.int64()),
        ("author_email", "varchar(255)", pa.string()),
        ("title", "varchar(200)", pa.string()),
        ("body", "text", pa.string()),
        ("status", "varchar(16)", pa.string()),
        ("is_featured", "tinyint(1)", pa.int32()),
        ("view_count", "int", pa.int32()),
        ("published_at", "datetime", pa.timestamp("us")),
    ],
}

# Tables whose rows RDS splits over numbered folders 1/ and 2/.
SPLIT_TABLES = {"orders"}
INT96_TABLES = {"customers"}

FIRST_NAMES = ["Aiko", "Ben", "Chloe", "Daichi", "Emma", "Felix", "Gina", "Haruto", "Ines", "Jun"]
LAST_NAMES = ["Sato", "Smith", "Tanaka", "Garcia", "Suzuki", "Muller", "Ito", "Rossi", "Kato", "Dubois"]
COUNTRIES = ["JP", "US", "DE", "FR", "IT", "ES"]
ORDER_STATUSES = ["pending", "paid", "shipped", "cancelled"]
EPOCH = dt.datetime(2025, 1, 1)
CUSTOMERS = 200
ORDERS = 450
ARTICLES = 60


def _at(rng: random.Random, days: int) -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=rng.randrange(days * 86400))


def _customers(rng):
    for i in range(1, CUSTOMERS + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        yield {
            "id": i,
            "email": f"{first.lower()}.{last.lower()}{i}@example.com",
            "phone": None if i % 7 == 0 else f"+81-90-{rng.randrange(10**4):04d}-{rng.randrange(10**4):04d}",
            "full_name": f"{first} {last}",
            "country": rng.choice(COUNTRIES),
            "is_active": 0 if i % 11 == 0 else 1,
            "birth_date": None if i % 13 == 0 else dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(15000)),
            "credit_limit": decimal.Decimal(rng.randrange(0, 5_000_000)) / 100,
            "created_at": _at(rng, 700),
        }


def _orders(rng):
    for i in range(1, ORDERS + 1):
        ordered_at = _at(rng, 730)
        status = rng.choice(ORDER_STATUSES)
        yield {
            "id": 10_000 + i,
            "customer_id": rng.randrange(1, CUSTOMERS + 1),
            "status": status,
            "total": decimal.Decimal(rng.randrange(500, 2_000_000)) / 100,
            "discount_rate": decimal.Decimal(rng.choice([0, 500, 1000, 1500])) / 10000,
            "item_count": rng.randrange(1, 12),
            "ordered_at": ordered_at,
            "shipped_on": (ordered_at + dt.timedelta(days=2)).date() if status == "shipped" else None,
        }


def _articles(rng):
    for i in range(1, ARTICLES + 1):
        published = i % 3 != 0
        created = _at(rng, 700)
        yield {
            "id": i,
            "author_email": f"writer{i % 5}@example.com",
            "title": f"Article {i}: notes on {rng.choice(['tea', 'trains', 'data', 'snow'])}",
            "body": f"Body of article {i}. " * rng.randrange(3, 30),
            "status": "published" if published else "draft",
            "is_featured": 1 if i % 10 == 0 else 0,
            "view_count": rng.randrange(0, 100_000) if published else 0,
            "published_at": created if published else None,
        }


# Copies of this table make a database of any width (table_names).
COPIED_TABLE = "articles"
# Enough for the scale runs of `make bench` (a schema of thousands of tables).
MAX_TABLES = 10_000


def table_names(count: int | None = None) -> list[str]:
    """The tables of the database: the three above, or `count` tables for the
    benchmarks' cost of a run: the first `count` of them, then copies of
    articles named articles_0004, articles_0005, ..."""
    names = list(TABLES)
    if count is None:
        return names
    copies = [f"{COPIED_TABLE}_{n:04}" for n in range(len(names) + 1, count + 1)]
    return (names + copies)[:count]


def base(table: str) -> str:
    """The table a copy is made from ("articles_0004" -> "articles")."""
    return table if table in TABLES else table.rsplit("_", 1)[0]


GENERATORS = {"customers": _customers, "orders": _orders, "articles": _articles}
# Columns added in production since the policy was written (schema drift):
# table -> names, set through the control API (`extra_columns`). Each holds
# text that must never reach analysts (`secret-<id>`).
EXTRA_COLUMNS: dict[str, list[str]] = {}


# The share of each table's rows an export holds (a source that shrank, for
# the quality gate): table -> 0..1, set through the control API (`keep_fraction`).
KEEP_FRACTION: dict[str, float] = {}


def columns(table: str) -> list[tuple[str, str, pa.DataType]]:
    table = base(table)
    return TABLES[table] + [(name, "varchar(64)", pa.string()) for name in EXTRA_COLUMNS.get(table, [])]


# The column whose time decides whether a row exists at the snapshot time.
CREATED_COLUMN = {"customers": "created_at", "orders": "ordered_at", "articles": None}


def rows(table: str, snapshot_time: dt.datetime) -> list[dict]:
    """The rows of `table` as of `snapshot_time` (naive UTC)."""
    table = base(table)
    rng = random.Random(f"snaplake-sample-{table}")
    column = CREATED_COLUMN[table]
    out = [r for r in GENERATORS[table](rng) if column is None or r[column] <= snapshot_time]
    if table in KEEP_FRACTION:
        out = out[: int(len(out) * KEEP_FRACTION[table])]
    for name in EXTRA_COLUMNS.get(table, []):
        for r in out:
            r[name] = f"secret-{r['id']}"
    return out


def schema(table: str) -> pa.Schema:
    table = base(table)
    return pa.schema([pa.field(name, arrow, nullable=True) for name, _, arrow in columns(table)])


def parquet_parts(table: str, snapshot_time: dt.datetime) -> list[bytes]:
    """The table as one Parquet file per numbered folder, written as RDS writes them."""
    table = base(table)
    data = rows(table, snapshot_time)
    chunks = [data[: len(data) // 2], data[len(data) // 2 :]] if table in SPLIT_TABLES else [data]
    return [_parquet(table, chunk) for chunk in chunks]


def _parquet(table: str, chunk: list[dict]) -> bytes:
    arrow = pa.Table.from_pylist(chunk, schema=schema(table))
    out = io.BytesIO()
    pq.write_table(
        arrow,
        out,
        compression="gzip",
        store_decimal_as_integer=True,
        use_deprecated_int96_timestamps=table in INT96_TABLES,
    )
    return out.getvalue()


def type_mappings(table: str) -> list[dict]:
    """`schemaMetadata.originalTypeMappings` as export_tables_info reports it."""
    table = base(table)
    out = []
    for name, mysql, arrow in columns(table):
        precision = arrow.precision if pa.types.is_decimal(arrow) else 0
        out.append(
            {
                "columnName": name,
                "originalType": mysql.split("(")[0],
                "expectedExportedType": _exported_type(table, arrow),
                "originalCharMaxLength": int(mysql.split("(")[1].rstrip(")")) if mysql.startswith(("varchar", "char")) else 0,
                "originalNumPrecision": precision,
                "originalDateTimePrecision": 0,
            }
        )
    return out


def _exported_type(table: str, arrow: pa.DataType) -> str:
    if pa.types.is_int64(arrow):
        return "int64"
    if pa.types.is_int32(arrow):
        return "int32"
    if pa.types.is_decimal(arrow):
        return "int32" if arrow.precision <= 9 else "int64"
    if pa.types.is_date(arrow):
        return "int32"
    if pa.types.is_timestamp(arrow):
        return "int96" if table in INT96_TABLES else "int64"
    return "binary (UTF8)"
