"""Issue 14, class 6: photos do not publish where they were taken.

What is sent: a JPEG, a PNG, a WebP and a HEIC photo built here with Pillow, each carrying an
EXIF GPS position, the camera's make and model, an orientation tag (rotate 90°) and an XMP
packet with a location, uploaded through the streamed form and (JPEG, HEIC) through a direct
upload to S3 on the moto server. The stored file must have none of it, stand the right way up,
and be the file whose SHA-256 the item pins; the worker is told.
"""

from __future__ import annotations

import hashlib
import io
import urllib.request
import uuid
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select

from portfolio.evidence.models import EvidenceItem
from portfolio.extensions import db
from portfolio.storage import get_storage
from portfolio.storage.s3 import S3Storage
from tests.conftest import Client
from tests.evidence import samples
from tests.evidence.conftest import upload, worker, worker_client  # noqa: F401 - fixtures

XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="52,22.0N" '
    b'exif:GPSLongitude="4,53.0E"/></rdf:RDF></x:xmpmeta>'
)
FORMATS = [
    ("site.jpg", "JPEG", "image/jpeg"),
    ("site.png", "PNG", "image/png"),
    ("site.webp", "WEBP", "image/webp"),
    ("IMG_0042.HEIC", "HEIF", "image/heic"),
]


def exif_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "AcmePhone"  # Make
    exif[0x0110] = "Model X9"  # Model
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (52.0, 22.0, 1.5), 3: "E", 4: (4.0, 53.0, 2.0)})
    return exif.tobytes()


def photo(fmt: str) -> bytes:
    """A 64 x 48 photo with GPS, camera and XMP location data."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(out, fmt, exif=exif_with_gps(), xmp=XMP)
    data = out.getvalue()
    assert b"AcmePhone" in data
    assert dict(Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825))
    return data


def assert_clean(stored: bytes) -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()
    for marker in (b"AcmePhone", b"Model X9", b"GPSLatitude", b"GPSLongitude"):
        assert marker not in stored
    with Image.open(io.BytesIO(stored)) as img:
        assert dict(img.getexif()) == {}
        assert dict(img.getexif().get_ifd(0x8825)) == {}
        # The orientation was applied to the pixels before the tag went.
        assert img.size == (48, 64)


def only_item() -> EvidenceItem:
    db.session.expire_all()
    [item] = db.session.scalars(select(EvidenceItem))
    return item


@pytest.mark.parametrize(("name", "fmt", "media_type"), FORMATS, ids=[f[1] for f in FORMATS])
def test_streamed_photo_loses_location_and_device_data(
    app: Flask, worker_client: Client, name: str, fmt: str, media_type: str
) -> None:
    resp = upload(worker_client, name, photo(fmt))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    item = only_item()
    assert item.media_type == media_type and item.storage_key
    stored = b"".join(get_storage().iter_chunks(item.storage_key))
    assert_clean(stored)
    # The pinned hash and size are those of the stored (clean) file, and that is what is served.
    assert item.sha256 == hashlib.sha256(stored).hexdigest() and item.size == len(stored)
    page = worker_client.get(resp.location).get_data(as_text=True)
    assert "the location (GPS) and camera details were removed" in page
    download = worker_client.get(worker_client.get(f"{resp.location}/download").location)
    assert download.data == stored


def test_photo_without_metadata_is_kept_byte_for_byte(worker_client: Client) -> None:
    data = samples.jpeg()
    resp = upload(worker_client, "plain.jpg", data)
    item = only_item()
    assert item.sha256 == hashlib.sha256(data).hexdigest()
    assert "camera details were removed" not in worker_client.get(resp.location).get_data(
        as_text=True
    )


@pytest.fixture
def s3_overrides(s3_endpoint: str) -> dict[str, Any]:
    return {
        "storage_backend": "s3",
        "s3_endpoint_url": s3_endpoint,
        "s3_bucket": f"gps-{uuid.uuid4().hex[:16]}",
        "s3_access_key_id": "test",
        "s3_secret_access_key": "test",
    }


class TestDirectUploadToS3:
    @pytest.fixture
    def config_overrides(self, s3_overrides: dict[str, Any]) -> dict[str, Any]:
        return s3_overrides

    @pytest.mark.parametrize("fmt", ["JPEG", "HEIF"])
    def test_direct_upload_is_cleaned_and_the_worker_told(
        self, app: Flask, worker_client: Client, fmt: str
    ) -> None:
        storage = get_storage()
        assert isinstance(storage, S3Storage)
        storage.ensure_bucket()
        data = photo(fmt)
        headers = {
            "X-CSRFToken": worker_client.csrf_token("/portfolio/upload"),
            "Accept": "application/json",
        }
        ticket = worker_client.post(
            "/portfolio/uploads", json={"filename": "p.jpg", "size": len(data)}, headers=headers
        ).get_json()
        req = urllib.request.Request(
            ticket["url"], data=data, method="PUT", headers=ticket["headers"]
        )
        urllib.request.urlopen(req, timeout=30).close()
        done = worker_client.post(f"/portfolio/uploads/{ticket['id']}/finalize", headers=headers)
        assert done.status_code == 200, done.get_data(as_text=True)
        body = done.get_json()
        assert body["metadata_removed"] is True
        assert "location (GPS) and camera details were removed" in body["notices"][0]
        item = only_item()
        assert item.storage_key
        stored = b"".join(storage.iter_chunks(item.storage_key))
        assert_clean(stored)
        assert body["sha256"] == item.sha256 == hashlib.sha256(stored).hexdigest()
