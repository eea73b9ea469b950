//! S3: the few object operations snaplake needs, with errors naming the
//! bucket and key.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumMode, ServerSideEncryption};
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::error::Error;

/// The bucket exists and we may use it.
pub async fn check_bucket(client: &Client, bucket: &str) -> Result<(), Error> {
    match client.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(err) => {
            let status = err.raw_response().map(|r| r.status().as_u16());
            let (problem, fix) = match status {
                Some(404) => (
                    "it does not exist",
                    "create it, or fix SNAPLAKE_BUCKET / the request's bucket",
                ),
                Some(403) => ("access is denied", "allow s3:ListBucket on it to this function's role"),
                _ => ("it could not be reached", "check the bucket's name and region"),
            };
            Err(Error::Preflight {
                check: "bucket".into(),
                resource: format!("s3://{bucket}"),
                problem: format!("{problem} ({})", DisplayErrorContext(&err)),
                fix: fix.into(),
            })
        }
    }
}

pub async fn get_bytes(client: &Client, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, Error> {
    match client.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => Ok(Some(read_body(out.body, &format!("s3://{bucket}/{key}")).await?)),
        Err(err) => {
            if err.as_service_error().is_some_and(|e| e.is_no_such_key()) {
                Ok(None)
            } else {
                Err(Error::sdk("s3", "GetObject", &format!("s3://{bucket}/{key}"), &err))
            }
        }
    }
}

/// The SHA-256 checksum S3 keeps for an object, base64 as S3 gives it,
/// without reading the object (HeadObject in checksum mode): `None` when
/// there is no such object, `Some(None)` when it was stored without one.
pub async fn stored_sha256(client: &Client, bucket: &str, key: &str) -> Result<Option<Option<String>>, Error> {
    let request = client.head_object().bucket(bucket).key(key);
    match request.checksum_mode(ChecksumMode::Enabled).send().await {
        Ok(out) => Ok(Some(out.checksum_sha256().map(str::to_string))),
        Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
        Err(err) => Err(Error::sdk("s3", "HeadObject", &format!("s3://{bucket}/{key}"), &err)),
    }
}

pub async fn put_json(client: &Client, bucket: &str, key: &str, value: &serde_json::Value) -> Result<(), Error> {
    let body = serde_json::to_vec(value).expect("a JSON value serializes");
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|e| Error::sdk("s3", "PutObject", &format!("s3://{bucket}/{key}"), &e))?;
    Ok(())
}

/// How an object is encrypted on write: SSE-KMS with a key, SSE-S3, or the
/// bucket's default (Athena's workgroup says which for what it writes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultEncryption {
    Kms(String),
    S3Managed,
    Unset,
}

/// Writes bytes encrypted as `encryption` says (the workgroup's result
/// encryption, for a file written beside an UNLOAD's output).
pub async fn put_bytes(
    client: &Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    encryption: &ResultEncryption,
) -> Result<(), Error> {
    put_bytes_tagged(client, bucket, key, body, encryption, None).await
}

/// `put_bytes` that also sets one tag as it writes (`x-amz-tagging`: one
/// request, and the object never exists untagged; S3 asks for
/// s3:PutObjectTagging beside s3:PutObject). The tag's key and value are
/// snaplake's constants, URL-safe as they are.
pub async fn put_bytes_tagged(
    client: &Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    encryption: &ResultEncryption,
    tag: Option<(&str, &str)>,
) -> Result<(), Error> {
    let mut put = client.put_object().bucket(bucket).key(key).body(ByteStream::from(body));
    if let Some((name, value)) = tag {
        debug_assert!(
            [name, value]
                .iter()
                .all(|t| t.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)))
        );
        put = put.tagging(format!("{name}={value}"));
    }
    put = match encryption {
        ResultEncryption::Kms(key_id) => put
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(key_id),
        ResultEncryption::S3Managed => put.server_side_encryption(ServerSideEncryption::Aes256),
        ResultEncryption::Unset => put,
    };
    put.send()
        .await
        .map_err(|e| Error::sdk("s3", "PutObject", &format!("s3://{bucket}/{key}"), &e))?;
    Ok(())
}

/// Writes the object only if no object has the key (`If-None-Match: *`).
/// False when one exists, or when a concurrent conditional write to the key
/// wins: S3 lets exactly one writer create it.
pub async fn put_json_if_absent(
    client: &Client,
    bucket: &str,
    key: &str,
    value: &serde_json::Value,
) -> Result<bool, Error> {
    conditional_put(client, bucket, key, value, None).await
}

/// Replaces the object only if it still has this ETag (`If-Match`): false
/// when it changed since it was read.
pub async fn put_json_if_match(
    client: &Client,
    bucket: &str,
    key: &str,
    value: &serde_json::Value,
    etag: &str,
) -> Result<bool, Error> {
    conditional_put(client, bucket, key, value, Some(etag)).await
}

async fn conditional_put(
    client: &Client,
    bucket: &str,
    key: &str,
    value: &serde_json::Value,
    etag: Option<&str>,
) -> Result<bool, Error> {
    let body = serde_json::to_vec(value).expect("a JSON value serializes");
    let request = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .body(ByteStream::from(body));
    let request = match etag {
        Some(etag) => request.if_match(etag),
        None => request.if_none_match("*"),
    };
    match request.send().await {
        Ok(_) => Ok(true),
        Err(err) => {
            let status = err.raw_response().map(|r| r.status().as_u16());
            // 412: the condition does not hold; 409: a concurrent conditional write won.
            if matches!(status, Some(412 | 409))
                || matches!(err.code(), Some("PreconditionFailed" | "ConditionalRequestConflict"))
            {
                Ok(false)
            } else {
                Err(Error::sdk("s3", "PutObject", &format!("s3://{bucket}/{key}"), &err))
            }
        }
    }
}

/// The object's body and ETag, if it exists.
pub async fn get_with_etag(client: &Client, bucket: &str, key: &str) -> Result<Option<(Vec<u8>, String)>, Error> {
    match client.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => {
            let etag = out.e_tag().unwrap_or_default().to_string();
            Ok(Some((
                read_body(out.body, &format!("s3://{bucket}/{key}")).await?,
                etag,
            )))
        }
        Err(err) => {
            if err.as_service_error().is_some_and(|e| e.is_no_such_key()) {
                Ok(None)
            } else {
                Err(Error::sdk("s3", "GetObject", &format!("s3://{bucket}/{key}"), &err))
            }
        }
    }
}

pub async fn delete(client: &Client, bucket: &str, key: &str) -> Result<(), Error> {
    client
        .delete_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| Error::sdk("s3", "DeleteObject", &format!("s3://{bucket}/{key}"), &e))?;
    Ok(())
}

/// Sets one object's tags (all of them: S3 replaces the set). Tagging is its
/// own action (`s3:PutObjectTagging`) and leaves the object and its
/// encryption as they are.
pub async fn put_tag(client: &Client, bucket: &str, key: &str, tag: (&str, &str)) -> Result<(), Error> {
    use aws_sdk_s3::types::{Tag, Tagging};
    let tagging = Tag::builder()
        .key(tag.0)
        .value(tag.1)
        .build()
        .and_then(|t| Tagging::builder().tag_set(t).build())
        .map_err(|e| Error::invalid_input("tag", e.to_string()))?;
    client
        .put_object_tagging()
        .bucket(bucket)
        .key(key)
        .tagging(tagging)
        .send()
        .await
        .map_err(|e| {
            let err = Error::sdk("s3", "PutObjectTagging", &format!("s3://{bucket}/{key}"), &e);
            if e.code() == Some("AccessDenied") {
                err.with_fix("allow s3:PutObjectTagging on the curated prefix to the catalog-swap role")
            } else {
                err
            }
        })?;
    Ok(())
}

/// Every key under a prefix, following continuation tokens.
pub async fn list_keys(client: &Client, bucket: &str, prefix: &str) -> Result<Vec<String>, Error> {
    Ok(list_objects(client, bucket, prefix)
        .await?
        .into_iter()
        .map(|(key, _)| key)
        .collect())
}

/// Every (key, size) under a prefix, following continuation tokens.
pub async fn list_objects(client: &Client, bucket: &str, prefix: &str) -> Result<Vec<(String, i64)>, Error> {
    let mut keys = Vec::new();
    list_pages(client, bucket, prefix, None, |page| {
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| Some((o.key()?.to_string(), o.size().unwrap_or(0)))),
        )
    })
    .await?;
    Ok(keys)
}

/// The folders directly under a prefix (`<prefix><name>/`), listed with a
/// delimiter: one request per 1,000 folders, however many objects they hold.
pub async fn list_folders(client: &Client, bucket: &str, prefix: &str) -> Result<Vec<String>, Error> {
    let mut folders = Vec::new();
    list_pages(client, bucket, prefix, Some("/"), |page| {
        folders.extend(
            page.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_string)),
        )
    })
    .await?;
    Ok(folders)
}

/// Every ListObjectsV2 page under a prefix, handed to `each` in order.
async fn list_pages(
    client: &Client,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    mut each: impl FnMut(&aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output),
) -> Result<(), Error> {
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_delimiter(delimiter.map(str::to_string))
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(|e| {
                let err = Error::sdk("s3", "ListObjectsV2", &format!("s3://{bucket}/{prefix}"), &e);
                if e.code() == Some("AccessDenied") {
                    err.with_fix("allow s3:ListBucket on the bucket")
                } else {
                    err
                }
            })?;
        each(&page);
        match page.next_continuation_token() {
            Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_string()),
            _ => return Ok(()),
        }
    }
}

/// A byte range of an object (`bytes=-8` for the last 8), with the object's
/// total size from `Content-Range`.
pub async fn get_range(client: &Client, bucket: &str, key: &str, range: &str) -> Result<(Vec<u8>, u64), Error> {
    let uri = format!("s3://{bucket}/{key}");
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .range(range)
        .send()
        .await
        .map_err(|e| Error::sdk("s3", "GetObject", &uri, &e))?;
    let total = out
        .content_range()
        .and_then(|r| r.rsplit('/').next())
        .and_then(|t| t.parse::<u64>().ok())
        .ok_or_else(|| Error::invalid_input(uri.clone(), "answered a ranged GET without a Content-Range total"))?;
    Ok((read_body(out.body, &uri).await?, total))
}

/// A GetObject body, read to the end; a broken stream names the object.
async fn read_body(body: ByteStream, uri: &str) -> Result<Vec<u8>, Error> {
    let bytes = body.collect().await.map_err(|e| Error::Aws {
        service: "s3".into(),
        operation: "GetObject".into(),
        resource: uri.to_string(),
        code: "ReadBody".into(),
        message: e.to_string(),
        fix: None,
    })?;
    Ok(bytes.into_bytes().to_vec())
}

/// Deletes objects under a prefix, a listed page of at most 1,000 at a
/// time, until none is left or `budget` are deleted. Returns how many were
/// deleted and whether the prefix is empty.
pub async fn delete_prefix_within(
    client: &Client,
    bucket: &str,
    prefix: &str,
    budget: usize,
) -> Result<(usize, bool), Error> {
    let mut deleted = 0;
    while deleted < budget {
        let page = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .max_keys((budget - deleted).min(1000) as i32)
            .send()
            .await
            .map_err(|e| Error::sdk("s3", "ListObjectsV2", &format!("s3://{bucket}/{prefix}"), &e))?;
        let keys: Vec<String> = page
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect();
        if keys.is_empty() {
            return Ok((deleted, true));
        }
        delete_keys(client, bucket, prefix, &keys).await?;
        deleted += keys.len();
        if page.is_truncated() != Some(true) {
            return Ok((deleted, true));
        }
    }
    Ok((deleted, false))
}

/// Deletes every object under a prefix, 1,000 keys per call. Returns how many.
pub async fn delete_prefix(client: &Client, bucket: &str, prefix: &str) -> Result<usize, Error> {
    let keys = list_keys(client, bucket, prefix).await?;
    delete_keys(client, bucket, prefix, &keys).await?;
    Ok(keys.len())
}

/// Deletes these keys (of objects under `prefix`), 1,000 per call.
async fn delete_keys(client: &Client, bucket: &str, prefix: &str, keys: &[String]) -> Result<(), Error> {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    for chunk in keys.chunks(1000) {
        let objects = chunk
            .iter()
            .map(|k| ObjectIdentifier::builder().key(k).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::invalid_input("key", e.to_string()))?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| Error::invalid_input("keys", e.to_string()))?;
        let out = client
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| Error::sdk("s3", "DeleteObjects", &format!("s3://{bucket}/{prefix}"), &e))?;
        if let Some(failed) = out.errors().first() {
            return Err(Error::Aws {
                service: "s3".into(),
                operation: "DeleteObjects".into(),
                resource: format!("s3://{bucket}/{}", failed.key().unwrap_or(prefix)),
                code: failed.code().unwrap_or("Unknown").into(),
                message: failed.message().unwrap_or_default().into(),
                fix: Some("allow s3:DeleteObject on the curated prefix to the catalog-swap role".into()),
            });
        }
    }
    Ok(())
}
