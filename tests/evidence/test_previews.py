"""Previews of what phones and offices produce (issue 15, finding 14): HEIC photos, videos, PDFs
and office documents get a rendered image, made by a background job with the real tools
(pillow-heif, ffmpeg, pdftoppm, LibreOffice headless); a file that cannot be rendered says so and
offers the download. The upload answers before the preview exists: the job runs in a worker
process after the upload commits."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select

from portfolio.core.jobs import get_queue
from portfolio.evidence.models import EvidenceItem
from portfolio.extensions import db
from tests.conftest import Client
from tests.evidence import samples
from tests.evidence.conftest import upload
from tests.jobworker import JobWorker, redis_overrides, wait_for


@pytest.fixture
def config_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    values: dict[str, Any] = {"preview_mode": "background"}
    if "job_worker" in request.fixturenames:
        values.update(redis_overrides(request))
    return values


@pytest.fixture
def job_worker(app: Flask, tmp_path: Path) -> Iterator[JobWorker]:
    get_queue().huey.flush()
    w = JobWorker(app, tmp_path)
    yield w
    w.stop()
    get_queue().huey.flush()


def odt() -> bytes:
    """A real OpenDocument text with one paragraph."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(
            zipfile.ZipInfo("mimetype"),
            "application/vnd.oasis.opendocument.text",
            compress_type=zipfile.ZIP_STORED,
        )
        z.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
            '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
            '<manifest:file-entry manifest:full-path="/" manifest:media-type='
            '"application/vnd.oasis.opendocument.text"/><manifest:file-entry '
            'manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
            "</manifest:manifest>",
        )
        z.writestr(
            "content.xml",
            '<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office='
            '"urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text='
            '"urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
            "<office:body><office:text><text:p>Weld inspection report</text:p>"
            "</office:text></office:body></office:document-content>",
        )
    return buf.getvalue()


def mp4(tmp_path: Path) -> bytes:
    """Two seconds of ffmpeg's test pattern."""
    target = tmp_path / "clip.mp4"
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi",
            "-i", "testsrc=size=320x240:rate=10", "-t", "2", "-pix_fmt", "yuv420p", str(target),
        ],
        check=True,
        timeout=120,
    )  # fmt: skip
    return target.read_bytes()


def item_of(location: str) -> EvidenceItem:
    db.session.expire_all()
    pid = location.rsplit("/", 1)[-1]
    item = db.session.scalar(select(EvidenceItem).where(EvidenceItem.public_id == pid))
    assert item is not None
    return item


needs_tools = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("ffmpeg", "pdftoppm", "soffice")),
    reason="make installs ffmpeg, poppler-utils and LibreOffice (scripts/apt-install)",
)


@needs_tools
def test_previews_are_made_in_the_background(
    app: Flask, worker_client: Client, tmp_path: Path, job_worker: JobWorker
) -> None:
    # No worker runs yet: the uploads must answer before any preview exists.
    sent = {
        "pdf": upload(worker_client, "report.pdf", samples.pdf()),
        "heic": upload(worker_client, "IMG_0007.HEIC", samples.heic((640, 480))),
        "video": upload(worker_client, "clip.mp4", mp4(tmp_path)),
        "odt": upload(worker_client, "report.odt", odt()),
        "broken": upload(worker_client, "broken.pdf", b"%PDF-1.4\n" + b"\x00garbage" * 50),
    }
    for resp in sent.values():
        assert resp.status_code == 302
    # Each page says a preview is on its way; one job per upload waits on the broker.
    for name, resp in sent.items():
        assert item_of(resp.location).preview_state == "pending", name
    page = worker_client.get(sent["odt"].location).get_data(as_text=True)
    assert "A preview is being made" in page
    assert get_queue().huey.pending_count() == len(sent)

    job_worker.start()
    wait_for(
        lambda: all(item_of(r.location).preview_state != "pending" for r in sent.values()),
        timeout=600,
    )
    for name in ("pdf", "heic", "video", "odt"):
        item = item_of(sent[name].location)
        assert item.preview_state == "ready", name
        image = worker_client.get(f"/portfolio/items/{item.public_id}/preview-image")
        assert image.status_code == 200 and image.mimetype == "image/jpeg", name
        assert image.headers["X-Content-Type-Options"] == "nosniff"
        with Image.open(io.BytesIO(image.data)) as img:
            assert img.width > 100, name
        assert item.thumbnail_key, name
    # The HEIC photo is shown as the picture itself, the video with its poster frame.
    heic_page = worker_client.get(sent["heic"].location).get_data(as_text=True)
    assert 'class="preview-image"' in heic_page and "/preview-image" in heic_page
    video_page = worker_client.get(sent["video"].location).get_data(as_text=True)
    assert "<video" in video_page and 'poster="/portfolio/items/' in video_page
    odt_page = worker_client.get(sent["odt"].location).get_data(as_text=True)
    assert "First page of report" in odt_page
    # What cannot be rendered says so and offers the download.
    broken = item_of(sent["broken"].location)
    assert broken.preview_state == "unavailable"


@needs_tools
def test_a_file_that_cannot_be_rendered_says_so(app: Flask, worker_client: Client) -> None:
    # The jobs run as soon as the upload commits (the suite's immediate queue).
    resp = upload(worker_client, "clip.mov", samples.quicktime())  # a header and no frames
    item = item_of(resp.location)
    assert item.media_type == "video/quicktime" and item.preview_state == "unavailable"
    page = worker_client.get(resp.location).get_data(as_text=True)
    assert "No preview could be made of this file. Download it to open it." in page
    assert f"/portfolio/items/{item.public_id}/download" in page
    image = worker_client.get(f"/portfolio/items/{item.public_id}/preview-image")
    assert image.status_code == 404
