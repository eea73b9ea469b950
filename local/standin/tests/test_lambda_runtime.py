"""The process a function runs in: the variables Lambda gives it."""

import json
import sys
import types
from pathlib import Path

from standin import lambdas


def test_a_function_starts_with_lambdas_variables_not_the_hosts(tmp_path, monkeypatch):
    # This machine sets these for its own tools; Lambda does not, and they
    # choose how the functions load their trusted roots.
    monkeypatch.setenv("SSL_CERT_DIR", "/etc/ssl/certs")
    monkeypatch.setenv("SNAPLAKE_STANDIN_LOGS", str(tmp_path))
    out = tmp_path / "env.json"
    fn = types.SimpleNamespace(function_name="snaplake-test-f", function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
                               environment_vars={"SNAPLAKE_BUCKET": "b"}, timeout=3, memory_size=128, region="us-east-1")
    dump = f"import json, os; open({str(out)!r}, 'w').write(json.dumps(dict(os.environ)))"
    runtime = lambdas.Runtime(fn, Path(sys.executable), [sys.executable, "-c", dump])
    try:
        runtime.process.wait(timeout=30)
    finally:
        runtime.stop()
    env = json.loads(out.read_text())
    assert "SSL_CERT_DIR" not in env
    assert env["SNAPLAKE_BUCKET"] == "b"
    assert env["PATH"] == "/usr/local/bin:/usr/bin/:/bin:/opt/bin"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "snaplake-test-f"
    assert env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")


# A handler behind the Runtime API that holds `mb` megabytes (written, so
# resident) before it answers.
HOLDER = """
import json, os, sys, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as answer:
        request_id = answer.headers["Lambda-Runtime-Aws-Request-Id"]
        mb = json.loads(answer.read())["mb"]
    held = b"x" * (mb * 1024 * 1024)
    urllib.request.urlopen(urllib.request.Request(api + request_id + "/response", data=b'{"held": %d}' % mb, method="POST"))
"""


def test_a_function_past_its_memory_size_is_killed_and_one_within_it_answers(tmp_path, monkeypatch):
    monkeypatch.setenv("SNAPLAKE_STANDIN_LOGS", str(tmp_path))
    fn = types.SimpleNamespace(function_name="snaplake-test-m", function_arn="arn:aws:lambda:us-east-1:123456789012:function:m",
                               environment_vars={}, timeout=30, memory_size=128, region="us-east-1")
    runtime = lambdas.Runtime(fn, Path(sys.executable), [sys.executable, "-c", HOLDER])
    try:
        payload, errored = runtime.invoke(json.dumps({"mb": 40}))
        assert (json.loads(payload), errored) == ({"held": 40}, False)
        payload, errored = runtime.invoke(json.dumps({"mb": 200}))
        error = json.loads(payload)
        assert errored and error["errorType"] == "Runtime.ExitError", payload
        assert "signal: killed" in error["errorMessage"] and "Memory Size: 128 MB" in error["errorMessage"], payload
        assert runtime.process.poll() is not None, "the process is gone, as Lambda's environment is"
    finally:
        runtime.stop()
