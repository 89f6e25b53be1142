"""Issue 15, finding 2: workers see what happened on their dashboard (a card per decision,
badge issued, revoked, expiring), are told of a revocation by notification and mail, and are
reminded 30 and 7 days before a badge expires, once each, with the way to renew."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from portfolio.awards.models import Award
from portfolio.awards.notices import AwardReminder, send_expiry_reminders
from portfolio.core.db import utcnow
from portfolio.core.transaction import commit
from portfolio.extensions import db
from portfolio.submissions.models import Notification
from tests.conftest import Client


def _outbox(app: Flask) -> list[dict[str, str]]:
    return app.extensions.setdefault("portfolio.outbox", [])


def test_dashboard_shows_decision_and_revocation_with_mail(
    app: Flask, client: Client, earned: Any
) -> None:
    s, award = earned
    page = client.get("/dashboard").get_data(as_text=True)
    assert "What happened lately" in page
    assert f"Passed: {s.credential.name}" in page and "See your badge" in page

    admin = app.test_client()
    admin.login("admin@example.org")  # type: ignore[attr-defined]
    _outbox(app).clear()
    resp = admin.submit(  # type: ignore[attr-defined]
        f"/o/{s.org.slug}/awards/{award.public_id}/revoke",
        {"reason": "The weld test was not witnessed."},
        page=f"/confirm/o/{s.org.slug}/awards/{award.public_id}/revoke",
    )
    assert resp.status_code == 302
    mails = [m for m in _outbox(app) if m["to"] == "wren@example.org"]
    assert len(mails) == 1 and "revoked" in mails[0]["subject"]
    assert "The weld test was not witnessed." in mails[0]["body"]
    note = db.session.scalar(
        select(Notification)
        .where(Notification.user_id == s.worker.id)
        .order_by(Notification.id.desc())
    )
    assert note is not None and "was revoked" in note.message

    page = client.get("/dashboard").get_data(as_text=True)
    assert f"Badge revoked: {s.credential.name}" in page
    assert "Reason given: The weld test was not witnessed." in page


def test_expiry_reminders_30_and_7_days_once_each(app: Flask, client: Client, earned: Any) -> None:
    s, award = earned
    now = utcnow()
    award.expires_at = now + timedelta(days=20)
    db.session.commit()
    _outbox(app).clear()
    with app.test_request_context("/"):
        assert send_expiry_reminders(now) == 1
        commit()  # the caller commits (the job, the command); then the mail goes out
        assert send_expiry_reminders(now) == 0  # idempotent
    mails = _outbox(app)
    assert len(mails) == 1 and mails[0]["to"] == "wren@example.org"
    assert "start a new attempt" in mails[0]["body"]

    page = client.get("/dashboard").get_data(as_text=True)
    assert f"Expires in 20 days: {s.credential.name}" in page
    assert "Renew: start a new attempt" in page

    later = now + timedelta(days=14)  # 6 days left: the 7-day reminder, once
    with app.test_request_context("/"):
        assert send_expiry_reminders(later) == 1
        commit()  # the caller commits (the job, the command); then the mail goes out
        assert send_expiry_reminders(later) == 0
    assert db.session.scalar(select(func.count(AwardReminder.id))) == 2
    assert "in 6 days" in _outbox(app)[-1]["body"]

    # Renewing opens a new attempt at the same credential.
    resp = client.submit(f"/badges/{award.public_id}/renew", {}, page="/badges")
    assert resp.status_code == 302 and "/submissions/" in resp.location
    page = client.get(resp.location).get_data(as_text=True)
    assert "attempt 2" in page


def test_cli_sends_reminders(app: Flask, earned: Any) -> None:
    _s, award = earned
    db.session.get(Award, award.id).expires_at = utcnow() + timedelta(days=5)  # type: ignore[union-attr]
    db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["awards", "send-expiry-reminders"])
    assert first.exit_code == 0, first.output
    assert "1 expiry reminder(s) sent." in first.output
    again = runner.invoke(args=["awards", "send-expiry-reminders"])
    assert "0 expiry reminder(s) sent." in again.output
