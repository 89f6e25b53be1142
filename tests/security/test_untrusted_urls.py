"""Addresses from people and imports are http(s) only, on write and where shown
(issue 14, class 14)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from portfolio.accounts import organizations
from portfolio.accounts.models import Organization, Role
from portfolio.core.errors import DomainError
from portfolio.core.urls import clean_http_url, is_http_url
from portfolio.evidence import services as evidence
from portfolio.extensions import db
from portfolio.frameworks.case import importer as case_importer
from portfolio.frameworks.case import package as case_package
from portfolio.frameworks.models import Framework
from portfolio.frameworks.services import frameworks as framework_services
from tests.conftest import Client

HOSTILE = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "javascript://example.org/%0aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "//evil.example/x",
    "https:\\\\evil.example",
    "https://",
    "http://exa mple.org",
]
GOOD = ["https://example.org/standards", "http://example.org", "HTTPS://Example.org:8443/a?b=c"]
CASE_DATA = Path(__file__).resolve().parents[1] / "frameworks" / "data" / "welding_case.json"


@pytest.mark.parametrize("url", HOSTILE)
def test_the_helper_refuses_everything_but_http(url: str) -> None:
    assert not is_http_url(url)
    with pytest.raises(DomainError, match="https://"):
        clean_http_url(url)


@pytest.mark.parametrize("url", GOOD)
def test_the_helper_keeps_http_addresses(url: str) -> None:
    assert clean_http_url(f"  {url} ") == url


@pytest.mark.parametrize("url", HOSTILE[:6])
def test_every_write_path_refuses_the_address(app: Flask, make: Any, url: str) -> None:
    org = make.org("Acme")
    admin = make.user((org, Role.ADMIN), email="admin@example.org")
    worker = make.user((org, Role.LEARNER), email="wren@example.org")
    with pytest.raises(DomainError):
        organizations.update_organization(admin, org, url=url)
    db.session.rollback()
    with pytest.raises(DomainError):
        framework_services.create_framework(admin, org, title="Welding", source_url=url)
    db.session.rollback()
    with pytest.raises(DomainError):
        evidence.create_link(worker, title="Site", url=url)
    db.session.rollback()
    # A CASE package's officialSourceURL.
    pkg = json.loads(CASE_DATA.read_bytes())
    pkg["CFDocument"]["officialSourceURL"] = url
    with pytest.raises((DomainError, case_package.ImportFailed)):
        case_importer.import_case_package(admin, org, json.dumps(pkg).encode(), "p.json")
    db.session.rollback()
    assert db.session.query(Framework).count() == 0


def test_a_case_import_with_a_script_url_is_refused_on_the_page(app: Flask, make: Any) -> None:
    import io

    org = make.org("Acme")
    admin = make.user((org, Role.ADMIN), email="admin@example.org")
    app.test_client_class = Client
    client = app.test_client()
    client.login(admin.email)  # type: ignore[attr-defined]
    pkg = json.loads(CASE_DATA.read_bytes())
    pkg["CFDocument"]["officialSourceURL"] = "javascript:alert(document.domain)"
    resp = client.submit(  # type: ignore[attr-defined]
        f"/o/{org.slug}/frameworks/import",
        {"package": (io.BytesIO(json.dumps(pkg).encode()), "p.json")},
        content_type="multipart/form-data",
    )
    assert resp.status_code < 500
    assert "must be a web address" in resp.get_data(as_text=True)
    assert db.session.query(Framework).count() == 0


def test_old_rows_with_script_urls_are_never_links(app: Flask, make: Any) -> None:
    """Rows written before the check: the templates show no link for them."""
    org = make.org("Acme")
    admin = make.user((org, Role.ADMIN), email="admin@example.org")
    framework = framework_services.create_framework(
        admin, org, title="Welding", source_url="https://ok.example"
    )
    db.session.commit()
    bad = "javascript:alert(1)"
    # Around the validators, as an old row or a direct database edit would be.
    db.session.execute(update(Framework).values(source_url=bad))
    db.session.execute(update(Organization).values(url=bad))
    db.session.commit()
    app.test_client_class = Client
    client = app.test_client()
    client.login(admin.email)  # type: ignore[attr-defined]
    for path in (f"/o/{org.slug}/frameworks/{framework.public_id}", f"/issuers/{org.public_id}"):
        html = client.get(path).get_data(as_text=True)
        assert 'href="javascript' not in html.lower(), path
