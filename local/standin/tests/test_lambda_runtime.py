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
