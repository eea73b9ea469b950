"""Requests served in parallel, the optional latency model, and S3 event
records with every field AWS documents."""

import json
import threading
import time
import urllib.request

import botocore.exceptions
import pytest


def _control(endpoint, path, body):
    request = urllib.request.Request(f"{endpoint}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(request, timeout=30).read())


def test_latency_is_added_per_service_and_requests_are_served_in_parallel(aws, endpoint):
    s3, sqs = aws("s3"), aws("sqs")
    s3.list_buckets()
    assert _control(endpoint, "/_snaplake/latency", {"s3": 1000}) == {"s3": 1000.0}
    try:
        started = time.monotonic()
        s3.list_buckets()
        assert time.monotonic() - started >= 1.0
        started = time.monotonic()
        sqs.list_queues()
        assert time.monotonic() - started < 1.0, "only S3 is slowed"

        clients = [aws("s3") for _ in range(6)]
        threads = [threading.Thread(target=c.list_buckets) for c in clients]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        assert elapsed < 6 * 1.0 / 2, f"6 calls of 1 s took {elapsed:.2f} s: served one at a time"
    finally:
        _control(endpoint, "/_snaplake/latency", {})


def test_s3_event_records_carry_every_documented_field(aws):
    s3, sqs = aws("s3"), aws("sqs")
    s3.create_bucket(Bucket="events")
    queue = sqs.create_queue(QueueName="events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_versioning(Bucket="events", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(Bucket="events", NotificationConfiguration={
        "QueueConfigurations": [{"Id": "all", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
    version = s3.put_object(Bucket="events", Key="exports/a b.json", Body=b"{}")["VersionId"]
    s3.put_object(Bucket="events", Key="exports/c.json", Body=b"{}")
    records = []
    for _ in range(10):
        for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            records += json.loads(m["Body"]).get("Records", [])
        if len(records) >= 2:
            break
    first, second = records[0], records[1]
    assert set(first) >= {"eventVersion", "eventSource", "awsRegion", "eventTime", "eventName", "userIdentity",
                          "requestParameters", "responseElements", "s3"}
    assert first["userIdentity"]["principalId"]
    assert first["requestParameters"]["sourceIPAddress"]
    assert set(first["responseElements"]) == {"x-amz-request-id", "x-amz-id-2"}
    assert first["s3"]["bucket"]["ownerIdentity"]["principalId"]
    assert first["s3"]["object"]["key"] == "exports/a+b.json"
    assert first["s3"]["object"]["versionId"] == version
    assert first["s3"]["object"]["sequencer"] < second["s3"]["object"]["sequencer"], "sequencers grow per key event"


def test_the_first_request_since_a_reset_is_timed_on_the_machines_monotonic_clock(aws, endpoint):
    def first():
        return json.loads(urllib.request.urlopen(f"{endpoint}/_snaplake/calls/first", timeout=30).read())["monotonic"]

    _control(endpoint, "/_snaplake/calls/reset", {})
    assert first() is None
    s3 = aws("s3")
    before = time.monotonic()
    s3.list_buckets()
    arrived = first()
    assert before <= arrived <= time.monotonic(), "another process on this machine reads the same clock"
    s3.list_buckets()
    assert first() == arrived, "only the first request counts"
    _control(endpoint, "/_snaplake/calls/reset", {})
    assert first() is None


def test_a_sha256_checksum_that_is_not_the_bodys_is_refused_and_a_true_one_is_kept(aws):
    import base64
    import hashlib

    import botocore.exceptions
    import pytest

    s3 = aws("s3")
    s3.create_bucket(Bucket="checksums")
    body = b'{"tables": {}}'
    true = base64.b64encode(hashlib.sha256(body).digest()).decode()
    wrong = base64.b64encode(hashlib.sha256(b"something else").digest()).decode()
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        s3.put_object(Bucket="checksums", Key="policy.json", Body=body, ChecksumSHA256=wrong)
    assert refused.value.response["Error"]["Code"] == "BadDigest"
    assert "Contents" not in s3.list_objects_v2(Bucket="checksums"), "nothing was written"

    s3.put_object(Bucket="checksums", Key="policy.json", Body=body, ChecksumSHA256=true)
    # Computed by the client (boto3 sends it as a header or a trailer).
    s3.put_object(Bucket="checksums", Key="computed.json", Body=body, ChecksumAlgorithm="SHA256")
    for key in ["policy.json", "computed.json"]:
        head = s3.head_object(Bucket="checksums", Key=key, ChecksumMode="ENABLED")
        assert head["ChecksumSHA256"] == true, key
        assert "ChecksumSHA256" not in s3.head_object(Bucket="checksums", Key=key), "only in checksum mode"


def test_listing_under_a_prefix_answers_as_s3_does(aws):
    s3 = aws("s3")
    s3.create_bucket(Bucket="listing")
    s3.put_bucket_versioning(Bucket="listing", VersioningConfiguration={"Status": "Enabled"})
    for key in ["a/1", "a/2", "a/2", "a/x/3", "ab/1", "b/1", "a/gone"]:
        s3.put_object(Bucket="listing", Key=key, Body=b"x")
    s3.delete_object(Bucket="listing", Key="a/gone")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="listing", Prefix="a/")["Contents"]]
    assert keys == ["a/1", "a/2", "a/x/3"], "a deleted key is not listed, a key twice is listed once"
    folders = s3.list_objects_v2(Bucket="listing", Prefix="a", Delimiter="/")
    assert [p["Prefix"] for p in folders["CommonPrefixes"]] == ["a/", "ab/"]
    first = s3.list_objects_v2(Bucket="listing", Prefix="a/", MaxKeys=2)
    assert first["IsTruncated"] and [o["Key"] for o in first["Contents"]] == ["a/1", "a/2"]
    rest = s3.list_objects_v2(Bucket="listing", Prefix="a/", ContinuationToken=first["NextContinuationToken"])
    assert [o["Key"] for o in rest["Contents"]] == ["a/x/3"]
    assert len(s3.list_objects_v2(Bucket="listing")["Contents"]) == 5


def test_get_tables_answers_a_page_of_at_most_100_tables_and_a_token_as_glue_does(aws):
    glue = aws("glue")
    glue.create_database(DatabaseInput={"Name": "paged"})
    names = [f"t{i:03}" for i in range(250)]
    for name in names:
        glue.create_table(DatabaseName="paged", TableInput={"Name": name})
    first = glue.get_tables(DatabaseName="paged")
    assert len(first["TableList"]) == 100 and first["NextToken"]
    seen, token, pages = [], None, 0
    while True:
        page = glue.get_tables(DatabaseName="paged", **({"NextToken": token} if token else {}))
        seen += [t["Name"] for t in page["TableList"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert (sorted(seen), pages) == (names, 3)
    assert all("VersionId" in t for t in first["TableList"]), "the swap's optimistic lock needs each VersionId"
    small = glue.get_tables(DatabaseName="paged", MaxResults=7)
    assert len(small["TableList"]) == 7 and small["NextToken"]
    with pytest.raises(botocore.exceptions.ClientError, match="MaxResults"):
        glue.get_tables(DatabaseName="paged", MaxResults=101)
