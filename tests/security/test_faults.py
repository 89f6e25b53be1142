"""Faults: the S3 endpoint goes away during upload finalization, evidence viewing and
issuance; the database connection drops mid-review. Each ends with a clear message, a retry
that works once the service is back, and no partial rows, orphaned objects or duplicates.

The S3 endpoint is a moto_server process of this test's own, stopped and started here. moto
keeps data in memory, so a restarted endpoint is empty: the tests put back what a real store
would have kept before retrying.
"""

from __future__ import annotations

import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from portfolio.awards.models import Award
from portfolio.evidence.models import EvidenceItem
from portfolio.extensions import db
from portfolio.storage import get_storage
from portfolio.storage.s3 import S3Storage
from portfolio.submissions.models import Review, Submission, SubmissionState
from tests.conftest import DB_KIND, Client, MotoServer
from tests.evidence import samples
from tests.submissions.conftest import Scenario, attach_all, score_form, start, submit


@pytest.fixture
def moto() -> Iterator[MotoServer]:
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def config_overrides(moto: MotoServer) -> dict[str, Any]:
    return {
        "storage_backend": "s3",
        "s3_endpoint_url": moto.url,
        "s3_bucket": f"faults-{uuid.uuid4().hex[:12]}",
        "s3_access_key_id": "test",
        "s3_secret_access_key": "test",
    }


def _storage() -> S3Storage:
    storage = get_storage()
    assert isinstance(storage, S3Storage)
    return storage


def _put(url: str, data: bytes, headers: dict[str, str]) -> None:
    req = urllib.request.Request(url, data=data, method="PUT", headers=headers)
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


def _items() -> list[EvidenceItem]:
    db.session.expire_all()
    return list(db.session.scalars(select(EvidenceItem)))


def test_storage_down_at_upload_finalization_then_retry(
    app: Flask, client: Client, make, moto: MotoServer
) -> None:
    _storage().ensure_bucket()
    make.user(email="wren@example.org")
    client.login("wren@example.org")
    headers = {"X-CSRFToken": client.csrf_token("/portfolio/upload"), "Accept": "application/json"}
    data = samples.pdf()
    ticket = client.post(
        "/portfolio/uploads", json={"filename": "report.pdf", "size": len(data)}, headers=headers
    ).get_json()
    _put(ticket["url"], data, ticket.get("headers") or {})

    moto.stop()
    resp = client.post(f"/portfolio/uploads/{ticket['id']}/finalize", headers=headers)
    assert resp.status_code == 503, resp.status_code
    assert "try again" in resp.get_json()["message"].lower()
    # Nothing was decided: the item is still waiting, not ready and not thrown away.
    [item] = _items()
    assert item.state == "uploading"

    moto.start()  # back, but empty (moto keeps nothing): put back what S3 would have kept
    _storage().ensure_bucket()
    # The browser sent the bytes to the staging key; finalize copies them to the final key.
    _storage().client.put_object(Bucket=_storage().bucket, Key=item.staging_key, Body=data)
    resp = client.post(f"/portfolio/uploads/{ticket['id']}/finalize", headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    [item] = _items()
    assert item.state == "ready" and item.media_type == "application/pdf"


def test_storage_down_while_uploading_through_the_app_leaves_nothing(
    app: Flask, client: Client, make, moto: MotoServer
) -> None:
    _storage().ensure_bucket()
    make.user(email="wren@example.org")
    client.login("wren@example.org")
    moto.stop()
    token = client.csrf_token("/portfolio/upload")
    resp = client.put(
        "/portfolio/api/files",
        data=samples.png(),
        query_string={"filename": "a.png"},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )
    assert resp.status_code == 503
    assert _items() == []
    moto.start()
    _storage().ensure_bucket()
    resp = client.put(
        "/portfolio/api/files",
        data=samples.png(),
        query_string={"filename": "a.png"},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )
    assert resp.status_code == 201
    assert [i.state for i in _items()] == ["ready"]


def _scenario(app: Flask, make) -> Scenario:  # type: ignore[no-untyped-def]
    """The submissions scenario, with its files in this test's bucket."""
    from tests.submissions.conftest import scenario as build

    return build.__wrapped__(app, make)  # type: ignore[attr-defined,no-any-return]


def test_storage_down_during_viewing_and_issuance(
    app: Flask, client: Client, other_client: Client, make, moto: MotoServer
) -> None:
    _storage().ensure_bucket()
    s = _scenario(app, make)
    client.login("wren@example.org")
    other_client.login("sam@example.org")
    slug = s.org.slug
    pid = start(client, s)
    attach_all(client, s, pid)
    submit(client, pid)
    other_client.submit(f"/o/{slug}/queue/{pid}/claim", {}, page=f"/o/{slug}/queue")

    moto.stop()
    # Viewing: the review page and the evidence links are signed locally and still work.
    assert other_client.get(f"/o/{slug}/review/{pid}").status_code == 200
    photo = client.get(f"/portfolio/items/{s.items['photo'].public_id}")
    assert photo.status_code == 200
    # Issuance on a pass: either the decision and the badge are recorded together, or the
    # assessor is told to try again and nothing is recorded.
    form = {**score_form(s, ["Meets", "Meets", "Meets", "Meets"]), "action": "confirm"}
    resp = other_client.submit(f"/o/{slug}/review/{pid}", form)
    assert resp.status_code in (302, 503), resp.status_code
    db.session.expire_all()
    reviews = db.session.query(Review).count()
    awards = db.session.query(Award).count()
    assert (reviews, awards) in ((0, 0), (1, 1))

    moto.start()
    _storage().ensure_bucket()
    if reviews == 0:
        resp = other_client.submit(f"/o/{slug}/review/{pid}", form)
        assert resp.status_code == 302
    # A second confirmation (a double click, a retry) records nothing more.
    again = other_client.submit(f"/o/{slug}/review/{pid}", form)
    assert again.status_code in (302, 409)
    db.session.expire_all()
    assert db.session.query(Review).count() == 1
    assert db.session.query(Award).count() == 1
    sub = db.session.scalar(select(Submission).where(Submission.public_id == pid))
    assert sub is not None and sub.state == SubmissionState.PASSED


@pytest.mark.skipif(DB_KIND != "postgresql", reason="drops a PostgreSQL server connection")
def test_database_connection_dropped_mid_review(
    app: Flask, client: Client, other_client: Client, make
) -> None:
    _storage().ensure_bucket()
    s = _scenario(app, make)
    client.login("wren@example.org")
    other_client.login("sam@example.org")
    slug = s.org.slug
    pid = start(client, s)
    attach_all(client, s, pid)
    submit(client, pid)
    other_client.submit(f"/o/{slug}/queue/{pid}/claim", {}, page=f"/o/{slug}/queue")
    assert other_client.get(f"/o/{slug}/review/{pid}").status_code == 200

    # The server ends every other connection of this database: the pool's are now dead.
    db.session.execute(
        text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    )
    db.session.commit()
    form = {**score_form(s, ["Meets", "Meets", "Meets", "Meets"]), "action": "confirm"}
    resp = other_client.submit(f"/o/{slug}/review/{pid}", form)
    # The pool notices the dead connection and the review goes through, or the assessor is
    # told to try again; either way the retry leaves exactly one review and one award.
    assert resp.status_code in (302, 503)
    if resp.status_code == 503:
        resp = other_client.submit(f"/o/{slug}/review/{pid}", form)
        assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.query(Review).count() == 1
    assert db.session.query(Award).count() == 1


def test_storage_down_before_the_export_starts_then_retry(
    app: Flask, client: Client, make, moto: MotoServer
) -> None:
    """The export asks the store before the ZIP starts streaming: an outage answers a readable
    503 instead of a download that breaks off; the retry gives the whole ZIP."""
    import io
    import zipfile

    from portfolio.evidence import uploads as evidence_uploads

    _storage().ensure_bucket()
    user = make.user(email="wren@example.org")
    data = samples.pdf()
    item = evidence_uploads.upload_stream(
        user, io.BytesIO(data), filename="report.pdf", declared_size=None
    )
    db.session.commit()
    client.login("wren@example.org")

    moto.stop()
    resp = client.get("/account/export.zip")
    assert resp.status_code == 503
    assert "try again" in resp.get_data(as_text=True).lower()

    moto.start()  # back, but empty: put back what a real store would have kept
    _storage().ensure_bucket()
    _storage().client.put_object(Bucket=_storage().bucket, Key=item.storage_key, Body=data)
    resp = client.get("/account/export.zip")
    assert resp.status_code == 200
    with zipfile.ZipFile(io.BytesIO(resp.data)) as zf:
        files = [n for n in zf.namelist() if n.startswith("evidence/")]
        assert len(files) == 1 and zf.read(files[0]) == data


class _SilentEndpoint:
    """A TCP server that accepts connections and never answers: a hung S3 endpoint."""

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list[Any] = []
        self._stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self._stop = True
        for conn in self.held:
            conn.close()
        self.sock.close()


def test_slow_storage_fails_fast_with_try_again(tmp_path, database_url: str) -> None:  # type: ignore[no-untyped-def]
    """A store that accepts connections but never answers: the request gives up after the
    configured timeout with a 503 "try again", and leaves no row behind."""
    from portfolio import create_app
    from tests.conftest import make_config, reset_database

    silent = _SilentEndpoint()
    try:
        app = create_app(
            make_config(
                tmp_path,
                database_url,
                storage_backend="s3",
                s3_endpoint_url=silent.url,
                s3_bucket="slow",
                s3_access_key_id="test",
                s3_secret_access_key="test",
                s3_timeout_seconds=1,
                s3_max_attempts=1,
            )
        )
        reset_database(app)
        app.test_client_class = Client
        with app.app_context():
            from portfolio.accounts import registration

            registration.create_user("wren@example.org", "Wren", "correct horse battery")
            db.session.commit()
        client = app.test_client()
        client.login("wren@example.org")
        token = client.csrf_token("/portfolio/upload")
        resp = client.put(
            "/portfolio/api/files",
            data=samples.png(),
            query_string={"filename": "a.png"},
            headers={"X-CSRFToken": token, "Accept": "application/json"},
        )
        assert resp.status_code == 503
        assert "try again" in resp.get_json()["message"].lower()
        with app.app_context():
            assert db.session.scalar(select(func.count(EvidenceItem.id))) == 0
            db.engine.dispose()
    finally:
        silent.close()
