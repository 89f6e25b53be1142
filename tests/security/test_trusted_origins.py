"""Class 1 of the outside review: links and pages never trust the request's Host header.

A password reset or an invitation requested with a forged Host must still mail a link to
PUBLIC_BASE_URL; in production a request naming any other host is refused with 400.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from flask import Flask

from portfolio import create_app
from portfolio.accounts.models import Role
from portfolio.config import Config
from tests.conftest import CSRF_RE, PASSWORD, Client, make_config

EVIL = "attacker.example"


def _outbox(app: Flask) -> list[dict[str, str]]:
    return app.extensions.setdefault("portfolio.outbox", [])  # type: ignore[no-any-return]


def _links(body: str) -> list[str]:
    return [word for word in body.split() if word.startswith(("http://", "https://"))]


def _forged(client: Client, path: str, data: dict[str, str], form_page: str | None = None) -> int:
    """Fill in and POST a form the way an attacker would: every request, the one that fetches
    the form (and its CSRF token) included, names the attacker's host."""
    base = f"http://{EVIL}"
    html = client.get(form_page or path, base_url=base).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, html[:300]
    resp = client.post(path, data=dict(data, csrf_token=match.group(1)), base_url=base)
    return int(resp.status_code)


def test_reset_link_mailed_for_a_forged_host_points_at_the_public_url(
    app: Flask, client: Client, make
) -> None:
    make.user(email="victim@example.org")
    assert _forged(client, "/forgot-password", {"email": "victim@example.org"}) == 302
    mail = _outbox(app)[-1]
    assert mail["to"] == "victim@example.org"
    links = _links(mail["body"])
    assert links and all(link.startswith("http://localhost/reset-password/") for link in links)
    assert EVIL not in mail["body"]


def test_invitation_link_mailed_for_a_forged_host_points_at_the_public_url(
    app: Flask, client: Client, make
) -> None:
    org = make.org("Acme")
    make.user((org, Role.ADMIN), email="admin@example.org")
    _forged(client, "/login", {"email": "admin@example.org", "password": PASSWORD})
    status = _forged(
        client,
        f"/o/{org.slug}/members/invite",
        {"email": "new@example.org", "role": "assessor"},
        form_page=f"/o/{org.slug}/members",
    )
    assert status == 302
    mail = _outbox(app)[-1]
    assert mail["to"] == "new@example.org"
    links = _links(mail["body"])
    assert links and all(link.startswith("http://localhost/invitations/") for link in links)
    assert EVIL not in mail["body"]


def _production_app(tmp_path: Path, database_url: str, **overrides: object) -> Flask:
    cfg = make_config(
        tmp_path,
        database_url,
        env="production",
        secret_key="Zx8-k2Lq9vR4tYpW7nB3mC6dF1gH5jK0sA",
        signing_key_secret="Qw2-e4R6t8Y0u1I3o5P7a9S2d4F6g8H0jK",
        public_base_url="https://badges.example.edu",
    )
    return create_app(dataclasses.replace(cfg, **overrides))  # type: ignore[arg-type]


def test_production_refuses_requests_for_another_host(tmp_path: Path, database_url: str) -> None:
    app = _production_app(tmp_path, database_url)
    client = app.test_client()
    refused = client.get("/login", headers={"Host": EVIL})
    assert refused.status_code == 400
    assert refused.mimetype == "text/plain"
    assert "host name" in refused.get_data(as_text=True)
    # The same refusal for a POST, before any form is read or any mail is sent.
    assert client.post("/forgot-password", headers={"Host": EVIL}).status_code == 400
    assert client.get("/login", headers={"Host": "badges.example.edu"}).status_code == 200
    # Load balancers call the health check by address.
    assert client.get("/healthz", headers={"Host": "10.0.0.7:8000"}).status_code == 200


def test_trusted_hosts_setting_adds_hosts(tmp_path: Path, database_url: str) -> None:
    app = _production_app(
        tmp_path, database_url, trusted_hosts=("badges.example.edu", "www.badges.example.edu")
    )
    client = app.test_client()
    assert client.get("/login", headers={"Host": "www.badges.example.edu"}).status_code == 200
    assert client.get("/login", headers={"Host": EVIL}).status_code == 400


def test_trusted_hosts_default_and_environment() -> None:
    prod = Config.from_env(
        {
            "APP_ENV": "production",
            "PUBLIC_BASE_URL": "https://Badges.Example.edu:8443/",
            "SECRET_KEY": "Zx8-k2Lq9vR4tYpW7nB3mC6dF1gH5jK0sA",
            "SIGNING_KEY_SECRET": "Qw2-e4R6t8Y0u1I3o5P7a9S2d4F6g8H0jK",
        }
    ).resolved()
    assert prod.trusted_hosts == ("badges.example.edu:8443",)
    listed = Config.from_env(
        {"APP_ENV": "development", "TRUSTED_HOSTS": "a.example, B.example "}
    ).resolved()
    assert listed.trusted_hosts == ("a.example", "b.example")


@pytest.mark.parametrize("path", ["/login", "/"])
def test_development_answers_any_host(client: Client, path: str) -> None:
    assert client.get(path, headers={"Host": EVIL}).status_code in (200, 302)
