"""Lambda functions that run the real handler binaries.

moto 5.2.5 runs Lambda code in Docker, which this machine does not have.
Here an invocation of a function whose name ends with the name of a binary
in $SNAPLAKE_STANDIN_FUNCTIONS (e.g. `snaplake-dev-export-poller` ->
`target/debug/export-poller`) goes to that binary, started the way Lambda
starts a `provided.al2023` function: with AWS_LAMBDA_RUNTIME_API pointing at
a Runtime API served here, the function's environment variables, temporary
credentials of the function's role, and the stand-in as its AWS endpoint. A handler error comes back as Lambda reports
it (`x-amz-function-error` and `{"errorType", "errorMessage"}`), so the state
machine's Retry and Catch match on snaplake's error names.

One process per function handles one invocation at a time, as one Lambda
execution environment does; it is started on first use and restarted when
the function's configuration changes. Its timeout and memory size hold as on
AWS: past the timeout the invocation is `Sandbox.Timedout`; a process whose
resident set grows past the memory size is killed and the invocation fails
with `Runtime.ExitError` ("signal: killed"). S3 notifications invoke functions
asynchronously, as on AWS.
"""

import base64
import json
import math
import os
import queue
import subprocess
import threading
import time
import types
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from moto.awslambda import models as lambda_models
from moto.awslambda.exceptions import LambdaClientError
from moto.s3 import notifications

from . import calls, sessions

LOCK = threading.Lock()
RUNTIMES: dict[str, "Runtime"] = {}
ENDPOINT = {"url": ""}


def functions_dir() -> Path | None:
    value = os.environ.get("SNAPLAKE_STANDIN_FUNCTIONS")
    return Path(value) if value else None


def binary_for(function_name: str) -> Path | None:
    folder = functions_dir()
    if not folder or not folder.is_dir():
        return None
    candidates = [p for p in folder.iterdir() if p.is_file() and os.access(p, os.X_OK) and function_name.endswith(p.name)]
    return max(candidates, key=lambda p: len(p.name), default=None)


# What Lambda sets for a custom runtime besides the function's own and the
# AWS_* below (AWS's "Defined runtime environment variables").
LAMBDA_ENVIRONMENT = {"PATH": "/usr/local/bin:/usr/bin/:/bin:/opt/bin", "LANG": "en_US.UTF-8", "TZ": ":UTC"}


class Runtime:
    """One function's execution environment and its Runtime API."""

    def __init__(self, fn, binary: Path, command: list[str] | None = None):
        self.name = fn.function_name
        self.arn = fn.function_arn
        self.signature = signature(fn, binary)
        self.credentials = role_credentials(fn)
        self.timeout = float(fn.timeout or 3)
        self.memory_mb = int(fn.memory_size or 128)
        self.events: queue.Queue = queue.Queue()
        self.results: dict[str, queue.Queue] = {}
        self.turn = threading.Lock()
        self.first_next: float | None = None
        runtime = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the stand-in's log for AWS calls
                pass

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    return self._send(404, {"errorMessage": "unknown path"})
                # The end of the function's init: the cold-start benchmark's split.
                runtime.first_next = runtime.first_next or time.monotonic()
                request_id, body = runtime.events.get()
                deadline = int((time.time() + runtime.timeout) * 1000)
                data = body.encode()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(deadline))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", runtime.arn)
                self.send_header("Lambda-Runtime-Trace-Id", f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode() or "null"
                parts = self.path.strip("/").split("/")
                if self.path.endswith("/init/error"):
                    runtime.init_error = body
                    return self._send(202, {})
                if len(parts) >= 5 and parts[-1] in ("response", "error"):
                    request_id = parts[-2]
                    if request_id in runtime.results:
                        runtime.results[request_id].put((body, parts[-1] == "error"))
                    return self._send(202, {})
                return self._send(404, {"errorMessage": "unknown path"})

            def _send(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.init_error = None
        # Lambda's own variables, not this machine's (which sets SSL_CERT_FILE and
        # SSL_CERT_DIR, choosing how the functions load their trusted roots).
        env = dict(LAMBDA_ENVIRONMENT)
        env.update(fn.environment_vars or {})
        env.update({
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self.server.server_port}",
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size or 128),
            "AWS_LAMBDA_LOG_FORMAT": "Text",
            "AWS_REGION": fn.region,
            "AWS_DEFAULT_REGION": fn.region,
            "AWS_ACCESS_KEY_ID": self.credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.credentials.secret_access_key,
            "AWS_ENDPOINT_URL": ENDPOINT["url"],
        })
        if self.credentials.session_token:
            env["AWS_SESSION_TOKEN"] = self.credentials.session_token
        log = open(Path(os.environ.get("SNAPLAKE_STANDIN_LOGS", "/tmp")) / f"{self.name}.log", "ab")
        # `command` lets the benchmarks start a Python handler behind the same Runtime API.
        self.spawned = time.monotonic()
        self.process = subprocess.Popen(command or [str(binary)], env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def invoke(self, body: str) -> tuple[str, bool]:
        with self.turn:
            if self.process.poll() is not None:
                return _error("Runtime.ExitError", f"{self.name} exited with {self.process.returncode}: {self.init_error or 'see its log'}")
            request_id = str(uuid.uuid4())
            results: queue.Queue = queue.Queue()
            self.results[request_id] = results
            self.events.put((request_id, body))
            deadline = time.monotonic() + self.timeout
            try:
                while True:
                    try:
                        payload, errored = results.get(timeout=0.05)
                        break
                    except queue.Empty:
                        if self.over_memory():
                            return self.killed(request_id)
                        if time.monotonic() >= deadline:
                            self.stop()
                            return _error("Sandbox.Timedout", f"Task timed out after {self.timeout:.2f} seconds")
            finally:
                self.results.pop(request_id, None)
            # The kernel's high-water mark: a peak between two looks counts too.
            if self.over_memory():
                return self.killed(request_id)
            return payload, errored

    def peak_mb(self) -> float:
        """The process's largest resident set so far (what Lambda reports as
        Max Memory Used: an environment keeps its memory between invocations)."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return 0.0
        line = next((l for l in status.splitlines() if l.startswith("VmHWM:")), "VmHWM: 0 kB")
        return int(line.split()[1]) / 1024

    def over_memory(self) -> bool:
        return self.peak_mb() > self.memory_mb

    def killed(self, request_id: str) -> tuple[str, bool]:
        """As Lambda ends a function past its memory size: the process is
        killed and the invocation fails, whatever it answered."""
        peak = self.peak_mb()
        self.stop()
        print(f"standin: {self.name} used {peak:.0f} MB of its {self.memory_mb} MB; killed", flush=True)
        return _error("Runtime.ExitError", f"RequestId: {request_id} Error: Runtime exited with error: signal: killed "
                                           f"(Max Memory Used: {peak:.0f} MB, Memory Size: {self.memory_mb} MB)")

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
        self.server.shutdown()


def signature(fn, binary: Path) -> tuple:
    return (str(binary), json.dumps(fn.environment_vars, sort_keys=True), fn.timeout, fn.memory_size,
            getattr(fn, "role", None))


def role_credentials(fn):
    """Temporary credentials of the function's execution role, as Lambda hands
    them to the runtime (`sessions.assume`)."""
    if getattr(fn, "role", None) is None:
        # A runtime started outside the server (the cold-start benchmark): the caller's own credentials.
        return types.SimpleNamespace(
            account_id=None,
            access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
            secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
            session_token="",
        )
    return sessions.assume(fn.account_id, fn.region, fn.role, fn.function_name, service="lambda.amazonaws.com")


def _error(kind: str, message: str) -> tuple[str, bool]:
    return json.dumps({"errorType": kind, "errorMessage": message}), True


def invoke_lambda(self, event=None):
    """Replaces moto's Docker-based LambdaFunction._invoke_lambda."""
    binary = binary_for(self.function_name)
    if binary is None:
        payload, errored = _error(
            "Runtime.StandInNoBinary",
            f"no handler binary for {self.function_name} in SNAPLAKE_STANDIN_FUNCTIONS={os.environ.get('SNAPLAKE_STANDIN_FUNCTIONS')}",
        )
        return payload, errored, ""
    with LOCK:
        runtime = RUNTIMES.get(self.function_arn)
        if (
            runtime is None
            or runtime.signature != signature(self, binary)
            or runtime.process.poll() is not None
            or not sessions.valid(runtime.credentials)
        ):
            if runtime is not None:
                runtime.stop()
            try:
                runtime = RUNTIMES[self.function_arn] = Runtime(self, binary)
            except sessions.TrustRefused as refused:
                # As Lambda answers when it cannot assume the execution role.
                RUNTIMES.pop(self.function_arn, None)
                payload, errored = _error("Runtime.AssumeRoleFailed", str(refused))
                return payload, errored, ""
    body = event if isinstance(event, str) else json.dumps(event)
    # Counted here, not as requests: S3 events invoke without one.
    calls.count(f"lambda-run:{self.function_name}")
    started = time.monotonic()
    payload, errored = runtime.invoke(body)
    # Lambda bills each invocation's duration rounded up to the millisecond.
    ms = math.ceil((time.monotonic() - started) * 1000)
    calls.count(f"lambda-ms:{self.function_name}", ms)
    # The longest invocation, and what Lambda's REPORT line calls Max Memory Used.
    calls.keep_max(f"lambda-max-ms:{self.function_name}", ms)
    calls.keep_max(f"lambda-peak-mb:{self.function_name}", math.ceil(runtime.peak_mb()))
    return payload, errored, ""


def invoke(self, body, request_headers, response_headers):
    """Replaces moto's LambdaFunction.invoke, which parses the payload and
    hands the binary a JSON string's content (`"hello"` arrived as `hello`):
    the function gets the payload as sent, and one that is not JSON is
    refused as Lambda refuses it."""
    text = body.decode() if isinstance(body, bytes) else (body or "")
    text = text if text.strip() else "{}"
    try:
        json.loads(text)
    except ValueError as e:
        raise LambdaClientError(
            "InvalidRequestContentException",
            f"Could not parse request body into json: Could not parse payload into json: {e}",
        ) from None
    res, errored, logs = self._invoke_lambda(event=text)
    if errored:
        response_headers["x-amz-function-error"] = "Handled"
    if request_headers.get("x-amz-invocation-type", "RequestResponse") == "RequestResponse":
        response_headers["x-amz-log-result"] = base64.b64encode(logs.encode()).decode()
        return res.encode()
    return res


_original_notify = notifications._invoke_awslambda


def invoke_from_s3_async(account_id, event_body, fn_arn, region_name):
    threading.Thread(target=_original_notify, args=(account_id, event_body, fn_arn, region_name), daemon=True).start()


def invoke_async(account_id, event, fn_arn) -> None:
    """EventBridge -> Lambda: delivered only when the function's resource policy
    lets events.amazonaws.com invoke it for that rule, as on AWS (else the
    event is dropped; AWS counts it in the rule's FailedInvocations)."""
    rule_arn = event.pop("_rule_arn", None) if isinstance(event, dict) else None
    if rule_arn and not _events_may_invoke(account_id, fn_arn, rule_arn):
        print(f"standin: {rule_arn} may not invoke {fn_arn} (no lambda permission); event dropped", flush=True)
        return
    _original_notify(account_id, event, fn_arn, fn_arn.split(":")[3])


def _events_may_invoke(account_id, fn_arn, rule_arn) -> bool:
    from moto.awslambda.utils import get_backend

    try:
        wire = json.loads(get_backend(account_id, fn_arn.split(":")[3]).get_policy(fn_arn, None))
        policy = json.loads(wire["Policy"])
    except Exception:
        return False
    for statement in policy.get("Statement", []):
        principal = statement.get("Principal", {})
        service = principal.get("Service") if isinstance(principal, dict) else principal
        source = statement.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn")
        if statement.get("Effect") == "Allow" and service == "events.amazonaws.com" and source in (None, rule_arn):
            return True
    return False


def stop_all() -> None:
    with LOCK:
        for runtime in RUNTIMES.values():
            runtime.stop()
        RUNTIMES.clear()


def install(endpoint: str) -> None:
    ENDPOINT["url"] = endpoint
    lambda_models.LambdaFunction._invoke_lambda = invoke_lambda
    lambda_models.LambdaFunction.invoke = invoke
    notifications._invoke_awslambda = invoke_from_s3_async
