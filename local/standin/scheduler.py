"""EventBridge Scheduler running one occurrence of a schedule, as its execution role.

moto 5.2.5 stores schedules and never runs them, so whether the schedule's
role may start the pipeline was never decided here. `fire` runs one
occurrence now (`POST /_snaplake/scheduler/fire`), as Scheduler invokes a
templated target:

- Scheduler assumes the schedule's execution role as `scheduler.amazonaws.com`,
  with `aws:SourceAccount` and `aws:SourceArn` the schedule group's ARN (the
  confused-deputy condition of the Scheduler guide's "Set up the execution
  role"). A role whose trust policy refuses that invokes nothing, and no
  dead-letter event is sent either: Scheduler sends it as the same role.
- The context attributes in the target's input (`<aws.scheduler.scheduled-time>`,
  `<aws.scheduler.schedule-arn>`, `<aws.scheduler.execution-id>`,
  `<aws.scheduler.attempt-number>`) are replaced in its raw text.
- The target is called as that role, so IAM decides: a Step Functions state
  machine gets StartExecution (the only target kind snaplake uses).
- A refused call sends a dead-letter event to the schedule's queue, as the
  role, with the target's input as body and the error in message attributes.

Not modelled (local/README.md): the clock (nothing fires on its own), the
retry policy (AWS retries throttling and server errors; every error here is
sent to the queue at once), flexible time windows, the schedule's KMS key.
"""

import datetime as dt
import uuid

from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.scheduler.models import scheduler_backends

from . import sessions
from .evaluation import log

SERVICE = "scheduler.amazonaws.com"


def fire(body: dict) -> dict:
    """Runs the schedule `body["name"]` (in `body.get("group", "default")`)
    for the occurrence `body["time"]` (ISO 8601, UTC)."""
    account = body.get("account_id", DEFAULT_ACCOUNT_ID)
    region = body.get("region", "us-east-1")
    group = body.get("group", "default")
    scheduled = dt.datetime.fromisoformat(body["time"].replace("Z", "+00:00")).astimezone(dt.timezone.utc)
    schedule = scheduler_backends[account][region].get_schedule(group, body["name"])
    if schedule.state != "ENABLED":
        return {"invoked": False, "reason": f"the schedule {schedule.arn} is {schedule.state}"}
    target = schedule.target
    if ":states:" not in target["Arn"] or ":stateMachine:" not in target["Arn"]:
        raise ValueError(f"the stand-in runs Step Functions targets only, not {target['Arn']}")
    invocation = str(uuid.uuid4())
    text = input_text(target.get("Input", ""), scheduled, schedule.arn, invocation)
    group_arn = f"arn:aws:scheduler:{region}:{account}:schedule-group/{group}"
    try:
        held = sessions.assume(account, region, target["RoleArn"], f"scheduler-{invocation}", duration=900,
                               service=SERVICE, source_arn=group_arn)
    except sessions.TrustRefused as exc:
        return {"invoked": False, "error_code": "AccessDenied", "error_message": str(exc), "dead_letter": None}
    as_role = (region, held.access_key_id, held.secret_access_key, held.session_token)
    try:
        started = sessions.client("stepfunctions", *as_role).start_execution(stateMachineArn=target["Arn"], input=text)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "?"), error.get("Message", "")
        log(f"standin: scheduler: {schedule.arn} could not start {target['Arn']} as {target['RoleArn']}: {code}: {message}")
        attributes = {"ERROR_CODE": code, "ERROR_MESSAGE": message, "RETRY_ATTEMPTS": "0", "INVOCATION_ID": invocation,
                      "SCHEDULE_ARN": schedule.arn, "SCHEDULED_TIME": _iso(scheduled), "TARGET_ARN": target["Arn"]}
        dead = _dead_letter(target.get("DeadLetterConfig", {}).get("Arn"), text, attributes, as_role)
        return {"invoked": False, "error_code": code, "error_message": message, "dead_letter": dead}
    return {"invoked": True, "execution_arn": started["executionArn"], "input": text}


def input_text(text: str, scheduled: dt.datetime, schedule_arn: str, invocation: str) -> str:
    """The target's input with Scheduler's context attributes replaced, in the raw text as Scheduler does."""
    for keyword, value in (("scheduled-time", _iso(scheduled)), ("schedule-arn", schedule_arn),
                           ("execution-id", invocation), ("attempt-number", "1")):
        text = text.replace(f"<aws.scheduler.{keyword}>", value)
    return text


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _dead_letter(queue_arn: str | None, text: str, attributes: dict, as_role: tuple) -> dict | None:
    """Sends the dead-letter event as the execution role; what the queue said."""
    if not queue_arn:
        return None
    account, name = queue_arn.split(":")[4], queue_arn.split(":")[5]
    sqs = sessions.client("sqs", *as_role)
    try:
        sqs.send_message(QueueUrl=f"{sqs.meta.endpoint_url}/{account}/{name}", MessageBody=text,
                         MessageAttributes={k: {"DataType": "String", "StringValue": v or "-"} for k, v in attributes.items()})
    except ClientError as exc:
        log(f"standin: scheduler: the dead-letter event to {queue_arn} was refused: {exc}")
        return {"queue": queue_arn, "sent": False, "error": str(exc)}
    return {"queue": queue_arn, "sent": True}
