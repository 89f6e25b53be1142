"""Rate limits and the sign-in pause key on the real client (issue 14, class 2).

Behind `TRUSTED_PROXIES` proxies the client is read from X-Forwarded-For, counting from the
right; without it (the default) the header is ignored, so a direct client that forges it is
still counted as itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from portfolio import create_app
from portfolio.core.security import public
from portfolio.extensions import db
from tests.conftest import PASSWORD, Client, make_config, reset_database

PROXY = "10.0.0.2"


def _app(tmp_path: Path, database_url: str, **overrides: Any) -> Flask:
    app = create_app(
        make_config(tmp_path, database_url, login_rate_limit="3 per minute", **overrides)
    )
    reset_database(app)
    app.test_client_class = Client
    return app


def _attempt(
    client: Client,
    *,
    remote: str,
    forwarded: str | None = None,
    email: str = "x@example.org",
    password: str = "whatever123",  # noqa: S107 - a wrong password on purpose
) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    env = {"REMOTE_ADDR": remote}
    token = client.csrf_token("/login")
    resp = client.post(
        "/login",
        data={"csrf_token": token, "email": email, "password": password},
        headers=headers,
        environ_base=env,
    )
    return int(resp.status_code)


def test_behind_a_proxy_each_client_has_its_own_limit(tmp_path: Path, database_url: str) -> None:
    app = _app(tmp_path, database_url, trusted_proxies=1)
    client = app.test_client()
    # Everything arrives from the proxy's address; the proxy appends the real client.
    first = [_attempt(client, remote=PROXY, forwarded="203.0.113.7") for _ in range(4)]
    assert first == [200, 200, 200, 429]
    # Another client behind the same proxy is not blocked by the first one's attempts.
    assert _attempt(client, remote=PROXY, forwarded="198.51.100.9") == 200
    # A client that writes its own X-Forwarded-For gets the proxy's appended address counted:
    # the forged value on the left is ignored, so it cannot escape its limit.
    assert _attempt(client, remote=PROXY, forwarded="192.0.2.1, 203.0.113.7") == 429
    with app.app_context():
        db.engine.dispose()


def test_without_trusted_proxies_a_forged_header_changes_nothing(
    tmp_path: Path, database_url: str
) -> None:
    app = _app(tmp_path, database_url)  # TRUSTED_PROXIES defaults to 0
    client = app.test_client()
    statuses = [_attempt(client, remote="203.0.113.7", forwarded=f"192.0.2.{n}") for n in range(5)]
    # Each request claims a new address; all count as the connecting client.
    assert statuses == [200, 200, 200, 429, 429]
    with app.app_context():
        db.engine.dispose()


def test_behind_a_proxy_one_clients_wrong_passwords_do_not_pause_another(
    tmp_path: Path, database_url: str, make: Any
) -> None:
    app = create_app(make_config(tmp_path, database_url, trusted_proxies=1))
    reset_database(app)
    app.test_client_class = Client
    with app.app_context():
        make.user(email="wren@example.org")
    attacker, owner = app.test_client(), app.test_client()
    for _ in range(8):
        _attempt(attacker, remote=PROXY, forwarded="192.0.2.66", email="wren@example.org")
    # The attacker's device is paused even with the right password ...
    assert (
        _attempt(
            attacker,
            remote=PROXY,
            forwarded="192.0.2.66",
            email="wren@example.org",
            password=PASSWORD,
        )
        == 200
    )
    assert attacker.get("/dashboard").status_code == 302
    # ... while the owner, behind the same proxy, signs in.
    assert (
        _attempt(
            owner,
            remote=PROXY,
            forwarded="198.51.100.20",
            email="wren@example.org",
            password=PASSWORD,
        )
        == 302
    )
    assert owner.get("/dashboard").status_code == 200
    with app.app_context():
        db.engine.dispose()


def test_forwarded_proto_is_read_only_from_trusted_proxies(
    tmp_path: Path, database_url: str
) -> None:
    seen: dict[str, str] = {}
    for proxies in (0, 1):
        app = _app(tmp_path / str(proxies), database_url, trusted_proxies=proxies)

        @app.get("/_scheme")
        @public
        def scheme(proxies: int = proxies) -> str:
            from flask import request

            seen[str(proxies)] = f"{request.scheme} {request.remote_addr}"
            return "ok"

        app.test_client().get(
            "/_scheme",
            headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
            environ_base={"REMOTE_ADDR": PROXY},
        )
        with app.app_context():
            db.engine.dispose()
    assert seen == {"0": f"http {PROXY}", "1": "https 203.0.113.7"}
