"""Uploads with the local backend: streamed through the app, or direct with signed URLs."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from portfolio.accounts.models import User
from portfolio.core.transaction import commit
from portfolio.evidence.housekeeping import cleanup_abandoned_uploads
from portfolio.evidence.models import EvidenceItem, EvidenceState
from portfolio.extensions import db
from portfolio.storage import get_storage
from tests.conftest import Client
from tests.evidence import samples
from tests.evidence.conftest import upload
from tests.evidence.test_validation import ACCEPTED


def stored_files(app: Flask) -> list[str]:
    """Every object in the local store (type records and multipart scratch excluded)."""
    root = Path(app.config["PORTFOLIO"].local_storage_path)
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and not p.name.endswith(".type")
    )


def items() -> list[EvidenceItem]:
    db.session.expire_all()
    return list(db.session.scalars(select(EvidenceItem)))


@pytest.mark.parametrize(("name", "make_file", "expected"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_streamed_upload_of_every_family(
    app: Flask, worker_client: Client, name: str, make_file, expected: str
) -> None:
    data = make_file()
    resp = upload(worker_client, name, data, title="", tags="Site B, welding")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:400]
    [item] = items()
    assert item.state == EvidenceState.READY
    assert item.media_type == expected
    assert item.size == len(data)
    assert item.sha256 == hashlib.sha256(data).hexdigest()
    assert item.original_filename == name and item.title == name.rsplit(".", 1)[0]
    assert item.tags == ["site b", "welding"]
    assert get_storage().exists(item.storage_key)
    if expected in {"image/jpeg", "image/png", "image/webp", "image/gif"}:
        assert item.thumbnail_key and get_storage().exists(item.thumbnail_key)
    else:
        assert item.thumbnail_key is None
    page = worker_client.get(resp.location).get_data(as_text=True)
    assert item.title in page


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("report.pdf", samples.html(), "is an HTML page, not a PDF"),
        ("holiday.jpg", samples.exe(), "is a Windows program, not a JPEG photo"),
        ("drawing.svg", samples.svg(), "SVG drawing"),
        ("files.zip", samples.plain_zip(), "is a zip archive"),
        ("nothing.pdf", b"", "is empty"),
    ],
)
def test_refused_upload_says_why_and_leaves_nothing(
    app: Flask, worker_client: Client, name: str, data: bytes, message: str
) -> None:
    resp = upload(worker_client, name, data)
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    assert items() == []
    assert stored_files(app) == []


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"max_upload_bytes": 50_000, "user_quota_bytes": 120_000}


def test_oversized_file_gets_a_readable_413_and_nothing_is_kept(
    app: Flask, worker_client: Client
) -> None:
    resp = upload(worker_client, "big.txt", b"a" * 60_000)
    assert resp.status_code == 413
    page = resp.get_data(as_text=True)
    assert "limit" in page and "<html" in page
    assert items() == [] and stored_files(app) == []


def test_quota_per_worker_is_enforced_with_a_clear_message(
    app: Flask, worker_client: Client
) -> None:
    for n in range(2):
        assert upload(worker_client, f"n{n}.txt", b"x" * 45_000).status_code == 302
    resp = upload(worker_client, "n3.txt", b"y" * 45_000)
    assert resp.status_code == 413
    assert "Your portfolio is full" in resp.get_data(as_text=True)
    assert len(items()) == 2
    assert len([f for f in stored_files(app) if f.startswith("evidence/")]) == 2
    # Direct uploads are refused before any URL is handed out.
    resp = worker_client.post(
        "/portfolio/uploads",
        json={"filename": "a.pdf", "size": 45_000},
        headers={
            "X-CSRFToken": worker_client.csrf_token("/portfolio/upload"),
            "Accept": "application/json",
        },
    )
    assert resp.status_code == 413 and "full" in resp.get_json()["message"]


def test_name_with_path_and_control_characters_is_cleaned_and_not_a_key(
    app: Flask, worker_client: Client, worker: User
) -> None:
    resp = upload(worker_client, "../../etc/\x00pass\x1bwd\u202e.txt", samples.text())
    assert resp.status_code == 302
    [item] = items()
    assert item.original_filename == "passwd.txt"
    assert item.storage_key.startswith(f"evidence/{worker.public_id}/")
    assert "passwd" not in item.storage_key and ".." not in item.storage_key


def test_upload_form_requires_csrf_token(app: Flask, worker_client: Client) -> None:
    import io

    resp = worker_client.post(
        "/portfolio/upload",
        data={"file": (io.BytesIO(b"hi"), "a.txt")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 400 and "security token" in resp.get_data(as_text=True)
    assert items() == [] and stored_files(app) == []


def test_raw_api_upload_streams_the_body(app: Flask, worker_client: Client) -> None:
    token = worker_client.csrf_token("/portfolio/upload")
    data = samples.pdf()
    resp = worker_client.put(
        "/portfolio/api/files?filename=cert.pdf",
        data=data,
        headers={"X-CSRFToken": token, "Content-Type": "application/octet-stream"},
    )
    assert resp.status_code == 201, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["media_type"] == "application/pdf"
    assert body["sha256"] == hashlib.sha256(data).hexdigest()


# -- direct uploads with the local backend's signed URLs -----------------------------------------
def _direct(client: Client, name: str, data: bytes) -> Any:
    csrf = {"X-CSRFToken": client.csrf_token("/portfolio/upload"), "Accept": "application/json"}
    start = client.post(
        "/portfolio/uploads", json={"filename": name, "size": len(data)}, headers=csrf
    )
    assert start.status_code == 201, start.get_data(as_text=True)
    ticket = start.get_json()
    assert ticket["method"] == "PUT"
    put = client.put(ticket["url"], data=data, headers=ticket["headers"])
    assert put.status_code == 200 and put.headers["ETag"]
    return client.post(f"/portfolio/uploads/{ticket['id']}/finalize", headers=csrf)


def test_direct_upload_is_finalized_after_checking_content(
    app: Flask, worker_client: Client
) -> None:
    data = samples.png()
    resp = _direct(worker_client, "diagram.png", data)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["state"] == "ready" and body["media_type"] == "image/png"
    assert body["thumbnail_url"]
    thumb = worker_client.get(body["thumbnail_url"])
    assert thumb.status_code == 302
    img = worker_client.get(thumb.location)
    assert img.status_code == 200 and img.data[:3] == b"\xff\xd8\xff"


def test_direct_upload_refused_after_arrival_is_deleted(app: Flask, worker_client: Client) -> None:
    resp = _direct(worker_client, "report.pdf", samples.html())
    assert resp.status_code == 400
    assert "is an HTML page, not a PDF" in resp.get_json()["message"]
    assert items() == [] and stored_files(app) == []


def test_multipart_upload_with_local_backend(app: Flask, worker_client: Client) -> None:
    csrf = {"X-CSRFToken": worker_client.csrf_token("/portfolio/upload")}
    data = samples.wav(seconds=2)
    start = worker_client.post(
        "/portfolio/uploads/multipart",
        json={"filename": "voice.wav", "size": len(data)},
        headers=csrf,
    )
    pid = start.get_json()["uploadId"]
    half = len(data) // 2
    for n, chunk in ((1, data[:half]), (2, data[half:])):
        url = worker_client.get(f"/portfolio/uploads/{pid}/parts/{n}").get_json()["url"]
        assert worker_client.put(url, data=chunk).status_code == 200
    # A failed part is simply sent again.
    url = worker_client.get(f"/portfolio/uploads/{pid}/parts/2").get_json()["url"]
    assert worker_client.put(url, data=data[half:]).status_code == 200
    parts = worker_client.get(f"/portfolio/uploads/{pid}/parts").get_json()
    assert [p["PartNumber"] for p in parts] == [1, 2]
    done = worker_client.post(
        f"/portfolio/uploads/{pid}/complete", json={"parts": parts}, headers=csrf
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    [item] = items()
    assert item.sha256 == hashlib.sha256(data).hexdigest()
    assert item.media_type == "audio/x-wav" and item.upload_id is None
    assert stored_files(app) == [item.storage_key]


def test_cancel_and_abandoned_uploads_leave_nothing(app: Flask, worker_client: Client) -> None:
    csrf = {"X-CSRFToken": worker_client.csrf_token("/portfolio/upload")}
    data = samples.jpeg()
    # Cancelled after the bytes arrived.
    t1 = worker_client.post(
        "/portfolio/uploads", json={"filename": "a.jpg", "size": len(data)}, headers=csrf
    ).get_json()
    worker_client.put(t1["url"], data=data, headers=t1["headers"])
    assert worker_client.delete(f"/portfolio/uploads/{t1['id']}", headers=csrf).status_code == 204
    # Interrupted: started (some parts in) and never finished.
    t2 = worker_client.post(
        "/portfolio/uploads/multipart", json={"filename": "b.jpg", "size": len(data)}, headers=csrf
    ).get_json()
    url = worker_client.get(f"/portfolio/uploads/{t2['uploadId']}/parts/1").get_json()["url"]
    worker_client.put(url, data=data[:1000])
    assert len(items()) == 1
    assert cleanup_abandoned_uploads(timedelta(hours=1)) == 0  # too young to be abandoned
    assert (
        cleanup_abandoned_uploads(
            timedelta(hours=1), now=items()[0].created_at + timedelta(hours=2)
        )
        == 1
    )
    commit()  # the caller commits; then the objects and parts go
    assert items() == []
    root = Path(app.config["PORTFOLIO"].local_storage_path)
    assert [p for p in root.rglob("*") if p.is_file()] == []


def test_cleanup_command_runs(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["evidence", "cleanup-uploads"])
    assert result.exit_code == 0 and "Removed 0" in result.output
    result = app.test_cli_runner().invoke(args=["evidence", "apply-cors"])
    assert result.exit_code == 0 and "nothing to do" in result.output


def test_pending_upload_is_not_listed_or_viewable(app: Flask, worker_client: Client) -> None:
    csrf = {"X-CSRFToken": worker_client.csrf_token("/portfolio/upload")}
    t = worker_client.post(
        "/portfolio/uploads", json={"filename": "a.txt", "size": 5}, headers=csrf
    ).get_json()
    assert worker_client.get(f"/portfolio/items/{t['id']}").status_code == 404
    assert "a.txt" not in worker_client.get("/portfolio/").get_data(as_text=True)
