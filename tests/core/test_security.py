"""Security headers, the login gate and safe redirects."""

from __future__ import annotations

import pytest
from flask import Flask

from portfolio.accounts.models import Role
from portfolio.core.security import is_safe_redirect
from tests.conftest import Client


def _assert_headers(resp) -> None:  # type: ignore[no-untyped-def]
    csp = resp.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in directives["script-src"]
    assert directives["frame-ancestors"] == "'none'"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_security_headers_on_public_and_private_pages(client: Client, make) -> None:
    org = make.org()
    make.user((org, Role.ADMIN), email="admin@example.org")
    for path in ("/", "/login", "/forgot-password", "/no-such-page"):
        _assert_headers(client.get(path))
    client.login("admin@example.org")
    for path in ("/dashboard", f"/o/{org.slug}/members", f"/o/{org.slug}/settings"):
        resp = client.get(path)
        assert resp.status_code == 200
        _assert_headers(resp)
        assert resp.headers["Cache-Control"] == "no-store"


def test_every_view_requires_login_unless_marked_public(app: Flask) -> None:
    """A new view is private by default: list which views are public, so adding one is a
    decision somebody sees in review."""
    public = sorted(
        name for name, view in app.view_functions.items() if getattr(view, "is_public", False)
    )
    assert "accounts.dashboard" not in public
    assert "accounts.members" not in public
    assert "accounts.login" in public


def test_unknown_page_is_a_readable_404(client: Client) -> None:
    resp = client.get("/definitely/not/here")
    assert resp.status_code == 404
    assert "Page not found" in resp.get_data(as_text=True)


def test_api_style_clients_get_json_errors(client: Client) -> None:
    resp = client.get("/definitely/not/here", headers={"Accept": "application/json"})
    assert resp.status_code == 404 and resp.is_json


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/dashboard", True),
        ("/o/acme/members?tab=1", True),
        ("https://evil.example/", False),
        ("//evil.example", False),
        ("/\\evil.example", False),
        ("javascript:alert(1)", False),
        ("", False),
        (None, False),
    ],
)
def test_safe_redirect_targets(target: str | None, safe: bool) -> None:
    assert is_safe_redirect(target) is safe
