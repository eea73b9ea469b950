"""RDS export tasks that behave like the real ones.

moto 5.2.5 records an export as lowercase `complete` at once and writes
nothing. Here an export moves STARTING -> IN_PROGRESS -> COMPLETE over a few
seconds (FAILED, or CANCELING -> CANCELED, where that applies), reports the
fields AWS reports, and on completion writes what RDS writes into the
stand-in's S3: Parquet parts of the sample database, `_SUCCESS` markers,
`export_info_<id>.json` and `export_tables_info_<id>_from_1_to_<n>.json`.

Faults are injected per export id (or "*" for every export) through the
control API (see control.py): fail the export, fail some tables, delay it,
skip tables (named in the task's WarningMessage, as RDS skips a table whose
column names it cannot export), export tables empty (no data file), or add a
database-level warning (an export_tables_info entry naming just the database,
and a `general` note in WarningMessage). The layout of the part files under a
table's folder is a setting: numbered sub-folders (the default), lettered ones
(as Aurora may write) or none (as older exports do). Whether RDS writes
`export_info` before or after the task turns COMPLETE is not documented: a
setting (`info_lead_seconds`) keeps the task IN_PROGRESS that long after the
file is written.

With IAM enforced, the export writes as RDS does: as the export role it was
given (`IamRoleArn`), each object encrypted with the export's key
(`KmsKeyId`), through the stand-in's own S3 endpoint, so the role's policy,
the bucket policy and the key policy decide every write. A write they refuse
fails the export with a cause naming the role, the object and the refusal.
(RDS uses the key through a grant the caller's credentials create; how RDS
then uses it is not documented, so the stand-in takes the stricter case: the
export role itself must be allowed to use the key.) An export role or a key
that does not exist is refused by StartExportTask (`IamRoleNotFound`,
`KMSKeyNotAccessibleFault`).
"""

import datetime as dt
import json
import os
import threading
import time
import uuid

from moto.core.utils import utcnow
from moto.rds import models as rds_models
from moto.rds import responses as rds_responses
from moto.rds.models import rds_backends
from moto.s3.models import s3_backends

from . import events, sampledb, sessions

LOCK = threading.RLock()

# Seconds from start to COMPLETE; tests shorten or lengthen it through the
# control API. The first fifth is STARTING.
DEFAULT_DURATION = float(os.environ.get("STANDIN_EXPORT_SECONDS", "3"))
settings = {"duration": DEFAULT_DURATION, "tables": None, "layout": "numbered", "info_lead": 0.0}
LAYOUTS = ("numbered", "lettered", "flat")
# export id (or "*") -> {"fail": str | None, "fail_tables": [..], "delay_seconds": float,
#                        "skip_tables": [..], "empty_tables": [..], "database_warning": str | None}
faults: dict[str, dict] = {}


def reset() -> None:
    with LOCK:
        faults.clear()
        settings["duration"] = DEFAULT_DURATION
        settings["tables"] = None
        settings["layout"] = "numbered"
        settings["info_lead"] = 0.0
        sampledb.EXTRA_COLUMNS.clear()
        sampledb.KEEP_FRACTION.clear()


def _now() -> dt.datetime:
    # moto keeps naive UTC datetimes; mixing in aware ones breaks its serializer.
    return utcnow()


_original_start = rds_models.RDSBackend.start_export_task
_original_cancel = rds_models.RDSBackend.cancel_export_task


def _refuse_missing_role_or_key(backend, kwargs) -> None:
    """StartExportTask refuses an export role or a KMS key that does not exist, as RDS does."""
    from moto.iam.models import iam_backends
    from moto.kms.models import kms_backends
    from moto.rds.exceptions import RDSClientError

    role_arn = kwargs.get("iam_role_arn") or ""
    roles = iam_backends[backend.account_id]["global"].roles.values()
    if not any(r.arn == role_arn for r in roles):
        raise RDSClientError("IamRoleNotFound", f"The IAM role {role_arn} does not exist; pass an existing export role.")
    key_id = kwargs.get("kms_key_id") or ""
    try:
        kms_backends[backend.account_id][backend.region_name].describe_key(key_id)
    except Exception:
        raise RDSClientError("KMSKeyNotAccessibleFault", f"The KMS key {key_id} does not exist or is not accessible.") from None


def start_export_task(self, kwargs):
    _refuse_missing_role_or_key(self, kwargs)
    task = _original_start(self, kwargs)
    with LOCK:
        fault = dict(faults.get(task.export_task_identifier) or faults.get("*") or {})
        now = _now()
        task.status = "STARTING"
        task.percent_progress = 0
        task.total_extracted_data_in_gb = 0
        task.task_start_time = now
        task.task_end_time = None
        task.snapshot_time = task.snapshot.created
        task.failure_cause = None
        task.warning_message = None
        task._started = time.monotonic()
        task._duration = settings["duration"] + float(fault.get("delay_seconds", 0))
        task._fault = fault
        task._table_count = settings["tables"]
        task._layout = settings["layout"]
        task._info_lead = settings["info_lead"]
        task._written = None
        if not _bucket_exists(task):
            task._fault["fail"] = (
                f"The S3 bucket {task.s3_bucket} doesn't exist or the export role cannot reach it."
            )
    return task


def cancel_export_task(self, export_task_identifier):
    task = _original_cancel(self, export_task_identifier)
    with LOCK:
        task.status = "CANCELING"
    return task


def advance(task) -> None:
    """Moves one task along its lifecycle according to the time elapsed."""
    with LOCK:
        if task.status in ("COMPLETE", "FAILED", "CANCELED"):
            return
        if task.status in ("CANCELING", "canceled"):
            _finish(task, "CANCELED")
            return
        elapsed = time.monotonic() - task._started
        fraction = min(1.0, elapsed / max(task._duration, 0.001))
        if task._fault.get("fail") and fraction >= 0.3:
            task.failure_cause = task._fault["fail"]
            _finish(task, "FAILED")
        elif fraction < 0.2:
            task.status = "STARTING"
        elif fraction < 1.0:
            task.status = "IN_PROGRESS"
            task.percent_progress = int(fraction * 100)
        else:
            if getattr(task, "_written", None) is None:
                try:
                    _write_export(task)
                except ExportWriteDenied as denied:
                    task.failure_cause = str(denied)
                    _finish(task, "FAILED")
                    return
                task._written = time.monotonic()
            # AWS does not document whether the status turns COMPLETE before
            # or after export_info is written: with a lead, after.
            if time.monotonic() - task._written < task._info_lead:
                task.status = "IN_PROGRESS"
                task.percent_progress = 99
                return
            _finish(task, "COMPLETE")
            task.percent_progress = 100


def _finish(task, status: str) -> None:
    task.status = status
    task.task_end_time = _now()
    events.rds_export_ended(task)


def advance_all() -> None:
    for account in list(rds_backends.values()):
        for backend in list(account.values()):
            for task in list(backend.export_tasks.values()):
                advance(task)


def ticker(interval: float = 0.2) -> None:
    """Advances exports nobody polls, so S3 events fire as they would on AWS."""
    while True:
        time.sleep(interval)
        try:
            advance_all()
        except Exception as exc:  # keep ticking; the error shows in the log
            print(f"standin: export ticker: {exc!r}", flush=True)


def _s3(task):
    return s3_backends[task.backend.account_id][task.backend.partition]


def _bucket_exists(task) -> bool:
    try:
        _s3(task).get_bucket(task.s3_bucket)
        return True
    except Exception:
        return False


def _tables(task) -> list[str]:
    """Tables in the export: all of the sample database, or ExportOnly's."""
    only = task.export_only or []
    names = []
    for table in sampledb.table_names(task._table_count):
        qualified = f"{sampledb.DATABASE}.{table}"
        if not only or sampledb.DATABASE in only or qualified in only:
            names.append(table)
    return names


def _part_folder(table_folder: str, layout: str, n: int) -> str:
    """Where part `n` (from 1) of a table goes under the table's folder."""
    if layout == "flat":
        return table_folder
    return f"{table_folder}/{chr(ord('a') + n - 1) if layout == 'lettered' else n}"


class ExportWriteDenied(Exception):
    """The export role may not write an object of the export."""


class _RoleWriter:
    """Puts the export's objects as the export role, with the export's key."""

    def __init__(self, task):
        region = task.backend.region_name
        held = sessions.assume(task.backend.account_id, region, task.iam_role_arn, "rds-export", duration=3600,
                               service="export.rds.amazonaws.com")
        self.client = sessions.client("s3", region, held.access_key_id, held.secret_access_key, held.session_token)
        self.task = task

    def put_object(self, bucket: str, key: str, body: bytes) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.put_object(Bucket=bucket, Key=key, Body=body, ServerSideEncryption="aws:kms",
                                   SSEKMSKeyId=self.task.kms_key_id)
        except ClientError as e:
            raise ExportWriteDenied(
                f"The export role {self.task.iam_role_arn} could not write s3://{bucket}/{key}: "
                f"{e.response['Error'].get('Code')}: {e.response['Error'].get('Message')}") from None


def _writer(task):
    from . import iam

    return _RoleWriter(task) if iam.enforcing() else _s3(task)


def _write_export(task) -> None:
    s3 = _writer(task)
    export_id = task.export_task_identifier
    base = "/".join(p for p in [task.s3_prefix.strip("/"), export_id] if p)
    snapshot_time = task.snapshot_time  # naive UTC, as moto keeps it
    failed = set(task._fault.get("fail_tables") or [])
    skipped = set(task._fault.get("skip_tables") or [])
    empty = set(task._fault.get("empty_tables") or [])
    statuses, total_bytes, skipped_tables = [], 0, []
    for table in _tables(task):
        target = f"{sampledb.DATABASE}.{table}"
        if target in skipped:
            skipped_tables.append({"target": target, "reason": "COLUMN_WITH_UNSUPPORTED_CHARACTER_IN_NAME"})
            continue
        if target in failed:
            statuses.append({"target": target, "status": "FAILED", "sizeGB": 0,
                             "warningMessage": "Table export failed (injected by the stand-in)."})
            continue
        size = 0
        table_folder = f"{base}/{sampledb.DATABASE}/{target}"
        parts = [] if target in empty else sampledb.parquet_parts(table, snapshot_time)
        for n, part in enumerate(parts, start=1):
            folder = _part_folder(table_folder, task._layout, n)
            name = uuid.uuid5(uuid.NAMESPACE_URL, f"{export_id}/{target}/{n}")
            number = n - 1 if task._layout == "flat" else 0  # parts in one folder are numbered
            s3.put_object(task.s3_bucket, f"{folder}/part-{number:05d}-{name}-c000.gz.parquet", part)
            s3.put_object(task.s3_bucket, f"{folder}/_SUCCESS", b"")
            size += len(part)
        total_bytes += size
        statuses.append({
            "TableStatistics": {"ExtractionType": "SINGLE"},
            "schemaMetadata": {"originalTypeMappings": sampledb.type_mappings(table)},
            "status": "COMPLETE",
            "sizeGB": size / 2**30,
            "target": target,
        })
    database_warning = task._fault.get("database_warning")
    if database_warning:
        statuses.insert(0, {"target": sampledb.DATABASE, "warningMessage": database_warning})
    if skipped_tables or database_warning:
        task.warning_message = json.dumps({
            "skippedTables": skipped_tables,
            "skippedObjectives": [],
            "general": [{"reason": database_warning}] if database_warning else [],
        })
    task.total_extracted_data_in_gb = round(total_bytes / 2**30, 6)
    n = len(statuses)
    s3.put_object(
        task.s3_bucket,
        f"{base}/export_tables_info_{export_id}_from_1_to_{n}.json",
        json.dumps({"perTableStatus": statuses}, indent=1).encode(),
    )
    # export_info last: on AWS its ObjectCreated event means "the export is done".
    info = {
        "exportTaskIdentifier": export_id,
        "sourceArn": task.source_arn,
        "exportOnly": list(task.export_only or []),
        "snapshotTime": task.snapshot_time.isoformat() + "Z",
        "taskStartTime": task.task_start_time.isoformat() + "Z",
        "taskEndTime": _now().isoformat() + "Z",
        "s3Bucket": task.s3_bucket,
        "s3Prefix": task.s3_prefix,
        "exportedFilesPath": base,
        "iamRoleArn": task.iam_role_arn,
        "kmsKeyId": task.kms_key_id,
        "status": "COMPLETE",
        "percentProgress": 100,
        "totalExportedDataInGB": task.total_extracted_data_in_gb,
    }
    s3.put_object(task.s3_bucket, f"{base}/export_info_{export_id}.json", json.dumps(info, indent=1).encode())


def _matches(task, filters: dict[str, list[str]]) -> bool:
    fields = {
        "export-task-identifier": task.export_task_identifier,
        "source-arn": task.source_arn,
        "s3-bucket": task.s3_bucket,
        "status": task.status,
    }
    return all(fields.get(name) in values or (name == "status" and fields[name].lower() in
                                              [v.lower() for v in values]) for name, values in filters.items())


_original_describe_response = rds_responses.RDSResponse.describe_export_tasks


def describe_export_tasks_response(self):
    """DescribeExportTasks with the SourceArn parameter and Filters moto ignores."""
    from moto.core.responses import ActionResult

    identifier = self.params.get("ExportTaskIdentifier")
    tasks = list(self.backend.describe_export_tasks(identifier))
    filters = {f["Name"]: f.get("Values", []) for f in self.params.get("Filters", []) or []}
    if self.params.get("SourceArn"):
        filters["source-arn"] = [self.params["SourceArn"]]
    for task in tasks:
        advance(task)
    return ActionResult({"ExportTasks": [t for t in tasks if _matches(t, filters)]})


def install() -> None:
    rds_models.RDSBackend.start_export_task = start_export_task
    rds_models.RDSBackend.cancel_export_task = cancel_export_task
    rds_responses.RDSResponse.describe_export_tasks = describe_export_tasks_response
    threading.Thread(target=ticker, name="export-ticker", daemon=True).start()
