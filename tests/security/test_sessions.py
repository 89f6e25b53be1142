"""Sessions: a captured cookie stops working at sign-out, sign-in starts a fresh session, a
change of privilege or password ends the old sessions, and production cookies are locked down.

(Lockout, the sign-in rate limit, single-use reset links and CSRF on the sign-in form are tested
in tests/accounts.)"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from portfolio import create_app
from portfolio.accounts.models import Role
from tests.conftest import PASSWORD, Client, make_config, reset_database
from tests.security.conftest import new_client


def _cookie(client: Client, name: str = "session") -> str:
    cookie = client.get_cookie(name)
    assert cookie is not None, f"no {name} cookie"
    return cookie.value


def _replay(app: Flask, name: str, value: str) -> Client:
    """A new browser that carries a stolen cookie."""
    thief = new_client(app)
    thief.set_cookie(name, value, domain="localhost")
    return thief


def test_a_cookie_captured_before_sign_out_is_dead_after_it(app: Flask, client: Client, make):
    make.user(email="wren@example.org")
    client.submit("/login", {"email": "wren@example.org", "password": PASSWORD, "remember": "y"})
    session_cookie = _cookie(client)
    remember_cookie = _cookie(client, "remember_token")
    assert _replay(app, "session", session_cookie).get("/dashboard").status_code == 200

    client.submit("/logout", page="/dashboard")
    assert client.get("/dashboard").status_code == 302
    for name, value in (("session", session_cookie), ("remember_token", remember_cookie)):
        resp = _replay(app, name, value).get("/dashboard")
        assert resp.status_code == 302 and "/login" in resp.location, name
    # The person signs in again as usual.
    client.login("wren@example.org")
    assert client.get("/dashboard").status_code == 200


def test_sign_in_starts_a_fresh_session(client: Client, make) -> None:
    make.user(email="wren@example.org")
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    before = _cookie(client)
    client.login("wren@example.org")
    assert _cookie(client) != before
    with client.session_transaction() as session:
        assert "planted" not in session


def test_gaining_a_role_ends_the_other_sessions(
    app: Flask, client: Client, other_client: Client, make
) -> None:
    org = make.org()
    make.user((org, Role.ADMIN), email="admin@example.org")
    make.user(email="wren@example.org")
    client.login("wren@example.org")
    other_client.login("wren@example.org")
    before = _cookie(client)
    admin = new_client(app)
    admin.login("admin@example.org")
    admin.submit(
        f"/o/{org.slug}/members/invite",
        {"email": "wren@example.org", "role": "assessor"},
        page=f"/o/{org.slug}/members",
    )
    link = app.extensions["portfolio.outbox"][-1]["body"]
    path = next(w for w in link.split() if "/invitations/" in w).split("localhost", 1)[1]
    resp = client.submit(path, {})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    # The browser that accepted has a new session with the new role; the old cookie is dead.
    assert _cookie(client) != before
    assert client.get(f"/o/{org.slug}/queue").status_code == 200
    assert other_client.get("/dashboard").status_code == 302
    assert _replay(app, "session", before).get("/dashboard").status_code == 302


def test_a_password_reset_ends_every_session(app: Flask, client: Client, make) -> None:
    make.user(email="wren@example.org")
    client.login("wren@example.org")
    visitor = new_client(app)
    visitor.submit("/forgot-password", {"email": "wren@example.org"})
    body = app.extensions["portfolio.outbox"][-1]["body"]
    path = next(w for w in body.split() if "/reset-password/" in w).split("localhost", 1)[1]
    resp = visitor.submit(
        path, {"new_password": "a new long secret", "confirm": "a new long secret"}
    )
    assert resp.status_code == 302
    assert client.get("/dashboard").status_code == 302
    # Used once, the link is dead.
    assert visitor.get(path).status_code == 400


def test_production_cookies_are_secure_http_only_and_same_site(
    tmp_path: Path, database_url: str, make
) -> None:
    prod = create_app(
        make_config(
            tmp_path,
            database_url,
            env="production",
            signing_key_secret="Tg5-hU8kE2wQ6rY1oI4pS9aF3dJ7lM0nCx",
            public_base_url="https://badges.example.org",
        )
    )
    reset_database(prod)
    prod.test_client_class = Client
    with prod.app_context():
        make.user(email="wren@example.org")
    client = prod.test_client()
    page = client.get("/login", base_url="https://badges.example.org")
    token = page.get_data(as_text=True).split('name="csrf_token"', 1)[1].split('value="', 1)[1]
    resp = client.post(
        "/login",
        base_url="https://badges.example.org",
        headers={"Referer": "https://badges.example.org/login"},
        data={
            "csrf_token": token.split('"', 1)[0],
            "email": "wren@example.org",
            "password": PASSWORD,
            "remember": "y",
        },
    )
    assert resp.status_code == 302
    cookies = {c.split("=", 1)[0]: c for c in resp.headers.getlist("Set-Cookie")}
    assert {"session", "remember_token"} <= set(cookies)
    for name in ("session", "remember_token"):
        flags = [f.strip().lower() for f in cookies[name].split(";")]
        assert "secure" in flags and "httponly" in flags and "samesite=lax" in flags, name
    assert "max-age=31536000" in resp.headers["Strict-Transport-Security"]
    from portfolio.extensions import db

    with prod.app_context():
        db.engine.dispose()
