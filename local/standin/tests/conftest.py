"""Starts one stand-in (`python -m standin serve`) for the test session, as
tests/src/lib.rs does for the Rust tests, and resets it before each test.
It exits with the pytest process even if pytest is killed."""

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

LOCAL = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def standin_dir(tmp_path_factory):
    """The stand-in's logs, and the folder it takes handler binaries from."""
    return tmp_path_factory.mktemp("standin")


@pytest.fixture(scope="session")
def endpoint(standin_dir):
    state = standin_dir
    ready = state / "ready.json"
    env = dict(os.environ, SNAPLAKE_STANDIN_LOGS=str(state), SNAPLAKE_STANDIN_FUNCTIONS=str(state))
    with open(state / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "standin", "serve", "--port", "0", "--ready-file", str(ready),
             "--exit-with-parent", str(os.getpid())],
            cwd=LOCAL, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )
    deadline = time.time() + 60
    while not ready.exists():
        assert proc.poll() is None, f"the stand-in exited; see {state / 'server.log'}"
        assert time.time() < deadline, f"the stand-in did not start within 60 s; see {state / 'server.log'}"
        time.sleep(0.1)
    yield json.loads(ready.read_text())["endpoint"]
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def aws(endpoint):
    """A client factory for a freshly reset stand-in."""
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=30).read()

    def client(service: str):
        return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                            aws_access_key_id="test", aws_secret_access_key="test",
                            config=Config(s3={"addressing_style": "path"}))

    return client
