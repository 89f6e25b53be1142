"""The portfolio ZIP is built by a background job after the request commits: the data page shows
its progress, then a download link that works; the worker is mailed the link; old exports are
removed by the periodic cleanup; a worker process on the real broker does the same."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from portfolio.awards.jobs import remove_expired_exports
from portfolio.awards.models import PortfolioExport
from portfolio.core.db import utcnow
from portfolio.core.jobs import get_queue
from portfolio.extensions import db
from portfolio.storage import get_storage
from tests.conftest import Client
from tests.jobworker import JobWorker, redis_overrides, wait_for


@pytest.fixture
def config_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    return redis_overrides(request) if "job_worker" in request.fixturenames else {}


@pytest.fixture
def job_worker(app: Flask, tmp_path: Path) -> Iterator[JobWorker]:
    get_queue().huey.flush()
    w = JobWorker(app, tmp_path)
    yield w
    w.stop()
    get_queue().huey.flush()


def _download_link(page: str) -> str:
    start = page.index('href="/account/exports/') + len('href="')
    return page[start : page.index('"', start)]


def _check_zip(client: Client, page: str, earned: Any) -> None:
    s, award = earned
    resp = client.get(_download_link(page), follow_redirects=True)
    assert resp.status_code == 200
    with zipfile.ZipFile(io.BytesIO(resp.get_data())) as zf:
        assert zf.testzip() is None
        manifest = json.loads(zf.read("manifest.json"))
        for meta in manifest["evidence"] + manifest["badges"]:
            if "file" in meta:
                assert hashlib.sha256(zf.read(meta["file"])).hexdigest() == meta["sha256"]
        photo = next(m for m in manifest["evidence"] if m["id"] == s.items["photo"].public_id)
        assert photo["sha256"] == s.items["photo"].sha256
        doc = next(m for m in manifest["badges"] if m["format"] == "ob3-json")
        assert zf.read(doc["file"]).decode() == award.ob3_credential


def test_an_export_is_built_after_commit_and_mailed(
    app: Flask, client: Client, other_client: Client, earned
) -> None:
    outbox = app.extensions["portfolio.outbox"]
    outbox.clear()
    resp = client.submit("/account/exports", {}, page="/account/data")
    assert resp.status_code == 302
    page = client.get("/account/data").get_data(as_text=True)
    assert "Download the ZIP" in page and "% done" not in page
    _check_zip(client, page, earned)
    mails = [m for m in outbox if m["subject"] == "Portfolio: your export is ready"]
    assert len(mails) == 1 and mails[0]["to"] == "wren@example.org"
    assert "http://localhost/account/data" in mails[0]["body"]
    # Somebody else cannot follow the link (the assessor is logged in on `other_client`).
    assert other_client.get(_download_link(page)).status_code == 404


def test_a_rolled_back_request_queues_no_export(app: Flask, client: Client, earned) -> None:
    from portfolio.accounts.models import User
    from portfolio.awards import portability

    user = db.session.scalar(select(User).where(User.email == "wren@example.org"))
    portability.request_export(user)
    db.session.rollback()
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(PortfolioExport)) == 0
    assert list(get_storage().list_objects("exports/")) == []


def test_expired_exports_are_removed_with_their_zip(app: Flask, client: Client, earned) -> None:
    client.submit("/account/exports", {}, page="/account/data")
    export = db.session.scalars(select(PortfolioExport)).one()
    key = export.storage_key
    assert key and get_storage().exists(key)
    export.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    remove_expired_exports()  # what the scheduler runs hourly
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(PortfolioExport)) == 0
    assert not get_storage().exists(key)
    assert "Download the ZIP" not in client.get("/account/data").get_data(as_text=True)


def test_a_worker_process_builds_the_export_while_the_page_shows_progress(
    app: Flask, client: Client, earned, job_worker: JobWorker
) -> None:
    client.submit("/account/exports", {}, page="/account/data")
    # Queued on the broker, nothing built yet: the page says so and refreshes itself.
    page = client.get("/account/data").get_data(as_text=True)
    assert "Your export is being made: 0 % done." in page
    assert 'http-equiv="refresh"' in page
    job_worker.start()

    def ready() -> bool:
        db.session.expire_all()
        return db.session.scalar(select(PortfolioExport.state)) == "ready"

    wait_for(ready)
    page = client.get("/account/data").get_data(as_text=True)
    assert "Download the ZIP" in page and 'http-equiv="refresh"' not in page
    _check_zip(client, page, earned)
