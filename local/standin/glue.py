"""Glue's optimistic lock, and BatchDeleteTableVersion.

moto 5.2.5 returns a table's VersionId but ignores the VersionId given to
UpdateTable, so two concurrent swaps both "win". AWS refuses an update whose
VersionId is not the table's current one with ConcurrentModificationException;
snaplake relies on that to never lose a swap. Updates are serialised so the
check and the write happen as one step, as on AWS.

moto 5.2.5 answers GetTables with every table of the database in one
response and ignores MaxResults and NextToken. AWS returns at most 100 tables
a page (MaxResults is 1 to 100) and a NextToken while more remain; snaplake
pages through them, and a catalog-swap batch budgets its pages
(`catalog/ops/read_ahead.rs`), so the stand-in pages as AWS does.

moto 5.2.5 has no BatchDeleteTableVersion, which retention uses; as on AWS
it takes at most 100 version ids and reports the ones it could not delete.

Faults (control API `POST /_snaplake/glue/faults`): CreateTable and
UpdateTable of a named table fail with an error code and message, as AWS
would refuse them (e.g. AccessDeniedException); so does PostLineageEvent of
a valid event naming that Glue table among its datasets (`lineage.py`). "*"
for the database or the table matches any (for PostLineageEvent, also an
event naming no Glue table); `times` makes a fault fail that many calls only.
InternalServiceException is answered with status 500, other codes with 400.
"""

import json
import threading

from moto.core.responses import ActionResult, EmptyResult
from moto.glue import responses
from moto.glue.exceptions import GlueClientError, InvalidInputException

LOCK = threading.Lock()
# {"database": .., "table": .., "operations": [..], "code": .., "fail": ..}
faults: list[dict] = []
_original_create_table = responses.GlueResponse.create_table


def reset() -> None:
    with LOCK:
        faults.clear()


# Glue's errors that AWS answers with a 5xx status (the API reference: InternalServiceException is 500).
SERVER_ERRORS = {"InternalServiceException": 500}


def _matches(fault: dict, operation: str, database, table) -> bool:
    return (operation in fault["operations"] and fault["database"] in ("*", database)
            and fault["table"] in ("*", table))


def _fail(fault: dict) -> None:
    """Called under LOCK: count the fault's use and raise its error."""
    if "times" in fault:
        fault["times"] -= 1
        if fault["times"] <= 0:
            faults.remove(fault)
    error = GlueClientError(fault["code"], fault["fail"])
    error.code = SERVER_ERRORS.get(fault["code"], 400)
    raise error


def _check_fault(operation: str, database: str, table: str) -> None:
    with LOCK:
        for fault in faults:
            if _matches(fault, operation, database, table):
                _fail(fault)


def check_lineage_fault(tables: list[tuple[str, str]]) -> None:
    """PostLineageEvent of an event naming these Glue tables (database, table)."""
    with LOCK:
        for fault in faults:
            if any(_matches(fault, "PostLineageEvent", d, t) for d, t in tables or [(None, None)]):
                _fail(fault)


def create_table(self):
    _check_fault("CreateTable", self.parameters.get("DatabaseName"), (self.parameters.get("TableInput") or {}).get("Name"))
    return _original_create_table(self)


class ConcurrentModificationException(GlueClientError):
    def __init__(self, message: str):
        super().__init__("ConcurrentModificationException", message)


def update_table(self):
    database_name = self.parameters.get("DatabaseName")
    table_input = self.parameters.get("TableInput")
    version_id = self.parameters.get("VersionId")
    _check_fault("UpdateTable", database_name, table_input["Name"])
    with LOCK:
        table = self.glue_backend.get_table(database_name, table_input["Name"])
        current = str(table._current_version)
        if version_id is not None and str(version_id) != current:
            raise ConcurrentModificationException(
                f"Table {database_name}.{table_input['Name']} was modified: "
                f"version {version_id} is not the current version {current}"
            )
        self.glue_backend.update_table(database_name, table_input["Name"], table_input)
    return EmptyResult()


TABLES_PAGE = 100


def get_tables(self):
    database_name = self.parameters.get("DatabaseName")
    max_results = self.parameters.get("MaxResults")
    if max_results is not None and not 1 <= int(max_results) <= TABLES_PAGE:
        raise InvalidInputException("GetTables", f"MaxResults is {max_results}; it is 1 to {TABLES_PAGE}")
    size = int(max_results or TABLES_PAGE)
    token = self.parameters.get("NextToken")
    start = 0
    if token:
        if not token.isdigit():
            raise InvalidInputException("GetTables", "NextToken is not one this database gave")
        start = int(token)
    tables = self.glue_backend.get_tables(database_name, self.parameters.get("Expression"))
    page = [table.as_dict() for table in tables[start:start + size]]
    body = {"TableList": page}
    if start + size < len(tables):
        body["NextToken"] = str(start + size)
    return ActionResult(body)


def batch_delete_table_version(self):
    database_name = self.parameters.get("DatabaseName")
    table_name = self.parameters.get("TableName")
    version_ids = self.parameters.get("VersionIds") or []
    if len(version_ids) > 100:
        raise InvalidInputException("BatchDeleteTableVersion", "VersionIds holds at most 100 ids")
    errors = []
    with LOCK:
        table = self.glue_backend.get_table(database_name, table_name)
        for version_id in version_ids:
            if str(version_id) == str(table._current_version) or str(version_id) not in table.versions:
                errors.append(
                    {
                        "TableName": table_name,
                        "VersionId": version_id,
                        "ErrorDetail": {"ErrorCode": "InvalidInputException", "ErrorMessage": "cannot delete"},
                    }
                )
            else:
                table.delete_version(str(version_id))
    return json.dumps({"Errors": errors})


def install() -> None:
    responses.GlueResponse.create_table = create_table
    responses.GlueResponse.update_table = update_table
    responses.GlueResponse.get_tables = get_tables
    responses.GlueResponse.batch_delete_table_version = batch_delete_table_version
