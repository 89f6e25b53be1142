"""Issue 15 on the shared layout: a home page for visitors and error pages in the app's layout
with a favicon (finding 12), navigation visible on wide screens with the whole admin menu (9),
and one word for people, "worker" (19)."""

from __future__ import annotations

import re

import pytest
from flask import Flask, abort

from portfolio import create_app
from portfolio.accounts.models import Role
from portfolio.core.db import utcnow
from portfolio.credentials.models import Credential, CredentialState
from portfolio.extensions import db
from tests.conftest import Client, make_config


def _anon(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


def test_visitor_home_page_leads_to_catalogue_verification_and_registration(
    app: Flask, make
) -> None:  # type: ignore[no-untyped-def]
    org = make.org("Acme Welding", slug="acme", allows_self_registration=True)
    db.session.add(
        Credential(
            organization_id=org.id,
            name="Fillet Welding",
            state=CredentialState.PUBLISHED,
            published_at=utcnow(),
        )
    )
    make.org("Hidden Org", slug="hidden")  # nothing published: not listed
    db.session.commit()
    html = _anon(app).get("/").get_data(as_text=True)
    assert 'href="/o/acme/catalogue"' in html and "1 credential," in html
    assert 'href="/o/acme/register"' in html and "Create a worker account" in html
    assert 'href="/verify"' in html and "Check a badge" in html
    assert "Hidden Org" not in html
    fav = _anon(app).get("/favicon.ico")
    assert fav.status_code == 301 and fav.location.endswith("/static/favicon.svg")
    assert _anon(app).get("/static/favicon.svg").status_code == 200


@pytest.mark.parametrize(
    ("status", "title"),
    [
        (403, "Not allowed"),
        (404, "Page not found"),
        (410, "No longer here"),
        (429, "Too many attempts"),
        (500, "Something went wrong on our side"),
        (503, "Temporarily unavailable"),
    ],
)
def test_error_pages_in_the_app_layout(tmp_path, status: int, title: str) -> None:  # type: ignore[no-untyped-def]
    app = create_app(make_config(tmp_path, f"sqlite:///{tmp_path / 'e.db'}"))
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom/<int:code>")
    def boom(code: int) -> str:
        if code == 500:
            raise RuntimeError("a bug")
        abort(code)

    boom.is_public = True  # type: ignore[attr-defined]
    with app.app_context():
        db.create_all()
    resp = app.test_client().get(f"/boom/{status}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == status
    assert f'<h1 id="error-title">{title}</h1>' in html
    assert 'class="site-header"' in html and 'rel="icon"' in html
    assert 'href="/verify"' in html


def test_admin_navigation_is_visible_and_complete(app: Flask, client: Client, make) -> None:  # type: ignore[no-untyped-def]
    org = make.org("Acme", slug="acme")
    make.user((org, Role.ADMIN), email="ada@example.org")
    client.login("ada@example.org")
    html = client.get("/dashboard").get_data(as_text=True)
    desktop = html.split('class="desktop-nav"', 1)[1].split("</nav>", 1)[0]
    for path in (
        "/o/acme/frameworks",
        "/o/acme/awards",
        "/o/acme/catalogue",
        "/o/acme/queue",
        "/o/acme/rubrics",
        "/o/acme/credentials",
        "/o/acme/pathways",
        "/o/acme/reports",
        "/o/acme/members",
    ):
        assert f'href="{path}"' in desktop, path
    assert 'aria-current="page"' in desktop  # the dashboard link
    assert 'class="menu phone-menu"' in html


def test_people_are_called_workers(app: Flask, client: Client, make) -> None:  # type: ignore[no-untyped-def]
    org = make.org("Acme", slug="acme")
    make.user((org, Role.ADMIN), email="ada@example.org")
    client.login("ada@example.org")
    members = client.get("/o/acme/members").get_data(as_text=True)
    assert re.search(r'<option[^>]*value="learner"[^>]*>Worker</option>', members)
    assert ">Learner<" not in members
    settings = client.get("/o/acme/settings").get_data(as_text=True)
    assert "Workers may create their own account" in settings
    result = app.test_cli_runner().invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    assert "  worker " in result.output and "learner" not in result.output
