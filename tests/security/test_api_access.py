"""The API rows of the access matrix: every operation, requested with a personal token of each
role of the shared world (organization A: worker, peer, assessor, admin; organization B:
assessor_b, admin_b) and with an organization token of B, against A's objects. Every refused
request leaves the main tables unchanged. Tokens without the needed scope are refused too."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask

from portfolio.accounts import tokens
from portfolio.accounts.models import Organization
from portfolio.extensions import db
from tests.api.conftest import call, make_token
from tests.security.conftest import World, make_bulk_batch, row_counts
from tests.submissions.conftest import png_bytes

#: Token holders: personal tokens of each role, and B's organization token.
HOLDERS = ("worker", "peer", "assessor", "admin", "assessor_b", "admin_b", "org_token_b")
OK, DENY = "ok", "deny"


def _table(default: str, **over: str) -> dict[str, str]:
    table = dict.fromkeys(HOLDERS, default)
    table.update(over)
    return table


MEMBERS = _table(DENY, worker=OK, peer=OK, assessor=OK, admin=OK)
ADMIN = _table(DENY, admin=OK)
STAFF = _table(DENY, assessor=OK, admin=OK)
EVERYONE = _table(OK)

CREDENTIAL = {"name": "API credential", "description": "Made through the API"}

#: (method, path, body, expectation): {slug}, {fid}... are the world's ids. Writes that would
#: use up their object (revocation, archiving) come last.
OPERATIONS: list[tuple[str, str, Any, dict[str, str]]] = [
    ("GET", "/api/v1/me", None, EVERYONE),
    ("GET", "/api/v1/organizations/{slug}", None, MEMBERS),
    ("GET", "/api/v1/organizations/{slug}/frameworks", None, ADMIN),
    ("GET", "/api/v1/organizations/{slug}/frameworks/{fid}", None, ADMIN),
    ("GET", "/api/v1/organizations/{slug}/credentials", None, MEMBERS),
    ("GET", "/api/v1/organizations/{slug}/credentials/{cred}", None, MEMBERS),
    ("GET", "/api/v1/organizations/{slug}/submissions", None, STAFF),
    (
        "GET",
        "/api/v1/organizations/{slug}/submissions/{sub}",
        None,
        _table(DENY, worker=OK, assessor=OK, admin=OK),
    ),
    ("GET", "/api/v1/organizations/{slug}/awards", None, ADMIN),
    # The earner reads their own award; the admin any of the organization's.
    ("GET", "/api/v1/organizations/{slug}/awards/{aid}", None, _table(DENY, worker=OK, admin=OK)),
    ("GET", "/api/v1/organizations/{slug}/members", None, ADMIN),
    ("GET", "/api/v1/organizations/{slug}/invitations", None, ADMIN),
    ("GET", "/api/v1/organizations/{slug}/reports", None, ADMIN),
    ("GET", "/api/v1/me/evidence", None, EVERYONE),
    ("GET", "/api/v1/organizations/{slug}/bulk-awards/{batch}", None, ADMIN),
    (
        "POST",
        "/api/v1/organizations/{slug}/credentials/{cred}/bulk-awards",
        {
            "reason": "imported from the previous records system",
            "records": [{"email": "api.prior@outside.example", "name": "Ari Prior"}],
        },
        ADMIN,
    ),
    ("POST", "/api/v1/organizations/{slug}/credentials", CREDENTIAL, ADMIN),
    (
        "PUT",
        "/api/v1/organizations/{slug}/credentials/{cred2}",
        {
            "name": "Pipe Welding",
            "description": "Changed through the API",
            "rubric_version": "{vid}",
        },
        ADMIN,
    ),
    (
        "POST",
        "/api/v1/organizations/{slug}/invitations",
        {"email": "new@example.org", "role": "learner"},
        ADMIN,
    ),
    ("POST", "/api/v1/organizations/{slug}/credentials/{cred2}/archive", None, ADMIN),
    (
        "POST",
        "/api/v1/organizations/{slug}/awards/{aid}/revoke",
        {"reason": "Issued in error"},
        ADMIN,
    ),
]


def _tokens(w: World) -> dict[str, str]:
    users = {
        "worker": w.s.worker,
        "admin": w.s.admin,
        "assessor": w.s.assessor,
    }
    from portfolio.accounts.sign_in import find_user_by_email
    from tests.security.conftest import EMAILS

    for role in ("peer", "assessor_b", "admin_b"):
        user = find_user_by_email(EMAILS[role])
        assert user is not None
        users[role] = user
    raw = {role: make_token(user) for role, user in users.items()}
    org_b = db.session.get(Organization, w.org_b.id)
    raw["org_token_b"] = make_token(users["admin_b"], org_b)
    return raw


def test_every_operation_for_every_token(world: World, app: Flask) -> None:
    w = world
    raw = _tokens(w)
    w.ids["batch"] = make_bulk_batch(w)
    client = app.test_client()
    requests = 0
    for method, template, body, expect in OPERATIONS:
        path = template.format(**w.ids)
        # Refused holders first, so the one allowed write happens last.
        for holder in sorted(HOLDERS, key=lambda h: expect[h] == OK):
            before = row_counts()
            kwargs: dict[str, Any] = {}
            if body is not None:
                filled = {
                    k: v.format(**w.ids) if isinstance(v, str) else v for k, v in body.items()
                }
                kwargs["data"] = json.dumps(filled)
                kwargs["content_type"] = "application/json"
            resp = call(client, method, path, raw[holder], **kwargs)
            requests += 1
            text = resp.get_data(as_text=True)[:200]
            where = f"{method} {path} as {holder}: {resp.status_code} {text}"
            if expect[holder] == OK:
                assert resp.status_code < 300, where
            else:
                assert resp.status_code in (403, 404), where
                assert resp.mimetype == "application/problem+json", where
                assert row_counts() == before, f"{where}: a refused request changed rows"
    assert requests == len(OPERATIONS) * len(HOLDERS)


def test_organization_token_reaches_only_its_organization(world: World, app: Flask) -> None:
    w = world
    org_token = make_token(w.s.admin, w.s.org)
    client = app.test_client()
    orgs = call(client, "GET", "/api/v1/organizations", org_token).get_json()
    assert [o["slug"] for o in orgs] == [w.s.org.slug]
    # The same admin's token of A cannot reach B even if the admin joined B later.
    from portfolio.accounts import organizations
    from portfolio.accounts.models import Role

    organizations.add_membership(w.s.admin, db.session.get(Organization, w.org_b.id), Role.ADMIN)
    db.session.commit()
    resp = call(client, "GET", f"/api/v1/organizations/{w.ids['slug_b']}/members", org_token)
    assert resp.status_code == 404
    personal = make_token(w.s.admin)
    resp = call(client, "GET", f"/api/v1/organizations/{w.ids['slug_b']}/members", personal)
    assert resp.status_code == 200


def test_scopes_are_enforced(world: World, app: Flask) -> None:
    w = world
    read_only = make_token(w.s.admin, scopes=["read"])
    client = app.test_client()
    before = row_counts()
    resp = call(
        client,
        "POST",
        f"/api/v1/organizations/{w.ids['slug']}/awards/{w.ids['aid']}/revoke",
        read_only,
        json={"reason": "no"},
    )
    assert resp.status_code == 403
    assert "awards:write" in resp.get_json()["detail"]
    assert row_counts() == before
    write_only = make_token(w.s.worker, scopes=["evidence:write"])
    assert call(client, "GET", "/api/v1/me/evidence", write_only).status_code == 403
    resp = call(
        client,
        "PUT",
        "/api/v1/me/evidence/file?filename=joint.png&title=From%20the%20API",
        write_only,
        data=png_bytes("teal"),
        content_type="application/octet-stream",
    )
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert resp.get_json()["media_type"] == "image/png"
    assert tokens.SCOPES  # the scopes the pages offer are the ones checked
