"""Step Functions fixes for answering task tokens.

moto 5.2.5:
- SendTaskFailure drops the `cause` parameter, so an execution failed through
  a task token loses the reason (snaplake puts the export's FailureCause
  there, and the failure notification reads it);
- SendTaskFailure accepts a token whose execution has already ended, where
  AWS answers InvalidToken or TaskTimedOut (SendTaskSuccess gets this right);
- a Distributed Map's child workflow executions keep no history (moto gives
  each map run a throw-away event log), so what they cost is invisible. Here
  every history event the engine writes, children's included, is counted by
  type (GET /_snaplake/calls shows them as "states:<type>");
- an execution started without a name (as EventBridge Scheduler's templated
  target starts them) is named `None`, so a second unnamed start is taken
  for a retry of the first or refused with ExecutionAlreadyExists; AWS
  names each one with a fresh UUID, and so does the stand-in;
- `States.ALL` catches every error, where AWS's catches neither
  `States.DataLimitExceeded` (a state's input or output over 256 KiB) nor
  `States.Runtime`: both end the execution whatever its Catch says, so a
  definition that hits them would seem to recover here and die on AWS;
- a Distributed Map's `ResultWriter` writes a manifest listing no result
  files (moto's TODO), so a step that reads the children's results from S3
  finds none. Here the children's outputs are written as AWS writes them:
  `<Prefix>/<map run id>/SUCCEEDED_0.json` (a JSON array of executions with
  their `Output` as a JSON string) listed in `manifest.json`;
- the engine signs every call it makes (Lambda invoke, the ItemReader's
  and ResultWriter's S3 calls, SNS publish) with a fixed key that nothing
  checks; AWS makes them as the state machine's role. Here, with IAM
  enforced, they are signed with temporary credentials of the execution's
  role, so its identity policy, the bucket policy and the key policy decide
  them as on AWS (`engine_client`);
- a Map without a `ResultWriter` gathers every child's output into one
  array before `ResultPath` applies; AWS fails the execution with
  `States.DataLimitExceeded` (which no Catch takes) when that array passes
  256 KiB, whatever `ResultPath` says. moto never checks it; here the
  gathered results are measured and the execution fails as on AWS
  (`map_results_within_the_limit`; the largest is kept as
  "states:max-map-results-bytes" in GET /_snaplake/calls);
- an execution's history is not limited; AWS keeps at most 25,000 events
  per execution (a Distributed Map's children each their own) and fails one
  that would pass it. Here each execution's events are counted, and the
  first event past the limit fails it with States.Runtime, which no Catch
  takes. moto logs all children of a Distributed Map run in one log; here
  each child gets its own (`child_with_its_own_history`), so each child is
  counted and held to the limit apart, as on AWS (the largest count of any
  execution, children included, is "states:max-history-events";
  POST /_snaplake/states/settings {"history_limit": n} lowers the limit for
  a test, moto's reset restores it);
- a Distributed Map run never fails, however many children fail (moto
  keeps ToleratedFailureCount/Percentage and never compares); AWS fails it
  with States.ExceedToleratedFailureThreshold (which a Catch takes) when
  failed or timed-out children exceed either, and by default when one
  child fails. Here as on AWS (`map_run_marked`), except that a threshold
  of 0 set beside another one is read as unset;
- the context object's `$$.Execution.StartTime` is a Python datetime, which
  a state that passes it on cannot serialize (the execution breaks with an
  internal error); AWS gives an ISO 8601 string in UTC with milliseconds
  (`2026-11-20T19:00:05.123Z`), and so does the stand-in
  (`start_time_as_aws`);
- the largest input or output of any state is kept
  ("states:max-payload-bytes" in GET /_snaplake/calls), so tests and the
  benchmarks can check how close a run comes to the limit.
"""

import datetime
import importlib
import json
import threading
import uuid


from moto.core.responses import EmptyResult
from moto.stepfunctions import responses
from moto.stepfunctions.parser import models as parser
from moto.stepfunctions.parser.backend import execution as parser_execution
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, ExecutionStatus, HistoryEventType, InvalidToken
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map import state_map
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import distributed_iteration_component
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.distributed_item_processor_worker import (
    DistributedItemProcessorWorker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (
    resource_eval_s3,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from moto.stepfunctions.parser.asl.utils import boto_client

from . import calls, iam, sessions


def send_task_failure_response(self):
    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    return EmptyResult()


def plain_send_task_failure(self, task_token, error=None, cause=None):
    """The backend without execution: nothing waits on tokens."""


_original = parser.StepFunctionsParserBackend.send_task_failure


def send_task_failure_running_only(self, task_token, error=None, cause=None):
    running = self._get_executions(ExecutionStatus.RUNNING)
    if not any(e.exec_worker.env.callback_pool_manager.get(task_token) for e in running if e.exec_worker):
        raise InvalidToken()
    return _original(self, task_token, error=error, cause=cause)


_original_start_execution = parser.StepFunctionsParserBackend.start_execution


def start_execution_named(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
    return _original_start_execution(self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header)


_original_add_event = EventManager.add_event

# Step Functions' limit on one execution's history; the control API lowers it
# for a test (`POST /_snaplake/states/settings`), and a reset restores it.
HISTORY_LIMIT = 25_000
settings = {"history_limit": HISTORY_LIMIT}


def _payload_bytes(event_details) -> int:
    """The largest `input` or `output` an event carries, in UTF-8 bytes."""
    largest = 0
    for detail in (event_details or {}).values():
        if isinstance(detail, dict):
            for field in ("input", "output"):
                if isinstance(detail.get(field), str):
                    largest = max(largest, len(detail[field].encode()))
    return largest


class HistoryLimitExceeded(Exception):
    def __repr__(self) -> str:
        return str(self)


def counting_add_event(self, context, event_type, event_details=None, *args, **kwargs):
    name = getattr(event_type, "value", event_type)
    calls.count(f"states:{name}")
    calls.keep_max("states:max-payload-bytes", _payload_bytes(event_details))
    result = _original_add_event(self, context, event_type, event_details, *args, **kwargs)
    events = getattr(self, "_snaplake_events", 0) + 1
    self._snaplake_events = events
    if getattr(self, "_snaplake_map_run", False):
        # The map run's own log: each child logs to its own (below).
        return result
    calls.keep_max("states:max-history-events", events)
    limit = settings["history_limit"]
    if events > limit and not getattr(self, "_snaplake_over", False) and not str(name).startswith("Execution"):
        # Once: the failure's own events must not fail it again. The engine
        # ends an execution on any error inside a state with States.Runtime,
        # the error's text as the cause: what AWS does at this limit.
        self._snaplake_over = True
        raise HistoryLimitExceeded(f"The execution reached the maximum number of history events ({limit}); "
                                   "AWS ends it, and no Catch takes the failure.")
    return result


_UNCATCHABLE = (StatesErrorNameType.StatesStatesDataLimitExceeded, StatesErrorNameType.StatesRuntime)
_original_error_equals = ErrorEqualsDecl._eval_body


def error_equals_as_aws(self, env):
    """States.ALL matches every error but the two AWS never lets a state
    catch or retry."""
    error_name = env.stack[-1]
    if (
        ErrorEqualsDecl._STATE_ALL_ERROR in self.error_names
        and isinstance(error_name, StatesErrorName)
        and error_name.typ in _UNCATCHABLE
    ):
        env.stack.pop()
        env.stack.append(False)
        return
    _original_error_equals(self, env)


# Step Functions' limit on a state's input, output and a Map's gathered results.
PAYLOAD_LIMIT = 262_144
_original_map_execution = state_map.StateMap._eval_execution


def map_results_within_the_limit(self, env):
    """Fails the execution, uncatchably, when a Map without a ResultWriter
    gathers more than 256 KiB of its children's outputs."""
    _original_map_execution(self, env)
    if self.result_writer is not None or not env.stack or not isinstance(env.stack[-1], list):
        return
    gathered = len(json.dumps(env.stack[-1], separators=(",", ":")).encode())
    calls.keep_max("states:max-map-results-bytes", gathered)
    if gathered <= PAYLOAD_LIMIT:
        return
    name = env.states.context_object.context_object_data["State"]["Name"]
    cause = (f"The state/task '{name}' returned a result with a size exceeding the maximum number of bytes "
             f"service limit ({gathered} bytes gathered from its children, limit {PAYLOAD_LIMIT}).")
    error = StatesErrorNameType.StatesStatesDataLimitExceeded
    raise FailureEventException(failure_event=FailureEvent(
        env=env,
        error_name=StatesErrorName(typ=error),
        event_type=HistoryEventType.ExecutionFailed,
        event_details=EventDetails(executionFailedEventDetails=ExecutionFailedEventDetails(error=error.to_name(), cause=cause)),
    ))


def result_writer_put_object(env, resource_runtime_part, state_credentials):
    """Writes the children's outputs where AWS does, and answers as AWS does."""
    parameters = env.stack.pop()
    outputs = env.stack.pop()
    s3 = resource_eval_s3.ResourceEvalS3._get_s3_client(resource_runtime_part, state_credentials)
    map_run_arn = env.map_run_record_pool_manager.get_all().pop().map_run_arn
    prefix = parameters.get("Prefix", "")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    folder = f"{prefix}{map_run_arn.split(':')[-1]}/"
    executions = [{
        "ExecutionArn": f"{map_run_arn.replace(':mapRun:', ':execution:').rsplit(':', 1)[0]}:{uuid.uuid4()}",
        "InputDetails": {"Included": False},
        "Output": json.dumps(output, separators=(",", ":")),
        "OutputDetails": {"Included": True},
        "Status": "SUCCEEDED",
    } for output in (outputs or [])]
    body = json.dumps(executions).encode()
    files = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    if executions:
        s3.put_object(Bucket=parameters["Bucket"], Key=f"{folder}SUCCEEDED_0.json", Body=body)
        files["SUCCEEDED"].append({"Key": f"{folder}SUCCEEDED_0.json", "Size": len(body)})
    manifest = {"DestinationBucket": parameters["Bucket"], "MapRunArn": map_run_arn, "ResultFiles": files}
    s3.put_object(Bucket=parameters["Bucket"], Key=f"{folder}manifest.json", Body=json.dumps(manifest).encode())
    env.stack.append({"MapRunArn": map_run_arn,
                      "ResultWriterDetails": {"Bucket": parameters["Bucket"], "Key": f"{folder}manifest.json"}})


# Modules of moto's engine that import `boto_client_for` by name.
ENGINE_CLIENT_USERS = [
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval.resource_eval_s3",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
] + [f"moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_{s}"
     for s in ("unsupported", "glue", "events", "ecs", "sqs", "sfn", "dynamodb", "batch", "sns", "aws_sdk")]
_ROLE_SESSIONS: dict[str, object] = {}
_ROLE_SESSIONS_LOCK = threading.Lock()
_engine_client = boto_client.boto_client_for


def _state_machine_of(account: str, region: str, role_arn: str) -> str | None:
    """The state machine that runs as this role: the aws:SourceArn Step
    Functions sends when it assumes it (one state machine per role here)."""
    from moto.stepfunctions.models import stepfunctions_backends
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    # The engine that executes (MOTO_CONFIG) keeps its machines in the parser's backend.
    arns = sorted({m.arn for backends in (stepfunctions_parser_backends, stepfunctions_backends)
                   for m in backends[account][region].state_machines if m.roleArn == role_arn})
    return arns[0] if len(arns) == 1 else None


def _role_session(role_arn: str, region: str):
    """Temporary credentials of `role_arn`, made again after a reset forgot them."""
    with _ROLE_SESSIONS_LOCK:
        held = _ROLE_SESSIONS.get(role_arn)
        if held is None or not sessions.valid(held):
            account = role_arn.split(":")[4]
            held = sessions.assume(account, region, role_arn, "states", service="states.amazonaws.com",
                                   source_arn=_state_machine_of(account, region, role_arn))
            _ROLE_SESSIONS[role_arn] = held
        return held


def engine_client(region: str, service: str, state_credentials=None):
    """The engine's client for a state's call, signed as the execution's role."""
    role_arn = getattr(state_credentials, "role_arn", None)
    if not role_arn or not iam.enforcing():
        return _engine_client(region, service, state_credentials)
    held = _role_session(role_arn, region)
    config = _engine_client(region, service, state_credentials).meta.config
    return sessions.client(service, region, held.access_key_id, held.secret_access_key, held.session_token, config)


_original_map_run = distributed_iteration_component.DistributedIterationComponent._map_run


def map_run_marked(self, env, eval_input):
    """Marks the log moto gives a Distributed Map run's children, and fails
    the map run when more children failed than it tolerates."""
    env.event_manager._snaplake_map_run = True
    _original_map_run(self, env=env, eval_input=eval_input)
    items = eval_input.map_run_record.item_counter
    failed, total = items.failed.get() + items.timed_out.get(), items.total.get()
    if failed == 0:
        return
    count, percentage = eval_input.tolerated_failure_count or 0, eval_input.tolerated_failure_percentage or 0
    # AWS: by default (neither set) one failed child fails the map run; with
    # either set, the run fails when it is exceeded. moto gives an unset one
    # as 0, so a 0 beside a set one is taken as unset.
    if count or percentage:
        exceeded = (count and failed > count) or (percentage and failed * 100 / max(total, 1) > percentage)
    else:
        exceeded = True
    if not exceeded:
        return
    error = StatesErrorNameType.StatesExceedToleratedFailureThreshold
    cause = (f"The specified tolerated failure threshold was exceeded: {failed} of {total} child executions "
             f"failed or timed out (tolerated: count {count}, percentage {percentage}).")
    raise FailureEventException(failure_event=FailureEvent(
        env=env,
        error_name=StatesErrorName(typ=error),
        event_type=HistoryEventType.MapRunFailed,
        event_details=EventDetails(mapRunFailedEventDetails={"error": error.to_name(), "cause": cause}),
    ))


_original_child_job = DistributedItemProcessorWorker._eval_job


def child_with_its_own_history(self, env, job):
    """A Distributed Map's child logs to a history of its own, as AWS keeps
    one per child execution (moto logs a map run's children together): its
    inline Maps' frames, opened from this one, share it."""
    env.event_manager = EventManager()
    return _original_child_job(self, env, job)


_original_start_details = parser_execution.Execution.get_start_execution_details


def start_time_as_aws(self):
    details = _original_start_details(self)
    start = details.start_time
    if hasattr(start, "astimezone"):
        start = start.astimezone(datetime.timezone.utc)
        details.start_time = start.strftime("%Y-%m-%dT%H:%M:%S.") + f"{start.microsecond // 1000:03d}Z"
    return details


def install() -> None:
    parser_execution.Execution.get_start_execution_details = start_time_as_aws
    distributed_iteration_component.DistributedIterationComponent._map_run = map_run_marked
    DistributedItemProcessorWorker._eval_job = child_with_its_own_history
    state_map.StateMap._eval_execution = map_results_within_the_limit
    for name in ENGINE_CLIENT_USERS:
        module = importlib.import_module(name)
        if hasattr(module, "boto_client_for"):
            module.boto_client_for = engine_client
    EventManager.add_event = counting_add_event
    ErrorEqualsDecl._eval_body = error_equals_as_aws
    resource_eval_s3.ResourceEvalS3._handle_put_object = staticmethod(result_writer_put_object)
    parser.StepFunctionsParserBackend.start_execution = start_execution_named
    responses.StepFunctionResponse.send_task_failure = send_task_failure_response
    responses.StepFunctionBackend.send_task_failure = plain_send_task_failure
    parser.StepFunctionsParserBackend.send_task_failure = send_task_failure_running_only
