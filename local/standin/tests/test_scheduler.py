"""EventBridge Scheduler runs a schedule's occurrence as its execution role
(standin/scheduler.py): the role's trust policy, its identity policy on the
target, the input's context attributes, and the dead-letter event."""

import json

from test_iam import _post, enforced  # noqa: F401 (a fixture)

ACCOUNT = "123456789012"
GROUP = f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule-group/default"
# A state machine that ends at once: the test is about who may start it.
DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})


def _setup(enforced, trusted_group=GROUP, start=True):  # noqa: F811
    iam, sfn, sqs, scheduler = (enforced(s) for s in ("iam", "stepfunctions", "sqs", "scheduler"))
    states_trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "states.amazonaws.com"}}]}
    machine_role = iam.create_role(RoleName="pipeline", AssumeRolePolicyDocument=json.dumps(states_trust))["Role"]["Arn"]
    machine = sfn.create_state_machine(name="pipeline", definition=DEFINITION, roleArn=machine_role)["stateMachineArn"]
    queue = sqs.create_queue(QueueName="schedule-dlq")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "scheduler.amazonaws.com"},
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnLike": {"aws:SourceArn": trusted_group}}}]}
    role = iam.create_role(RoleName="scheduler", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    statements = [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn}]
    if start:
        statements.append({"Effect": "Allow", "Action": "states:StartExecution", "Resource": machine})
    iam.put_role_policy(RoleName="scheduler", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    scheduler.create_schedule(
        Name="daily", ScheduleExpression="cron(0 4 * * ? *)", ScheduleExpressionTimezone="Asia/Tokyo",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": machine, "RoleArn": role, "Input": '{"logical_time":"<aws.scheduler.scheduled-time>"}',
                "DeadLetterConfig": {"Arn": queue_arn}})
    return sfn, sqs, queue, machine


def _fire(endpoint):
    return json.loads(_post(endpoint, "/_snaplake/scheduler/fire",
                            json.dumps({"name": "daily", "time": "2026-11-20T19:00:00Z"})))


def test_a_schedule_starts_its_target_as_its_role_with_the_scheduled_time(enforced, endpoint):  # noqa: F811
    sfn, sqs, queue, machine = _setup(enforced)
    fired = _fire(endpoint)
    assert fired["invoked"], fired
    execution = sfn.describe_execution(executionArn=fired["execution_arn"])
    assert execution["stateMachineArn"] == machine
    assert json.loads(execution["input"]) == {"logical_time": "2026-11-20T19:00:00Z"}
    assert "Messages" not in sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])


def test_a_role_without_start_execution_sends_a_dead_letter_naming_what_was_refused(enforced, endpoint):  # noqa: F811
    sfn, sqs, queue, machine = _setup(enforced, start=False)
    fired = _fire(endpoint)
    assert not fired["invoked"] and fired["dead_letter"]["sent"], fired
    for name in ("states:StartExecution", machine, "assumed-role/scheduler"):
        assert name in fired["error_message"], fired
    assert sfn.list_executions(stateMachineArn=machine)["executions"] == []
    [message] = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"]
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == fired["error_code"] and attributes["TARGET_ARN"] == machine, attributes
    assert json.loads(message["Body"]) == {"logical_time": "2026-11-20T19:00:00Z"}


def test_a_role_that_trusts_another_schedule_group_is_not_assumed(enforced, endpoint):  # noqa: F811
    sfn, sqs, queue, machine = _setup(enforced, trusted_group=GROUP.replace("/default", "/other"))
    fired = _fire(endpoint)
    assert not fired["invoked"] and fired["dead_letter"] is None and "trust policy" in fired["error_message"], fired
    assert sfn.list_executions(stateMachineArn=machine)["executions"] == []
    assert "Messages" not in sqs.receive_message(QueueUrl=queue)
