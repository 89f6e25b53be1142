"""The storage protocol against a live moto S3 server over HTTP, with real boto3 signing."""

from __future__ import annotations

import io
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig

from portfolio.storage import UploadedPart, check_key, new_object_key
from portfolio.storage.s3 import S3Storage

MiB = 1024 * 1024


def s3_client(endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=BotoConfig(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


@pytest.fixture
def storage(s3_endpoint: str) -> Iterator[S3Storage]:
    """A fresh bucket per test, so parallel workers never collide."""
    client = s3_client(s3_endpoint)
    bucket = f"t-{uuid.uuid4().hex[:20]}"
    client.create_bucket(Bucket=bucket)
    yield S3Storage(client, bucket, default_expiry=60)
    for obj in client.list_objects_v2(Bucket=bucket).get("Contents", []):
        client.delete_object(Bucket=bucket, Key=obj["Key"])
    for up in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        client.abort_multipart_upload(Bucket=bucket, Key=up["Key"], UploadId=up["UploadId"])
    client.delete_bucket(Bucket=bucket)


def fetch(
    url: str,
    *,
    method: str = "GET",
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, bytes]:
    headers = {"Content-Type": "application/octet-stream", **(headers or {})}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, resp.headers, resp.read()


def test_put_open_head_exists_delete(storage: S3Storage) -> None:
    key = new_object_key("evidence/u1")
    info = storage.put(key, io.BytesIO(b"hello world"), "text/plain")
    assert info.size == 11
    assert storage.exists(key)
    head = storage.head(key)
    assert head is not None and head.size == 11 and head.content_type == "text/plain"
    assert storage.open(key).read() == b"hello world"
    assert b"".join(storage.iter_chunks(key, chunk_size=4)) == b"hello world"
    storage.delete(key)
    assert not storage.exists(key) and storage.head(key) is None
    storage.delete(key)  # deleting twice is fine
    with pytest.raises(KeyError):
        storage.open(key)


def test_large_put_goes_multipart_and_keeps_bytes(storage: S3Storage) -> None:
    key = new_object_key("evidence/u1")
    data = bytes(range(256)) * (20 * MiB // 256)
    storage.put(key, io.BytesIO(data), "application/octet-stream")
    assert storage.head(key).size == len(data)  # type: ignore[union-attr]
    assert b"".join(storage.iter_chunks(key)) == data


def test_copy(storage: S3Storage) -> None:
    src, dst = new_object_key("a"), new_object_key("b")
    storage.put(src, io.BytesIO(b"frozen"), "text/plain")
    storage.copy(src, dst)
    assert storage.open(dst).read() == b"frozen"
    with pytest.raises(KeyError):
        storage.copy(new_object_key("missing"), new_object_key("c"))


def test_signed_download_url_sets_type_and_disposition(storage: S3Storage) -> None:
    key = new_object_key("evidence/u1")
    storage.put(key, io.BytesIO(b"%PDF-1.4 fake"), "application/octet-stream")
    url = storage.signed_download_url(
        key, filename="Rapport été.pdf", content_type="application/pdf"
    )
    assert "X-Amz-Signature" in url and "X-Amz-Expires=60" in url
    status, headers, body = fetch(url)
    assert status == 200 and body == b"%PDF-1.4 fake"
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''Rapport%20%C3%A9t%C3%A9.pdf" in headers["Content-Disposition"]
    inline = storage.signed_download_url(
        key, filename="a.pdf", content_type="application/pdf", inline=True
    )
    # A response from the bucket carries no nosniff or sandbox: it is always an attachment
    # (inline previews come through the app).
    assert fetch(inline)[1]["Content-Disposition"].startswith("attachment;")


def test_presigned_upload_put(storage: S3Storage) -> None:
    key = new_object_key("evidence/u1")
    ticket = storage.presigned_upload(key, content_type="application/octet-stream", max_bytes=100)
    assert ticket.method == "PUT"
    status, headers, _ = fetch(
        ticket.url, method="PUT", data=b"browser bytes", headers=ticket.headers
    )
    assert status == 200 and headers.get("ETag")
    assert storage.open(key).read() == b"browser bytes"


def test_multipart_presigned_parts_list_complete(storage: S3Storage) -> None:
    key = new_object_key("evidence/u1")
    upload_id = storage.create_multipart_upload(key, content_type="application/octet-stream")
    part1, part2 = b"a" * (5 * MiB), b"tail"
    etags = {}
    for n, data in ((1, part1), (2, part2)):
        url = storage.presign_upload_part(key, upload_id, n)
        _, headers, _ = fetch(url, method="PUT", data=data)
        etags[n] = headers["ETag"]
    # Retry of a failed part: sending it again replaces it.
    _, headers, _ = fetch(storage.presign_upload_part(key, upload_id, 2), method="PUT", data=part2)
    parts = storage.list_parts(key, upload_id)
    assert [(p.part_number, p.size) for p in parts] == [(1, 5 * MiB), (2, 4)]
    storage.complete_multipart_upload(
        key, upload_id, [UploadedPart(2, headers["ETag"]), UploadedPart(1, etags[1])]
    )
    assert storage.head(key).size == 5 * MiB + 4  # type: ignore[union-attr]
    assert storage.open(key).read()[-5:] == b"atail"


def test_abort_multipart_leaves_nothing(storage: S3Storage) -> None:
    key = new_object_key("evidence/u1")
    upload_id = storage.create_multipart_upload(key, content_type="application/octet-stream")
    fetch(storage.presign_upload_part(key, upload_id, 1), method="PUT", data=b"x" * 100)
    storage.abort_multipart_upload(key, upload_id)
    storage.abort_multipart_upload(key, upload_id)  # twice is fine
    uploads = storage.client.list_multipart_uploads(Bucket=storage.bucket).get("Uploads", [])
    assert uploads == []
    assert storage.client.list_objects_v2(Bucket=storage.bucket).get("KeyCount", 0) == 0
    with pytest.raises(KeyError):
        storage.list_parts(key, upload_id)


def test_cors_rule_for_browser_uploads(storage: S3Storage) -> None:
    storage.apply_cors(["http://app.example"])
    rules = storage.client.get_bucket_cors(Bucket=storage.bucket)["CORSRules"]
    assert rules[0]["AllowedOrigins"] == ["http://app.example"]
    assert "PUT" in rules[0]["AllowedMethods"] and rules[0]["ExposeHeaders"] == ["ETag"]


def test_keys_are_checked() -> None:
    with pytest.raises(ValueError):
        check_key("../etc/passwd")
    with pytest.raises(ValueError):
        check_key("/abs")
