"""The API token pages: made with scopes and an expiry, shown once, revocable, audited."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from portfolio.accounts import tokens
from portfolio.accounts.models import Role
from portfolio.core.audit import AuditEvent
from portfolio.extensions import db
from tests.conftest import Client
from tests.security.conftest import sign_in


def _secret(html: str) -> str | None:
    match = re.search(r'<code id="new-token">([^<]+)</code>', html)
    return match.group(1) if match else None


def test_personal_token_shown_once_works_and_is_revoked(client: Client, make: Any) -> None:
    org = make.org("Acme")
    make.user((org, Role.LEARNER), email="wren@example.org")
    client.login("wren@example.org")
    resp = client.submit(
        "/account/tokens",
        {"name": "Records sync", "scopes": ["read"], "days": "30"},
        page="/account/tokens",
    )
    html = resp.get_data(as_text=True)
    raw = _secret(html)
    assert raw and raw.startswith(tokens.TOKEN_PREFIX)
    assert "shown only this once" in html
    # Shown once: the list shows its first characters only.
    again = client.get("/account/tokens").get_data(as_text=True)
    assert raw not in again and raw[:8] in again and "Records sync" in again
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert me.status_code == 200 and me.get_json()["token"]["scopes"] == ["read"]
    assert "never" not in client.get("/account/tokens").get_data(as_text=True)

    token = db.session.scalar(select(tokens.ApiToken))
    client.submit(f"/tokens/{token.public_id}/revoke", {}, page="/account/tokens")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    assert "revoked" in client.get("/account/tokens").get_data(as_text=True)
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject_id == token.public_id)
    ).all()
    assert sorted(actions) == ["token.create", "token.revoke"]


def test_organization_tokens_are_for_admins_and_revocable_by_other_admins(
    client: Client, other_client: Client, make: Any
) -> None:
    org = make.org("Acme")
    make.user((org, Role.ADMIN), email="ada@example.org")
    make.user((org, Role.ADMIN), email="abe@example.org")
    make.user((org, Role.ASSESSOR), email="sam@example.org")
    client.login("ada@example.org")
    resp = client.submit(
        f"/o/{org.slug}/tokens",
        {"name": "HR system", "scopes": ["read", "awards:write"], "days": "7"},
        page=f"/o/{org.slug}/tokens",
    )
    raw = _secret(resp.get_data(as_text=True))
    assert raw
    token = db.session.scalar(select(tokens.ApiToken))
    assert token.kind == "organization" and token.organization_id == org.id
    assert token.scopes == ["awards:write", "read"]
    sign_in(other_client, "sam@example.org")
    assert other_client.get(f"/o/{org.slug}/tokens").status_code == 404
    assert (
        other_client.submit(
            f"/tokens/{token.public_id}/revoke", {}, page="/account/tokens"
        ).status_code
        == 404
    )
    sign_in(other_client, "abe@example.org")
    other_client.submit(f"/tokens/{token.public_id}/revoke", {}, page=f"/o/{org.slug}/tokens")
    db.session.expire_all()
    assert db.session.get(tokens.ApiToken, token.id).revoked_at is not None


def test_a_token_needs_a_name_a_scope_and_a_bounded_life(client: Client, make: Any) -> None:
    org = make.org("Acme")
    make.user((org, Role.LEARNER), email="wren@example.org")
    client.login("wren@example.org")
    for form in (
        {"name": "", "scopes": ["read"], "days": "30"},
        {"name": "x", "days": "30"},
        {"name": "x", "scopes": ["read"], "days": "4000"},
        {"name": "x", "scopes": ["root"], "days": "30"},
    ):
        html = client.submit("/account/tokens", form, page="/account/tokens").get_data(as_text=True)
        assert _secret(html) is None, form
    assert db.session.scalar(select(tokens.ApiToken)) is None
