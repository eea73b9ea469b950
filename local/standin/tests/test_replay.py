"""A retried request the stand-in already answered with success gets that
answer again (standin/replay.py): the SDK's first attempt lost it on the way.
Another request, or a retry after an error, is served as AWS serves it."""

import json


def _pinned(client, invocation: str, attempt: int):
    """Sends the client's next requests as `attempt` of the one SDK invocation `invocation`."""
    def pin(request, **_):
        request.headers["amz-sdk-invocation-id"] = invocation
        request.headers["amz-sdk-request"] = f"attempt={attempt}; max=25"
    client.meta.events.register("before-send.*", pin)
    return client


def _function(aws, invocation, attempt):
    iam = aws("iam")
    try:
        role = iam.get_role(RoleName="fn")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}]}
        role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    lam = _pinned(aws("lambda"), invocation, attempt)
    return lam.create_function(FunctionName="catalog-swap", Runtime="provided.al2023", Role=role, Handler="bootstrap",
                               Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18})


def test_a_retry_of_a_create_that_went_through_gets_its_answer(aws):
    first = _function(aws, "11111111-1111-4111-8111-111111111111", 1)
    again = _function(aws, "11111111-1111-4111-8111-111111111111", 2)
    assert again["FunctionArn"] == first["FunctionArn"]
    assert [f["FunctionName"] for f in aws("lambda").list_functions()["Functions"]] == ["catalog-swap"]


def test_another_create_of_the_same_name_is_refused_as_on_aws(aws):
    _function(aws, "22222222-2222-4222-8222-222222222222", 1)
    for invocation, attempt in [("33333333-3333-4333-8333-333333333333", 1), ("44444444-4444-4444-8444-444444444444", 2)]:
        try:
            _function(aws, invocation, attempt)
        except aws("lambda").exceptions.ResourceConflictException:
            continue
        raise AssertionError(f"a create of an existing function (invocation {invocation}, attempt {attempt}) went through")


def test_a_retry_after_an_error_is_served_anew(aws):
    sqs = aws("sqs")
    invocation = "55555555-5555-4555-8555-555555555555"
    queue = sqs.create_queue(QueueName="q")["QueueUrl"]
    try:
        _pinned(aws("sqs"), invocation, 1).send_message(QueueUrl=queue + "-missing", MessageBody="x")
        raise AssertionError("a message to a missing queue was sent")
    except Exception as e:  # noqa: BLE001 (botocore's modeled error for the queue)
        assert "NonExistentQueue" in str(e) or "QueueDoesNotExist" in str(e), e
    sent = _pinned(aws("sqs"), invocation, 2).send_message(QueueUrl=queue, MessageBody="x")
    assert sent["MessageId"]
    assert len(sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]) == 1
