"""Issue 15, finding 6: editing a credential that has badges makes a new version; the badges
already issued keep showing what they were issued with, and the admin is told before saving."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.awards.conftest import earned, scenario  # noqa: F401 - shared fixtures
from tests.conftest import Client


def test_issued_badges_keep_their_version(app: Flask, earned: Any) -> None:
    s, award = earned
    admin = app.test_client()
    admin.login("admin@example.org")  # type: ignore[attr-defined]
    edit = f"/o/{s.org.slug}/credentials/{s.credential.public_id}/edit"
    form = admin.get(edit).get_data(as_text=True)
    assert "1 badge has been issued with this text." in form
    assert "Saving records it as version 1" in form
    resp = admin.submit(  # type: ignore[attr-defined]
        edit,
        {
            "name": "Fillet Welding (2027)",
            "description": "A new description.",
            "criteria_md": "Pass the **new** rubric.",
            "rubric_version": str(s.version.id),
            "tags": "",
            "expiry_months": "",
            "max_attempts": "2",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:600]
    anon: Client = app.test_client()  # type: ignore[assignment]
    page = anon.get(f"/badges/{award.public_id}").get_data(as_text=True)
    assert "<h1>Fillet Welding</h1>" in page and "Fillet Welding on the job." in page
    assert "Pass the rubric." in page
    assert "Fillet Welding (2027)" not in page and "A new description." not in page
    catalogue = anon.get(f"/o/{s.org.slug}/catalogue/{s.credential.public_id}")
    assert "Fillet Welding (2027)" in catalogue.get_data(as_text=True)
    # The next edit finds no badge showing the live text: no warning, no new version.
    form = admin.get(edit).get_data(as_text=True)
    assert "been issued with this text" not in form
