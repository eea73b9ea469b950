"""Resource policies as AWS evaluates them (standin/evaluation.py,
standin/s3_access.py): bucket policies with principals and conditions, KMS
key policies behind SSE-KMS objects, and 403 for a missing key."""

import json

import pytest
from botocore.exceptions import ClientError

from standin.evaluation import decide
from test_iam import _as_role_named, _denied, enforced  # noqa: F401 (the fixture)

ACCOUNT = "123456789012"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
ROLE = {"arn": f"arn:aws:iam::{ACCOUNT}:role/fn", "account": ACCOUNT, "account_root": ROOT}
ALL_S3 = [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}]


def _bucket_policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_if_exists_on_a_negated_operator_denies_a_write_without_the_header():
    # IAM: "If the key is not present, evaluate the condition element as true".
    if_exists = _bucket_policy({"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::lake/*",
                                "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}}})
    assert decide(ALL_S3, if_exists, ROLE, "s3:PutObject", "arn:aws:s3:::lake/k", {})[0] == "Deny"
    paired = _bucket_policy({"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::lake/*",
                             "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                                           "Null": {"s3:x-amz-server-side-encryption": "false"}}})
    assert decide(ALL_S3, paired, ROLE, "s3:PutObject", "arn:aws:s3:::lake/k", {})[0] == "Allow"
    assert decide(ALL_S3, paired, ROLE, "s3:PutObject", "arn:aws:s3:::lake/k", {"s3:x-amz-server-side-encryption": "AES256"})[0] == "Deny"
    assert decide(ALL_S3, paired, ROLE, "s3:PutObject", "arn:aws:s3:::lake/k", {"s3:x-amz-server-side-encryption": "aws:kms"})[0] == "Allow"


def test_a_bucket_policy_deny_beats_an_administrators_allow_and_names_its_statement():
    policy = _bucket_policy({"Sid": "OnlyReaders", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
                             "Resource": "arn:aws:s3:::lake/exports/*",
                             "Condition": {"ArnNotLike": {"aws:PrincipalArn": [f"arn:aws:iam::{ACCOUNT}:role/reader"]}}})
    admin = {"arn": f"arn:aws:iam::{ACCOUNT}:user/admin", "account": ACCOUNT, "account_root": ROOT}
    context = {"aws:PrincipalArn": admin["arn"]}
    assert decide(ALL_S3, policy, admin, "s3:GetObject", "arn:aws:s3:::lake/exports/x", context) == ("Deny", "an explicit deny in a resource-based policy (OnlyReaders)")
    reader = dict(admin, arn=f"arn:aws:iam::{ACCOUNT}:role/reader")
    assert decide(ALL_S3, policy, reader, "s3:GetObject", "arn:aws:s3:::lake/exports/x", {"aws:PrincipalArn": reader["arn"]})[0] == "Allow"


def test_a_bucket_policy_naming_a_role_grants_it_and_naming_the_account_only_delegates():
    grant = _bucket_policy({"Effect": "Allow", "Principal": {"AWS": ROLE["arn"]}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lake/*"})
    assert decide([], grant, ROLE, "s3:GetObject", "arn:aws:s3:::lake/x", {})[0] == "Allow"
    account = _bucket_policy({"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lake/*"})
    assert decide([], account, ROLE, "s3:GetObject", "arn:aws:s3:::lake/x", {})[0] == "ImplicitDeny"


def test_a_key_policy_must_allow_whatever_iam_says():
    use = [{"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}]
    other_only = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/other"}, "Action": "kms:*", "Resource": "*"}]}
    assert decide(use, other_only, ROLE, "kms:Decrypt", "k", {}, key_policy=True)[0] == "ImplicitDeny"
    delegating = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}]}
    assert decide(use, delegating, ROLE, "kms:Decrypt", "k", {}, key_policy=True)[0] == "Allow"
    assert decide([], delegating, ROLE, "kms:Decrypt", "k", {}, key_policy=True)[0] == "ImplicitDeny"
    naming = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": ROLE["arn"]}, "Action": "kms:Decrypt", "Resource": "*"}]}
    assert decide([], naming, ROLE, "kms:Decrypt", "k", {}, key_policy=True)[0] == "Allow"


# -- against the server ----------------------------------------------------------


def _lake(enforced, key_policy_for=None):
    """A bucket whose default encryption is a customer managed key; the key
    policy lets the account administer it and `key_policy_for` use it."""
    s3, kms = enforced("s3"), enforced("kms")
    statements = [{"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": ["kms:Describe*", "kms:Get*", "kms:Put*", "kms:Disable*", "kms:Enable*"], "Resource": "*"}]
    if key_policy_for:
        statements.append({"Sid": "Use", "Effect": "Allow", "Principal": {"AWS": key_policy_for}, "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"})
    key = kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))["KeyMetadata"]["Arn"]
    s3.create_bucket(Bucket="lake")
    s3.put_bucket_encryption(Bucket="lake", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]})
    return s3, kms, key


def test_a_missing_key_is_403_without_list_bucket_and_404_with_it(enforced):
    s3 = enforced("s3")
    s3.create_bucket(Bucket="lake")
    objects = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lake/*"}
    prefixed = _as_role_named(enforced, "prefixed", [objects, {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::lake",
                                                               "Condition": {"StringLike": {"s3:prefix": ["locks/*"]}}}])
    with pytest.raises(ClientError) as caught:
        prefixed("s3").get_object(Bucket="lake", Key="locks/day.json")
    assert caught.value.response["Error"]["Code"] == "AccessDenied", "a prefix-conditioned ListBucket does not count"
    with pytest.raises(ClientError) as caught:
        prefixed("s3").head_object(Bucket="lake", Key="locks/day.json")
    assert caught.value.response["Error"]["Code"] in ("403", "AccessDenied")
    listing = _as_role_named(enforced, "listing", [objects, {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::lake"}])
    with pytest.raises(ClientError) as caught:
        listing("s3").get_object(Bucket="lake", Key="locks/day.json")
    assert caught.value.response["Error"]["Code"] == "NoSuchKey"


def test_the_bucket_policy_is_evaluated_with_the_caller_and_the_encryption_headers(enforced):
    s3 = enforced("s3")
    s3.create_bucket(Bucket="lake")
    reader = _as_role_named(enforced, "reader", [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::lake/*"}])
    s3.put_bucket_policy(Bucket="lake", Policy=json.dumps(_bucket_policy(
        {"Sid": "ExportsOnlyForReader", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lake/exports/*",
         "Condition": {"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/reader"}}},
        {"Sid": "OnlySseKms", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::lake/*",
         "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}, "Null": {"s3:x-amz-server-side-encryption": "false"}}},
        {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::lake", "arn:aws:s3:::lake/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    )))
    s3.put_object(Bucket="lake", Key="exports/a", Body=b"a")
    _denied(lambda: s3.get_object(Bucket="lake", Key="exports/a"), "s3:GetObject", "ExportsOnlyForReader")
    assert reader("s3").get_object(Bucket="lake", Key="exports/a")["Body"].read() == b"a"
    _denied(lambda: reader("s3").put_object(Bucket="lake", Key="x", Body=b"x", ServerSideEncryption="AES256"), "OnlySseKms")
    # UploadPart carries no encryption header: the paired Null lets it through.
    upload = reader("s3").create_multipart_upload(Bucket="lake", Key="big")["UploadId"]
    part = reader("s3").upload_part(Bucket="lake", Key="big", UploadId=upload, PartNumber=1, Body=b"p")
    reader("s3").complete_multipart_upload(Bucket="lake", Key="big", UploadId=upload,
                                           MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})


def test_sse_kms_objects_need_the_key_by_the_caller_under_the_key_policy(enforced):
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/writer"
    s3, kms, key = _lake(enforced, key_policy_for=role_arn)
    objects = {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"], "Resource": ["arn:aws:s3:::lake", "arn:aws:s3:::lake/*"]}
    writer = _as_role_named(enforced, "writer", [objects, {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": key}])
    keyless = _as_role_named(enforced, "keyless", [objects])
    outsider = _as_role_named(enforced, "outsider", [objects, {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}])
    writer("s3").put_object(Bucket="lake", Key="k", Body=b"v")
    head = writer("s3").head_object(Bucket="lake", Key="k")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key, "the object carries the bucket's default key"
    assert writer("s3").get_object(Bucket="lake", Key="k")["Body"].read() == b"v"
    # The key policy names only the writer: IAM alone grants nothing.
    _denied(lambda: outsider("s3").put_object(Bucket="lake", Key="o", Body=b"v"), "kms:GenerateDataKey", key)
    _denied(lambda: outsider("s3").get_object(Bucket="lake", Key="k"), "kms:Decrypt", key)
    outsider("s3").head_object(Bucket="lake", Key="k")  # no key needed for metadata
    _denied(lambda: keyless("s3").get_object(Bucket="lake", Key="k"), "kms:Decrypt")
    kms.disable_key(KeyId=key.split("/")[-1])  # moto 5.2.5 takes only the id here
    with pytest.raises(ClientError) as caught:
        writer("s3").get_object(Bucket="lake", Key="k")
    assert caught.value.response["Error"]["Code"] == "KMS.DisabledException", caught.value.response


def test_bucket_requests_need_the_actions_aws_names_and_head_bucket_is_a_listing(enforced):
    # moto named GetBucketEncryption s3:ListBucket and PutBucketEncryption
    # s3:CreateBucket; the Service Authorization Reference names them
    # s3:GetEncryptionConfiguration and s3:PutEncryptionConfiguration, and
    # HeadBucket needs s3:ListBucket.
    s3 = enforced("s3")
    s3.create_bucket(Bucket="lake")
    s3.put_bucket_policy(Bucket="lake", Policy=json.dumps(_bucket_policy(
        {"Sid": "NoListing", "Effect": "Deny", "Principal": "*", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::lake"})))
    s3.put_bucket_encryption(Bucket="lake", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3.get_bucket_encryption(Bucket="lake")
    with pytest.raises(ClientError) as caught:
        s3.head_bucket(Bucket="lake")
    assert caught.value.response["Error"]["Code"] in ("403", "AccessDenied")
    encryption_only = _as_role_named(enforced, "encryption", [{"Effect": "Allow", "Action": "s3:GetEncryptionConfiguration", "Resource": "arn:aws:s3:::lake"}])
    encryption_only("s3").get_bucket_encryption(Bucket="lake")


def _athena_end(athena, query_id):
    import time

    for _ in range(300):
        status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
        if status["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return status
        time.sleep(0.05)
    raise AssertionError("the query did not end")


def test_athena_unloads_with_the_callers_rights_and_the_workgroups_key(enforced):
    # Athena writes UNLOAD's files with the caller's permissions, encrypted
    # as the workgroup's result configuration says.
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    readers = [f"arn:aws:iam::{ACCOUNT}:role/{r}" for r in ("analyst", "blind")] + [f"arn:aws:iam::{ACCOUNT}:user/snaplake-admin"]
    s3, kms, raw_key = _lake(enforced, key_policy_for=readers)
    curated_key = kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}]}))["KeyMetadata"]["Arn"]
    out = io.BytesIO()
    pq.write_table(pa.table({"id": pa.array([1, 2], pa.int64())}), out)
    s3.put_object(Bucket="lake", Key="exports/t/part-0.parquet", Body=out.getvalue())
    glue = enforced("glue")
    glue.create_database(DatabaseInput={"Name": "raw"})
    glue.create_table(DatabaseName="raw", TableInput={"Name": "t", "StorageDescriptor": {
        "Columns": [{"Name": "id", "Type": "bigint"}], "Location": "s3://lake/exports/t/"}})
    enforced("athena").create_work_group(Name="wg", Configuration={"ResultConfiguration": {
        "OutputLocation": "s3://lake/results/",
        "EncryptionConfiguration": {"EncryptionOption": "SSE_KMS", "KmsKey": curated_key}}})
    everything_but_exports = [
        {"Effect": "Allow", "Action": ["athena:*", "glue:*", "kms:*", "s3:ListBucket"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::lake/curated/*"},
    ]
    reader = _as_role_named(enforced, "analyst", everything_but_exports + [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lake/exports/*"}])
    unload = "UNLOAD (SELECT id FROM raw.t) TO 's3://lake/curated/t/v=1/' WITH (format = 'PARQUET')"
    athena = reader("athena")
    status = _athena_end(athena, athena.start_query_execution(QueryString=unload, WorkGroup="wg")["QueryExecutionId"])
    assert status["State"] == "SUCCEEDED", status
    written = s3.list_objects_v2(Bucket="lake", Prefix="curated/t/v=1/")["Contents"][0]["Key"]
    assert s3.head_object(Bucket="lake", Key=written)["SSEKMSKeyId"] == curated_key, "UNLOAD writes with the workgroup's key"

    kms.disable_key(KeyId=curated_key.split("/")[-1])  # moto 5.2.5 takes the id, not the ARN
    athena = reader("athena")
    again = unload.replace("v=1", "v=3")
    status = _athena_end(athena, athena.start_query_execution(QueryString=again, WorkGroup="wg")["QueryExecutionId"])
    assert status["State"] == "FAILED" and curated_key in status["StateChangeReason"] and "disabled" in status["StateChangeReason"], status


def test_an_export_to_a_role_or_key_that_does_not_exist_is_refused(enforced):
    rds, iam, kms = enforced("rds"), enforced("iam"), enforced("kms")
    enforced("s3").create_bucket(Bucket="lake")
    rds.create_db_cluster(DBClusterIdentifier="db", Engine="aurora-mysql", MasterUsername="admin", MasterUserPassword="not-a-secret-123")
    snapshot = rds.describe_db_cluster_snapshots(DBClusterIdentifier="db")["DBClusterSnapshots"][0]["DBClusterSnapshotArn"]
    key = kms.create_key()["KeyMetadata"]["Arn"]
    role = iam.create_role(RoleName="export", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "export.rds.amazonaws.com"}}]}))["Role"]["Arn"]
    start = dict(ExportTaskIdentifier="e1", SourceArn=snapshot, S3BucketName="lake")
    with pytest.raises(ClientError) as caught:
        rds.start_export_task(**start, IamRoleArn=f"arn:aws:iam::{ACCOUNT}:role/nobody", KmsKeyId=key)
    assert caught.value.response["Error"]["Code"] == "IamRoleNotFound"
    with pytest.raises(ClientError) as caught:
        rds.start_export_task(**start, IamRoleArn=role, KmsKeyId=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000")
    assert caught.value.response["Error"]["Code"] == "KMSKeyNotAccessibleFault"
    rds.start_export_task(**start, IamRoleArn=role, KmsKeyId=key)
