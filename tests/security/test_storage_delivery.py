"""Issue 14, class 13: files from users never run on any origin, and the CSP names only the
configured object store.

What is sent: with S3 on the moto server, a download (the presigned GET must force
`attachment` and the checked type, even when inline is asked for), an inline preview (served by
the app with `nosniff` and a sandbox CSP, never a redirect to the bucket, with byte ranges for
video seeking), and the CSP of the app's pages on both backends (no "any https host").
"""

from __future__ import annotations

import urllib.request
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from sqlalchemy import select

from portfolio.evidence.models import EvidenceItem
from portfolio.extensions import db
from portfolio.storage import get_storage
from portfolio.storage.s3 import S3Storage
from tests.conftest import Client
from tests.evidence import samples
from tests.evidence.conftest import upload, worker, worker_client  # noqa: F401 - fixtures


def directives(csp: str) -> dict[str, list[str]]:
    out = {}
    for part in csp.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def only_item() -> EvidenceItem:
    db.session.expire_all()
    [item] = db.session.scalars(select(EvidenceItem))
    return item


class TestS3:
    @pytest.fixture
    def config_overrides(self, s3_endpoint: str) -> dict[str, Any]:
        return {
            "storage_backend": "s3",
            "s3_endpoint_url": s3_endpoint,
            "s3_bucket": f"deliver-{uuid.uuid4().hex[:16]}",
            "s3_access_key_id": "test",
            "s3_secret_access_key": "test",
        }

    @pytest.fixture(autouse=True)
    def bucket(self, app: Flask) -> S3Storage:
        storage = get_storage()
        assert isinstance(storage, S3Storage)
        storage.ensure_bucket()
        return storage

    def test_downloads_from_the_bucket_are_attachments_of_the_checked_type(
        self, worker_client: Client, bucket: S3Storage
    ) -> None:
        resp = upload(worker_client, "weld.png", samples.png())
        item = only_item()
        url = worker_client.get(f"/portfolio/items/{item.public_id}/download").location
        query = parse_qs(urlsplit(url).query)
        assert query["response-content-disposition"][0].startswith("attachment;")
        assert query["response-content-type"] == ["image/png"]
        with urllib.request.urlopen(url, timeout=30) as got:
            assert got.headers["Content-Disposition"].startswith("attachment;")
            assert got.headers["Content-Type"] == "image/png"
            assert got.read() == samples.png()
        # Asked for inline, the bucket still sends an attachment: it cannot add nosniff.
        assert item.storage_key
        inline = bucket.signed_download_url(
            item.storage_key, filename="x.png", content_type="image/png", inline=True
        )
        with urllib.request.urlopen(inline, timeout=30) as got:
            assert got.headers["Content-Disposition"].startswith("attachment;")
        assert resp.status_code == 302

    def test_inline_previews_come_through_the_app(self, worker_client: Client) -> None:
        upload(worker_client, "report.pdf", samples.pdf())
        item = only_item()
        shown = worker_client.get(f"/portfolio/items/{item.public_id}/preview")
        assert shown.status_code == 200  # not a redirect to the bucket's origin
        assert shown.data == samples.pdf()
        assert shown.mimetype == "application/pdf"
        assert shown.headers["X-Content-Type-Options"] == "nosniff"
        assert shown.headers["Content-Disposition"].startswith("inline;")
        csp = directives(shown.headers["Content-Security-Policy"])
        assert csp["default-src"] == ["'none'"] and csp["frame-ancestors"] == ["'self'"]

    def test_previews_of_other_types_are_sandboxed_and_support_ranges(
        self, worker_client: Client
    ) -> None:
        data = samples.mp4() + b"\x00" * 5000
        upload(worker_client, "clip.mp4", data)
        item = only_item()
        url = f"/portfolio/items/{item.public_id}/preview"
        full = worker_client.get(url)
        assert "sandbox" in full.headers["Content-Security-Policy"]
        assert full.headers["Accept-Ranges"] == "bytes"
        part = worker_client.get(url, headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.data == data[100:200]
        assert part.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
        tail = worker_client.get(url, headers={"Range": "bytes=-10"})
        assert tail.status_code == 206 and tail.data == data[-10:]
        assert worker_client.get(url, headers={"Range": f"bytes={len(data)}-"}).status_code == 416

    def test_csp_names_the_store_and_no_other_host(
        self, worker_client: Client, s3_endpoint: str
    ) -> None:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(s3_endpoint))
        csp = directives(worker_client.get("/portfolio/upload").headers["Content-Security-Policy"])
        for name in ("img-src", "media-src", "connect-src"):
            assert origin in csp[name], name
        for name, values in csp.items():
            assert "https:" not in values and "*" not in values, name
        assert origin not in csp["frame-src"]  # nothing from the bucket is framed


def test_csp_on_the_local_backend_allows_no_foreign_host(worker_client: Client) -> None:
    csp = directives(worker_client.get("/portfolio/").headers["Content-Security-Policy"])
    for name, values in csp.items():
        assert all(v.startswith("'") or v in ("data:", "blob:") for v in values), (name, values)


def test_a_local_inline_preview_is_sandboxed(worker_client: Client) -> None:
    data = b"Weld log: three passes, visual check done.\n"
    upload(worker_client, "notes.txt", data)
    item = only_item()
    shown = worker_client.get(f"/portfolio/items/{item.public_id}/preview")
    assert shown.status_code == 200 and shown.data == data
    assert shown.mimetype == "text/plain"
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in shown.headers["Content-Security-Policy"]
