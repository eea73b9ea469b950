"""Athena's SQL (engine v3, Trino) for the stand-in, run by DuckDB.

A query is parsed as Trino by sqlglot, checked where DuckDB would take what
Athena refuses, and written out as DuckDB SQL with Trino's meaning:

- a type name must be one of Trino's (`varchar`, `real`, `varbinary`,
  `integer` or `int`, ...): Hive's DDL names (`string`, `float`, `binary`,
  `struct`) fail with "Unknown type";
- `=`, `<>`, `<`, `<=`, `>`, `>=`, `IN` and `BETWEEN` refuse to compare text
  with a number, a boolean or a date/timestamp, and a boolean with a number
  (Trino has no implicit cast between them); column types are the Glue
  catalog's;
- `concat` and `||` are NULL when any argument is (sqlglot writes both as
  DuckDB's `||`), `/` of integers truncates, `to_hex(sha256(to_utf8(x)))` is
  uppercase hex;
- execution parameters are SQL literals bound to `?` in order;
- output columns are named as Trino names them: lower case, `_col<i>` for an
  unnamed expression;
- a table read at a point in time (`FOR VERSION AS OF`, `FOR TIMESTAMP AS
  OF`, Iceberg's time travel) is named apart (`TableRead.view`); the other
  `FOR ...` forms sqlglot parses are not Athena's and are refused.

`UNLOAD (SELECT ...) TO '...' WITH (...)` is Athena's, not Trino's: its
SELECT is parsed here and the rest is returned as written.
"""

import re
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.dialects.trino import Trino
from sqlglot.errors import ParseError, SqlglotError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

UNLOAD = re.compile(
    r"^\s*UNLOAD\s*\((?P<select>.*)\)\s*TO\s*'(?P<target>(?:[^']|'')*)'\s*WITH\s*\((?P<options>[^)]*)\)\s*;?\s*$",
    re.S | re.I,
)

# Trino's type registry (TypeRegistry: base types, parametric types, `int` as
# the one alias) and Athena's geospatial types.
TRINO_TYPES = frozenset({
    "boolean", "tinyint", "smallint", "integer", "int", "bigint", "real", "double", "decimal",
    "varchar", "char", "varbinary", "json", "date", "time", "timestamp", "interval",
    "array", "map", "row", "ipaddress", "uuid", "hyperloglog", "p4hyperloglog", "setdigest",
    "qdigest", "tdigest", "geometry", "sphericalgeography", "bingtile",
})

OPERATORS = {exp.EQ: "=", exp.NEQ: "<>", exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">="}


class QueryError(Exception):
    """A query Athena refuses; the message is Athena's StateChangeReason."""


class AthenaTrino(Trino):
    """Trino's dialect, remembering the token a type name was written with
    and where each comparison operator and `?` stands."""

    class Parser(Trino.Parser):
        def reset(self) -> None:
            super().reset()
            self._operators = []

        def _parse_types(self, *args, **kwargs):
            start = self._index
            node = super()._parse_types(*args, **kwargs)
            if isinstance(node, exp.DataType) and self._index > start:
                node.meta["written"] = self._tokens[start]
            return node

        def _match_set(self, types, advance=True):
            matched = super()._match_set(types, advance)
            if matched and advance and (types is self.COMPARISON or types is self.EQUALITY):
                self._operators.append(self._prev)
            return matched

        def _parse_placeholder(self):
            node = super()._parse_placeholder()
            if isinstance(node, exp.Placeholder):
                node.meta["offset"] = self._prev.start
            return node

        def _build_predicate(self, klass, this, expression, *args, **kwargs):
            node = super()._build_predicate(klass, this, expression, *args, **kwargs)
            if klass in OPERATORS and self._operators:
                node.meta["at"] = _position(self._operators.pop())
            return node


@dataclass
class Statement:
    tree: exp.Expr
    # UNLOAD's target and options (lower-cased keys, values unquoted)
    target: str | None = None
    options: dict = field(default_factory=dict)


def parse(sql: str, params: list[str]) -> Statement:
    """Parses one statement, checks its type names and binds its parameters."""
    unload = UNLOAD.match(sql)
    text = sql
    if unload:
        # blank out the wrapper so positions stay those of the whole query
        text = re.sub(r"[^\n]", " ", sql[:unload.start("select")]) + unload.group("select")
    try:
        trees = [t for t in sqlglot.parse(text, dialect=AthenaTrino) if t is not None]
    except ParseError as exc:
        error = exc.errors[0] if exc.errors else {}
        raise QueryError(f"SYNTAX_ERROR: line {error.get('line', 1)}:{error.get('col', 1)}: "
                         f"{error.get('description', exc)}") from None
    if len(trees) != 1:
        raise QueryError(f"SYNTAX_ERROR: a query is one statement, not {len(trees)}")
    tree = trees[0]
    if unload and not isinstance(tree, exp.Query):
        raise QueryError("SYNTAX_ERROR: UNLOAD takes a SELECT")
    _bind(tree, params)
    _check_type_names(tree)
    statement = Statement(tree)
    if unload:
        statement.target = unload.group("target").replace("''", "'")
        statement.options = {k.strip().lower(): v.strip().strip("'").lower() for k, v in
                             (o.split("=", 1) for o in unload.group("options").split(",") if "=" in o)}
    return statement


def _position(token) -> str:
    return f"line {token.line}:{token.col - len(token.text) + 1}"


def _bind(tree: exp.Expr, params: list[str]) -> None:
    placeholders = sorted((p for p in tree.find_all(exp.Placeholder) if not p.args.get("this")),
                          key=lambda p: p.meta.get("offset", 0))
    if len(placeholders) != len(params):
        raise QueryError(f"INVALID_PARAMETER_USAGE: Incorrect number of parameters: "
                         f"expected {len(placeholders)} but found {len(params)}")
    for placeholder, param in zip(placeholders, params):
        try:
            placeholder.replace(sqlglot.parse_one(param, dialect=AthenaTrino))
        except ParseError:
            raise QueryError(f"INVALID_PARAMETER_USAGE: execution parameter {param!r} is not an SQL literal") from None


def _check_type_names(tree: exp.Expr) -> None:
    for data_type in tree.find_all(exp.DataType):
        token = data_type.meta.get("written")
        name = token.text.lower().split()[0] if token is not None else ""
        if name and name not in TRINO_TYPES:
            raise QueryError(f"TYPE_MISMATCH: {_position(token)}: Unknown type: {name}")


@dataclass(frozen=True)
class TableRead:
    """One catalog table as a query reads it."""
    db: str
    table: str
    # The DuckDB view the query now names: the table's own name, or for a
    # point in time (`FOR VERSION AS OF` / `FOR TIMESTAMP AS OF`) a name of
    # its own, so one query can read two versions of a table.
    view: str
    # None (the current version), ("version", snapshot id or ref name) or
    # ("timestamp", the instant as DuckDB SQL)
    as_of: tuple | None = None


def tables(tree: exp.Expr, database: str) -> list[TableRead]:
    """The catalog tables a query reads; rewrites each reference to
    `"database"."view"` in lower case (the DuckDB view's name)."""
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    found: dict[tuple, TableRead] = {}
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier) or (not table.db and table.name.lower() in ctes):
            continue
        db, name = (table.db or database).lower(), table.name.lower()
        as_of = _as_of(table.args.get("version"))
        key = (db, name, as_of)
        if key not in found:
            view = name if as_of is None else f"{name} as of #{len(found)}"
            found[key] = TableRead(db, name, view, as_of)
        table.set("catalog", None)
        table.set("version", None)
        table.set("db", exp.to_identifier(db, quoted=True))
        table.set("this", exp.to_identifier(found[key].view, quoted=True))
    return sorted(found.values(), key=lambda r: (r.db, r.table, r.view))


def _as_of(version: exp.Expr | None) -> tuple | None:
    """Trino's time travel: `FOR VERSION AS OF <snapshot id or ref name>` or
    `FOR TIMESTAMP AS OF <instant>`; its other forms are not Trino's."""
    if version is None:
        return None
    kind, what = str(version.this).upper(), version.expression
    if version.text("kind").upper() != "AS OF" or kind not in ("VERSION", "TIMESTAMP"):
        raise QueryError(f"SYNTAX_ERROR: FOR {kind} {version.text('kind')} is not Athena's time travel; "
                         "write FOR VERSION AS OF <snapshot id> or FOR TIMESTAMP AS OF <timestamp with time zone>")
    if kind == "VERSION":
        if not isinstance(what, exp.Literal):
            raise QueryError("TYPE_MISMATCH: FOR VERSION AS OF takes a snapshot id (bigint) or a branch or tag name (varchar)")
        return ("version", what.this if what.is_string else int(what.this))
    return ("timestamp", what.sql(dialect="duckdb"))


def to_duckdb(tree: exp.Expr, columns: dict[tuple[str, str], list[tuple[str, str]]]) -> str:
    """Checks the query's comparisons and writes it as DuckDB SQL with Trino's
    meaning and output column names; `columns` maps each view (database,
    view, as `tables` names them) to its column names and Hive types."""
    _name_outputs(tree)
    schema: dict = {}
    for (db, table), cols in columns.items():
        schema.setdefault(db, {})[table] = {name.lower(): _hive_type(t) for name, t in cols}
    try:
        typed = annotate_types(qualify(tree.copy(), schema=schema, dialect=AthenaTrino, expand_stars=False,
                                       validate_qualify_columns=False), schema=schema, dialect=AthenaTrino)
    except SqlglotError:
        return tree.sql(dialect="duckdb")  # sqlglot cannot resolve it: DuckDB's binder has the last word
    _check_comparisons(typed)
    # typed: integer division stays integer division
    return typed.sql(dialect="duckdb")


def _name_outputs(tree: exp.Expr) -> None:
    select = tree
    while not isinstance(select, exp.Select):
        if not isinstance(select, (exp.SetOperation, exp.Subquery)):
            return
        select = select.this
    for i, projection in enumerate(list(select.expressions)):
        if isinstance(projection, exp.Star) or isinstance(projection.this, exp.Star):
            continue
        if isinstance(projection, exp.Column) and projection.name == projection.name.lower():
            continue  # DuckDB names it so too (and reports it best if it is unknown)
        if isinstance(projection, exp.Alias):
            name, value = projection.alias, projection.this
        else:
            name, value = (projection.name if isinstance(projection, exp.Column) else f"_col{i}"), projection
        projection.replace(exp.alias_(value.copy(), name.lower(), quoted=True))


def _check_comparisons(typed: exp.Expr) -> None:
    """Refuses comparisons Trino has no operator for."""
    for node in typed.find_all(*OPERATORS):
        if _clash(node.left, node.right):
            raise QueryError(f"TYPE_MISMATCH: {_at(node)}Cannot apply operator: "
                             f"{_name(node.left)} {OPERATORS[type(node)]} {_name(node.right)}")
    for node in typed.find_all(exp.In):
        if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
            continue
        common = node.this
        for item in node.expressions:
            if _clash(common, item):
                names = list(dict.fromkeys(_name(e) for e in [node.this, *node.expressions]))
                raise QueryError(
                    "TYPE_MISMATCH: IN value and list items must be the same type or coercible to a common type. "
                    f"Cannot find common type between {_name(common)} and {_name(item)}, "
                    f"all types (without duplicates): [{', '.join(names)}]")
            common = common if _family(common) else item
    for node in typed.find_all(exp.Between):
        value, low, high = node.this, node.args["low"], node.args["high"]
        if _clash(value, low) or _clash(value, high):
            raise QueryError(f"TYPE_MISMATCH: Cannot check if {_name(value)} is BETWEEN {_name(low)} and {_name(high)}")


def _hive_type(hive: str) -> exp.DataType:
    try:
        return exp.DataType.build(hive, dialect="hive")
    except SqlglotError:
        return exp.DataType.build("unknown")


def _family(node: exp.Expr) -> str | None:
    """What Trino can compare a value with: its own family only."""
    t = node.type
    if t is None or isinstance(node, (exp.All, exp.Any)):
        return None
    if t.is_type(*exp.DataType.TEXT_TYPES):
        return "text"
    if t.is_type(exp.DType.BOOLEAN):
        return "boolean"
    if t.is_type(*exp.DataType.NUMERIC_TYPES):
        return "number"
    if t.is_type(*exp.DataType.TEMPORAL_TYPES) and not t.is_type(exp.DType.TIME, exp.DType.TIMETZ):
        return "datetime"
    return None


def _clash(a: exp.Expr, b: exp.Expr) -> bool:
    fa, fb = _family(a), _family(b)
    return fa is not None and fb is not None and fa != fb


def _name(node: exp.Expr) -> str:
    """The type as Trino prints it: a string literal is varchar(<length>)."""
    if isinstance(node, exp.Literal) and node.is_string:
        return f"varchar({len(node.this)})"
    name = node.type.sql(dialect="trino").lower()
    return "timestamp(3)" if name == "timestamp" else name


def _at(node: exp.Expr) -> str:
    return f"{node.meta['at']}: " if "at" in node.meta else ""


def duckdb_type(hive: str) -> str:
    """DuckDB's name for a Glue (Hive DDL) column type."""
    return _hive_type(hive).sql(dialect="duckdb")
