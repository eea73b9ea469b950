"""Step Functions executions started without a name, as EventBridge
Scheduler's templated target starts them."""

import json
import re
import time
import urllib.request

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_unnamed_executions_get_unique_uuid_names(aws):
    sfn = aws("stepfunctions")
    machine = sfn.create_state_machine(
        name="unnamed", roleArn="arn:aws:iam::123456789012:role/sfn",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}),
    )["stateMachineArn"]
    arns = [sfn.start_execution(stateMachineArn=machine, input='{"day": 1}')["executionArn"] for _ in range(2)]
    assert arns[0] != arns[1], arns
    names = [sfn.describe_execution(executionArn=arn)["name"] for arn in arns]
    assert all(UUID.match(name) for name in names), names
    assert [arn.rsplit(":", 1)[1] for arn in arns] == names
    deadline = time.time() + 30
    while {sfn.describe_execution(executionArn=arn)["status"] for arn in arns} != {"SUCCEEDED"}:
        assert time.time() < deadline, "the executions did not finish"
        time.sleep(0.1)


def _run(sfn, definition: dict, execution_input: dict, name: str) -> dict:
    machine = sfn.create_state_machine(name=name, roleArn="arn:aws:iam::123456789012:role/sfn",
                                       definition=json.dumps(definition))["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(execution_input))["executionArn"]
    deadline = time.time() + 60
    while (run := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.time() < deadline, "the execution did not finish"
        time.sleep(0.1)
    return run


# A handler that answers every invocation with 300,000 bytes, through the
# Lambda Runtime API the stand-in serves.
BIG_REPLY = """#!/usr/bin/env python3
import os, urllib.request
api = os.environ["AWS_LAMBDA_RUNTIME_API"]
while True:
    with urllib.request.urlopen(f"http://{api}/2018-06-01/runtime/invocation/next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
    body = ('{"blob":"' + "x" * 300000 + '"}').encode()
    urllib.request.urlopen(urllib.request.Request(
        f"http://{api}/2018-06-01/runtime/invocation/{request_id}/response", data=body, method="POST"))
"""


def test_a_result_over_256_kib_ends_the_execution_whatever_its_catch_says(aws, standin_dir):
    """AWS: States.ALL catches neither States.DataLimitExceeded nor
    States.Runtime; the execution fails."""
    handler = standin_dir / "bigreply"
    handler.write_text(BIG_REPLY)
    handler.chmod(0o755)
    role = aws("iam").create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))["Role"]["Arn"]
    function = aws("lambda").create_function(
        FunctionName="t-bigreply", Runtime="provided.al2023", Handler="bootstrap", Role=role, Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )["FunctionArn"]
    definition = {"StartAt": "Call", "States": {
        "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                 "Parameters": {"FunctionName": function, "Payload": {}},
                 "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recovered"}], "End": True},
        "Recovered": {"Type": "Pass", "End": True}}}
    run = _run(aws("stepfunctions"), definition, {}, "too-big")
    assert run["status"] == "FAILED", run
    assert run.get("error") == "States.DataLimitExceeded", run.get("cause")


def test_a_distributed_map_writes_its_children_outputs_as_aws_does(aws):
    s3 = aws("s3")
    s3.create_bucket(Bucket="results")
    definition = {"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemsPath": "$.items",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "Double", "States": {"Double": {
                              "Type": "Pass", "Parameters": {"n.$": "$.n", "twice.$": "States.MathAdd($.n, $.n)"},
                              "End": True}}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                         "Parameters": {"Bucket": "results", "Prefix": "runs/r1"}},
        "End": True}}}
    run = _run(aws("stepfunctions"), definition, {"items": [{"n": 1}, {"n": 2}, {"n": 3}]}, "writer")
    assert run["status"] == "SUCCEEDED", run
    details = json.loads(run["output"])["ResultWriterDetails"]
    assert details["Bucket"] == "results" and details["Key"].startswith("runs/r1/")
    assert details["Key"].endswith("/manifest.json")
    manifest = json.loads(s3.get_object(Bucket="results", Key=details["Key"])["Body"].read())
    assert manifest["DestinationBucket"] == "results"
    [written] = manifest["ResultFiles"]["SUCCEEDED"]
    assert manifest["ResultFiles"]["FAILED"] == [] and written["Key"].endswith("/SUCCEEDED_0.json")
    executions = json.loads(s3.get_object(Bucket="results", Key=written["Key"])["Body"].read())
    assert written["Size"] > 0
    assert sorted(json.loads(e["Output"])["twice"] for e in executions) == [2, 4, 6]
    assert {e["Status"] for e in executions} == {"SUCCEEDED"}
    assert max(int(v) for k, v in json.loads(
        __import__("urllib.request").request.urlopen(f"{s3.meta.endpoint_url}/_snaplake/calls").read()
    ).items() if k == "states:max-payload-bytes") > 0


def test_the_largest_payload_is_measured_in_bytes(aws):
    """`states:max-payload-bytes` is what the payload-size checks read (tests/tests/scale.rs,
    `make bench`): it must see a large state output, in a Map child too."""
    sfn = aws("stepfunctions")
    urlopen = __import__("urllib.request").request.urlopen
    urlopen(__import__("urllib.request").request.Request(f"{sfn.meta.endpoint_url}/_snaplake/calls/reset", method="POST"))
    definition = {"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemsPath": "$.items",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Grow", "States": {"Grow": {
            "Type": "Pass", "Parameters": {"big.$": "States.Format('{}{}{}{}', $.s, $.s, $.s, $.s)"}, "End": True}}},
        "ResultPath": None, "End": True}}}
    run = _run(sfn, definition, {"items": [{"s": "x" * 20_000}]}, "payload-size")
    assert run["status"] == "SUCCEEDED", run
    calls = json.loads(urlopen(f"{sfn.meta.endpoint_url}/_snaplake/calls").read())
    assert 80_000 <= calls["states:max-payload-bytes"] < 90_000, calls.get("states:max-payload-bytes")


def test_a_maps_gathered_results_over_256_kib_end_the_execution_whatever_its_result_path(aws):
    """AWS gathers every child's output before ResultPath applies: over 256
    KiB the execution fails with States.DataLimitExceeded, which the Catch
    does not take (`ResultPath: null` does not help). Children that return
    nothing (`OutputPath: null`) gather 2 bytes each."""
    def definition(child_output_path):
        child = {"Type": "Pass", "Parameters": {"pad": "x" * 1000}, "End": True}
        if child_output_path is not None:
            child["OutputPath"] = None
        return {"StartAt": "Each", "States": {
            "Each": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": None,
                     "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                                       "StartAt": "Pad", "States": {"Pad": child}},
                     "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recovered"}], "End": True},
            "Recovered": {"Type": "Pass", "End": True}}}
    items = {"items": [{"n": n} for n in range(300)]}
    run = _run(aws("stepfunctions"), definition(None), items, "gathered-too-much")
    assert run["status"] == "FAILED", run
    assert run.get("error") == "States.DataLimitExceeded", run.get("cause")
    run = _run(aws("stepfunctions"), definition("null"), items, "gathered-nothing")
    assert run["status"] == "SUCCEEDED", run


def _settings(endpoint, body: dict) -> None:
    request = urllib.request.Request(f"{endpoint}/_snaplake/states/settings", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(request, timeout=30).read()


def test_an_execution_past_its_history_limit_fails(aws, endpoint):
    """AWS keeps at most 25,000 events per execution and ends one that
    would pass them; lowered here so a loop reaches it quickly."""
    _settings(endpoint, {"history_limit": 60})
    definition = {"StartAt": "Count", "States": {
        "Count": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Again?"},
        "Again?": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericLessThan": 1000, "Next": "Count"}],
                   "Default": "Done"},
        "Done": {"Type": "Succeed"}}}
    try:
        run = _run(aws("stepfunctions"), definition, {"n": 0}, "long-history")
        assert run["status"] == "FAILED", run
        assert run.get("error") == "States.Runtime", run
        assert "maximum number of history events (60)" in run.get("cause", ""), run
        short = _run(aws("stepfunctions"), {**definition, "States": {**definition["States"], "Again?": {
            "Type": "Choice", "Choices": [{"Variable": "$.n", "NumericLessThan": 5, "Next": "Count"}],
            "Default": "Done"}}}, {"n": 0}, "short-history")
        assert short["status"] == "SUCCEEDED", short
    finally:
        _settings(endpoint, {"history_limit": 25000})


def test_each_distributed_map_child_has_its_own_history_held_to_the_limit(aws, endpoint):
    """AWS gives each child execution of a Distributed Map its own history
    and its own 25,000 events: children that together pass the limit are
    fine, one child that passes it fails (and the Map with it)."""
    def counting_to(n):
        return {"StartAt": "Each", "States": {"Each": {
            "Type": "Map", "ItemsPath": "$.items", "ResultPath": None,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                              "StartAt": "Count", "States": {
                                  "Count": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"},
                                            "Next": "Again?"},
                                  "Again?": {"Type": "Choice", "Default": "Done", "Choices": [
                                      {"Variable": "$.n", "NumericLessThan": n, "Next": "Count"}]},
                                  "Done": {"Type": "Succeed"}}},
            "End": True}}}
    items = {"items": [{"n": 0} for _ in range(10)]}
    sfn = aws("stepfunctions")
    urlopen = __import__("urllib.request").request.urlopen
    _settings(endpoint, {"history_limit": 60})
    try:
        # About 4 events a round: 10 rounds a child is ~45 events, 450 together.
        urlopen(__import__("urllib.request").request.Request(f"{endpoint}/_snaplake/calls/reset", method="POST"))
        run = _run(sfn, counting_to(10), items, "children-apart")
        assert run["status"] == "SUCCEEDED", run
        calls = json.loads(urlopen(f"{endpoint}/_snaplake/calls").read())
        assert 30 <= calls["states:max-history-events"] <= 60, calls["states:max-history-events"]
        run = _run(sfn, counting_to(100), items, "one-child-too-long")
        assert run["status"] == "FAILED", run
    finally:
        _settings(endpoint, {"history_limit": 25000})


def test_a_failed_distributed_map_child_fails_the_map_unless_tolerated(aws):
    """AWS's default tolerated failure threshold is 0: one failed child fails
    the map run with States.ExceedToleratedFailureThreshold, which a Catch
    takes; ToleratedFailurePercentage 100 lets every child fail. (moto parses
    a percentage only with a decimal point.)"""
    def failing_children(tolerance: dict):
        return {"StartAt": "Each", "States": {
            "Each": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": None, **tolerance,
                     "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                                       "StartAt": "Odd?", "States": {
                                           "Odd?": {"Type": "Choice", "Default": "Fine", "Choices": [
                                               {"Variable": "$.n", "NumericEquals": 1, "Next": "Broken"}]},
                                           "Broken": {"Type": "Fail", "Error": "Broken"},
                                           "Fine": {"Type": "Succeed"}}},
                     "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
                     "End": True},
            "Caught": {"Type": "Pass", "End": True}}}
    items = {"items": [{"n": n} for n in range(4)]}
    sfn = aws("stepfunctions")
    run = _run(sfn, failing_children({}), items, "one-child-fails")
    assert run["status"] == "SUCCEEDED", run
    assert json.loads(run["output"])["error"]["Error"] == "States.ExceedToleratedFailureThreshold", run["output"]
    for tolerance in ({"ToleratedFailurePercentage": 100.0}, {"ToleratedFailureCount": 1}):
        run = _run(sfn, failing_children(tolerance), items, f"tolerated-{len(tolerance)}-{list(tolerance)[0]}")
        assert run["status"] == "SUCCEEDED" and "error" not in json.loads(run["output"]), (tolerance, run["output"])
    run = _run(sfn, failing_children({"ToleratedFailurePercentage": 10.0}), items, "over-ten-percent")
    assert json.loads(run["output"])["error"]["Error"] == "States.ExceedToleratedFailureThreshold", run["output"]


def test_a_wait_takes_its_seconds_from_the_input(aws):
    """The pipeline's WaitBeforePolling waits what export-poller answers."""
    definition = {"StartAt": "Wait", "States": {
        "Wait": {"Type": "Wait", "SecondsPath": "$.check.poll.wait_seconds", "Next": "Done"},
        "Done": {"Type": "Succeed"}}}
    started = time.monotonic()
    run = _run(aws("stepfunctions"), definition, {"check": {"poll": {"wait_seconds": 2}}}, "wait-path")
    assert run["status"] == "SUCCEEDED", run
    assert time.monotonic() - started >= 2


def test_the_executions_start_time_is_the_iso_string_aws_gives(aws):
    """`$$.Execution.StartTime` as AWS gives it: moto's is a datetime, which a
    state passing it on cannot serialize (the run's lineage START uses it)."""
    sfn = aws("stepfunctions")
    definition = {"StartAt": "When", "States": {"When": {
        "Type": "Pass", "Parameters": {"started_at.$": "$$.Execution.StartTime"}, "End": True}}}
    run = _run(sfn, definition, {}, "start-time")
    assert run["status"] == "SUCCEEDED", run
    started_at = json.loads(run["output"])["started_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", started_at), started_at
    assert abs(run["startDate"].timestamp() - time.mktime(time.strptime(started_at[:19], "%Y-%m-%dT%H:%M:%S")) + time.timezone) < 2
