"""Issue 15, finding 16: My badges shows the badge image and real share controls: LinkedIn with
the expiry, a copy button with visible feedback, and the baked image to download."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from sqlalchemy import select

from portfolio.awards.models import Award
from portfolio.extensions import db
from tests.conftest import Client


def test_my_badges_shows_image_and_share_controls(app: Flask, client: Client, earned: Any) -> None:
    s, award = earned
    row = db.session.scalar(select(Award).where(Award.id == award.id))
    row.expires_at = datetime(2031, 7, 15, tzinfo=row.issued_at.tzinfo)  # type: ignore[union-attr]
    db.session.commit()
    html = client.get("/badges").get_data(as_text=True)
    assert f'class="badge-image" src="/badgeclasses/{s.credential.public_id}/image"' in html
    linkedin = next(
        part.split('"', 1)[0]
        for part in html.split('href="')[1:]
        if part.startswith("https://www.linkedin.com/profile/add")
    )
    query = parse_qs(urlsplit(linkedin.replace("&amp;", "&")).query)
    assert query["expirationYear"] == ["2031"] and query["expirationMonth"] == ["7"]
    assert query["certId"] == [award.public_id]
    download = f"/badges/{award.public_id}/badge-ob3.png"
    assert download in html and "Download the badge image" in html
    resp = client.get(download)
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    assert 'data-copy="http://localhost/badges/' + award.public_id + '"' in html
    assert 'role="status"' in html  # where "Link copied." is said


def test_renew_is_offered_only_near_expiry(app: Flask, client: Client, earned: Any) -> None:
    _s, award = earned
    html = client.get("/badges").get_data(as_text=True)
    assert "Renew: start a new attempt" not in html
    row = db.session.get(Award, award.id)
    row.expires_at = row.issued_at + timedelta(days=10)  # type: ignore[union-attr]
    db.session.commit()
    html = client.get("/badges").get_data(as_text=True)
    assert "This badge expires soon." in html and "Renew: start a new attempt" in html
