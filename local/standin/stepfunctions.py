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
  names each one with a fresh UUID, and so does the stand-in.
"""

import uuid

from moto.core.responses import EmptyResult
from moto.stepfunctions import responses
from moto.stepfunctions.parser import models as parser
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
from moto.stepfunctions.parser.api import ExecutionStatus, InvalidToken

from . import control


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


def counting_add_event(self, context, event_type, *args, **kwargs):
    control.count(f"states:{getattr(event_type, 'value', event_type)}")
    return _original_add_event(self, context, event_type, *args, **kwargs)


def install() -> None:
    EventManager.add_event = counting_add_event
    parser.StepFunctionsParserBackend.start_execution = start_execution_named
    responses.StepFunctionResponse.send_task_failure = send_task_failure_response
    responses.StepFunctionBackend.send_task_failure = plain_send_task_failure
    parser.StepFunctionsParserBackend.send_task_failure = send_task_failure_running_only
