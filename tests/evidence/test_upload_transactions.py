"""Uploads and the one transaction of their request: when the commit fails, the objects the
upload stored are undone with the rows, so no object is left that no row points to and no row
points to a missing object."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from portfolio.core import transaction
from portfolio.evidence import upload_views
from portfolio.evidence.models import EvidenceState
from portfolio.storage import get_storage
from tests.conftest import Client
from tests.evidence import samples
from tests.evidence.conftest import upload
from tests.evidence.test_uploads import items, stored_files


class CommitFails:
    """`commit` that fails on its `fail_on`-th call (the database went away) and commits
    otherwise."""

    def __init__(self, fail_on: int) -> None:
        self.calls = 0
        self.fail_on = fail_on

    def __call__(self) -> None:
        self.calls += 1
        if self.calls == self.fail_on:
            raise RuntimeError("the database went away")
        transaction.commit()


def all_files(app: Flask) -> list[Path]:
    root = Path(app.config["PORTFOLIO"].local_storage_path)
    return [p for p in root.rglob("*") if p.is_file()]


def test_streamed_upload_whose_commit_fails_leaves_no_object_and_no_row(
    app: Flask, worker_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The reservation commits; the commit of the stored file fails.
    failing = CommitFails(fail_on=2)
    monkeypatch.setattr(upload_views, "commit", failing)
    with pytest.raises(RuntimeError, match="went away"):
        upload(worker_client, "joint.png", samples.png())
    assert failing.calls == 3  # reservation, the failed one, the reservation's removal
    assert items() == []
    assert stored_files(app) == []


def test_finalize_whose_commit_fails_keeps_the_upload_as_it_was(
    app: Flask, worker_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    csrf = {
        "X-CSRFToken": worker_client.csrf_token("/portfolio/upload"),
        "Accept": "application/json",
    }
    data = samples.png()
    ticket = worker_client.post(
        "/portfolio/uploads", json={"filename": "diagram.png", "size": len(data)}, headers=csrf
    ).get_json()
    worker_client.put(ticket["url"], data=data, headers=ticket["headers"])
    monkeypatch.setattr(upload_views, "commit", CommitFails(fail_on=1))
    with pytest.raises(RuntimeError, match="went away"):
        worker_client.post(f"/portfolio/uploads/{ticket['id']}/finalize", headers=csrf)
    [item] = items()
    assert item.state == EvidenceState.UPLOADING
    assert item.storage_key and item.staging_key
    # The copy at the final key is undone; the staged bytes stay, so finalizing can be retried.
    assert not get_storage().exists(item.storage_key)
    assert get_storage().exists(item.staging_key)
    monkeypatch.setattr(upload_views, "commit", transaction.commit)
    again = worker_client.post(f"/portfolio/uploads/{ticket['id']}/finalize", headers=csrf)
    assert again.status_code == 200 and again.get_json()["state"] == "ready"
    [item] = items()
    assert item.storage_key and get_storage().exists(item.storage_key)
    assert not get_storage().exists(item.staging_key or "")


def test_multipart_start_whose_commit_fails_leaves_no_upload_and_no_row(
    app: Flask, worker_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    csrf = {"X-CSRFToken": worker_client.csrf_token("/portfolio/upload")}
    monkeypatch.setattr(upload_views, "commit", CommitFails(fail_on=1))
    with pytest.raises(RuntimeError, match="went away"):
        worker_client.post(
            "/portfolio/uploads/multipart",
            json={"filename": "voice.wav", "size": 5000},
            headers=csrf,
        )
    assert items() == []
    assert all_files(app) == []
