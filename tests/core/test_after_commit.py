"""A request whose commit fails leaves no side effect behind: no mail about a decision that was
rolled back, no deleted object that a row still names."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from portfolio.accounts.models import Organization, Role
from portfolio.awards.models import Award
from portfolio.extensions import db
from portfolio.storage import get_storage
from portfolio.submissions.models import Submission, SubmissionState
from tests.conftest import Client
from tests.submissions.conftest import (  # noqa: F401 - the scenario fixture is reused here
    Scenario,
    attach_all,
    scenario,
    score_form,
    start,
    submit,
)

PASSING = ["Meets", "Exceeds", "Meets", "Not yet"]


@contextmanager
def commit_fails_once() -> Iterator[None]:
    """The next commit of any session fails (as a lost database connection would)."""
    state = {"armed": True}

    def boom(session: Session) -> None:
        if state["armed"]:
            state["armed"] = False
            raise RuntimeError("the database went away at commit")

    event.listen(Session, "before_commit", boom)
    try:
        yield
    finally:
        event.remove(Session, "before_commit", boom)


def _claimed(worker: Client, assessor: Client, s: Scenario) -> str:
    worker.login("wren@example.org")
    assessor.login("sam@example.org")
    pid = start(worker, s)
    attach_all(worker, s, pid)
    submit(worker, pid)
    assessor.submit(f"/o/{s.org.slug}/queue/{pid}/claim", {}, page=f"/o/{s.org.slug}/queue")
    return pid


def _decide(assessor: Client, s: Scenario, pid: str) -> object:
    page = f"/o/{s.org.slug}/review/{pid}"
    form = {**score_form(s, PASSING), "action": "confirm", "csrf_token": assessor.csrf_token(page)}
    return assessor.post(page, data=form)


def test_failed_commit_after_a_pass_sends_no_mail_and_issues_nothing(
    app: Flask, client: Client, other_client: Client, scenario: Scenario
) -> None:
    pid = _claimed(client, other_client, scenario)
    outbox = app.extensions["portfolio.outbox"]
    outbox.clear()
    with commit_fails_once(), pytest.raises(RuntimeError, match="went away"):
        _decide(other_client, scenario, pid)
    assert [m for m in outbox if m["to"] == "wren@example.org"] == []
    db.session.expire_all()
    sub = db.session.scalar(select(Submission).where(Submission.public_id == pid))
    assert sub is not None and sub.state == SubmissionState.IN_REVIEW
    assert db.session.scalar(select(Award).where(Award.submission_id == sub.id)) is None

    # The same decision, committed: now the badge exists and the worker is mailed about it.
    resp = _decide(other_client, scenario, pid)
    assert resp.status_code == 302  # type: ignore[attr-defined]
    mails = [m for m in outbox if m["to"] == "wren@example.org"]
    assert len(mails) == 1 and "decided: Passed" in mails[0]["body"]
    db.session.expire_all()
    assert db.session.scalar(select(Award).where(Award.submission_id == sub.id)) is not None


def _logo() -> tuple[io.BytesIO, str]:
    png = io.BytesIO()
    Image.new("RGB", (40, 40), "navy").save(png, "PNG")
    png.seek(0)
    return png, "logo.png"


def _upload_logo(client: Client, org: Organization) -> object:
    page = f"/o/{org.slug}/settings"
    form = {
        "name": org.name,
        "url": "https://acme.example",
        "email": "badges@acme.example",
        "description": "We weld.",
        "logo": _logo(),
    }
    form["csrf_token"] = client.csrf_token(page)
    return client.post(page, data=form, content_type="multipart/form-data")


def test_failed_commit_keeps_the_old_logo_object(app: Flask, client: Client, make) -> None:  # type: ignore[no-untyped-def]
    org = make.org("Acme")
    make.user((org, Role.ADMIN), email="admin@example.org")
    client.login("admin@example.org")
    assert _upload_logo(client, org).status_code == 302  # type: ignore[attr-defined]
    db.session.expire_all()
    old_key = org.logo_key
    assert old_key and get_storage().exists(old_key)

    with commit_fails_once(), pytest.raises(RuntimeError, match="went away"):
        _upload_logo(client, org)
    db.session.expire_all()
    assert org.logo_key == old_key
    assert get_storage().exists(old_key), "the logo a row still names was deleted"
    assert client.get(f"/o/{org.slug}/logo").status_code == 200

    # Committed, the replacement removes the old object, after the commit.
    assert _upload_logo(client, org).status_code == 302  # type: ignore[attr-defined]
    db.session.expire_all()
    assert org.logo_key != old_key
    assert not get_storage().exists(old_key)
