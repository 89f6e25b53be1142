"""'Add to LinkedIn': the organization may set its LinkedIn organization id in its issuer
profile; the links on My badges and on the badge page then name it (`organizationId`), and carry
the expiry month and year when the badge expires."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask

from portfolio.awards.models import Award
from portfolio.extensions import db
from tests.conftest import Client


def _linkedin_query(html: str) -> dict[str, list[str]]:
    link = next(
        part.split('"', 1)[0]
        for part in html.split('href="')[1:]
        if part.startswith("https://www.linkedin.com/profile/add")
    )
    return parse_qs(urlsplit(link.replace("&amp;", "&")).query)


def _settings(admin: Client, slug: str, linkedin_id: str) -> Any:
    return admin.submit(
        f"/o/{slug}/settings",
        {
            "name": "Acme Welding",
            "url": "https://acme.example",
            "email": "badges@acme.example",
            "description": "",
            "linkedin_organization_id": linkedin_id,
        },
        content_type="multipart/form-data",
    )


def test_organization_id_and_expiry_on_linkedin_links(
    app: Flask, client: Client, earned: Any
) -> None:
    s, award = earned
    # Without an organization id: the name, and no expiry for a badge that never expires.
    query = _linkedin_query(client.get("/badges").get_data(as_text=True))
    assert query["organizationName"] == [s.org.name] and "organizationId" not in query
    assert "expirationYear" not in query and "expirationMonth" not in query

    admin: Client = app.test_client()  # type: ignore[assignment]
    admin.login("admin@example.org")
    resp = _settings(admin, s.org.slug, "acme-welding")
    assert resp.status_code == 200
    assert "The LinkedIn organization id is a number." in resp.get_data(as_text=True)
    assert _settings(admin, s.org.slug, "2414183").status_code == 302
    db.session.expire_all()
    assert s.org.linkedin_organization_id == "2414183"
    form = admin.get(f"/o/{s.org.slug}/settings").get_data(as_text=True)
    assert 'value="2414183"' in form

    row = db.session.get(Award, award.id)
    assert row is not None
    row.expires_at = datetime(2029, 11, 30, tzinfo=row.issued_at.tzinfo)
    db.session.commit()
    for page in ("/badges", f"/badges/{award.public_id}"):
        query = _linkedin_query(client.get(page).get_data(as_text=True))
        assert query["organizationId"] == ["2414183"], page
        assert query["expirationYear"] == ["2029"] and query["expirationMonth"] == ["11"], page
        assert query["issueYear"] == [str(row.issued_at.year)], page
        assert query["certId"] == [award.public_id], page

    # Cleared again: back to the name.
    assert _settings(admin, s.org.slug, "").status_code == 302
    query = _linkedin_query(client.get("/badges").get_data(as_text=True))
    assert "organizationId" not in query and query["organizationName"] == [s.org.name]
