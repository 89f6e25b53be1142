"""The JSON API: bearer tokens only, problem details, keyset pages, the OpenAPI document."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from portfolio.accounts import tokens
from portfolio.accounts.models import Role
from portfolio.core.audit import AuditEvent
from portfolio.core.db import utcnow
from portfolio.extensions import db
from tests.api.conftest import call, make_token
from tests.conftest import Client
from tests.security.conftest import World


@pytest.fixture
def admin_org(make: Any) -> Any:
    org = make.org("Acme")
    admin = make.user((org, Role.ADMIN), email="ada@example.org")
    return org, admin


def test_without_a_token_the_api_answers_401_problem(client: Client) -> None:
    resp = client.get("/api/v1/me")
    assert resp.status_code == 401
    assert resp.mimetype == "application/problem+json"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    body = resp.get_json()
    assert body["status"] == 401 and body["title"] == "Unauthorized"
    assert body["instance"] == "/api/v1/me"


def test_a_signed_in_session_does_not_reach_the_api(client: Client, admin_org: Any) -> None:
    client.login("ada@example.org")
    assert client.get("/dashboard").status_code == 200
    resp = client.get("/api/v1/me")
    assert resp.status_code == 401
    # ...and a post with the cookie but no token writes nothing (no CSRF needed: no cookie use).
    before = db.session.scalar(select(db.func.count()).select_from(AuditEvent))
    resp = client.post("/api/v1/organizations/org-1/credentials", json={"name": "x"})
    assert resp.status_code == 401
    assert db.session.scalar(select(db.func.count()).select_from(AuditEvent)) == before


def test_token_is_stored_hashed_and_stamped_when_used(client: Client, admin_org: Any) -> None:
    _, admin = admin_org
    raw = make_token(admin)
    row = db.session.scalar(select(tokens.ApiToken))
    assert row.token_sha256 == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in (row.hint, row.public_id, row.name) and len(raw) > 40
    assert row.last_used_at is None
    me = call(client, "GET", "/api/v1/me", raw)
    assert me.status_code == 200
    assert me.get_json()["email"] == "ada@example.org"
    db.session.expire_all()
    assert db.session.get(tokens.ApiToken, row.id).last_used_at is not None


def test_revoked_and_expired_tokens_are_refused(client: Client, admin_org: Any) -> None:
    _, admin = admin_org
    raw = make_token(admin)
    token = db.session.scalar(select(tokens.ApiToken))
    tokens.revoke_token(admin, token)
    db.session.commit()
    assert call(client, "GET", "/api/v1/me", raw).status_code == 401
    raw2 = make_token(admin)
    t2 = db.session.scalar(select(tokens.ApiToken).where(tokens.ApiToken.id != token.id))
    t2.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert call(client, "GET", "/api/v1/me", raw2).status_code == 401
    assert call(client, "GET", "/api/v1/me", raw2 + "x").status_code == 401


def test_validation_errors_are_422_problems_with_field_errors(
    client: Client, admin_org: Any
) -> None:
    org, admin = admin_org
    raw = make_token(admin)
    resp = call(
        client,
        "POST",
        f"/api/v1/organizations/{org.slug}/credentials",
        raw,
        json={"name": "", "surprise": 1},
    )
    assert resp.status_code == 422
    assert resp.mimetype == "application/problem+json"
    errors = resp.get_json()["errors"]["json"]
    assert "name" in errors and "surprise" in errors


def test_credential_lifecycle_through_the_api_is_audited_with_the_token(
    client: Client, admin_org: Any
) -> None:
    org, admin = admin_org
    raw = make_token(admin)
    base = f"/api/v1/organizations/{org.slug}/credentials"
    made = call(
        client,
        "POST",
        base,
        raw,
        json={
            "name": "Forklift",
            "tags": ["safety"],
            "credits_available": 2.5,
            "credits_unit": "credit hours",
        },
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    cid = made.get_json()["id"]
    assert made.get_json()["credits_available"] == 2.5
    assert made.get_json()["credits_unit"] == "credit hours"
    negative = call(client, "POST", base, raw, json={"name": "X", "credits_available": -1})
    assert negative.status_code == 422
    assert made.get_json()["state"] == "draft" and made.get_json()["tags"] == ["safety"]
    changed = call(client, "PUT", f"{base}/{cid}", raw, json={"name": "Forklift driving"})
    assert changed.get_json()["name"] == "Forklift driving"
    # Publishing needs a rubric: refused with the service's reasons.
    refused = call(client, "POST", f"{base}/{cid}/publish", raw)
    assert refused.status_code in (400, 409)
    assert refused.get_json()["detail"]
    archived = call(client, "POST", f"{base}/{cid}/archive", raw)
    assert archived.status_code == 200 and archived.get_json()["state"] == "archived"
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject_id == cid).order_by(AuditEvent.id)
    ).all()
    assert "api.credential.create" in actions and "api.credential.archive" in actions
    token_ids = {
        e.data.get("token")
        for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("api.%")))
    }
    assert token_ids == {db.session.scalar(select(tokens.ApiToken.public_id))}


def test_submissions_come_in_keyset_pages(world: World, app: Flask) -> None:
    raw = make_token(world.s.admin)
    client = app.test_client()
    base = f"/api/v1/organizations/{world.ids['slug']}/submissions"
    first = call(client, "GET", f"{base}?limit=1", raw).get_json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = call(client, "GET", f"{base}?limit=1&cursor={first['next_cursor']}", raw).get_json()
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    assert first["items"][0]["id"] != second["items"][0]["id"]
    passed = call(client, "GET", f"{base}?state=passed", raw).get_json()["items"]
    assert [p["state"] for p in passed] == ["passed"]
    detail = call(client, "GET", f"{base}/{passed[0]['id']}", raw).get_json()
    assert detail["outcome"] == "pass"
    assert len(detail["results"]) == 4 and all(r["level"] for r in detail["results"])
    broken = call(client, "GET", f"{base}?cursor=not-a-cursor", raw)
    assert broken.status_code == 400 and broken.mimetype == "application/problem+json"


def test_awards_list_and_revoke_with_reason(world: World, app: Flask) -> None:
    raw = make_token(world.s.admin)
    client = app.test_client()
    base = f"/api/v1/organizations/{world.ids['slug']}/awards"
    page = call(client, "GET", base, raw).get_json()
    assert [a["id"] for a in page["items"]] == [world.ids["aid"]]
    assert page["items"][0]["status"] == "valid"
    no_reason = call(client, "POST", f"{base}/{world.ids['aid']}/revoke", raw, json={})
    assert no_reason.status_code == 422
    done = call(
        client, "POST", f"{base}/{world.ids['aid']}/revoke", raw, json={"reason": "Issued in error"}
    )
    assert done.get_json()["status"] == "revoked"
    again = call(client, "POST", f"{base}/{world.ids['aid']}/revoke", raw, json={"reason": "Twice"})
    assert again.status_code == 409
    # Verifiers see the revocation: the hosted assertion is gone with the reason.
    hosted = client.get(f"/badges/{world.ids['aid']}/assertion.json")
    assert hosted.status_code in (404, 410)


def test_openapi_document_and_docs_page(client: Client) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    ops = [(p, m) for p, item in spec["paths"].items() for m in item if m != "parameters"]
    assert len(ops) >= 24
    assert "/api/v1/organizations/{slug}/awards/{award_id}/revoke" in spec["paths"]
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and b"/api/v1/organizations/{slug}/awards" in page.data


def test_rate_limited_per_token(tmp_path: Any, database_url: str) -> None:
    from portfolio import create_app
    from tests.conftest import make_config, reset_database

    application = create_app(make_config(tmp_path, database_url, api_rate_limit="3 per minute"))
    reset_database(application)
    with application.app_context():
        from portfolio.accounts import organizations, registration

        org = organizations.create_organization("Acme", "acme")
        user = registration.create_user("ada@example.org", "Ada", "a-long-password-1")
        organizations.add_membership(user, org, Role.ADMIN)
        db.session.commit()
        one, two = make_token(user), make_token(user)
        client = application.test_client()
        codes = [call(client, "GET", "/api/v1/me", one).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = call(client, "GET", "/api/v1/me", one)
        assert limited.mimetype == "application/problem+json"
        assert call(client, "GET", "/api/v1/me", two).status_code == 200
        db.session.remove()
        db.engine.dispose()
