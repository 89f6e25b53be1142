"""The demo data includes a worker with an issued badge whose public URL `make run` prints."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from portfolio.awards.models import Award
from portfolio.demo import load_demo
from portfolio.extensions import db
from tests.conftest import Client


def test_demo_has_an_issued_badge_with_file_evidence(app: Flask) -> None:
    summary = load_demo()
    load_demo()  # idempotent
    assert db.session.scalar(select(func.count(Award.id))) == 1
    award = db.session.scalar(select(Award))
    assert award is not None and award.recipient.email == "earner@northwind.example"
    assert any(item.kind == "file" and item.sha256 for item in award.evidence)
    url = f"http://localhost/badges/{award.public_id}"
    assert summary["links"] == [f"Issued badge (public, no login): {url}"]
    app.test_client_class = Client
    page = app.test_client().get(f"/badges/{award.public_id}").get_data(as_text=True)
    assert "This badge is valid" in page and "Erin Earner" in page
