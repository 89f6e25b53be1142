"""Organizations, roles, invitations and self-registration."""

from __future__ import annotations

import io
from dataclasses import replace

from flask import Flask
from PIL import Image

from portfolio.accounts import organizations, registration, sign_in
from portfolio.accounts.models import Invitation, Membership, Role, User
from portfolio.extensions import db
from tests.conftest import PASSWORD, Client


def _invite_link(app: Flask) -> str:
    body = app.extensions["portfolio.outbox"][-1]["body"]
    line = next(x for x in body.splitlines() if "/invitations/" in x)
    return line.split("localhost", 1)[1]


def test_admin_invites_new_person_who_joins_with_role(
    app: Flask, client: Client, other_client: Client, make
) -> None:
    org = make.org("Acme Welding")
    make.user((org, Role.ADMIN), email="admin@example.org")
    client.login("admin@example.org")
    resp = client.submit(
        f"/o/{org.slug}/members/invite",
        {"email": "New.Assessor@example.org", "role": "assessor"},
        page=f"/o/{org.slug}/members",
    )
    assert resp.status_code == 302
    path = _invite_link(app)
    page = other_client.get(path).get_data(as_text=True)
    assert "Join Acme Welding" in page and "new.assessor@example.org" in page
    resp = other_client.submit(path, {"display_name": "Nia", "password": "a good long password"})
    assert resp.status_code == 302
    user = sign_in.find_user_by_email("new.assessor@example.org")
    assert user is not None and user.has_role(org.id, Role.ASSESSOR)
    # The link works once.
    again = other_client.get(path)
    assert again.status_code == 400 and "already been used" in again.get_data(as_text=True)


def test_existing_user_accepts_invitation_and_keeps_other_roles(
    app: Flask, client: Client, other_client: Client, make
) -> None:
    org_a, org_b = make.org("A"), make.org("B")
    make.user((org_a, Role.ADMIN), email="admin@example.org")
    worker = make.user((org_b, Role.LEARNER), email="wren@example.org")
    client.login("admin@example.org")
    client.submit(
        f"/o/{org_a.slug}/members/invite",
        {"email": "wren@example.org", "role": "assessor"},
        page=f"/o/{org_a.slug}/members",
    )
    path = _invite_link(app)
    other_client.login("wren@example.org")
    assert other_client.submit(path, {}).status_code == 302
    db.session.refresh(worker)
    assert worker.roles_in(org_a.id) == {Role.ASSESSOR}
    assert worker.roles_in(org_b.id) == {Role.LEARNER}


def test_invitation_for_someone_else_is_refused(
    app: Flask, client: Client, other_client: Client, make
) -> None:
    org = make.org()
    make.user((org, Role.ADMIN), email="admin@example.org")
    make.user(email="mallory@example.org")
    client.login("admin@example.org")
    client.submit(
        f"/o/{org.slug}/members/invite",
        {"email": "wren@example.org", "role": "admin"},
        page=f"/o/{org.slug}/members",
    )
    path = _invite_link(app)
    other_client.login("mallory@example.org")
    resp = other_client.submit(path, {}, follow_redirects=True)
    assert "was sent to wren@example.org" in resp.get_data(as_text=True)
    mallory = sign_in.find_user_by_email("mallory@example.org")
    assert mallory is not None and not mallory.has_role(org.id, Role.ADMIN)


def test_forged_and_expired_invitations_are_refused(app: Flask, client: Client, make) -> None:
    org = make.org()
    admin = make.user((org, Role.ADMIN))
    resp = client.get("/invitations/forged-token")
    assert resp.status_code == 400 and "not valid" in resp.get_data(as_text=True)

    with app.test_request_context():
        _, link = registration.invite(admin, org, "late@example.org", Role.LEARNER)
        db.session.commit()
    path = link.split("localhost", 1)[1]
    cfg = app.config["PORTFOLIO"]
    app.config["PORTFOLIO"] = replace(cfg, invitation_max_age_seconds=-1)
    resp = client.get(path)
    assert resp.status_code == 400 and "expired" in resp.get_data(as_text=True)
    resp = client.post(path, data={"display_name": "Late", "password": "a good long password"})
    assert resp.status_code == 400
    assert sign_in.find_user_by_email("late@example.org") is None


def test_learner_cannot_open_admin_pages(client: Client, make) -> None:
    org = make.org()
    make.user((org, Role.LEARNER), email="wren@example.org")
    client.login("wren@example.org")
    for path in (f"/o/{org.slug}/members", f"/o/{org.slug}/settings"):
        resp = client.get(path)
        assert resp.status_code == 403, path
        assert "do not have the role" in resp.get_data(as_text=True)
    token = client.csrf_token("/dashboard")
    resp = client.post(
        f"/o/{org.slug}/members/invite",
        data={"csrf_token": token, "email": "x@example.org", "role": "admin"},
    )
    assert resp.status_code == 403
    assert db.session.query(Invitation).count() == 0


def test_admin_of_one_organization_cannot_touch_another(client: Client, make) -> None:
    mine, theirs = make.org("Mine"), make.org("Theirs", slug="theirs")
    make.user((mine, Role.ADMIN), email="admin@example.org")
    their_admin = make.user((theirs, Role.ADMIN))
    client.login("admin@example.org")
    assert client.get("/o/theirs/members").status_code == 403
    assert client.get("/o/theirs/settings").status_code == 403
    token = client.csrf_token("/dashboard")
    resp = client.post(
        "/o/theirs/settings",
        data={
            "csrf_token": token,
            "name": "Hijacked",
            "url": "https://evil.example",
            "email": "evil@example.org",
        },
    )
    assert resp.status_code == 403
    membership = their_admin.memberships[0]
    resp = client.post(f"/o/theirs/members/{membership.id}/remove", data={"csrf_token": token})
    assert resp.status_code == 403
    # Nor through its own organization's URL with the other organization's membership id.
    resp = client.post(f"/o/{mine.slug}/members/{membership.id}/remove", data={"csrf_token": token})
    assert resp.status_code == 404
    db.session.expire_all()
    assert theirs.name == "Theirs"
    assert db.session.get(Membership, membership.id) is not None


def test_anonymous_visitor_is_sent_to_login(client: Client, make) -> None:
    org = make.org()
    for path in ("/dashboard", f"/o/{org.slug}/members", "/account/password"):
        resp = client.get(path)
        assert resp.status_code == 302 and resp.location.startswith("/login"), path


def test_last_admin_cannot_be_removed(client: Client, make) -> None:
    org = make.org()
    admin = make.user((org, Role.ADMIN), email="admin@example.org")
    client.login("admin@example.org")
    resp = client.submit(
        f"/o/{org.slug}/members/{admin.memberships[0].id}/remove",
        {},
        page=f"/o/{org.slug}/members",
        follow_redirects=True,
    )
    assert "at least one admin" in resp.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.has_role(org.id, Role.ADMIN)


def test_removing_a_role_ends_that_persons_sessions(
    client: Client, other_client: Client, make
) -> None:
    org = make.org()
    make.user((org, Role.ADMIN), email="admin@example.org")
    assessor = make.user((org, Role.ASSESSOR), email="sam@example.org")
    other_client.login("sam@example.org")
    client.login("admin@example.org")
    client.submit(
        f"/o/{org.slug}/members/{assessor.memberships[0].id}/remove",
        {},
        page=f"/o/{org.slug}/members",
    )
    assert other_client.get("/dashboard").status_code == 302


def test_self_registration_only_where_allowed(client: Client, make) -> None:
    open_org = make.org("Open", allows_self_registration=True)
    closed = make.org("Closed")
    assert client.get(f"/o/{closed.slug}/register").status_code == 403
    resp = client.submit(
        f"/o/{open_org.slug}/register",
        {"display_name": "Wren", "email": "wren@example.org", "password": "long enough pw"},
    )
    assert resp.status_code == 302
    user = sign_in.find_user_by_email("wren@example.org")
    assert user is not None and user.roles_in(open_org.id) == {Role.LEARNER}
    assert "Open" in client.get("/dashboard").get_data(as_text=True)


def test_admin_updates_profile_and_logo_checked_by_content(client: Client, make) -> None:
    org = make.org("Acme")
    make.user((org, Role.ADMIN), email="admin@example.org")
    client.login("admin@example.org")
    form = {
        "name": "Acme Welding Academy",
        "url": "https://acme.example",
        "email": "Badges@Acme.example",
        "description": "We weld.",
    }
    html_as_png = (io.BytesIO(b"<html><script>alert(1)</script></html>"), "logo.png")
    resp = client.submit(
        f"/o/{org.slug}/settings", {**form, "logo": html_as_png}, content_type="multipart/form-data"
    )
    assert resp.status_code == 200
    assert "must be a PNG, JPEG or WebP image; this file is text/html" in resp.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert org.name == "Acme" and org.logo_key is None

    png = io.BytesIO()
    Image.new("RGB", (40, 40), "navy").save(png, "PNG")
    png.seek(0)
    resp = client.submit(
        f"/o/{org.slug}/settings",
        {**form, "logo": (png, "logo.png")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    db.session.expire_all()
    assert org.name == "Acme Welding Academy" and org.email == "badges@acme.example"
    logo = client.get(f"/o/{org.slug}/logo")
    assert logo.status_code == 200 and logo.mimetype == "image/png"
    assert logo.data.startswith(b"\x89PNG")


def test_create_admin_cli(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-admin",
            "--email",
            "Boss@Example.org",
            "--name",
            "Boss",
            "--org-name",
            "Boss Org",
            "--org-slug",
            "boss-org",
            "--password",
            PASSWORD,
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.query(User).filter_by(email="boss@example.org").one()
    org = organizations.get_organization("boss-org")
    assert user.has_role(org.id, Role.ADMIN)
    bad = runner.invoke(
        args=[
            "create-admin",
            "--email",
            "x@example.org",
            "--name",
            "X",
            "--org-name",
            "X",
            "--org-slug",
            "Not A Slug!",
            "--password",
            PASSWORD,
        ]
    )
    assert bad.exit_code != 0 and "lower-case letters" in bad.output
