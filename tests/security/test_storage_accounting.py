"""Issue 14, class 5: storage accounting that cannot be cheated, and no object that nothing owns.

What is sent: overlapping streamed uploads against a small quota; multipart parts larger than
the declared file; upload links used after a cancel and after a finalize (local store and S3 on
the moto server); two finalize calls at the same moment; a stream that dies half-way; orphan
objects of every kind, which `flask evidence cleanup-uploads` must remove after the grace
period on both backends while keeping everything a row points to.
"""

from __future__ import annotations

import hashlib
import io
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from portfolio.accounts.models import Role, User
from portfolio.core.audit import AuditEvent
from portfolio.core.db import utcnow
from portfolio.core.transaction import commit
from portfolio.evidence import housekeeping, quota, upload_views, uploads
from portfolio.evidence.models import EvidenceItem, EvidenceState
from portfolio.evidence.validation import UploadTooLarge
from portfolio.extensions import db
from portfolio.storage import get_storage
from portfolio.storage.reconcile import reconcile_store
from portfolio.storage.s3 import S3Storage
from tests.conftest import Client
from tests.evidence import samples

KiB = 1024
MiB = 1024 * 1024
QUOTA = 2 * MiB


def s3_settings(s3_endpoint: str) -> dict[str, Any]:
    return {
        "storage_backend": "s3",
        "s3_endpoint_url": s3_endpoint,
        "s3_bucket": f"quota-{uuid.uuid4().hex[:16]}",
        "s3_access_key_id": "test",
        "s3_secret_access_key": "test",
    }


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def config_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    # The quota tests run against a 2 MB quota; the others need room for 5 MB parts.
    small = any(word in request.node.name for word in ("overlapping", "what_is_left"))
    values: dict[str, Any] = {
        "user_quota_bytes": QUOTA if small else 40 * MiB,
        "max_upload_bytes": 40 * MiB,
    }
    if "backend" in request.fixturenames and request.getfixturevalue("backend") == "s3":
        values.update(s3_settings(request.getfixturevalue("s3_endpoint")))
    return values


@pytest.fixture
def worker(app: Flask, make: Any) -> User:
    storage = get_storage()
    if isinstance(storage, S3Storage):
        storage.ensure_bucket()
    org = make.org("Acme Welding")
    return make.user((org, Role.LEARNER), email="wren@example.org", name="Wren")  # type: ignore[no-any-return]


@pytest.fixture
def wclient(client: Client, worker: User) -> Client:
    client.login(worker.email)
    return client


def csrf(client: Client) -> dict[str, str]:
    return {"X-CSRFToken": client.csrf_token("/portfolio/upload"), "Accept": "application/json"}


def stored_keys() -> list[str]:
    return sorted(o.key for o in get_storage().list_objects())


def rows() -> list[EvidenceItem]:
    db.session.expire_all()
    return list(db.session.scalars(select(EvidenceItem).order_by(EvidenceItem.id)))


def put(client: Client, url: str, data: bytes, headers: dict[str, str]) -> int:
    """PUT to an upload URL: the app's own route (local) or the bucket (S3)."""
    if url.startswith("/"):
        return int(client.put(url, data=data, headers=headers).status_code)
    req = urllib.request.Request(url, data=data, method="PUT", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def png_of(size: int) -> bytes:
    """A valid PNG padded to about `size` bytes (trailing bytes after IEND)."""
    data = samples.png((16, 16))
    return data + b"\x00" * max(0, size - len(data))


def in_threads(app: Flask, n: int, action: Callable[[int], Any]) -> list[Any]:
    """Run `action(i)` in n threads that start together; each result or raised exception."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        with app.test_request_context():
            try:
                barrier.wait(120)
                results[i] = action(i)
            except Exception as exc:  # the outcome is what the test looks at
                db.session.rollback()
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    return results


# -- reservations ---------------------------------------------------------------------------------
def test_overlapping_streamed_uploads_never_pass_the_quota(
    app: Flask, worker: User, backend: str
) -> None:
    """Four streamed uploads of 0.9 MB against a 2 MB quota, started at the same moment and
    kept open until all four have asked for room: at most two are stored."""
    uid = worker.id
    data = png_of(900 * KiB)
    reserved = threading.Barrier(4, timeout=120)

    class SlowStream:
        """Sends the first bytes, then waits until every upload has reserved (or been refused)."""

        def __init__(self) -> None:
            self.buf = io.BytesIO(data)
            self.reads = 0

        def read(self, n: int = -1) -> bytes:
            self.reads += 1
            if self.reads == 2:
                reserved.wait()
            return self.buf.read(min(n, 64 * KiB) if self.reads == 1 else n)

    def stream(i: int) -> EvidenceItem:
        user = db.session.get(User, uid)
        assert user is not None
        try:
            return upload_views.stream_upload(
                user, SlowStream(), filename=f"p{i}.png", declared_size=len(data)
            )
        except UploadTooLarge:
            db.session.rollback()  # as the error handler does, freeing the user's row
            reserved.wait()  # refused before sending: let the others go on
            raise

    results = in_threads(app, 4, stream)
    stored = [r for r in results if isinstance(r, EvidenceItem)]
    refused = [r for r in results if isinstance(r, UploadTooLarge)]
    assert len(stored) == 2 and len(refused) == 2, results
    assert "Your portfolio is full" in refused[0].message
    assert quota.used_bytes(worker) == 2 * len(data) <= QUOTA
    assert len([k for k in stored_keys() if k.startswith("evidence/")]) == 2


def test_stream_larger_than_what_is_left_is_cut_off(wclient: Client, backend: str) -> None:
    """The bytes beyond the reservation are refused as they arrive and nothing stays."""
    data = png_of(QUOTA + 200 * KiB)
    resp = wclient.put("/portfolio/api/files?filename=big.png", data=data, headers=csrf(wclient))
    assert resp.status_code == 413
    assert "Your portfolio is full" in resp.get_json()["message"]
    assert rows() == [] and stored_keys() == []


def test_the_row_is_written_before_the_object(app: Flask, worker: User, backend: str) -> None:
    """While the bytes travel, the upload is a row in "processing" holding its reservation;
    a stream that dies half-way leaves neither a row nor an object."""
    seen: list[tuple[str, int | None]] = []

    class Dies:
        """Full reads (as the request readers give), then the connection drops."""

        calls = 0

        def read(self, n: int = -1) -> bytes:
            self.calls += 1
            if self.calls == 2:
                # Another connection sees what is committed right now.
                def look() -> None:
                    with app.app_context():
                        seen.extend(
                            (str(r.state), r.size) for r in db.session.scalars(select(EvidenceItem))
                        )
                        db.session.remove()

                t = threading.Thread(target=look)
                t.start()
                t.join(60)
            if self.calls == 3:
                raise ConnectionResetError("client went away")
            head = samples.png() if self.calls == 1 else b""
            return head + b"\x00" * (n - len(head))

    with pytest.raises(ConnectionResetError):
        upload_views.stream_upload(worker, Dies(), filename="x.png", declared_size=30 * MiB)
    assert seen == [("processing", 30 * MiB)]
    assert rows() == [] and stored_keys() == []


# -- multipart and reused links -------------------------------------------------------------------
def _put_part(client: Client, url: str, body: bytes) -> tuple[int, str | None]:
    if url.startswith("/"):
        r = client.put(url, data=body)
        return r.status_code, r.headers.get("ETag")
    req = urllib.request.Request(
        url, data=body, method="PUT", headers={"Content-Type": "application/octet-stream"}
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, r.headers.get("ETag")


def test_multipart_parts_larger_than_declared_are_refused(wclient: Client, backend: str) -> None:
    headers = csrf(wclient)
    declared = 5 * MiB + 1  # S3 parts are at least 5 MiB, except the last
    pid = wclient.post(
        "/portfolio/uploads/multipart",
        json={"filename": "v.mp4", "size": declared},
        headers=headers,
    ).get_json()["uploadId"]
    assert quota.used_bytes(rows()[0].owner) == declared  # reserved before any byte
    body = samples.mp4() + b"\x00" * (5 * MiB - len(samples.mp4()))
    url1 = wclient.get(f"/portfolio/uploads/{pid}/parts/1").get_json()["url"]
    status, etag1 = _put_part(wclient, url1, body)
    assert status == 200
    url2 = wclient.get(f"/portfolio/uploads/{pid}/parts/2").get_json()["url"]
    if backend == "local":
        # The app's own store caps each part at what is left of the declared size.
        assert _put_part(wclient, url2, body)[0] == 413
        assert [p["Size"] for p in wclient.get(f"/portfolio/uploads/{pid}/parts").get_json()] == [
            5 * MiB
        ]
        assert wclient.delete(f"/portfolio/uploads/{pid}", headers=headers).status_code == 204
    else:
        # S3 cannot cap a part: it arrives, and the upload is refused when it completes.
        status, etag2 = _put_part(wclient, url2, body)
        assert status == 200
        done = wclient.post(
            f"/portfolio/uploads/{pid}/complete",
            json={"parts": [{"PartNumber": 1, "ETag": etag1}, {"PartNumber": 2, "ETag": etag2}]},
            headers=headers,
        )
        assert done.status_code == 413
        assert "larger than the 5 MB it was announced with" in done.get_json()["message"]
    assert rows() == [] and stored_keys() == []
    assert list(get_storage().list_multipart_uploads()) == []


def test_no_part_link_once_the_parts_hold_more_than_declared(wclient: Client, backend: str) -> None:
    headers = csrf(wclient)
    pid = wclient.post(
        "/portfolio/uploads/multipart", json={"filename": "v.mp4", "size": 1000}, headers=headers
    ).get_json()["uploadId"]
    url = wclient.get(f"/portfolio/uploads/{pid}/parts/1").get_json()["url"]
    if backend == "s3":
        assert _put_part(wclient, url, b"\x00" * (2 * MiB))[0] == 200
        refused = wclient.get(f"/portfolio/uploads/{pid}/parts/2")
        assert refused.status_code == 413
        assert rows() == [] and list(get_storage().list_multipart_uploads()) == []
    else:
        assert _put_part(wclient, url, b"\x00" * 1001)[0] == 413


def test_upload_link_after_cancel_stores_nothing(app: Flask, wclient: Client, backend: str) -> None:
    headers = csrf(wclient)
    data = samples.png()
    ticket = wclient.post(
        "/portfolio/uploads", json={"filename": "a.png", "size": len(data)}, headers=headers
    ).get_json()
    assert ticket["url"].find("staging") >= 0 or ticket["url"].startswith("/storage/u/")
    assert wclient.delete(f"/portfolio/uploads/{ticket['id']}", headers=headers).status_code == 204
    status = put(wclient, ticket["url"], data, ticket["headers"])
    if backend == "local":
        assert status == 410  # the app's own store asks whether the upload still exists
        assert stored_keys() == []
    else:
        # S3 cannot be told to forget a presigned URL: the bytes land on a staging key that is
        # never served and that the reconciliation removes.
        assert status == 200
        assert all(k.startswith("staging/") for k in stored_keys())
        result = app.test_cli_runner().invoke(
            args=["evidence", "cleanup-uploads", "--older-than-hours", "0"]
        )
        assert result.exit_code == 0 and "1 object(s) that no row points to" in result.output
        assert stored_keys() == []
    assert rows() == []


def test_upload_link_after_finalize_cannot_replace_the_checked_file(
    app: Flask, wclient: Client, backend: str
) -> None:
    headers = csrf(wclient)
    data = samples.png((8, 8))
    ticket = wclient.post(
        "/portfolio/uploads", json={"filename": "a.png", "size": len(data)}, headers=headers
    ).get_json()
    assert put(wclient, ticket["url"], data, ticket["headers"]) == 200
    done = wclient.post(f"/portfolio/uploads/{ticket['id']}/finalize", headers=headers)
    assert done.status_code == 200, done.get_data(as_text=True)
    # The same link again, with 5 MB of something else.
    status = put(wclient, ticket["url"], b"\x89PNG" + b"\x00" * (5 * MiB), ticket["headers"])
    assert status == (410 if backend == "local" else 200)
    [item] = rows()
    assert item.storage_key
    stored = b"".join(get_storage().iter_chunks(item.storage_key))
    assert stored == data and hashlib.sha256(stored).hexdigest() == item.sha256
    served = wclient.get(f"/portfolio/items/{item.public_id}/preview")
    assert served.data == data
    assert quota.used_bytes(item.owner) == len(data)
    app.test_cli_runner().invoke(args=["evidence", "cleanup-uploads", "--older-than-hours", "0"])
    assert sorted(stored_keys()) == sorted(k for k in (item.storage_key, item.thumbnail_key) if k)


def test_a_finished_upload_counts_what_is_stored(wclient: Client, backend: str) -> None:
    """Declared 1 MB, sent 500 bytes: the quota counts 500 bytes from then on."""
    headers = csrf(wclient)
    data = samples.png((8, 8))
    ticket = wclient.post(
        "/portfolio/uploads", json={"filename": "a.png", "size": MiB}, headers=headers
    ).get_json()
    assert quota.used_bytes(rows()[0].owner) == MiB
    put(wclient, ticket["url"], data, ticket["headers"])
    assert (
        wclient.post(f"/portfolio/uploads/{ticket['id']}/finalize", headers=headers).status_code
        == 200
    )
    assert quota.used_bytes(rows()[0].owner) == len(data)


# -- finalize exactly once ------------------------------------------------------------------------
def test_two_finalize_calls_at_once_finish_the_upload_once(
    app: Flask, wclient: Client, worker: User, backend: str
) -> None:
    headers = csrf(wclient)
    data = samples.jpeg()
    ticket = wclient.post(
        "/portfolio/uploads", json={"filename": "a.jpg", "size": len(data)}, headers=headers
    ).get_json()
    assert put(wclient, ticket["url"], data, ticket["headers"]) == 200
    uid = worker.id

    def finalize(_: int) -> EvidenceItem:
        user = db.session.get(User, uid)
        assert user is not None
        item = uploads.finalize_upload(user, ticket["id"])
        commit()
        return item

    results = in_threads(app, 2, finalize)
    # The loser is told the upload is being finished (409), or, if it looked after the winner
    # had claimed it, that there is no upload in progress (404): never a second finalize.
    names = sorted(type(r).__name__ for r in results)
    assert names in (["Conflict", "EvidenceItem"], ["EvidenceItem", "NotFound"]), results
    [item] = rows()
    assert item.state == EvidenceState.READY and item.thumbnail_key
    thumbs = [k for k in stored_keys() if k.startswith("thumbnails/")]
    assert thumbs == [item.thumbnail_key]
    events = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "evidence.create")
    )
    assert events == 1


# -- reconciliation -------------------------------------------------------------------------------
def test_cleanup_reconciles_the_store(app: Flask, wclient: Client, backend: str) -> None:
    """Objects no row points to go once they are older than the grace period; files, thumbnails,
    logos and uploads in progress stay."""
    storage = get_storage()
    item = uploads.upload_stream(
        rows_owner := db.session.scalar(select(User).where(User.email == "wren@example.org")),
        io.BytesIO(samples.jpeg()),
        filename="kept.jpg",
        declared_size=None,
    )
    commit()  # the thumbnail is made once the upload commits
    assert rows_owner is not None
    with app.test_request_context():
        pending, _ = uploads.start_direct_upload(rows_owner, filename="p.png", size=100)
        commit()
    assert pending.staging_key
    storage.put(pending.staging_key, io.BytesIO(samples.png()), "application/octet-stream")
    orphans = ["evidence/nobody/orphan1", "thumbnails/nobody/orphan2", "staging/evidence/x/y"]
    for key in orphans:
        storage.put(key, io.BytesIO(b"left behind"), "application/octet-stream")
    multipart = storage.create_multipart_upload("staging/evidence/x/z", content_type="x/y")
    kept = {item.storage_key, item.thumbnail_key, pending.staging_key}

    # Young orphans are left alone (their row may be about to be committed).
    young = reconcile_store(storage, timedelta(hours=1), keep_keys={pending.staging_key})
    assert young.objects == 0 and set(orphans) <= set(stored_keys())
    later = utcnow() + timedelta(hours=2)
    result = reconcile_store(
        storage,
        timedelta(hours=1),
        keep_keys=housekeeping.staged_keys_in_use(),
        keep_upload_ids=housekeeping.open_upload_ids(),
        now=later,
    )
    # (moto reports every multipart upload as started in 2010, so it may go in the first run.)
    assert result.objects == 3 and young.multipart_uploads + result.multipart_uploads == 1
    assert set(stored_keys()) == kept
    assert [u for u in storage.list_multipart_uploads() if u[1] == multipart] == []
    assert wclient.get(f"/portfolio/items/{item.public_id}/preview").status_code == 200
