"""Driving the stand-in from a script: its control routes and a run's end.

The demo (local/demo.py) and the infra checks (scripts/check-infra,
scripts/plan-examples) set the stand-in up through its `/_snaplake/...`
routes (local/README.md lists them) and wait for runs they start; this is
the one place they do it from.
"""

import json
import time
import urllib.request


def control(endpoint: str, path: str, body: dict) -> dict:
    """POSTs `body` to a control route of the stand-in; its JSON answer."""
    request = urllib.request.Request(endpoint + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read())


def wait_for_run(sfn, arn: str, what: str, seconds: float = 300) -> dict:
    """Waits for the execution `arn` to end; its DescribeExecution answer.
    Fails naming `what` when it is still running after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        run = sfn.describe_execution(executionArn=arn)
        if run["status"] != "RUNNING":
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} still running after {seconds:.0f} s: {arn}")
        time.sleep(0.5)
