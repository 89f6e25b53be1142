"""Upload flows with the S3 backend against the live moto server: nothing is left behind."""

from __future__ import annotations

import hashlib
import urllib.request
import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from portfolio.evidence.models import EvidenceItem
from portfolio.extensions import db
from portfolio.storage import get_storage
from portfolio.storage.s3 import S3Storage
from tests.conftest import Client
from tests.evidence import samples
from tests.evidence.conftest import upload

MiB = 1024 * 1024


@pytest.fixture
def config_overrides(s3_endpoint: str) -> dict[str, Any]:
    return {
        "storage_backend": "s3",
        "s3_endpoint_url": s3_endpoint,
        "s3_bucket": f"ev-{uuid.uuid4().hex[:16]}",
        "s3_access_key_id": "test",
        "s3_secret_access_key": "test",
        "max_upload_bytes": 40 * MiB,
    }


@pytest.fixture
def bucket(app: Flask) -> S3Storage:
    storage = get_storage()
    assert isinstance(storage, S3Storage)
    storage.ensure_bucket()
    return storage


def keys(storage: S3Storage) -> list[str]:
    resp = storage.client.list_objects_v2(Bucket=storage.bucket)
    return sorted(o["Key"] for o in resp.get("Contents", []))


def multipart_uploads(storage: S3Storage) -> list[Any]:
    return storage.client.list_multipart_uploads(Bucket=storage.bucket).get("Uploads", [])


def rows() -> list[EvidenceItem]:
    db.session.expire_all()
    return list(db.session.scalars(select(EvidenceItem)))


def http(url: str, method: str, data: bytes, headers: dict[str, str]) -> Any:
    req = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"Content-Type": "application/octet-stream", **headers},
    )
    return urllib.request.urlopen(req, timeout=30)


def test_streamed_upload_to_s3_multipart_sized(bucket: S3Storage, worker_client: Client) -> None:
    # Over the 8 MiB threshold, so boto3 sends it in parts from the request stream.
    data = samples.wav() + b"\x00" * (20 * MiB)
    resp = upload(worker_client, "long.wav", data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    [item] = rows()
    assert item.sha256 == hashlib.sha256(data).hexdigest() and item.size == len(data)
    assert keys(bucket) == [item.storage_key]


def test_refused_and_oversized_streamed_uploads_leave_no_object(
    bucket: S3Storage, worker_client: Client
) -> None:
    assert upload(worker_client, "report.pdf", samples.html()).status_code == 400
    big = samples.jpeg() + b"\x00" * (41 * MiB)
    assert upload(worker_client, "big.jpg", big).status_code == 413
    assert rows() == [] and keys(bucket) == [] and multipart_uploads(bucket) == []


def test_direct_upload_to_s3_then_finalize(bucket: S3Storage, worker_client: Client) -> None:
    csrf = {
        "X-CSRFToken": worker_client.csrf_token("/portfolio/upload"),
        "Accept": "application/json",
    }
    data = samples.jpeg()
    ticket = worker_client.post(
        "/portfolio/uploads", json={"filename": "a.jpg", "size": len(data)}, headers=csrf
    ).get_json()
    assert ticket["url"].startswith(bucket.client.meta.endpoint_url)
    http(ticket["url"], "PUT", data, ticket["headers"])
    body = worker_client.post(
        f"/portfolio/uploads/{ticket['id']}/finalize", headers=csrf
    ).get_json()
    assert body["state"] == "ready" and body["sha256"] == hashlib.sha256(data).hexdigest()
    [item] = rows()
    assert sorted(keys(bucket)) == sorted([item.storage_key, item.thumbnail_key])
    # Download: a short-lived signed URL on the S3 endpoint, as an attachment.
    resp = worker_client.get(f"/portfolio/items/{item.public_id}/download")
    assert resp.status_code == 302 and "X-Amz-Expires=300" in resp.location
    with urllib.request.urlopen(resp.location) as got:
        assert got.headers["Content-Disposition"].startswith("attachment;")
        assert got.read() == data


def test_refused_direct_upload_is_deleted_from_the_bucket(
    bucket: S3Storage, worker_client: Client
) -> None:
    csrf = {
        "X-CSRFToken": worker_client.csrf_token("/portfolio/upload"),
        "Accept": "application/json",
    }
    data = samples.exe()
    ticket = worker_client.post(
        "/portfolio/uploads", json={"filename": "cat.jpg", "size": len(data)}, headers=csrf
    ).get_json()
    http(ticket["url"], "PUT", data, ticket["headers"])
    assert keys(bucket) != []
    resp = worker_client.post(f"/portfolio/uploads/{ticket['id']}/finalize", headers=csrf)
    assert resp.status_code == 400
    assert "is a Windows program, not a JPEG photo" in resp.get_json()["message"]
    assert rows() == [] and keys(bucket) == []


def test_interrupted_multipart_upload_leaves_nothing(
    bucket: S3Storage, worker_client: Client
) -> None:
    csrf = {
        "X-CSRFToken": worker_client.csrf_token("/portfolio/upload"),
        "Accept": "application/json",
    }
    start = worker_client.post(
        "/portfolio/uploads/multipart", json={"filename": "v.mp4", "size": 12 * MiB}, headers=csrf
    )
    pid = start.get_json()["uploadId"]
    url = worker_client.get(f"/portfolio/uploads/{pid}/parts/1").get_json()["url"]
    http(url, "PUT", samples.mp4() + b"\x00" * (5 * MiB), {})
    assert len(multipart_uploads(bucket)) == 1
    # The connection drops; the browser (or cron cleanup) cancels the upload.
    assert worker_client.delete(f"/portfolio/uploads/{pid}", headers=csrf).status_code == 204
    assert rows() == [] and keys(bucket) == [] and multipart_uploads(bucket) == []


def test_multipart_direct_upload_completes(bucket: S3Storage, worker_client: Client) -> None:
    csrf = {
        "X-CSRFToken": worker_client.csrf_token("/portfolio/upload"),
        "Accept": "application/json",
    }
    data = samples.mp4() + b"\x00" * (6 * MiB)
    pid = worker_client.post(
        "/portfolio/uploads/multipart", json={"filename": "v.mp4", "size": len(data)}, headers=csrf
    ).get_json()["uploadId"]
    parts = []
    for n, chunk in ((1, data[: 5 * MiB]), (2, data[5 * MiB :])):
        url = worker_client.get(f"/portfolio/uploads/{pid}/parts/{n}").get_json()["url"]
        with http(url, "PUT", chunk, {}) as resp:
            parts.append({"PartNumber": n, "ETag": resp.headers["ETag"]})
    done = worker_client.post(
        f"/portfolio/uploads/{pid}/complete", json={"parts": parts}, headers=csrf
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json()["media_type"] == "video/mp4"
    assert keys(bucket) == [rows()[0].storage_key] and multipart_uploads(bucket) == []


def test_csp_allows_the_storage_origin(app: Flask, worker_client: Client, s3_endpoint: str) -> None:
    csp = worker_client.get("/portfolio/upload").headers["Content-Security-Policy"]
    connect = next(d for d in csp.split("; ") if d.startswith("connect-src"))
    assert s3_endpoint in connect
    script = next(d for d in csp.split("; ") if d.startswith("script-src"))
    assert script == "script-src 'self'"


def test_apply_cors_command_sets_the_bucket_rule(app: Flask, bucket: S3Storage) -> None:
    result = app.test_cli_runner().invoke(
        args=["evidence", "apply-cors", "--origin", "https://portfolio.example"]
    )
    assert result.exit_code == 0, result.output
    rule = bucket.client.get_bucket_cors(Bucket=bucket.bucket)["CORSRules"][0]
    assert rule["AllowedOrigins"] == ["https://portfolio.example"]
    assert set(rule["AllowedMethods"]) >= {"PUT", "POST"} and rule["ExposeHeaders"] == ["ETag"]
