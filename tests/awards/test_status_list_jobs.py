"""Revocation re-signs the status list in a job after commit; until that job has run the list is
signed afresh when served, so a verifier never sees a revoked badge as valid. A rollback queues
nothing. With a worker process on the real broker the stored list catches up."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from portfolio.awards import revocation
from portfolio.awards.ob import status_list
from portfolio.awards.status_lists import StatusList
from portfolio.core.jobs import get_queue
from portfolio.extensions import db
from tests.conftest import Client
from tests.jobworker import JobWorker, redis_overrides, wait_for


@pytest.fixture
def config_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    return redis_overrides(request) if "job_worker" in request.fixturenames else {}


@pytest.fixture
def job_worker(app: Flask, tmp_path: Path) -> Iterator[JobWorker]:
    w = JobWorker(app, tmp_path)
    yield w
    w.stop()
    get_queue().huey.flush()


def _served_bit(app: Flask, credential: dict[str, Any]) -> tuple[bool, str]:
    entry = credential["credentialStatus"]
    app.test_client_class = Client
    resp = app.test_client().get("/" + entry["statusListCredential"].split("/", 3)[3])
    assert resp.status_code == 200
    bits = status_list.decode_list(resp.get_json()["credentialSubject"]["encodedList"])
    return status_list.is_set(bits, int(entry["statusListIndex"])), resp.headers["ETag"]


def _stored_bit(credential: dict[str, Any]) -> bool:
    db.session.expire_all()
    lst = db.session.scalars(select(StatusList)).one()
    listed = json.loads(lst.credential or "{}")
    bits = status_list.decode_list(listed["credentialSubject"]["encodedList"])
    return status_list.is_set(bits, int(credential["credentialStatus"]["statusListIndex"]))


def test_a_rolled_back_revocation_leaves_the_list_alone(app: Flask, earned) -> None:
    s, award = earned
    credential = json.loads(award.ob3_credential)
    before = db.session.scalars(select(StatusList)).one().sha256
    revocation.revoke_award(s.admin, award, "Issued in error.")
    db.session.rollback()
    db.session.commit()
    lst = db.session.scalars(select(StatusList)).one()
    assert lst.changed_at is None and lst.sha256 == before
    assert _served_bit(app, credential)[0] is False


def test_revocation_shows_at_once_and_the_worker_stores_the_signed_list(
    app: Flask, earned, job_worker: JobWorker
) -> None:
    s, award = earned
    credential = json.loads(award.ob3_credential)
    get_queue().huey.flush()  # the jobs of the issuance above (baking, checks) are not the point
    revocation.revoke_award(s.admin, award, "Issued in error.")
    db.session.commit()
    # The job waits on the broker; the stored list is stale, the served one is not.
    assert get_queue().huey.pending_count() >= 1
    assert _stored_bit(credential) is False
    revoked, _etag = _served_bit(app, credential)
    assert revoked
    job_worker.start()

    def published() -> bool:
        db.session.expire_all()
        return db.session.scalars(select(StatusList)).one().changed_at is None

    wait_for(published)
    assert _stored_bit(credential) is True
    revoked, etag_after = _served_bit(app, credential)
    assert revoked and etag_after.strip('"') == db.session.scalars(select(StatusList)).one().sha256
