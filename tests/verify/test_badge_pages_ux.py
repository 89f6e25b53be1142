"""Issue 15 on the public badge pages: every page of a badge states its state (finding 11);
earner-only controls only for the earner (23); a wrong badge address answers in the app's
own layout (12)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from portfolio.awards import revocation
from portfolio.extensions import db
from tests.conftest import Client


def _anon(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


def test_evidence_pages_of_a_revoked_badge_say_revoked(app: Flask, earned: Any) -> None:
    s, award = earned
    anon = _anon(app)
    eid = award.evidence[0].public_id
    page = anon.get(f"/badges/{award.public_id}/evidence/{eid}").get_data(as_text=True)
    assert 'data-status="valid"' in page and "This badge is valid." in page
    revocation.revoke_award(s.admin, award, "Issued in error.")
    db.session.commit()
    page = anon.get(f"/badges/{award.public_id}/evidence/{eid}").get_data(as_text=True)
    assert 'data-status="revoked"' in page
    assert "This badge has been revoked." in page and "Issued in error." in page


def test_linkedin_only_for_the_earner(app: Flask, client: Client, earned: Any) -> None:
    _s, award = earned
    url = f"/badges/{award.public_id}"
    anon = _anon(app).get(url).get_data(as_text=True)
    assert "Add to LinkedIn profile" not in anon and "Manage this badge" not in anon
    assert "Verify this badge" in anon
    mine = client.get(url).get_data(as_text=True)
    assert "Add to LinkedIn profile" in mine and "Manage this badge" in mine
    assessor = _anon(app)
    assessor.login("sam@example.org")
    assert "Add to LinkedIn profile" not in assessor.get(url).get_data(as_text=True)


def test_wrong_badge_address_in_the_app_layout(app: Flask) -> None:
    resp = _anon(app).get("/badges/AAAAAAAAAAAAAAAAAAAAAA")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 404
    assert 'class="site-header"' in html and "Page not found" in html
    assert "check a badge file or link" in html
    assert "The requested URL was not found on the server" not in html
    assert 'rel="icon"' in html
