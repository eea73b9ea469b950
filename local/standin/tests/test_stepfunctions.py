"""Step Functions executions started without a name, as EventBridge
Scheduler's templated target starts them."""

import json
import re
import time

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
