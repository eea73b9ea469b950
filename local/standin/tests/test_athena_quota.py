"""Athena's active DML quota counts queued and running queries alike: one
query beyond it is refused with TooManyRequestsException (the service
quotas page of Athena's user guide). The stand-in enforces it, so a state
machine that starts more queries at once than the quota fails here as it
would on AWS."""

import json
import urllib.request

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from standin import athena as standin_athena


def _post(endpoint: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(f"{endpoint}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(request, timeout=30).read())


def test_a_query_beyond_the_active_dml_quota_is_refused_until_one_ends(aws, endpoint):
    aws("s3")  # resets the stand-in
    # no botocore retries: the refusal itself is what is checked
    athena = boto3.client("athena", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test", config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    _post(endpoint, "/_snaplake/athena/faults", {"match": "slow", "delay_seconds": 60})
    quota = standin_athena.ACTIVE_DML_QUOTA
    running = [athena.start_query_execution(QueryString=f"SELECT 'slow' AS q{i}", WorkGroup="primary")
               ["QueryExecutionId"] for i in range(quota)]
    try:
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            athena.start_query_execution(QueryString="SELECT 'slow' AS one_too_many", WorkGroup="primary")
        assert refused.value.response["Error"]["Code"] == "TooManyRequestsException"
        assert f"{quota} active DML queries" in refused.value.response["Error"]["Message"]
        athena.stop_query_execution(QueryExecutionId=running.pop())
        athena.start_query_execution(QueryString="SELECT 1 AS fits_again", WorkGroup="primary")
    finally:
        for query_id in running:
            athena.stop_query_execution(QueryExecutionId=query_id)
