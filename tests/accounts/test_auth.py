"""Sign-in, sign-out, lockout, rate limit, password change and reset."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from portfolio import create_app
from portfolio.accounts import registration, sign_in
from portfolio.accounts.models import Role, User
from portfolio.core.errors import Conflict
from portfolio.extensions import db
from tests.conftest import PASSWORD, Client, make_config, reset_database


def test_login_shows_dashboard_and_logout_ends_session(client: Client, make) -> None:
    org = make.org("Acme Welding")
    make.user((org, Role.LEARNER), email="wren@example.org", name="Wren")
    resp = client.login("wren@example.org")
    assert resp.location == "/dashboard"
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Hello, Wren" in page and "Acme Welding" in page

    client.submit("/logout", page="/dashboard")
    resp = client.get("/dashboard")
    assert resp.status_code == 302 and "/login" in resp.location


def test_login_accepts_email_in_another_case(client: Client, make) -> None:
    make.user(email="Mixed.Case@Example.org")
    client.login("MIXED.case@example.ORG")
    assert client.get("/dashboard").status_code == 200


def test_duplicate_email_in_another_case_is_refused(app: Flask, make) -> None:
    make.user(email="sam@example.org")
    with pytest.raises(Conflict):
        registration.create_user("SAM@Example.ORG", "Other Sam", PASSWORD)
    db.session.rollback()
    assert db.session.query(User).count() == 1


def test_register_form_reports_duplicate_email(client: Client, make) -> None:
    org = make.org(allows_self_registration=True)
    make.user(email="taken@example.org")
    resp = client.submit(
        f"/o/{org.slug}/register",
        {"display_name": "Copy", "email": "TAKEN@example.org", "password": "long enough pass"},
    )
    assert resp.status_code == 200
    assert "already exists" in resp.get_data(as_text=True)
    assert db.session.query(User).count() == 1


def test_wrong_password_is_refused_without_saying_which_part(client: Client, make) -> None:
    make.user(email="wren@example.org")
    for email in ("wren@example.org", "nobody@example.org"):
        resp = client.submit("/login", {"email": email, "password": "wrong password!"})
        assert resp.status_code == 200
        assert "Wrong email or password." in resp.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


def test_sign_in_pauses_after_repeated_failures(
    app: Flask, client: Client, other_client: Client, make
) -> None:
    make.user(email="wren@example.org")
    for _ in range(sign_in.MAX_FAILED_LOGINS):
        client.submit("/login", {"email": "wren@example.org", "password": "not it at all"})
    resp = client.submit("/login", {"email": "wren@example.org", "password": PASSWORD})
    # Even the right password is refused while paused, with the words an unknown address gets.
    unknown = client.submit("/login", {"email": "nobody@example.org", "password": PASSWORD})
    assert "Wrong email or password." in resp.get_data(as_text=True)
    import re

    def alert(r):  # type: ignore[no-untyped-def]
        return re.findall(r'role="alert">([^<]*)<', r.get_data(as_text=True))

    assert alert(resp) == alert(unknown) != []
    assert client.get("/dashboard").status_code == 302
    mail = _outbox(app)[-1]
    assert mail["to"] == "wren@example.org" and "paused" in mail["subject"]
    # The pause holds for the client that made the attempts, not for the owner elsewhere.
    owner = other_client.submit(
        "/login",
        {"email": "wren@example.org", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "198.51.100.20"},
    )
    assert owner.status_code == 302


def test_login_rate_limit(tmp_path: Path, database_url: str) -> None:
    app = create_app(make_config(tmp_path, database_url, login_rate_limit="3 per minute"))
    reset_database(app)
    app.test_client_class = Client
    client = app.test_client()
    responses = []
    for _ in range(5):
        token = client.csrf_token("/login")
        responses.append(
            client.post(
                "/login",
                data={"csrf_token": token, "email": "x@example.org", "password": "whatever123"},
            )
        )
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    assert "Too many attempts" in responses[-1].get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()


def test_login_form_without_csrf_token_is_refused(client: Client, make) -> None:
    make.user(email="wren@example.org")
    resp = client.post("/login", data={"email": "wren@example.org", "password": PASSWORD})
    assert resp.status_code == 400
    assert "security token" in resp.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


def test_forged_csrf_token_is_refused(client: Client, make) -> None:
    make.user(email="wren@example.org")
    client.get("/login")
    resp = client.post(
        "/login",
        data={
            "email": "wren@example.org",
            "password": PASSWORD,
            "csrf_token": "forged.token.value",
        },
    )
    assert resp.status_code == 400


def test_open_redirect_in_next_is_ignored(client: Client, make) -> None:
    make.user(email="wren@example.org")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        client.get("/logout")
        token = client.csrf_token("/login")
        resp = client.post(
            f"/login?next={target}",
            data={"csrf_token": token, "email": "wren@example.org", "password": PASSWORD},
        )
        assert resp.status_code == 302
        assert resp.location == "/dashboard", target
        client.submit("/logout", page="/dashboard")


def test_change_password_signs_out_other_sessions(
    client: Client, other_client: Client, make
) -> None:
    make.user(email="wren@example.org")
    client.login("wren@example.org")
    other_client.login("wren@example.org")
    resp = client.submit(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "a brand new secret",
            "confirm": "a brand new secret",
        },
    )
    assert resp.status_code == 302
    assert client.get("/dashboard").status_code == 200
    assert other_client.get("/dashboard").status_code == 302
    other_client.login("wren@example.org", "a brand new secret")


def test_change_password_with_wrong_current_password(client: Client, make) -> None:
    make.user(email="wren@example.org")
    client.login("wren@example.org")
    resp = client.submit(
        "/account/password",
        {
            "current_password": "not my password",
            "new_password": "a brand new secret",
            "confirm": "a brand new secret",
        },
    )
    assert "current password is not correct" in resp.get_data(as_text=True)


def _outbox(app: Flask) -> list[dict[str, str]]:
    return app.extensions.setdefault("portfolio.outbox", [])  # type: ignore[no-any-return]


def test_password_reset_by_emailed_link_works_once(app: Flask, client: Client, make) -> None:
    make.user(email="wren@example.org")
    resp = client.submit("/forgot-password", {"email": "WREN@example.org"})
    assert resp.status_code == 302
    body = _outbox(app)[-1]["body"]
    link = next(line for line in body.splitlines() if "/reset-password/" in line)
    path = link.split("localhost", 1)[1]
    resp = client.submit(path, {"new_password": "my new password", "confirm": "my new password"})
    assert resp.status_code == 302
    client.login("wren@example.org", "my new password")
    client.submit("/logout", page="/dashboard")
    again = client.get(path)
    assert again.status_code == 400
    assert "already been used" in again.get_data(as_text=True)


def test_password_reset_for_unknown_email_says_the_same(app: Flask, client: Client) -> None:
    resp = client.submit("/forgot-password", {"email": "nobody@example.org"}, follow_redirects=True)
    assert "If an account exists" in resp.get_data(as_text=True)
    assert _outbox(app) == []


def test_forged_and_expired_reset_tokens_are_refused(app: Flask, client: Client, make) -> None:
    user = make.user(email="wren@example.org")
    resp = client.get("/reset-password/not-a-real-token")
    assert resp.status_code == 400 and "not valid" in resp.get_data(as_text=True)

    with app.test_request_context():
        token = sign_in.make_reset_token(user)
    expired_app_cfg = app.config["PORTFOLIO"]
    from dataclasses import replace

    app.config["PORTFOLIO"] = replace(expired_app_cfg, reset_max_age_seconds=-1)
    resp = client.get(f"/reset-password/{token}")
    assert resp.status_code == 400 and "expired" in resp.get_data(as_text=True)
    app.config["PORTFOLIO"] = expired_app_cfg
    assert client.get(f"/reset-password/{token}").status_code == 200


def test_demo_accounts_sign_in(app: Flask, client: Client) -> None:
    from portfolio.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, load_demo

    load_demo()
    load_demo()  # idempotent
    assert db.session.query(User).count() == len(DEMO_ACCOUNTS)
    for _, email, _name in DEMO_ACCOUNTS:
        client.login(email, DEMO_PASSWORD)
        assert client.get("/dashboard").status_code == 200
        client.submit("/logout", page="/dashboard")


def test_passwords_are_hashed_with_argon2id_at_full_cost_outside_tests(tmp_path: Path) -> None:
    from portfolio.config import Config

    app = create_app(Config(env="development", instance_path=str(tmp_path)))
    with app.app_context():
        stored = sign_in.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert "m=65536,t=3" in stored
