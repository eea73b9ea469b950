"""What an S3 request needs, as S3 authorises it: the bucket policy, the
encryption headers, the KMS key behind an SSE-KMS object, a missing key.

moto 5.2.5 evaluates a bucket policy without principals or conditions (so the
stand-in used to leave out every statement with a Condition), never calls
KMS for an SSE-KMS object, and answers 404 for a missing key whoever asks.
S3 does otherwise, and so does the stand-in:

- **Bucket policy.** Every request is evaluated against it with the
  caller as principal and the context keys S3 sets: `aws:PrincipalArn`,
  `aws:SecureTransport` (true: the stand-in stands for TLS), `s3:prefix`
  on a listing, and on a write the encryption headers it carries
  (`s3:x-amz-server-side-encryption`,
  `s3:x-amz-server-side-encryption-aws-kms-key-id`,
  `s3:x-amz-server-side-encryption-customer-algorithm`). A header the
  request does not send is absent from the context: `UploadPart` carries
  none.
- **SSE-KMS.** Writing an object encrypted with a customer managed key
  (named by the request, else the bucket's default) needs
  `kms:GenerateDataKey` on it by the caller, reading one `kms:Decrypt`, and
  completing a multipart upload `kms:Decrypt`; each is evaluated against
  the key policy and the caller's identity policies, with `kms:ViaService`
  `s3.<region>.amazonaws.com` and `kms:CallerAccount`. A disabled key, or
  one pending deletion, fails the request (`KMS.DisabledException`,
  `KMS.KMSInvalidStateException`). `aws:kms` without a key id is the
  account's AWS managed key `aws/s3`, which every principal of the account
  may use through S3: not checked.
- **A missing key** answers 403 AccessDenied, not 404, to a caller who may
  not `s3:ListBucket` the bucket (a GetObject carries no `s3:prefix`, so a
  prefix-conditioned ListBucket does not count).
"""

from dataclasses import dataclass, field
from urllib.parse import unquote
import xml.etree.ElementTree as ET

SSE_HEADERS = {
    "x-amz-server-side-encryption": "s3:x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id": "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-server-side-encryption-customer-algorithm": "s3:x-amz-server-side-encryption-customer-algorithm",
}


@dataclass
class Need:
    """One (action, resource) AWS evaluates for a request, with the context
    keys the request sets and the resource's own policy."""

    action: str
    resource: str
    context: dict = field(default_factory=dict)
    policy: dict | None = None
    key_policy: bool = False
    # What the caller is told when the need is not met, if not the usual
    # "not authorized to perform" (S3's answer for a missing key).
    denial: str | None = None


class KeyUnusable(Exception):
    """S3 refuses an SSE-KMS request because of the key's state."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _bucket(account: str, name: str):
    from moto.s3.models import s3_backends

    return s3_backends[account]["global"].buckets.get(name)


def bucket_policy(account: str, name: str) -> dict | None:
    import json

    bucket = _bucket(account, name)
    if bucket is None or bucket.policy is None:
        return None
    text = bucket.policy.decode() if isinstance(bucket.policy, bytes) else bucket.policy
    return json.loads(text)


def _kms_key(key_id: str, region: str, account: str):
    from moto.kms.models import kms_backends

    try:
        return kms_backends[account][region].describe_key(key_id)
    except Exception:
        return None


def kms_needs(key_id: str | None, action: str, region: str, account: str) -> list[Need]:
    """What using an SSE-KMS key through S3 needs; nothing for the AWS
    managed key (no key id) or an unknown one (S3 answers for that itself)."""
    import json

    if not key_id:
        return []
    key = _kms_key(key_id, region, account)
    if key is None:
        return []
    if key.key_state == "Disabled":
        raise KeyUnusable("KMS.DisabledException", f"{key.arn} is disabled.")
    if key.key_state != "Enabled":
        raise KeyUnusable("KMS.KMSInvalidStateException", f"{key.arn} is pending deletion.")
    context = {"kms:ViaService": f"s3.{region}.amazonaws.com", "kms:CallerAccount": account}
    return [Need(action, key.arn, context, json.loads(key.policy), key_policy=True)]


def _default_key(bucket) -> str | None:
    rule = (getattr(bucket, "encryption", None) or {}).get("Rule") or {}
    default = rule.get("ApplyServerSideEncryptionByDefault") or {}
    return default.get("KMSMasterKeyID") if default.get("SSEAlgorithm") == "aws:kms" else None


def _object(bucket, key_name: str):
    versions = bucket.keys.getlist(key_name) if bucket is not None and key_name in bucket.keys else []
    return versions[-1] if versions else None


def needs(response, name: str, resource: str, region: str, account: str) -> list[Need]:
    """Everything S3 evaluates for this request, in order."""
    bucket_arn, _, key_name = resource.partition("/")
    bucket_name = bucket_arn.rsplit(":", 1)[-1]
    policy = bucket_policy(account, bucket_name)
    bucket = _bucket(account, bucket_name)
    qs = response.querystring or {}
    if name in ("ListBucket", "ListBucketVersions"):
        prefix = qs.get("prefix")
        context = {"s3:prefix": prefix[0] if isinstance(prefix, list) else prefix} if prefix is not None else {}
        return [Need(f"s3:{name}", bucket_arn, context, policy)]
    if response.method == "POST" and "delete" in qs:
        body = response.body.decode() if isinstance(response.body, bytes) else (response.body or "")
        keys = [e.text or "" for e in ET.fromstring(body).iter() if e.tag.endswith("Key")] if body else []
        return [Need("s3:DeleteObject", f"{bucket_arn}/{key}", {}, policy) for key in keys] or [Need("s3:DeleteObject", bucket_arn, {}, policy)]
    headers = response.headers
    if name == "PutObject":
        context = {k: headers[h] for h in SSE_HEADERS for k in [SSE_HEADERS[h]] if headers.get(h) is not None}
    elif name in ("GetObject", "GetObjectVersion"):
        context = _existing_tags(account, _object(bucket, key_name))
    else:
        context = {}
    found = [Need(f"s3:{name}", resource, context, policy)]
    if name == "PutObject" and headers.get("x-amz-tagging") is not None:
        # Tags set with the upload: s3:PutObjectTagging as well (the stricter reading).
        found.append(Need("s3:PutObjectTagging", resource, {}, policy))
    source = headers.get("x-amz-copy-source")
    if source and name == "PutObject":
        source = unquote(source).lstrip("/").split("?versionId=")[0]
        source_bucket, _, source_key = source.partition("/")
        found.append(Need("s3:GetObject", f"arn:aws:s3:::{source}", {}, bucket_policy(account, source_bucket)))
        kept = _object(_bucket(account, source_bucket), source_key)
        if kept is not None and getattr(kept, "encryption", None) == "aws:kms":
            found += kms_needs(kept.kms_key_id, "kms:Decrypt", region, account)
    if name == "PutObject" and "uploadId" not in qs:
        # PutObject, CopyObject, CreateMultipartUpload: a data key for the object's key.
        if "x-amz-server-side-encryption-customer-algorithm" not in headers:
            algorithm = headers.get("x-amz-server-side-encryption")
            key_id = headers.get("x-amz-server-side-encryption-aws-kms-key-id") if algorithm else _default_key(bucket)
            if algorithm in (None, "aws:kms", "aws:kms:dsse"):
                found += kms_needs(key_id, "kms:GenerateDataKey", region, account)
    elif name == "PutObject" and response.method == "POST":
        # CompleteMultipartUpload: S3 decrypts the parts.
        upload = (getattr(bucket, "multiparts", None) or {}).get(_first(qs.get("uploadId")))
        if upload is not None:
            found += kms_needs(upload.kms_key_id or (_default_key(bucket) if not upload.sse_encryption else None), "kms:Decrypt", region, account)
    elif name in ("GetObject", "GetObjectVersion"):
        kept = _object(bucket, key_name)
        if kept is None and bucket is not None:
            found.append(Need("s3:ListBucket", bucket_arn, {}, policy, denial="Access Denied (the key does not exist, and the caller may not s3:ListBucket the bucket)"))
        elif kept is not None and response.method == "GET" and getattr(kept, "encryption", None) == "aws:kms":
            found += kms_needs(kept.kms_key_id, "kms:Decrypt", region, account)
    return found


def _existing_tags(account: str, kept) -> dict:
    """`s3:ExistingObjectTag/<key>` for each tag the object has now (S3's
    condition keys for GetObject): moto keeps tags apart from the object."""
    if kept is None:
        return {}
    from moto.s3.models import s3_backends

    tags = s3_backends[account]["global"].tagger.list_tags_for_resource(kept.arn).get("Tags", [])
    return {f"s3:ExistingObjectTag/{t['Key']}": t["Value"] for t in tags}


def _first(value):
    return value[0] if isinstance(value, list) and value else value
