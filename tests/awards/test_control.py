"""Revocation (admins, with a reason, once, audited) and the worker's badge list and controls."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from portfolio.accounts.models import Role
from portfolio.awards import issuance, revocation, visibility
from portfolio.core.audit import AuditEvent
from portfolio.core.errors import Conflict, DomainError, Forbidden, NotFound
from portfolio.extensions import db
from tests.conftest import Client

LD = {"Accept": "application/ld+json"}


def _anon(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


def test_admin_revokes_with_a_reason_once(app: Flask, earned: Any) -> None:
    s, award = earned
    admin = _anon(app)
    admin.login("admin@example.org")
    slug = s.org.slug
    page = admin.get(f"/o/{slug}/awards").get_data(as_text=True)
    assert "Wren Worker" in page and award.public_id in page
    url = f"/o/{slug}/awards/{award.public_id}/revoke"
    resp = admin.submit(url, {"reason": "  "}, page=f"/o/{slug}/awards", follow_redirects=True)
    assert "Give a reason" in resp.get_data(as_text=True)
    resp = admin.submit(
        url, {"reason": "Evidence was not the worker's own."}, page=f"/o/{slug}/awards"
    )
    assert resp.status_code == 302
    again = admin.submit(url, {"reason": "again"}, page=f"/o/{slug}/awards")
    assert again.status_code == 409
    anon = _anon(app)
    gone = anon.get(f"/badges/{award.public_id}", headers=LD)
    assert gone.status_code == 410
    body = gone.get_json()
    assert body == {
        **body,
        "id": f"http://localhost/badges/{award.public_id}",
        "revoked": True,
        "revocationReason": "Evidence was not the worker's own.",
    }
    assert anon.get(f"/badges/{award.public_id}/assertion.json").status_code == 410
    page = anon.get(f"/badges/{award.public_id}").get_data(as_text=True)
    assert 'data-status="revoked"' in page and "Evidence was not the worker" in page
    assert "linkedin.com" not in page
    status = anon.get(f"/issuers/{s.org.public_id}/revocations").get_json()
    assert status["revokedCredential"] == [
        {
            "id": f"http://localhost/badges/{award.public_id}",
            "revocationReason": "Evidence was not the worker's own.",
        }
    ]
    report = anon.get(
        f"/badges/{award.public_id}/verify", headers={"Accept": "application/json"}
    ).get_json()
    assert report["valid"] is False and report["status"] == "revoked"
    assert anon.get(f"/badges/{award.public_id}/badge-ob2.png").status_code == 410
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "award.revoke"))
    events = list(events)
    assert len(events) == 1 and events[0].actor_id == s.admin.id
    assert events[0].data["reason"] == "Evidence was not the worker's own."


def test_only_admins_of_the_issuer_revoke(app: Flask, make: Any, earned: Any) -> None:
    s, award = earned
    with pytest.raises(Forbidden):
        revocation.revoke_award(s.assessor, award, "no")
    with pytest.raises(Forbidden):
        revocation.revoke_award(s.worker, award, "no")
    other = make.org("Other")
    outsider = make.user((other, Role.ADMIN))
    with pytest.raises(Forbidden):
        revocation.revoke_award(outsider, award, "no")
    with pytest.raises(DomainError):
        revocation.revoke_award(s.admin, award, "")
    revocation.revoke_award(s.admin, award, "Issued in error.")
    db.session.commit()
    with pytest.raises(Conflict):
        revocation.revoke_award(s.admin, award, "Twice.")
    db.session.rollback()
    # An admin of another organization cannot reach it through the pages either.
    c = _anon(app)
    c.login(outsider.email)
    assert (
        c.submit(
            f"/o/{s.org.slug}/awards/{award.public_id}/revoke", {"reason": "x"}, page="/dashboard"
        ).status_code
        == 403
    )
    assert c.get(f"/o/{s.org.slug}/awards").status_code == 403
    assessor = _anon(app)
    assessor.login("sam@example.org")
    assert assessor.get(f"/o/{s.org.slug}/awards").status_code == 403


def test_worker_lists_badges_and_others_cannot_change_them(
    app: Flask, client: Client, make: Any, earned: Any
) -> None:
    s, award = earned
    page = client.get("/badges").get_data(as_text=True)
    assert "Fillet Welding" in page and f"/badges/{award.public_id}" in page
    assert "Hide the badge details" in page
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "/badges" in dashboard
    other = _anon(app)
    other.login("sam@example.org")
    assert award.public_id not in other.get("/badges").get_data(as_text=True)
    resp = other.submit(f"/badges/{award.public_id}/visibility", {"hidden": "1"}, page="/badges")
    assert resp.status_code == 404
    with pytest.raises(NotFound):
        visibility.set_visibility(s.assessor, award, hidden=True)
    db.session.expire_all()
    assert not issuance.get_award(award.public_id).is_hidden
    assert _anon(app).get("/badges").status_code == 302  # login required


def test_hiding_is_audited(client: Client, earned: Any) -> None:
    _s, award = earned
    client.submit(f"/badges/{award.public_id}/visibility", {"hidden": "1"}, page="/badges")
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject_id == award.public_id)
    ).all()
    assert "award.hide" in actions
    assert json.loads(award.ob3_credential)  # the signed document is untouched
