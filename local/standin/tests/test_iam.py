"""IAM enforcement (standin/iam.py): policies evaluated as AWS does for the
calls snaplake makes, against the real resource ARN, with conditions."""

import json
import sys
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from standin.evaluation import decide, evaluate  # noqa: E402


def allow(action, resource, condition=None):
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def test_resource_arns_and_wildcards_match_as_on_aws():
    table = "arn:aws:glue:us-east-1:123456789012:table/snaplake_raw/orders"
    assert evaluate([allow("glue:GetTable", "arn:aws:glue:us-east-1:123456789012:table/snaplake_raw/*")], "glue:GetTable", table, {}) == "Allow"
    assert evaluate([allow("glue:GetTable", "arn:aws:glue:us-east-1:123456789012:table/snaplake_curated/*")], "glue:GetTable", table, {}) == "ImplicitDeny"
    assert evaluate([allow("glue:Get?able", table)], "glue:GetTable", table, {}) == "Allow"
    assert evaluate([allow("GLUE:gettable", table)], "glue:GetTable", table, {}) == "Allow", "actions are case-insensitive"
    deny = {"Statement": [{"Effect": "Deny", "Action": "glue:*", "Resource": table}]}
    assert evaluate([allow("*", "*"), deny], "glue:GetTable", table, {}) == "Deny"


def test_conditions_the_module_uses_are_evaluated():
    listing = allow("s3:ListBucket", "arn:aws:s3:::lake", {"StringLike": {"s3:prefix": ["exports/*"]}})
    assert evaluate([listing], "s3:ListBucket", "arn:aws:s3:::lake", {"s3:prefix": "exports/a/"}) == "Allow"
    assert evaluate([listing], "s3:ListBucket", "arn:aws:s3:::lake", {"s3:prefix": "curated/"}) == "ImplicitDeny"
    assert evaluate([listing], "s3:ListBucket", "arn:aws:s3:::lake", {}) == "ImplicitDeny", "no prefix: the condition fails"
    grant = allow("kms:CreateGrant", "*", {"Bool": {"kms:GrantIsForAWSResource": "true"}})
    assert evaluate([grant], "kms:CreateGrant", "k", {"kms:GrantIsForAWSResource": "false"}) == "ImplicitDeny"
    pass_role = allow("iam:PassRole", "arn:aws:iam::1:role/x", {"StringEquals": {"iam:PassedToService": ["export.rds.amazonaws.com", "rds.amazonaws.com"]}})
    assert evaluate([pass_role], "iam:PassRole", "arn:aws:iam::1:role/x", {"iam:PassedToService": "export.rds.amazonaws.com"}) == "Allow"
    assert evaluate([pass_role], "iam:PassRole", "arn:aws:iam::1:role/x", {"iam:PassedToService": "lambda.amazonaws.com"}) == "ImplicitDeny"
    own = allow("s3:GetObject", "arn:aws:s3:::lake/home/${aws:username}/*")
    assert evaluate([own], "s3:GetObject", "arn:aws:s3:::lake/home/ana/x", {"aws:username": "ana"}) == "Allow"
    assert evaluate([own], "s3:GetObject", "arn:aws:s3:::lake/home/bo/x", {"aws:username": "ana"}) == "ImplicitDeny"


def _post(endpoint, path, body):
    request = urllib.request.Request(f"{endpoint}{path}", data=body.encode(), method="POST", headers={"Content-Type": "text/plain"})
    return urllib.request.urlopen(request, timeout=30).read()


@pytest.fixture
def enforced(aws, endpoint):
    """An administrator's client factory with IAM enforced; enforcement off afterwards."""
    keys = json.loads(_post(endpoint, "/_snaplake/iam/admin", json.dumps({"enforce": True})))

    def client(service, key_id=keys["access_key_id"], secret=keys["secret_access_key"], token=None):
        return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key_id,
                            aws_secret_access_key=secret, aws_session_token=token,
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))

    try:
        yield client
    finally:
        _post(endpoint, "/moto-api/reset-auth", "inf")


def _as_role(enforced, statements):
    iam = enforced("iam")
    user = iam.get_user(UserName="snaplake-admin")["User"]["Arn"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": user}}]}
    arn = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName="fn", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    creds = enforced("sts").assume_role(RoleArn=arn, RoleSessionName="test")["Credentials"]
    return lambda service: enforced(service, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


def _denied(call, *names):
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    assert error["Code"] in ("AccessDenied", "AccessDeniedException", "403"), error
    for name in names:
        assert name in error.get("Message", ""), error


def test_test_credentials_are_refused_when_enforced(enforced, endpoint):
    plain = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    with pytest.raises(ClientError):
        plain.list_buckets()
    enforced("s3").list_buckets()


def test_a_role_gets_what_its_policy_names_and_nothing_else(enforced):
    s3, glue = enforced("s3"), enforced("glue")
    s3.create_bucket(Bucket="lake")
    s3.put_object(Bucket="lake", Key="exports/a.json", Body=b"{}")
    s3.put_object(Bucket="lake", Key="curated/b.json", Body=b"{}")
    glue.create_database(DatabaseInput={"Name": "raw"})
    glue.create_table(DatabaseName="raw", TableInput={"Name": "orders"})
    glue.create_table(DatabaseName="raw", TableInput={"Name": "customers"})
    role = _as_role(enforced, [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::lake", "Condition": {"StringLike": {"s3:prefix": ["exports/*"]}}},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:DeleteObject"], "Resource": "arn:aws:s3:::lake/exports/*"},
        {"Effect": "Allow", "Action": "glue:GetTable", "Resource": [
            "arn:aws:glue:us-east-1:123456789012:catalog", "arn:aws:glue:us-east-1:123456789012:database/raw",
            "arn:aws:glue:us-east-1:123456789012:table/raw/orders"]},
    ])
    s3r, gluer = role("s3"), role("glue")
    assert s3r.list_objects_v2(Bucket="lake", Prefix="exports/")["KeyCount"] == 1
    _denied(lambda: s3r.list_objects_v2(Bucket="lake", Prefix="curated/"), "s3:ListBucket", "arn:aws:s3:::lake")
    s3r.get_object(Bucket="lake", Key="exports/a.json")
    _denied(lambda: s3r.get_object(Bucket="lake", Key="curated/b.json"), "s3:GetObject", "arn:aws:s3:::lake/curated/b.json")
    _denied(lambda: s3r.put_object(Bucket="lake", Key="exports/c.json", Body=b"{}"), "s3:PutObject")
    # DeleteObjects is checked per key (moto: against the bucket).
    _denied(lambda: s3r.delete_objects(Bucket="lake", Delete={"Objects": [{"Key": "exports/a.json"}, {"Key": "curated/b.json"}]}),
            "s3:DeleteObject", "curated/b.json")
    s3r.delete_objects(Bucket="lake", Delete={"Objects": [{"Key": "exports/a.json"}]})
    assert gluer.get_table(DatabaseName="raw", Name="orders")["Table"]["Name"] == "orders"
    _denied(lambda: gluer.get_table(DatabaseName="raw", Name="customers"), "glue:GetTable", "table/raw/customers")
    _denied(lambda: gluer.get_tables(DatabaseName="raw"), "glue:GetTables")


def test_head_bucket_needs_list_bucket(enforced):
    enforced("s3").create_bucket(Bucket="lake")
    role = _as_role(enforced, [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::lake"}])
    role("s3").head_bucket(Bucket="lake")
    bare = _as_role_named(enforced, "other", [{"Effect": "Allow", "Action": "s3:HeadBucket", "Resource": "arn:aws:s3:::lake"}])
    with pytest.raises(ClientError):
        bare("s3").head_bucket(Bucket="lake")


def _as_role_named(enforced, name, statements):
    iam = enforced("iam")
    user = iam.get_user(UserName="snaplake-admin")["User"]["Arn"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": user}}]}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    creds = enforced("sts").assume_role(RoleArn=arn, RoleSessionName="test")["Credentials"]
    return lambda service: enforced(service, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


def test_signatures_of_bodiless_gets_and_form_bodies_with_spaces_are_checked_as_sent(enforced):
    # moto signs a GET without query string over its headers (Terraform's
    # lambda GetFunction failed), and re-encodes form bodies.
    lam, sns = enforced("lambda"), enforced("sns")
    with pytest.raises(ClientError) as caught:
        lam.get_function(FunctionName="missing")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    topic = sns.create_topic(Name="failures")["TopicArn"]
    sns.publish(TopicArn=topic, Message="a message with spaces", Subject="two words")


def test_an_object_is_read_by_its_tags_and_tagging_is_its_own_action(enforced):
    """`s3:ExistingObjectTag/<key>` is the object's tag at the time of the read
    (S3's condition keys): the analyst policy reads a curated version only once
    snaplake tagged it audited."""
    s3 = enforced("s3")
    s3.create_bucket(Bucket="lake")
    s3.put_object(Bucket="lake", Key="curated/t/v=1/part.parquet", Body=b"rows")
    reader = _as_role_named(enforced, "reader", [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lake/curated/*",
         "Condition": {"StringEquals": {"s3:ExistingObjectTag/snaplake-audit": "passed"}}},
    ])("s3")
    _denied(lambda: reader.get_object(Bucket="lake", Key="curated/t/v=1/part.parquet"), "s3:GetObject")
    _denied(lambda: reader.head_object(Bucket="lake", Key="curated/t/v=1/part.parquet"))
    tagger = _as_role_named(enforced, "tagger", [
        {"Effect": "Allow", "Action": "s3:PutObjectTagging", "Resource": "arn:aws:s3:::lake/curated/*"},
    ])("s3")
    _denied(lambda: tagger.put_object(Bucket="lake", Key="curated/t/v=1/other", Body=b"x"), "s3:PutObject")
    tagger.put_object_tagging(Bucket="lake", Key="curated/t/v=1/part.parquet",
                              Tagging={"TagSet": [{"Key": "snaplake-audit", "Value": "failed"}]})
    _denied(lambda: reader.get_object(Bucket="lake", Key="curated/t/v=1/part.parquet"), "s3:GetObject")
    tagger.put_object_tagging(Bucket="lake", Key="curated/t/v=1/part.parquet",
                              Tagging={"TagSet": [{"Key": "snaplake-audit", "Value": "passed"}]})
    assert reader.get_object(Bucket="lake", Key="curated/t/v=1/part.parquet")["Body"].read() == b"rows"


def test_tags_given_with_an_upload_need_put_object_tagging_too(enforced):
    """A PutObject carrying `x-amz-tagging` sets the object's tags as it
    writes it: S3 asks for s3:PutObjectTagging as well as s3:PutObject
    (where AWS's pages leave it open, the stand-in takes the stricter)."""
    s3 = enforced("s3")
    s3.create_bucket(Bucket="lake")
    writer = _as_role_named(enforced, "writer", [
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::lake/curated/*"},
    ])("s3")
    writer.put_object(Bucket="lake", Key="curated/t/metadata/a.json", Body=b"{}")
    _denied(lambda: writer.put_object(Bucket="lake", Key="curated/t/metadata/b.json", Body=b"{}",
                                      Tagging="snaplake-audit=passed"), "s3:PutObjectTagging")
    with pytest.raises(ClientError):
        s3.head_object(Bucket="lake", Key="curated/t/metadata/b.json")
    both = _as_role_named(enforced, "both", [
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:PutObjectTagging"], "Resource": "arn:aws:s3:::lake/curated/*"},
    ])("s3")
    both.put_object(Bucket="lake", Key="curated/t/metadata/b.json", Body=b"{}", Tagging="snaplake-audit=passed")
    tags = s3.get_object_tagging(Bucket="lake", Key="curated/t/metadata/b.json")["TagSet"]
    assert tags == [{"Key": "snaplake-audit", "Value": "passed"}]


def test_athena_reads_a_tables_files_as_the_caller(enforced, tmp_path):
    """Athena reads a table's data with the credentials of whoever started the
    query: an analyst whose policy requires the audit tag cannot query a
    version before it is tagged, whatever the catalog says."""
    import time

    import duckdb

    s3, glue = enforced("s3"), enforced("glue")
    s3.create_bucket(Bucket="lake")
    path = tmp_path / "part.parquet"
    duckdb.connect().execute(f"COPY (SELECT 1::BIGINT AS id) TO '{path}' (FORMAT PARQUET)")
    s3.put_object(Bucket="lake", Key="curated/t/v=1/part.parquet", Body=path.read_bytes())
    glue.create_database(DatabaseInput={"Name": "curated"})
    glue.create_table(DatabaseName="curated", TableInput={
        "Name": "t", "StorageDescriptor": {"Location": "s3://lake/curated/t/v=1/", "Columns": [{"Name": "id", "Type": "bigint"}]}})
    athena = _as_role_named(enforced, "analyst", [
        {"Effect": "Allow", "Action": ["athena:*", "glue:*"], "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::lake"},
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "arn:aws:s3:::lake/results/*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lake/curated/*",
         "Condition": {"StringEquals": {"s3:ExistingObjectTag/snaplake-audit": "passed"}}},
    ])("athena")

    def query() -> dict:
        qid = athena.start_query_execution(QueryString="SELECT count(*) FROM t", QueryExecutionContext={"Database": "curated"},
                                           ResultConfiguration={"OutputLocation": "s3://lake/results/"})["QueryExecutionId"]
        for _ in range(100):
            status = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
            if status["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
                return status
            time.sleep(0.1)
        raise AssertionError("the query did not end")

    refused = query()
    assert refused["State"] == "FAILED", refused
    assert "Permission denied on S3 path: s3://lake/curated/t/v=1/part.parquet" in refused["StateChangeReason"], refused
    s3.put_object_tagging(Bucket="lake", Key="curated/t/v=1/part.parquet",
                          Tagging={"TagSet": [{"Key": "snaplake-audit", "Value": "passed"}]})
    assert query()["State"] == "SUCCEEDED"


def test_credential_errors_are_written_in_each_services_protocol(enforced):
    """An unknown key: JSON services (Lambda's restJson, Glue's and Step
    Functions' awsJson) answer `__type` UnrecognizedClientException, query
    services (STS) InvalidClientTokenId in XML, as AWS does; moto wrote XML
    for all, which the SDKs of JSON services read as an unknown error."""
    answers = {}
    for service, call in [
        ("lambda", lambda c: c.get_function_configuration(FunctionName="f")),
        ("glue", lambda c: c.get_databases()),
        ("stepfunctions", lambda c: c.list_state_machines()),
        ("sts", lambda c: c.get_caller_identity()),
    ]:
        with pytest.raises(ClientError) as refused:
            call(enforced(service, key_id="AKIAUNKNOWNUNKNOWN00", secret="x"))
        error = refused.value.response["Error"]
        answers[service] = (error["Code"], error["Message"], refused.value.response["ResponseMetadata"]["HTTPStatusCode"])
    invalid = "The security token included in the request is invalid."
    assert answers == {
        "lambda": ("UnrecognizedClientException", invalid, 403),
        "glue": ("UnrecognizedClientException", invalid, 403),
        "stepfunctions": ("UnrecognizedClientException", invalid, 403),
        "sts": ("InvalidClientTokenId", invalid, 403),
    }, answers


def test_a_policy_naming_a_function_is_tried_against_that_function(enforced):
    """Lambda calls on a function and Scheduler calls on a schedule are
    checked against that resource's ARN (not `*`), so a policy scoped to them
    is tried as AWS tries it."""
    fn = "arn:aws:lambda:us-east-1:123456789012:function:mine"
    lam = _as_role(enforced, allow("lambda:GetFunctionConfiguration", fn)["Statement"])("lambda")
    with pytest.raises(ClientError) as other:
        lam.get_function_configuration(FunctionName="theirs")
    assert other.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "function:theirs" in other.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as mine:
        lam.get_function_configuration(FunctionName="mine")
    assert mine.value.response["Error"]["Code"] == "ResourceNotFoundException", "allowed, then not found"


def _as_user(enforced, endpoint, statements):
    """A user holding exactly these statements (as the demo's deployer holds
    the deployer-policy submodule's), through the control route."""
    policy = {"Version": "2012-10-17", "Statement": statements}
    keys = json.loads(_post(endpoint, "/_snaplake/iam/user", json.dumps({"user": "deployer", "policy": policy})))
    return lambda service: enforced(service, keys["access_key_id"], keys["secret_access_key"])


def test_a_user_holds_exactly_the_last_policy_it_was_given(enforced, endpoint):
    topic = "arn:aws:sns:us-east-1:123456789012:snaplake-failures"
    first = _as_user(enforced, endpoint, allow("sns:CreateTopic", topic)["Statement"])("sns")
    first.create_topic(Name="snaplake-failures")
    _denied(lambda: first.create_topic(Name="other-failures"), "sns:CreateTopic", "other-failures")
    second = _as_user(enforced, endpoint, allow("sns:GetTopicAttributes", topic)["Statement"])("sns")
    second.get_topic_attributes(TopicArn=topic)
    _denied(lambda: second.create_topic(Name="snaplake-failures"), "sns:CreateTopic")
    with pytest.raises(ClientError):
        first.get_topic_attributes(TopicArn=topic)  # the first key was replaced


def test_handing_a_role_to_a_service_needs_pass_role_to_that_service(enforced, endpoint):
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "states.amazonaws.com"}}]}
    role = enforced("iam").create_role(RoleName="snaplake-pipeline", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:snaplake-pipeline"
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    create = allow("states:CreateStateMachine", machine)["Statement"]

    def pass_to(service):
        return allow("iam:PassRole", role, {"StringEquals": {"iam:PassedToService": service}})["Statement"]

    for statements in (create, create + pass_to("lambda.amazonaws.com")):
        sfn = _as_user(enforced, endpoint, statements)("stepfunctions")
        _denied(lambda: sfn.create_state_machine(name="snaplake-pipeline", definition=definition, roleArn=role), "iam:PassRole", role)
    sfn = _as_user(enforced, endpoint, create + pass_to("states.amazonaws.com"))("stepfunctions")
    _denied(lambda: sfn.create_state_machine(name="other", definition=definition, roleArn=role), "states:CreateStateMachine", "stateMachine:other")
    assert sfn.create_state_machine(name="snaplake-pipeline", definition=definition, roleArn=role)["stateMachineArn"] == machine


def test_cloudwatch_calls_are_named_cloudwatch_and_decided_on_the_alarm(enforced, endpoint):
    """CloudWatch signs as `monitoring`; IAM names its actions `cloudwatch:`."""
    alarms = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:snaplake-*"
    cw = _as_user(enforced, endpoint, allow(["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms"], alarms)["Statement"])("cloudwatch")
    alarm = dict(MetricName="Failed", Namespace="snaplake", Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                 ComparisonOperator="GreaterThanOrEqualToThreshold")
    cw.put_metric_alarm(AlarmName="snaplake-failed", **alarm)
    _denied(lambda: cw.put_metric_alarm(AlarmName="other-failed", **alarm), "cloudwatch:PutMetricAlarm", "alarm:other-failed")
    assert [a["AlarmName"] for a in cw.describe_alarms(AlarmNames=["snaplake-failed"])["MetricAlarms"]] == ["snaplake-failed"]


def test_a_key_is_created_only_with_the_tag_the_policy_asks_for_and_administered_by_it(enforced, endpoint):
    tagged = {"StringEquals": {"aws:RequestTag/snaplake": "snaplake-local"}}
    owned = {"StringEquals": {"aws:ResourceTag/snaplake": "snaplake-local"}}
    statements = allow("kms:CreateKey", "*", tagged)["Statement"] + allow("kms:DescribeKey", "arn:aws:kms:*:*:key/*", owned)["Statement"]
    kms = _as_user(enforced, endpoint, statements)("kms")
    _denied(lambda: kms.create_key(Description="untagged"), "kms:CreateKey")
    _denied(lambda: kms.create_key(Tags=[{"TagKey": "snaplake", "TagValue": "snaplake-local"}]), "kms:TagResource")
    kms = _as_user(enforced, endpoint, statements + allow("kms:TagResource", "*", tagged)["Statement"])("kms")
    _denied(lambda: kms.create_key(Tags=[{"TagKey": "snaplake", "TagValue": "another"}]), "kms:CreateKey")
    mine = kms.create_key(Tags=[{"TagKey": "snaplake", "TagValue": "snaplake-local"}])["KeyMetadata"]["KeyId"]
    assert kms.describe_key(KeyId=mine)["KeyMetadata"]["KeyId"] == mine
    theirs = enforced("kms").create_key(Tags=[{"TagKey": "snaplake", "TagValue": "another"}])["KeyMetadata"]["KeyId"]
    _denied(lambda: kms.describe_key(KeyId=theirs), "kms:DescribeKey", theirs)
