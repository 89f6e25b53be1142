"""Signing off the request path: an award "being signed" (its decision committed, its
documents not yet there) is shown as such everywhere; the signing job stores its documents
once, however many times it runs; the sweep queues again what stayed unsigned too long.

The suite's job backend runs each job when its transaction commits; these tests put an award
back in the "being signed" state to look at it, as a worker that has not got to it yet would
leave it. tests/e2e/test_signing_in_background.py does the same with a real worker process."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select, update

from portfolio.awards.jobs import SIGNING_GRACE, sign_award, sweep_awards_being_signed
from portfolio.awards.models import Award
from portfolio.core.audit import AuditEvent
from portfolio.core.db import utcnow
from portfolio.extensions import db
from tests.conftest import Client


def _back_to_being_signed(award: Award, *, age: timedelta = timedelta(0)) -> None:
    db.session.execute(
        update(Award)
        .where(Award.id == award.id)
        .values(
            signed_at=None,
            ob2_assertion=None,
            ob3_credential=None,
            ob2_sha256=None,
            ob3_sha256=None,
            issued_at=utcnow().replace(microsecond=0) - age,
        )
    )
    # The status list entry goes too: signing allocates it.
    from portfolio.awards.status_lists import StatusListEntry

    db.session.execute(
        StatusListEntry.__table__.delete().where(StatusListEntry.award_id == award.id)
    )
    db.session.commit()
    db.session.expire_all()


def _issue_events(award: Award) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "award.issue", AuditEvent.subject_id == award.public_id)
        )
        or 0
    )


def test_a_pass_issues_the_award_and_the_job_signs_it(earned: Any) -> None:
    _, award = earned
    assert award.signed_at is not None and not award.is_being_signed
    assert json.loads(award.ob3_credential)["proof"][0]["proofValue"].startswith("z")
    assert _issue_events(award) == 1


def test_a_badge_being_signed_says_so_everywhere(app: Flask, earned: Any, client: Client) -> None:
    _, award = earned
    _back_to_being_signed(award)
    aid = award.public_id
    anonymous = app.test_client()
    page = anonymous.get(f"/badges/{aid}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "This badge is being signed — it will appear in a moment." in text
    assert 'http-equiv="refresh"' in text and "This badge is valid" not in text
    for path in (
        f"/badges/{aid}/credential.json",
        f"/badges/{aid}/assertion.json",
        f"/badges/{aid}/badge-ob3.png",
        f"/badges/{aid}/badge-ob2.svg",
    ):
        resp = anonymous.get(path)
        assert resp.status_code == 404, path
        assert resp.headers["Retry-After"] == "2" and resp.headers["Cache-Control"] == "no-store"
        assert resp.get_json()["error"] == "being signed"
    vc = anonymous.get(f"/badges/{aid}", headers={"Accept": "application/vc+ld+json"})
    assert vc.status_code == 404 and vc.headers["Retry-After"] == "2"
    verdict = anonymous.get(f"/badges/{aid}/verify", headers={"Accept": "application/json"})
    assert verdict.status_code == 200
    assert verdict.get_json()["status"] == "pending" and verdict.get_json()["valid"] is False
    report = anonymous.get(f"/badges/{aid}/verify").get_data(as_text=True)
    assert "pending (being signed)" in report and "not valid" not in report
    mine = client.get("/badges").get_data(as_text=True)
    assert "This badge is being signed — it will appear in a moment." in mine
    assert "Download the badge image" not in mine


def test_the_job_signs_once_however_often_it_runs(earned: Any, client: Client) -> None:
    _, award = earned
    _back_to_being_signed(award)
    sign_award(award.public_id)
    db.session.commit()
    db.session.expire_all()
    signed = db.session.get(Award, award.id)
    assert signed is not None and signed.signed_at is not None
    first = (signed.ob3_credential, signed.ob3_sha256)
    sign_award(award.public_id)  # again: a duplicate queue entry, a retry
    db.session.commit()
    db.session.expire_all()
    again = db.session.get(Award, award.id)
    assert again is not None and (again.ob3_credential, again.ob3_sha256) == first
    assert _issue_events(award) == 2  # the pass, and the one re-signing after the reset
    page = client.get(f"/badges/{award.public_id}").get_data(as_text=True)
    assert "This badge is valid" in page


def test_the_sweep_queues_again_only_awards_unsigned_beyond_the_grace(
    earned: Any, client: Client
) -> None:
    _, award = earned
    _back_to_being_signed(award, age=SIGNING_GRACE / 2)
    sweep_awards_being_signed()
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Award, award.id).is_being_signed  # type: ignore[union-attr]
    _back_to_being_signed(award, age=SIGNING_GRACE * 2)
    sweep_awards_being_signed()
    db.session.commit()  # the re-queued job runs after this commit
    db.session.expire_all()
    assert not db.session.get(Award, award.id).is_being_signed  # type: ignore[union-attr]
    resp = client.get(f"/badges/{award.public_id}/credential.json")
    assert resp.status_code == 200 and resp.get_json()["proof"]
